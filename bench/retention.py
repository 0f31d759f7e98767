"""Retention benchmark: a year of a 1-minute schedule, with and without retention, in one run.

Each simulated day adds the day's runs of one definition due every minute (`--per-day`, 1440 by
default: the real density, not a sample), each with one attempt, `--log-lines` log lines, one
metadata entry and the executor's state, through bulk inserts. With retention, the end of each day
runs a pass exactly as the scheduler does (its `Retention` object, its default batch of 200 runs
per transaction, GNOMON_RETENTION_DAYS=90 and a floor of 100 runs); the scheduler spreads the same
work over passes every ten minutes, which deletes the same rows in the same batches. On PostgreSQL
a plain VACUUM follows each simulated week, as autovacuum would do on a live store.

At months 1, 3, 6 and 12 it prints the runs kept, the store's size (SQLite: the file after a WAL
checkpoint; PostgreSQL: pg_total_relation_size of every table) and the median and p90 latency of
`GET /api/processes/?max_records=100`, the UI's and `gnomon get runs`' first request, answered by
the app in this process. Last, on the store kept without retention (a full year), one retention
pass times each of its batches: the longest a scheduler wake-up can wait behind one.

    python bench/retention.py [--store both] [--per-day 1440] [--days 365] [--log-lines 5]
                              [--requests 30] [--postgres-url URL]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

if __package__ in (None, ""):  # run as `python bench/retention.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.api import POSTGRES_URL, REQUESTS, environment, postgres_database  # noqa: E402
from bench.arguments import whole  # noqa: E402
from gnomon.api.app import create_app  # noqa: E402
from gnomon.scheduler.retention import Retention, RetentionConfig  # noqa: E402
from gnomon.settings import Settings  # noqa: E402
from gnomon.storage.engine import make_engine, transaction  # noqa: E402
from gnomon.storage.migrate import upgrade  # noqa: E402
from gnomon.storage.tables import (  # noqa: E402
    ExecutorStateRow,
    ProcessRow,
    TaskLogRow,
    TaskMetadataRow,
    TaskRow,
    TaskSnapshotRow,
)

CHECKPOINTS = {30: "month 1", 91: "month 3", 182: "month 6", 365: "month 12"}
LISTING = "/api/processes/?max_records=100"
NAME = "every-minute"
START = datetime(2025, 1, 1, tzinfo=UTC)
TABLES = (ProcessRow, TaskSnapshotRow, TaskRow, TaskLogRow, TaskMetadataRow, ExecutorStateRow)
BODY = {
    "task_definition_name": "job",
    "executable": {"docker_image_command": {"image": "team/etl", "command": ["run"]}},
}
Row = dict[str, Any]


@dataclass(frozen=True)
class Checkpoint:
    label: str
    runs: int
    size_bytes: int
    median_ms: float
    p90_ms: float
    cpu_ms: float
    """Median CPU time of this process per request (app and client, not PostgreSQL's): it
    varies far less than latency on a shared machine."""


def main() -> None:
    args = parse_args()
    print(environment(args))
    print(f"command: python bench/retention.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"{args.per_day} runs a day for {args.days} days, {args.log_lines} log lines a run")
    stores = ["sqlite", "postgres"] if args.store == "both" else [args.store]
    for store in stores:
        for keep in (True, False):
            with store_url(store, args.postgres_url) as url:
                simulate(store, url, args, retention=keep)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument(
        "--per-day", type=whole(1, 86_400), default=1440, help="at most one a second"
    )
    parser.add_argument("--days", type=whole(1, 3_660), default=365, help="at most ten years")
    parser.add_argument("--log-lines", type=whole(0, 1_000), default=5)
    parser.add_argument("--requests", type=REQUESTS, default=30)
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    return parser.parse_args()


@contextmanager
def store_url(store: str, admin_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database or SQLite file, removed afterwards."""
    if store == "postgres":
        with postgres_database(admin_url) as url:
            yield url
        return
    with tempfile.TemporaryDirectory() as path:
        yield f"sqlite:///{Path(path) / 'bench.db'}"


def simulate(store: str, url: str, args: argparse.Namespace, *, retention: bool) -> None:
    engine = make_engine(url)
    upgrade(engine)
    keeper = Retention(RetentionConfig()) if retention else None
    client = TestClient(create_app(Settings(database_url=url), engine))
    title = f"{store}, {'retention 90 days, floor 100' if retention else 'no retention'}"
    print(f"\n{title}")
    print(
        f"{'when':<9} {'runs kept':>10} {'store MB':>9} {'median ms':>10} {'p90 ms':>7} "
        f"{'cpu ms':>7}"
    )
    began = time.perf_counter()
    batches: list[float] = []
    for day in range(1, args.days + 1):
        insert_day(engine, day, args)
        if keeper is not None:
            batches += prune_pass(engine, keeper, START + timedelta(days=day))
        if store == "postgres" and day % 7 == 0:
            vacuum(engine)
        if day in CHECKPOINTS:
            point = measure(engine, client, CHECKPOINTS[day], args.requests)
            print(
                f"{point.label:<9} {point.runs:>10,} {point.size_bytes / 2**20:>9.1f} "
                f"{point.median_ms:>10.1f} {point.p90_ms:>7.1f} {point.cpu_ms:>7.1f}",
                flush=True,
            )
    print(f"simulated in {time.perf_counter() - began:.0f} s")
    if batches:
        print(f"batches while simulating: {len(batches)}, {_spread(batches)}")
    if keeper is None:
        # The big store: what one batch costs when a whole year is there to remove.
        when = START + timedelta(days=args.days)
        timed = prune_pass(engine, Retention(RetentionConfig()), when, limit=50)
        print(f"first 50 batches of 200 runs on the full year's store: {_spread(timed)}")
    client.close()
    engine.dispose()


def _spread(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"median {statistics.median(ordered) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
        f"max {ordered[-1] * 1000:.1f} ms"
    )


def insert_day(engine: Engine, day: int, args: argparse.Namespace) -> None:
    rows: dict[str, list[Row]] = {table.__tablename__: [] for table in TABLES}
    midnight = START + timedelta(days=day - 1)
    step = timedelta(days=1) / args.per_day
    for n in range(args.per_day):
        _run(rows, midnight + n * step, args.log_lines)
    with engine.begin() as connection:
        for table in TABLES:
            connection.execute(sa.insert(table), rows[table.__tablename__])


def _run(rows: dict[str, list[Row]], due: datetime, log_lines: int) -> None:
    process_id, task_id = str(uuid.uuid4()), str(uuid.uuid4())
    ended = due + timedelta(seconds=30)
    rows["process"].append(
        {
            "process_id": process_id,
            "process_definition_name": NAME,
            "started_at": due,
            "status": "succeeded",
            "ended_at": ended,
            "scheduled_for": due,
            "origin": "schedule",
        }
    )
    rows["task_definition"].append(
        {"process_id": process_id, "task_definition_name": "job", "position": 0, "body": BODY}
    )
    rows["task"].append(
        {
            "task_id": task_id,
            "process_id": process_id,
            "process_definition_name": NAME,
            "task_definition_name": "job",
            "executable": BODY["executable"],
            "previous_attempts": 0,
            "started_at": due,
            "status": "succeeded",
            "ended_at": ended,
            "running_at": due,
        }
    )
    rows["task_log"] += [
        {
            "log_entry_id": str(uuid.uuid4()),
            "task_id": task_id,
            "when": due + timedelta(seconds=line),
            "source": "stdout",
            "message": f"processed batch {line} of the minute's records",
        }
        for line in range(log_lines)
    ]
    rows["task_metadata"].append(
        {
            "metadata_entry_id": str(uuid.uuid4()),
            "task_id": task_id,
            "when": ended,
            "key": "records",
            "value": "1234",
        }
    )
    rows["executor_state"].append(
        {
            "task_id": task_id,
            "backend": "docker",
            "handle": uuid.uuid4().hex * 2,
            "status": "Succeeded",
            "as_of": ended,
            "details": {"exit_code": "0"},
        }
    )


def prune_pass(
    engine: Engine, keeper: Retention, now: datetime, limit: int | None = None
) -> list[float]:
    """One retention pass as the scheduler runs it; the wall time of each batch."""
    seconds: list[float] = []
    while limit is None or len(seconds) < limit:
        began = time.perf_counter()
        with transaction(engine) as session:
            keeper.batch(session, now)
        seconds.append(time.perf_counter() - began)
        if not keeper.passing:
            break
    return seconds


def vacuum(engine: Engine) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM"))


def measure(engine: Engine, client: TestClient, label: str, requests: int) -> Checkpoint:
    with engine.connect() as connection:
        runs = connection.execute(sa.text("SELECT COUNT(*) FROM process")).scalar_one()
    for _ in range(3):  # warm-up
        client.get(LISTING)
    seconds: list[float] = []
    cpu: list[float] = []
    for _ in range(requests):
        began, began_cpu = time.perf_counter(), time.process_time()
        answer = client.get(LISTING)
        seconds.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
        assert answer.status_code == 200 and len(answer.json()) == 100
    ordered = sorted(seconds)
    return Checkpoint(
        label,
        runs,
        store_size(engine),
        statistics.median(ordered) * 1000,
        ordered[int(len(ordered) * 0.9)] * 1000,
        statistics.median(cpu) * 1000,
    )


def store_size(engine: Engine) -> int:
    if engine.dialect.name == "postgresql":
        names = ", ".join(f"'{t.__tablename__}'" for t in TABLES)
        query = f"SELECT SUM(pg_total_relation_size(oid)) FROM pg_class WHERE relname IN ({names})"
        with engine.connect() as connection:
            return int(connection.execute(sa.text(query)).scalar_one())
    path = engine.url.database
    assert path is not None
    with engine.connect() as connection:
        connection.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)"))
    wal = Path(f"{path}-wal")
    return os.path.getsize(path) + (wal.stat().st_size if wal.exists() else 0)


if __name__ == "__main__":
    main()
