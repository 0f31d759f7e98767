"""The scheduler applies retention itself: small batches, paused, only while it holds the lease,
never in the way of a due run, counted in its metrics."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine

from gnomon.errors import StoreError
from gnomon.scheduler.metrics import SchedulerMetrics
from gnomon.scheduler.retention import Retention, RetentionConfig
from gnomon.scheduler.service import SchedulerConfig
from gnomon.storage import transaction
from tests.clock import FakeClock
from tests.conftest import START
from tests.history import add_run, orphans
from tests.samples import EVERY_MINUTE, definition
from tests.scheduler.harness import Harness

OLD = START - timedelta(days=200)
RETENTION = RetentionConfig(
    days=90, keep_runs=1, batch_runs=2, interval_seconds=600, pause_seconds=1
)


def _runs(engine: Engine, name: str = "a") -> int:
    with engine.connect() as connection:
        query = sa.text("SELECT COUNT(*) FROM process WHERE process_definition_name = :n")
        return int(connection.execute(query, {"n": name}).scalar_one())


def _harness(
    engine: Engine, clock: FakeClock, retention: RetentionConfig | None = RETENTION, **kw: object
) -> Harness:
    config = SchedulerConfig(lease_seconds=15, max_sleep_seconds=5, retention=retention)
    return Harness(engine, clock, config=config, **kw)  # type: ignore[arg-type]


def test_batches_are_small_and_paused_and_counted(engine: Engine, clock: FakeClock) -> None:
    for n in range(5):
        add_run(engine, "a", OLD + timedelta(hours=n))
    registry = CollectorRegistry()
    harness = _harness(engine, clock, observer=SchedulerMetrics(registry, lambda kind: kind))

    wake = harness.tick()
    assert _runs(engine) == 3, "one batch of two runs"
    assert wake <= clock.now() + timedelta(seconds=1), "the next batch is a pause away"
    harness.tick()
    assert _runs(engine) == 3, "no second batch before the pause is over"
    harness.advance(1)
    assert _runs(engine) == 1
    harness.advance(1)
    assert _runs(engine) == 1, "the newest run stays, whatever its age"
    assert registry.get_sample_value("gnomon_retention_pruned_runs_total") == 4
    assert set(orphans(engine).values()) == {0}


def test_runs_that_age_later_wait_for_the_next_pass(engine: Engine, clock: FakeClock) -> None:
    add_run(engine, "a", OLD)
    harness = _harness(engine, clock)
    harness.tick()
    add_run(engine, "a", OLD - timedelta(days=1))
    add_run(engine, "a", OLD - timedelta(days=2))
    harness.advance(1)
    harness.advance(1)
    assert _runs(engine) == 3
    harness.advance(600)
    assert _runs(engine) == 1


def test_a_standby_scheduler_removes_nothing(engine: Engine, clock: FakeClock) -> None:
    _harness(engine, clock, retention=None, holder="active").tick()
    for n in range(3):
        add_run(engine, "a", OLD + timedelta(hours=n))
    standby = _harness(engine, clock, holder="standby")
    standby.tick()
    standby.advance(1)
    assert _runs(engine) == 3


def test_no_batch_runs_just_before_a_due_run(engine: Engine, clock: FakeClock) -> None:
    for n in range(3):
        add_run(engine, "old", OLD + timedelta(hours=n))
    clock.set(START + timedelta(seconds=59))  # the every-minute run is due at 12:01:00
    harness = _harness(engine, clock)
    harness.put(definition("minutely", schedule=EVERY_MINUTE))
    assert _runs(engine, "old") == 3
    harness.advance(1)
    assert _runs(engine, "minutely") == 1, "the due run started first"
    assert _runs(engine, "old") == 1


def test_zero_days_keeps_everything(engine: Engine, clock: FakeClock) -> None:
    add_run(engine, "a", OLD)
    add_run(engine, "a", OLD + timedelta(hours=1))
    harness = _harness(engine, clock, retention=RetentionConfig(days=0, keep_runs=0))
    harness.tick()
    harness.advance(3600)
    assert _runs(engine) == 2


class _Failing:
    """A store session whose every statement fails, as one past its statement timeout does."""

    def execute(self, *_: object, **__: object) -> object:
        raise StoreError("canceling statement due to statement timeout")


def test_a_failed_batch_is_retried_later_and_smaller(engine: Engine, clock: FakeClock) -> None:
    retention = Retention(RetentionConfig(days=90, keep_runs=0, batch_runs=8))
    now = clock.now()
    for expected in (4, 2):
        try:
            retention.batch(_Failing(), now)  # type: ignore[arg-type]
        except StoreError:
            retention.failed(now)
        assert retention.batch_runs == expected
        assert retention.next_at == now + timedelta(seconds=600)
        assert not retention.due(now + timedelta(seconds=599), None)
        assert retention.due(now + timedelta(seconds=600), None)
    for n in range(5):
        add_run(engine, "a", OLD + timedelta(hours=n))
    with transaction(engine) as session:
        assert retention.batch(session, now).runs == 2
    assert retention.batch_runs == 4, "grows back once batches commit"
