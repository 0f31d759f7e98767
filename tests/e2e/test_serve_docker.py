"""End to end on a real Docker engine: callbacks from inside a container, and a SIGKILL of
`gnomon serve` with ten tasks running that loses none and duplicates none."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.e2e.conftest import Gnomon
from tests.images import BUSYBOX_REPOSITORY, BUSYBOX_TAG
from tests.waiting import wait_for

pytestmark = pytest.mark.docker

CALL_BACK = r"""
set -e
hostport=${GNOMON_URL#http://}; host=${hostport%:*}; port=${hostport##*:}
ip=$(awk -v h="$host" '$2 == h {print $1; exit}' /etc/hosts)
post() {
  head='POST %s HTTP/1.0\r\nAuthorization: Bearer %s\r\nContent-Length: %s\r\n'
  printf "$head"'Content-Type: application/json\r\n\r\n%s' \
    "$1" "$GNOMON_TASK_TOKEN" "${#2}" "$2" | nc "${ip:-$host}" "$port"
}
id=$(cat /proc/sys/kernel/random/uuid)
entry="{\"metadata_entry_id\":\"$id\",\"when\":\"2026-01-01T00:00:00Z\""
post "/api/tasks/$GNOMON_TASK_ID/metadata" "[$entry,\"key\":\"rows\",\"value\":\"42\"}]"
post "/api/tasks/$GNOMON_TASK_ID/succeed" ""
echo done
"""


def container_task(name: str, script: str, **extra: Any) -> dict[str, Any]:
    command = {"image": BUSYBOX_REPOSITORY, "tag": BUSYBOX_TAG, "command": ["sh", "-c", script]}
    return {
        "task_definition_name": name,
        "executable": {"docker_image_command": command},
        **extra,
    }


def put(gnomon: Gnomon, name: str, *tasks: dict[str, Any], token: str | None = None) -> None:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    body = {"process_definition_name": name, "task_definitions": list(tasks)}
    response = gnomon.http.put(f"/api/process_definitions/{name}", json=body, headers=headers)
    assert response.status_code == 200, response.text


def finished(runs: list[dict[str, Any]]) -> bool:
    return bool(runs) and runs[0]["status"] != "running"


def test_a_job_calls_back_with_its_own_token(gnomon: Gnomon) -> None:
    gnomon.env["GNOMON_API_TOKEN"] = "operator-secret"
    gnomon.start()
    auth = {"authorization": "Bearer operator-secret"}
    put(
        gnomon,
        "callback",
        container_task("cb", CALL_BACK, require_explicit_success=True),
        token="operator-secret",
    )
    assert (
        gnomon.http.post("/api/process_definitions/callback/trigger", headers=auth).status_code
        == 204
    )
    run = gnomon.wait_for("/api/processes/", finished)[0]
    task = run["task"][0]
    assert run["status"] == "succeeded", task
    assert [(m["key"], m["value"]) for m in task["metadata_entries"]] == [("rows", "42")]
    messages = [e["message"] for e in task["log_entries"] if e["source"] == "stdout"]
    assert "done" in messages
    assert "operator-secret" not in gnomon.http.get("/api/processes/").text


def test_sigkill_with_ten_running_tasks_loses_and_duplicates_nothing(
    gnomon: Gnomon, docker_client: Any
) -> None:
    # Ten at once whatever this machine's CPUs make of the default limit (4 per CPU).
    gnomon.env["GNOMON_MAX_RUNNING_TASKS"] = "10"
    gnomon.start()
    tasks = [container_task(f"t{i}", "sleep 4; echo finished") for i in range(10)]
    put(gnomon, "ten", *tasks)
    assert gnomon.http.post("/api/process_definitions/ten/trigger").status_code == 204

    def ten_running(runs: list[dict[str, Any]]) -> bool:
        states = [s for r in runs for t in r["task"] for s in t.get("execution_state", [])]
        return sum(1 for s in states if s["key"] == "status" and s["value"] == "Running") == 10

    gnomon.wait_for("/api/processes/", ten_running, timeout=60)
    gnomon.kill()
    gnomon.start()
    run = gnomon.wait_for("/api/processes/", finished, timeout=90)[0]
    attempts = Counter(t["task_definition_name"] for t in run["task"])
    assert attempts == Counter({f"t{i}": 1 for i in range(10)}), run
    assert run["status"] == "succeeded", [
        (t["task_definition_name"], t.get("reason")) for t in run["task"]
    ]
    for task in run["task"]:
        stdout = [e["message"] for e in task["log_entries"] if e["source"] == "stdout"]
        assert stdout == ["finished"], task  # printed once, even if Gnomon was down meanwhile
    assert len(gnomon.http.get("/api/processes/").json()) == 1
    leftovers = docker_client.containers.list(
        all=True, filters={"label": "dev.gnomon.managed=true"}
    )
    assert [
        c for c in leftovers if c.labels.get("dev.gnomon.process-id") == run["process_id"]
    ] == []


def test_a_job_past_its_runtime_limit_is_stopped_and_retried(
    gnomon: Gnomon, docker_client: Any
) -> None:
    gnomon.env["GNOMON_KILL_GRACE_SECONDS"] = "1"
    gnomon.start()
    slow = container_task("slow", "echo begun; sleep 60", max_runtime_seconds=2, max_attempts=2)
    put(gnomon, "limited", slow)
    assert gnomon.http.post("/api/process_definitions/limited/trigger").status_code == 204
    run = gnomon.wait_for("/api/processes/", finished, timeout=60)[0]
    assert run["status"] == "failed"
    assert [(t["status"], t.get("reason")) for t in run["task"]] == [
        ("failed", "exceeded max_runtime_seconds (2 s)")
    ] * 2
    assert all("begun" in [e["message"] for e in t["log_entries"]] for t in run["task"])
    task_ids = {t["task_id"] for t in run["task"]}

    def gone() -> bool:
        found = docker_client.containers.list(
            all=True, filters={"label": "dev.gnomon.managed=true"}
        )
        return not [c for c in found if c.labels.get("dev.gnomon.task-id") in task_ids]

    # The attempt ends at once; stopping (SIGTERM, 1 s grace, SIGKILL) and removal follow.
    wait_for(gone, what="the stopped containers to be removed", timeout=30)
