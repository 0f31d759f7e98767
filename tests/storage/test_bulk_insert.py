"""Bulk inserts (COPY on PostgreSQL): the same stored values as an INSERT, the same errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gnomon.domain.definitions import TaskDefinition
from gnomon.errors import ConcurrentWriteError, StoreUnavailableError
from gnomon.storage import write_batch
from gnomon.storage.bulk_insert import insert_rows
from gnomon.storage.engine import make_engine
from gnomon.storage.failures import store_errors
from gnomon.storage.json_text import executable_json, task_json
from gnomon.storage.tables import ProcessRow, TaskLogRow, TaskRow, TaskSnapshotRow
from tests.samples import docker_task

NOW = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def rows(suffix: str, task_filter: list[str] | None) -> list[tuple[Any, dict[str, Any]]]:
    """One run with its snapshot, attempt and log line, ids ending in `suffix`."""
    body = docker_task("t")
    body["executable"]["docker_image_command"]["command"] = ["echo", 'grüß "dich"\n']
    task = TaskDefinition.model_validate(body)
    process_id, task_id = f"p-{suffix}", f"t-{suffix}"
    process = {
        "process_id": process_id,
        "process_definition_name": f"d-{suffix}",
        "started_at": NOW,
        "status": "running",
        "ended_at": None,
        "task_filter": task_filter,
        "scheduled_for": NOW,
        "origin": "schedule",
    }
    snapshot = {
        "process_id": process_id,
        "task_definition_name": "t",
        "position": 0,
        "body": task_json(task),
    }
    attempt = {
        "task_id": task_id,
        "process_id": process_id,
        "process_definition_name": f"d-{suffix}",
        "task_definition_name": "t",
        "executable": executable_json(task),
        "previous_attempts": 0,
        "started_at": NOW,
        "status": "running",
        "reason": None,
        "ended_at": None,
        "running_at": None,
        "token_hash": "0" * 64,
    }
    line = {
        "log_entry_id": f"l-{suffix}",
        "task_id": task_id,
        "when": NOW,
        "source": "scheduler",
        "message": "tab\there, a backslash \\ and\na new line",
    }
    return [
        (write_batch._INSERT_PROCESS, process),
        (write_batch._INSERT_SNAPSHOT, snapshot),
        (write_batch._INSERT_TASK, attempt),
        (write_batch._INSERT_LOG, line),
    ]


def stored(connection: sa.Connection, table: sa.Table, key: str, value: str) -> dict[str, Any]:
    """Every column of the row as the store's own text, ids and the definition name left out."""
    columns = [
        sa.cast(column, sa.Text).label(column.name)
        for column in table.c
        if not column.name.endswith("_id") and column.name != "process_definition_name"
    ]
    row = connection.execute(sa.select(*columns).where(table.c[key] == value)).one()
    return dict(row._mapping)


TABLES = [
    (ProcessRow.__table__, "process_id", "p-"),  # type: ignore[attr-defined]
    (TaskSnapshotRow.__table__, "process_id", "p-"),  # type: ignore[attr-defined]
    (TaskRow.__table__, "task_id", "t-"),  # type: ignore[attr-defined]
    (TaskLogRow.__table__, "log_entry_id", "l-"),  # type: ignore[attr-defined]
]


@pytest.mark.parametrize("task_filter", [None, ["t"]])
def test_bulk_rows_are_stored_as_an_insert_stores_them(
    engine: Engine, task_filter: list[str] | None
) -> None:
    with engine.begin() as connection:
        for statement, row in rows("insert", task_filter):
            connection.execute(statement, [row])
        for statement, row in rows("bulk", task_filter):
            insert_rows(connection, statement, [row])
    with engine.connect() as connection:
        for table, key, prefix in TABLES:
            inserted = stored(connection, table, key, f"{prefix}insert")
            bulk = stored(connection, table, key, f"{prefix}bulk")
            assert bulk == inserted, table.name


def test_a_refused_row_is_the_stores_error_and_nothing_of_the_batch_stays(engine: Engine) -> None:
    first = rows("one", None)
    duplicate = {**first[0][1], "process_definition_name": "d-two"}  # the same process id
    with engine.begin() as connection:
        insert_rows(connection, write_batch._INSERT_PROCESS, [first[0][1]])
    with pytest.raises(ConcurrentWriteError), store_errors(), engine.begin() as connection:
        second = {**rows("two", None)[0][1], "process_definition_name": "d-three"}
        insert_rows(connection, write_batch._INSERT_PROCESS, [second, duplicate])
    with engine.connect() as connection:
        names = connection.execute(sa.select(ProcessRow.__table__.c.process_definition_name))  # type: ignore[attr-defined]
        assert sorted(names.scalars()) == ["d-one"]


@pytest.fixture
def postgres_engine(postgres_database: str) -> Iterator[Engine]:
    engine = make_engine(postgres_database)
    yield engine
    engine.dispose()


@pytest.mark.postgres
def test_a_connection_lost_mid_copy_is_unavailable_and_leaves_the_pool(
    postgres_engine: Engine,
) -> None:
    with postgres_engine.connect() as connection:
        killed = connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
    with pytest.raises(StoreUnavailableError), store_errors():
        with postgres_engine.begin() as connection:
            assert connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one() == killed
            with postgres_engine.execution_options(isolation_level="AUTOCOMMIT").connect() as other:
                other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": killed})
            insert_rows(connection, write_batch._INSERT_PROCESS, [rows("lost", None)[0][1]])
    with postgres_engine.connect() as connection:  # a new connection, not the dead one
        assert connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one() != killed
