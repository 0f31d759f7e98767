"""`gnomon apply` sends YAML as JSON: the strict models still take every example as written,
and refuse a hostile manifest with the field at fault."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from gnomon.cli import main
from gnomon.domain.definitions import ProcessDefinitionSpec

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))


def test_every_example_applies_and_reads_back(
    server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["apply", *[f"-f={path}" for path in EXAMPLES], "--server", server]) == 0
    names = [yaml.safe_load(path.read_text())["metadata"]["name"] for path in EXAMPLES]
    assert capsys.readouterr().out.splitlines() == [f"processdefinition/{n} applied" for n in names]

    assert main(["get", "definitions", "-o", "json", "--server", server]) == 0
    stored = {d["process_definition_name"]: d for d in json.loads(capsys.readouterr().out)}
    assert sorted(stored) == sorted(names)
    for path in EXAMPLES:
        manifest = yaml.safe_load(path.read_text())
        got = stored.pop(manifest["metadata"]["name"])
        del got["process_definition_name"]
        expected = ProcessDefinitionSpec.model_validate(manifest["spec"])
        assert ProcessDefinitionSpec.model_validate(got) == expected, path.name


def test_a_hostile_manifest_is_refused_naming_the_field(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = yaml.safe_load(EXAMPLES[0].read_text())
    manifest["spec"]["task_definitions"][0]["max_attempts"] = True
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(manifest))

    assert main(["apply", "-f", str(path), "--server", server]) != 0
    err = capsys.readouterr().err
    assert "task_definitions[0].max_attempts" in err, err


def test_no_attempts_is_refused_by_the_same_rules_and_the_rest_applies(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = yaml.safe_load(EXAMPLES[0].read_text())
    bad = yaml.safe_load(EXAMPLES[0].read_text())
    bad["metadata"]["name"] = "no-attempts"
    bad["spec"]["task_definitions"][0]["max_attempts"] = 0
    path = tmp_path / "two.yaml"
    path.write_text(yaml.safe_dump_all([good, bad]))

    assert main(["apply", "-f", str(path), "--server", server]) == 1  # as kubectl: one failed
    out, err = capsys.readouterr()
    assert out == f"processdefinition/{good['metadata']['name']} applied\n"
    (refusal,) = [line for line in err.splitlines() if line.startswith("error: ")]  # said once
    assert refusal.startswith(f"error: {path}: processdefinition/no-attempts: ")
    assert "task_definitions[0].max_attempts: Input should be greater than or equal to 1" in err
    assert main(["get", "definitions", "-o", "json", "--server", server]) == 0
    stored = [d["process_definition_name"] for d in json.loads(capsys.readouterr().out)]
    assert stored == [good["metadata"]["name"]]
