"""The operator's log lines about a resource name it, in both log formats.

The operator runs against the real API server and the lines are captured as logged (kopf's
per-object lines and Gnomon's own), then formatted by Gnomon's text and JSON formatters: every
line about a resource must carry its namespace and name.
"""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy.engine import Engine

from gnomon.logs import JsonFormatter, TextFormatter
from gnomon.storage.engine import make_engine
from tests.operator.conftest import StartOperator
from tests.operator.kube import Kube, wait_for
from tests.operator.test_reconcile import spec
from tests.samples import docker_task

pytestmark = pytest.mark.kubernetes
UNREACHABLE_STORE = "postgresql+psycopg://gnomon@127.0.0.1:1/gnomon"
# One line per outcome: stored, rejected, rejection already reported, store error, deleted.
OUTCOMES = (
    ("good", "Handler 'processdefinition_change' succeeded."),
    ("bad", "Handler 'processdefinition_change' failed permanently: spec.task_definitions"),
    ("bad", "InvalidSpec already reported, no new event"),
    ("unstored", "Handler 'processdefinition_change' failed temporarily: store error"),
    ("good", "deleted process definition"),
)
STORE_ERROR = OUTCOMES[3][1]


def test_every_line_about_a_resource_names_it(
    kube: Kube, start_operator: StartOperator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    first = start_operator()
    kube.create("good", spec())
    kube.create("bad", spec(docker_task("a", "ghost")))
    wait_for(lambda: kube.ready("good"), what="good Ready")
    wait_for(lambda: kube.handled("bad"), what="bad handled")
    kube.delete("good")
    wait_for(lambda: kube.get("good") is None, what="good deleted")
    first.stop()
    broken: Engine = make_engine(UNREACHABLE_STORE)
    second = start_operator(engine=broken)  # resumes "bad": the rejection is reported already
    kube.create("unstored", spec())
    # Each resource's own line, and the handler's: "bad" too fails temporarily now, reading the
    # store after its rejection, and so does the timer of "unstored", which may come first.
    wait_for(lambda: _logged(caplog, STORE_ERROR, "unstored"), what="the handler's store error")
    wait_for(lambda: _logged(caplog, "already reported"), what="bad resumed")
    second.stop()
    broken.dispose()

    lines = [r for r in caplog.records if _about_resources(r)]
    for name, message in OUTCOMES:
        assert any(_resource_name(r) == name and message in r.getMessage() for r in lines), (
            f"no line {message!r} about {name}"
        )
    text, as_json = TextFormatter(), JsonFormatter()
    for record in lines:
        resource = _resource_name(record)
        assert resource in {"good", "bad", "unstored"}, record.getMessage()
        assert f"[{kube.namespace}/{resource}] " in text.format(record)
        entry = json.loads(as_json.format(record))
        assert (entry["namespace"], entry["name"]) == (kube.namespace, resource), entry


def _about_resources(record: logging.LogRecord) -> bool:
    """kopf's per-object lines, and every line of the operator's handlers and store access."""
    return record.name == "kopf.objects" or record.name in {
        "gnomon.operator.handlers",
        "gnomon.operator.reconcile",
    }


def _resource_name(record: logging.LogRecord) -> str | None:
    reference = record.__dict__.get("k8s_ref") or {}
    name = reference.get("name")
    return str(name) if name else None


def _logged(caplog: pytest.LogCaptureFixture, text: str, about: str | None = None) -> bool:
    return any(
        text in r.getMessage() and (about is None or _resource_name(r) == about)
        for r in caplog.records
    )
