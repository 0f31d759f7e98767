"""`gnomon logs RUN_ID [-f]` and `gnomon trigger NAME --wait`: a run's log in time order, and
waiting for a run to end, by looking at the REST API at an interval (Sundial's clients have no
other channel, and a run's state and log are stored as they change)."""

from __future__ import annotations

import sys
from typing import Any
from urllib.parse import quote

from gnomon.client import exits
from gnomon.client.http import ApiClient
from gnomon.client.polling import Poller
from gnomon.client.runs import RunFilter, get_run, list_runs

ACTIVE = "running"
RECENT_RUNS = 50
"""Runs of a definition to look through for the one a trigger started; far more than start
between two looks."""


def log_lines(run: dict[str, Any], task: str | None) -> list[tuple[str, str, str]]:
    """Every log entry of the run (of one task, if given) in time order, as (id, time, line);
    each line names its task and source: `08:00:01 extract stdout  reading 3 files`."""
    entries = []
    for attempt in run["task"]:
        name = attempt["task_definition_name"]
        if task is not None and name != task:
            continue
        for entry in attempt["log_entries"]:
            entries.append((entry["when"], name, entry))
    entries.sort(key=lambda item: item[0])
    return [
        (entry["log_entry_id"], when, f"{when} {name} {entry['source']}  {entry['message']}")
        for when, name, entry in entries
    ]


def logs(client: ApiClient, run_id: str, task: str | None, follow: Poller | None) -> int:
    """Print the log; with `follow`, keep printing new entries until the run ends, then exit
    with its status."""
    run = get_run(client, run_id)
    if task is not None and follow is None and not _has_task(run, task):
        print(f"gnomon: run {run_id} has no task {task!r} (yet)", file=sys.stderr)
    printed: set[str] = set()
    _print_new(run, task, printed)
    if follow is None:
        return exits.OK
    while run["status"] == ACTIVE:
        if not follow.wait():
            return exits.TIMED_OUT
        run = get_run(client, run_id)
        _print_new(run, task, printed)
    return exits.for_status(run["status"])


def _has_task(run: dict[str, Any], task: str) -> bool:
    return any(attempt["task_definition_name"] == task for attempt in run["task"])


def _print_new(run: dict[str, Any], task: str | None, printed: set[str]) -> None:
    for entry_id, _, line in log_lines(run, task):
        if entry_id not in printed:
            printed.add(entry_id)
            print(line)
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
