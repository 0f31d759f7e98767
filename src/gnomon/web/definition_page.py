"""`/process_definitions/{name}`: one definition, all of it, and its actions one click away.

Its schedule in words and as written, the next fire times in its zone and in UTC (the scheduler's
own cron rule, clock changes included); its task graph and task definitions; its notifications;
its last hundred runs as a table and as a chart of durations over time; and the definition as
Sundial's JSON and as a `ProcessDefinition` manifest, to copy. The buttons (Trigger, Pause or
Resume, Trigger task, Delete) are forms posting to the UI's action routes; after one, the page is
shown again with `?done=<word>` (`notices`).

An unknown or impossible name is a 404 page; the name is never looked up unless it could be one.
"""

from __future__ import annotations

import json
import logging
import re
import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from fastapi import APIRouter, Request, Response
from markupsafe import Markup

from gnomon.api.deps import NowDep, SessionDep
from gnomon.domain import NAME_PATTERN, naming
from gnomon.errors import NotFoundError
from gnomon.storage.definition_detail import DefinitionDetail, PastRun, definition_detail
from gnomon.web.access import PageReadDep
from gnomon.web.charts import NARROW, WIDE, ChartPoint, duration_chart
from gnomon.web.definition_source import (
    json_text,
    kubernetes_name_problem,
    manifest_text,
)
from gnomon.web.errors import PageError, PageRoute
from gnomon.web.formatting import duration, relative, shown_time
from gnomon.web.graph import GraphEdge, GraphNode, graph_svg
from gnomon.web.rendering import render
from gnomon.web.schedules import ScheduleView, fire_times, next_run, schedule_view
from gnomon.web.task_views import TaskView, notification_view, task_view

log = logging.getLogger(__name__)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

HISTORY: Final = 100
"""Runs the page lists and charts."""
FIRE_TIMES: Final = 5
_NAME: Final = re.compile(NAME_PATTERN.strip("^$"))
_MAX_NAME: Final = 200
_SHOWN_NAME: Final = 80


@dataclass(frozen=True)
class RunRow:
    """A row of the run history."""

    run: PastRun
    duration: str
    """How long it took, or has been running so far."""


@dataclass(frozen=True)
class RunStats:
    """The last runs in one line: how many went which way, and their usual duration."""

    total: int
    succeeded: int
    failed: int
    running: int
    median: str | None
    """Median duration of the finished runs."""


@dataclass(frozen=True)
class Header:
    """What the page's head says of the definition."""

    name: str
    description: str | None
    paused: bool
    resource: str | None
    """`namespace/name` of the `ProcessDefinition` resource that owns it, if one does."""
    scheduling_error: str | None
    overlap_action: str
    open_triggers: int


@router.get("/process_definitions/{name:path}")
def definition_page(
    name: str, request: Request, session: SessionDep, now: NowDep, _: PageReadDep
) -> Response:
    """One definition: its schedule, tasks, notifications, runs and source."""
    if len(name) > _MAX_NAME or not _NAME.fullmatch(name):
        raise _unknown(name)
    try:
        detail = definition_detail(session=session, name=name, history=HISTORY)
    except NotFoundError:
        raise _unknown(name) from None
    return render(
        request,
        "definition.html",
        title=name,
        live="/live/definitions",
        **page_context(detail, now),
    )


def page_context(detail: DefinitionDetail, now: datetime) -> dict[str, Any]:
    body = detail.body
    schedule = schedule_view(_schedule_text(body))
    runs = detail.runs
    upcoming = _next_run(detail, schedule, now)
    tasks = [task_view(task) for task in body.get("task_definitions", [])]
    return {
        "head": _header(detail),
        "schedule": schedule,
        "next_run": upcoming,
        "next_run_words": relative(upcoming, now) if upcoming and upcoming > now else "due now",
        "fire_times": fire_times(schedule, now, FIRE_TIMES),
        "tasks": tasks,
        "graph": task_graph(detail.name, tasks),
        "notifications": [notification_view(n) for n in body.get("notifications", [])],
        "rows": [RunRow(run, duration(_seconds(run, now))) for run in runs],
        "stats": run_stats(runs, now),
        "charts": _charts(detail.name, runs, now),
        "json_text": json_text(body),
        "manifest_text": manifest_text(body, detail.owner),
        "manifest_problem": kubernetes_name_problem(
            (naming.owning_resource(detail.owner) or ("", detail.name))[1]
        ),
        "relative": lambda moment: relative(moment, now),
    }


def task_graph(name: str, tasks: list[TaskView]) -> Markup:
    """The definition's task graph: its task definitions, none run, each linking to its card;
    solid arrows for dependencies that must succeed, dashed for those that may fail."""
    nodes = [
        GraphNode(task.name, None, _graph_lines(task), href=f"#task-{task.name}") for task in tasks
    ]
    edges = [
        GraphEdge(dependency.name, task.name, dependency.required)
        for task in tasks
        for dependency in task.dependencies
    ]
    return graph_svg(nodes, edges, label=f"Task graph of {name}")


def _graph_lines(task: TaskView) -> tuple[str, ...]:
    if task.problem:
        return ("unreadable",)
    if task.max_attempts > 1:
        return (task.kind, f"up to {task.max_attempts} attempts")
    return (task.kind,)


def _header(detail: DefinitionDetail) -> Header:
    body = detail.body
    resource = naming.owning_resource(detail.owner)
    return Header(
        name=detail.name,
        description=body.get("process_description"),
        paused=bool(body.get("paused")),
        resource="/".join(resource) if resource else None,
        scheduling_error=body.get("scheduling_error"),
        overlap_action=str(body.get("overlap_action", "wait")),
        open_triggers=detail.open_triggers,
    )


def _schedule_text(body: dict[str, object]) -> str | None:
    schedule = body.get("schedule")
    return None if schedule is None else json.dumps(schedule, sort_keys=True)


def _next_run(detail: DefinitionDetail, schedule: ScheduleView, now: datetime) -> datetime | None:
    body = detail.body
    return next_run(
        schedule,
        name=detail.name,
        paused=bool(body.get("paused")),
        overlap_action=str(body.get("overlap_action", "wait")),
        created_at=detail.created_at,
        last_started_at=detail.runs[0].started_at if detail.runs else None,
        now=now,
    )


def run_stats(runs: list[PastRun], now: datetime) -> RunStats:
    finished = [_seconds(run, now) for run in runs if run.ended_at is not None]
    return RunStats(
        total=len(runs),
        succeeded=sum(run.status == "succeeded" for run in runs),
        failed=sum(run.status == "failed" for run in runs),
        running=sum(run.status == "running" for run in runs),
        median=duration(statistics.median(finished)) if finished else None,
    )


def _charts(name: str, runs: list[PastRun], now: datetime) -> Markup:
    points = [_point(run, now) for run in runs]
    label = f"Durations of the last {len(runs)} runs of {name}, by start time"
    wide = duration_chart(points, label=label, size=WIDE, css_class="chart-wide")
    narrow = duration_chart(points, label=label, size=NARROW, css_class="chart-narrow")
    return wide + narrow


def _point(run: PastRun, now: datetime) -> ChartPoint:
    seconds = _seconds(run, now)
    took = f"running for {duration(seconds)}" if run.ended_at is None else duration(seconds)
    label = f"{shown_time(run.started_at)} UTC · {run.status} · {took}"
    return ChartPoint(run.started_at, seconds, run.status, f"/processes/{run.process_id}", label)


def _seconds(run: PastRun, now: datetime) -> float:
    end = run.ended_at or now
    return max((end - run.started_at).total_seconds(), 0.0)


def _unknown(name: str) -> PageError:
    shown = name if len(name) <= _SHOWN_NAME else name[:_SHOWN_NAME] + "…"
    return PageError(
        404,
        "No such definition",
        f"There is no process definition named {shown!r}. It may have been deleted or renamed; "
        "the definitions page lists every one.",
    )
