"""Gnomon's log formats name the Kubernetes resource a line is about."""

from __future__ import annotations

import json
import logging

from gnomon.logs import JsonFormatter, TextFormatter, about_resource


def record(message: str, **extra: object) -> logging.LogRecord:
    line = logging.LogRecord(
        "gnomon.operator.handlers", logging.INFO, __file__, 1, message, (), None
    )
    line.__dict__.update(extra)
    return line


def test_a_line_about_a_resource_names_namespace_and_name_in_both_formats() -> None:
    line = record("stored %s", **about_resource("team-a", "nightly"))
    line.args = ("it",)

    assert TextFormatter().format(line).endswith(": [team-a/nightly] stored it")
    entry = json.loads(JsonFormatter().format(line))
    assert (entry["namespace"], entry["name"], entry["message"]) == (
        "team-a",
        "nightly",
        "stored it",
    )
    assert line.msg == "stored %s"  # the record other handlers see is unchanged


def test_a_line_about_nothing_in_particular_has_no_resource_fields() -> None:
    line = record("started")

    assert TextFormatter().format(line).endswith(": started")
    assert not {"namespace", "name"} & set(json.loads(JsonFormatter().format(line)))


def test_a_cluster_scoped_resource_is_named_without_a_namespace() -> None:
    line = record("seen", k8s_ref={"name": "gnomon", "namespace": None})

    assert TextFormatter().format(line).endswith(": [gnomon] seen")
    entry = json.loads(JsonFormatter().format(line))
    assert entry["name"] == "gnomon" and "namespace" not in entry
