"""What each client verb does and prints. Output is an aligned table by default, JSON or YAML
with -o json|yaml (see `gnomon.client.output`)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

from gnomon.client.http import ApiClient, ApiError
from gnomon.client.manifests import MANIFEST_SUFFIXES, load_definitions, manifest_files
from gnomon.client.output import Cell, print_data, print_table
from gnomon.domain import ManifestError

_FOR_EVERY_DEFINITION: Final = (None, 401, 403)
"""Failures not of one definition: no server, no or a wrong token."""


def apply(client: ApiClient, filenames: Sequence[str], *, recursive: bool = False) -> int:
    """PUT every definition in `filenames` (files, directories, or - for stdin), as kubectl
    does: a file that cannot be read or parsed, or a definition the server refuses, is reported
    once on stderr and the rest still apply; 1 if anything failed. An unreachable server or a
    refused token ends the run (ApiError), since every other definition would fail the same way."""
    failed = False
    for filename in filenames:
        sources = _sources(filename, recursive=recursive)
        failed |= sources is None
        for source in sources or []:
            failed |= not _apply_file(client, source)
    return 1 if failed else 0


def _sources(filename: str, *, recursive: bool) -> list[str] | None:
    """The files `filename` stands for; None (said on stderr) for a directory without any."""
    path = Path(filename)
    if filename == "-" or not path.is_dir():
        return [filename]
    try:
        files = manifest_files(path, recursive=recursive)
    except OSError as exc:
        _error(f"{filename}: {exc.strerror or exc}")
        return None
    if not files:
        kinds = ", ".join(f"*{suffix}" for suffix in MANIFEST_SUFFIXES)
        hint = "" if recursive else " (-R reads its subdirectories too)"
        _error(f"{filename}: the directory holds no {kinds} files{hint}")
        return None
    return [str(file) for file in files]


def _apply_file(client: ApiClient, source: str) -> bool:
    label = "stdin" if source == "-" else source
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text()
        bodies = load_definitions(text, label)
    except ManifestError as exc:
        _error(str(exc))  # it names the file (and document) already
        return False
    except OSError as exc:
        _error(f"{label}: {exc.strerror or exc}")
        return False
    except UnicodeDecodeError:
        _error(f"{label}: not text (it is not UTF-8)")
        return False
    applied = [_put(client, body, label) for body in bodies]  # every one, even after a refusal
    return all(applied)


def _put(client: ApiClient, body: dict[str, Any], label: str) -> bool:
    name = body["process_definition_name"]
    try:
        client.request("PUT", f"/api/process_definitions/{quote(name, safe='')}", json=body)
    except ApiError as exc:
        if exc.status in _FOR_EVERY_DEFINITION:
            raise
        _error(f"{label}: processdefinition/{name}: {exc}")
        return False
    print(f"processdefinition/{name} applied")
    return True


def _error(message: str) -> None:
    sys.stdout.flush()  # keep stdout and stderr in order on a terminal
    print(f"error: {message}", file=sys.stderr)


def get_definitions(client: ApiClient, output: str) -> int:
    definitions = client.request("GET", "/api/process_definitions/")
    print_definitions(definitions, output)
    return 0


def print_definitions(definitions: list[dict[str, Any]], output: str) -> None:
    """As JSON or YAML, or a table (`wide` adds each definition's notifications count)."""
    if output in ("json", "yaml"):
        print_data(definitions, output)
        return
    headers = ["NAME", "SCHEDULE", "PAUSED", "TASKS"]
    if output == "wide":
        headers.append("NOTIFICATIONS")
    rows: list[list[Cell]] = []
    for d in definitions:
        row: list[Cell] = [
            d["process_definition_name"],
            _schedule(d.get("schedule")),
            "yes" if d.get("paused") else "no",
            str(len(d["task_definitions"])),
        ]
        if output == "wide":
            row.append(str(len(d.get("notifications") or [])))
        rows.append(row)
    print_table(headers, rows)


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
