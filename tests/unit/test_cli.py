"""The `gnomon` command line: server verbs and their failure cases."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from gnomon.cli import main

SOURCE = Path(__file__).resolve().parents[2] / "src"


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gnomon", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_migrate_creates_the_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'g.db'}"
    monkeypatch.setenv("GNOMON_DATABASE_URL", url)
    assert main(["migrate"]) == 0
    tables = sa.inspect(sa.create_engine(url)).get_table_names()
    assert {"process_definition", "process", "task", "scheduler_lease"} <= set(tables)


def test_no_verb_prints_usage_and_fails() -> None:
    result = run_cli()
    assert result.returncode == 2
    assert "usage: gnomon" in result.stderr


def test_unknown_verb_fails_with_choices() -> None:
    result = run_cli("launch")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_bad_setting_fails_with_a_clear_message() -> None:
    env = {"GNOMON_PORT": "not-a-port", "PATH": "/usr/bin:/bin"}
    result = run_cli("migrate", env=env)
    assert result.returncode == 2
    assert "GNOMON_PORT" in result.stderr


def test_unreachable_database_fails_with_a_clear_message() -> None:
    env = {
        "GNOMON_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/x",
        "PATH": "/usr/bin:/bin",
    }
    result = run_cli("migrate", env=env)
    assert result.returncode == 1
    assert "cannot reach the store" in result.stderr


@pytest.mark.parametrize("verb", ["scheduler", "serve"])
def test_the_kubernetes_executor_without_a_public_url_is_refused_at_start_up(
    tmp_path: Path, verb: str
) -> None:
    store = tmp_path / "g.db"
    env = {
        "GNOMON_EXECUTOR": "kubernetes",
        "GNOMON_DATABASE_URL": f"sqlite:///{store}",
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(SOURCE),
    }
    result = run_cli(verb, env=env)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("gnomon: invalid setting GNOMON_PUBLIC_URL: ")
    assert "GNOMON_EXECUTOR=kubernetes" in line
    assert "host.docker.internal" not in line
    assert not store.exists(), "refused before it opened the store"
