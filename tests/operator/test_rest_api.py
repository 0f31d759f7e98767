"""A definition that came from a resource, seen through the REST API: read-only, but runnable."""

from __future__ import annotations

from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from gnomon.domain.definitions import ProcessDefinition
from gnomon.domain.times import as_utc
from gnomon.storage.definitions import get_definition_row
from gnomon.storage.engine import transaction
from gnomon.storage.tables import TriggerRequestRow
from tests.clock import FakeClock
from tests.operator.conftest import StartOperator
from tests.operator.kube import Kube, wait_for
from tests.operator.test_reconcile import spec, stored
from tests.samples import DAILY_22H, definition, docker_task

pytestmark = pytest.mark.kubernetes
BASE = "/api/process_definitions"


@pytest.mark.usefixtures("operator")
def test_resource_definition_is_read_only_but_can_be_triggered_and_paused(
    kube: Kube, sqlite_engine: Engine, client: TestClient
) -> None:
    kube.create("nightly", spec(docker_task("extract"), schedule=DAILY_22H))
    wait_for(lambda: kube.ready("nightly"), what="a Ready condition")
    name = f"{kube.namespace}.nightly"
    url = f"{BASE}/{name}"
    body = client.get(url).json()
    assert body["process_definition_name"] == name

    replaced = client.put(url, json=body)
    assert replaced.status_code == 409
    assert f"ProcessDefinition {kube.namespace}/nightly" in replaced.json()["message"]
    assert client.delete(url).status_code == 409

    assert client.post(f"{url}/trigger").status_code == 204
    with transaction(sqlite_engine) as session:
        triggers = session.exec(
            select(TriggerRequestRow).where(col(TriggerRequestRow.process_definition_name) == name)
        ).all()
    assert len(triggers) == 1

    assert client.post(f"{url}/pause").status_code == 204
    wait_for(lambda: "nextRun" not in kube.status("nightly"), what="nextRun to go while paused")
    assert client.post(f"{url}/resume").status_code == 204
    wait_for(lambda: "nextRun" in kube.status("nightly"), what="nextRun to come back")


@pytest.mark.usefixtures("operator")
def test_name_taken_through_the_api_is_a_conflict_and_stays(
    kube: Kube, sqlite_engine: Engine, client: TestClient
) -> None:
    name = f"{kube.namespace}.taken"
    assert client.put(f"{BASE}/{name}", json=definition(name)).status_code == 200

    kube.create("taken", spec(docker_task("mine")))
    ready = wait_for(lambda: kube.ready("taken"), what="a Ready condition")
    assert (ready["status"], ready["reason"]) == ("False", "NameConflict")
    assert name in ready["message"] and "REST API" in ready["message"]
    wait_for(lambda: kube.events("taken", "NameConflict"), what="a NameConflict event")

    kube.delete("taken")
    wait_for(lambda: kube.get("taken") is None, what="the resource to disappear")
    kept = stored(sqlite_engine, name)
    assert kept is not None
    assert [t.task_definition_name for t in kept.task_definitions] == ["only"]


def test_pause_through_the_api_survives_edits_and_restarts_until_spec_paused_changes(
    kube: Kube,
    sqlite_engine: Engine,
    start_operator: StartOperator,
    client: TestClient,
    clock: FakeClock,
) -> None:
    first = start_operator()
    kube.create("nightly", spec(docker_task("extract"), schedule=DAILY_22H))
    wait_for(lambda: kube.ready("nightly"), what="a Ready condition")
    name = f"{kube.namespace}.nightly"
    assert client.post(f"{BASE}/{name}/pause").status_code == 204

    kube.patch_spec("nightly", spec(docker_task("extract"), docker_task("load")))

    def edited() -> ProcessDefinition | None:
        found = stored(sqlite_engine, name)
        return found if found and len(found.task_definitions) == 2 else None

    assert wait_for(edited, what="the edit in the store").paused

    first.stop()
    restarted_at = clock.advance(60)
    start_operator()
    wait_for(lambda: updated_at(sqlite_engine, name) == restarted_at, what="the resume upsert")
    assert getattr(stored(sqlite_engine, name), "paused", None) is True

    kube.patch_spec("nightly", {"paused": True})
    # Two edits kopf takes in one batch are one change, and spec.paused would not have changed;
    # let the operator handle the first before the second.
    wait_for(lambda: kube.ready("nightly"), what="the paused spec handled")
    kube.patch_spec("nightly", {"paused": False})
    wait_for(
        lambda: getattr(stored(sqlite_engine, name), "paused", None) is False,
        what="spec.paused to apply",
    )


def updated_at(engine: Engine, name: str) -> datetime:
    with transaction(engine) as session:
        return as_utc(get_definition_row(session=session, name=name).updated_at)
