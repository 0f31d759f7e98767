"""Properties of `rules.slots.admit`, the choice of which waiting attempts start now.

One call: it never lets more than the limit run, it fills every free slot it can, and what it
starts is never behind what it leaves waiting (no waiting attempt is passed over by one with a
later key). Driven over time, with runs of several definitions queuing tasks and attempts ending
in any order: the limit always holds, every attempt starts, and each start is the oldest of the
attempts waiting at that moment, so a definition with many ready tasks never takes a slot ahead of
an older run of another definition.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from random import Random

from hypothesis import given
from hypothesis import strategies as st

from gnomon.scheduler.rules.slots import QueueKey, Waiting, admit, free_slots

START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def waiting_item(run: int, position: int, *, definition: str | None = None) -> Waiting:
    key = QueueKey(
        due_at=START + timedelta(seconds=run),
        run_started_at=START + timedelta(seconds=run),
        definition_name=definition or f"d{run}",
        process_id=f"p{run}",
        position=position,
    )
    return Waiting(key, f"p{run}-t{position}")


waiting_lists = st.lists(
    st.builds(waiting_item, st.integers(0, 20), st.integers(0, 5)),
    unique_by=lambda item: item.task_id,
    max_size=30,
)
limits = st.one_of(st.none(), st.integers(min_value=0, max_value=12))


@given(waiting_lists, st.integers(min_value=0, max_value=15), limits)
def test_one_call_fills_free_slots_only_and_oldest_first(
    waiting: list[Waiting], running: int, limit: int | None
) -> None:
    chosen = admit(waiting, running, limit)
    left = [item for item in waiting if item not in chosen]
    free = free_slots(running, limit)
    assert len(chosen) == (len(waiting) if free is None else min(free, len(waiting)))
    if limit is not None:
        assert running + len(chosen) <= max(limit, running)  # an over-full pool only drains
    assert [item.key for item in chosen] == sorted(item.key for item in chosen)
    if chosen and left:
        assert max(item.key for item in chosen) < min(item.key for item in left)


@st.composite
def workloads(draw: st.DrawFn) -> list[tuple[int, int]]:
    """(run, number of parallel tasks) per run; runs numbered by due time, a few tasks each."""
    runs = draw(st.integers(min_value=1, max_value=8))
    return [(run, draw(st.integers(min_value=1, max_value=6))) for run in range(runs)]


@given(
    workloads(),
    st.integers(min_value=1, max_value=5),
    st.randoms(use_true_random=False),
)
def test_over_time_the_limit_holds_everything_starts_and_the_oldest_waiting_goes_first(
    workload: list[tuple[int, int]], limit: int, random: Random
) -> None:
    arrivals = [[waiting_item(run, p) for p in range(tasks)] for run, tasks in workload]
    waiting: list[Waiting] = []
    running: list[Waiting] = []
    started: list[Waiting] = []
    while arrivals or waiting or running:
        if arrivals and (not running or random.random() < 0.5):
            waiting += arrivals.pop(0)  # a run comes due: its tasks queue
        elif running:
            running.remove(random.choice(running))  # an attempt ends: its slot is free
        random.shuffle(waiting)  # the queue's order is the keys', never the list's
        chosen = admit(waiting, len(running), limit)
        for item in chosen:
            assert all(item.key <= other.key for other in waiting)  # never passed over
            waiting.remove(item)
        running += chosen
        started += chosen
        assert len(running) <= limit
    everything = [waiting_item(run, p).task_id for run, tasks in workload for p in range(tasks)]
    assert sorted(item.task_id for item in started) == sorted(everything)


def test_a_wide_run_does_not_take_the_slots_ahead_of_an_older_run_of_another_definition() -> None:
    older = [waiting_item(0, 1, definition="narrow")]  # its second task, ready late
    wide = [waiting_item(1, position, definition="wide") for position in range(10)]
    chosen = admit([*wide, *older], running=3, limit=4)
    assert [item.task_id for item in chosen] == ["p0-t1"]


def test_no_limit_starts_everything_and_a_full_pool_nothing() -> None:
    waiting = [waiting_item(run, 0) for run in range(5)]
    assert len(admit(waiting, running=100, limit=None)) == 5
    assert admit(waiting, running=4, limit=4) == []
    assert admit(waiting, running=9, limit=4) == []  # the limit was lowered: wait for it
