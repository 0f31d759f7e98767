"""Server-Sent Events that tell open pages what changed, so they update without polling.

A page whose `<main>` carries `data-live` (the template variable `live`, a URL below) opens one
stream; `static/live.js` fetches the page again when a `change` event arrives and swaps its
content. Each stream is a subscription to the app's change feed (`gnomon.domain.changes`) that
keeps only what its page shows and hands it over at most once per window, however many rows
changed; FastAPI adds a keep-alive comment when a stream is quiet. The feed bounds the number of
open streams: past it a stream is answered 503 and the script tries again later. A stream ends
when its reader goes, or when the server shuts down (it closes the feed first).
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Annotated, Final

from fastapi import APIRouter, Depends
from fastapi.sse import EventSourceResponse, ServerSentEvent

from gnomon.api.deps import ContextDep
from gnomon.domain.changes import (
    LOGS,
    METADATA,
    RUNS,
    Change,
    ChangeFeed,
    FeedFullError,
    Subscription,
)
from gnomon.storage import run_logs, transaction
from gnomon.web.access import PageReadDep
from gnomon.web.errors import PageError, PageRoute

log = logging.getLogger(__name__)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

RETRY_MILLISECONDS: Final = 5000
"""How long a browser waits before it opens a dropped stream again."""
RUNS_PAGE: Final = frozenset({RUNS, "triggers", "definitions"})
"""What `/` shows: runs, and the banner of open trigger requests with their definitions."""
DEFINITIONS_PAGE: Final = frozenset({RUNS, "definitions"})
"""What the definitions pages show: definitions, and their runs."""
RUN_PAGE: Final = frozenset({RUNS, METADATA})
"""What a run's page shows of it: its attempts and their metadata (not every log line)."""
RUN_LOGS: Final = frozenset({RUNS, LOGS})
_UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def checked_id(text: str, what: str) -> str:
    """`text` if it can be a run's or task's id (a UUID); else the page is a 404."""
    if not _UUID.fullmatch(text):
        raise not_found(what)
    return text


def not_found(what: str) -> PageError:
    return PageError(404, f"No such {what}", f"This Gnomon has no {what} with this id.")


def subscribe(feed: ChangeFeed, accept: Callable[[Change], bool]) -> Subscription:
    """A subscription to the changes `accept` keeps; a 503 page when too many are open."""
    try:
        return feed.subscribe(accept)
    except FeedFullError as exc:
        log.warning("refused a live stream: %s", exc)
        raise PageError(
            503,
            "Too many live pages",
            "This Gnomon serves as many live pages as it may; this one updates when it can.",
            headers={"Retry-After": "30"},
        ) from None


def _page_changes(topics: frozenset[str]) -> Callable[..., AsyncIterator[Subscription]]:
    async def subscription(_: PageReadDep, context: ContextDep) -> AsyncIterator[Subscription]:
        held = subscribe(context.changes, lambda change: change.topic in topics)
        try:
            yield held
        finally:
            held.close()

    return subscription


def known_run(process_id: str, _: PageReadDep, context: ContextDep) -> str:
    """The path's run id, if that run exists (a 404 page if not)."""
    checked_id(process_id, "run")
    with transaction(context.engine) as session:
        if run_logs.run_status(session=session, process_id=process_id) is None:
            raise not_found("run")
    return process_id


KnownRunDep = Annotated[str, Depends(known_run)]


def run_changes(topics: frozenset[str]) -> Callable[..., AsyncIterator[Subscription]]:
    """A dependency: the subscription to the changes of `topics` of the path's run."""

    async def subscription(
        process_id: KnownRunDep, context: ContextDep
    ) -> AsyncIterator[Subscription]:
        held = subscribe(
            context.changes,
            lambda change: change.process_id == process_id and change.topic in topics,
        )
        try:
            yield held
        finally:
            held.close()

    return subscription


async def change_events(subscription: Subscription) -> AsyncIterator[ServerSentEvent]:
    """A `change` event per batch of changes, naming their topics, until the stream ends."""
    yield ServerSentEvent(comment="live", retry=RETRY_MILLISECONDS)
    while (batch := await subscription.next()) is not None:
        yield ServerSentEvent(event="change", data={"topics": topics_of(batch)})


def topics_of(batch: Iterable[Change]) -> list[str]:
    return sorted({change.topic for change in batch})


RunsChanges = Annotated[Subscription, Depends(_page_changes(RUNS_PAGE))]
DefinitionsChanges = Annotated[Subscription, Depends(_page_changes(DEFINITIONS_PAGE))]
RunChanges = Annotated[Subscription, Depends(run_changes(RUN_PAGE))]


@router.get("/live/runs", response_class=EventSourceResponse)
async def runs_stream(subscription: RunsChanges) -> AsyncIterator[ServerSentEvent]:
    """What changed on `/`."""
    async for event in change_events(subscription):
        yield event


@router.get("/live/definitions", response_class=EventSourceResponse)
async def definitions_stream(subscription: DefinitionsChanges) -> AsyncIterator[ServerSentEvent]:
    """What changed on the definitions pages."""
    async for event in change_events(subscription):
        yield event


@router.get("/live/processes/{process_id}", response_class=EventSourceResponse)
async def run_stream(subscription: RunChanges) -> AsyncIterator[ServerSentEvent]:
    """What changed in one run."""
    async for event in change_events(subscription):
        yield event
