"""One poisoned definition or run must not stop the others (issue 9, defect 1).

Each poison is stored directly in the store, as a definition stored before the API had bounds
would be, next to a healthy definition that must still start on time. Numbers past today's
bounds are read as the bound (a year; `domain.stored`) and time arithmetic saturates, so nothing
overflows; errors nobody foresaw (simulated by a fault injected for one definition or run) set
that one item aside with a reason the API shows.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from gnomon.api.app import create_app
from gnomon.domain.definitions import ProcessDefinition, TaskDefinition
from gnomon.runner.base import ExecutorStatus
from gnomon.scheduler import apply_starts, process_book
from gnomon.scheduler.observer import SchedulerObserver
from gnomon.scheduler.rules import starts, steps
from gnomon.settings import Settings
from gnomon.storage import definitions, scheduling
from gnomon.storage.definitions import get_definition_row
from gnomon.storage.engine import transaction
from gnomon.storage.tables import ProcessDefinitionRow, TaskSnapshotRow, TaskTemplateRow
from tests.clock import FakeClock
from tests.conftest import START
from tests.samples import EVERY_MINUTE, definition, docker_task
from tests.scheduler.harness import Harness

HUGE = 10**15
"""Seconds far beyond what a datetime can hold (about 31 million years)."""


class CountingObserver(SchedulerObserver):
    def __init__(self) -> None:
        self.item_errors: list[str] = []
        self.loop_errors = 0

    def item_failed(self, stage: str) -> None:
        self.item_errors.append(stage)

    def loop_failed(self) -> None:
        self.loop_errors += 1


@pytest.fixture
def observer(harness: Harness) -> CountingObserver:
    counting = CountingObserver()
    service = harness.service
    service.observer = service.processes.observer = service.definitions.observer = counting
    return counting


@pytest.fixture
def api(engine: Engine, clock: FakeClock) -> Iterator[TestClient]:
    settings = Settings(database_url="sqlite://", allow_shell=True)
    with TestClient(create_app(settings, engine, clock=clock)) as client:
        yield client


def put_healthy(harness: Harness) -> None:
    harness.put(definition("healthy", docker_task("job"), schedule=EVERY_MINUTE))


def assert_healthy_starts_on_time(harness: Harness, minutes: int = 1) -> None:
    """The healthy definition's run due `minutes` after START starts at exactly that time."""
    due = START + timedelta(minutes=minutes)
    harness.clock.advance((due - harness.clock.now()).total_seconds())
    harness.tick()
    starts = sorted(p.start_time for p in harness.processes("healthy"))
    assert starts and starts[-1] == due
    job = next(j for j in harness.runner.running.values() if j.process_definition_name == "healthy")
    harness.runner.finish(job.task_id, ExecutorStatus.SUCCEEDED)
    harness.tick()
    assert harness.statuses("healthy")[-1] == "succeeded"


def store_schedule(engine: Engine, name: str, schedule: dict[str, Any]) -> None:
    """Overwrite a stored schedule as the API would no longer accept it (a new revision)."""
    table = ProcessDefinitionRow.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:
        connection.execute(
            sa.update(table)
            .where(table.c.name == name)
            .values(schedule=schedule, revision=table.c.revision + 1)
        )


def store_task(engine: Engine, name: str, task: str, **changes: Any) -> None:
    """Overwrite fields of a stored task definition, bypassing every check of the API."""
    table = TaskTemplateRow.__table__  # type: ignore[attr-defined]
    definitions = ProcessDefinitionRow.__table__  # type: ignore[attr-defined]
    where = (table.c.process_definition_name == name, table.c.task_definition_name == task)
    with engine.begin() as connection:
        body = connection.execute(sa.select(table.c.body).where(*where)).scalar_one()
        connection.execute(sa.update(table).where(*where).values(body={**body, **changes}))
        connection.execute(
            sa.update(definitions)
            .where(definitions.c.name == name)
            .values(revision=definitions.c.revision + 1)
        )


def put_unbounded(harness: Harness, body: dict[str, Any]) -> None:
    """Store a definition with more tasks than the API accepts today, bypassing that bound."""
    tasks = [TaskDefinition.model_validate(task) for task in body["task_definitions"]]
    one = ProcessDefinition.model_validate(
        {**body, "task_definitions": body["task_definitions"][:1]}
    )
    with transaction(harness.engine) as session:
        definitions.upsert_definition(
            session=session,
            definition=one.model_copy(update={"task_definitions": tasks}),
            now=harness.clock.now(),
        )
    harness.tick("definitions")


# -- values beyond any datetime: saturate, never due, nothing stops -------------------------------


def test_huge_buffer_is_never_due_and_others_start_on_time(harness: Harness) -> None:
    put_healthy(harness)
    harness.put(definition("poison", docker_task("job")))
    store_schedule(harness.engine, "poison", {"continuous_schedule": {"buffer_seconds": 10**12}})
    harness.tick("definitions")
    assert_healthy_starts_on_time(harness)
    assert_healthy_starts_on_time(harness, minutes=2)
    assert harness.processes("poison") == []


def test_huge_starting_deadline_and_others_start_on_time(harness: Harness) -> None:
    put_healthy(harness)
    harness.put(definition("poison", docker_task("job"), schedule=EVERY_MINUTE))
    schedule = {
        "cron_schedule": {**EVERY_MINUTE["cron_schedule"], "starting_deadline_seconds": HUGE}
    }
    store_schedule(harness.engine, "poison", schedule)
    harness.tick("definitions")
    assert_healthy_starts_on_time(harness)
    assert len(harness.processes("poison")) == 1  # a deadline of any size is just "not missed"


def test_huge_backoff_on_a_failing_task_waits_and_others_start_on_time(harness: Harness) -> None:
    put_healthy(harness)
    harness.put(definition("poison", docker_task("job", max_attempts=3)))
    store_task(
        harness.engine, "poison", "job", backoff_base_seconds=10**308, backoff_exponent=1e308
    )
    harness.tick("definitions")
    harness.trigger("poison")
    harness.fail("job")
    assert_healthy_starts_on_time(harness)
    assert harness.statuses("poison") == ["running"]  # waiting out a backoff that never ends
    assert harness.attempts("job", "poison") == [("failed", "exit code 1")]


def test_huge_max_runtime_on_a_running_task_and_others_start_on_time(harness: Harness) -> None:
    put_healthy(harness)
    harness.put(definition("poison", docker_task("job")))
    store_task(harness.engine, "poison", "job", max_runtime_seconds=HUGE)
    harness.tick("definitions")
    harness.trigger("poison")
    assert harness.running_names() == ["job"]
    assert_healthy_starts_on_time(harness)
    harness.finish("job")
    assert harness.statuses("poison") == ["succeeded"]


def test_no_attempts_stored_before_the_minimum_runs_once_and_still_reads(
    harness: Harness, api: TestClient
) -> None:
    """`max_attempts` 0 was accepted once; such a run "succeeded" without running anything."""
    harness.put(definition("old", docker_task("job", max_attempts=3)))
    store_task(harness.engine, "old", "job", max_attempts=0)
    harness.tick("definitions")
    harness.trigger("old")
    assert harness.running_names() == ["job"]
    harness.fail("job")
    assert harness.statuses("old") == ["failed"]  # one attempt in all: no retry
    assert harness.attempts("job", "old") == [("failed", "exit code 1")]
    stored = api.get("/api/process_definitions/old")  # still reads, as it was stored
    assert stored.status_code == 200
    assert stored.json()["task_definitions"][0]["max_attempts"] == 0


def test_chain_of_1500_tasks_runs_and_others_start_on_time(harness: Harness) -> None:
    put_healthy(harness)
    chain = [docker_task("t0")] + [docker_task(f"t{i}", f"t{i - 1}") for i in range(1, 1500)]
    # Dependants first: each task's condition needs the one after it in the list. More tasks than
    # the API takes today, as a definition stored before that bound would have.
    put_unbounded(harness, definition("chain", *reversed(chain)))
    harness.clock.advance(30)
    harness.trigger("chain")
    assert harness.running_names() == ["t0"]
    assert_healthy_starts_on_time(harness)
    harness.finish("t0")
    assert harness.running_names() == ["t1"]


# -- errors nobody foresaw: set aside with a reason, the rest goes on -----------------------------


def test_a_definition_that_raises_is_marked_and_the_others_go_on(
    harness: Harness,
    observer: CountingObserver,
    api: TestClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    decide = starts.decide

    def buggy(view: Any, triggers: Any, now: Any) -> Any:
        calls.append(view.name)
        if view.name == "poison":
            raise ZeroDivisionError("a bug nobody has found yet")
        return decide(view, triggers, now)

    monkeypatch.setattr(apply_starts, "decide", buggy)
    put_healthy(harness)
    harness.put(definition("poison", docker_task("job"), schedule=EVERY_MINUTE))
    assert observer.item_errors == ["schedule"]
    assert_healthy_starts_on_time(harness)
    harness.trigger("poison")
    assert_healthy_starts_on_time(harness, minutes=2)
    assert calls.count("poison") == 1  # set aside: not retried (and logged) on every tick
    assert harness.processes("poison") == []

    body = api.get("/api/process_definitions/poison").json()
    assert body["scheduling_error"] == "ZeroDivisionError: a bug nobody has found yet"
    assert "scheduling_error" not in api.get("/api/process_definitions/healthy").json()
    listed = {d["process_definition_name"]: d for d in api.get("/api/process_definitions").json()}
    assert "scheduling_error" in listed["poison"]
    assert "scheduling_error" not in listed["healthy"]

    # An edit is a new revision: the mark goes, the scheduler looks again, the trigger starts.
    monkeypatch.setattr(apply_starts, "decide", decide)
    harness.put(definition("poison", docker_task("job"), schedule=EVERY_MINUTE))
    assert "scheduling_error" not in api.get("/api/process_definitions/poison").json()
    assert len(harness.processes("poison")) == 1


def test_a_stored_schedule_that_no_longer_reads_is_marked(
    harness: Harness, observer: CountingObserver, api: TestClient
) -> None:
    put_healthy(harness)
    harness.put(definition("poison", docker_task("job"), schedule=EVERY_MINUTE))
    store_schedule(
        harness.engine,
        "poison",
        {"cron_schedule": {**EVERY_MINUTE["cron_schedule"], "hours": "99"}},
    )
    harness.tick("definitions")
    assert observer.item_errors == ["load"]
    assert_healthy_starts_on_time(harness)
    reason = api.get("/api/process_definitions/poison").json()["scheduling_error"]
    assert "the stored schedule is no longer valid" in reason
    assert "99" in reason


def test_a_stored_task_that_no_longer_reads_is_marked_when_it_starts(
    harness: Harness, observer: CountingObserver
) -> None:
    put_healthy(harness)
    harness.put(definition("poison", docker_task("job")))
    store_task(harness.engine, "poison", "job", max_attempts="many")
    harness.tick("definitions")
    harness.trigger("poison")
    assert observer.item_errors == ["load"]
    assert harness.processes("poison") == []
    assert_healthy_starts_on_time(harness)
    # Read from the store: the API's GET validates the whole stored body again.
    with Session(harness.engine) as session:
        reason = get_definition_row(session=session, name="poison").scheduling_error
    assert reason is not None
    assert "stored task definition 'job' is no longer valid: max_attempts" in reason


def test_a_stored_dependency_cycle_fails_that_run_with_the_reason(
    harness: Harness, observer: CountingObserver, api: TestClient
) -> None:
    put_healthy(harness)
    harness.put(definition("poison", docker_task("a"), docker_task("b", "a")))
    store_task(
        harness.engine,
        "poison",
        "a",
        dependencies=[{"task_definition_name": "b", "success_required": True}],
    )
    harness.tick("definitions")
    harness.trigger("poison")
    assert observer.item_errors == ["launch"]
    assert harness.statuses("poison") == ["failed"]
    assert_healthy_starts_on_time(harness)
    runs = api.get("/api/processes", params={"process_definition_name": "poison"}).json()
    assert runs[0]["status"] == "failed"
    assert runs[0]["scheduling_error"].startswith(
        "The scheduler could not handle this run: CycleError: dependency cycle: "
    )
    healthy = api.get("/api/processes", params={"process_definition_name": "healthy"}).json()
    assert "scheduling_error" not in healthy[0]


def test_a_run_whose_step_raises_fails_alone_and_its_tasks_are_killed(
    harness: Harness,
    observer: CountingObserver,
    api: TestClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    put_healthy(harness)
    harness.put(definition("poison", docker_task("a"), docker_task("b", "a")))
    harness.put(definition("other", docker_task("a"), docker_task("b", "a")))
    harness.trigger("poison")
    harness.trigger("other")
    plan = steps.plan

    def buggy(state: Any, now: Any) -> Any:
        if state.definition_name == "poison" and state.attempts.get("a", [None])[-1].ended_at:
            raise KeyError("lost track")
        return plan(state, now)

    monkeypatch.setattr(process_book, "plan", buggy)
    for name in ("poison", "other"):
        job = next(j for j in harness.runner.running.values() if j.process_definition_name == name)
        harness.runner.finish(job.task_id, ExecutorStatus.SUCCEEDED)
    harness.tick()
    assert observer.item_errors == ["step"]
    assert harness.statuses("poison") == ["failed"]
    assert [j.process_definition_name for j in harness.runner.running.values()] == ["other"]
    assert_healthy_starts_on_time(harness)
    run = api.get("/api/processes", params={"process_definition_name": "poison"}).json()[0]
    assert (
        run["scheduling_error"] == "The scheduler could not handle this run: KeyError: 'lost track'"
    )
    harness.finish("b", ExecutorStatus.SUCCEEDED)
    assert harness.statuses("other") == ["succeeded"]


def test_a_running_process_whose_step_raises_later_has_its_attempts_failed_and_killed(
    harness: Harness, observer: CountingObserver, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness.put(definition("poison", docker_task("a"), docker_task("b")))
    harness.trigger("poison")
    assert harness.running_names() == ["a", "b"]
    plan = steps.plan

    def buggy(_state: Any, _now: Any) -> Any:
        raise RuntimeError("broken")

    monkeypatch.setattr(process_book, "plan", buggy)
    harness.kill(str(harness.process("poison").process_id))
    monkeypatch.setattr(process_book, "plan", plan)
    assert observer.item_errors == ["step"]
    assert harness.statuses("poison") == ["failed"]
    assert harness.runner.running == {}
    reasons = {reason for _, reason in harness.attempts("a", "poison")}
    assert reasons == {"The scheduler could not handle this run: RuntimeError: broken"}


# -- the loop --------------------------------------------------------------------------------------


def test_a_wake_up_that_fails_as_a_whole_is_counted_and_the_next_one_works(
    harness: Harness, observer: CountingObserver, monkeypatch: pytest.MonkeyPatch
) -> None:
    put_healthy(harness)
    open_triggers = scheduling.open_triggers
    failures = iter([RuntimeError("once")])

    def flaky(**kwargs: Any) -> Any:
        error = next(failures, None)
        if error is not None:
            raise error
        return open_triggers(**kwargs)

    monkeypatch.setattr(scheduling, "open_triggers", flaky)
    harness.clock.advance(60)
    harness.tick()  # fails as a whole, but returns
    assert observer.loop_errors == 1
    harness.tick()
    assert [p.start_time for p in harness.processes("healthy")] == [START + timedelta(minutes=1)]


def test_a_reason_quoting_bytes_the_store_refuses_is_still_stored(
    harness: Harness, observer: CountingObserver, api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    decide = starts.decide

    def buggy(view: Any, triggers: Any, now: Any) -> Any:
        if view.name == "poison":
            raise ValueError("bad\x00value \ud800")
        return decide(view, triggers, now)

    monkeypatch.setattr(apply_starts, "decide", buggy)
    put_healthy(harness)
    harness.put(definition("poison", docker_task("job"), schedule=EVERY_MINUTE))
    assert observer.item_errors == ["schedule"]
    assert observer.loop_errors == 0
    assert_healthy_starts_on_time(harness)
    reason = api.get("/api/process_definitions/poison").json()["scheduling_error"]
    assert reason == "ValueError: bad\\x00value \\ud800"


def test_a_definition_whose_run_cannot_be_started_is_marked_and_others_start(
    harness: Harness, observer: CountingObserver, api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    filtered = process_book.filtered_tasks

    def buggy(tasks: Any, task_filter: Any) -> Any:
        if any(t.task_definition_name == "poisoned" for t in tasks):
            raise IndexError("no such slot")
        return filtered(tasks, task_filter)

    monkeypatch.setattr(apply_starts, "filtered_tasks", buggy)
    put_healthy(harness)
    harness.put(definition("poison", docker_task("poisoned"), schedule=EVERY_MINUTE))
    assert_healthy_starts_on_time(harness)
    assert observer.item_errors == ["launch"]
    assert harness.processes("poison") == []
    reason = api.get("/api/process_definitions/poison").json()["scheduling_error"]
    assert reason == "IndexError: no such slot"
    assert_healthy_starts_on_time(harness, minutes=2)


def test_a_running_run_whose_snapshot_no_longer_reads_fails_at_takeover(
    harness: Harness, engine: Engine, clock: FakeClock, api: TestClient
) -> None:
    put_healthy(harness)
    harness.put(definition("poison", docker_task("job")))
    harness.trigger("poison")
    assert harness.running_names() == ["job"]
    snapshots = TaskSnapshotRow.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:
        body = connection.execute(sa.select(snapshots.c.body)).scalar_one()
        connection.execute(sa.update(snapshots).values(body={**body, "max_attempts": "many"}))
    clock.advance(20)  # the first scheduler is gone; its lease has expired
    standby = Harness(engine, clock, holder="standby")
    standby.tick()
    assert standby.statuses("poison") == ["failed"]
    run = api.get("/api/processes", params={"process_definition_name": "poison"}).json()[0]
    assert run["scheduling_error"].startswith(
        "The scheduler could not handle this run: stored task definition 'job' is no longer "
        "valid: max_attempts"
    )
    assert run["task"][0]["status"] == "failed"
    clock.advance(40)
    standby.tick()
    assert [p.start_time for p in standby.processes("healthy")] == [START + timedelta(minutes=1)]
