"""`/process_definitions`: every definition at a glance, scheduled and paused apart (Sundial PR
#100): its schedule in words and as written, the next and last run, and the last ten runs as
circles coloured by status and sized by duration, each a link to its run.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import lru_cache
from typing import Final, NamedTuple

from fastapi import APIRouter, Request, Response
from markupsafe import Markup

from gnomon.api.deps import NowDep, SessionDep
from gnomon.domain import naming
from gnomon.storage.overview import DefinitionOverview, RecentRun, definition_overviews
from gnomon.web.access import PageReadDep
from gnomon.web.errors import PageRoute
from gnomon.web.formatting import duration, relative
from gnomon.web.history import history_html
from gnomon.web.rendering import ENVIRONMENT, render
from gnomon.web.schedules import ScheduleView, next_run, schedule_view

log = logging.getLogger(__name__)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

HISTORY: Final = 10
"""Runs shown per definition, as in Sundial."""


class DefinitionRow(NamedTuple):
    """Everything a definition's row shows, so that equal rows are drawn once (`draw`); a tuple,
    which is quicker to build and to compare than a frozen dataclass, a thousand times a page."""

    name: str
    description: str | None
    resource: str | None
    """`namespace/name` of the `ProcessDefinition` resource that owns it, if one does."""
    scheduling_error: str | None
    paused: bool
    schedule: ScheduleView
    next_run: datetime | None
    next_run_words: str
    """`in 3 min`, or `due now` when the scheduler would start a run at once."""
    last: RecentRun | None
    last_words: str
    """`5 min ago`."""
    last_duration: str | None
    history: Markup


@router.get("/process_definitions")
def definitions(request: Request, session: SessionDep, now: NowDep, _: PageReadDep) -> Response:
    """Every definition, scheduled and paused apart, with its latest runs."""
    rows = [definition_row(o, now) for o in definition_overviews(session=session, history=HISTORY)]
    return render(
        request,
        "definitions.html",
        title="Definitions",
        live="/live/definitions",
        scheduled=[row for row in rows if not row.paused],
        paused=[row for row in rows if row.paused],
        draw=draw,
    )


@lru_cache(maxsize=8192)
def draw(row: DefinitionRow) -> Markup:
    """The row's HTML. A thousand definitions make a thousand rows, and most are as they were at
    the last page load (the same runs, the same "2 h ago"); those are not drawn again."""
    drawn: Markup = _ROW_TEMPLATE.module.row(row)  # type: ignore[attr-defined]
    return drawn


_ROW_TEMPLATE: Final = ENVIRONMENT.get_template("_definition_row.html")


def _resource(owner: str | None) -> str | None:
    resource = naming.owning_resource(owner)
    return "/".join(resource) if resource else None


def definition_row(overview: DefinitionOverview, now: datetime) -> DefinitionRow:
    schedule = schedule_view(overview.schedule)
    recent = overview.recent
    last = recent[0] if recent else None
    finished = next((run for run in recent if run.seconds is not None), None)
    owner = overview.owner
    upcoming = next_run(
        schedule,
        name=overview.name,
        paused=overview.paused,
        overlap_action=overview.overlap_action,
        created_at=overview.created_at,
        last_started_at=last.started_at if last else None,
        now=now,
    )
    return DefinitionRow(
        name=overview.name,
        description=overview.description,
        resource=_resource(owner),
        scheduling_error=overview.scheduling_error,
        paused=overview.paused,
        schedule=schedule,
        next_run=upcoming,
        next_run_words=relative(upcoming, now) if upcoming and upcoming > now else "due now",
        last=last,
        last_words=relative(last.started_at, now) if last else "",
        last_duration=None if finished is None else duration(finished.seconds or 0.0),
        history=history_html(recent, now),
    )
