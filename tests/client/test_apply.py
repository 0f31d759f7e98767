"""`gnomon apply` as kubectl apply: directories (and -R), stdin, namespaces named as the operator
names them, each failure reported once while the rest still apply, and quiet under `| head`."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from gnomon.api.app import create_app
from gnomon.cli import main
from gnomon.settings import Settings
from tests.live import live_server

SRC = Path(__file__).resolve().parents[2] / "src"


def manifest(name: str, namespace: str | None = None, hours: str = "22", **spec: object) -> str:
    metadata = {"name": name} | ({"namespace": namespace} if namespace else {})
    document = {
        "apiVersion": "gnomon.dev/v1alpha1",
        "kind": "ProcessDefinition",
        "metadata": metadata,
        "spec": {
            "schedule": {
                "cron_schedule": {
                    "minutes": "0",
                    "hours": hours,
                    "day_of_month": "*",
                    "month": "*",
                    "day_of_week": "?",
                }
            },
            "task_definitions": [
                {
                    "task_definition_name": "greet",
                    "executable": {
                        "docker_image_command": {"image": "busybox", "command": ["echo", "hi"]}
                    },
                }
            ],
            **spec,
        },
    }
    return yaml.safe_dump(document)


LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ [A-Z]+ ")
"""The live server's own log lines, which share this process's stderr."""


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Exit code, stdout, and what the command (not the server) wrote to stderr."""
    code = main(list(args))
    out, err = capsys.readouterr()
    said = [line for line in err.splitlines(keepends=True) if not LOG_LINE.match(line)]
    return code, out, "".join(said)


def stored(server: str, capsys: pytest.CaptureFixture[str]) -> set[str]:
    code, out, _ = run(capsys, "get", "definitions", "-o", "json", "--server", server)
    assert code == 0
    return {d["process_definition_name"] for d in json.loads(out)}


def test_a_directory_applies_its_manifests_in_name_order(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "b.yml").write_text(manifest("b"))
    (tmp_path / "a.yaml").write_text(manifest("a1") + "---\n" + manifest("a2"))
    (tmp_path / "c.json").write_text(json.dumps(yaml.safe_load(manifest("c"))))
    (tmp_path / "notes.txt").write_text("not a manifest")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.yaml").write_text(manifest("d"))

    code, out, err = run(capsys, "apply", "-f", str(tmp_path), "--server", server)

    assert (code, err) == (0, "")
    assert out.splitlines() == [f"processdefinition/{n} applied" for n in ("a1", "a2", "b", "c")]
    assert stored(server, capsys) == {"a1", "a2", "b", "c"}


def test_recursive_reads_subdirectories_where_their_names_sort(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.yaml").write_text(manifest("a"))
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "n.yaml").write_text(manifest("mn"))
    (tmp_path / "z.yaml").write_text(manifest("z"))

    code, out, err = run(capsys, "apply", "-R", "-f", str(tmp_path), "--server", server)

    assert (code, err) == (0, "")
    assert out.splitlines() == [f"processdefinition/{n} applied" for n in ("a", "mn", "z")]


def test_stdin_and_files_together(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(manifest("s1") + "---\n" + manifest("s2")))
    (tmp_path / "f.yaml").write_text(manifest("f"))

    code, out, err = run(capsys, "apply", "-f", "-", "-f", str(tmp_path), "--server", server)

    assert (code, err) == (0, "")
    assert out.splitlines() == [f"processdefinition/{n} applied" for n in ("s1", "s2", "f")]


def test_a_namespace_names_the_definition_as_the_operator_does(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ns.yaml"
    path.write_text(manifest("nightly", "team-a") + "---\n" + manifest("nightly"))

    code, out, err = run(capsys, "apply", "-f", str(path), "--server", server)

    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "processdefinition/team-a.nightly applied",
        "processdefinition/nightly applied",
    ]
    assert stored(server, capsys) == {"team-a.nightly", "nightly"}


def test_a_namespace_kubernetes_would_refuse_is_refused(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ns.yaml"
    path.write_text(manifest("nightly", "Team_A"))

    code, out, err = run(capsys, "apply", "-f", str(path), "--server", server)

    assert (code, out) == (1, "")
    assert err.startswith(f"error: {path} (document 1): metadata.namespace 'Team_A' is not a")
    assert stored(server, capsys) == set()


def test_each_bad_file_is_reported_once_and_the_others_apply(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "1-good.yaml").write_text(manifest("one"))
    (tmp_path / "2-broken.yaml").write_text("{not: [valid\n")
    (tmp_path / "3-deployment.yaml").write_text("kind: Deployment\napiVersion: apps/v1\n")
    (tmp_path / "4-refused.yaml").write_text(
        manifest("late", hours="25") + "---\n" + manifest("four")
    )
    missing = tmp_path / "nowhere.yaml"

    code, out, err = run(
        capsys, "apply", "-f", str(tmp_path), "-f", str(missing), "--server", server
    )

    assert code == 1
    assert out.splitlines() == ["processdefinition/one applied", "processdefinition/four applied"]
    lines = err.splitlines()
    refused = f"error: {tmp_path / '4-refused.yaml'}: processdefinition/late: "
    assert lines == [
        f"error: {tmp_path / '2-broken.yaml'}: not valid YAML or JSON: "
        "line 2, column 1: expected ',' or ']', but got '<stream end>'",
        f"error: {tmp_path / '3-deployment.yaml'} (document 1): "
        "kind 'Deployment' is not ProcessDefinition",
        refused + lines[2].removeprefix(refused),
        f"error: {missing}: No such file or directory",
    ]
    assert lines[2].removeprefix(refused).startswith("schedule.cron_schedule.hours: ")
    assert err.count("schedule.cron_schedule.hours") == 1  # the server's 400 names it twice
    assert stored(server, capsys) == {"one", "four"}


def test_a_directory_without_manifests_says_so(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.yaml").write_text(manifest("a"))

    code, out, err = run(capsys, "apply", "-f", str(tmp_path), "--server", server)

    assert (code, out) == (1, "")
    assert err == (
        f"error: {tmp_path}: the directory holds no *.json, *.yaml, *.yml files"
        " (-R reads its subdirectories too)\n"
    )


def test_a_refused_token_is_reported_once(
    sqlite_engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "two.yaml"
    path.write_text(manifest("a") + "---\n" + manifest("b"))
    app = create_app(Settings(api_token=SecretStr("s3cret")), sqlite_engine)

    with live_server(app) as url:
        code, out, err = run(capsys, "apply", "-f", str(path), "--server", url)

    assert (code, out) == (1, "")
    assert len(err.splitlines()) == 1 and err.startswith("gnomon: "), err


def test_output_piped_to_head_ends_quietly(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """More output than a pipe holds, so the command writes after `head` has gone."""
    description = "x" * 2000
    path = tmp_path / "many.yaml"
    path.write_text(
        "---\n".join(manifest(f"d{i:03}", process_description=description) for i in range(150))
    )
    assert main(["apply", "-f", str(path), "--server", server]) == 0
    capsys.readouterr()
    env = {**os.environ, "PYTHONPATH": str(SRC), "GNOMON_SERVER": server}
    command = f"{sys.executable} -m gnomon get definitions -o json | head -1"

    result = subprocess.run(
        ["sh", "-c", command], env=env, capture_output=True, text=True, timeout=60
    )

    assert (result.stdout, result.stderr) == ("[\n", "")
