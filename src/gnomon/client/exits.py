"""The exit codes of the `gnomon` command, which scripts may rely on (the README's table and
`gnomon --help` list them from here)."""

from __future__ import annotations

import textwrap
from typing import Final

OK: Final = 0
FAILED: Final = 1
USAGE: Final = 2
OTHER_END: Final = 3
TIMED_OUT: Final = 124
INTERRUPTED: Final = 130
SIGPIPE: Final = 141

EXIT_CODES: Final = (
    (OK, "success; with -f or --wait, the run succeeded"),
    (
        FAILED,
        "an error (server unreachable or refusing, unknown run or definition); "
        "with -f or --wait, the run failed (a killed run ends failed)",
    ),
    (USAGE, "bad usage: unknown commands, flags or values; bad settings"),
    (OTHER_END, "with -f or --wait, the run ended in a status other than succeeded or failed"),
    (TIMED_OUT, "with --timeout, the run had not ended in time"),
    (INTERRUPTED, "interrupted with Ctrl-C"),
    (SIGPIPE, "stdout was closed early (`gnomon get runs | head -1`)"),
)


def for_status(status: str) -> int:
    """The exit code of `-f` and `--wait` for a run that ended with `status`."""
    return {"succeeded": OK, "failed": FAILED}.get(status, OTHER_END)


def epilog() -> str:
    """The table for `--help`, wrapped to a terminal's 80 columns."""
    lines = [
        textwrap.fill(text, 79, initial_indent=f"  {code:<4} ", subsequent_indent=" " * 7)
        for code, text in EXIT_CODES
    ]
    return "exit codes:\n" + "\n".join(lines)
