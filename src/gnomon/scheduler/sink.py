"""Where runners report. Output, metadata and a job's own verdict go straight to the store (they do
not change process state); state changes are queued for the scheduler thread, the single writer of
task and process status, and wake it.

Output is made storable before it is stored (`domain/logtext.py`: NUL and undecodable bytes
replaced and counted, long lines cut, each marked in the line), so one bad line cannot make a
batch fail. Should a batch still fail for a data reason, its lines are stored one by one and a
`gnomon` line records how many could not be: a batch is never dropped for one line.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable, Sequence
from datetime import datetime

from gnomon.domain.changes import LOGS, METADATA, ChangePublisher
from gnomon.domain.clock import Clock
from gnomon.domain.enums import TaskStatus
from gnomon.domain.ids import new_id
from gnomon.domain.logtext import clean_message, storable
from gnomon.domain.runs import MetadataEntry
from gnomon.errors import StoreDataError, StoreError
from gnomon.runner.base import AttemptState, OutputLine
from gnomon.scheduler.wakeup import Wakeup
from gnomon.storage import Engine, Session, callbacks, run_logs, transaction
from gnomon.storage.tables import TaskLogRow, TaskMetadataRow

log = logging.getLogger(__name__)

GNOMON_SOURCE = "gnomon"
_SOURCE_CHARS: int = TaskLogRow.__table__.c.source.type.length  # type: ignore[attr-defined]
_KEY_CHARS: int = TaskMetadataRow.__table__.c.key.type.length  # type: ignore[attr-defined]
_OWNERS_KEPT = 4096
"""Attempts whose run the sink remembers; past that it forgets them all and asks again."""


class StoreSink:
    """A thread-safe `AttemptSink` over the store, feeding the scheduler's event queue.

    Runner threads call it (any number at once): output, metadata and a job's own verdict are
    written at once, each in a transaction of its own, and a store failure is logged, never
    raised into the runner. It owns `states`, the queue of state changes that only the scheduler
    thread drains (`ProcessBook.apply_executor_events`), and it never writes task or process
    status itself. After storing output or metadata it tells `changes`, naming the run, which it
    looks up once per attempt (in the same transaction) and remembers.
    """

    def __init__(
        self, engine: Engine, clock: Clock, wakeup: Wakeup, changes: ChangePublisher | None = None
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.wakeup = wakeup
        self.changes = changes
        self.states: queue.SimpleQueue[tuple[AttemptState, datetime]] = queue.SimpleQueue()
        self._owners: dict[str, str] = {}
        """task id → process id; runner threads share it (each read or write is atomic)."""

    def state_changed(self, state: AttemptState) -> None:
        # Recorded by the scheduler thread in its next transaction, many at a time.
        self.states.put((state, self.clock.now()))
        self.wakeup.notify("executor")

    def output(self, task_id: str, lines: Sequence[OutputLine]) -> None:
        rows = [_log_row(task_id, line.when, line.source, line.message) for line in lines]
        try:
            self._insert_logs(task_id, rows)
        except StoreDataError:
            log.warning("a batch of output was refused; storing it line by line", exc_info=True)
            self._insert_one_by_one(task_id, rows)
        except StoreError:
            log.exception("could not record what the executor reported")

    def _insert_logs(self, task_id: str, rows: list[dict[str, object]]) -> None:
        with transaction(self.engine) as session:
            callbacks.insert_ignoring_duplicates(session, TaskLogRow, rows)
            process_id = self._owner(session, task_id)
        self._tell(LOGS, process_id)

    def _insert_one_by_one(self, task_id: str, rows: list[dict[str, object]]) -> None:
        """Store what can be stored; then one line saying how much could not (and why, without
        repeating the text)."""
        refused: list[str] = []
        for row in rows:
            try:
                self._insert_logs(task_id, [row])
            except StoreError as exc:
                refused.append(exc.kind)
        if not refused:
            return
        log.error("%d output lines could not be stored", len(refused), extra={"task_id": task_id})
        note = (
            f"{len(refused)} output lines could not be stored ({', '.join(sorted(set(refused)))})"
        )
        try:
            self._insert_logs(task_id, [_log_row(task_id, self.clock.now(), GNOMON_SOURCE, note)])
        except StoreError:
            log.exception("could not record the note of refused lines")

    def metadata(self, task_id: str, when: datetime, key: str, value: str) -> None:
        key, value = storable(key, _KEY_CHARS), clean_message(value)
        entry = MetadataEntry(metadata_entry_id=new_id(), when=when, key=key, value=value)
        owner: list[str | None] = []

        def write(session: Session) -> None:
            callbacks.add_metadata(session=session, task_id=task_id, entries=[entry])
            owner.append(self._owner(session, task_id))

        if self._write(write):
            self._tell(METADATA, owner[0])

    def reported(self, task_id: str, status: TaskStatus, reason: str | None) -> None:
        now = self.clock.now()
        self._write(
            lambda session: callbacks.report_status(
                session=session, task_id=task_id, status=status, reason=reason, now=now
            )
        )
        self.wakeup.notify("callbacks")

    def _write(self, work: Callable[[Session], object]) -> bool:
        try:
            with transaction(self.engine) as session:
                work(session)
        except StoreError:
            log.exception("could not record what the executor reported")
            return False
        return True

    def _owner(self, session: Session, task_id: str) -> str | None:
        """The run of `task_id`, when someone listens for changes."""
        if self.changes is None:
            return None
        known = self._owners.get(task_id)
        if known is not None:
            return known
        if len(self._owners) >= _OWNERS_KEPT:
            self._owners.clear()
        found = run_logs.run_of_task(session=session, task_id=task_id)
        if found is not None:
            self._owners[task_id] = found
        return found

    def _tell(self, topic: str, process_id: str | None) -> None:
        """Tell the pages, once the transaction committed; a failure here is only logged."""
        if self.changes is None or process_id is None:
            return
        try:
            self.changes.publish(topic, process_id)
        except Exception:
            log.exception("could not tell the pages of new %s", topic)


def _log_row(task_id: str, when: datetime, source: str, message: str) -> dict[str, object]:
    """A `task_log` row of one output line, made storable."""
    return {
        "log_entry_id": str(new_id()),
        "task_id": task_id,
        "when": when,
        "source": storable(source, _SOURCE_CHARS),
        "message": clean_message(message),
    }
