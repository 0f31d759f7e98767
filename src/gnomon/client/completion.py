"""`gnomon completion bash|zsh`: a static completion script made by shtab from the argparse
parser itself, so it knows every command and flag this version of gnomon has."""

from __future__ import annotations

import argparse
from typing import Final

import shtab

SHELLS: Final = ("bash", "zsh")


def completion_script(parser: argparse.ArgumentParser, shell: str) -> str:
    script: str = shtab.complete(parser, shell=shell)
    return script


def usage(shell: str) -> str:
    """How to install the script, for `gnomon completion --help`."""
    if shell == "bash":
        return 'eval "$(gnomon completion bash)"  # in ~/.bashrc'
    return 'gnomon completion zsh > "${fpath[1]}/_gnomon"  # then restart zsh'
