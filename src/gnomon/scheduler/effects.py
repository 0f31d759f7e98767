"""Side effects a tick decides on, carried out once its transaction committed."""

from __future__ import annotations

from dataclasses import dataclass, field

from gnomon.runner.base import Attempt
from gnomon.scheduler.observer import FinishedRun


@dataclass
class Effects:
    """What one tick decided to do outside the store: attempts to kill and to start, the runs
    that finished (for the observers), and the runs it changed (for the pages).

    It owns nothing but these lists. The scheduler thread fills it during the tick, drops what a
    failed item added (`mark`, `rollback_to`), and carries it out only after the tick's
    transaction committed (`SchedulerService._apply`); a tick that fails discards it whole.
    """

    kills: list[tuple[str, str]] = field(default_factory=list)
    """(task id, reason) of attempts the runner must stop."""
    starts: list[Attempt] = field(default_factory=list)
    finished: list[FinishedRun] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    """Ids of runs whose rows (run, attempts, scheduler log lines) the tick wrote."""

    def mark(self) -> tuple[int, ...]:
        """Where the lists end now, to drop what one failed item added (`rollback_to`)."""
        return tuple(len(rows) for rows in vars(self).values())  # every field is a list

    def rollback_to(self, mark: tuple[int, ...]) -> None:
        for rows, length in zip(vars(self).values(), mark, strict=True):
            del rows[length:]
