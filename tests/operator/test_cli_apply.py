"""`gnomon apply` and the operator name a namespaced manifest alike: the same YAML reaches the
same definition, so the CLI meets the resource's definition instead of making a second one."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import Engine

from gnomon.api.app import create_app
from gnomon.cli import main
from gnomon.settings import Settings
from tests.live import live_server
from tests.operator.kube import Kube, manifest, wait_for
from tests.operator.test_reconcile import spec, stored
from tests.samples import docker_task

pytestmark = pytest.mark.kubernetes


@pytest.mark.usefixtures("operator")
def test_the_cli_reaches_the_definition_the_operator_made(
    kube: Kube, sqlite_engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = manifest("nightly", spec(docker_task("extract")))
    document["metadata"]["namespace"] = kube.namespace
    path = tmp_path / "nightly.yaml"
    path.write_text(yaml.safe_dump(document))
    kube.create("nightly", document["spec"])
    wait_for(lambda: kube.ready("nightly"), what="a Ready condition")
    capsys.readouterr()

    with live_server(create_app(Settings(), sqlite_engine)) as url:
        code = main(["apply", "-f", str(path), "--server", url])

    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert f"processdefinition/{kube.namespace}.nightly: " in err
    assert f"ProcessDefinition {kube.namespace}/nightly" in err  # the 409 names the resource
    assert stored(sqlite_engine, "nightly") is None
