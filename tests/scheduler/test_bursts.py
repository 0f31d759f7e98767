"""A due minute of many runs: chunks that grow, and task definitions prepared before the minute."""

from __future__ import annotations

import gc
import json
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gnomon.domain.definitions import ProcessDefinition, TaskDefinition
from gnomon.runner.base import Attempt, ExecutorStatus
from gnomon.scheduler.definition_book import DUE_PER_TICK
from gnomon.storage import definitions
from gnomon.storage.engine import transaction
from tests.samples import EVERY_MINUTE, definition, docker_task
from tests.scheduler.harness import Harness


def put_many(harness: Harness, count: int, body: dict[str, Any]) -> None:
    """`count` copies of `body` (named burst-00000 …) in one transaction, then one refresh."""
    with transaction(harness.engine) as session:
        for index in range(count):
            named = {**body, "process_definition_name": f"burst-{index:05d}"}
            definitions.upsert_definition(
                session=session,
                definition=ProcessDefinition.model_validate(named),
                now=harness.clock.now(),
            )
    harness.tick("definitions")


def started_per_tick(harness: Harness) -> list[int]:
    counts = []
    while harness.service.definitions.burst_pending(harness.clock.now()):
        before = len(harness.runner.started)
        harness.tick()
        counts.append(len(harness.runner.started) - before)
    return counts


def test_a_burst_goes_out_in_growing_chunks_all_in_its_minute(harness: Harness) -> None:
    harness.clock.set(datetime(2026, 3, 2, 11, 58, 30, tzinfo=UTC))
    put_many(harness, 1_300, definition("x", docker_task("t"), schedule=EVERY_MINUTE))
    harness.clock.set(datetime(2026, 3, 2, 11, 59, tzinfo=UTC))
    chunks = started_per_tick(harness)
    assert chunks[0] == DUE_PER_TICK  # the first jobs do not wait for the last
    assert chunks == [250, 250, 500, 300]
    assert len({a.process_id for a in harness.runner.started}) == 1_300


def test_the_collector_rests_while_a_burst_is_made_and_handed_over(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness.clock.set(datetime(2026, 3, 2, 11, 58, 30, tzinfo=UTC))
    put_many(harness, 300, definition("x", docker_task("t"), schedule=EVERY_MINUTE))
    collecting: list[bool] = []
    start = harness.runner.start

    def noting(attempt: Attempt) -> None:
        collecting.append(gc.isenabled())
        start(attempt)

    monkeypatch.setattr(harness.runner, "start", noting)
    harness.clock.set(datetime(2026, 3, 2, 11, 59, tzinfo=UTC))
    started_per_tick(harness)
    assert collecting == [False] * 300  # no full collection walks the runs being handed over
    assert gc.isenabled()
    harness.clock.set(datetime(2026, 3, 2, 11, 59, 30, tzinfo=UTC))
    harness.service.wakeup.notify("triggers")
    harness.tick()
    assert gc.isenabled()


def test_task_definitions_are_serialized_before_the_due_minute(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness.clock.set(datetime(2026, 3, 2, 11, 58, 30, tzinfo=UTC))
    tasks = [docker_task("a"), docker_task("b", "a")]
    put_many(harness, 20, definition("x", *tasks, schedule=EVERY_MINUTE))

    def no_dump(*_: object, **__: object) -> Any:
        raise AssertionError("a task definition was serialized during the burst")

    monkeypatch.setattr(TaskDefinition, "model_dump", no_dump)
    harness.clock.set(datetime(2026, 3, 2, 11, 59, tzinfo=UTC))
    harness.tick()
    assert len(harness.runner.started) == 20
    monkeypatch.undo()
    snapshot = stored_snapshot(harness.engine, harness.runner.started[0].process_id)
    assert snapshot == [
        TaskDefinition.model_validate(t).model_dump(mode="json", by_alias=True, exclude_none=True)
        for t in tasks
    ]


def test_an_edit_before_the_minute_is_what_the_run_writes(harness: Harness) -> None:
    harness.clock.set(datetime(2026, 3, 2, 11, 58, 30, tzinfo=UTC))
    harness.put(definition("edited", docker_task("t"), schedule=EVERY_MINUTE))
    harness.advance(10)  # prepared with the first command
    changed = docker_task("t")
    changed["executable"]["docker_image_command"]["command"] = ["echo", "second"]
    harness.put(definition("edited", changed, schedule=EVERY_MINUTE))
    harness.clock.set(datetime(2026, 3, 2, 11, 59, tzinfo=UTC))
    harness.tick()
    (attempt,) = harness.runner.started
    assert attempt.executable.model_dump()["docker_image_command"]["command"] == [
        "echo",
        "second",
    ]
    (body,) = stored_snapshot(harness.engine, attempt.process_id)
    assert body["executable"]["docker_image_command"]["command"] == ["echo", "second"]


def stored_snapshot(engine: Engine, process_id: str) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT CAST(body AS TEXT) FROM task_definition WHERE process_id = :id "
                "ORDER BY position"
            ),
            {"id": process_id},
        ).all()
    return [json.loads(text) for (text,) in rows]


def test_a_run_opened_at_once_is_what_the_slot_queue_would_have_made(harness: Harness) -> None:
    """Without a slot limit a new run's first tasks start without the queue's round trip; the
    stored attempts, the starts and the runtime-limit wake-up are what the queue makes."""
    tasks = [
        docker_task("a"),
        docker_task("b", "a"),
        docker_task("c", optional=("a",)),
        docker_task("d", max_runtime_seconds=90),
    ]
    harness.clock.set(datetime(2026, 3, 2, 11, 58, 30, tzinfo=UTC))
    harness.put(definition("opened", *tasks, schedule=EVERY_MINUTE))
    opened_at_once = one_minute_of(harness, datetime(2026, 3, 2, 11, 59, tzinfo=UTC))
    harness.service.processes.max_running_tasks = 1_000  # through the queue from now on
    queued = one_minute_of(harness, datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    assert opened_at_once == queued
    assert opened_at_once[0] == ["a", "d"]


def one_minute_of(harness: Harness, due: datetime) -> tuple[list[str], list[Any], float | None]:
    """What the run due at `due` started, stored and wants as its next wake-up; then it ends."""
    harness.clock.set(due)
    before = len(harness.runner.started)
    harness.tick()
    started = harness.runner.started[before:]
    process_id = started[0].process_id
    wake = harness.service.processes.wakes.get(process_id)
    with harness.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT task_definition_name, status, previous_attempts, started_at, reason, "
                "ended_at, running_at, CAST(executable AS TEXT) FROM task WHERE process_id = :id "
                "ORDER BY task_definition_name"
            ),
            {"id": process_id},
        ).all()
    stored = [
        (*row[:3], str(row[3])[11:19] == due.strftime("%H:%M:%S"), *row[4:7], row[7])
        for row in rows
    ]
    while harness.runner.running:  # the run ends before the next minute
        for task_id in list(harness.runner.running):
            harness.runner.finish(task_id, ExecutorStatus.SUCCEEDED)
        harness.tick()
    return (
        [a.task_definition_name for a in started],
        [[*row[:7], json.loads(row[7])] for row in stored],
        (wake - due).total_seconds() if wake else None,
    )


def test_the_periodic_look_at_definitions_waits_for_the_burst(harness: Harness) -> None:
    harness.clock.set(datetime(2026, 3, 2, 11, 58, 30, tzinfo=UTC))
    harness.put(definition("due", docker_task("t"), schedule=EVERY_MINUTE))
    with transaction(harness.engine) as session:  # unannounced: only the periodic look sees it
        definitions.upsert_definition(
            session=session,
            definition=ProcessDefinition.model_validate(definition("quiet", docker_task("t"))),
            now=harness.clock.now(),
        )
    harness.clock.set(datetime(2026, 3, 2, 11, 59, tzinfo=UTC))  # 30 s: a look is due too
    harness.tick()
    assert [a.process_definition_name for a in harness.runner.started] == ["due"]
    assert "quiet" not in harness.service.definitions.views
    harness.tick()
    assert "quiet" in harness.service.definitions.views


def test_the_store_is_checkpointed_between_bursts_never_just_before_one(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    times: list[datetime] = []

    def checkpoint(_: Engine) -> int:
        times.append(harness.clock.now())
        return 0

    monkeypatch.setattr("gnomon.scheduler.service.checkpoint", checkpoint)
    harness.clock.set(datetime(2026, 3, 2, 11, 58, 58, 500_000, tzinfo=UTC))
    harness.put(definition("due", docker_task("t"), schedule=EVERY_MINUTE))
    assert times == []  # the takeover's wake-up is 1.5 s before a due run
    harness.clock.set(datetime(2026, 3, 2, 11, 59, tzinfo=UTC))
    harness.tick()  # the burst
    for _ in range(12):
        harness.advance(5)
    assert times == [
        datetime(2026, 3, 2, 11, 59, tzinfo=UTC),  # right after the burst's last chunk
        datetime(2026, 3, 2, 11, 59, 30, tzinfo=UTC),  # then at most every 30 s:
        datetime(2026, 3, 2, 12, 0, tzinfo=UTC),  # after the 12:00 burst, in its wake-up
    ]
