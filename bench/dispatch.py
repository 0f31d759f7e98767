"""Dispatch benchmark: Gnomon against a plain docker SDK loop, on the local engine, in one run.

1. Raw loop: N no-op containers (`true`) at concurrency C, each created, started, waited for,
   read (logs) and removed by the docker SDK from C threads.
2. Gnomon: the same N containers through `gnomon serve` (a real process, SQLite, the Docker
   executor, `GNOMON_MAX_RUNNING_TASKS=C`): C definitions, triggered in turn N times in all
   through the REST API, so at most C runs go at once. Throughput counts from the first trigger
   to the last run recorded as finished. The server's CPU time (user + system, from /proc) over
   that phase, divided by the runs, is Gnomon's cost per run. The benchmark asks the server
   nothing while containers run: it waits for the engine's `die` events first and only then polls
   for the runs' recorded ends.
   Steps 1 and 2 alternate `--rounds` times (one server for all of them): the engine's speed on
   a shared machine drifts by several per cent from one minute to the next, so one round of each
   says little. The ratio reported is the median of the rounds' ratios.
3. Overhead per task, from the engine's own event stream, one run at a time (nothing queues):
   trigger to container created and to container started, and container exit to the status
   Gnomon records; each Gnomon sample alternates with a raw SDK one, so both see the same load.

    python bench/dispatch.py [--runs 200] [--concurrency 8[,32...]] [--rounds 3]
                             [--latency-samples 40] [--py-spy FILE]

Each concurrency level gets its own raw loops and its own fresh server, and one row of the table
that ends the output, so the growth curve is one command. `--py-spy FILE` records the server's
stacks during each level's first throughput phase (py-spy's collapsed format, FILE.c<level>),
to profile it.

Targets: at least 0.95 of the raw loop's throughput at 8 and at 32 at once, and under 20 ms of
overhead from trigger to container start.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import docker
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.images import BUSYBOX_IMAGE, busybox_tar, find_static_busybox  # noqa: E402

from bench.arguments import sweep, whole  # noqa: E402

MANAGED = "dev.gnomon.managed=true"
# py-spy next to this interpreter (a virtual environment's), else the one on PATH.
PY_SPY = (
    shutil.which(
        "py-spy", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    )
    or "py-spy"
)


def ensure_image(client: Any) -> None:
    try:
        client.images.get(BUSYBOX_IMAGE)
    except docker.errors.ImageNotFound:
        busybox = find_static_busybox()
        if busybox is None:
            raise SystemExit("needs a static busybox (Debian package busybox-static)") from None
        repository, tag = BUSYBOX_IMAGE.split(":")
        client.api.import_image_from_data(busybox_tar(busybox), repository=repository, tag=tag)


def raw_loop(runs: int, concurrency: int) -> float:
    # A client of its own, with a connection for each thread (the SDK keeps 10 by default).
    client = docker.from_env(max_pool_size=max(10, concurrency))

    def one(_: int) -> None:
        container = client.containers.run(BUSYBOX_IMAGE, ["true"], detach=True)
        container.wait()
        container.logs()
        container.remove()

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(runs)))
    elapsed = time.perf_counter() - started
    client.close()
    return runs / elapsed


class EngineEvents:
    """Container create, start and die times (engine clock, seconds) by task id label."""

    def __init__(self, label: str = MANAGED) -> None:
        # A client of its own: closing the stream must not touch anyone else's connections.
        self._client = docker.from_env()
        self.creates: dict[str, float] = {}
        self.starts: dict[str, float] = {}
        self.deaths: dict[str, float] = {}
        self._died = threading.Condition()
        self._stream = self._client.events(
            decode=True, filters={"type": "container", "label": label}
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        times = {"create": self.creates, "start": self.starts, "die": self.deaths}
        for event in self._stream:
            labels = event.get("Actor", {}).get("Attributes", {})
            task = labels.get("dev.gnomon.task-id") or labels.get("bench.sample")
            kind = times.get(event.get("status", ""))
            if task and kind is not None:
                with self._died:
                    kind[task] = event.get("timeNano", 0) / 1e9
                    self._died.notify_all()

    def wait_deaths(self, count: int, timeout: float = 600) -> None:
        """Block until `count` containers have died (asks nothing of the server meanwhile)."""
        with self._died:
            if not self._died.wait_for(lambda: len(self.deaths) >= count, timeout):
                raise SystemExit(f"{count} containers did not end in {timeout} s")

    def close(self) -> None:
        self._stream.close()
        self._client.close()


@dataclass
class Latency:
    """Per task, one run at a time: call (or trigger) -> create and start events, die event ->
    `wait` returning (or the end time Gnomon records)."""

    creates: list[float] = field(default_factory=list)
    starts: list[float] = field(default_factory=list)
    exits: list[float] = field(default_factory=list)


def raw_sample(client: Any, events: EngineEvents, sample: str, into: Latency) -> None:
    """The engine's own share, for one container."""
    called = time.time()
    container = client.containers.run(
        BUSYBOX_IMAGE, ["true"], detach=True, labels={"bench.sample": sample}
    )
    container.wait()
    returned = time.time()
    container.remove()
    deadline = time.monotonic() + 5
    while sample not in events.deaths and time.monotonic() < deadline:
        time.sleep(0.01)
    into.creates.append(events.creates[sample] - called)
    into.starts.append(events.starts[sample] - called)
    into.exits.append(returned - events.deaths[sample])


class Server:
    def __init__(self, folder: Path, port: int, concurrency: int) -> None:
        env = {
            **os.environ,
            "GNOMON_DATABASE_URL": f"sqlite:///{folder / 'gnomon.db'}",
            "GNOMON_PORT": str(port),
            "GNOMON_PULL_POLICY": "never",
            "GNOMON_LOG_LEVEL": "WARNING",
            # As many at once as the raw loop runs: the default (4 per CPU) would hold Gnomon
            # to 8 here, whatever the level.
            "GNOMON_MAX_RUNNING_TASKS": str(concurrency),
        }
        self.log = (folder / "serve.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gnomon", "serve"], env=env, stdout=self.log, stderr=self.log
        )
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                self.http.get("/_internal_/healthcheck")
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise SystemExit("gnomon serve did not start")

    def define(self, name: str) -> None:
        command = {"image": BUSYBOX_IMAGE.split(":")[0], "tag": "1", "command": ["true"]}
        body = {
            "process_definition_name": name,
            "task_definitions": [
                {"task_definition_name": "noop", "executable": {"docker_image_command": command}}
            ],
        }
        self.http.put(f"/api/process_definitions/{name}", json=body).raise_for_status()

    def trigger(self, name: str) -> float:
        sent = time.time()
        self.http.post(f"/api/process_definitions/{name}/trigger").raise_for_status()
        return sent

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        # Fields 14 and 15 of stat(5) (utime, stime); the split starts at field 3.
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def newest_runs(self, count: int) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.http.get(f"/api/processes/?max_records={count}").json()
        return result

    def wait_finished(self, count: int, timeout: float = 600) -> list[dict[str, Any]]:
        """The newest `count` runs, once none is running. Polls lightly (running ones only);
        callers first wait for the containers to die (engine events), so the polling does not
        load the server while it works."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            running = self.http.get("/api/processes/?allowed_statuses=running&max_records=1")
            if not running.json():
                runs = self.newest_runs(count)
                if len(runs) >= count and all(r["status"] != "running" for r in runs):
                    return runs
            time.sleep(0.02)
        raise SystemExit(f"runs did not finish in {timeout} s")

    def newest(self, name: str) -> dict[str, Any]:
        runs = self.http.get(f"/api/processes/?process_definition_name={name}&max_records=1")
        result: dict[str, Any] = runs.json()[0]
        return result

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.http.close()
        self.log.close()


def seconds(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def gnomon_throughput(
    server: Server, events: EngineEvents, runs: int, names: list[str]
) -> tuple[float, float, list[dict[str, Any]]]:
    """Containers per second, server CPU seconds per run, and the finished runs."""
    died = len(events.deaths)
    cpu = server.cpu_seconds()
    started = time.perf_counter()
    for index in range(runs):  # round robin: `runs` need not be a multiple of `len(names)`
        server.trigger(names[index % len(names)])
    events.wait_deaths(died + runs)
    finished = server.wait_finished(runs)
    elapsed = time.perf_counter() - started
    return runs / elapsed, (server.cpu_seconds() - cpu) / runs, finished


def exit_to_recorded(finished: list[dict[str, Any]], events: EngineEvents) -> list[float]:
    gaps = []
    for run in finished:
        for task in run["task"]:
            died = events.deaths.get(task["task_id"])
            if died is not None and "end_time" in task:
                gaps.append(seconds(task["end_time"]) - died)
    return gaps


def latencies(
    client: Any, server: Server, events: EngineEvents, samples: int
) -> tuple[Latency, Latency]:
    """Gnomon's and the raw SDK's per-task times, one run at a time (nothing queues), their
    samples interleaved so that both see the same machine."""
    server.define("latency")
    ours, raw = Latency(), Latency()
    raw_events = EngineEvents(label="bench.sample")
    for index in range(samples):
        raw_sample(client, raw_events, str(index), raw)
        died = len(events.deaths)
        sent = server.trigger("latency")
        events.wait_deaths(died + 1, timeout=60)
        deadline = time.monotonic() + 60
        while (newest := server.newest("latency"))["status"] == "running":
            if time.monotonic() > deadline:
                raise SystemExit("a latency run did not finish in 60 s")
            time.sleep(0.01)
        task = newest["task"][0]["task_id"]
        ours.creates.append(events.creates[task] - sent)
        ours.starts.append(events.starts[task] - sent)
        ours.exits.append(seconds(newest["task"][0]["end_time"]) - events.deaths[task])
    raw_events.close()
    return ours, raw


def ms(values: list[float], q: float | None = None) -> str:
    if not values:
        return "n/a"
    value = statistics.median(values) if q is None else sorted(values)[int(q * (len(values) - 1))]
    return f"{value * 1000:.1f} ms"


@dataclass(frozen=True)
class Round:
    """One raw loop and the Gnomon phase right after it."""

    raw: float
    ours: float
    cpu_per_run: float

    @property
    def ratio(self) -> float:
        return self.ours / self.raw


@dataclass
class Level:
    """What one concurrency level measured."""

    concurrency: int
    rounds: list[Round]
    gnomon: Latency
    baseline: Latency
    busy_exits: list[float]

    @property
    def ratio(self) -> float:
        """The median of the rounds' ratios."""
        return statistics.median(r.ratio for r in self.rounds)

    @property
    def cpu_per_run(self) -> float:
        return statistics.median(r.cpu_per_run for r in self.rounds)

    def overheads(self, step: str) -> list[float]:
        """Each Gnomon sample of `step` minus the raw SDK's median for the same step."""
        raw = statistics.median(getattr(self.baseline, step))
        return [value - raw for value in getattr(self.gnomon, step)]


class Profiler:
    """py-spy recording the server's stacks (collapsed format) until stopped."""

    def __init__(self, pid: int, output: str) -> None:
        self.process = subprocess.Popen(
            [PY_SPY, "record", "--gil", "--pid", str(pid), "--format", "raw", "--output", output],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1)  # attached before the first trigger

    def stop(self) -> None:
        self.process.send_signal(2)  # SIGINT: py-spy writes its file and exits
        self.process.wait(timeout=60)


def measure(client: Any, args: argparse.Namespace, concurrency: int, port: int) -> Level:
    events = EngineEvents()
    rounds: list[Round] = []
    busy_exits: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        server = Server(Path(folder), port, concurrency)
        try:
            names = [f"bench-{i}" for i in range(concurrency)]
            for name in names:
                server.define(name)
            for index in range(args.rounds):
                raw = raw_loop(args.runs, concurrency)
                profiler = None
                if args.py_spy and index == 0:
                    profiler = Profiler(server.process.pid, f"{args.py_spy}.c{concurrency}")
                ours, cpu_per_run, finished = gnomon_throughput(server, events, args.runs, names)
                if profiler is not None:
                    profiler.stop()
                rounds.append(Round(raw, ours, cpu_per_run))
                busy_exits += exit_to_recorded(finished, events)
            gnomon, baseline = latencies(client, server, events, args.latency_samples)
        finally:
            server.stop()
            events.close()
    return Level(concurrency, rounds, gnomon, baseline, busy_exits)


STEPS = (
    ("trigger -> container created", "creates"),
    ("trigger -> container start", "starts"),
    ("container exit -> recorded", "exits"),
)


def report(level: Level, runs: int) -> None:
    print(f"{runs} containers at concurrency {level.concurrency}, raw loop then gnomon, per round:")
    print(f"{'round':>5} {'raw/s':>6} {'gnomon/s':>8} {'ratio':>5} {'server cpu/run':>14}")
    for index, one in enumerate(level.rounds, 1):
        print(
            f"{index:>5} {one.raw:>6.2f} {one.ours:>8.2f} {one.ratio:>5.2f} "
            f"{one.cpu_per_run * 1000:>11.1f} ms"
        )
    print(f"ratio gnomon/raw:    {level.ratio:.2f}  (median of the rounds; target >= 0.95)")
    print(f"{'per task (medians)':30} {'gnomon':>10} {'raw SDK':>10} {'overhead':>10}")
    for label, step in STEPS:
        gnomon, baseline = getattr(level.gnomon, step), getattr(level.baseline, step)
        overhead = statistics.median(gnomon) - statistics.median(baseline)
        print(f"{label:30} {ms(gnomon):>10} {ms(baseline):>10} {overhead * 1000:>7.1f} ms")
    print(
        "overhead = Gnomon's median minus the raw SDK's median for the same step "
        "(target < 20 ms from trigger to start)"
    )
    print(f"samples: {len(level.gnomon.starts)} triggers and as many raw containers, interleaved")
    print(f"exit -> recorded while {level.concurrency} run at once: median {ms(level.busy_exits)}")


def summary(levels: list[Level]) -> None:
    print()
    print(
        f"{'conc':>4} {'raw/s':>6} {'gnomon/s':>8} {'ratio':>5} {'min-max':>9} {'cpu/run':>8} "
        f"{'created ovh med/max':>20} {'started ovh med/max':>20} {'exit ovh med':>12}"
    )
    for level in levels:
        created, started = level.overheads("creates"), level.overheads("starts")
        raw = statistics.median(r.raw for r in level.rounds)
        ours = statistics.median(r.ours for r in level.rounds)
        ratios = [r.ratio for r in level.rounds]
        print(
            f"{level.concurrency:>4} {raw:>6.2f} {ours:>8.2f} {level.ratio:>5.2f} "
            f"{min(ratios):>4.2f}-{max(ratios):.2f} {level.cpu_per_run * 1000:>5.1f} ms "
            f"{_ms(statistics.median(created))} / {_ms(max(created))} "
            f"{_ms(statistics.median(started))} / {_ms(max(started))} "
            f"{_ms(statistics.median(level.overheads('exits'))):>12}"
        )
    print(
        "raw/s, gnomon/s, cpu/run: medians of the rounds; ratio: the median of the rounds' "
        "ratios, and their range"
    )
    print(
        "ovh: Gnomon's time for the step (from the trigger) minus the raw SDK's median for it "
        "(from the call); median and worst sample"
    )


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:6.1f} ms"


MAX_COUNT = 10_000
"""The largest of any count the benchmark takes (GNOMON_MAX_RUNNING_TASKS's own bound)."""
COUNT = whole(1, MAX_COUNT)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=COUNT, default=200)
    parser.add_argument(
        "--concurrency", type=sweep(1, MAX_COUNT), default=[8], help="one level, or several: 8,32"
    )
    parser.add_argument(
        "--rounds", type=COUNT, default=3, help="raw loop and Gnomon phases, alternating"
    )
    parser.add_argument("--latency-samples", type=COUNT, default=40)
    parser.add_argument("--port", type=whole(1, 65_535), default=18080)
    parser.add_argument("--py-spy", metavar="FILE", help="profile the server with py-spy")
    args = parser.parse_args()
    client = docker.from_env()
    ensure_image(client)
    version = client.version()["Version"]
    cpus = len(os.sched_getaffinity(0))
    print(f"python {platform.python_version()}, docker engine {version}, cpus={cpus}")
    levels = []
    for index, concurrency in enumerate(args.concurrency):
        if index:
            print()
        level = measure(client, args, concurrency, args.port)
        report(level, args.runs)
        levels.append(level)
    summary(levels)


if __name__ == "__main__":
    main()
