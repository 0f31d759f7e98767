"""Web UI benchmark: the server's render time of the pages people open most, on a busy store.

`/` (the latest runs) and `/process_definitions` (every definition with its last ten runs) must
stay fast however many runs are stored (issue 11: under 100 ms median with 100,000 runs of 3 tasks
and 1,000 definitions). With the store seeded (see `_seed.py`), the app is built as `gnomon api`
builds it, start-up heap frozen, and each page is requested through the ASGI interface directly:
the time measured is the server's, from the request to the last byte of the response, without a
network or a client in between.

The run page (`/processes/{id}`) is timed on a run of 50 tasks (a fan-out and fan-in DAG, some
tasks retried, each attempt with metadata written several times): under 50 ms median.

Besides the two pages, the runs list is also timed filtered by status and deep in its history (a
keyset page half-way through the store), which must cost the same as its first page, and one
definition's own page (`/process_definitions/NAME`: its last hundred runs, table and chart). The
first render of the definitions page is reported apart: it fills the cache of finished runs'
circles.

    python bench/ui.py [--processes 100000] [--tasks 3] [--definitions 1000] [--requests 50]
                       [--store both] [--postgres-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import timeit
import uuid
from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI
from sqlmodel import col

if __package__ in (None, ""):  # run as `python bench/ui.py`: make the `bench` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._seed import seed  # noqa: E402
from bench.api import (  # noqa: E402
    MAX_PROCESSES,
    POSTGRES_URL,
    REQUESTS,
    TASKS,
    environment,
    postgres_database,
    rows_line,
)
from bench.arguments import whole  # noqa: E402
from gnomon.api.app import create_app  # noqa: E402
from gnomon.domain import ProcessStatus, TaskDefinition, TaskStatus  # noqa: E402
from gnomon.domain.runs import MetadataEntry  # noqa: E402
from gnomon.server import freeze_startup_heap  # noqa: E402
from gnomon.settings import Settings  # noqa: E402
from gnomon.storage import WriteBatch, callbacks, transaction  # noqa: E402
from gnomon.storage.engine import make_engine  # noqa: E402
from gnomon.storage.migrate import upgrade  # noqa: E402
from gnomon.storage.tables import ProcessRow  # noqa: E402
from gnomon.web import install_pages  # noqa: E402

WARMUP = 3


@dataclass(frozen=True)
class Timing:
    store: str
    page: str
    seconds: list[float]
    cpu_seconds: list[float]
    first_seconds: float
    size: int


def main() -> None:
    args = parse_args()
    print(environment(args))
    print(f"CPU speed now: {cpu_reference()} (the same machine varies by 2x from hour to hour)")
    print(
        f"{args.processes:,} processes x {args.tasks} tasks, {args.definitions:,} definitions, "
        f"{args.requests} timed requests per page"
    )
    timings: list[Timing] = []
    if args.store in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as folder:
            timings += run_store("sqlite", f"sqlite:///{Path(folder) / 'bench.db'}", args)
    if args.store in ("postgres", "both"):
        with postgres_database(args.postgres_url) as url:
            timings += run_store("postgres", url, args)
    report(timings)


def cpu_reference() -> str:
    """How long a fixed bit of pure Python takes right now, to compare runs on a shared machine."""
    best = min(timeit.repeat("sum(range(1000))", number=2_000, repeat=5)) / 2_000
    return f"sum(range(1000)) in {best * 1e6:.1f} µs"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--processes", type=whole(1, MAX_PROCESSES), default=100_000)
    parser.add_argument("--tasks", type=TASKS, default=3)
    parser.add_argument("--definitions", type=whole(1, MAX_PROCESSES), default=1_000)
    parser.add_argument("--requests", type=REQUESTS, default=50)
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    return parser.parse_args()


def run_store(store: str, url: str, args: argparse.Namespace) -> list[Timing]:
    engine = make_engine(url)
    upgrade(engine)
    seeded = seed(engine, args.processes, args.tasks, definitions=args.definitions)
    print(f"{store}: seeded in {seeded.seconds:.1f} s: {rows_line(seeded.rows)}", flush=True)
    deep = deep_cursor(engine)
    wide = wide_run(engine)
    app = create_app(Settings(database_url=url), engine)
    install_pages(app)
    freeze_startup_heap()  # as `gnomon serve` and `gnomon api` do
    pages = [
        "/process_definitions",
        "/",
        "/?status=failed",
        f"/?older={deep}",
        f"/processes/{wide}",
        f"/process_definitions/{busiest_definition(engine)}",
    ]
    timings = [asyncio.run(timed(app, store, page, args.requests)) for page in pages]
    engine.dispose()
    return timings


def deep_cursor(engine: sa.engine.Engine) -> str:
    """The runs list's cursor half-way through the store, as its "Older" links write it."""
    with engine.connect() as connection:
        total = connection.execute(sa.select(sa.func.count()).select_from(ProcessRow)).scalar()
        started, process_id = connection.execute(
            sa.select(col(ProcessRow.started_at), col(ProcessRow.process_id))
            .order_by(col(ProcessRow.started_at).desc(), col(ProcessRow.process_id).desc())
            .offset((total or 0) // 2)
            .limit(1)
        ).one()
    return f"{started:%Y-%m-%dT%H:%M:%S.%f}Z_{process_id}"


WIDE_TASKS = 50


def wide_run(engine: sa.engine.Engine) -> str:
    """A finished run of 50 tasks: an extract fans out to 12 loads and 36 transforms that join
    into a report; every seventh transform failed once and was retried; each attempt wrote three
    metadata keys, one of them four times."""
    tasks = [TaskDefinition.model_validate(_task("extract"))]
    tasks += [TaskDefinition.model_validate(_task(f"load-{i}", "extract")) for i in range(12)]
    tasks += [
        TaskDefinition.model_validate(_task(f"transform-{i}", f"load-{i % 12}", attempts=2))
        for i in range(36)
    ]
    tasks.append(
        TaskDefinition.model_validate(_task("report", *(f"transform-{i}" for i in range(36))))
    )
    began = datetime(2030, 1, 1, tzinfo=UTC)
    batch = WriteBatch()
    process_id = batch.add_process(
        name="wide", tasks=tasks, origin="trigger", scheduled_for=None, task_filter=None, now=began
    )
    attempts: list[tuple[str, datetime]] = []
    for index, task in enumerate(tasks):
        start = began + timedelta(seconds=10 * (index // 12))
        tries = 2 if task.task_definition_name.endswith(("-0", "-7", "-14")) else 1
        for attempt in range(tries):
            at = start + timedelta(seconds=20 * attempt)
            task_id, _ = batch.add_task(
                process_id=process_id, name="wide", task=task, attempts=attempt, now=at
            )
            failed = attempt + 1 < tries
            status = TaskStatus.FAILED if failed else TaskStatus.SUCCEEDED
            reason = "exit code 1" if failed else None
            batch.end_task(task_id, status, reason, at + timedelta(seconds=5))
            attempts.append((task_id, at))
    last = max(at for _, at in attempts)
    batch.end_process(process_id, ProcessStatus.SUCCEEDED, last + timedelta(seconds=6))
    with transaction(engine) as session:
        batch.flush(session)
        for task_id, at in attempts:
            entries = [
                MetadataEntry(
                    metadata_entry_id=uuid.uuid4(), when=at + timedelta(seconds=n), key=key, value=v
                )
                for n, (key, v) in enumerate(
                    [("rows", "10"), ("rows", "20"), ("rows", "30"), ("rows", "40"),
                     ("stage", "load"), ("memory", "512 MB")]
                )
            ]  # fmt: skip
            callbacks.add_metadata(session=session, task_id=task_id, entries=entries)
    return process_id


def _task(name: str, *after: str, attempts: int = 1) -> dict[str, Any]:
    return {
        "task_definition_name": name,
        "dependencies": [{"task_definition_name": d} for d in after],
        "executable": {"docker_image_command": {"image": "busybox", "command": ["true"]}},
        "max_attempts": attempts,
    }


def busiest_definition(engine: sa.engine.Engine) -> str:
    """The definition with the most runs (a hundred with the default sizes)."""
    name = col(ProcessRow.process_definition_name)
    with engine.connect() as connection:
        return str(
            connection.execute(
                sa.select(name).group_by(name).order_by(sa.func.count().desc(), name).limit(1)
            ).scalar_one()
        )


async def timed(app: FastAPI, store: str, page: str, requests: int) -> Timing:
    began = time.perf_counter()
    status, size = await get(app, page)
    first = time.perf_counter() - began
    assert status == 200, f"{page} answered {status}"
    for _ in range(WARMUP):
        await get(app, page)
    seconds, cpu = [], []
    for _ in range(requests):
        began, began_cpu = time.perf_counter(), time.process_time()
        await get(app, page)
        seconds.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
    return Timing(
        store,
        _shown(page),
        seconds,
        cpu,
        first,
        size,
    )


def _shown(page: str) -> str:
    if page.startswith("/processes/"):
        return f"/processes/ID ({WIDE_TASKS} tasks)"
    return page.split("?older=")[0] + ("?older=(half-way)" if "older" in page else "")


async def get(app: FastAPI, path: str) -> tuple[int, int]:
    """One GET through the ASGI interface; the status and the body's size."""
    target, _, query = path.partition("?")
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": target,
        "raw_path": target.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"bench")],
        "client": ("127.0.0.1", 1),
        "server": ("bench", 80),
    }
    messages: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        messages.append(message)

    await app(scope, receive, send)
    body = sum(len(m.get("body", b"")) for m in messages if m["type"] == "http.response.body")
    return messages[0]["status"], body


def report(timings: list[Timing]) -> None:
    print()
    print(f"{'store':9} {'page':32} {'median':>8} {'p90':>8} {'cpu':>8} {'first':>8} {'size':>9}")
    for t in timings:
        ordered = sorted(t.seconds)
        p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
        print(
            f"{t.store:9} {t.page:32} {ms(statistics.median(t.seconds)):>8} {ms(p90):>8} "
            f"{ms(statistics.median(t.cpu_seconds)):>8} {ms(t.first_seconds):>8} "
            f"{t.size / 1024:>7.0f} kB"
        )
    print("median, p90: server time per request; cpu: this process's CPU time per request")
    print("(PostgreSQL's own not counted); first: the first request, caches cold")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


if __name__ == "__main__":
    main()
