"""The definition page's source: the manifest's YAML reads back as exactly the stored text."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st

from gnomon.client import load_definitions
from gnomon.web.definition_source import (
    json_text,
    kubernetes_name_problem,
    manifest_text,
)
from tests.samples import sample_process

TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=60)


@given(script=TEXT, description=TEXT)
def test_any_text_reads_back_from_the_manifest(script: str, description: str) -> None:
    body: dict[str, Any] = sample_process("any")
    body["process_description"] = description
    body["task_definitions"][1]["executable"]["shell_script_command"]["script"] = script

    assert load_definitions(manifest_text(body, None), "page") == [body]


def test_scripts_read_as_written() -> None:
    body = sample_process("any")
    text = manifest_text(body, None)
    assert "script: |-\n" in text
    assert "          echo hi\n          echo '**status=success'\n" in text


def test_the_json_is_indented_and_keeps_unicode() -> None:
    assert json_text({"a": ["ü"]}) == '{\n  "a": [\n    "ü"\n  ]\n}'


def test_names_kubectl_takes() -> None:
    assert kubernetes_name_problem("etl.nightly-2") is None
    assert kubernetes_name_problem("ETL") is not None
    assert kubernetes_name_problem("a_b") is not None
    assert kubernetes_name_problem("x" * 254) is not None
    assert yaml.safe_load(manifest_text(sample_process("n"), "ProcessDefinition ns/m"))[
        "metadata"
    ] == {"name": "m", "namespace": "ns"}
