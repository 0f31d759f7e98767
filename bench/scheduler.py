"""Scheduler benchmark: 10,000 definitions, 1,000 of them due every minute, on SQLite and
PostgreSQL, with the fake executor (jobs succeed as soon as they start).

Prints, for each store: schedule skew (when the executor was asked to start a scheduled run minus
its due time; median and p99), trigger-to-start latency (a trigger committed and announced as
the API does, until the executor is asked to start the run), CPU time per wake-up of the
scheduler thread, and the process's resident memory. Targets on a 2-core machine: skew p99 under
250 ms, trigger-to-start median under 20 ms, memory under 250 MB.

    python bench/scheduler.py [--definitions 10000] [--due 1000] [--minutes 2] [--store both]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col

from gnomon.domain.clock import SystemClock
from gnomon.domain.times import as_utc
from gnomon.runner.base import Attempt
from gnomon.runner.fake import FakeRunner
from gnomon.scheduler.service import SchedulerConfig, SchedulerService
from gnomon.scheduler.sink import StoreSink
from gnomon.storage import run_requests
from gnomon.storage.engine import make_engine, transaction
from gnomon.storage.migrate import upgrade
from gnomon.storage.tables import ProcessDefinitionRow, ProcessRow, TaskTemplateRow

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TASK = {
    "task_definition_name": "t",
    "dependencies": [],
    "executable": {"docker_image_command": {"image": "busybox", "command": ["true"]}},
    "max_attempts": 1,
    "backoff_base_seconds": 0,
    "backoff_exponent": 1.0,
    "require_explicit_success": False,
}


def cron(minutes: str, hours: str) -> dict[str, Any]:
    fields = {"minutes": minutes, "hours": hours, "day_of_month": "*", "month": "*"}
    return {"cron_schedule": {**fields, "day_of_week": "?", "time_zone": "UTC"}}


class TimedRunner(FakeRunner):
    """The fake executor, noting when it was asked to start each run's first task."""

    def __init__(self) -> None:
        super().__init__(auto_succeed=True)
        self.start_times: dict[str, float] = {}
        self.started_event: dict[str, threading.Event] = {}

    def start(self, attempt: Attempt) -> None:
        self.start_times.setdefault(attempt.process_id, time.time())
        super().start(attempt)


@dataclass
class Results:
    skews: list[float] = field(default_factory=list)
    triggers: list[float] = field(default_factory=list)
    wake_cpu: list[float] = field(default_factory=list)
    wake_cpu_due: list[float] = field(default_factory=list)


SEED_CHUNK = 5_000
"""Definitions inserted per statement: the rows of 100,000 at once would add their own hundreds
of megabytes to the resident memory this benchmark reports."""


def seed(engine: Engine, definitions: int, due: int) -> None:
    now = datetime.now(UTC)
    with engine.begin() as connection:
        for first in range(0, definitions, SEED_CHUNK):
            indexes = range(first, min(definitions, first + SEED_CHUNK))
            rows = [_definition_row(index, due, now) for index in indexes]
            templates = [_template_row(row["name"]) for row in rows]
            connection.execute(sa.insert(ProcessDefinitionRow), rows)
            connection.execute(sa.insert(TaskTemplateRow), templates)


def _definition_row(index: int, due: int, now: datetime) -> dict[str, Any]:
    if index < due:
        schedule, paused = cron("*", "*"), False
    elif index % 2:
        schedule, paused = cron("*", "*"), True
    else:
        schedule, paused = cron("0", "3"), False
    return {
        "name": f"bench-{index:05d}",
        "schedule": schedule,
        "overlap_action": "wait",
        "notifications": [],
        "paused": paused,
        "created_at": now,
        "updated_at": now,
        "revision": 1,
    }


def _template_row(name: str) -> dict[str, Any]:
    return {
        "process_definition_name": name,
        "task_definition_name": "t",
        "position": 0,
        "body": TASK,
    }


def instrument(service: SchedulerService, results: Results) -> None:
    """Measure the CPU time of each wake-up of the scheduler thread."""
    tick = service.tick

    def timed(topics: set[str] | None = None) -> datetime:
        before_cpu, before_rows = time.thread_time(), len(service.runner.started)  # type: ignore[attr-defined]
        wake_at = tick(topics)
        spent = time.thread_time() - before_cpu
        started = len(service.runner.started) - before_rows  # type: ignore[attr-defined]
        (results.wake_cpu_due if started >= 100 else results.wake_cpu).append(spent)
        return wake_at

    service.tick = timed  # type: ignore[method-assign]


def measure_triggers(
    engine: Engine, service: SchedulerService, runner: TimedRunner, count: int, results: Results
) -> None:
    names = [f"bench-{i:05d}" for i in range(9000, 9000 + count)]
    for name in names:
        known = set(runner.start_times)
        begun = time.time()
        with transaction(engine) as session:
            run_requests.add_trigger(
                session=session, name=name, task_filter=None, now=datetime.now(UTC)
            )
        service.wakeup.notify("triggers")
        deadline = begun + 5
        while time.time() < deadline:
            new = set(runner.start_times) - known
            if new:
                results.triggers.append(runner.start_times[new.pop()] - begun)
                break
            time.sleep(0.0005)
        time.sleep(0.02)


def wait_for_boundary(margin: float) -> None:
    """Sleep until `margin` seconds after the next minute boundary is still ahead."""
    now = time.time()
    time.sleep(max(0.0, 60 - now % 60 - margin))


def skews(engine: Engine, runner: TimedRunner) -> list[float]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(col(ProcessRow.process_id), col(ProcessRow.scheduled_for)).where(
                col(ProcessRow.scheduled_for).is_not(None)
            )
        ).all()
    result = []
    for process_id, scheduled_for in rows:
        if scheduled_for is None:
            continue
        due = as_utc(scheduled_for)
        started = runner.start_times.get(process_id)
        if started is not None:
            result.append(started - due.timestamp())
    return result


def run_store(url: str, label: str, args: argparse.Namespace) -> dict[str, Any]:
    engine = make_engine(url)
    upgrade(engine)
    seed(engine, args.definitions, args.due)
    runner = TimedRunner()
    results = Results()

    def factory(sink: StoreSink) -> TimedRunner:
        runner.bind(sink)
        return runner

    service = SchedulerService(
        engine,
        factory,
        SystemClock(),
        config=SchedulerConfig(lease_seconds=30, max_sleep_seconds=5),
        backend="fake",
    )
    instrument(service, results)
    thread = threading.Thread(target=service.run, daemon=True)
    load_started = time.perf_counter()
    thread.start()
    while service.lease is None or service.definitions.next_due() is None:
        time.sleep(0.05)
    load_seconds = time.perf_counter() - load_started
    for _ in range(args.minutes):
        wait_for_boundary(margin=25)
        measure_triggers(engine, service, runner, args.triggers, results)
        wait_for_boundary(margin=-3)  # three seconds past the boundary, the burst is done
    service.stop()
    thread.join(timeout=30)
    results.skews = skews(engine, runner)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    engine.dispose()
    return summarize(label, results, load_seconds, rss_mb)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def summarize(label: str, results: Results, load_seconds: float, rss_mb: float) -> dict[str, Any]:
    ms = 1000.0
    return {
        "store": label,
        "scheduled runs": len(results.skews),
        "skew median ms": round(statistics.median(results.skews) * ms, 1),
        "skew p99 ms": round(pct(results.skews, 0.99) * ms, 1),
        "skew max ms": round(max(results.skews) * ms, 1),
        "trigger-to-start median ms": round(statistics.median(results.triggers) * ms, 2),
        "trigger-to-start p99 ms": round(pct(results.triggers, 0.99) * ms, 2),
        "wakes": len(results.wake_cpu) + len(results.wake_cpu_due),
        "cpu per idle/trigger wake median ms": round(statistics.median(results.wake_cpu) * ms, 2),
        "cpu per due-minute wake median ms": round(statistics.median(results.wake_cpu_due) * ms, 1),
        "startup load s": round(load_seconds, 2),
        "max rss MB": round(rss_mb, 1),
    }


def postgres_database(admin_url: str) -> tuple[str, Engine, str]:
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"gnomon_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    return url, admin, name


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--definitions", type=int, default=10_000)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--minutes", type=int, default=2)
    parser.add_argument("--triggers", type=int, default=100)
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    args = parser.parse_args()
    random.seed(1)
    cpus = len(os.sched_getaffinity(0))
    print(f"python {platform.python_version()}, {platform.machine()}, cpus={cpus}")
    print(
        f"{args.definitions} definitions, {args.due} due every minute, "
        f"{args.minutes} minute(s), {args.triggers} triggers per minute"
    )
    reports = []
    if args.store in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as folder:
            reports.append(run_store(f"sqlite:///{Path(folder) / 'bench.db'}", "sqlite", args))
    if args.store in ("postgres", "both"):
        url, admin, name = postgres_database(args.postgres_url)
        try:
            reports.append(run_store(url, "postgres", args))
        finally:
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    for report in reports:
        print(json.dumps(report))
    print("targets: skew p99 < 250 ms, trigger-to-start median < 20 ms, rss < 250 MB")


if __name__ == "__main__":
    main()
