"""`gnomon logs RUN_ID [-f]` and `gnomon trigger NAME --wait`: a run's log in time order, and
waiting for a run to end, by looking at the REST API at an interval (Sundial's clients have no
other channel, and a run's state and log are stored as they change)."""

from __future__ import annotations

import sys
from typing import Any
from urllib.parse import quote

from gnomon.client import exits
from gnomon.client.http import ApiClient
from gnomon.client.output import print_document
from gnomon.client.polling import Poller
from gnomon.client.runs import RunFilter, get_run, list_runs

ACTIVE = "running"
RECENT_RUNS = 50
"""Runs of a definition to look through for the one a trigger started; far more than start
between two looks."""


def log_entries(run: dict[str, Any], task: str | None) -> list[dict[str, Any]]:
    """Every log entry of the run (of one task, if given) in time order, each with its task's
    name, attempt and id added."""
    entries = []
    for attempt in run["task"]:
        name = attempt["task_definition_name"]
        if task is not None and name != task:
            continue
        for entry in attempt["log_entries"]:
            entries.append(
                {
                    **entry,
                    "task_definition_name": name,
                    "attempt": attempt["previous_attempt_count"] + 1,
                    "task_id": attempt["task_id"],
                }
            )
    entries.sort(key=lambda entry: str(entry["when"]))
    return entries


def log_line(entry: dict[str, Any], output: str) -> str:
    """`2026-11-30T08:00:01.000Z extract stdout  reading 3 files`; `-o wide` adds the attempt
    (`extract#2`)."""
    task = entry["task_definition_name"]
    if output == "wide":
        task += f"#{entry['attempt']}"
    return f"{entry['when']} {task} {entry['source']}  {entry['message']}"


def logs(
    client: ApiClient, run_id: str, task: str | None, output: str, follow: Poller | None
) -> int:
    """Print the log (lines, or one JSON object or YAML document per entry); with `follow`, keep
    printing new entries until the run ends, then exit with its status."""
    run = get_run(client, run_id)
    if task is not None and follow is None and not _has_task(run, task):
        print(f"gnomon: run {run_id} has no task {task!r} (yet)", file=sys.stderr)
    printed: set[str] = set()
    _print_new(run, task, output, printed)
    if follow is None:
        return exits.OK
    while run["status"] == ACTIVE:
        if not follow.wait():
            return exits.TIMED_OUT
        run = get_run(client, run_id)
        _print_new(run, task, output, printed)
    return exits.for_status(run["status"])


def _has_task(run: dict[str, Any], task: str) -> bool:
    return any(attempt["task_definition_name"] == task for attempt in run["task"])


def _print_new(run: dict[str, Any], task: str | None, output: str, printed: set[str]) -> None:
    for entry in log_entries(run, task):
        if entry["log_entry_id"] in printed:
            continue
        printed.add(entry["log_entry_id"])
        if output in ("json", "yaml"):
            print_document(entry, output)
        else:
            print(log_line(entry, output))
    sys.stdout.flush()


def trigger_and_wait(client: ApiClient, name: str, task: str | None, poller: Poller) -> int:
    """Trigger a run, print its id as soon as the scheduler has started it, wait for it to end
    and exit with its status (124 if `poller` times out first).

    The API answers a trigger with no id (Sundial's does not), so the run is the first run of
    the definition that was not there before the trigger.
    """
    query = RunFilter(definition=name, limit=RECENT_RUNS)
    before = {run["process_id"] for run in list_runs(client, query)}
    params = {"task_definition_name": task} if task else {}
    client.request(
        "POST", f"/api/process_definitions/{quote(name, safe='')}/trigger", params=params
    )
    run = None
    while run is None:
        if not poller.wait():
            print(f"gnomon: the triggered run of {name} has not started", file=sys.stderr)
            return exits.TIMED_OUT
        new = [r for r in list_runs(client, query) if r["process_id"] not in before]
        run = min(new, key=lambda r: r["start_time"]) if new else None
    print(run["process_id"], flush=True)
    while run["status"] == ACTIVE:
        if not poller.wait():
            print(f"gnomon: run {run['process_id']} is still running", file=sys.stderr)
            return exits.TIMED_OUT
        run = get_run(client, run["process_id"])
    print(f"run {run['process_id']} {run['status']}")
    return exits.for_status(run["status"])
