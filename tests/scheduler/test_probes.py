"""The health listener of the scheduler and the operator (`gnomon.probes`) over real HTTP, and
what the scheduler's and the operator's checks report."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy.engine import Engine

from gnomon.errors import ListenError
from gnomon.operator.health import OperatorHealth
from gnomon.probes import ProbeListener, Report
from gnomon.scheduler import SchedulerHealth
from gnomon.storage import StoreProbe, make_engine
from tests.clock import FakeClock
from tests.scheduler.harness import Harness
from tests.waiting import wait_until


@contextmanager
def listening(live: Report, ready: Report | None = None) -> Iterator[str]:
    registry = CollectorRegistry()
    Counter("gnomon_probe_test_total", "A counter of this test", registry=registry).inc()
    listener = ProbeListener("127.0.0.1", 0, "GNOMON_METRICS_PORT", registry)
    listener.start(live=lambda: live, ready=lambda: ready or live)
    try:
        yield listener.url + "/_internal_"
    finally:
        listener.close()


def test_paths_answer_json_health_and_prometheus_text() -> None:
    ok = {"status": "ok", "scheduler": "ok"}
    bad = {"status": "unavailable", "store": "unreachable: no"}
    with listening(ok, bad) as base:
        live = httpx.get(f"{base}/livez")
        assert (live.status_code, live.json()) == (200, ok)
        for path in ("readyz", "healthcheck"):
            ready = httpx.get(f"{base}/{path}")
            assert (ready.status_code, ready.json()) == (503, bad)
            assert ready.headers["content-type"] == "application/json"
        metrics = httpx.get(f"{base}/metrics")
        assert metrics.status_code == 200
        assert "gnomon_probe_test_total 1.0" in metrics.text
        assert httpx.get(f"{base}/nothing").status_code == 404
        assert httpx.post(f"{base}/livez").status_code == 405


def test_a_check_that_raises_is_a_503_not_a_dead_listener() -> None:
    def broken() -> Report:
        raise RuntimeError("boom")

    listener = ProbeListener("127.0.0.1", 0, "GNOMON_METRICS_PORT", CollectorRegistry())
    listener.start(live=broken, ready=broken)
    try:
        for _ in range(2):
            answer = httpx.get(f"{listener.url}/_internal_/livez")
            assert answer.status_code == 503
            assert answer.json() == {"status": "unavailable", "check": "RuntimeError: boom"}
    finally:
        listener.close()


def test_a_taken_port_is_a_listen_error_naming_the_setting() -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        with pytest.raises(ListenError) as caught:
            ProbeListener("127.0.0.1", port, "GNOMON_METRICS_PORT", CollectorRegistry())
    assert str(caught.value) == (
        f"cannot listen on 127.0.0.1:{port} (GNOMON_METRICS_PORT): Address already in use"
    )


def test_a_standby_scheduler_is_ready_and_says_so(engine: Engine, clock: FakeClock) -> None:
    holder = Harness(engine, clock, holder="holder")
    holder.tick()
    standby = Harness(engine, clock, holder="standby")
    standby.tick()
    alive = threading.Thread(target=threading.Event().wait, args=(5,), daemon=True)
    alive.start()
    reports = {
        name: SchedulerHealth(harness.service, alive, StoreProbe(engine)).ready()
        for name, harness in (("holder", holder), ("standby", standby))
    }
    assert reports["holder"] == {
        "status": "ok",
        "scheduler": "ok",
        "lease": "held",
        "store": "ok",
        "executor": "ok",
    }
    assert reports["standby"] == {**reports["holder"], "lease": "standby"}


def test_a_scheduler_is_not_live_once_its_loop_has_ended(engine: Engine, clock: FakeClock) -> None:
    harness = Harness(engine, clock)
    ended = threading.Thread(target=lambda: None)
    ended.start()
    ended.join()
    report = SchedulerHealth(harness.service, ended, StoreProbe(engine)).live()
    assert report == {"status": "unavailable", "scheduler": "the scheduler loop has stopped"}


def test_a_scheduler_with_an_unreachable_store_is_live_but_not_ready(
    engine: Engine, clock: FakeClock
) -> None:
    harness = Harness(engine, clock)
    alive = threading.Thread(target=threading.Event().wait, args=(5,), daemon=True)
    alive.start()
    silent = make_engine("postgresql+psycopg://gnomon@127.0.0.1:1/gnomon")
    health = SchedulerHealth(harness.service, alive, StoreProbe(silent))
    assert health.live()["status"] == "ok"
    ready = health.ready()
    assert ready["status"] == "unavailable"
    assert ready["store"].startswith("unreachable: ")


def test_the_operator_is_ready_once_kopf_started_and_not_live_when_its_loop_hangs(
    engine: Engine,
) -> None:
    health = OperatorHealth(StoreProbe(engine), loop_deadline=0.2)
    release = threading.Event()

    async def operator() -> None:
        await asyncio.sleep(0)  # running: the loop answers
        health.started.set()
        await asyncio.to_thread(release.wait)  # kopf at work: the loop stays free
        release.clear()
        release.wait(timeout=10)  # a blocking call on the loop: it can answer nothing

    assert health.ready() == {"status": "unavailable", "operator": "starting", "store": "ok"}
    thread = threading.Thread(target=asyncio.run, args=(health.run(operator()),))
    thread.start()
    try:
        assert health.started.wait(timeout=10)
        assert health.ready() == {"status": "ok", "operator": "ok", "store": "ok"}
        release.set()
        hung = wait_until(  # until the coroutine reaches its blocking call
            health.live,
            lambda report: report["status"] != "ok",
            what="the liveness check to notice the blocked loop",
            timeout=10,
        )
        assert hung == {
            "status": "unavailable",
            "operator": "the operator's event loop did not answer within 0.2 s",
        }
    finally:
        release.set()
        thread.join(timeout=10)
    assert health.live() == {"status": "unavailable", "operator": "the operator has stopped"}
