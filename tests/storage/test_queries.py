"""The store on SQLite and PostgreSQL: statement counts, idempotency, uniqueness of due times."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from gnomon.domain.definitions import ProcessDefinition, TaskDefinition
from gnomon.domain.enums import ProcessStatus
from gnomon.domain.runs import LogEntry, MetadataEntry
from gnomon.domain.times import as_utc
from gnomon.errors import ConcurrentWriteError, NotFoundError
from gnomon.storage import (
    WriteBatch,
    callbacks,
    definitions,
    run_requests,
    scheduling,
    transaction,
)
from gnomon.storage.runs import ProcessQuery, list_processes
from tests.samples import definition, docker_task, sample_process
from tests.statements import recorded_statements

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def seed(
    engine: Engine, processes: int, tasks_per_process: int = 3, logs_per_task: int = 2
) -> None:
    task_defs = [
        TaskDefinition.model_validate(docker_task(f"t{i}")) for i in range(tasks_per_process)
    ]
    batch = WriteBatch()
    attempts: list[tuple[str, datetime]] = []
    for p in range(processes):
        now = NOW + timedelta(seconds=p)
        process_id = batch.add_process(
            name="seed",
            tasks=task_defs,
            origin="trigger",
            scheduled_for=None,
            task_filter=None,
            now=now,
        )
        for task in task_defs:
            task_id, _ = batch.add_task(
                process_id=process_id, name="seed", task=task, attempts=0, now=now
            )
            attempts.append((task_id, now))
    with transaction(engine) as session:
        batch.flush(session)
        for task_id, now in attempts:
            logs = [
                LogEntry(log_entry_id=uuid.uuid4(), when=now, source="s", message=str(i))
                for i in range(logs_per_task)
            ]
            callbacks.add_log_entries(session=session, task_id=task_id, entries=logs)
            meta = [MetadataEntry(metadata_entry_id=uuid.uuid4(), when=now, key="k", value="v")]
            callbacks.add_metadata(session=session, task_id=task_id, entries=meta)


@pytest.mark.parametrize("processes", [1, 40])
def test_listing_costs_a_fixed_number_of_statements(engine: Engine, processes: int) -> None:
    seed(engine, processes)
    with Session(engine) as session, recorded_statements(engine) as statements:
        result = list_processes(session=session, query=ProcessQuery())
    assert len(result) == processes
    assert all(len(p.task) == 3 and len(p.task[0].log_entries) == 2 for p in result)
    assert len(statements) == 5, statements


def test_listing_respects_limit_and_order(engine: Engine) -> None:
    seed(engine, 5, tasks_per_process=1, logs_per_task=0)
    with Session(engine) as session:
        result = list_processes(session=session, query=ProcessQuery(max_records=2))
    assert [p.start_time for p in result] == [
        NOW + timedelta(seconds=4),
        NOW + timedelta(seconds=3),
    ]


def start(engine: Engine, tasks: list[TaskDefinition], due: datetime | None, now: datetime) -> None:
    """Write a run of definition `due`, scheduled for `due` (None: triggered)."""
    batch = WriteBatch()
    origin = "trigger" if due is None else "schedule"
    batch.add_process(
        name="due", tasks=tasks, origin=origin, scheduled_for=due, task_filter=None, now=now
    )
    with transaction(engine) as session:
        batch.flush(session)


def test_due_time_produces_one_process(engine: Engine) -> None:
    task_defs = [TaskDefinition.model_validate(docker_task("t"))]
    start(engine, task_defs, NOW, NOW)
    with pytest.raises(ConcurrentWriteError):
        start(engine, task_defs, NOW, NOW + timedelta(seconds=1))
    # Triggered runs have no due time and never collide.
    for _ in range(2):
        start(engine, task_defs, None, NOW)


def test_duplicate_entries_are_stored_once(engine: Engine) -> None:
    seed(engine, 1, tasks_per_process=1, logs_per_task=0)
    with Session(engine) as session:
        task_id = list_processes(session=session, query=ProcessQuery())[0].task[0].task_id
        entry = LogEntry(log_entry_id=uuid.uuid4(), when=NOW, source="s", message="m")
        assert (
            callbacks.add_log_entries(session=session, task_id=str(task_id), entries=[entry, entry])
            == 1
        )
        assert (
            callbacks.add_log_entries(session=session, task_id=str(task_id), entries=[entry]) == 0
        )
        session.commit()


def test_large_log_batch_is_chunked(engine: Engine) -> None:
    seed(engine, 1, tasks_per_process=1, logs_per_task=0)
    entries = [
        LogEntry(log_entry_id=uuid.uuid4(), when=NOW, source="s", message=str(i))
        for i in range(12_000)
    ]
    with Session(engine) as session:
        task_id = str(list_processes(session=session, query=ProcessQuery())[0].task[0].task_id)
        assert (
            callbacks.add_log_entries(session=session, task_id=task_id, entries=entries) == 12_000
        )
        session.commit()


def test_definition_round_trip_and_replace(engine: Engine) -> None:
    body = ProcessDefinition.model_validate(sample_process())
    with Session(engine) as session:
        definitions.upsert_definition(session=session, definition=body, now=NOW)
        session.commit()
    with Session(engine) as session:
        assert (
            definitions.get_definition(session=session, name=body.process_definition_name) == body
        )
        replaced = ProcessDefinition.model_validate(definition(body.process_definition_name))
        definitions.upsert_definition(session=session, definition=replaced, now=NOW)
        session.commit()
        row = definitions.get_definition_row(session=session, name=body.process_definition_name)
        assert as_utc(row.created_at) == NOW
        assert definitions.definition_bodies(session=session) == [
            replaced.model_dump(mode="json", exclude_none=True)
        ]


def test_notifications_are_read_alone_as_the_whole_definition_holds_them(engine: Engine) -> None:
    with_notifications = ProcessDefinition.model_validate(sample_process())
    without = ProcessDefinition.model_validate(definition("quiet"))
    with Session(engine) as session:
        for body in (with_notifications, without):
            definitions.upsert_definition(session=session, definition=body, now=NOW)
        session.commit()
    with Session(engine) as session:
        read = definitions.definition_notifications(
            session=session, name=with_notifications.process_definition_name
        )
        assert read == with_notifications.notifications
        assert len(read) == 2
        assert definitions.definition_notifications(session=session, name="quiet") == []
        with pytest.raises(NotFoundError):
            definitions.definition_notifications(session=session, name="deleted")


def test_statuses_filter(engine: Engine) -> None:
    seed(engine, 2, tasks_per_process=1, logs_per_task=0)
    with Session(engine) as session:
        query = ProcessQuery(statuses=[ProcessStatus.FAILED])
        assert list_processes(session=session, query=query) == []


def test_every_definition_is_read_without_naming_them_and_identical_bodies_share_one_read(
    engine: Engine,
) -> None:
    """A takeover reads a hundred thousand definitions: no IN list of their names (PostgreSQL
    takes at most 65,535 parameters), one parse per distinct stored body (issue 14)."""
    cron = {"cron_schedule": {"minutes": "*", "hours": "*", "day_of_month": "*", "month": "*"}}
    cron["cron_schedule"]["day_of_week"] = "?"
    bodies = [
        definition("a", docker_task("first"), docker_task("second", "first"), schedule=cron),
        definition("b", docker_task("first"), docker_task("second", "first"), schedule=cron),
        definition("c", docker_task("other")),
    ]
    with Session(engine) as session:
        for body in bodies:
            parsed = ProcessDefinition.model_validate(body)
            definitions.upsert_definition(session=session, definition=parsed, now=NOW)
        session.commit()
    with Session(engine) as session:
        read = scheduling.templates(session=session, names=None)
        named = scheduling.templates(session=session, names=["c"])
        records = {r.name: r for r in scheduling.definition_records(session=session)}
    assert not read.problems
    assert [[t.task_definition_name for t in read.tasks[n]] for n in "abc"] == [
        ["first", "second"],
        ["first", "second"],
        ["other"],
    ]
    assert all(x is y for x, y in zip(read.tasks["a"], read.tasks["b"], strict=True))
    assert list(named.tasks) == ["c"]
    assert named.tasks["c"] == read.tasks["c"]
    assert sorted(records) == ["a", "b", "c"]
    assert records["a"].schedule == records["b"].schedule is not None
    assert records["c"].schedule in (None, "null")  # SQL NULL or JSON null


def test_triggers_are_consumed_once_and_only_those_named(engine: Engine) -> None:
    with transaction(engine) as session:
        body = ProcessDefinition.model_validate(definition("t"))
        definitions.upsert_definition(session=session, definition=body, now=NOW)
        ids = [
            run_requests.add_trigger(session=session, name="t", task_filter=None, now=NOW)
            for _ in range(4)
        ]
    with transaction(engine) as session:
        scheduling.consume_triggers(session=session, request_ids=ids[:2], process_id="run-1")
        scheduling.consume_triggers(session=session, request_ids=[ids[0]], process_id="run-2")
        scheduling.consume_triggers(session=session, request_ids=ids[1:3], process_id="run-3")
    with Session(engine) as session:
        open_ids = [t.request_id for t in scheduling.open_triggers(session=session)]
        started = dict(
            session.execute(
                sa.text("SELECT request_id, started_process_id FROM process_trigger_request")
            ).all()
        )
    assert open_ids == [ids[3]]
    assert started == {ids[0]: "run-1", ids[1]: "run-1", ids[2]: "run-3", ids[3]: None}
