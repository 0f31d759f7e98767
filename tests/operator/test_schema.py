"""What the API server itself refuses, through the CRD's schema, before the operator sees it."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from gnomon.domain import limits
from tests.operator.kube import Kube
from tests.operator.test_reconcile import spec
from tests.samples import DAILY_22H, docker_task

pytestmark = pytest.mark.kubernetes


@pytest.mark.parametrize(
    ("bad_spec", "field"),
    [
        (spec(docker_task("a", max_attempts=-1)), "spec.task_definitions.max_attempts"),
        (spec(docker_task("a", max_attempts=0)), "spec.task_definitions.max_attempts"),
        (
            spec(schedule={**DAILY_22H, "continuous_schedule": {"buffer_seconds": 5}}),
            "spec.schedule",
        ),
        ({"paused": True}, "spec.task_definitions"),
        (
            spec(schedule={"continuous_schedule": {"buffer_seconds": 10**12}}),
            "spec.schedule.continuous_schedule.buffer_seconds",
        ),
        (spec(docker_task("a", max_attempts=101)), "spec.task_definitions.max_attempts"),
        (spec(docker_task("a", backoff_exponent=1e308)), "spec.task_definitions.backoff_exponent"),
        (
            spec(docker_task("a", max_runtime_seconds=limits.MAX_SECONDS + 1)),
            "spec.task_definitions.max_runtime_seconds",
        ),
        (spec(docker_task("a", max_attempts=True)), "spec.task_definitions.max_attempts"),
        (
            spec(notifications=[{"webhook": {"url": "file:///etc/passwd"}}]),
            "spec.notifications.webhook.url",
        ),
        (spec(notifications=[{"webhook": None}]), "spec.notifications"),
        (spec(*[docker_task(f"t{i}") for i in range(1001)]), "spec.task_definitions"),
    ],
    ids=[
        "negative-max-attempts",
        "no-attempts",
        "two-schedules",
        "no-tasks",
        "buffer-over-a-year",
        "max-attempts-over-100",
        "huge-exponent",
        "runtime-over-a-year",
        "boolean-max-attempts",
        "file-webhook",
        "null-webhook",
        "too-many-tasks",
    ],
)
def test_server_rejects_a_manifest_outside_the_schema(
    kube: Kube, bad_spec: dict[str, Any], field: str
) -> None:
    with pytest.raises(client.ApiException) as caught:
        kube.create("bad", bad_spec)

    assert caught.value.status == 422
    assert field in str(caught.value.body)
    assert kube.get("bad") is None
