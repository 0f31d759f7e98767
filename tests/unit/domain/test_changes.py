"""The change feed: thread-safe publishing, coalesced delivery, and subscriptions that go away."""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from gnomon.domain.changes import LOGS, RUNS, Change, ChangeFeed, FeedFullError

WINDOW = 0.05


def in_a_loop_of_its_own(test: Callable[[], Coroutine[Any, Any, None]]) -> Callable[[], None]:
    """Run the coroutine test in a new event loop on a thread of its own, as the server's SSE
    handlers run apart from the scheduler's and the sink's threads that publish."""

    @functools.wraps(test)
    def run() -> None:
        failures: list[BaseException] = []

        def main() -> None:
            try:
                asyncio.run(test())
            except BaseException as exc:  # handed to the test's thread
                failures.append(exc)

        thread = threading.Thread(target=main, name="subscriber-loop")
        thread.start()
        thread.join(timeout=60)
        assert not thread.is_alive(), "the test's loop did not finish"
        if failures:
            raise failures[0]

    return run


def everything(_change: Change) -> bool:
    return True


@in_a_loop_of_its_own
async def test_a_burst_from_many_threads_arrives_whole_in_one_batch() -> None:
    feed = ChangeFeed(window=0.3)
    subscription = feed.subscribe(everything)
    start = threading.Barrier(8)

    def publish(thread: int) -> None:
        start.wait()
        for run in range(200):
            feed.publish(RUNS, f"{thread}-{run}")
            feed.publish(RUNS, f"{thread}-{run}")  # twice: the batch holds it once

    threads = [threading.Thread(target=publish, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        await asyncio.to_thread(thread.join)
    batch = await asyncio.wait_for(subscription.next(), timeout=5)

    assert batch == frozenset({Change(RUNS, f"{t}-{r}") for t in range(8) for r in range(200)})
    subscription.close()


@in_a_loop_of_its_own
async def test_changes_after_a_batch_make_the_next_one() -> None:
    feed = ChangeFeed(window=WINDOW)
    subscription = feed.subscribe(everything)
    feed.publish(RUNS, "a")
    assert await asyncio.wait_for(subscription.next(), timeout=5) == frozenset({Change(RUNS, "a")})
    feed.publish(LOGS, "a")
    assert await asyncio.wait_for(subscription.next(), timeout=5) == frozenset({Change(LOGS, "a")})


@in_a_loop_of_its_own
async def test_a_subscription_gets_only_what_it_accepts() -> None:
    feed = ChangeFeed(window=WINDOW)
    mine = feed.subscribe(lambda change: change.process_id == "mine")
    feed.publish(RUNS, "other")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(mine.next(), timeout=0.3)
    feed.publish(RUNS, "mine")
    assert await asyncio.wait_for(mine.next(), timeout=5) == frozenset({Change(RUNS, "mine")})


@in_a_loop_of_its_own
async def test_a_failing_filter_passes_every_change() -> None:
    feed = ChangeFeed(window=WINDOW)
    subscription = feed.subscribe(lambda change: 1 / 0 > 0)
    feed.publish(RUNS, "a")
    assert await asyncio.wait_for(subscription.next(), timeout=5) == frozenset({Change(RUNS, "a")})


@in_a_loop_of_its_own
async def test_closed_subscriptions_leave_the_feed_and_free_their_place() -> None:
    feed = ChangeFeed(window=WINDOW, max_subscribers=2)
    first, second = feed.subscribe(everything), feed.subscribe(everything)
    with pytest.raises(FeedFullError):
        feed.subscribe(everything)
    first.close()
    first.close()  # twice is fine
    assert feed.subscribers == 1
    third = feed.subscribe(everything)
    feed.publish(RUNS)
    assert await asyncio.wait_for(first.next(), timeout=5) is None
    assert await asyncio.wait_for(third.next(), timeout=5) == frozenset({Change(RUNS)})
    second.close()
    third.close()
    assert feed.subscribers == 0


@in_a_loop_of_its_own
async def test_closing_the_feed_ends_every_waiting_subscriber_and_refuses_new_ones() -> None:
    feed = ChangeFeed(window=WINDOW)
    subscriptions = [feed.subscribe(everything) for _ in range(3)]
    waiting = [asyncio.create_task(s.next()) for s in subscriptions]
    await asyncio.sleep(0.05)
    await asyncio.to_thread(feed.close)  # from another thread, as the server's shutdown may
    assert await asyncio.wait_for(asyncio.gather(*waiting), timeout=5) == [None, None, None]
    assert feed.subscribers == 0
    with pytest.raises(FeedFullError):
        feed.subscribe(everything)


def test_a_subscriber_whose_loop_is_gone_is_dropped() -> None:
    feed = ChangeFeed(window=WINDOW)

    async def subscribe() -> None:
        feed.subscribe(everything)

    in_a_loop_of_its_own(subscribe)()  # its loop closes with the subscription still open
    assert feed.subscribers == 1
    feed.publish(RUNS, "a")
    assert feed.subscribers == 0


@in_a_loop_of_its_own
async def test_published_changes_are_forwarded_and_received_ones_are_not() -> None:
    forwarded: list[Change] = []
    feed = ChangeFeed(window=WINDOW, forward=forwarded.append)
    subscription = feed.subscribe(everything)
    feed.publish(RUNS, "here")
    feed.receive(Change(RUNS, "elsewhere"))
    assert forwarded == [Change(RUNS, "here")]
    batch = await asyncio.wait_for(subscription.next(), timeout=5)
    assert batch == frozenset({Change(RUNS, "here"), Change(RUNS, "elsewhere")})


def test_a_broken_forward_does_not_fail_the_publisher() -> None:
    def broken(_change: Change) -> None:
        raise RuntimeError("the relay is down")

    ChangeFeed(forward=broken).publish(RUNS, "a")
