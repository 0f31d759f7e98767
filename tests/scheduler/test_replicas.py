"""Two schedulers on one store: one acts at a time, the other takes over, no due time runs twice."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from gnomon.storage.tables import ProcessRow
from tests.clock import FakeClock
from tests.samples import EVERY_MINUTE, definition, docker_task
from tests.scheduler.harness import Harness


def due_counts(engine: Engine) -> Counter[tuple[str, datetime]]:
    with Session(engine) as session:
        rows = session.exec(select(ProcessRow)).all()
    return Counter((r.process_definition_name, r.scheduled_for) for r in rows if r.scheduled_for)


def pair(engine: Engine, clock: FakeClock) -> tuple[Harness, Harness]:
    first, second = Harness(engine, clock, holder="a"), Harness(engine, clock, holder="b")
    first.runner.auto_succeed = second.runner.auto_succeed = True
    return first, second


@pytest.mark.postgres
@pytest.mark.parametrize("engine", ["postgres"], indirect=True)
def test_each_due_time_runs_once_across_failover(engine: Engine, clock: FakeClock) -> None:
    clock.set(datetime(2026, 3, 2, 12, 0, 30, tzinfo=UTC))
    first, second = pair(engine, clock)
    for index in range(5):
        first.put(definition(f"d{index}", docker_task("t"), schedule=EVERY_MINUTE))
    minutes = 40
    for minute in range(minutes):
        clock.advance(60)
        if minute < 15 or minute >= 30:  # the first scheduler is dead from minute 15 to 30
            first.tick("definitions")
        second.tick("definitions")
        second.tick()  # a second pass in the same instant must not start anything twice
    counts = due_counts(engine)
    assert max(counts.values()) == 1
    assert {n for n, _ in counts} == {f"d{i}" for i in range(5)}
    # Every minute ran, apart from the gap of one lease period around the takeover, which the
    # catch-up rule closes with a single run.
    per_definition = Counter(n for n, _ in counts)
    assert all(minutes - 2 <= c <= minutes for c in per_definition.values()), per_definition
    assert first.runner.started and second.runner.started


@pytest.mark.postgres
@pytest.mark.parametrize("engine", ["postgres"], indirect=True)
def test_split_brain_is_stopped_by_the_unique_key(engine: Engine, clock: FakeClock) -> None:
    clock.set(datetime(2026, 3, 2, 12, 0, 30, tzinfo=UTC))
    first, second = pair(engine, clock)
    first.put(definition("split", docker_task("t"), schedule=EVERY_MINUTE))
    second.tick("definitions")
    # Make the standby believe it holds the lease too: logic alone would now run twice.
    second.service._hold_lease = lambda now: True  # type: ignore[method-assign]
    second.service._take_over(clock.now())
    for _ in range(10):
        clock.advance(60)
        first.tick()
        second.tick()
    counts = due_counts(engine)
    assert len(counts) == 10
    assert max(counts.values()) == 1


def test_standby_does_nothing_while_the_leader_lives(engine: Engine, clock: FakeClock) -> None:
    first, second = pair(engine, clock)
    first.put(definition("solo", docker_task("t"), schedule=EVERY_MINUTE))
    second.tick()
    for _ in range(5):
        clock.advance(60)
        first.tick()
        second.tick()
    assert len(first.runner.started) == 5
    assert second.runner.started == []
