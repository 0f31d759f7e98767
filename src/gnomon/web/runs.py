"""`/`: Sundial's "Process Log", the latest runs newest first, with filters and paging.

A banner lists the trigger requests no run has taken up yet, as Sundial's did; each run shows
where it came from (its schedule, a trigger, a retry), its times, and a chip per task definition
with the latest attempt's status.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from fastapi import APIRouter, Request, Response

from gnomon.api.deps import NowDep, SessionDep
from gnomon.storage.overview import RunPage, RunSummary, open_triggers, run_page
from gnomon.web.access import PageReadDep
from gnomon.web.errors import PageRoute
from gnomon.web.formatting import duration, relative
from gnomon.web.rendering import render
from gnomon.web.run_filters import DEFAULT_PAGE_SIZE, RunFilters, form_time, read_run_filters

log = logging.getLogger(__name__)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

TRIGGERS_SHOWN: Final = 10
"""Open trigger requests the banner names; it counts the rest."""


@dataclass(frozen=True)
class RunRow:
    """A run as its row shows it."""

    run: RunSummary
    origin: str
    duration: str
    """How long it took, or has been running so far."""


@dataclass(frozen=True)
class Pager:
    """The links to the newer and older pages, where there are some."""

    newest: str | None
    newer: str | None
    older: str | None


@router.get("/")
def runs(request: Request, session: SessionDep, now: NowDep, _: PageReadDep) -> Response:
    """The latest runs, newest first."""
    filters, query = read_run_filters(request.query_params)
    page = run_page(session=session, query=query)
    triggers = open_triggers(session=session, limit=TRIGGERS_SHOWN)
    return render(
        request,
        "runs.html",
        title="Runs",
        live="/live/runs",
        filters=filters,
        rows=[run_row(run, now) for run in page.runs],
        pager=pager(filters, page),
        triggers=triggers,
        relative=lambda moment: relative(moment, now),
        form_time=form_time,
        default_limit=DEFAULT_PAGE_SIZE,
    )


def run_row(run: RunSummary, now: datetime) -> RunRow:
    end = run.ended_at or now
    return RunRow(run, origin_label(run), duration((end - run.started_at).total_seconds()))


def origin_label(run: RunSummary) -> str:
    """`schedule`, `trigger`, `trigger of 2 tasks`; `, retried` after a retry request."""
    label = run.origin
    if run.task_filter:
        count = len(run.task_filter)
        label += f" of {count} task{'s' if count != 1 else ''}"
    return label + (", retried" if run.retried else "")


def pager(filters: RunFilters, page: RunPage) -> Pager:
    if not page.runs:
        newest = "/" + filters.query() if page.has_newer or page.has_older else None
        return Pager(newest=newest, newer=None, older=None)
    first, last = page.runs[0], page.runs[-1]
    return Pager(
        newest="/" + filters.query() if page.has_newer else None,
        newer="/" + filters.query(newer=first.cursor) if page.has_newer else None,
        older="/" + filters.query(older=last.cursor) if page.has_older else None,
    )
