"""`/processes/{id}/livelogs`: every log line of a run in time order, streamed while it runs; and
`/tasks/{id}/logs.txt`, one attempt's whole log as a plain-text download.

The page shows the newest `SHOWN` lines of all attempts (or of one task definition, `?task=`),
ERROR and stderr lines marked; with JavaScript, new lines arrive over a stream of their own as
JSON and are appended as text. Lines are read by the time they are stamped with, and a line may
be stored a moment after a later-stamped one (another attempt's batch, a job's callback), so
each read looks back `LOOKBACK` before the newest line sent and drops what it sent already.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from typing import Annotated, Final, NamedTuple
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.responses import StreamingResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from gnomon.api.deps import ContextDep, SessionDep
from gnomon.domain import NAME_PATTERN, as_utc, format_wire_time
from gnomon.domain.changes import RUNS, Subscription
from gnomon.errors import NotFoundError, StoreError
from gnomon.storage import Engine, run_logs, transaction
from gnomon.storage.run_logs import RunLogEntry
from gnomon.web.access import PageReadDep
from gnomon.web.errors import PageError, PageRoute
from gnomon.web.headers import secure
from gnomon.web.live import RETRY_MILLISECONDS, RUN_LOGS, checked_id, not_found, run_changes
from gnomon.web.rendering import render

log = logging.getLogger(__name__)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

SHOWN: Final = 2000
"""Lines the page shows at most: the newest."""
LOOKBACK: Final = timedelta(seconds=5)
READ_LIMIT: Final = 1000
"""Lines a stream reads per statement, and sends per event."""
DOWNLOAD_PAGE: Final = 1000
"""Lines a download reads per statement."""
_ERROR: Final = re.compile(r"\b(?:ERROR|FATAL|CRITICAL|Traceback)\b")
_NAME: Final = re.compile(NAME_PATTERN)
_UNSAFE_IN_FILENAME: Final = re.compile(r"[^A-Za-z0-9._-]")


class LogLine(NamedTuple):
    """A log line as the page shows it."""

    id: str
    task: str
    attempt: int
    task_id: str
    when: str
    """ISO 8601 UTC with milliseconds, the `datetime` of its `<time>`."""
    clock: str
    """`12:00:05.123`, UTC (the script shows the reader's zone)."""
    source: str
    message: str
    kind: str
    """`error`, `stderr`, `gnomon` (Gnomon's own lines) or empty."""


def log_line(entry: RunLogEntry) -> LogLine:
    moment = as_utc(entry.when)
    return LogLine(
        id=entry.log_entry_id,
        task=entry.task,
        attempt=entry.attempt,
        task_id=entry.task_id,
        when=format_wire_time(moment),
        clock=moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}",
        source=entry.source,
        message=entry.message,
        kind=line_kind(entry.source, entry.message),
    )


def line_kind(source: str, message: str) -> str:
    """How a line is marked: errors by their words, stderr by its source, Gnomon's own lines."""
    if _ERROR.search(message):
        return "error"
    if source == "stderr":
        return "stderr"
    return "gnomon" if source in ("gnomon", "scheduler") else ""


def task_filter(request: Request) -> str | None:
    """The `task` of the query string, a task definition name; a 400 page if it cannot be."""
    values = request.query_params.getlist("task")
    if len(values) > 1:
        raise PageError(400, "Cannot show these lines", "task: give it once")
    name = values[0].strip() if values else ""
    if name and (len(name) > 200 or not _NAME.fullmatch(name)):
        raise PageError(400, "Cannot show these lines", "task: not a task definition name")
    return name or None


TaskFilterDep = Annotated[str | None, Depends(task_filter)]


@router.get("/processes/{process_id}/livelogs")
def livelogs(
    request: Request, process_id: str, task: TaskFilterDep, session: SessionDep, _: PageReadDep
) -> Response:
    """Every log line of a run, merged in time order."""
    checked_id(process_id, "run")
    try:
        run = run_logs.run_log(session=session, process_id=process_id, task=task, limit=SHOWN)
    except NotFoundError:
        raise not_found("run") from None
    if task is not None and task not in run.tasks:
        raise PageError(404, "No such task", f"This run has no task definition {task!r}.")
    lines = [log_line(entry) for entry in run.entries]
    stream = None
    if run.status == "running":
        after = lines[-1].when if lines else None
        stream = stream_url(process_id, task, after)
    return render(
        request,
        "livelogs.html",
        title=f"Logs · {run.definition}",
        run=run,
        lines=lines,
        task=task,
        stream=stream,
        shown=SHOWN,
    )


def stream_url(process_id: str, task: str | None, after: str | None) -> str:
    query = urlencode({key: value for key, value in (("task", task), ("after", after)) if value})
    return f"/processes/{process_id}/livelogs/stream" + (f"?{query}" if query else "")


def stream_start(
    after: str | None = None, last_event_id: Annotated[str | None, Header()] = None
) -> datetime | None:
    """Where a stream starts: after the last line the browser has (its `Last-Event-ID` when it
    reconnects), else the page's newest line (`after`), else the run's first line."""
    text = last_event_id or after
    if not text:
        return None
    try:
        return as_utc(datetime.fromisoformat(text[:40]))
    except ValueError:
        raise PageError(400, "Cannot stream these lines", "after: not a time") from None


LogChanges = Annotated[Subscription, Depends(run_changes(RUN_LOGS))]
StreamStartDep = Annotated[datetime | None, Depends(stream_start)]


@router.get("/processes/{process_id}/livelogs/stream", response_class=EventSourceResponse)
async def livelogs_stream(
    process_id: str,
    task: TaskFilterDep,
    since: StreamStartDep,
    context: ContextDep,
    subscription: LogChanges,
) -> AsyncIterator[ServerSentEvent]:
    """A run's new log lines as `entries` events while it runs, a `run` event when its attempts
    change, and an `end` event when it ends."""
    lines = NewLines(context.engine, process_id, task, since)
    yield ServerSentEvent(comment="live", retry=RETRY_MILLISECONDS)
    run_changed = False
    while True:
        try:
            status, fresh, more = await run_in_threadpool(lines.read)
        except StoreError as exc:  # the browser opens the stream again after RETRY_MILLISECONDS
            log.warning("a live log stream ends: %s", exc)
            return
        if fresh:
            data = [log_line(entry)._asdict() for entry in fresh]
            yield ServerSentEvent(event="entries", data=data, id=lines.position())
        if more:
            continue
        if status != "running":
            yield ServerSentEvent(event="end", data={"status": status})
            return
        if run_changed:  # an attempt started or ended: the page's head and downloads are stale
            yield ServerSentEvent(event="run", data={"status": status})
        batch = await subscription.next()
        if batch is None:
            return
        run_changed = any(change.topic == RUNS for change in batch)


class NewLines:
    """The lines a stream has not sent yet: it remembers the newest time it sent and the ids it
    sent within `LOOKBACK` of it. Read from one worker thread at a time (`read`)."""

    def __init__(
        self, engine: Engine, process_id: str, task: str | None, since: datetime | None
    ) -> None:
        self.engine = engine
        self.process_id = process_id
        self.task = task
        self.newest = since
        self.sent: dict[str, datetime] = {}

    def position(self) -> str:
        return format_wire_time(self.newest) if self.newest else ""

    def read(self) -> tuple[str | None, list[RunLogEntry], bool]:
        """The run's status, up to `READ_LIMIT` lines not sent yet, and whether more wait."""
        since = self.newest - LOOKBACK if self.newest else None
        fresh: list[RunLogEntry] = []
        while True:
            with transaction(self.engine) as session:
                live = run_logs.live_log(
                    session=session,
                    process_id=self.process_id,
                    task=self.task,
                    since=since,
                    limit=READ_LIMIT,
                )
            fresh += [entry for entry in live.entries if entry.log_entry_id not in self.sent]
            full = len(live.entries) == READ_LIMIT
            if not full or len(fresh) >= READ_LIMIT or live.entries[-1].when == since:
                break
            since = live.entries[-1].when
        fresh = fresh[:READ_LIMIT]
        self._remember(fresh)
        return live.status, fresh, full and bool(fresh)

    def _remember(self, fresh: list[RunLogEntry]) -> None:
        for entry in fresh:
            self.sent[entry.log_entry_id] = entry.when
            if self.newest is None or entry.when > self.newest:
                self.newest = entry.when
        if self.newest is not None:
            horizon = self.newest - LOOKBACK
            self.sent = {key: when for key, when in self.sent.items() if when >= horizon}


@router.get("/tasks/{task_id}/logs.txt")
def task_log_download(task_id: str, context: ContextDep, _: PageReadDep) -> Response:
    """One attempt's log as plain text, a line per entry: time, source, message."""
    checked_id(task_id, "task")
    try:
        with transaction(context.engine) as session:
            header = run_logs.task_header(session=session, task_id=task_id)
    except NotFoundError:
        raise not_found("task") from None
    name = f"{header.definition}.{header.task}.attempt-{header.attempt}.txt"
    response = StreamingResponse(
        download_lines(context.engine, task_id),
        media_type="text/plain; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{_UNSAFE_IN_FILENAME.sub("_", name)}"',
            "Cache-Control": "no-cache",
        },
    )
    return secure(response)


def download_lines(engine: Engine, task_id: str) -> Iterator[str]:
    """The attempt's lines, a page of them per chunk, each page read in a short transaction."""
    after: tuple[datetime, str] | None = None
    while True:
        try:
            with transaction(engine) as session:
                rows = run_logs.task_lines(
                    session=session, task_id=task_id, after=after, limit=DOWNLOAD_PAGE
                )
        except StoreError as exc:
            log.warning("a log download ends early: %s", exc)
            yield "[gnomon] the store failed while reading this log; it is incomplete\n"
            return
        yield "".join(_text_line(when, source, message) for when, source, message, _ in rows)
        if len(rows) < DOWNLOAD_PAGE:
            return
        after = (rows[-1][0], rows[-1][3])


def _text_line(when: datetime, source: str, message: str) -> str:
    return f"{format_wire_time(when)} {source} {message}\n"
