"""API benchmark: the two requests that grow with the store, on a store the size of a busy year.

`GET /api/processes/?max_records=100` is what the web UI and `gnomon get` ask first, and
`POST /api/tasks/ID/log_entries` is what every running job sends while it works; both must stay
fast however many runs are stored (issue 2). With `--processes` runs of `--tasks` attempts each
seeded (see `_seed.py`), the app is served by uvicorn in its own process, as in production, and
one keep-alive client sends the requests one after another. `--processes` takes a list
(`10000,100000`): each size is seeded afresh and measured in turn, so one run shows how the
requests grow with the store.

Prints the environment (with the load average: the machine may be shared), the seeding time and
row counts, then per store, size and request the median, p90 and p99 latency and the API
process's CPU time per request, all measured in this one run.

    python bench/api.py [--processes 100000[,...]] [--tasks 3] [--requests 200] [--store both]
                        [--postgres-url URL]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import httpx
import sqlalchemy as sa
import uvicorn
from sqlalchemy.engine import Engine
from sqlmodel import col

if __package__ in (None, ""):  # run as `python bench/api.py`: make the `bench` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._seed import SeedReport, seed, task_token  # noqa: E402
from bench.arguments import sweep, whole  # noqa: E402
from gnomon.api.app import create_app  # noqa: E402
from gnomon.domain import limits  # noqa: E402
from gnomon.server import freeze_startup_heap  # noqa: E402
from gnomon.settings import Settings  # noqa: E402
from gnomon.storage.engine import make_engine  # noqa: E402
from gnomon.storage.migrate import upgrade  # noqa: E402
from gnomon.storage.tables import TaskRow  # noqa: E402

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
MAX_PROCESSES = 10_000_000
"""A hundred times the size the targets name; each is seeded before it is measured."""
TASKS = whole(1, limits.MAX_ATTEMPTS)
"""Tasks of a seeded run, each with as many attempts: at most a task's bound on attempts."""
REQUESTS = whole(1, 100_000)
LISTING = "GET /api/processes/?max_records=100"
LOGGING = "POST /api/tasks/ID/log_entries (50)"
LOG_BATCH = 50
WARMUP = 20
TASK_SAMPLE = 2_000
STARTUP_SECONDS = 60.0
PACKAGES = ("fastapi", "uvicorn", "pydantic", "sqlalchemy", "psycopg", "httpx")


@dataclass(frozen=True)
class Timing:
    store: str
    endpoint: str
    seconds: list[float]
    server_cpu: float | None
    """CPU seconds the API process spent per request (not counting PostgreSQL's own); it
    varies far less than latency on a busy machine. None where /proc is not available."""


@dataclass(frozen=True)
class StoreResult:
    store: str
    processes: int
    seeded: SeedReport
    timings: list[Timing]
    listing_bytes: int


def main() -> None:
    args = parse_args()
    if args.serve_url:
        serve(args.serve_url, args.serve_port)
        return
    print(environment(args))
    sizes = ", ".join(f"{n:,}" for n in args.processes)
    print(f"{sizes} processes x {args.tasks} tasks, {args.requests} timed requests each")
    results = []
    for processes in args.processes:
        if args.store in ("sqlite", "both"):
            with tempfile.TemporaryDirectory() as folder:
                url = f"sqlite:///{Path(folder) / 'bench.db'}"
                results.append(run_store("sqlite", url, processes, args))
        if args.store in ("postgres", "both"):
            with postgres_database(args.postgres_url) as url:
                results.append(run_store("postgres", url, processes, args))
    report(results)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--processes",
        type=sweep(1, MAX_PROCESSES),
        default=[100_000],
        help="processes to seed; several, comma-separated, are measured one after another",
    )
    parser.add_argument("--tasks", type=TASKS, default=3)
    parser.add_argument("--requests", type=REQUESTS, default=200)
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    # The server half of the benchmark: this script, run again in a child process.
    parser.add_argument("--serve-url", help=argparse.SUPPRESS)
    parser.add_argument("--serve-port", type=whole(0, 65_535), default=0, help=argparse.SUPPRESS)
    return parser.parse_args()


def environment(args: argparse.Namespace) -> str:
    cpus = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cpus
    load = " ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in PACKAGES)
    lines = [
        f"python {platform.python_version()} on {platform.platform()}",
        f"cpus {cpus} (usable {usable}), load average {load}, sqlite {sqlite3.sqlite_version}",
        versions,
    ]
    if args.store in ("postgres", "both"):
        lines[1] += f", postgresql {postgres_version(args.postgres_url)}"
    return "\n".join(lines)


def postgres_version(url: str) -> str:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return str(connection.execute(sa.text("SHOW server_version")).scalar_one())
    finally:
        engine.dispose()


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A fresh database on the server of `admin_url`, dropped afterwards; yields its URL."""
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"gnomon_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run_store(store: str, url: str, processes: int, args: argparse.Namespace) -> StoreResult:
    engine = make_engine(url)
    upgrade(engine)
    seeded = seed(engine, processes, args.tasks)
    print(
        f"{store} {processes:,}: seeded in {seeded.seconds:.1f} s: {rows_line(seeded.rows)}",
        flush=True,
    )
    task_ids = sample_task_ids(engine)
    engine.dispose()
    with served(url) as (base, pid), httpx.Client(base_url=base, timeout=60) as client:
        timings = [
            timed(store, LISTING, pid, args.requests, lambda: get_listing(client)),
            timed(
                store,
                LOGGING,
                pid,
                args.requests,
                lambda: post_log_entries(client, random.choice(task_ids)),
            ),
        ]
        size = len(client.get("/api/processes/", params={"max_records": 100}).content)
    return StoreResult(store, processes, seeded, timings, size)


def rows_line(rows: dict[str, int]) -> str:
    total = sum(rows.values())
    return f"{total:,} rows (" + ", ".join(f"{t} {n:,}" for t, n in rows.items()) + ")"


def sample_task_ids(engine: Engine) -> list[str]:
    """Random existing attempts, for the log callbacks to land on."""
    with engine.connect() as connection:
        return list(
            connection.execute(
                sa.select(col(TaskRow.task_id)).order_by(sa.func.random()).limit(TASK_SAMPLE)
            ).scalars()
        )


@contextmanager
def served(url: str) -> Iterator[tuple[str, int]]:
    """The app over `url`, served by uvicorn in a child process; yields its URL and pid."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, __file__, "--serve-url", url, "--serve-port", str(port)]
    child = subprocess.Popen(command)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, child)
        yield base, child.pid
    finally:
        child.terminate()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def wait_until_healthy(base: str, child: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise SystemExit(f"the API server exited with status {child.returncode}")
        try:
            if httpx.get(f"{base}/_internal_/healthcheck", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"the API server did not become healthy within {STARTUP_SECONDS:.0f} s")


def serve(url: str, port: int) -> None:
    """The server half: the real app on the real HTTP stack, quiet but for warnings."""
    # The seeded attempts ended hours to weeks ago; their own tokens would be refused after
    # the default grace period (5 minutes), and it is the write that is measured here.
    settings = Settings(database_url=url, task_token_grace_seconds=limits.MAX_SECONDS)
    app = create_app(settings, make_engine(url))
    freeze_startup_heap()  # as `gnomon serve` does
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def timed(
    store: str, endpoint: str, pid: int, count: int, request: Callable[[], Callable[[], None]]
) -> Timing:
    """`count` requests one after another, after a warm-up; `request` prepares one request
    untimed and returns the call to time."""
    for _ in range(WARMUP):
        request()()
    seconds = []
    cpu_before = cpu_seconds(pid)
    for _ in range(count):
        send = request()
        began = time.perf_counter()
        send()
        seconds.append(time.perf_counter() - began)
    cpu_after = cpu_seconds(pid)
    cpu = None if cpu_before is None or cpu_after is None else (cpu_after - cpu_before) / count
    return Timing(store, endpoint, seconds, cpu)


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of process `pid` so far (Linux); None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def get_listing(client: httpx.Client) -> Callable[[], None]:
    def send() -> None:
        response = client.get("/api/processes/", params={"max_records": 100})
        if response.status_code != 200 or len(response.json()) != 100:
            raise SystemExit(f"listing failed: {response.status_code} {response.text[:300]}")

    return send


def post_log_entries(client: httpx.Client, task_id: str) -> Callable[[], None]:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    entries = [
        {
            "log_entry_id": str(uuid.uuid4()),
            "when": now,
            "source": "stdout",
            "message": f"step {n}: processed {random.randrange(10_000)} records",
        }
        for n in range(LOG_BATCH)
    ]
    body = json.dumps(entries).encode()
    headers = {
        "authorization": f"Bearer {task_token(task_id)}",
        "content-type": "application/json",
    }

    def send() -> None:
        response = client.post(f"/api/tasks/{task_id}/log_entries", content=body, headers=headers)
        if response.status_code != 204:
            raise SystemExit(f"log entries failed: {response.status_code} {response.text[:300]}")

    return send


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile: the smallest value with at least `q` of the values at or below."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def report(results: list[StoreResult]) -> None:
    print()
    print(
        f"{'store':<9} {'processes':>9} {'endpoint':<37} {'n':>4} "
        f"{'median':>9} {'p90':>9} {'p99':>9} {'api cpu':>9}"
    )
    for result in results:
        for t in result.timings:
            figures = [
                statistics.median(t.seconds),
                *(percentile(t.seconds, q) for q in (0.9, 0.99)),
            ]
            shown = " ".join(f"{f * 1000:>6.1f} ms" for f in figures)
            cpu = "n/a" if t.server_cpu is None else f"{t.server_cpu * 1000:.1f} ms"
            print(
                f"{t.store:<9} {result.processes:>9,} {t.endpoint:<37} {len(t.seconds):>4} "
                f"{shown} {cpu:>9}"
            )
    print()
    for result in results:
        listing, logging = (statistics.median(t.seconds) * 1000 for t in result.timings)
        print(
            f"{result.store}: listing 100 of {result.seeded.rows['process']:,} processes "
            f"({result.listing_bytes / 1024:.0f} KiB) median {listing:.1f} ms; "
            f"{LOG_BATCH} log entries median {logging:.1f} ms; "
            f"seeded {sum(result.seeded.rows.values()):,} rows in {result.seeded.seconds:.0f} s"
        )


if __name__ == "__main__":
    main()
