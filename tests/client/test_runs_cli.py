"""`gnomon get runs/run`, `describe`, `logs [-f]`, `trigger --wait`, `-w` and `completion`
against a real `gnomon serve` process that runs quick shell jobs."""

from __future__ import annotations

import json
import os
import pty
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gnomon.cli import main
from tests.e2e.conftest import Gnomon
from tests.waiting import wait_until

SOURCE = Path(__file__).resolve().parents[2] / "src"
FAST = ["--interval", "0.1"]


def shell(name: str, script: str, *needs: str) -> dict[str, Any]:
    return {
        "task_definition_name": name,
        "dependencies": [{"task_definition_name": need} for need in needs],
        "executable": {"shell_script_command": {"script": script}},
    }


DEFINITIONS: list[dict[str, Any]] = [
    {
        "process_definition_name": "pipeline",
        "schedule": {
            "cron_schedule": {
                "minutes": "0",
                "hours": "22",
                "day_of_month": "*",
                "month": "*",
                "day_of_week": "?",
            }
        },
        "notifications": [{"webhook": {"url": "https://hooks.example.com/x"}}],
        "task_definitions": [
            shell("extract", "echo reading; echo warned >&2; sleep 0.5"),
            shell("load", "echo loaded", "extract"),
            shell("report", "echo reported", "extract"),
        ],
    },
    {
        "process_definition_name": "broken",
        "task_definitions": [shell("crash", "echo about to fail; exit 3")],
    },
    {
        "process_definition_name": "slow",
        "task_definitions": [shell("nap", "echo begun; sleep 30")],
    },
]


@pytest.fixture(scope="module")
def gnomon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gnomon]:
    folder = tmp_path_factory.mktemp("serve")
    server = Gnomon(folder, GNOMON_ALLOW_SHELL="true", GNOMON_EXECUTOR="fake")
    server.start()
    for body in DEFINITIONS:
        name = body["process_definition_name"]
        server.http.put(f"/api/process_definitions/{name}", json=body).raise_for_status()
    yield server
    server.stop()


def run(capsys: pytest.CaptureFixture[str], gnomon: Gnomon, *args: str) -> tuple[int, str, str]:
    code = main([*args, "--server", gnomon.url])
    out, err = capsys.readouterr()
    return code, out, err


def finished_run(capsys: pytest.CaptureFixture[str], gnomon: Gnomon, name: str) -> str:
    code, out, _ = run(capsys, gnomon, "trigger", name, "--wait", "--timeout", "30", *FAST)
    assert code in (0, 1), out
    return out.splitlines()[0]


@pytest.fixture(scope="module")
def pipeline_run(gnomon: Gnomon) -> str:
    """One finished run of `pipeline` (succeeded), made once for the tests that read it."""
    result = cli(gnomon, "trigger", "pipeline", "--wait", "--timeout", "30", *FAST)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()[0]


def cli(
    gnomon: Gnomon, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gnomon", *args, "--server", gnomon.url],
        capture_output=True,
        text=True,
        env=env or {**os.environ, "PYTHONPATH": str(SOURCE)},
        timeout=60,
    )


def test_trigger_wait_prints_the_run_id_first_and_exits_with_its_status(
    gnomon: Gnomon, pipeline_run: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run_body = gnomon.http.get(f"/api/processes/{pipeline_run}").json()
    assert run_body["status"] == "succeeded"
    code, out, _ = run(capsys, gnomon, "trigger", "broken", "--wait", "--timeout", "30", *FAST)
    assert code == 1
    run_id, last = out.splitlines()
    assert last == f"run {run_id} failed"
    assert gnomon.http.get(f"/api/processes/{run_id}").json()["status"] == "failed"


def test_trigger_wait_gives_up_after_its_timeout(
    gnomon: Gnomon, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, gnomon, "trigger", "slow", "--wait", "--timeout", "3", *FAST)
    assert code == 124
    (run_id,) = out.splitlines()
    assert "still running" in err
    assert run(capsys, gnomon, "kill", run_id)[0] == 0


def test_logs_are_in_time_order_with_task_and_source(
    gnomon: Gnomon, pipeline_run: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, gnomon, "logs", pipeline_run)
    assert code == 0
    lines = out.splitlines()
    times = [line.split()[0] for line in lines]
    assert times == sorted(times)
    assert any(line.split()[1:] == ["extract", "stdout", "reading"] for line in lines), out
    assert any(line.split()[1:] == ["extract", "stderr", "warned"] for line in lines), out
    assert lines.index(next(x for x in lines if "loaded" in x)) > lines.index(
        next(x for x in lines if "reading" in x)
    )
    code, out, _ = run(capsys, gnomon, "logs", pipeline_run, "--task", "load")
    assert code == 0 and out and all(line.split()[1] == "load" for line in out.splitlines())


def test_logs_in_other_formats(
    gnomon: Gnomon, pipeline_run: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, gnomon, "logs", pipeline_run, "-o", "json")
    assert code == 0
    entries = [json.loads(line) for line in out.splitlines()]
    assert {"when", "source", "message", "task_definition_name", "attempt"} <= set(entries[0])
    assert [e["when"] for e in entries] == sorted(e["when"] for e in entries)
    code, out, _ = run(capsys, gnomon, "logs", pipeline_run, "-o", "yaml")
    documents = list(yaml.safe_load_all(out))
    assert [d["message"] for d in documents] == [e["message"] for e in entries]
    code, out, _ = run(capsys, gnomon, "logs", pipeline_run, "-o", "wide", "--task", "extract")
    assert all(line.split()[1] == "extract#1" for line in out.splitlines())


def test_describe_as_data(
    gnomon: Gnomon, pipeline_run: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, gnomon, "describe", "run", pipeline_run, "-o", "yaml")
    assert code == 0 and yaml.safe_load(out)["process_id"] == pipeline_run
    code, out, _ = run(capsys, gnomon, "describe", "definition", "pipeline", "-o", "json")
    assert code == 0 and json.loads(out)["process_definition_name"] == "pipeline"
    code, out, _ = run(capsys, gnomon, "get", "definition", "pipeline", "-o", "wide")
    assert out.splitlines()[0].split() == ["NAME", "SCHEDULE", "PAUSED", "TASKS", "NOTIFICATIONS"]
    assert out.splitlines()[1].split()[-2:] == ["3", "1"]


@pytest.mark.parametrize(
    ("name", "status", "code"), [("pipeline", "succeeded", 0), ("broken", "failed", 1)]
)
def test_logs_follow_until_the_run_ends_and_exit_with_its_status(
    gnomon: Gnomon, capsys: pytest.CaptureFixture[str], name: str, status: str, code: int
) -> None:
    before = {r["process_id"] for r in gnomon.http.get("/api/processes/").json()}
    gnomon.http.post(f"/api/process_definitions/{name}/trigger").raise_for_status()
    runs = wait_until(
        lambda: [
            r for r in gnomon.http.get("/api/processes/").json() if r["process_id"] not in before
        ],
        bool,
        what=f"a run of {name}",
        timeout=30,
        interval=0.05,
    )
    run_id = runs[0]["process_id"]
    exit_code, out, _ = run(capsys, gnomon, "logs", run_id, "-f", *FAST)
    assert exit_code == code
    assert gnomon.http.get(f"/api/processes/{run_id}").json()["status"] == status
    expected = "reported" if name == "pipeline" else "about to fail"
    assert expected in out  # printed before it exited, though written after it began


def test_get_runs_filters_and_formats(
    gnomon: Gnomon, pipeline_run: str, capsys: pytest.CaptureFixture[str]
) -> None:
    finished_run(capsys, gnomon, "broken")
    code, out, _ = run(capsys, gnomon, "get", "runs", "-o", "json", "--definition", "pipeline")
    assert code == 0
    runs = json.loads(out)
    assert runs and {r["process_definition_name"] for r in runs} == {"pipeline"}
    code, out, _ = run(capsys, gnomon, "get", "runs", "-o", "yaml", "--status", "failed")
    assert code == 0
    assert {r["status"] for r in yaml.safe_load(out)} == {"failed"}
    code, out, _ = run(capsys, gnomon, "get", "runs", "-o", "json", "--since", "2099-01-01")
    assert code == 0 and json.loads(out) == []
    code, out, _ = run(capsys, gnomon, "get", "runs", "-o", "json", "--since", "1h")
    assert pipeline_run in {r["process_id"] for r in json.loads(out)}


def test_table_times_are_relative_and_wide_ones_absolute(
    gnomon: Gnomon, pipeline_run: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, gnomon, "get", "runs", "--definition", "pipeline")
    assert code == 0
    header, *rows = out.splitlines()
    assert header.split() == ["ID", "DEFINITION", "STATUS", "STARTED", "DURATION", "TASKS"]
    row = next(r for r in rows if r.startswith(pipeline_run))
    assert " ago " in row and "\x1b[" not in out  # no colour when stdout is not a terminal
    started = gnomon.http.get(f"/api/processes/{pipeline_run}").json()["start_time"]
    code, out, _ = run(capsys, gnomon, "get", "runs", "--definition", "pipeline", "-o", "wide")
    assert out.splitlines()[0].split()[3:5] == ["STARTED", "ENDED"]
    row = next(r for r in out.splitlines() if r.startswith(pipeline_run))
    assert started[:10] + " " + started[11:19] + "Z" in row and " ago" not in row


@pytest.mark.usefixtures("pipeline_run")  # a status to colour
@pytest.mark.parametrize("no_color", [False, True])
def test_colour_only_on_a_terminal(gnomon: Gnomon, no_color: bool) -> None:
    leader, follower = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(SOURCE), "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    if no_color:
        env["NO_COLOR"] = "1"
    process = subprocess.Popen(
        [sys.executable, "-m", "gnomon", "get", "runs", "--server", gnomon.url],
        stdout=follower,
        env=env,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert process.wait(timeout=30) == 0
    os.close(leader)
    shown = b"".join(chunks)
    green = b"\x1b[32m"  # a succeeded status
    assert (green in shown) is not no_color
    assert b"\xe2\x80\xa6" not in shown, "no cell is cut short to fit the terminal"
    env.pop("FORCE_COLOR", None)
    piped = cli(gnomon, "get", "runs", env=env)
    assert "\x1b[" not in piped.stdout


def test_get_run_shows_attempts_and_reasons(
    gnomon: Gnomon, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id = finished_run(capsys, gnomon, "broken")
    code, out, _ = run(capsys, gnomon, "get", "run", run_id)
    assert code == 0
    header, row = out.splitlines()
    assert header.split() == ["TASK", "ATTEMPT", "STATUS", "STARTED", "DURATION", "REASON"]
    assert row.split()[:3] == ["crash", "1", "failed"] and "exit code 3" in row
    code, out, _ = run(capsys, gnomon, "get", "run", run_id, "-o", "json")
    assert json.loads(out)["process_id"] == run_id


def test_describe_run_has_summaries_attempts_and_the_graph(
    gnomon: Gnomon, pipeline_run: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, gnomon, "describe", "run", pipeline_run)
    assert code == 0
    assert f"Run:         {pipeline_run}" in out
    assert "Succeeded after 1 attempt" in out  # Sundial's wording, from the domain
    for section in ("Tasks:", "Attempts:", "Metadata:", "Graph:"):
        assert section in out
    graph = out[out.index("Graph:") :].splitlines()[1:]
    assert graph[0] == "pipeline"
    assert graph[1].startswith("└── extract")
    assert graph[2].strip().startswith("├── load") and graph[3].strip().startswith("└── report")


def test_describe_definition_has_schedule_fire_times_tasks_and_runs(
    gnomon: Gnomon, pipeline_run: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, gnomon, "describe", "definition", "pipeline")
    assert code == 0
    assert "cron 0 22 * * ? (UTC)" in out
    fires = out[out.index("Next 5 fire times:") :].splitlines()[1:6]
    assert all(line.strip()[11:20] == "22:00:00Z" for line in fires), fires
    assert "webhook https://hooks.example.com/x" in out
    tasks = out[out.index("Tasks:") : out.index("Graph:")].splitlines()
    assert ["load", "shell", "extract", "1", "-"] in [line.split() for line in tasks]
    assert pipeline_run in out[out.index("Last 5 runs:") :]


@pytest.mark.parametrize(
    "args",
    [
        ("get", "run", "00000000-0000-0000-0000-000000000000"),
        ("describe", "run", "00000000-0000-0000-0000-000000000000"),
        ("logs", "00000000-0000-0000-0000-000000000000"),
        ("describe", "definition", "ghost"),
        ("trigger", "ghost", "--wait"),
    ],
)
def test_unknown_runs_and_definitions_exit_1(
    gnomon: Gnomon, capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
) -> None:
    code, out, err = run(capsys, gnomon, *args)
    assert code == 1
    assert "not found" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "args",
    [
        ("get", "runs", "--since", "yesterday"),
        ("get", "runs", "-o", "xml"),
        ("get", "run"),
        ("logs", "x", "-f", "--timeout", "-1"),
        ("get", "runs", "-w", "--interval", "0.001"),
    ],
)
def test_bad_usage_exits_2(capsys: pytest.CaptureFixture[str], args: tuple[str, ...]) -> None:
    try:
        code = main([*args, "--server", "http://127.0.0.1:1"])
    except SystemExit as exc:  # argparse's own refusals
        code = int(exc.code or 0)
    assert code == 2
    assert capsys.readouterr().err


@pytest.mark.parametrize("verb", [("logs",), ("describe", "run"), ("get", "run")])
def test_a_run_id_that_is_no_uuid_is_bad_usage(
    capsys: pytest.CaptureFixture[str], verb: tuple[str, ...]
) -> None:
    # No server answers: the id is refused before any request.
    code = main([*verb, "nonexistent", "--server", "http://127.0.0.1:1"])
    err = capsys.readouterr().err
    assert code == 2
    assert err == (
        "gnomon: 'nonexistent' is not a run id: "
        "run ids are UUIDs, as `gnomon get runs` prints them\n"
    )


SOME_RUN = "9a33f765-f9ed-401b-a545-1c7cffba1f68"


@pytest.mark.parametrize(
    "args", [("logs", SOME_RUN), ("describe", "run", SOME_RUN), ("get", "run", SOME_RUN)]
)
def test_an_unreachable_server_exits_1(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
) -> None:
    assert main([*args, "--server", "http://127.0.0.1:1"]) == 1
    assert "cannot reach Gnomon" in capsys.readouterr().err


def test_watch_prints_a_line_per_change_and_ctrl_c_exits_130(gnomon: Gnomon) -> None:
    env = {**os.environ, "PYTHONPATH": str(SOURCE)}
    args = ["get", "runs", "-w", "--definition", "broken", *FAST, "--server", gnomon.url]
    process = subprocess.Popen(
        [sys.executable, "-m", "gnomon", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: queue.Queue[str] = queue.Queue()
    out = process.stdout
    assert out is not None

    def read() -> None:
        for line in out:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    seen: list[str] = []

    def saw(predicate: Callable[[str], bool]) -> None:
        deadline = time.monotonic() + 30
        while not any(predicate(line) for line in seen):
            seen.append(lines.get(timeout=max(deadline - time.monotonic(), 0.01)))

    try:
        saw(lambda line: line.startswith("ID "))  # the first listing is out
        gnomon.http.post("/api/process_definitions/broken/trigger").raise_for_status()
        new = gnomon.wait_for(
            "/api/processes/?process_definition_name=broken&max_records=1",
            lambda runs: runs and runs[0]["status"] == "failed" and runs[0]["process_id"],
            timeout=30,
        )[0]["process_id"]
        saw(lambda line: line.startswith(new) and line.split()[2] == "failed")
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert "Traceback" not in err
    assert sum(line.startswith("ID ") for line in seen) == 1, seen  # one header only


@pytest.mark.parametrize("shell_name", ["bash", "zsh"])
def test_completion_scripts(shell_name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", shell_name]) == 0
    script = capsys.readouterr().out
    for word in ("describe", "logs", "--follow", "--since", "--database-url"):
        assert word in script
    if shell_name == "bash":
        checked = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True)
        assert checked.returncode == 0, checked.stderr
    else:
        assert script.startswith("#compdef gnomon")


def test_help_documents_the_exit_codes() -> None:
    env = {**os.environ, "PYTHONPATH": str(SOURCE)}
    for args in ([], ["logs"], ["trigger"]):
        result = subprocess.run(
            [sys.executable, "-m", "gnomon", *args, "--help"],
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
        )
        assert "exit codes:" in result.stdout and "124" in result.stdout and "130" in result.stdout
