"""`gnomon describe run RUN_ID` and `gnomon describe definition NAME`: everything about one run
or definition that a person asks first, on one screen (kubectl describe's layout)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from rich.table import Table
from rich.text import Text

from gnomon.client.graph import task_tree
from gnomon.client.http import ApiClient, ApiError
from gnomon.client.output import Cell, print_data, print_renderable, print_table, status
from gnomon.client.runs import (
    RunFilter,
    attempts_table,
    duration,
    get_run,
    list_runs,
    runs_table,
)
from gnomon.client.times import absolute, ago, parse_wire
from gnomon.domain import DID_NOT_RUN, CronExpression, task_summary

FIRE_TIMES = 5
LAST_RUNS = 5


def get_definition(client: ApiClient, name: str) -> dict[str, Any]:
    definition: dict[str, Any] = client.request(
        "GET", f"/api/process_definitions/{quote(name, safe='')}"
    )
    return definition


def describe_run(client: ApiClient, run_id: str) -> int:
    run = get_run(client, run_id)
    now = datetime.now(UTC)
    definition = _definition_if_kept(client, run["process_definition_name"])
    started = parse_wire(run["start_time"])
    ended = parse_wire(run["end_time"]) if run.get("end_time") else None
    _fields(
        [
            ("Run", run["process_id"]),
            ("Definition", run["process_definition_name"]),
            ("Status", status(run["status"])),
            ("Started", _when(started, now)),
            ("Ended", _when(ended, now) if ended else "-"),
            ("Duration", duration(started, ended, now)),
            ("Scheduling error", run.get("scheduling_error")),
        ]
    )
    summaries = _summaries(run, definition)
    _section("Tasks")
    print_table(["TASK", "SUMMARY"], [[name, text] for name, text in summaries.items()])
    _section("Attempts")
    print_table(
        *attempts_table(run["task"], lambda started: _when(started, now), now, with_task_id=True)
    )
    _section("Metadata")
    _metadata(run["task"])
    _section("Graph")
    if definition is None:
        print("  (the definition is gone)")
    else:
        tree = task_tree(
            run["process_definition_name"],
            definition["task_definitions"],
            lambda name: Text(f"{name}: {summaries.get(name, DID_NOT_RUN)}"),
        )
        print_renderable(tree)
    return 0


def _definition_if_kept(client: ApiClient, name: str) -> dict[str, Any] | None:
    try:
        return get_definition(client, name)
    except ApiError as exc:
        if exc.status == 404:  # deleted since; its runs stay
            return None
        raise


def _summaries(run: dict[str, Any], definition: dict[str, Any] | None) -> dict[str, str]:
    """Sundial's one-line summary of each task (`Failed for reason: ... after 3 attempts`)."""
    names = [t["task_definition_name"] for t in (definition or {}).get("task_definitions", [])]
    attempts: dict[str, list[dict[str, Any]]] = {}
    for task in sorted(run["task"], key=lambda t: t["start_time"]):
        attempts.setdefault(task["task_definition_name"], []).append(task)
    summaries = {}
    for name in names + [n for n in attempts if n not in names]:
        tries = attempts.get(name, [])
        if not tries:
            waiting = run["status"] == "running"
            summaries[name] = task_summary("waiting" if waiting else DID_NOT_RUN, 0)
            continue
        latest = tries[-1]
        summaries[name] = task_summary(latest["status"], len(tries), latest.get("reason"))
    return summaries


def _metadata(tasks: list[dict[str, Any]]) -> None:
    rows: list[list[Cell]] = [
        [task["task_definition_name"], entry["key"], entry["value"], entry["when"]]
        for task in tasks
        for entry in task["metadata_entries"]
    ]
    if rows:
        print_table(["TASK", "KEY", "VALUE", "WHEN"], rows)
    else:
        print("  (none)")


def show_definition(client: ApiClient, name: str, output: str) -> int:
    """`get definition NAME`: its JSON or YAML (what `apply` takes back), or its table row."""
    from gnomon.client.commands import print_definitions

    definition = get_definition(client, name)
    if output in ("json", "yaml"):
        print_data(definition, output)
    else:
        print_definitions([definition], output)
    return 0


def describe_definition(client: ApiClient, name: str) -> int:
    definition = get_definition(client, name)
    now = datetime.now(UTC)
    schedule = definition.get("schedule")
    _fields(
        [
            ("Name", definition["process_definition_name"]),
            ("Description", definition.get("process_description")),
            ("Schedule", schedule_words(schedule)),
            ("Paused", "yes" if definition.get("paused") else "no"),
            ("Scheduling error", definition.get("scheduling_error")),
        ]
    )
    _section(f"Next {FIRE_TIMES} fire times")
    times = next_fire_times(schedule, now, FIRE_TIMES)
    for moment in times:
        print(f"  {_when(moment, now)}")
    if not times:
        print("  (none: not a cron schedule)")
    elif definition.get("paused"):
        print("  (paused: none of these starts a run until it is resumed)")
    _section("Tasks")
    print_table(*_task_rows(definition["task_definitions"]))
    _section("Graph")
    print_renderable(task_tree(name, definition["task_definitions"]))
    _section("Notifications")
    for line in notification_lines(definition.get("notifications") or []) or ["(none)"]:
        print(f"  {line}")
    _section(f"Last {LAST_RUNS} runs")
    runs = list_runs(client, RunFilter(definition=name, limit=LAST_RUNS))
    if runs:
        print_table(*runs_table(runs, wide=False, now=now))
    else:
        print("  (none)")
    return 0


def schedule_words(schedule: dict[str, Any] | None) -> str:
    """`cron 0 22 * * ? (Europe/Berlin)`, `continuous, 60s apart`, `continuous` or `manual`."""
    if not schedule:
        return "manual (runs only when triggered)"
    if "cron_schedule" in schedule:
        return f"cron {_cron(schedule['cron_schedule']).describe()}"
    buffer = (schedule.get("continuous_schedule") or {}).get("buffer_seconds", 0)
    return f"continuous, {buffer}s between runs" if buffer else "continuous"


def next_fire_times(schedule: dict[str, Any] | None, now: datetime, count: int) -> list[datetime]:
    """The next `count` fire times of a cron schedule, as the scheduler computes them."""
    if not schedule or "cron_schedule" not in schedule:
        return []
    cron = _cron(schedule["cron_schedule"])
    times: list[datetime] = []
    moment = now
    while len(times) < count:
        following = cron.next_after(moment)
        if following is None:  # past the end of the calendar
            break
        times.append(following)
        moment = following
    return times


def _cron(fields: dict[str, str]) -> CronExpression:
    return CronExpression.parse(
        minutes=fields["minutes"],
        hours=fields["hours"],
        day_of_month=fields["day_of_month"],
        month=fields["month"],
        day_of_week=fields["day_of_week"],
        time_zone=fields.get("time_zone", "UTC"),
    )


def _task_rows(tasks: list[dict[str, Any]]) -> tuple[list[str], list[list[Cell]]]:
    headers = ["TASK", "RUNS", "DEPENDS ON", "ATTEMPTS", "TIMEOUT"]
    rows: list[list[Cell]] = []
    for task in tasks:
        needs = [
            d["task_definition_name"] + ("" if d.get("success_required", True) else " (any end)")
            for d in task.get("dependencies") or []
        ]
        timeout = task.get("max_runtime_seconds")
        rows.append(
            [
                task["task_definition_name"],
                _executable(task["executable"]),
                ", ".join(needs) or "-",
                str(task.get("max_attempts", 1)),
                f"{timeout}s" if timeout else "-",
            ]
        )
    return headers, rows


def _executable(executable: dict[str, Any]) -> str:
    """`docker busybox:latest`, `batch ...`, `shell`."""
    for kind, word in (("docker_image_command", "docker"), ("batch_image_command", "batch")):
        if kind in executable:
            image = executable[kind]
            return f"{word} {image['image']}:{image.get('tag', 'latest')}"
    return "shell" if "shell_script_command" in executable else "?"


def notification_lines(notifications: list[dict[str, Any]]) -> list[str]:
    lines = []
    for notification in notifications:
        for kind, value in notification.items():
            target = value.get("email") or value.get("url") or value.get("service_key", "")
            when = value.get("notify_when")
            if kind == "pagerduty":
                target = "service key ***"  # a credential: never printed
                when = f"after {value.get('num_consecutive_failures', 1)} failures in a row"
            lines.append(f"{kind} {target}" + (f" ({when})" if when else ""))
    return lines


def _when(moment: datetime, now: datetime) -> str:
    return f"{absolute(moment)} ({ago(moment, now)})"


def _fields(pairs: list[tuple[str, str | Text | None]]) -> None:
    """`Name:  value` lines, values aligned; fields without a value are left out."""
    grid = Table.grid(padding=(0, 2))
    for name, value in pairs:
        if value is not None:
            grid.add_row(Text(f"{name}:"), value if isinstance(value, Text) else Text(value))
    print_renderable(grid)


def _section(title: str) -> None:
    print(f"\n{title}:")
