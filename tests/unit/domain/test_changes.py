"""The change feed: thread-safe publishing, coalesced delivery, and subscriptions that go away."""

from __future__ import annotations

import asyncio
import threading

import pytest

from gnomon.domain.changes import LOGS, RUNS, Change, ChangeFeed, FeedFullError

WINDOW = 0.05


def everything(_change: Change) -> bool:
    return True


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


async def test_changes_after_a_batch_make_the_next_one() -> None:
    feed = ChangeFeed(window=WINDOW)
    subscription = feed.subscribe(everything)
    feed.publish(RUNS, "a")
    assert await asyncio.wait_for(subscription.next(), timeout=5) == frozenset({Change(RUNS, "a")})
    feed.publish(LOGS, "a")
    assert await asyncio.wait_for(subscription.next(), timeout=5) == frozenset({Change(LOGS, "a")})


async def test_a_subscription_gets_only_what_it_accepts() -> None:
    feed = ChangeFeed(window=WINDOW)
    mine = feed.subscribe(lambda change: change.process_id == "mine")
    feed.publish(RUNS, "other")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(mine.next(), timeout=0.3)
    feed.publish(RUNS, "mine")
    assert await asyncio.wait_for(mine.next(), timeout=5) == frozenset({Change(RUNS, "mine")})


async def test_a_failing_filter_passes_every_change() -> None:
    feed = ChangeFeed(window=WINDOW)
    subscription = feed.subscribe(lambda change: 1 / 0 > 0)
    feed.publish(RUNS, "a")
    assert await asyncio.wait_for(subscription.next(), timeout=5) == frozenset({Change(RUNS, "a")})


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

    asyncio.run(subscribe())  # its loop closes with the subscription still open
    assert feed.subscribers == 1
    feed.publish(RUNS, "a")
    assert feed.subscribers == 0


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
