"""Runs built before their due time: taken only while still true, and then what a run built at
the due time would have been."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gnomon.domain.definitions import ProcessDefinition
from gnomon.errors import StoreUnavailableError
from gnomon.runner.base import Attempt
from gnomon.scheduler.observer import SchedulerObserver
from gnomon.scheduler.prepared import LATEST_TAKE
from gnomon.scheduler.service import PREPARED_PER_WAKE, SchedulerService
from gnomon.storage import WriteBatch, definitions, run_requests
from gnomon.storage import scheduling as store
from gnomon.storage.engine import transaction
from tests.clock import FakeClock
from tests.samples import EVERY_MINUTE, definition, docker_task
from tests.scheduler.harness import Harness
from tests.scheduler.test_bursts import put_many

BEFORE = datetime(2026, 3, 2, 11, 58, 30, tzinfo=UTC)
DUE = datetime(2026, 3, 2, 11, 59, tzinfo=UTC)
LATE = datetime(2026, 3, 2, 11, 59, 0, 250_000, tzinfo=UTC)
TASKS = [
    docker_task("a"),
    docker_task("b", "a"),
    docker_task("c", optional=("a",)),
    docker_task("d", max_runtime_seconds=90),
]


def prepared_process_id(harness: Harness, name: str) -> str | None:
    run = harness.service.processes.prepared.get(name)
    return run.state.process_id if run else None


def ready(harness: Harness, *bodies: dict[str, Any]) -> None:
    """Definitions put half a minute before `DUE`, in one transaction, and the wake-up that
    follows (which prepares their runs)."""
    harness.clock.set(BEFORE)
    with transaction(harness.engine) as session:
        for body in bodies:
            definitions.upsert_definition(
                session=session,
                definition=ProcessDefinition.model_validate(body),
                now=harness.clock.now(),
            )
    harness.tick("definitions")


def test_a_run_is_prepared_and_taken_at_its_due_time(harness: Harness) -> None:
    ready(harness, definition("early", *TASKS, schedule=EVERY_MINUTE))
    process_id = prepared_process_id(harness, "early")
    assert process_id is not None
    assert harness.runner.started == []  # prepared is not started
    assert harness.processes("early") == []  # nor written
    harness.clock.set(LATE)
    harness.tick()
    assert {a.process_id for a in harness.runner.started} == {process_id}
    assert len(harness.service.processes.prepared) == 0


def test_a_taken_run_is_what_one_built_at_the_due_time_would_be(
    engine: Engine, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = one_late_run(Harness(engine, clock, holder="prepares"), "taken")
    assert taken.pop("was prepared")
    monkeypatch.setattr(SchedulerService, "_prepare_runs", lambda self: None)
    built = one_late_run(Harness(engine, clock, holder="builds"), "built")
    assert not built.pop("was prepared")
    assert taken == built


def one_late_run(harness: Harness, name: str) -> dict[str, Any]:
    """What the run of `name`, due at `DUE` and started at `LATE`, wrote, handed over and
    wants as its next wake-up, without ids and tokens; then the scheduler lets go."""
    ready(harness, definition(name, *TASKS, schedule=EVERY_MINUTE))
    prepared = prepared_process_id(harness, name)
    harness.clock.set(LATE)
    harness.tick()
    started = harness.runner.started
    process_id = started[0].process_id
    wake = harness.service.processes.wakes.get(process_id)
    facts = {
        "was prepared": process_id == prepared,
        "process": stored(harness.engine, "process", process_id),
        "snapshot": stored(harness.engine, "task_definition", process_id),
        "attempts": stored(harness.engine, "task", process_id),
        "handed over": [handed_over(attempt) for attempt in started],
        "wake": wake,
        "tokens": [len(a.token) for a in started],
    }
    harness.service.stop()
    harness.service._release()
    harness.runner.started.clear()
    return facts


def stored(engine: Engine, table: str, process_id: str) -> list[dict[str, Any]]:
    unlike = {"process_id", "task_id", "process_definition_name", "token_hash"}
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(f"SELECT * FROM {table} WHERE process_id = :id"), {"id": process_id}
        ).mappings()
        found = [{k: str(v) for k, v in row.items() if k not in unlike} for row in rows]
    return sorted(found, key=lambda row: sorted(row.items()))


def handed_over(attempt: Attempt) -> tuple[Any, ...]:
    return (
        attempt.task_definition_name,
        attempt.previous_attempts,
        attempt.executable,
        attempt.max_runtime_seconds,
        attempt.output_since,
    )


def paused(harness: Harness) -> None:
    harness.pause("changed")


def edited(harness: Harness) -> None:
    harness.put(definition("changed", docker_task("other"), schedule=EVERY_MINUTE))


def triggered(harness: Harness) -> None:
    """A trigger the scheduler first reads at the due time, with the due schedule."""
    with transaction(harness.engine) as session:
        run_requests.add_trigger(
            session=session, name="changed", task_filter=None, now=harness.clock.now()
        )


def deleted(harness: Harness) -> None:
    with transaction(harness.engine) as session:
        definitions.delete_definition(session=session, name="changed")
    harness.tick("definitions")


@pytest.mark.parametrize(
    ("change", "runs"),
    [(paused, []), (edited, ["other"]), (triggered, ["t"]), (deleted, [])],
    ids=["paused", "edited", "triggered", "deleted"],
)
def test_a_change_before_the_due_time_is_what_decides(
    harness: Harness, change: Callable[[Harness], None], runs: list[str]
) -> None:
    ready(harness, definition("changed", docker_task("t"), schedule=EVERY_MINUTE))
    prepared = prepared_process_id(harness, "changed")
    change(harness)
    harness.clock.set(LATE)
    harness.tick()
    assert [a.task_definition_name for a in harness.runner.started] == runs
    assert prepared not in {a.process_id for a in harness.runner.started}
    with transaction(harness.engine) as session:
        assert store.open_triggers(session=session) == []  # one run, both its reasons


def test_a_wake_up_later_than_a_prepared_run_may_be_taken_builds_it_again(
    harness: Harness,
) -> None:
    ready(harness, definition("late", docker_task("t"), schedule=EVERY_MINUTE))
    prepared = prepared_process_id(harness, "late")
    harness.clock.set(DUE + LATEST_TAKE)
    harness.tick()
    (attempt,) = harness.runner.started
    assert attempt.process_id != prepared
    assert harness.process("late").start_time == DUE + LATEST_TAKE


def test_a_starting_deadline_passed_since_the_due_time_skips_the_run(harness: Harness) -> None:
    schedule = {"cron_schedule": {**EVERY_MINUTE["cron_schedule"], "starting_deadline_seconds": 1}}
    ready(harness, definition("strict", docker_task("t"), schedule=schedule))
    assert prepared_process_id(harness, "strict") is not None
    harness.clock.set(datetime(2026, 3, 2, 11, 59, 2, tzinfo=UTC))
    harness.tick()
    assert harness.runner.started == []


def test_a_run_that_cannot_be_prepared_is_built_at_its_due_time(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_process = WriteBatch.add_process

    def refusing(self: WriteBatch, **row: Any) -> str:
        if row["name"] == "refused":
            raise RuntimeError("not ahead of time")
        return add_process(self, **row)

    monkeypatch.setattr(WriteBatch, "add_process", refusing)
    body = definition("x", docker_task("t"), schedule=EVERY_MINUTE)
    ready(harness, {**body, "process_definition_name": "refused"}, body)
    assert prepared_process_id(harness, "refused") is None
    assert prepared_process_id(harness, "x") is not None
    monkeypatch.undo()
    harness.clock.set(LATE)
    harness.tick()
    assert sorted(a.process_definition_name for a in harness.runner.started) == ["refused", "x"]


def test_a_failed_due_wake_up_drops_what_was_prepared_and_starts_each_run_once(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    ready(harness, definition("once", docker_task("t"), schedule=EVERY_MINUTE))
    prepared = prepared_process_id(harness, "once")
    flush = WriteBatch.flush
    failures = iter([StoreUnavailableError("the store went away")])

    def failing(self: WriteBatch, session: Any) -> None:
        for failure in failures:
            raise failure
        flush(self, session)

    monkeypatch.setattr(WriteBatch, "flush", failing)
    harness.clock.set(LATE)
    harness.tick()
    assert harness.runner.started == []
    assert len(harness.service.processes.prepared) == 0
    harness.advance(1)
    harness.advance(1)
    (attempt,) = harness.runner.started
    assert attempt.process_id != prepared
    assert len(harness.processes("once")) == 1


class RefusingObserver(SchedulerObserver):
    """Fails when an attempt of `refused` starts, as a bug in an observer would."""

    def task_started(self, name: str, executable: str) -> None:
        if name == "refused":
            raise ZeroDivisionError("an observer's bug")


def test_a_prepared_run_that_fails_at_its_hand_over_fails_alone(
    engine: Engine, clock: FakeClock
) -> None:
    harness = Harness(engine, clock, observer=RefusingObserver())
    body = definition("x", docker_task("t"), schedule=EVERY_MINUTE)
    ready(harness, {**body, "process_definition_name": "refused"}, body)
    assert prepared_process_id(harness, "refused") is not None
    harness.clock.set(LATE)
    harness.tick()
    assert [a.process_definition_name for a in harness.runner.started] == ["x"]
    assert harness.statuses("refused") == ["failed"]
    assert harness.attempts("t", "refused") == [
        ("failed", "The scheduler could not handle this run: ZeroDivisionError: an observer's bug")
    ]
    assert harness.statuses("x") == ["running"]


def test_runs_are_prepared_a_slice_per_wake_up_each_followed_at_once(harness: Harness) -> None:
    harness.clock.set(BEFORE)
    put_many(harness, 2_500, definition("x", docker_task("t"), schedule=EVERY_MINUTE))
    prepared = harness.service.processes.prepared
    sizes, wakes = [len(prepared)], []
    while len(sizes) < 5:
        wakes.append(harness.tick())
        sizes.append(len(prepared))
    assert sizes == [PREPARED_PER_WAKE, 2_000, 2_500, 2_500, 2_500]
    assert wakes[0] == BEFORE  # the last slice without waiting
    assert wakes[1] > BEFORE
    harness.clock.set(DUE)
    while harness.service.definitions.burst_pending(DUE):
        harness.tick()
    assert len(harness.runner.started) == 2_500
    assert len(prepared) == 0
