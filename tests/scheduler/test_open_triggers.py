"""Open triggers are read again only when they may have changed: not at a wake-up that only the
executor caused, yet every trigger starts its run once, and one written by another process without
a notification is seen by the fallback wake-up's period."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col

from gnomon.errors import StoreUnavailableError
from gnomon.runner.base import ExecutorStatus
from gnomon.storage import run_requests
from gnomon.storage import scheduling as store
from gnomon.storage.engine import transaction
from gnomon.storage.tables import TriggerRequestRow
from tests.samples import definition
from tests.scheduler.harness import Harness
from tests.statements import recorded_statements

FALLBACK_SECONDS = 5  # the harness's max_sleep_seconds


def trigger_reads(statements: list[str]) -> list[str]:
    """The statements among `statements` that read trigger requests."""
    return [
        statement
        for statement in statements
        if statement.lstrip().upper().startswith("SELECT") and "trigger_request" in statement
    ]


def add_trigger_silently(harness: Harness, name: str) -> None:
    """A trigger as another process writes it on SQLite: stored, and nobody told."""
    with transaction(harness.engine) as session:
        run_requests.add_trigger(
            session=session, name=name, task_filter=None, now=harness.clock.now()
        )


def finish_running(harness: Harness) -> None:
    """The running attempt succeeds, and the scheduler wakes for the executor alone."""
    (attempt,) = harness.runner.running.values()
    harness.runner.finish(attempt.task_id, ExecutorStatus.SUCCEEDED)
    harness.service.tick({"executor"})


def test_a_wake_up_for_the_executor_alone_reads_no_triggers(harness: Harness) -> None:
    harness.put(definition("job"))
    harness.trigger("job")
    with recorded_statements(harness.engine) as statements:
        finish_running(harness)
    assert trigger_reads(statements) == []
    assert harness.statuses("job") == ["succeeded"]
    with recorded_statements(harness.engine) as statements:
        harness.tick("triggers")
    assert len(trigger_reads(statements)) == 1


def test_each_queued_trigger_starts_one_run_in_turn(harness: Harness) -> None:
    """Runs queued behind each other (`overlap_action: wait`) start from what was read, and a
    trigger the scheduler consumed is never started again from it."""
    harness.put(definition("job"))
    for _ in range(3):
        add_trigger_silently(harness, "job")
    harness.tick("triggers")
    assert harness.statuses("job") == ["running"]
    finish_running(harness)
    finish_running(harness)
    finish_running(harness)
    harness.tick("executor")
    assert harness.statuses("job") == ["succeeded"] * 3
    with transaction(harness.engine) as session:
        started = session.execute(sa.select(col(TriggerRequestRow.started_process_id))).scalars()
        started_ids = sorted(str(s) for s in started)
    process_ids = sorted(p.process_id.hex for p in harness.processes("job"))
    assert [s.replace("-", "") for s in started_ids] == process_ids


def test_a_trigger_nobody_announced_is_seen_after_the_fallback_period(harness: Harness) -> None:
    harness.put(definition("job"))
    add_trigger_silently(harness, "job")
    harness.service.tick({"executor"})
    harness.clock.advance(FALLBACK_SECONDS)
    harness.service.tick({"executor"})
    assert harness.statuses("job") == ["running"]


def test_a_trigger_announced_by_any_other_topic_is_read(harness: Harness) -> None:
    harness.put(definition("job"))
    for topic in ("triggers", "requests", "definitions", "any"):
        harness.clock.advance(1)  # less than the fallback period; newest run last
        add_trigger_silently(harness, "job")
        harness.service.tick({"executor", topic})
        assert harness.statuses("job")[-1] == "running", topic
        finish_running(harness)
    assert harness.statuses("job") == ["succeeded"] * 4


def test_a_wake_up_whose_store_fails_forgets_what_it_consumed(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store drops the connection at the end of the wake-up that consumed the second
    trigger: nothing of it was committed, so that trigger must still start its run."""
    harness.put(definition("job"))
    for _ in range(3):
        add_trigger_silently(harness, "job")
    harness.tick("triggers")
    mark = store.mark_definitions
    failures = iter([StoreUnavailableError("the store went away")])

    def failing(**kwargs: Any) -> None:
        for failure in failures:
            raise failure
        mark(**kwargs)

    monkeypatch.setattr(store, "mark_definitions", failing)
    finish_running(harness)  # this wake-up fails after starting the second run in memory
    assert harness.statuses("job") == ["running"]
    harness.service.tick({"executor"})  # takes the store again, reads the triggers afresh
    assert sorted(harness.statuses("job")) == ["running", "succeeded"]
    for _ in range(2):
        # The fake runner still lists the first run's adopted attempt; its second end is ignored.
        for attempt in list(harness.runner.running.values()):
            harness.runner.finish(attempt.task_id, ExecutorStatus.SUCCEEDED)
        harness.service.tick({"executor"})
    assert harness.statuses("job") == ["succeeded"] * 3
    with transaction(harness.engine) as session:
        started = session.execute(sa.select(col(TriggerRequestRow.started_process_id))).scalars()
        assert None not in set(started)
