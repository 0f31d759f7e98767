"""A store filled the way months of hourly runs fill it, written fast enough to benchmark often.

Rows go in through bulk Core inserts (lists of dicts, a chunk of processes at a time), not the ORM:
the ORM would spend minutes on two million rows and measure nothing we care about. Every value is
drawn from a seeded generator, so two runs of the benchmark read the same store.

The shape: `definitions` process definitions, each run hourly at its own minute; each run has one
attempt per task definition (a chain), and a failed run shows the retries of the task that failed,
so every run still has exactly `tasks` attempts. Each attempt has two log lines, one metadata entry,
the executor's state (as the Docker executor records it) and a per-task callback token hash.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gnomon.domain.definitions import TaskDefinition
from gnomon.storage.tables import (
    ExecutorStateRow,
    ProcessDefinitionRow,
    ProcessRow,
    TaskLogRow,
    TaskMetadataRow,
    TaskRow,
    TaskSnapshotRow,
    TaskTemplateRow,
)
from gnomon.storage.tokens import hash_token

Row = dict[str, Any]
CHUNK_PROCESSES = 2_000
"""Processes per insert round: with three tasks, ~10k rows of the larger tables per statement."""
HOURLY: dict[str, str] = {
    "hours": "*",
    "day_of_month": "*",
    "month": "*",
    "day_of_week": "?",
    "time_zone": "UTC",
}
TABLES = (ProcessRow, TaskRow, TaskSnapshotRow, TaskLogRow, TaskMetadataRow, ExecutorStateRow)


@dataclass(frozen=True)
class SeedReport:
    seconds: float
    rows: dict[str, int]


def task_token(task_id: str) -> str:
    """The callback token of a seeded task (only its hash is stored, as for real tasks)."""
    return f"bench-token-{task_id}"


def seed(engine: Engine, processes: int, tasks: int, definitions: int = 100) -> SeedReport:
    """Fill a migrated, empty store; returns how long it took and the rows per table."""
    began = time.perf_counter()
    world = _World(random.Random(1), tasks, definitions, processes)
    with engine.begin() as connection:
        connection.execute(sa.insert(ProcessDefinitionRow), world.definition_rows())
        connection.execute(sa.insert(TaskTemplateRow), world.template_rows())
    for chunk in world.chunks():
        with engine.begin() as connection:
            for table in TABLES:
                connection.execute(sa.insert(table), chunk[table.__tablename__])
    if engine.dialect.name == "postgresql":
        # What autovacuum would do soon after a bulk load; plans then match a settled store.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("VACUUM ANALYZE"))
    seconds = time.perf_counter() - began
    return SeedReport(seconds, count_rows(engine))


def count_rows(engine: Engine) -> dict[str, int]:
    tables = (ProcessDefinitionRow, TaskTemplateRow, *TABLES)
    with engine.connect() as connection:
        return {
            t.__tablename__: connection.execute(
                sa.select(sa.func.count()).select_from(t)
            ).scalar_one()
            for t in tables
        }


@dataclass
class _World:
    rng: random.Random
    tasks: int
    definitions: int
    processes: int
    origin: datetime = field(init=False)
    bodies: list[list[Row]] = field(init=False)

    def __post_init__(self) -> None:
        runs = -(-self.processes // self.definitions)
        hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        self.origin = hour - timedelta(hours=runs)
        self.bodies = [self._bodies(d) for d in range(self.definitions)]

    def _bodies(self, definition: int) -> list[Row]:
        bodies = []
        for position in range(self.tasks):
            task = TaskDefinition.model_validate(
                {
                    "task_definition_name": f"step-{position + 1}",
                    "dependencies": (
                        [{"task_definition_name": f"step-{position}"}] if position else []
                    ),
                    "executable": {
                        "docker_image_command": {
                            "image": f"team{definition % 7}/etl",
                            "tag": f"1.{definition}",
                            "command": ["python", "-m", "etl", f"step-{position + 1}"],
                            "environment_variables": [{"variable_name": "ENV", "value": "prod"}],
                        }
                    },
                    "max_attempts": self.tasks,
                    "max_runtime_seconds": 3600,
                    "backoff_base_seconds": 60,
                }
            )
            bodies.append(task.model_dump(mode="json", by_alias=True, exclude_none=True))
        return bodies

    def definition_rows(self) -> list[Row]:
        now = datetime.now(UTC)
        return [
            {
                "name": _name(d),
                "description": f"hourly job {d}",
                "schedule": {"cron_schedule": {**HOURLY, "minutes": str(d % 60)}},
                "overlap_action": "wait",
                "notifications": [],
                "paused": False,
                "created_at": self.origin,
                "updated_at": now,
                "revision": 1,
            }
            for d in range(self.definitions)
        ]

    def template_rows(self) -> list[Row]:
        return [
            {
                "process_definition_name": _name(d),
                "task_definition_name": body["task_definition_name"],
                "position": position,
                "body": body,
            }
            for d in range(self.definitions)
            for position, body in enumerate(self.bodies[d])
        ]

    def chunks(self) -> Iterator[dict[str, list[Row]]]:
        for start in range(0, self.processes, CHUNK_PROCESSES):
            chunk: dict[str, list[Row]] = {table.__tablename__: [] for table in TABLES}
            for index in range(start, min(self.processes, start + CHUNK_PROCESSES)):
                self._process(index, chunk)
            yield chunk

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _process(self, index: int, out: dict[str, list[Row]]) -> None:
        definition, run = index % self.definitions, index // self.definitions
        due = self.origin + timedelta(hours=run, minutes=definition % 60)
        triggered = self.rng.random() < 0.05
        started = due + timedelta(minutes=17 if triggered else 0, seconds=self.rng.random() * 2)
        newest = index >= self.processes - self.definitions
        roll = self.rng.random()
        status = "running" if newest and roll < 0.2 else "failed" if roll > 0.92 else "succeeded"
        process_id = self._uuid()
        ended = self._tasks(process_id, definition, status, started, out)
        out["process"].append(
            {
                "process_id": process_id,
                "process_definition_name": _name(definition),
                "started_at": started,
                "status": status,
                "ended_at": None if status == "running" else ended,
                "task_filter": None,
                "scheduled_for": None if triggered else due,
                "origin": "trigger" if triggered else "schedule",
            }
        )
        out["task_definition"] += [
            {
                "process_id": process_id,
                "task_definition_name": body["task_definition_name"],
                "position": position,
                "body": body,
            }
            for position, body in enumerate(self.bodies[definition])
        ]

    def _attempts(self, status: str) -> list[tuple[int, int, str]]:
        """(position, previous attempts, status) of each attempt of a run, in order."""
        last = self.tasks - 1
        if status == "succeeded":
            return [(p, 0, "succeeded") for p in range(self.tasks)]
        if status == "running":
            return [(p, 0, "running" if p == last else "succeeded") for p in range(self.tasks)]
        failed = self.rng.randrange(self.tasks)
        done = [(p, 0, "succeeded") for p in range(failed)]
        return done + [(failed, n, "failed") for n in range(self.tasks - failed)]

    def _tasks(
        self,
        process_id: str,
        definition: int,
        status: str,
        started: datetime,
        out: dict[str, list[Row]],
    ) -> datetime:
        """Append the run's attempts and their children; returns when the last one ended."""
        at = started + timedelta(seconds=1)
        for position, previous, outcome in self._attempts(status):
            task_id, container = self._uuid(), f"{self.rng.getrandbits(256):064x}"
            ran = timedelta(seconds=self.rng.uniform(20, 600))
            ended = None if outcome == "running" else at + ran
            out["task"].append(
                {
                    "task_id": task_id,
                    "process_id": process_id,
                    "process_definition_name": _name(definition),
                    "task_definition_name": f"step-{position + 1}",
                    "executable": self.bodies[definition][position]["executable"],
                    "previous_attempts": previous,
                    "started_at": at,
                    "status": outcome,
                    "reason": "exit code 1" if outcome == "failed" else None,
                    "ended_at": ended,
                    "running_at": at + timedelta(seconds=2),
                    "token_hash": hash_token(task_token(task_id)),
                }
            )
            self._children(task_id, container, outcome, at, ended, out)
            at = (ended or at) + timedelta(seconds=60 if outcome == "failed" else 1)
        return at

    def _children(
        self,
        task_id: str,
        container: str,
        outcome: str,
        started: datetime,
        ended: datetime | None,
        out: dict[str, list[Row]],
    ) -> None:
        records = self.rng.randrange(1_000, 1_000_000)
        last = ended or started + timedelta(seconds=5)
        out["task_log"] += [
            _log(
                self._uuid(), task_id, started, "scheduler", f"started container {container[:12]}"
            ),
            _log(self._uuid(), task_id, last, "stdout", f"processed {records} records"),
        ]
        out["task_metadata"].append(
            {
                "metadata_entry_id": self._uuid(),
                "task_id": task_id,
                "when": last,
                "key": "records",
                "value": str(records),
            }
        )
        code = {"succeeded": "0", "failed": "1"}.get(outcome)
        out["executor_state"].append(
            {
                "task_id": task_id,
                "backend": "docker",
                "handle": container,
                "status": {"succeeded": "Succeeded", "failed": "Failed(exit code 1)"}.get(
                    outcome, "Running"
                ),
                "as_of": last,
                "details": {"exit_code": code, "container_id": container} if code else {},
            }
        )


def _name(definition: int) -> str:
    return f"bench-{definition:03d}"


def _log(entry_id: str, task_id: str, when: datetime, source: str, message: str) -> Row:
    return {
        "log_entry_id": entry_id,
        "task_id": task_id,
        "when": when,
        "source": source,
        "message": message,
    }
