"""The exit codes scripts rely on are documented once in code and the same in the README."""

from __future__ import annotations

import re
from pathlib import Path

from gnomon.cli import INTERRUPTED, SIGPIPE_EXIT
from gnomon.client import exits

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_table_lists_every_exit_code() -> None:
    # The client verbs' table: the first after its heading line (the servers have their own).
    text = README.read_text()
    table = text[text.index("Exit codes, for") :].split("\n\n")[1]
    rows = re.findall(r"^\| (\d+) \| (.+) \|$", table, re.MULTILINE)
    assert [int(code) for code, _ in rows] == [code for code, _ in exits.EXIT_CODES]


def test_the_cli_uses_the_documented_codes() -> None:
    assert (INTERRUPTED, SIGPIPE_EXIT) == (exits.INTERRUPTED, exits.SIGPIPE)


def test_a_runs_status_decides_the_exit_code() -> None:
    assert [exits.for_status(s) for s in ("succeeded", "failed", "cancelled")] == [0, 1, 3]
