"""The change feed: what changed in the store, told to the open pages without polling.

The scheduler (after its transaction commits), the runner's sink (after it stored output or
metadata) and the API (after a request changed something) publish a `Change` from whatever
thread they run in; the UI's Server-Sent Events streams, each an asyncio task, subscribe. A
subscription keeps only the changes it asked for, and hands them over at most once per `window`,
so a burst (a hundred runs due in the same second, a chatty job) costs one message per page, not
one per row.

Across processes (`gnomon api` next to `gnomon scheduler` on PostgreSQL) the publisher's
`forward` sends each local change on (a NOTIFY, `gnomon.storage.change_notices`), and the other
side hands what it hears to `receive`, which reaches local subscribers only.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol

from gnomon.errors import GnomonError

log = logging.getLogger(__name__)

RUNS: Final = "runs"
"""A run, or one of its attempts, started, ended or changed state (the scheduler)."""
LOGS: Final = "logs"
"""Log entries were stored for an attempt (the runner's sink, a job's callback)."""
METADATA: Final = "metadata"
"""Metadata entries were stored for an attempt."""
DEFAULT_WINDOW_SECONDS: Final = 0.25
"""How long a subscription gathers a burst before handing it over."""
DEFAULT_MAX_SUBSCRIBERS: Final = 100


@dataclass(frozen=True)
class Change:
    """One thing that changed: its topic (`runs`, `logs`, `metadata`, or the API's `definitions`,
    `triggers`, `requests`, `callbacks`) and the run it concerns, where known."""

    topic: str
    process_id: str | None = None


class ChangePublisher(Protocol):
    """What publishers need of the feed; safe to call from any thread, never blocks long."""

    def publish(self, topic: str, process_id: str | None = None) -> None: ...


class FeedFullError(GnomonError):
    """The feed already serves as many subscribers as it may."""


class ChangeFeed:
    """A thread-safe, in-process publisher of `Change`s to asyncio subscribers.

    It owns its subscriptions and the lock that guards them and their pending changes. Any
    thread may `publish`, `receive` and `close`; `subscribe` is called from the event loop that
    will wait on the subscription. Publishing never waits for a subscriber: it adds the change to
    each interested subscription's pending set and, when that set was empty, wakes its loop.
    """

    def __init__(
        self,
        *,
        window: float = DEFAULT_WINDOW_SECONDS,
        max_subscribers: int = DEFAULT_MAX_SUBSCRIBERS,
        forward: Callable[[Change], None] | None = None,
    ) -> None:
        self.window = window
        self.max_subscribers = max_subscribers
        self._forward = forward
        self._lock = threading.Lock()
        self._subscriptions: set[Subscription] = set()
        self._closed = False

    def publish(self, topic: str, process_id: str | None = None) -> None:
        """Tell local subscribers and, through `forward`, other processes."""
        change = Change(topic, process_id)
        self.receive(change)
        if self._forward is not None:
            try:
                self._forward(change)
            except Exception:  # a broken relay must not fail the scheduler or a request
                log.exception("could not forward a change to other processes")

    def receive(self, change: Change) -> None:
        """Tell local subscribers only (a change another process published)."""
        with self._lock:
            subscriptions = list(self._subscriptions)
        for subscription in subscriptions:
            subscription._offer(change)

    def subscribe(self, accept: Callable[[Change], bool]) -> Subscription:
        """A subscription to the changes `accept` keeps, for the running event loop.

        Raises:
            FeedFullError: `max_subscribers` subscriptions are open (or the feed is closed).
        """
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._closed or len(self._subscriptions) >= self.max_subscribers:
                raise FeedFullError(f"{len(self._subscriptions)} live streams are open")
            subscription = Subscription(self, loop, accept)
            self._subscriptions.add(subscription)
        return subscription

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subscriptions)

    def close(self) -> None:
        """End every subscription (the server is shutting down) and refuse new ones."""
        with self._lock:
            self._closed = True
            subscriptions = list(self._subscriptions)
        for subscription in subscriptions:
            subscription.close()

    def _remove(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscriptions.discard(subscription)


class Subscription:
    """One subscriber's pending changes, handed over in coalesced batches by `next`.

    The feed's threads add to it (`_offer`) and may `close` it; only its event loop awaits
    `next`. `close` is idempotent and removes it from the feed.
    """

    def __init__(
        self,
        feed: ChangeFeed,
        loop: asyncio.AbstractEventLoop,
        accept: Callable[[Change], bool],
    ) -> None:
        self._feed = feed
        self._loop = loop
        self._accept = accept
        self._lock = threading.Lock()
        self._pending: set[Change] = set()
        self._ready = asyncio.Event()
        self.closed = False

    async def next(self) -> frozenset[Change] | None:
        """The changes since the last call, once there are some and `window` has passed since
        the first of them; None once the subscription is closed."""
        while True:
            await self._ready.wait()
            if self.closed:
                return None
            await asyncio.sleep(self._feed.window)  # let the rest of the burst arrive
            with self._lock:
                batch, self._pending = frozenset(self._pending), set()
                if not self.closed:
                    self._ready.clear()
            if self.closed:
                return None
            if batch:
                return batch

    def close(self) -> None:
        with self._lock:
            if self.closed:
                return
            self.closed = True
        self._feed._remove(self)
        self._wake()

    def _offer(self, change: Change) -> None:
        try:
            wanted = self._accept(change)
        except Exception:
            log.exception("a live stream's filter failed; it gets every change")
            wanted = True
        if not wanted:
            return
        with self._lock:
            if self.closed:
                return
            first = not self._pending
            self._pending.add(change)
        if first:
            self._wake()

    def _wake(self) -> None:
        try:
            self._loop.call_soon_threadsafe(self._ready.set)
        except RuntimeError:  # its loop is closed: nobody waits any more
            self.close()
