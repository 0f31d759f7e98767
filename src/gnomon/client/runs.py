"""`gnomon get runs` (filters, formats, `-w`) and `gnomon get run RUN_ID`."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from gnomon.client.http import ApiClient
from gnomon.client.output import Cell, print_data, print_document, print_table, status
from gnomon.client.polling import Poller
from gnomon.client.times import absolute, ago, parse_wire, span
from gnomon.domain import format_wire_time


@dataclass(frozen=True)
class RunFilter:
    """What `get runs` asks the API for: Sundial's own query parameters."""

    definition: str | None = None
    statuses: list[str] = field(default_factory=list)
    since: datetime | None = None
    limit: int = 20

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"max_records": self.limit}
        if self.definition:
            params["process_definition_name"] = self.definition
        if self.statuses:
            params["allowed_statuses"] = self.statuses
        if self.since:
            params["start_time"] = format_wire_time(self.since)
        return params


def list_runs(client: ApiClient, query: RunFilter) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = client.request("GET", "/api/processes/", params=query.params())
    return runs


def get_run(client: ApiClient, run_id: str) -> dict[str, Any]:
    run: dict[str, Any] = client.request("GET", f"/api/processes/{quote(run_id, safe='')}")
    return run


def get_runs(client: ApiClient, query: RunFilter, output: str) -> int:
    runs = list_runs(client, query)
    if output in ("json", "yaml"):
        print_data(runs, output)
    else:
        headers, rows = runs_table(runs, wide=output == "wide", now=datetime.now(UTC))
        print_table(headers, rows)
    return 0


def runs_table(
    runs: list[dict[str, Any]], *, wide: bool, now: datetime
) -> tuple[list[str], list[list[Cell]]]:
    headers = ["ID", "DEFINITION", "STATUS", "STARTED", "DURATION", "TASKS"]
    if wide:
        headers[4:4] = ["ENDED"]
    return headers, [_run_row(run, wide=wide, now=now) for run in runs]


def _run_row(run: dict[str, Any], *, wide: bool, now: datetime) -> list[Cell]:
    started = parse_wire(run["start_time"])
    ended = parse_wire(run["end_time"]) if run.get("end_time") else None
    row: list[Cell] = [
        run["process_id"],
        run["process_definition_name"],
        status(run["status"]),
        absolute(started) if wide else ago(started, now),
        duration(started, ended, now),
        latest_statuses(run["task"]),
    ]
    if wide:
        row[4:4] = [absolute(ended) if ended else "-"]
    return row


def duration(started: datetime, ended: datetime | None, now: datetime) -> str:
    """How long it took, or has been running so far."""
    return span(((ended or now) - started).total_seconds())


def latest_statuses(tasks: list[dict[str, Any]]) -> str:
    """`extract=succeeded, load=running`: each task's latest attempt."""
    latest: dict[str, str] = {}
    for task in sorted(tasks, key=lambda t: t["start_time"]):
        latest[task["task_definition_name"]] = task["status"]
    return ", ".join(f"{name}={value}" for name, value in latest.items()) or "-"


def show_run(client: ApiClient, run_id: str, output: str) -> int:
    """`get run RUN_ID`: the run as JSON or YAML, or a table of its attempts."""
    run = get_run(client, run_id)
    if output in ("json", "yaml"):
        print_data(run, output)
        return 0
    now = datetime.now(UTC)

    def when(started: datetime) -> str:
        return absolute(started) if output == "wide" else ago(started, now)

    print_table(*attempts_table(run["task"], when, now, with_task_id=False))
    return 0


def attempts_table(
    tasks: list[dict[str, Any]],
    when: Callable[[datetime], str],
    now: datetime,
    *,
    with_task_id: bool,
) -> tuple[list[str], list[list[Cell]]]:
    """A run's attempts in start order: headers and rows, start times written by `when`."""
    headers = ["TASK", "ATTEMPT", "STATUS", "STARTED", "DURATION", "REASON"]
    rows: list[list[Cell]] = []
    for task in sorted(tasks, key=lambda t: t["start_time"]):
        started = parse_wire(task["start_time"])
        ended = parse_wire(task["end_time"]) if task.get("end_time") else None
        row: list[Cell] = [
            task["task_definition_name"],
            str(task["previous_attempt_count"] + 1),
            status(task["status"]),
            when(started),
            duration(started, ended, now),
            task.get("reason") or "-",
        ]
        rows.append([*row, task["task_id"]] if with_task_id else row)
    return ([*headers, "TASK ID"] if with_task_id else headers), rows


def watch_runs(client: ApiClient, query: RunFilter, output: str, poller: Poller) -> int:
    """`get runs -w`: the list once, then one line (or document) per run that starts or
    changes, until Ctrl-C."""
    runs = list(reversed(list_runs(client, query)))  # oldest first, as later changes follow
    seen = {run["process_id"]: _state(run) for run in runs}
    emit = _emitter(output, runs)
    while poller.wait():
        for run in reversed(list_runs(client, query)):
            if seen.get(run["process_id"]) != _state(run):
                seen[run["process_id"]] = _state(run)
                emit([run])
    return 0


def _state(run: dict[str, Any]) -> tuple[Any, ...]:
    return (run["status"], run.get("end_time"), latest_statuses(run["task"]))


ID_WIDTH = 36
"""A run id's length: the ID column is this wide from the start, even before the first run."""


def _emitter(output: str, first: list[dict[str, Any]]) -> Callable[[list[dict[str, Any]]], None]:
    """Prints `first` (the header too, even with no runs), and returns what prints each later
    change. Table columns only ever widen, so later lines stay under the header, as in
    kubectl's watch."""
    if output in ("json", "yaml"):

        def documents(runs: list[dict[str, Any]]) -> None:
            for run in runs:
                print_document(run, output)

        documents(first)
        return documents
    widths: list[int] = []

    def emit(runs: list[dict[str, Any]]) -> None:
        headers, rows = runs_table(runs, wide=output == "wide", now=datetime.now(UTC))
        header = not widths
        if header:
            widths.extend(len(name) for name in headers)
            widths[0] = ID_WIDTH
        for row in rows:
            widths[:] = [max(w, len(str(cell))) for w, cell in zip(widths, row, strict=True)]
        print_table(headers, rows, min_widths=widths, header=header)
        sys.stdout.flush()

    emit(first)
    return emit
