"""Bounded history: which finished runs may be removed, and what removing them took away.

A run is removable when it ended before a cutoff (now minus the retention period) and is not among
its definition's newest `keep_runs` runs. Runs that have not ended, and runs a retry was asked for,
are never removable: retention forgets history, it never touches work in progress.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Final

from gnomon.errors import GnomonError

MIN_AGE: Final = timedelta(hours=1)
"""The youngest history `gnomon prune` removes: a finished job may still send late log lines for
a few minutes (its callback grace), and a slip of the finger (`0d`) must not empty the store."""
MAX_AGE: Final = timedelta(days=36_500)
UNITS: Final = {"m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}
_AGE = re.compile(r"^\s*(\d{1,9})\s*([mhdw])\s*$")


class AgeError(GnomonError, ValueError):
    """An age such as `30d` that cannot be read, or lies outside the bounds."""


def parse_age(text: str) -> timedelta:
    """`30d`, `12h`, `90m` or `2w` as a duration between `MIN_AGE` and `MAX_AGE`.

    Raises:
        AgeError: not a whole number followed by m, h, d or w, or out of bounds.
    """
    match = _AGE.match(text)
    if match is None:
        raise AgeError(f"{text!r} is not an age such as 30d, 12h or 90m (units: m, h, d, w)")
    age = timedelta(seconds=int(match.group(1)) * UNITS[match.group(2)])
    if not MIN_AGE <= age <= MAX_AGE:
        raise AgeError(f"{text!r} is out of bounds: from 1h to {MAX_AGE.days}d")
    return age


@dataclass(frozen=True)
class RetentionRule:
    """Remove runs that ended before `cutoff`, keeping each definition's newest `keep_runs`."""

    cutoff: datetime
    keep_runs: int

    @classmethod
    def older_than(cls, now: datetime, age: timedelta, keep_runs: int) -> RetentionRule:
        return cls(now - age, keep_runs)


@dataclass
class PruneCounts:
    """Rows removed (or, for a dry run, that would be) with some runs."""

    runs: int = 0
    tasks: int = 0
    log_lines: int = 0
    metadata: int = 0

    def add(self, other: PruneCounts) -> None:
        for field in fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))

    def describe(self) -> str:
        return (
            f"{self.runs} runs, {self.tasks} tasks, {self.log_lines} log lines, "
            f"{self.metadata} metadata entries"
        )
