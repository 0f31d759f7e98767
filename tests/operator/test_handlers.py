"""The change handler called as kopf calls it, for a resource no CRD schema stopped: a cluster may
still serve an older CRD, so the operator applies the domain's rules itself."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any, cast

import kopf
import pytest
from kopf._core.engines.posting import (
    K8sEvent,
    event_queue_loop_var,
    event_queue_var,
    settings_var,
)
from sqlalchemy.engine import Engine

from gnomon.operator.handlers import processdefinition_change
from gnomon.operator.reconcile import OperatorContext, read_stored_state
from tests.clock import FakeClock
from tests.samples import docker_task


@pytest.fixture
def events() -> Iterator[asyncio.Queue[K8sEvent]]:
    """The events the handler posts, queued as kopf's running operator would queue them."""
    queue: asyncio.Queue[K8sEvent] = asyncio.Queue()
    settings_token = settings_var.set(kopf.OperatorSettings())
    queue_token = event_queue_var.set(queue)
    # No event loop runs here; kopf then queues events straight away, as on its own loop.
    loop_token = event_queue_loop_var.set(None)  # type: ignore[arg-type]
    yield queue
    event_queue_loop_var.reset(loop_token)
    event_queue_var.reset(queue_token)
    settings_var.reset(settings_token)


def change(context: OperatorContext, spec: dict[str, Any]) -> tuple[kopf.Patch, Exception | None]:
    """Run the handler for a new resource `ns/pd` with `spec`: its status patch and its error."""
    raw = {
        "apiVersion": "gnomon.dev/v1alpha1",
        "kind": "ProcessDefinition",
        "metadata": {"name": "pd", "namespace": "ns", "generation": 1},
        "spec": spec,
    }
    body, patch = kopf.Body(cast(kopf.RawBody, raw)), kopf.Patch()
    try:
        processdefinition_change(
            spec=body.spec,
            meta=body.meta,
            status=body.status,
            namespace="ns",
            name="pd",
            body=body,
            patch=patch,
            reason="create",
            diff=kopf.Diff([]),
            memo=context,
        )
    except kopf.PermanentError as exc:
        return patch, exc
    return patch, None


def test_no_attempts_past_an_older_schema_is_not_ready_and_not_stored(
    sqlite_engine: Engine, clock: FakeClock, events: asyncio.Queue[K8sEvent]
) -> None:
    context = OperatorContext(engine=sqlite_engine, clock=clock)

    patch, error = change(context, {"task_definitions": [docker_task("a", max_attempts=0)]})

    assert isinstance(error, kopf.PermanentError)
    [ready] = patch.status["conditions"]
    assert (ready["type"], ready["status"], ready["reason"]) == ("Ready", "False", "InvalidSpec")
    assert ready["message"].startswith("spec.task_definitions[0].max_attempts: ")
    assert "greater than or equal to 1" in ready["message"]
    assert read_stored_state(context, namespace="ns", name="pd") is None
    event = events.get_nowait()
    assert (event.type, event.reason, event.message) == ("Warning", "InvalidSpec", ready["message"])


def test_one_attempt_is_ready_and_stored(
    sqlite_engine: Engine, clock: FakeClock, events: asyncio.Queue[K8sEvent]
) -> None:
    context = OperatorContext(engine=sqlite_engine, clock=clock)

    patch, error = change(context, {"task_definitions": [docker_task("a", max_attempts=1)]})

    assert error is None
    [ready] = patch.status["conditions"]
    assert (ready["status"], ready["reason"]) == ("True", "Stored")
    assert read_stored_state(context, namespace="ns", name="pd") is not None
    assert events.empty()
