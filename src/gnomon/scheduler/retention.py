"""The scheduler's share of bounded history: old finished runs go, one small batch at a time.

A pass starts at most once per `interval_seconds` (on the injected clock) with a plan of what may
go (`storage.retention.plan`); each later wake-up of the loop removes at most `batch_runs` runs in a
transaction of its own, fenced like every scheduler write, and the next batch waits
`pause_seconds`. Batches step aside for scheduling: none runs while a due run is less than
`DUE_MARGIN` away, so a due minute never waits behind a delete.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from gnomon.domain.retention import PruneCounts, RetentionRule
from gnomon.storage import Session
from gnomon.storage import retention as store

log = logging.getLogger(__name__)
DUE_MARGIN: Final = timedelta(seconds=2)
"""How close a due run may be before a batch waits for the next wake-up: a batch of 200 runs takes
tens of milliseconds, and stayed under two seconds even on a machine loaded six times over its
cores (bench/retention.py; README, Performance)."""


@dataclass(frozen=True)
class RetentionConfig:
    days: int = 90
    """History kept, in days; 0 keeps everything (no pass ever runs)."""
    keep_runs: int = 100
    batch_runs: int = 200
    interval_seconds: float = 600.0
    pause_seconds: float = 1.0


class Retention:
    """When the next batch is due, and what is left of the current pass.

    Owned by the scheduler's loop thread, like the rest of the scheduler's state; the loop calls
    `batch` inside a fenced transaction when `due` says so.
    """

    def __init__(self, config: RetentionConfig) -> None:
        self.config = config
        self.next_at: datetime | None = None
        """When the next batch (or pass) may run; None: at the first chance."""
        self._pass: tuple[RetentionRule, list[store.Bound]] | None = None
        self.batch_runs = config.batch_runs
        self._tried = config.batch_runs
        """Runs in the next batch: halved after a failed batch (runs with huge logs can make
        one outlast the store's statement timeout), grown back after each one that commits."""

    @property
    def enabled(self) -> bool:
        return self.config.days > 0

    @property
    def passing(self) -> bool:
        """A pass is under way: it has batches left."""
        return self._pass is not None

    def due(self, now: datetime, next_run: datetime | None) -> bool:
        if not self.enabled or (self.next_at is not None and now < self.next_at):
            return False
        return next_run is None or next_run - now >= DUE_MARGIN

    def batch(self, session: Session, now: datetime) -> PruneCounts:
        """Remove one batch; plans a new pass first when none is under way."""
        self._tried = self.batch_runs
        if self._pass is None:
            rule = RetentionRule(now - timedelta(days=self.config.days), self.config.keep_runs)
            self._pass = (rule, store.plan(session=session, rule=rule))
        rule, bounds = self._pass
        doomed, exhausted = store.take(
            session=session, bounds=bounds, rule=rule, limit=self.batch_runs
        )
        counts = store.delete(session=session, runs=doomed)
        return self._advance(now, counts, exhausted)

    def _advance(self, now: datetime, counts: PruneCounts, exhausted: int) -> PruneCounts:
        """Drop the exhausted bounds and say when the next batch, or pass, is due. Runs before
        the commit: should the commit fail, `failed` forgets the whole pass."""
        assert self._pass is not None
        bounds = self._pass[1]
        del bounds[:exhausted]
        self.batch_runs = min(self.config.batch_runs, self.batch_runs * 2)
        if bounds:
            self.next_at = now + timedelta(seconds=self.config.pause_seconds)
        else:
            self._pass = None
            self.next_at = now + timedelta(seconds=self.config.interval_seconds)
        return counts

    def failed(self, now: datetime) -> None:
        """The batch's transaction did not commit: start over with a fresh plan and a smaller
        batch next time."""
        self._pass = None
        self.batch_runs = max(1, self._tried // 2)
        self.next_at = now + timedelta(seconds=self.config.interval_seconds)
