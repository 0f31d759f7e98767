"""`/processes/{process_id}`: one run (Sundial's "Process Detail").

The run's task graph with each task definition coloured by its latest attempt, a timeline of
every attempt, and per task definition Sundial's summary line and its attempts with their
reasons and metadata; **Kill** while the run is going, **Retry failed tasks** once it failed.
The run keeps the task definitions it started with, so the graph and the rows come from its
snapshots, not from the definition as it is now.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final

from fastapi import APIRouter, Request, Response
from markupsafe import Markup

from gnomon.api.deps import NowDep, SessionDep
from gnomon.domain import task_summary, topological_order
from gnomon.storage.run_detail import AttemptDetail, RunDetail, TaskSnapshot, run_detail
from gnomon.web.access import PageReadDep
from gnomon.web.errors import PageError, PageRoute
from gnomon.web.formatting import duration, shown_time
from gnomon.web.graph import GraphEdge, GraphNode, graph_svg
from gnomon.web.rendering import path_segment, render
from gnomon.web.timeline import timeline

log = logging.getLogger(__name__)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

_ID_CHARS: Final = 36
_UNKNOWN: Final = "There is no run with this id; it may have been removed."


@dataclass(frozen=True)
class TaskView:
    """A task definition of the run as its card, graph node and timeline row show it."""

    snapshot: TaskSnapshot
    attempts: tuple[AttemptDetail, ...]
    status: str | None
    """running, succeeded, failed, waiting (to start, or to retry), or None: did not run."""
    summary: str
    anchor: str
    started_at: datetime | None
    ended_at: datetime | None
    """When its last attempt ended; None while one runs or one is still to come."""
    took: str | None
    """From its first attempt's start to its last one's end (or now)."""
    failures: int

    @property
    def name(self) -> str:
        return self.snapshot.name

    def ran_on(self, attempt: AttemptDetail | None) -> str | None:
        """Where an attempt ran: its executor backend, or `shell` for a shell script (the
        executor state names the container backend for every attempt)."""
        kind = self.snapshot.executable_kind
        if kind == "shell" or attempt is None or attempt.backend is None:
            return kind
        return attempt.backend


@router.get("/processes/{process_id}")
def run(
    process_id: str, request: Request, session: SessionDep, now: NowDep, _: PageReadDep
) -> Response:
    """One run: its task graph, timeline, tasks and attempts."""
    detail = run_detail(session=session, process_id=_canonical(process_id))
    if detail is None:
        raise PageError(
            404, "No such run", "There is no run with this id; it may have been removed."
        )
    end = detail.ended_at or now
    tasks = task_views(detail, now)
    return render(
        request,
        "run.html",
        title=f"Run of {detail.definition}",
        run=detail,
        active=detail.ended_at is None,
        took=duration((end - detail.started_at).total_seconds()),
        tasks=tasks,
        graph=run_graph(detail, tasks),
        timeline=timeline(
            [task.name for task in tasks], detail.attempts, start=detail.started_at, end=end
        ),
        origin=_origin(detail),
        now=now,
        # Subscribed even once ended: a retry makes the run active again.
        live=f"/live/processes/{detail.process_id}",
    )


def _canonical(process_id: str) -> str:
    """The id as stored (lower-case UUID text); a malformed one is a page of its own."""
    try:
        if len(process_id) > _ID_CHARS:
            raise ValueError(process_id)
        return str(uuid.UUID(process_id))
    except ValueError:
        raise PageError(
            404, "No such run", "A run's id is a UUID, like the ones in the runs list."
        ) from None


def task_views(detail: RunDetail, now: datetime) -> list[TaskView]:
    """The run's task definitions in their defined order (only those its task filter names)."""
    by_task: dict[str, list[AttemptDetail]] = defaultdict(list)
    for attempt in detail.attempts:
        by_task[attempt.task].append(attempt)
    wanted = set(detail.task_filter) if detail.task_filter else None
    shown = [task for task in detail.tasks if wanted is None or task.name in wanted]
    blocked = _blocked(detail, shown, by_task)
    return [
        _task_view(detail, task, tuple(by_task[task.name]), task.name in blocked, now)
        for task in shown
    ]


def _blocked(
    detail: RunDetail, tasks: list[TaskSnapshot], by_task: dict[str, list[AttemptDetail]]
) -> set[str]:
    """Tasks that will never start: a required dependency failed for good, or will never run
    itself (the scheduler's rule; dependencies outside the task filter do not count)."""
    shown = {task.name for task in tasks}
    needs = {
        task.name: [d.name for d in task.dependencies if d.required and d.name in shown]
        for task in tasks
    }
    try:
        order = topological_order(needs)
    except ValueError:  # a cycle: the scheduler failed this run already; say nothing more
        return set()
    failed = {
        task.name for task in tasks if _final_status(detail, task, by_task[task.name]) == "failed"
    }
    blocked: set[str] = set()
    for name in order:
        if not by_task[name] and any(need in failed or need in blocked for need in needs[name]):
            blocked.add(name)
    return blocked


def _task_view(
    detail: RunDetail,
    task: TaskSnapshot,
    attempts: tuple[AttemptDetail, ...],
    blocked: bool,
    now: datetime,
) -> TaskView:
    status = None if blocked else node_status(detail, task, attempts)
    last = attempts[-1] if attempts else None
    started = attempts[0].started_at if attempts else None
    ended = last.ended_at if last and status not in ("running", "waiting") else None
    took = duration(((ended or now) - started).total_seconds()) if started else None
    view = TaskView(
        snapshot=task,
        attempts=attempts,
        status=status,
        summary="",
        anchor="task-" + path_segment(task.name),
        started_at=started,
        ended_at=ended,
        took=took,
        failures=sum(1 for attempt in attempts if attempt.status == "failed"),
    )
    summary = task_summary(
        "pending" if last and last.status == "pending" else status or "did not run",
        len(attempts),
        reason=last.reason if last and last.status == "failed" else None,
        executor=view.ran_on(last),
    )
    return replace(view, summary=summary)


def node_status(
    detail: RunDetail, task: TaskSnapshot, attempts: Sequence[AttemptDetail]
) -> str | None:
    """The latest attempt's status; `waiting` while the run goes on and the task will still
    start (or retry); None when it never ran and never will."""
    going = detail.ended_at is None and not detail.kill_requested
    if not attempts:
        return "waiting" if going else None
    return _final_status(detail, task, attempts)


def _final_status(
    detail: RunDetail, task: TaskSnapshot, attempts: Sequence[AttemptDetail]
) -> str | None:
    """The latest attempt's status, or `waiting` for a failure that will be retried."""
    if not attempts:
        return None
    going = detail.ended_at is None and not detail.kill_requested
    latest = attempts[-1].status
    if latest == "failed" and going and len(attempts) < task.max_attempts:
        return "waiting"
    if latest == "pending":  # its attempt waits for a slot: not started
        return "waiting"
    return latest


def run_graph(detail: RunDetail, tasks: list[TaskView]) -> Markup:
    shown = {task.name for task in tasks}
    nodes = [
        GraphNode(task.name, task.status, _node_lines(task), href="#" + task.anchor)
        for task in tasks
    ]
    edges = [
        GraphEdge(dependency.name, task.name, dependency.required)
        for task in tasks
        for dependency in task.snapshot.dependencies
        if dependency.name in shown
    ]
    return graph_svg(nodes, edges, label=f"Task graph of this run of {detail.definition}")


def _node_lines(task: TaskView) -> tuple[str, ...]:
    """Sundial's node label: the time range, the duration and the failures."""
    if task.started_at is None:
        return ("waiting to start",) if task.status == "waiting" else ("did not run",)
    until = shown_time(task.ended_at)[11:] if task.ended_at else "now"
    facts = [task.took or ""]
    if task.failures:
        facts.append(f"{task.failures} failure{'s' if task.failures != 1 else ''}")
    return (f"{shown_time(task.started_at)[11:]}–{until}", " · ".join(facts))


def _origin(detail: RunDetail) -> str:
    label = detail.origin
    if detail.task_filter:
        count = len(detail.task_filter)
        label += f" of {count} task{'s' if count != 1 else ''}"
    return label + (", retried" if detail.retried else "")
