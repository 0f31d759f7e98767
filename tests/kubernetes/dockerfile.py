"""A reader for the repository's Dockerfile: its instructions, with continuation lines joined and
comments left out, and the defaults of its build arguments."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple


class Instruction(NamedTuple):
    keyword: str
    arguments: str


def instructions(path: Path) -> list[Instruction]:
    """Each instruction in order: `RUN a \\` + `&& b` becomes one RUN with arguments `a && b`."""
    found: list[Instruction] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pending = f"{pending} {line}".strip()
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip()
            continue
        keyword, _, arguments = pending.partition(" ")
        found.append(Instruction(keyword.upper(), arguments.strip()))
        pending = ""
    return found


def arg_defaults(path: Path) -> dict[str, str]:
    """`ARG NAME=value` defaults declared before the first FROM (global to every stage)."""
    defaults: dict[str, str] = {}
    for instruction in instructions(path):
        if instruction.keyword == "FROM":
            break
        if instruction.keyword == "ARG" and "=" in instruction.arguments:
            name, _, value = instruction.arguments.partition("=")
            defaults[name] = value
    return defaults


def pip_commands(path: Path) -> list[list[str]]:
    """Every `pip ...` command of every RUN, as its words."""
    commands: list[list[str]] = []
    for instruction in instructions(path):
        if instruction.keyword != "RUN":
            continue
        for part in instruction.arguments.split("&&"):
            words = part.split()
            if words and words[0] == "pip":
                commands.append(words)
    return commands
