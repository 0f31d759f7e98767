"""The scheduler's writes, collected during one wake-up and sent with one statement per table.

A thousand definitions due in the same second become a handful of statements instead of
thousands of ORM flushes; that is what keeps schedule skew low at scale. This is the only way runs
(processes, their task snapshots, attempts and their scheduler log lines) are created and ended:
the scheduler is their single writer.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from gnomon.domain.definitions import TaskDefinition
from gnomon.domain.enums import ProcessStatus, TaskStatus
from gnomon.domain.ids import new_id
from gnomon.storage.bulk_insert import insert_rows
from gnomon.storage.json_text import PreSerialized, executable_json, task_json
from gnomon.storage.tables import ProcessRow, TaskLogRow, TaskRow, TaskSnapshotRow
from gnomon.storage.tokens import hash_token

log = logging.getLogger(__name__)


@dataclass
class WriteBatch:
    """New runs and attempts, state changes and log lines queued for one `flush`.

    It owns only the rows queued since the last `flush`, as plain dicts; nothing reaches the store
    before `flush(session)`, which the caller runs inside its own transaction (a failed
    transaction loses nothing else). Not thread-safe: the scheduler thread alone fills and
    flushes the batch of the tick it is running (`ProcessBook.batch`); `mark` and `rollback_to`
    drop what one item queued when that item fails. Each state change is a compare-and-set: an
    attempt is marked running once, and only a running attempt or process is ended.
    """

    processes: list[dict[str, Any]] = field(default_factory=list)
    snapshots: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)
    admitted: list[dict[str, Any]] = field(default_factory=list)
    running: list[dict[str, Any]] = field(default_factory=list)
    ended_tasks: list[dict[str, Any]] = field(default_factory=list)
    ended_processes: list[dict[str, Any]] = field(default_factory=list)

    def mark(self) -> tuple[int, ...]:
        """Where the lists end now, to drop what one failed item added (`rollback_to`); valid
        until the next `flush`."""
        return tuple(map(len, vars(self).values()))  # every field is a list

    def rollback_to(self, mark: tuple[int, ...]) -> None:
        for rows, length in zip(vars(self).values(), mark, strict=True):
            del rows[length:]

    def add_process(
        self,
        *,
        name: str,
        tasks: list[TaskDefinition],
        origin: str,
        scheduled_for: datetime | None,
        task_filter: list[str] | None,
        now: datetime,
    ) -> str:
        process_id = str(new_id())
        self.processes.append(
            {
                "process_id": process_id,
                "process_definition_name": name,
                "started_at": now,
                "status": ProcessStatus.RUNNING.value,
                "ended_at": None,
                "task_filter": task_filter,
                "scheduled_for": scheduled_for,
                "origin": origin,
            }
        )
        for position, task in enumerate(tasks):
            self.snapshots.append(
                {
                    "process_id": process_id,
                    "task_definition_name": task.task_definition_name,
                    "position": position,
                    "body": task_json(task),
                }
            )
        return process_id

    def add_rows(self, other: WriteBatch) -> None:
        """Queue the new runs, snapshots and attempts `other` holds: rows made ahead of their
        wake-up (`scheduler.prepared`). Nothing else of `other` is taken."""
        self.processes += other.processes
        self.snapshots += other.snapshots
        self.tasks += other.tasks

    def add_task(
        self, *, process_id: str, name: str, task: TaskDefinition, attempts: int, now: datetime
    ) -> tuple[str, str]:
        """A new running attempt; returns its id and its callback token."""
        token = secrets.token_urlsafe(24)
        task_id = self._add_task(process_id, name, task, attempts, now, TaskStatus.RUNNING, token)
        return task_id, token

    def add_waiting_task(
        self, *, process_id: str, name: str, task: TaskDefinition, attempts: int, now: datetime
    ) -> str:
        """A new attempt waiting for a slot (`pending`); returns its id. Its callback token is
        made when `admit` starts it; one still waiting at `flush` is stored with the hash of a
        token held by no one."""
        return self._add_task(process_id, name, task, attempts, now, TaskStatus.PENDING, None)

    def _add_task(
        self,
        process_id: str,
        name: str,
        task: TaskDefinition,
        attempts: int,
        now: datetime,
        status: TaskStatus,
        token: str | None,
    ) -> str:
        task_id = str(new_id())
        self.tasks.append(
            {
                "task_id": task_id,
                "process_id": process_id,
                "process_definition_name": name,
                "task_definition_name": task.task_definition_name,
                "executable": executable_json(task),
                "previous_attempts": attempts,
                "started_at": now,
                "status": status.value,
                "reason": None,
                "ended_at": None,
                "running_at": None,
                "token_hash": None if token is None else hash_token(token),
            }
        )
        return task_id

    def admit(self, task_ids: list[str], now: datetime) -> dict[str, str]:
        """Start waiting attempts: `running`, started `now`, with a new callback token each;
        returns the tokens by task id. An attempt queued in this batch is changed in place (most
        start in the wake-up that made them), an older one by a compare-and-set on `pending`."""
        wanted = set(task_ids)
        queued = {row["task_id"]: row for row in self.tasks if row["task_id"] in wanted}
        tokens = {}
        for task_id in task_ids:
            tokens[task_id] = token = secrets.token_urlsafe(24)
            change = {"status": TaskStatus.RUNNING.value, "started_at": now}
            change["token_hash"] = hash_token(token)
            row = queued.get(task_id)
            if row is not None:
                row.update(change)
            else:
                self.admitted.append(
                    {"b_task_id": task_id, **{f"b_{k}": v for k, v in change.items()}}
                )
        return tokens

    def log(self, task_id: str, message: str, now: datetime) -> None:
        self.logs.append(
            {
                "log_entry_id": str(new_id()),
                "task_id": task_id,
                "when": now,
                "source": "scheduler",
                "message": message,
            }
        )

    def mark_running(self, task_id: str, at: datetime) -> None:
        self.running.append({"b_task_id": task_id, "b_at": at})

    def end_task(self, task_id: str, status: TaskStatus, reason: str | None, now: datetime) -> None:
        self.ended_tasks.append(
            {"b_task_id": task_id, "b_status": status.value, "b_reason": reason, "b_at": now}
        )

    def end_process(
        self, process_id: str, status: ProcessStatus, now: datetime, error: str | None = None
    ) -> None:
        """End a running process; `error` is the scheduler's own failure that ended it."""
        self.ended_processes.append(
            {"b_process_id": process_id, "b_status": status.value, "b_at": now, "b_error": error}
        )

    def flush(self, session: Session) -> None:
        """Write everything collected: inserts first, then the state changes, then logs.

        Each state change is a compare-and-set on the status (`pending` to start, `running` or
        `pending` to end), as one executemany statement.
        """
        _insert(session, _INSERT_PROCESS, self.processes)
        _insert(session, _INSERT_SNAPSHOT, self.snapshots)
        for row in self.tasks:
            if row["token_hash"] is None:  # still waiting: admitted attempts got theirs
                row["token_hash"] = hash_token(secrets.token_urlsafe(24))
        _insert(session, _INSERT_TASK, self.tasks)
        _update(session, _ADMIT, self.admitted)
        _update(session, _MARK_RUNNING, self.running)
        _update(session, _END_TASK, self.ended_tasks)
        _update(session, _END_PROCESS, self.ended_processes)
        _insert(session, _INSERT_LOG, self.logs)


_TASKS = TaskRow.__table__  # type: ignore[attr-defined]
_PROCESSES = ProcessRow.__table__  # type: ignore[attr-defined]
_SNAPSHOTS = TaskSnapshotRow.__table__  # type: ignore[attr-defined]
_INSERT_PROCESS = sa.insert(_PROCESSES)
_INSERT_SNAPSHOT = sa.insert(_SNAPSHOTS).values(body=sa.bindparam("body", type_=PreSerialized()))
_INSERT_TASK = sa.insert(_TASKS).values(
    executable=sa.bindparam("executable", type_=PreSerialized())
)
_INSERT_LOG = sa.insert(TaskLogRow.__table__)  # type: ignore[attr-defined]
_ADMIT = (
    sa.update(_TASKS)
    .where(
        _TASKS.c.task_id == sa.bindparam("b_task_id"),
        _TASKS.c.status == TaskStatus.PENDING.value,
    )
    .values(
        status=sa.bindparam("b_status"),
        started_at=sa.bindparam("b_started_at"),
        token_hash=sa.bindparam("b_token_hash"),
    )
)
_MARK_RUNNING = (
    sa.update(_TASKS)
    .where(_TASKS.c.task_id == sa.bindparam("b_task_id"), _TASKS.c.running_at.is_(None))
    .values(running_at=sa.bindparam("b_at"))
)
_END_TASK = (
    sa.update(_TASKS)
    .where(
        _TASKS.c.task_id == sa.bindparam("b_task_id"),
        sa.or_(
            _TASKS.c.status == TaskStatus.RUNNING.value,
            _TASKS.c.status == TaskStatus.PENDING.value,  # waiting for a slot: killed unstarted
        ),
    )
    .values(
        status=sa.bindparam("b_status"),
        reason=sa.bindparam("b_reason"),
        ended_at=sa.bindparam("b_at"),
    )
)
_END_PROCESS = (
    sa.update(_PROCESSES)
    .where(
        _PROCESSES.c.process_id == sa.bindparam("b_process_id"),
        _PROCESSES.c.status == ProcessStatus.RUNNING.value,
    )
    .values(
        status=sa.bindparam("b_status"),
        ended_at=sa.bindparam("b_at"),
        scheduling_error=sa.bindparam("b_error"),
    )
)


def _insert(session: Session, statement: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        insert_rows(session.connection(), statement, rows)
        rows.clear()


def _update(session: Session, statement: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.connection().execute(statement, rows)
        rows.clear()
