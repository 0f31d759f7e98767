"""The benchmarks' counts: whole numbers within each one's bounds, anything else refused by
argparse with a message and exit status 2, before a store is seeded, a server started or a
container run."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest
from bench.arguments import sweep, whole

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = ["0", "-1", "10001", "9" * 5_000, "x", "", "1.5", "8\x00", "\x00", "1e3", "0x10"]


@pytest.mark.parametrize("text", ["1", "200", "10000", " 7 "])
def test_a_count_in_bounds_is_taken(text: str) -> None:
    assert whole(1, 10_000)(text) == int(text)


@pytest.mark.parametrize("text", HOSTILE)
def test_a_hostile_count_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        whole(1, 10_000)(text)


def test_the_refusal_names_the_bounds() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=r"must be from 0 to 60: 61"):
        whole(0, 60)("61")


def test_a_sweep_is_read_in_order() -> None:
    assert sweep(1, 100_000)("10000,50000,100000") == [10_000, 50_000, 100_000]
    assert sweep(1, 10)(" 8 , ") == [8]


@pytest.mark.parametrize("text", [",", "", " ", "8,0", "8,x", "8,\x00", "8,11"])
def test_a_hostile_sweep_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        sweep(1, 10)(text)


@pytest.mark.parametrize(
    ("script", "arguments", "said"),
    [
        ("dispatch.py", ["--rounds", "0"], "argument --rounds: must be from 1 to 10,000: 0"),
        ("dispatch.py", ["--concurrency", "8,0"], "argument --concurrency: must be from 1"),
        ("dispatch.py", ["--port", "70000"], "argument --port: must be from 1 to 65,535"),
        ("scheduler.py", ["--definitions", "0"], "argument --definitions: must be from 1"),
        ("scheduler.py", ["--minutes", "0"], "argument --minutes: must be from 1 to 60: 0"),
        ("scheduler.py", ["--triggers", "-1"], "argument --triggers: must be from 0"),
        ("scheduler.py", ["--definitions", "10,20", "--due", "11"], "has 0 idle definitions"),
        ("scheduler.py", ["--definitions", "1000", "--triggers", "901"], "900 idle definitions"),
        ("api.py", ["--processes", "1,x"], "argument --processes: not a whole number: 'x'"),
        ("api.py", ["--tasks", "0"], "argument --tasks: must be from 1 to 100: 0"),
        ("api.py", ["--requests", "0"], "argument --requests: must be from 1"),
        ("ui.py", ["--processes", "99999999999"], "argument --processes: must be from 1"),
        ("ui.py", ["--definitions", "0"], "argument --definitions: must be from 1"),
        ("retention.py", ["--per-day", "0"], "argument --per-day: must be from 1 to 86,400"),
        ("retention.py", ["--days", "100000"], "argument --days: must be from 1 to 3,660"),
        ("retention.py", ["--log-lines", "-5"], "argument --log-lines: must be from 0"),
        ("definitions.py", ["--repeats", "0"], "argument --repeats: must be from 1"),
        ("definitions.py", ["--small", "1.5"], "argument --small: not a whole number: '1.5'"),
    ],
)
def test_a_benchmark_refuses_a_bad_count_before_it_starts(
    script: str, arguments: list[str], said: str
) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert said in done.stderr
    assert done.stdout == ""  # nothing measured, nothing set up
