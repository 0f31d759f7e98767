"""`gnomon apply/get/trigger/pause/resume/delete/kill/retry` against a real server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gnomon.cli import main

MANIFEST = """\
apiVersion: gnomon.dev/v1alpha1
kind: ProcessDefinition
metadata:
  name: nightly
spec:
  schedule:
    cron_schedule: {minutes: "0", hours: "22", day_of_month: "*", month: "*", day_of_week: "?"}
  task_definitions:
    - task_definition_name: greet
      executable:
        docker_image_command: {image: busybox, command: [echo, hello]}
---
process_definition_name: adhoc
task_definitions:
  - task_definition_name: t
    executable: {shell_script_command: {script: "true"}}
"""


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "defs.yaml"
    path.write_text(MANIFEST)
    return path


def test_apply_then_get(server: str, manifest: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "apply", "-f", str(manifest), "--server", server)
    assert code == 0
    assert out.splitlines() == [
        "processdefinition/nightly applied",
        "processdefinition/adhoc applied",
    ]
    code, out, _ = run(capsys, "get", "definitions", "--server", server)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "SCHEDULE", "PAUSED", "TASKS"]
    assert "0 22 * * ? UTC" in out and "manual" in out
    code, out, _ = run(capsys, "get", "definitions", "-o", "json", "--server", server)
    assert {d["process_definition_name"] for d in json.loads(out)} == {"nightly", "adhoc"}


def test_actions(server: str, manifest: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "apply", "-f", str(manifest), "--server", server)
    assert run(capsys, "pause", "nightly", "--server", server)[:2] == (0, "paused\n")
    assert run(capsys, "resume", "nightly", "--server", server)[:2] == (0, "resumed\n")
    assert run(capsys, "trigger", "adhoc", "--task", "t", "--server", server)[:2] == (
        0,
        "triggered\n",
    )
    code, out, _ = run(capsys, "get", "runs", "--server", server)
    assert code == 0 and out.splitlines()[0].split()[:3] == ["ID", "DEFINITION", "STATUS"]
    assert run(capsys, "delete", "adhoc", "--server", server)[:2] == (0, "deleted\n")


def test_invalid_definition_prints_the_fields(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(MANIFEST.replace('hours: "22"', 'hours: "25"'))
    code, _, err = run(capsys, "apply", "-f", str(bad), "--server", server)
    assert code == 1  # refused by the server's rules, reported once, as kubectl does
    assert err.count("schedule.cron_schedule.hours") == 1, err


@pytest.mark.parametrize(
    "args",
    [
        ("trigger", "ghost"),
        ("pause", "ghost"),
        ("delete", "ghost"),
        ("kill", "00000000-0000-0000-0000-000000000000"),
        ("retry", "00000000-0000-0000-0000-000000000000"),
    ],
)
def test_unknown_names_fail_with_the_servers_reason(
    server: str, capsys: pytest.CaptureFixture[str], args: tuple[str, str]
) -> None:
    code, _, err = run(capsys, *args, "--server", server)
    assert code == 1
    assert "not found" in err


def test_unreachable_server(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "get", "runs", "--server", "http://127.0.0.1:1")
    assert code == 1
    assert "cannot reach Gnomon at http://127.0.0.1:1" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "kind: Deployment\napiVersion: apps/v1\nmetadata: {name: x}\n",
            "is not ProcessDefinition",
        ),
        ("apiVersion: gnomon.dev/v1alpha1\nkind: ProcessDefinition\nspec: {}\n", "metadata.name"),
        ("{not: [valid\n", "not valid YAML"),
        ("", "no process definitions"),
    ],
)
def test_bad_files_fail_before_sending(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    path = tmp_path / "f.yaml"
    path.write_text(content)
    code, _, err = run(capsys, "apply", "-f", str(path), "--server", server)
    assert code == 1  # as kubectl apply exits for any failure
    assert f"error: {path}" in err and message in err


def test_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "apply", "-f", "/nonexistent/defs.yaml")
    assert code == 1
    assert err == "error: /nonexistent/defs.yaml: No such file or directory\n"
