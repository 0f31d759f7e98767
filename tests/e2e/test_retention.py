"""Bounded history as a user meets it: a real `gnomon serve` that removes old runs by itself, and
`gnomon prune` run beside it against the same store, with its failure cases."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from gnomon.cli import main
from gnomon.storage import make_engine, upgrade
from tests.e2e.conftest import Gnomon
from tests.history import add_run, orphans, row_counts
from tests.waiting import wait_until

SOURCE = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture
def store(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'gnomon.db'}")
    upgrade(engine)
    return engine


def _history(engine: Engine) -> dict[str, set[str]]:
    """Seeds, as the store of a busy Gnomon: names to the ids of its runs."""
    now = datetime.now(UTC)
    old = now - timedelta(days=200)
    runs = {
        "nightly-old": {add_run(engine, "nightly", old + timedelta(days=n)) for n in range(4)},
        "nightly-new": {add_run(engine, "nightly", now - timedelta(days=n + 1)) for n in range(2)},
        "gone-old": {
            add_run(engine, "deleted-definition", old + timedelta(hours=n)) for n in range(3)
        },
        "running": {add_run(engine, "nightly", old - timedelta(days=1), running=True)},
    }
    return runs


def _listed(gnomon: Gnomon) -> set[str]:
    answer = gnomon.http.get("/api/processes/", params={"max_records": 1000})
    assert answer.status_code == 200
    return {p["process_id"] for p in answer.json()}


def _status(gnomon: Gnomon, process_id: str) -> str:
    answer = gnomon.http.get(f"/api/processes/{process_id}")
    assert answer.status_code == 200
    return str(answer.json()["status"])


def _prune(gnomon: Gnomon, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**gnomon.env, "PYTHONPATH": str(SOURCE)}
    return subprocess.run(
        [sys.executable, "-m", "gnomon", "prune", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_serve_removes_old_runs_by_itself(tmp_path: Path, store: Engine) -> None:
    runs = _history(store)
    gnomon = Gnomon(
        tmp_path, GNOMON_EXECUTOR="fake", GNOMON_RETENTION_DAYS="30", GNOMON_RETENTION_KEEP_RUNS="1"
    )
    try:
        gnomon.start()
        wait_until(
            lambda: _listed(gnomon),
            lambda listed: not listed & runs["nightly-old"] and len(listed & runs["gone-old"]) == 1,
            what="the scheduler to remove the old runs but the newest of each definition",
            timeout=30,
            interval=0.2,
        )
        assert runs["nightly-new"] | runs["running"] <= _listed(gnomon)
        metrics = gnomon.http.get("/_internal_/metrics").text
        assert "gnomon_retention_pruned_runs_total 6.0" in metrics
    finally:
        gnomon.stop()
    assert set(orphans(store).values()) == {0}
    assert row_counts(store)["process"] == 4


def test_prune_beside_a_running_serve(tmp_path: Path, store: Engine) -> None:
    runs = _history(store)
    gnomon = Gnomon(tmp_path, GNOMON_EXECUTOR="fake", GNOMON_RETENTION_DAYS="0")
    try:
        gnomon.start()
        # The takeover ends the seeded running run (its shell tasks are disabled here) and logs
        # why, some time after the API answers: count once that has landed.
        (running,) = runs["running"]
        wait_until(
            lambda: _status(gnomon, running),
            lambda status: status != "running",
            what="the scheduler to take over the running run",
            timeout=30,
            interval=0.1,
        )
        everything = set().union(*runs.values())
        before = row_counts(store)

        dry = _prune(gnomon, "--older-than", "30d", "--dry-run", "--keep-runs", "1")
        assert dry.returncode == 0, dry.stderr
        lines = dry.stdout.splitlines()
        assert lines[0].split() == ["DEFINITION", "RUNS", "TASKS", "LOG", "LINES", "METADATA"]
        assert lines[1].split() == ["deleted-definition", "2", "4", "12", "4"]
        assert lines[2].split() == ["nightly", "4", "8", "24", "8"]
        assert lines[3].split() == ["(total)", "6", "12", "36", "12"]
        assert lines[4].startswith("would remove 6 runs, 12 tasks, 36 log lines, 12 metadata")
        assert _listed(gnomon) == everything and row_counts(store) == before

        done = _prune(gnomon, "--older-than", "30d", "--keep-runs", "1")
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[:-1] == lines[:-1]
        assert done.stdout.splitlines()[-1].startswith(
            "removed 6 runs, 12 tasks, 36 log lines, 12 metadata entries (runs that ended before "
        )
        left = _listed(gnomon)
        assert runs["nightly-old"].isdisjoint(left)
        assert runs["nightly-new"] | runs["running"] <= left
        assert len(runs["gone-old"] & left) == 1

        again = _prune(gnomon, "--older-than", "30d", "--keep-runs", "1")
        assert again.returncode == 0 and again.stdout.startswith("nothing to remove")
    finally:
        gnomon.stop()
    assert set(orphans(store).values()) == {0}


def _cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str, **env: str
) -> tuple[int, str, str]:
    """`gnomon ARGS` in this process (the failure cases need no server), with `env` set."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse's refusals
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--older-than", "30x"], "is not an age such as 30d"),
        (["--older-than", ""], "is not an age such as 30d"),
        (["--older-than", "30 days"], "is not an age such as 30d"),
        (["--older-than", "0d"], "out of bounds: from 1h"),
        (["--older-than", "59m"], "out of bounds: from 1h"),
        (["--older-than", "99999999d"], "out of bounds"),
        (["--older-than", "30d", "--keep-runs", "-1"], "not a number of runs"),
        (["--older-than", "30d", "--keep-runs", "many"], "not a number of runs"),
        ([], "the following arguments are required: --older-than"),
    ],
)
def test_bad_arguments_exit_2_with_one_clear_line(
    store: Engine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    before = row_counts(store)
    code, _, err = _cli(monkeypatch, capsys, "prune", *args, GNOMON_DATABASE_URL=str(store.url))
    assert code == 2
    assert message in err.splitlines()[-1]
    assert row_counts(store) == before


def test_a_bad_setting_exits_2(
    store: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _cli(
        monkeypatch,
        capsys,
        *["prune", "--older-than", "30d"],
        GNOMON_DATABASE_URL=str(store.url),
        GNOMON_RETENTION_KEEP_RUNS="-5",
    )
    assert code == 2
    assert err.startswith("gnomon: invalid setting GNOMON_RETENTION_KEEP_RUNS")


def test_a_missing_sqlite_store_is_not_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "nothing.db"
    url = f"sqlite:///{path}"
    code, _, err = _cli(
        monkeypatch, capsys, "prune", "--older-than", "30d", GNOMON_DATABASE_URL=url
    )
    assert code == 1
    assert err.strip() == f"gnomon: no store at {url}"
    assert not path.exists()


def test_an_unreachable_store_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "postgresql+psycopg://gnomon@127.0.0.1:9/gnomon"
    code, _, err = _cli(
        monkeypatch,
        capsys,
        *["prune", "--older-than", "30d"],
        GNOMON_DATABASE_URL=url,
        GNOMON_DATABASE_CONNECT_TIMEOUT_SECONDS="2",
    )
    assert code == 1
    (line,) = err.splitlines()
    assert line.startswith(f"gnomon: pruning {url} failed: ")


def test_a_store_without_gnomon_tables_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "other.db"
    path.touch()
    url = f"sqlite:///{path}"
    code, _, err = _cli(
        monkeypatch, capsys, "prune", "--older-than", "30d", GNOMON_DATABASE_URL=url
    )
    assert code == 1
    (line,) = err.splitlines()
    assert line.startswith(f"gnomon: pruning {url} failed: ")
