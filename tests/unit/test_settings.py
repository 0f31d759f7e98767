"""Settings: environment names, defaults, and the README's table kept in step with the code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from scripts.readme_settings import render

from gnomon.errors import SettingsError
from gnomon.settings import ExecutorName, Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_settings_table_is_current() -> None:
    text = README.read_text()
    assert render(text) == text, "run `make readme` to regenerate the settings table"


def test_every_setting_is_documented() -> None:
    undocumented = [name for name, info in Settings.model_fields.items() if not info.description]
    assert undocumented == []


def test_defaults_work_on_one_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(f"GNOMON_{name.upper()}", raising=False)
    settings = Settings()
    assert settings.database_url.startswith("sqlite:///")
    assert settings.executor == ExecutorName.DOCKER
    assert settings.allow_shell is False
    assert settings.callback_url(for_container=True) == "http://host.docker.internal:8080"
    assert settings.callback_url(for_container=False) == "http://127.0.0.1:8080"
    assert settings.site_url() == "http://127.0.0.1:8080"


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GNOMON_PORT", "9999")
    monkeypatch.setenv("GNOMON_ALLOW_SHELL", "true")
    monkeypatch.setenv("GNOMON_PUBLIC_URL", "http://gnomon.example:80/")
    settings = Settings()
    assert settings.port == 9999
    assert settings.allow_shell is True
    assert settings.callback_url(for_container=True) == "http://gnomon.example:80"
    assert settings.site_url() == "http://gnomon.example:80"


def test_the_kubernetes_executor_needs_a_public_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GNOMON_PUBLIC_URL", raising=False)
    monkeypatch.setenv("GNOMON_EXECUTOR", "kubernetes")
    settings = Settings()  # commands that run no jobs (api, operator, migrate) still start
    with pytest.raises(SettingsError, match="required with GNOMON_EXECUTOR=kubernetes") as error:
        settings.check_executor()
    assert error.value.setting == "GNOMON_PUBLIC_URL"
    assert settings.site_url() == "http://127.0.0.1:8080"
    monkeypatch.setenv("GNOMON_PUBLIC_URL", "http://gnomon-api.ops.svc/")
    Settings().check_executor()
    assert Settings().pod_callback_url() == "http://gnomon-api.ops.svc"


@pytest.mark.parametrize("executor", ["docker", "fake"])
def test_other_executors_start_without_a_public_url(
    monkeypatch: pytest.MonkeyPatch, executor: str
) -> None:
    monkeypatch.delenv("GNOMON_PUBLIC_URL", raising=False)
    monkeypatch.setenv("GNOMON_EXECUTOR", executor)
    Settings().check_executor()


def test_invalid_values_are_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GNOMON_EXECUTOR", "mesos")
    with pytest.raises(ValueError, match="executor"):
        Settings()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("GNOMON_MAX_REQUEST_BYTES", str(2**30 + 1)),
        ("GNOMON_MAX_REQUEST_BYTES", "0"),
        ("GNOMON_TASK_TOKEN_GRACE_SECONDS", "1e300"),
        ("GNOMON_DATABASE_STATEMENT_TIMEOUT_SECONDS", "inf"),
        ("GNOMON_INSTANCE", "bad name;"),
    ],
)
def test_new_numbers_and_names_from_the_environment_are_bounded(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match=variable.removeprefix("GNOMON_").lower()):
        Settings()


@pytest.mark.parametrize(
    ("executor", "value", "limit"),
    [
        ("docker", None, "4 per CPU"),
        ("docker", "", "4 per CPU"),
        ("docker", "0", "4 per CPU"),
        ("fake", " ", "4 per CPU"),
        ("kubernetes", None, None),
        ("kubernetes", "0", None),
        ("kubernetes", "12", 12),
        ("docker", "1", 1),
        ("docker", "10000", 10_000),
    ],
)
def test_the_running_task_limit_defaults_by_executor(
    monkeypatch: pytest.MonkeyPatch, executor: str, value: str | None, limit: int | str | None
) -> None:
    monkeypatch.setenv("GNOMON_EXECUTOR", executor)
    if value is None:
        monkeypatch.delenv("GNOMON_MAX_RUNNING_TASKS", raising=False)
    else:
        monkeypatch.setenv("GNOMON_MAX_RUNNING_TASKS", value)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1, 2}, raising=False)
    expected = 12 if limit == "4 per CPU" else limit  # three CPUs here
    assert Settings().running_task_limit() == expected


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("GNOMON_MAX_RUNNING_TASKS", "-1", "greater than or equal to 0"),
        ("GNOMON_MAX_RUNNING_TASKS", "10001", "less than or equal to 10000"),
        ("GNOMON_MAX_RUNNING_TASKS", "four", "valid integer"),
        ("GNOMON_MAX_RUNNING_TASKS", "2.5", "valid integer"),
        ("GNOMON_METRICS_PORT", "0", "greater than or equal to 1"),
        ("GNOMON_METRICS_PORT", "65536", "less than or equal to 65535"),
        ("GNOMON_RETENTION_DAYS", "-1", "greater than or equal to 0"),
        ("GNOMON_RETENTION_DAYS", "36501", "less than or equal to 36500"),
        ("GNOMON_RETENTION_KEEP_RUNS", "1e9", "valid integer"),
        ("GNOMON_RETENTION_BATCH_RUNS", "0", "greater than or equal to 1"),
        ("GNOMON_RETENTION_INTERVAL_SECONDS", "nan", "Input should be"),
        ("GNOMON_RETENTION_INTERVAL_SECONDS", "inf", "less than or equal to"),
        ("GNOMON_KUBERNETES_SERVICE_ACCOUNT", "Tasks_Runner", "should match pattern"),
        ("GNOMON_KUBERNETES_SERVICE_ACCOUNT", "a" * 254, "at most 253 characters"),
        ("GNOMON_KUBERNETES_NAMESPACE", "batch.jobs", "should match pattern"),
        ("GNOMON_KUBERNETES_JOB_TTL_SECONDS", "2147483648", "less than or equal to 2147483647"),
    ],
)
def test_a_bad_value_of_this_release_settings_is_one_line_and_exit_2(
    tmp_path: Path, variable: str, value: str, message: str
) -> None:
    """Every number and name from outside has a bound, checked before anything starts."""
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src"),
        variable: value,
        "GNOMON_DATABASE_URL": f"sqlite:///{tmp_path / 'g.db'}",
    }
    result = subprocess.run(
        [sys.executable, "-m", "gnomon", "scheduler"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"gnomon: invalid setting {variable}: ")
    assert message in result.stderr and result.stderr.count("\n") == 1  # no traceback
    assert not (tmp_path / "g.db").exists()  # refused before the store was opened


def test_task_service_account_names_kubernetes_accepts(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, expected in (("gnomon-tasks", "gnomon-tasks"), ("a.b-c", "a.b-c"), ("", None)):
        monkeypatch.setenv("GNOMON_KUBERNETES_SERVICE_ACCOUNT", name)
        assert Settings().kubernetes_service_account == expected
