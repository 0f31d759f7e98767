"""Definition benchmark: the largest definition the API accepts, stored and listed (issue 9, 8).

A definition of `MAX_TASKS_PER_DEFINITION` tasks with long dependency lists, its JSON body just
under the default request limit, is PUT (created, then replaced) and the definitions listed, on
the real HTTP stack (uvicorn in its own process, as `bench/api.py` serves it), next to `--small`
ordinary definitions. While each large PUT is in flight a second client PUTs a small definition:
its latency shows how long one large write holds up others (on SQLite, writers take turns).

Prints the environment, the body's size, then per store the median and worst latency of: large
PUT, GET of the list, a small PUT alone, and a small PUT while a large one is in flight; and the
API process's median CPU time per request (what the machine's other load does not inflate).

    python bench/definitions.py [--repeats 10] [--small 50] [--store both] [--postgres-url URL]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

if __package__ in (None, ""):  # run as `python bench/definitions.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.api import (  # noqa: E402
    POSTGRES_URL,
    cpu_seconds,
    environment,
    postgres_database,
    served,
)
from bench.arguments import whole  # noqa: E402
from gnomon.domain.limits import (  # noqa: E402
    DEFAULT_MAX_REQUEST_BYTES,
    MAX_TASKS_PER_DEFINITION,
)
from gnomon.storage.engine import make_engine  # noqa: E402
from gnomon.storage.migrate import upgrade  # noqa: E402

LARGE = "largest-allowed"
NAME_PAD = 40
"""Characters added to each task name, so dependency lists are long in bytes too."""
OVERLAP_SLEEP_SECONDS = 0.05
"""How long after a large PUT starts the small one is sent (the large one is then in flight)."""


@dataclass(frozen=True)
class Sample:
    seconds: float
    server_cpu: float | None
    """CPU seconds the API process spent meanwhile; None where /proc is not available."""


@dataclass(frozen=True)
class Figures:
    store: str
    large_put: list[Sample]
    listing: list[Sample]
    small_put: list[Sample]
    small_put_during_large: list[Sample]
    listing_bytes: int


def task_name(index: int) -> str:
    return f"task-{index:04d}-" + "p" * NAME_PAD


def large_definition(dependencies: int) -> dict[str, Any]:
    """`MAX_TASKS_PER_DEFINITION` tasks, each depending on up to `dependencies` before it."""
    tasks = []
    for index in range(MAX_TASKS_PER_DEFINITION):
        first = max(0, index - dependencies)
        tasks.append(
            {
                "task_definition_name": task_name(index),
                "dependencies": [
                    {"task_definition_name": task_name(d), "success_required": d % 2 == 0}
                    for d in range(first, index)
                ],
                "executable": {
                    "docker_image_command": {
                        "image": "registry.example.com/data-team/etl",
                        "tag": f"2.{index}",
                        "command": ["python", "-m", "etl.run", "--task", task_name(index)],
                        "environment_variables": [
                            {"variable_name": f"SETTING_{k}", "value": f"value-{k}-{index}"}
                            for k in range(6)
                        ],
                    }
                },
                "max_attempts": 3,
                "max_runtime_seconds": 3600,
                "backoff_base_seconds": 30,
                "backoff_exponent": 2,
            }
        )
    return {"process_definition_name": LARGE, "task_definitions": tasks}


def largest_body() -> bytes:
    """The large definition with the longest dependency lists that fit the request limit."""
    for dependencies in range(60, 0, -1):
        body = json.dumps(large_definition(dependencies)).encode()
        if len(body) <= DEFAULT_MAX_REQUEST_BYTES:
            return body
    raise SystemExit("even without dependencies the definition exceeds the request limit")


def small_body(name: str) -> bytes:
    task = {
        "task_definition_name": "only",
        "executable": {"docker_image_command": {"image": "busybox", "command": ["true"]}},
    }
    return json.dumps({"process_definition_name": name, "task_definitions": [task]}).encode()


def main() -> None:
    args = parse_args()
    print(environment(args))
    body = largest_body()
    tasks = json.loads(body)["task_definitions"]
    dependencies = sum(len(t["dependencies"]) for t in tasks)
    print(
        f"largest allowed definition: {len(tasks):,} tasks, {dependencies:,} dependencies, "
        f"{len(body):,} bytes (limit {DEFAULT_MAX_REQUEST_BYTES:,}); {args.small} small "
        f"definitions beside it; {args.repeats} repeats"
    )
    results = []
    if args.store in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as folder:
            results.append(
                run_store("sqlite", f"sqlite:///{Path(folder) / 'bench.db'}", body, args)
            )
    if args.store in ("postgres", "both"):
        with postgres_database(args.postgres_url) as url:
            results.append(run_store("postgres", url, body, args))
    report(results)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=whole(1, 10_000), default=10)
    parser.add_argument("--small", type=whole(0, 100_000), default=50)
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    return parser.parse_args()


def run_store(store: str, url: str, body: bytes, args: argparse.Namespace) -> Figures:
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    headers = {"content-type": "application/json"}
    with (
        served(url) as (base, pid),
        httpx.Client(base_url=base, timeout=120) as large,
        httpx.Client(base_url=base, timeout=120) as small,
    ):

        def put(client: httpx.Client, name: str, content: bytes) -> Callable[[], None]:
            def send() -> None:
                response = client.put(
                    f"/api/process_definitions/{name}", content=content, headers=headers
                )
                if response.status_code != 200:
                    raise SystemExit(f"PUT {name}: {response.status_code} {response.text[:300]}")

            return send

        for index in range(args.small):
            put(small, f"small-{index:03d}", small_body(f"small-{index:03d}"))()
        put(large, LARGE, body)()  # created once; every timed PUT replaces it
        figures = Figures(
            store=store,
            large_put=[timed(pid, put(large, LARGE, body)) for _ in range(args.repeats)],
            listing=[timed(pid, lambda: listing(large)) for _ in range(args.repeats)],
            small_put=[
                timed(pid, put(small, "small-000", small_body("small-000")))
                for _ in range(args.repeats)
            ],
            small_put_during_large=[
                overlapped(
                    put(large, LARGE, body), put(small, "small-001", small_body("small-001"))
                )
                for _ in range(args.repeats)
            ],
            listing_bytes=len(large.get("/api/process_definitions/").content),
        )
    print(f"{store}: done", flush=True)
    return figures


def listing(client: httpx.Client) -> None:
    response = client.get("/api/process_definitions/")
    if response.status_code != 200:
        raise SystemExit(f"listing failed: {response.status_code} {response.text[:300]}")


def timed(pid: int | None, send: Callable[[], None]) -> Sample:
    cpu_before = cpu_seconds(pid) if pid is not None else None
    began = time.perf_counter()
    send()
    seconds = time.perf_counter() - began
    cpu_after = cpu_seconds(pid) if pid is not None else None
    cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return Sample(seconds, cpu)


def overlapped(large: Callable[[], None], small: Callable[[], None]) -> Sample:
    """The small request's latency, sent while the large one is in flight."""
    thread = threading.Thread(target=large)
    thread.start()
    time.sleep(OVERLAP_SLEEP_SECONDS)
    sample = timed(None, small)  # the API's CPU meanwhile is mostly the large request's
    thread.join()
    return sample


def report(results: list[Figures]) -> None:
    print()
    print(f"{'store':<9} {'request':<38} {'n':>3} {'median':>10} {'worst':>10} {'api cpu':>10}")
    for figures in results:
        rows = [
            ("PUT largest definition", figures.large_put),
            (f"GET list ({figures.listing_bytes / 1e6:.1f} MB)", figures.listing),
            ("PUT small definition", figures.small_put),
            ("PUT small, a largest PUT in flight", figures.small_put_during_large),
        ]
        for label, samples in rows:
            seconds = [s.seconds * 1000 for s in samples]
            cpus = [s.server_cpu * 1000 for s in samples if s.server_cpu is not None]
            cpu = f"{statistics.median(cpus):>7.0f} ms" if cpus else f"{'n/a':>10}"
            shown = f"{statistics.median(seconds):>7.0f} ms {max(seconds):>7.0f} ms {cpu}"
            print(f"{figures.store:<9} {label:<38} {len(samples):>3} {shown}")


if __name__ == "__main__":
    main()
