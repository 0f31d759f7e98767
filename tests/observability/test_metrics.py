"""Metrics operators alert on: scheduler counters and histograms, and bounded label values."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine

from gnomon.api.app import create_app
from gnomon.runner.base import ExecutorStatus
from gnomon.runner.fake import FakeRunner
from gnomon.scheduler.metrics import SchedulerMetrics
from gnomon.scheduler.service import SchedulerService
from gnomon.scheduler.sink import StoreSink
from gnomon.settings import Settings
from tests.clock import FakeClock
from tests.samples import EVERY_MINUTE, definition, docker_task

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-")

# Every label value that may ever appear; anything else is unbounded (ids, names, raw paths).
ALLOWED = {
    "method": {"GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS"},
    "status": {"1xx", "2xx", "3xx", "4xx", "5xx"},
    "origin": {"schedule", "trigger"},
    "outcome": {"succeeded", "failed", "killed", "running", "delivered", "retrying"},
    "executor": {"docker", "kubernetes", "fake", "shell", "unknown"},
    "channel": {"email", "pagerduty", "webhook"},
}


def run_everything(engine: Engine, clock: FakeClock, registry: CollectorRegistry) -> TestClient:
    """Drive the API and the scheduler with many distinct names and ids."""
    runner = FakeRunner()

    def factory(sink: StoreSink) -> FakeRunner:
        runner.bind(sink)
        return runner

    metrics = SchedulerMetrics(registry, lambda kind: "fake")
    service = SchedulerService(engine, factory, clock, observer=metrics, metrics=metrics)
    client = TestClient(create_app(Settings(), engine, clock=clock, registry=registry))
    for index in range(5):
        name = f"def-{uuid.uuid4()}"
        body = definition(name, docker_task("t"), schedule=EVERY_MINUTE)
        client.put(f"/api/process_definitions/{name}", json=body)
        client.post(f"/api/process_definitions/{name}/trigger")
        client.get(f"/api/process_definitions/{name}")
        client.get(f"/api/processes/{uuid.uuid4()}")
        client.get(f"/no/such/path/{index}")
    service.tick({"definitions"})
    for index, job in enumerate(list(runner.running.values())):
        status = ExecutorStatus.SUCCEEDED if index % 2 else ExecutorStatus.FAILED
        runner.finish(job.task_id, status, None if index % 2 else "exit code 1")
    service.tick()
    clock.advance(120)
    service.tick()
    return client


def test_scheduler_metrics_count_what_happened(sqlite_engine: Engine) -> None:
    registry = CollectorRegistry()
    clock = FakeClock(datetime(2026, 3, 2, 12, 0, 30, tzinfo=UTC))
    run_everything(sqlite_engine, clock, registry)
    value = registry.get_sample_value
    assert value("gnomon_process_starts_total", {"origin": "trigger"}) == 5
    assert value("gnomon_process_starts_total", {"origin": "schedule"}) == 5
    assert value("gnomon_schedule_skew_seconds_count") == 5
    # Each due at 12:02:00 (the latest missed fire time) and started at 12:02:30.
    assert value("gnomon_schedule_skew_seconds_sum") == 5 * 30.0
    assert value("gnomon_process_finishes_total", {"outcome": "succeeded"}) == 2
    assert value("gnomon_process_finishes_total", {"outcome": "failed"}) == 3
    assert value("gnomon_task_starts_total", {"executor": "fake"}) == 10
    assert value("gnomon_task_finishes_total", {"executor": "fake", "outcome": "failed"}) == 3
    assert value("gnomon_running_processes") == 5
    assert value("gnomon_running_tasks") == 5
    assert (value("gnomon_scheduler_wake_duration_seconds_count") or 0) >= 3
    assert value("gnomon_scheduler_lease_held") == 1


def test_a_standby_says_it_does_not_hold_the_lease(sqlite_engine: Engine) -> None:
    clock = FakeClock(datetime(2026, 3, 2, 12, 0, 30, tzinfo=UTC))
    registries = CollectorRegistry(), CollectorRegistry()
    for registry in registries:
        metrics = SchedulerMetrics(registry, lambda kind: "fake")
        runner = FakeRunner()

        def factory(sink: StoreSink, runner: FakeRunner = runner) -> FakeRunner:
            runner.bind(sink)
            return runner

        SchedulerService(sqlite_engine, factory, clock, metrics=metrics).tick()
    held = [r.get_sample_value("gnomon_scheduler_lease_held") for r in registries]
    assert held == [1.0, 0.0]


def test_no_label_value_is_unbounded(sqlite_engine: Engine) -> None:
    registry = CollectorRegistry()
    clock = FakeClock(datetime(2026, 3, 2, 12, 0, 30, tzinfo=UTC))
    run_everything(sqlite_engine, clock, registry)
    seen: dict[str, set[str]] = {}
    for family in registry.collect():
        for sample in family.samples:
            for label, value in sample.labels.items():
                seen.setdefault(label, set()).add(value)
    paths = seen.pop("path", set())
    assert paths and all(p == "<unmatched>" or "{" in p or p.count("/") <= 3 for p in paths), paths
    assert not any(UUID.search(p) or "def-" in p for p in paths)
    seen.pop("le", None)  # histogram bucket bounds: fixed by the code
    unknown = {label: values - ALLOWED.get(label, set()) for label, values in seen.items()}
    assert {label: values for label, values in unknown.items() if values} == {}
