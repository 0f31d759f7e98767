"""The open trigger requests as the scheduler knows them, read again only when they may have
changed.

Every wake-up used to read every open trigger. Triggers queued behind a running run (overlap
`wait`, a backfill of hundreds) were then read again at each of the wake-ups their runs cause,
most of which come from the executor (a container started or ended): the read was the scheduler's
largest cost in py-spy on `bench/dispatch.py`, with 200 triggers queued.

A trigger comes into being only through the API, in this process or another, which wakes the
scheduler with a topic of its own (in-process, or by PostgreSQL's NOTIFY). So a wake-up whose
topics are only this process's executor and callbacks keeps what was read, less the triggers the
scheduler consumed itself. Any other wake-up reads again, and so does the first one past
`max_age`: another process on SQLite sends no notification, and is seen as soon as before, at
the scheduler's fallback wake-up.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Set
from datetime import datetime, timedelta
from typing import Final

from gnomon.domain.times import as_utc
from gnomon.scheduler.rules.starts import OpenTrigger
from gnomon.storage import Session
from gnomon.storage import scheduling as store

OWN_TOPICS: Final = frozenset({"executor", "callbacks"})
"""Wake-up topics that never mean a new trigger: what this process's runner and sink report."""


class OpenTriggers:
    """Open triggers by definition name, oldest first, for the scheduler thread alone."""

    def __init__(self, max_age: timedelta) -> None:
        self.max_age = max_age
        self._by_name: dict[str, list[OpenTrigger]] | None = None
        self._read_at: datetime | None = None

    def notice(self, topics: Set[str]) -> None:
        """A wake-up for `topics`: unless all are the process's own, read again."""
        if not topics <= OWN_TOPICS:
            self._by_name = None

    def read(self, session: Session, now: datetime) -> dict[str, list[OpenTrigger]]:
        """The open triggers, from the store when they may have changed since the last read."""
        read_at = self._read_at
        if self._by_name is None or read_at is None or not read_at <= now < read_at + self.max_age:
            self._by_name = _from_store(session)
            self._read_at = now
        return dict(self._by_name)  # consumed() replaces lists, never changes one

    def consumed(self, name: str, request_ids: Collection[str]) -> None:
        """The scheduler started a run for these triggers of `name` (in this wake-up's
        transaction; should it fail, the whole book is forgotten and read again)."""
        if self._by_name is None or not request_ids:
            return
        left = [t for t in self._by_name.get(name, []) if t.request_id not in request_ids]
        if left:
            self._by_name[name] = left
        else:
            self._by_name.pop(name, None)


def _from_store(session: Session) -> dict[str, list[OpenTrigger]]:
    triggers: dict[str, list[OpenTrigger]] = defaultdict(list)
    for row in store.open_triggers(session=session):
        triggers[row.process_definition_name].append(
            OpenTrigger(row.request_id, as_utc(row.requested_at), row.task_filter)
        )
    return dict(triggers)
