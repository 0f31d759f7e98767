"""Open triggers are read again only when they may have changed: not at a wake-up that only the
executor caused, yet every trigger starts its run once, and one written by another process without
a notification is seen by the fallback wake-up's period."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col

from gnomon.runner.base import ExecutorStatus
from gnomon.storage import run_requests
from gnomon.storage.engine import transaction
from gnomon.storage.tables import TriggerRequestRow
from tests.samples import definition
from tests.scheduler.harness import Harness

FALLBACK_SECONDS = 5  # the harness's max_sleep_seconds


@contextmanager
def trigger_reads(engine: Engine) -> Iterator[list[str]]:
    """The statements that read trigger requests while the block runs."""
    reads: list[str] = []

    def record(*args: object) -> None:
        statement = str(args[2])
        if statement.lstrip().upper().startswith("SELECT") and "trigger_request" in statement:
            reads.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield reads
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


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
    with trigger_reads(harness.engine) as reads:
        finish_running(harness)
    assert reads == []
    assert harness.statuses("job") == ["succeeded"]
    with trigger_reads(harness.engine) as reads:
        harness.tick("triggers")
    assert len(reads) == 1


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
