"""Server commands take their main settings as flags (`gnomon serve --port 9000`), which win over
the environment and are checked with the same message and exit code as a bad variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from gnomon.cli import main
from tests.live import free_port
from tests.waiting import wait_until

SOURCE = Path(__file__).resolve().parents[2] / "src"


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(SOURCE), **env}
    return subprocess.run(
        [sys.executable, "-m", "gnomon", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
    )


@pytest.mark.parametrize("verb", ["serve", "api", "scheduler", "operator", "migrate"])
def test_help_lists_the_setting_flags(verb: str) -> None:
    result = run_cli(verb, "--help")
    assert result.returncode == 0
    for flag in ("--database-url", "--log-format", "--log-level"):
        assert flag in result.stdout
    assert ("--port" in result.stdout) == (verb in ("serve", "api"))
    assert ("--executor" in result.stdout) == (verb in ("serve", "scheduler"))


def test_the_flag_wins_over_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from_env, from_flag = tmp_path / "env.db", tmp_path / "flag.db"
    monkeypatch.setenv("GNOMON_DATABASE_URL", f"sqlite:///{from_env}")
    assert main(["migrate", "--database-url", f"sqlite:///{from_flag}"]) == 0
    assert not from_env.exists()
    assert "process" in sa.inspect(sa.create_engine(f"sqlite:///{from_flag}")).get_table_names()


@pytest.mark.parametrize(
    ("args", "variable"),
    [
        (["serve", "--port", "abc"], "GNOMON_PORT (--port)"),
        (["api", "--port", "70000"], "GNOMON_PORT (--port)"),
        (["scheduler", "--executor", "podman"], "GNOMON_EXECUTOR (--executor)"),
        (["migrate", "--log-format", "yaml"], "GNOMON_LOG_FORMAT (--log-format)"),
        (["migrate", "--log-level", "loud"], "GNOMON_LOG_LEVEL (--log-level)"),
    ],
)
def test_a_bad_flag_is_a_one_line_settings_error(args: list[str], variable: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"gnomon: invalid setting {variable}: ")


def test_a_bad_log_level_in_the_environment_is_refused_alike() -> None:
    result = run_cli("migrate", GNOMON_LOG_LEVEL="loud")
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("gnomon: invalid setting GNOMON_LOG_LEVEL: ")


def test_serve_listens_where_the_flags_say(tmp_path: Path) -> None:
    port = free_port()
    args = ["serve", "--host", "127.0.0.1", "--port", str(port), "--executor", "fake"]
    args += ["--database-url", f"sqlite:///{tmp_path / 'g.db'}", "--log-format", "json"]
    env = {**os.environ, "PYTHONPATH": str(SOURCE), "GNOMON_PORT": "1"}  # the flag wins
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "gnomon", *args], env=env, stderr=out)
    try:
        status = wait_until(
            lambda: httpx.get(f"http://127.0.0.1:{port}/_internal_/healthcheck").status_code,
            lambda code: code == 200,
            what="gnomon serve on the flag's port",
            timeout=30,
            interval=0.1,
            ignoring=(httpx.HTTPError,),
        )
        assert status == 200
    finally:
        process.terminate()
        process.wait(timeout=20)
    first = log.read_text().splitlines()[0]
    assert first.startswith("{"), "--log-format json: one JSON object per line"
