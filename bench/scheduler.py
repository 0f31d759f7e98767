"""Scheduler benchmark: definitions of which a tenth are due every minute, on SQLite and
PostgreSQL, with the fake executor (jobs succeed as soon as they start).

Prints, for each store and size: schedule skew (when the executor was asked to start a scheduled
run minus its due time; median and p99), trigger-to-start latency (a trigger committed and
announced as the API does, until the executor is asked to start the run), CPU time per wake-up of
the scheduler thread, start-up (from starting the scheduler to the end of its first wake-up:
lease taken, every definition loaded, the next minute prepared) and the scheduler process's peak
resident memory. Each size runs in a process of its own, on a store seeded beforehand by another,
so neither the seeding nor an earlier size counts in its memory.

    python bench/scheduler.py [--definitions 10000[,50000,100000]] [--due N] [--minutes 2]
                              [--triggers 100] [--store both] [--postgres-url URL]

Targets on a 2-core machine: at 100,000 definitions (10,000 due in one minute) skew p99 under
500 ms, start-up under 5 s, memory under 400 MB; at 10,000, skew p99 under 100 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col

if __package__ in (None, ""):  # run as `python bench/scheduler.py`: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.arguments import sweep, whole  # noqa: E402
from gnomon.domain.clock import SystemClock  # noqa: E402
from gnomon.domain.times import as_utc  # noqa: E402
from gnomon.runner.base import Attempt  # noqa: E402
from gnomon.runner.fake import FakeRunner  # noqa: E402
from gnomon.scheduler.service import SchedulerConfig, SchedulerService  # noqa: E402
from gnomon.scheduler.sink import StoreSink  # noqa: E402
from gnomon.storage import run_requests  # noqa: E402
from gnomon.storage.engine import make_engine, transaction  # noqa: E402
from gnomon.storage.migrate import upgrade  # noqa: E402
from gnomon.storage.tables import ProcessDefinitionRow, ProcessRow, TaskTemplateRow  # noqa: E402

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
MAX_DEFINITIONS = 1_000_000
"""Ten times the largest size the targets name; a size is seeded before it is measured."""
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
    definitions: int = 0
    due: int = 0


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
    else:  # daily, half a day from now: never due while the benchmark runs
        schedule, paused = cron("0", str((now.hour + 12) % 24)), False
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
    last = results.definitions  # idle (or paused) definitions, never due on their own
    names = [f"bench-{i:05d}" for i in range(max(results.due, last - count), last)]
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


def skews(engine: Engine, runner: TimedRunner, up_at: float) -> list[float]:
    """Start minus due time of each scheduled run due once the scheduler was up (`up_at`); a
    run due while it was still starting is a catch-up, which start-up time already counts."""
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
        if started is not None and due.timestamp() >= up_at:
            result.append(started - due.timestamp())
    return result


def measure(url: str, label: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run a scheduler on the seeded store at `url` for `args.minutes` due minutes."""
    engine = make_engine(url)
    runner = TimedRunner()
    results = Results(definitions=args.definitions, due=args.due)

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
    while not (results.wake_cpu or results.wake_cpu_due):  # the first wake-up is done
        time.sleep(0.01)
    load_seconds = time.perf_counter() - load_started
    up_at = time.time()
    for _ in range(args.minutes):
        wait_for_boundary(margin=25)
        measure_triggers(engine, service, runner, args.triggers, results)
        wait_for_boundary(margin=-3)  # three seconds past the boundary, the burst is done
    service.stop()
    thread.join(timeout=30)
    results.skews = skews(engine, runner, up_at)
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
        "definitions": results.definitions,
        "due per minute": results.due,
        "scheduled runs": len(results.skews),
        "skew median ms": round(median(results.skews) * ms, 1),
        "skew p99 ms": round(pct(results.skews, 0.99) * ms, 1),
        "skew max ms": round(max(results.skews, default=float("nan")) * ms, 1),
        "trigger-to-start median ms": round(median(results.triggers) * ms, 2),
        "trigger-to-start p99 ms": round(pct(results.triggers, 0.99) * ms, 2),
        "wakes": len(results.wake_cpu) + len(results.wake_cpu_due),
        "cpu per idle/trigger wake median ms": round(median(results.wake_cpu) * ms, 2),
        "cpu per due-minute wake median ms": round(median(results.wake_cpu_due) * ms, 1),
        "due-minute cpu per run us": round(cpu_per_due_run(results) * 1e6, 1),
        "startup load s": round(load_seconds, 2),
        "max rss MB": round(rss_mb, 1),
    }


@contextmanager
def seeded_store(store: str, args: argparse.Namespace, definitions: int, due: int) -> Iterator[str]:
    """A new store of `store`'s kind, migrated and seeded; removed afterwards."""
    if store == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            fill(url, definitions, due)
            yield url
        return
    url, admin, name = postgres_database(args.postgres_url)
    try:
        fill(url, definitions, due)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def fill(url: str, definitions: int, due: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    seed(engine, definitions, due)
    engine.dispose()


def measure_in_child(url: str, store: str, args: argparse.Namespace, size: int, due: int) -> Any:
    """`measure` in a process of its own, so its memory is the scheduler's alone."""
    command = [sys.executable, __file__, "--measure", url, "--label", store]
    command += ["--definitions", str(size), "--due", str(due)]
    command += ["--minutes", str(args.minutes), "--triggers", str(args.triggers)]
    output = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def postgres_database(admin_url: str) -> tuple[str, Engine, str]:
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"gnomon_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    return url, admin, name


def due_per_minute(args: argparse.Namespace, size: int) -> int:
    """`--due`, or a tenth of the definitions."""
    return int(args.due or max(1, size // 10))


def cpu_per_due_run(results: Results) -> float:
    """The due minutes' wake-ups' CPU over their runs; NaN without a wake-up of 100 runs."""
    if not results.wake_cpu_due or not results.skews:
        return float("nan")
    return sum(results.wake_cpu_due) / len(results.skews)


def median(values: list[float]) -> float:
    """The median, or NaN for no values: a figure the run could not give (no due-minute wake-up
    at a small size, no trigger with `--triggers 0`)."""
    return statistics.median(values) if values else float("nan")


def table(reports: list[dict[str, Any]]) -> list[str]:
    """The sweep as a Markdown table, one row per store and size."""
    lines = [
        "| store | definitions (due/min) | skew median / p99 | trigger→start median "
        "| due-minute CPU per run | start-up | peak RSS |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in reports:
        lines.append(
            f"| {r['store']} | {r['definitions']:,} ({r['due per minute']:,}) "
            f"| {r['skew median ms']} / {r['skew p99 ms']} ms "
            f"| {r['trigger-to-start median ms']} ms "
            f"| {r['due-minute cpu per run us']} µs "
            f"| {r['startup load s']} s | {r['max rss MB']} MB |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--definitions", type=sweep(1, MAX_DEFINITIONS), default=[10_000])
    parser.add_argument(
        "--due", type=whole(1, MAX_DEFINITIONS), help="due every minute (default: a tenth)"
    )
    parser.add_argument("--minutes", type=whole(1, 60), default=2)
    parser.add_argument("--triggers", type=whole(0, 10_000), default=100)
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    parser.add_argument("--measure", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--label", help=argparse.SUPPRESS)
    args = parser.parse_args()
    for size in args.definitions:
        idle = size - due_per_minute(args, size)
        if idle < 0 or args.triggers > idle:
            parser.error(
                f"--definitions {size:,} has {max(0, idle):,} idle definitions for "
                f"--triggers {args.triggers:,} (and --due {due_per_minute(args, size):,})"
            )
    random.seed(1)
    if args.measure:  # the child: one store, one size, already seeded
        args.definitions = args.definitions[0]
        print(json.dumps(measure(args.measure, args.label, args)))
        return
    cpus = len(os.sched_getaffinity(0))
    print(f"python {platform.python_version()}, {platform.machine()}, cpus={cpus}")
    print(f"{args.minutes} minute(s), {args.triggers} triggers per minute, fake executor")
    stores = ["sqlite", "postgres"] if args.store == "both" else [args.store]
    reports = []
    for store in stores:
        for size in args.definitions:
            due = due_per_minute(args, size)
            with seeded_store(store, args, size, due) as url:
                report = measure_in_child(url, store, args, size, due)
            print(json.dumps(report), flush=True)
            reports.append(report)
    print("\n".join(table(reports)))
    print(
        "targets: at 100,000 definitions skew p99 < 500 ms, start-up < 5 s, rss < 400 MB; "
        "at 10,000 skew p99 < 100 ms"
    )


if __name__ == "__main__":
    main()
