"""The operator against a real API server: resources in, definitions in the store, status out."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import Engine

from gnomon.domain.definitions import ProcessDefinition, ProcessDefinitionSpec
from gnomon.domain.enums import ProcessStatus
from gnomon.errors import NotFoundError
from gnomon.scheduler.wakeup import Wakeup
from gnomon.settings import Settings
from gnomon.storage import PgListener, WriteBatch, make_engine, transaction
from gnomon.storage.definitions import get_definition, get_definition_row
from gnomon.storage.runs import ProcessQuery, get_process, list_processes
from tests.clock import FakeClock
from tests.operator.conftest import StartOperator
from tests.operator.kube import FINALIZER, Kube, wait_for
from tests.samples import DAILY_22H, docker_task

pytestmark = pytest.mark.kubernetes


def spec(*tasks: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"task_definitions": list(tasks) or [docker_task("only")], **extra}


def stored(engine: Engine, name: str) -> ProcessDefinition | None:
    with transaction(engine) as session:
        try:
            return get_definition(session=session, name=name)
        except NotFoundError:
            return None


def stored_owner(engine: Engine, name: str) -> str | None:
    with transaction(engine) as session:
        return get_definition_row(session=session, name=name).owner


def test_created_resource_is_stored_and_ready(
    kube: Kube, engine: Engine, start_operator: StartOperator
) -> None:
    start_operator(engine=engine)
    kube.create("nightly", spec(docker_task("extract"), schedule=DAILY_22H))

    name = f"{kube.namespace}.nightly"
    definition = wait_for(lambda: stored(engine, name), what="the stored definition")
    assert [t.task_definition_name for t in definition.task_definitions] == ["extract"]
    assert stored_owner(engine, name) == f"ProcessDefinition {kube.namespace}/nightly"
    ready = wait_for(lambda: kube.ready("nightly"), what="a Ready condition")
    assert (ready["status"], ready["reason"]) == ("True", "Stored")
    status = kube.status("nightly")
    assert status["definitionName"] == name
    assert status["schedule"] == "cron 0 22 * * ? (UTC)"
    assert status["nextRun"] == "2026-03-02T22:00:00.000Z"
    assert status["phase"] == "Ready"
    assert FINALIZER in (kube.get("nightly") or {})["metadata"]["finalizers"]


@pytest.mark.usefixtures("operator")
def test_changed_spec_updates_the_store(kube: Kube, sqlite_engine: Engine) -> None:
    kube.create("etl", spec(docker_task("extract"), schedule=DAILY_22H))
    name = f"{kube.namespace}.etl"
    wait_for(lambda: kube.ready("etl"), what="a Ready condition")

    kube.patch_spec("etl", spec(docker_task("extract"), docker_task("load", "extract")))

    def with_two_tasks() -> ProcessDefinition | None:
        found = stored(sqlite_engine, name)
        return found if found and len(found.task_definitions) == 2 else None

    definition = wait_for(with_two_tasks, what="the second task in the store")
    assert definition.task_definitions[1].dependencies[0].task_definition_name == "extract"

    kube.patch_spec("etl", {"paused": True})
    wait_for(lambda: getattr(stored(sqlite_engine, name), "paused", False), what="paused")
    wait_for(lambda: kube.ready("etl"), what="a Ready condition for the paused spec")
    wait_for(lambda: "nextRun" not in kube.status("etl"), what="nextRun to go while paused")


@pytest.mark.parametrize(
    ("bad_spec", "field"),
    [
        (spec(docker_task("a", "b"), docker_task("b", "a")), "spec.task_definitions"),
        (
            spec(schedule={"cron_schedule": {**DAILY_22H["cron_schedule"], "hours": "25"}}),
            "spec.schedule.cron_schedule.hours",
        ),
        (spec(docker_task("a", "ghost")), "spec.task_definitions[0].dependencies[0]"),
        (
            spec(
                {
                    "task_definition_name": "sh",
                    "executable": {"shell_script_command": {"script": "true"}},
                }
            ),
            "spec.task_definitions[0].executable.shell_script_command",
        ),
        (
            # The CRD's pattern lets an empty host through; the models' URL check does not.
            spec(notifications=[{"webhook": {"url": "http://:8080/hook"}}]),
            "spec.notifications[0].webhook.url",
        ),
    ],
    ids=["cycle", "cron-hours", "unknown-dependency", "shell-disabled", "url-without-host"],
)
@pytest.mark.usefixtures("operator")
def test_invalid_spec_is_reported_once_and_not_stored(
    kube: Kube, sqlite_engine: Engine, bad_spec: dict[str, Any], field: str
) -> None:
    kube.create("bad", bad_spec)

    ready = wait_for(lambda: kube.ready("bad"), what="a Ready condition")
    assert (ready["status"], ready["reason"]) == ("False", "InvalidSpec")
    assert ready["message"].startswith(field), ready["message"]
    assert kube.status("bad")["phase"] == "Error"
    # kopf wrote its diff base: the change counts as handled and is not retried.
    body = wait_for(lambda: kube.handled("bad"), what="kopf to record the change as handled")
    assert not [key for key in body["metadata"]["annotations"] if key.endswith("_change")]
    events = wait_for(lambda: kube.events("bad", "InvalidSpec"), what="an InvalidSpec event")
    assert len(events) == 1 and events[0].type == "Warning"
    assert events[0].message == ready["message"]
    assert stored(sqlite_engine, f"{kube.namespace}.bad") is None


@pytest.mark.usefixtures("operator")
def test_invalid_update_keeps_the_last_valid_definition(kube: Kube, sqlite_engine: Engine) -> None:
    kube.create("etl", spec(docker_task("extract")))
    wait_for(lambda: kube.ready("etl"), what="a Ready condition")

    kube.patch_spec("etl", spec(docker_task("a", "b"), docker_task("b", "a")))
    failed = wait_for(lambda: kube.ready("etl"), what="a Ready condition for the bad spec")
    assert failed["status"] == "False"
    definition = stored(sqlite_engine, f"{kube.namespace}.etl")
    assert definition is not None
    assert [t.task_definition_name for t in definition.task_definitions] == ["extract"]

    kube.patch_spec("etl", spec(docker_task("a"), docker_task("b", "a")))
    fixed = wait_for(lambda: kube.ready("etl"), what="a Ready condition for the fixed spec")
    assert fixed["status"] == "True"
    definition = stored(sqlite_engine, f"{kube.namespace}.etl")
    assert definition is not None and len(definition.task_definitions) == 2


def test_deleted_resource_removes_the_definition_but_keeps_its_runs(
    kube: Kube, engine: Engine, clock: FakeClock, start_operator: StartOperator
) -> None:
    start_operator(engine=engine)
    kube.create("old", spec(docker_task("only")))
    name = f"{kube.namespace}.old"
    definition = wait_for(lambda: stored(engine, name), what="the stored definition")
    process_id = run_process(engine, definition, clock, ProcessStatus.SUCCEEDED)

    kube.delete("old")

    wait_for(lambda: kube.get("old") is None, what="the resource to disappear")
    assert stored(engine, name) is None
    with transaction(engine) as session:
        assert get_process(session=session, process_id=process_id).status == ProcessStatus.SUCCEEDED
        runs = list_processes(session=session, query=ProcessQuery(process_definition_name=name))
    assert [str(p.process_id) for p in runs] == [process_id]


def test_status_follows_the_runs_in_the_store(
    kube: Kube, engine: Engine, clock: FakeClock, start_operator: StartOperator
) -> None:
    start_operator(engine=engine)
    every_20m = {"continuous_schedule": {"buffer_seconds": 1200}}
    kube.create("drain", spec(docker_task("only"), schedule=every_20m))
    wait_for(lambda: kube.ready("drain"), what="a Ready condition")
    status = kube.status("drain")
    assert status["schedule"] == "every 1200s"
    # Before the first run, due `buffer_seconds` after the definition was created (at 12:00).
    assert status["nextRun"] == "2026-03-02T12:20:00.000Z"
    assert not {"lastRun", "lastStatus", "runningProcessId"} & set(status)

    definition = stored(engine, f"{kube.namespace}.drain")
    assert definition is not None
    process_id = run_process(engine, definition, clock, status=None)
    running = wait_for(
        lambda: kube.status("drain") if "runningProcessId" in kube.status("drain") else None,
        what="the running process in status",
    )
    assert running["runningProcessId"] == process_id
    assert (running["lastRun"], running["lastStatus"]) == ("2026-03-02T12:00:00.000Z", "running")
    assert running["nextRun"] == "2026-03-02T12:20:00.000Z"

    clock.advance(60)
    batch = WriteBatch()
    batch.end_process(process_id, ProcessStatus.FAILED, clock.now())
    with transaction(engine) as session:
        batch.flush(session)
    finished = wait_for(
        lambda: (status := kube.status("drain")).get("lastStatus") == "failed" and status,
        what="the failed run in status",
    )
    assert "runningProcessId" not in finished


def run_process(
    engine: Engine, definition: ProcessDefinition, clock: FakeClock, status: ProcessStatus | None
) -> str:
    """A process of `definition` started now, finished with `status` unless that is None."""
    batch = WriteBatch()
    process_id = batch.add_process(
        name=definition.process_definition_name,
        tasks=definition.task_definitions,
        origin="trigger",
        scheduled_for=None,
        task_filter=None,
        now=clock.now(),
    )
    if status is not None:
        batch.end_process(process_id, status, clock.now())
    with transaction(engine) as session:
        batch.flush(session)
    return process_id


@pytest.mark.postgres
def test_stored_changes_wake_schedulers_through_postgres(
    kube: Kube, postgres_database: str, start_operator: StartOperator
) -> None:
    engine = make_engine(postgres_database)
    wakeup = Wakeup()
    listener = PgListener(engine, wakeup)
    listener.start()
    try:
        start_operator(engine=engine)
        kube.create("woken", spec())
        assert "definitions" in wait_for(lambda: wakeup.wait(0.2), what="a wake-up")
        kube.delete("woken")
        assert "definitions" in wait_for(lambda: wakeup.wait(0.2), what="a wake-up")
    finally:
        listener.stop()
        engine.dispose()


EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))


def test_every_example_is_stored_as_written(
    kube: Kube, sqlite_engine: Engine, start_operator: StartOperator, operator_settings: Settings
) -> None:
    """The operator validates dicts from Kubernetes, not JSON: strict types must still accept
    every value a valid manifest carries (the server's integers, its defaults, the enums)."""
    start_operator(settings=operator_settings.model_copy(update={"allow_shell": True}))
    manifests = {path.stem: yaml.safe_load(path.read_text()) for path in EXAMPLES}
    for name, manifest in manifests.items():
        kube.create(name, manifest["spec"])

    for name, manifest in manifests.items():
        ready = wait_for(partial(kube.ready, name), what=f"{name} to be handled")
        assert (ready["status"], ready["reason"]) == ("True", "Stored"), ready
        definition = stored(sqlite_engine, f"{kube.namespace}.{name}")
        assert definition is not None
        written = ProcessDefinitionSpec.model_validate(manifest["spec"])
        body = definition.to_wire()
        del body["process_definition_name"]
        assert ProcessDefinitionSpec.model_validate(body) == written
