"""What each client verb does and prints. Output is a plain table by default, JSON with -o json."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from gnomon.client.http import ApiClient
from gnomon.client.manifests import load_definitions


def apply(client: ApiClient, files: Sequence[str]) -> int:
    for file in files:
        text = sys.stdin.read() if file == "-" else Path(file).read_text()
        for body in load_definitions(text, "stdin" if file == "-" else file, check=True):
            name = body["process_definition_name"]
            client.request("PUT", f"/api/process_definitions/{quote(name, safe='')}", json=body)
            print(f"processdefinition/{name} applied")
    return 0


def get_definitions(client: ApiClient, output: str) -> int:
    definitions = client.request("GET", "/api/process_definitions/")
    if output == "json":
        print(json.dumps(definitions, indent=2))
        return 0
    rows = [
        [
            d["process_definition_name"],
            _schedule(d.get("schedule")),
            "yes" if d.get("paused") else "no",
            str(len(d["task_definitions"])),
        ]
        for d in definitions
    ]
    _table(["NAME", "SCHEDULE", "PAUSED", "TASKS"], rows)
    return 0


def get_runs(client: ApiClient, definition: str | None, limit: int, output: str) -> int:
    params: dict[str, Any] = {"max_records": limit}
    if definition:
        params["process_definition_name"] = definition
    runs = client.request("GET", "/api/processes/", params=params)
    if output == "json":
        print(json.dumps(runs, indent=2))
        return 0
    rows = [
        [
            r["process_id"],
            r["process_definition_name"],
            r["status"],
            r["start_time"],
            r.get("end_time", "-"),
            _attempts(r["task"]),
        ]
        for r in runs
    ]
    _table(["ID", "DEFINITION", "STATUS", "STARTED", "ENDED", "TASKS"], rows)
    return 0


def action(client: ApiClient, method: str, path: str, done: str, **params: Any) -> int:
    client.request(method, path, params={k: v for k, v in params.items() if v is not None})
    print(done)
    return 0


def _schedule(schedule: dict[str, Any] | None) -> str:
    if not schedule:
        return "manual"
    if "continuous_schedule" in schedule:
        return f"every {schedule['continuous_schedule'].get('buffer_seconds', 0)}s"
    cron = schedule["cron_schedule"]
    fields = [cron[k] for k in ("minutes", "hours", "day_of_month", "month", "day_of_week")]
    return f"{' '.join(fields)} {cron.get('time_zone', 'UTC')}"


def _attempts(tasks: list[dict[str, Any]]) -> str:
    latest: dict[str, str] = {}
    for task in sorted(tasks, key=lambda t: t["start_time"]):
        latest[task["task_definition_name"]] = task["status"]
    return ", ".join(f"{name}={status}" for name, status in latest.items()) or "-"


def _table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=False)]
    for row in [header, *rows]:
        print(
            "  ".join(
                str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)
            ).rstrip()
        )
