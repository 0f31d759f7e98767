"""What `kubectl get pd` prints, read from kubectl itself against the real API server: the CRD's
printer columns over the status the operator writes."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from kubernetes.client import ApiClient
from sqlalchemy.engine import Engine

from gnomon.storage.definitions import set_paused
from gnomon.storage.engine import transaction
from tests.clock import FakeClock
from tests.kubernetes.conftest import working_kubectl
from tests.operator.conftest import CRD_FILE, apply_crds
from tests.operator.kube import GROUP, PLURAL, VERSION, Kube, wait_for
from tests.operator.test_reconcile import spec
from tests.samples import DAILY_22H, docker_task
from tests.waiting import wait_until

pytestmark = pytest.mark.kubernetes
COLUMNS = ["NAME", "READY", "REASON", "SCHEDULE", "PAUSED", "NEXT RUN", "LAST STATUS", "AGE"]
NONE = ""  # kubectl prints an absent value as an empty cell
AT_22H = "2026-03-02T22:00:00.000Z"
DAILY_22H_WORDS = "cron 0 22 * * ? (UTC)"
BASE = "/api/process_definitions"

Row = dict[str, str]


class KubectlTable:
    """`kubectl get pd` in one namespace, parsed into rows by column name."""

    def __init__(self, kubectl: Path, kubeconfig: str, namespace: str) -> None:
        self._command = [str(kubectl), "--kubeconfig", kubeconfig, "-n", namespace]

    def header_and_rows(self) -> tuple[list[str], dict[str, Row]]:
        result = subprocess.run(
            [*self._command, "get", "pd"], capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0, result.stderr
        return parse_table(result.stdout)

    def row(self, name: str) -> Row:
        return self.header_and_rows()[1][name]

    def wait(self, name: str, **expected: str) -> Row:
        """The row of `name` once its columns (next_run means NEXT RUN) read `expected`."""
        wanted = {key.upper().replace("_", " "): value for key, value in expected.items()}
        return wait_until(
            lambda: self.row(name),
            lambda row: all(row.get(column) == value for column, value in wanted.items()),
            what=f"kubectl get pd {name} to show {wanted}",
            interval=0.2,
        )


def parse_table(text: str) -> tuple[list[str], dict[str, Row]]:
    """kubectl's table: column names start where their header starts (names hold single spaces,
    columns are apart by at least two)."""
    header, *lines = text.rstrip("\n").splitlines()
    starts = [match.start() for match in re.finditer(r"\S+(?: \S+)*", header)]
    spans = list(zip(starts, [*starts[1:], None], strict=True))
    names = [header[start:end].strip() for start, end in spans]
    rows: dict[str, Row] = {}
    for line in lines:
        cells = [line[start:end].strip() for start, end in spans]
        rows[cells[0]] = dict(zip(names, cells, strict=True))
    return names, rows


@pytest.fixture(scope="session")
def kubectl() -> Path:
    return working_kubectl()


@pytest.fixture
def table(kubectl: Path, kubeconfig: str, namespace: str, kube_api: ApiClient) -> KubectlTable:
    # The CRD is cluster-wide and the test API server may be shared with other test runs: apply
    # this tree's again, since its columns are what these tests read.
    apply_crds(kube_api, CRD_FILE)
    return KubectlTable(kubectl, kubeconfig, namespace)


def test_parse_table_keeps_values_with_spaces() -> None:
    text = (
        "NAME   SCHEDULE                PAUSED   NEXT RUN\n"
        "a      cron 0 22 * * ? (UTC)   false    <none>\n"
    )
    names, rows = parse_table(text)
    assert names == ["NAME", "SCHEDULE", "PAUSED", "NEXT RUN"]
    assert rows["a"] == {
        "NAME": "a",
        "SCHEDULE": DAILY_22H_WORDS,
        "PAUSED": "false",
        "NEXT RUN": "<none>",
    }


@pytest.mark.usefixtures("operator")
def test_columns_say_ready_schedule_pause_and_next_run(kube: Kube, table: KubectlTable) -> None:
    kube.create("nightly", spec(docker_task("extract"), schedule=DAILY_22H))

    row = table.wait("nightly", ready="True", next_run=AT_22H)

    assert table.header_and_rows()[0] == COLUMNS
    assert row["REASON"] == "Stored"
    assert (row["SCHEDULE"], row["PAUSED"], row["LAST STATUS"]) == (DAILY_22H_WORDS, "false", NONE)


@pytest.mark.usefixtures("operator")
def test_pause_and_resume_through_the_rest_api_show(
    kube: Kube, table: KubectlTable, client: TestClient
) -> None:
    kube.create("nightly", spec(docker_task("extract"), schedule=DAILY_22H))
    table.wait("nightly", ready="True", paused="false", next_run=AT_22H)
    url = f"{BASE}/{kube.namespace}.nightly"

    assert client.post(f"{url}/pause").status_code == 204
    table.wait("nightly", paused="true", next_run=NONE, ready="True")
    assert kube.status("nightly")["paused"] is True
    assert (kube.get("nightly") or {})["spec"]["paused"] is False  # the CRD's default

    assert client.post(f"{url}/resume").status_code == 204
    table.wait("nightly", paused="false", next_run=AT_22H)


@pytest.mark.usefixtures("operator")
def test_pause_written_to_the_store_shows(
    kube: Kube, table: KubectlTable, sqlite_engine: Engine, clock: FakeClock
) -> None:
    """The CLI and the UI end in the store's pause, as the REST API does."""
    kube.create("nightly", spec(docker_task("extract"), schedule=DAILY_22H))
    table.wait("nightly", ready="True", paused="false")

    with transaction(sqlite_engine) as session:
        set_paused(session=session, name=f"{kube.namespace}.nightly", paused=True, now=clock.now())

    table.wait("nightly", paused="true", next_run=NONE)


@pytest.mark.usefixtures("operator")
def test_continuous_schedule_shows_its_next_run_before_the_first_run(
    kube: Kube, table: KubectlTable
) -> None:
    every_20m = {"continuous_schedule": {"buffer_seconds": 1200}}
    kube.create("drain", spec(docker_task("only"), schedule=every_20m))

    # Created at the fake clock's 12:00, so due 20 minutes later, as the scheduler has it.
    row = table.wait("drain", ready="True", schedule="every 1200s")
    assert (row["NEXT RUN"], row["LAST STATUS"]) == ("2026-03-02T12:20:00.000Z", NONE)


AT_3H = {"cron_schedule": {**DAILY_22H["cron_schedule"], "hours": "3"}}
REJECTED = {
    "invalid-cron": spec(
        docker_task("a"), schedule={"cron_schedule": {**DAILY_22H["cron_schedule"], "hours": "25"}}
    ),
    "unknown-dependency": spec(docker_task("a", "ghost"), schedule=AT_3H),
    "cycle": spec(docker_task("a", "b"), docker_task("b", "a"), schedule=AT_3H),
}


@pytest.mark.parametrize("bad_spec", REJECTED.values(), ids=REJECTED.keys())
@pytest.mark.usefixtures("operator")
def test_a_resource_never_stored_shows_no_schedule(
    kube: Kube, table: KubectlTable, bad_spec: dict[str, Any]
) -> None:
    kube.create("bad", bad_spec)
    row = table.wait("bad", ready="False", reason="InvalidSpec")
    assert (row["SCHEDULE"], row["PAUSED"], row["NEXT RUN"]) == (NONE, NONE, NONE)

    # Stale fields (from a store the operator no longer uses, say) are removed on refresh.
    stale = {"schedule": DAILY_22H_WORDS, "paused": False, "nextRun": AT_22H}
    kube.objects.patch_namespaced_custom_object_status(
        GROUP, VERSION, kube.namespace, PLURAL, "bad", {"status": stale}
    )
    table.wait("bad", schedule=NONE, paused=NONE, next_run=NONE, ready="False")


@pytest.mark.parametrize("bad_spec", REJECTED.values(), ids=REJECTED.keys())
@pytest.mark.usefixtures("operator")
def test_a_rejected_update_shows_the_schedule_that_still_runs_as_the_last_accepted(
    kube: Kube, table: KubectlTable, bad_spec: dict[str, Any]
) -> None:
    kube.create("etl", spec(docker_task("a"), schedule=DAILY_22H))
    table.wait("etl", ready="True", schedule=DAILY_22H_WORDS, next_run=AT_22H)

    kube.patch_spec("etl", bad_spec)
    wait_for(
        lambda: (ready := kube.ready("etl")) and ready["status"] == "False",
        what="the rejection of generation 2",
    )

    # The stored spec keeps running on its schedule; the columns say whose schedule it is.
    row = table.wait("etl", ready="False", reason="InvalidSpec")
    assert row["SCHEDULE"] == f"last accepted: {DAILY_22H_WORDS}"
    assert (row["PAUSED"], row["NEXT RUN"]) == ("false", AT_22H)

    # The status refresh says so too, not only the handler of the rejected change.
    kube.objects.patch_namespaced_custom_object_status(
        GROUP, VERSION, kube.namespace, PLURAL, "etl", {"status": {"schedule": DAILY_22H_WORDS}}
    )
    table.wait("etl", schedule=f"last accepted: {DAILY_22H_WORDS}", ready="False")
