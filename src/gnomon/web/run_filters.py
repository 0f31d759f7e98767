"""The runs list's query string: filters, page size and position, read strictly.

Every value arrives from a link or a form a person may have edited, so each is checked here and a
bad one is answered with a 400 page naming the parameter, never passed on to the store:

- `definition`: a definition name (exact);
- `status`: running, succeeded or failed (repeated or comma-separated);
- `since`, `until`: bounds on the start time, ISO 8601 (`2026-03-02`, `2026-03-02T12:00`, with
  or without an offset; without one it is UTC, as the page's times are);
- `limit`: runs per page, 1 to `MAX_PAGE_SIZE`;
- `older`, `newer`: the cursor of the page's last or first run (`<start>_<process id>`), as the
  paging links write it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from gnomon.domain import NAME_PATTERN, ProcessStatus, as_utc
from gnomon.storage.overview import MAX_PAGE_SIZE, RunCursor, RunListQuery
from gnomon.web.errors import PageError

log = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE: Final = 50
_MAX_TEXT: Final = 200
_NAME: Final = re.compile(NAME_PATTERN)
_STATUSES: Final = tuple(status.value for status in ProcessStatus)
_UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class RunFilters:
    """The filters as asked for, to fill the form again and to write the paging links."""

    definition: str = ""
    since: datetime | None = None
    until: datetime | None = None
    limit: int = DEFAULT_PAGE_SIZE
    statuses: frozenset[str] = field(default_factory=frozenset)

    @property
    def status(self) -> str:
        """The one status asked for, for the form's select; empty for any or several."""
        return next(iter(self.statuses)) if len(self.statuses) == 1 else ""

    @property
    def active(self) -> bool:
        return bool(self.definition or self.statuses or self.since or self.until)

    def query(self, older: RunCursor | None = None, newer: RunCursor | None = None) -> str:
        """The query string of this list at another position (`?...`, or empty)."""
        values = {
            "definition": self.definition,
            "status": ",".join(sorted(self.statuses)),
            "since": form_time(self.since) if self.since else "",
            "until": form_time(self.until) if self.until else "",
            "limit": "" if self.limit == DEFAULT_PAGE_SIZE else str(self.limit),
            "older": cursor_text(older) if older else "",
            "newer": cursor_text(newer) if newer else "",
        }
        text = urlencode({key: value for key, value in values.items() if value})
        return f"?{text}" if text else ""


def read_run_filters(params: QueryParams) -> tuple[RunFilters, RunListQuery]:
    """The filters and the store query a runs-list URL asks for (raises PageError 400)."""
    filters = RunFilters(
        definition=_definition(params),
        statuses=_statuses(params),
        since=_time(params, "since"),
        until=_time(params, "until"),
        limit=_limit(params),
    )
    if filters.since and filters.until and filters.since > filters.until:
        raise _bad("since", "the start of the time range is after its end")
    older, newer = _cursor(params, "older"), _cursor(params, "newer")
    if older and newer:
        raise _bad("older", "ask for older or for newer runs, not both")
    query = RunListQuery(
        definition=filters.definition or None,
        statuses=filters.statuses,
        started_after=filters.since,
        started_before=filters.until,
        older_than=older,
        newer_than=newer,
        limit=filters.limit,
    )
    return filters, query


def form_time(value: datetime) -> str:
    """A time as a `datetime-local` input holds it (UTC, to the second)."""
    utc = as_utc(value)
    return f"{utc.year:04d}-{utc:%m-%dT%H:%M:%S}"


def cursor_text(cursor: RunCursor) -> str:
    utc = as_utc(cursor.started_at)
    return f"{utc.year:04d}-{utc:%m-%dT%H:%M:%S.%f}Z_{cursor.process_id}"


def _bad(name: str, message: str) -> PageError:
    return PageError(400, "Cannot show these runs", f"{name}: {message}")


def _text(params: QueryParams, name: str) -> str:
    values = params.getlist(name)
    if len(values) > 1:
        raise _bad(name, "give it once")
    value = values[0].strip() if values else ""
    if len(value) > _MAX_TEXT:
        raise _bad(name, f"longer than {_MAX_TEXT} characters")
    return value


def _definition(params: QueryParams) -> str:
    name = _text(params, "definition")
    if name and not _NAME.fullmatch(name):
        raise _bad("definition", f"{name!r} cannot be a definition name")
    return name


def _statuses(params: QueryParams) -> frozenset[str]:
    statuses = set()
    for raw in params.getlist("status")[:10]:
        for value in filter(None, (part.strip() for part in raw[:_MAX_TEXT].split(","))):
            if value not in _STATUSES:
                allowed = ", ".join(_STATUSES)
                raise _bad("status", f"unknown status {value!r}; expected one of: {allowed}")
            statuses.add(value)
    return frozenset(statuses)


def _time(params: QueryParams, name: str) -> datetime | None:
    text = _text(params, name)
    if not text:
        return None
    try:
        return as_utc(datetime.fromisoformat(text))
    except ValueError:
        raise _bad(name, f"{text!r} is not a date or time such as 2026-03-02T12:00") from None


def _limit(params: QueryParams) -> int:
    text = _text(params, "limit")
    if not text:
        return DEFAULT_PAGE_SIZE
    if not text.isdigit() or len(text) > 4 or not 1 <= int(text) <= MAX_PAGE_SIZE:
        raise _bad("limit", f"must be a whole number from 1 to {MAX_PAGE_SIZE}")
    return int(text)


def _cursor(params: QueryParams, name: str) -> RunCursor | None:
    text = _text(params, name)
    if not text:
        return None
    started, _, process_id = text.rpartition("_")
    try:
        moment = as_utc(datetime.fromisoformat(started))
    except ValueError:
        moment = None
    if moment is None or not _UUID.fullmatch(process_id):
        raise _bad(name, "not a position in the list; follow the page's own links")
    return RunCursor(moment, process_id)
