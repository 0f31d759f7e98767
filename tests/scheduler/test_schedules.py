"""When processes start: cron and continuous schedules, triggers, pause, overlap, DST, catch-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.samples import definition, docker_task
from tests.scheduler.harness import Harness


def cron(minutes: str, hours: str, time_zone: str = "UTC", **extra: Any) -> dict[str, Any]:
    fields = {"minutes": minutes, "hours": hours, "day_of_month": "*", "month": "*"}
    return {"cron_schedule": {**fields, "day_of_week": "?", "time_zone": time_zone, **extra}}


def scheduled_for(harness: Harness, name: str) -> list[datetime]:
    from sqlmodel import Session, col, select

    from gnomon.storage.tables import ProcessRow

    with Session(harness.engine) as session:
        rows = session.exec(
            select(ProcessRow)
            .where(col(ProcessRow.process_definition_name) == name)
            .order_by(col(ProcessRow.started_at))
        ).all()
    return [r.scheduled_for.replace(tzinfo=UTC) for r in rows if r.scheduled_for]


def test_cron_runs_at_each_fire_time_and_not_before(harness: Harness) -> None:
    harness.clock.set(datetime(2026, 3, 2, 11, 58, 30, tzinfo=UTC))
    harness.put(definition("every-minute", docker_task("t"), schedule=cron("*", "*")))
    assert harness.processes("every-minute") == []
    harness.advance(29)
    assert harness.processes("every-minute") == []
    harness.advance(1)  # 11:59:00
    assert harness.statuses("every-minute") == ["running"]
    harness.finish("t")
    harness.advance(59)
    assert len(harness.processes("every-minute")) == 1
    harness.advance(1)  # 12:00:00
    assert len(harness.processes("every-minute")) == 2
    assert scheduled_for(harness, "every-minute") == [
        datetime(2026, 3, 2, 11, 59, tzinfo=UTC),
        datetime(2026, 3, 2, 12, 0, tzinfo=UTC),
    ]


def test_scheduler_sleeps_until_the_next_due_time(harness: Harness) -> None:
    harness.clock.set(datetime(2026, 3, 2, 11, 0, tzinfo=UTC))
    harness.put(definition("nightly", docker_task("t"), schedule=cron("0", "22")))
    assert harness.service.definitions.next_due() == datetime(2026, 3, 2, 22, 0, tzinfo=UTC)


def test_continuous_schedule_measures_start_to_start(harness: Harness) -> None:
    harness.put(
        definition(
            "loop", docker_task("t"), schedule={"continuous_schedule": {"buffer_seconds": 60}}
        )
    )
    harness.advance(60)
    assert harness.statuses("loop") == ["running"]
    harness.advance(20)
    harness.finish("t")
    harness.advance(39)
    assert len(harness.processes("loop")) == 1
    harness.advance(1)  # 60 s after the previous start, not after its end
    assert len(harness.processes("loop")) == 2


def test_wait_does_not_start_while_a_run_is_going_then_runs_once(harness: Harness) -> None:
    harness.put(
        definition(
            "waiter", docker_task("t"), schedule={"continuous_schedule": {"buffer_seconds": 10}}
        )
    )
    harness.advance(10)
    harness.advance(100)  # ten buffers pass while the first run is going
    assert len(harness.processes("waiter")) == 1
    harness.finish("t")
    assert len(harness.processes("waiter")) == 2  # one catch-up run, at once


def test_terminate_on_a_continuous_schedule_kills_and_restarts(harness: Harness) -> None:
    harness.put(
        definition(
            "term",
            docker_task("t"),
            schedule={"continuous_schedule": {"buffer_seconds": 30}},
            overlap_action="terminate",
        )
    )
    harness.advance(30)
    first = harness.running_attempt("t")
    harness.advance(30)
    assert harness.runner.killed and harness.runner.killed[0][0] == first.task_id
    assert harness.statuses("term") == ["failed", "running"]
    assert harness.running_attempt("t").task_id != first.task_id


def test_trigger_of_a_paused_definition_runs(harness: Harness) -> None:
    harness.put(definition("paused", docker_task("t"), schedule=cron("*", "*"), paused=True))
    harness.advance(300)
    assert harness.processes("paused") == []
    harness.trigger("paused")
    assert harness.statuses("paused") == ["running"]


def test_resume_of_an_overdue_schedule_runs_once(harness: Harness) -> None:
    harness.put(definition("resume", docker_task("t"), schedule=cron("*", "*"), paused=True))
    harness.advance(600)
    harness.pause("resume", paused=False)
    assert harness.statuses("resume") == ["running"]
    harness.finish("t")
    assert len(harness.processes("resume")) == 1


def test_triggers_are_consumed_oldest_first_one_run_at_a_time(harness: Harness) -> None:
    harness.put(definition("queue", docker_task("a"), docker_task("b")))
    harness.trigger("queue", task="b")
    harness.trigger("queue", task="a")
    assert harness.running_names() == ["b"]
    harness.finish("b")
    assert harness.running_names() == ["a"]
    harness.finish("a")
    assert harness.statuses("queue") == ["succeeded", "succeeded"]


def test_schedule_and_trigger_at_the_same_time_start_one_run(harness: Harness) -> None:
    harness.clock.set(datetime(2026, 3, 2, 11, 59, 59, tzinfo=UTC))
    harness.put(
        definition("both", docker_task("t"), schedule=cron("0", "12"), overlap_action="terminate")
    )
    harness.clock.set(datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC))
    harness.trigger("both")
    assert harness.statuses("both") == ["running"]
    assert harness.runner.killed == []
    harness.finish("t")
    assert len(harness.processes("both")) == 1


def test_manual_run_resets_the_baseline(harness: Harness) -> None:
    harness.put(
        definition(
            "base", docker_task("t"), schedule={"continuous_schedule": {"buffer_seconds": 100}}
        )
    )
    harness.advance(50)
    harness.trigger("base")
    harness.finish("t")
    harness.advance(60)  # 110 s after creation, 60 s after the manual run
    assert len(harness.processes("base")) == 1
    harness.advance(40)
    assert len(harness.processes("base")) == 2


def test_catch_up_after_downtime_starts_one_run(harness: Harness) -> None:
    harness.clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    harness.put(definition("hourly", docker_task("t"), schedule=cron("0", "*")))
    harness.advance(3600)
    harness.finish("t")
    harness.service._release()
    harness.clock.set(datetime(2026, 3, 2, 15, 30, tzinfo=UTC))  # down for five fire times
    successor = Harness(harness.engine, harness.clock, holder="successor")
    successor.tick()
    assert scheduled_for(successor, "hourly") == [
        datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
        datetime(2026, 3, 2, 15, 0, tzinfo=UTC),
    ]


def test_missed_run_older_than_the_starting_deadline_is_skipped(harness: Harness) -> None:
    harness.clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    harness.put(
        definition(
            "deadline", docker_task("t"), schedule=cron("0", "*", starting_deadline_seconds=300)
        )
    )
    harness.service._release()
    harness.clock.set(datetime(2026, 3, 2, 10, 30, tzinfo=UTC))
    successor = Harness(harness.engine, harness.clock, holder="successor")
    successor.tick()
    assert successor.processes("deadline") == []
    successor.clock.set(datetime(2026, 3, 2, 11, 0, 2, tzinfo=UTC))
    successor.tick()
    assert scheduled_for(successor, "deadline") == [datetime(2026, 3, 2, 11, 0, tzinfo=UTC)]


def run_day(harness: Harness, start: datetime, hours: int) -> None:
    harness.clock.set(start)
    harness.tick("definitions")
    for _ in range(hours * 12):
        harness.advance(300)
        for attempt in list(harness.runner.running.values()):
            harness.finish(attempt.task_definition_name)


def test_spring_forward_day_runs_a_0230_job_once(harness: Harness) -> None:
    harness.clock.set(datetime(2026, 3, 28, 12, 0, tzinfo=UTC))
    harness.put(definition("dst", docker_task("t"), schedule=cron("30", "2", "Europe/Berlin")))
    run_day(harness, datetime(2026, 3, 28, 12, 0, tzinfo=UTC), 24)
    # 29 March 2026: Berlin jumps from 02:00 to 03:00 (01:00Z); 02:30 does not exist that day.
    assert scheduled_for(harness, "dst") == [datetime(2026, 3, 29, 1, 0, tzinfo=UTC)]


def test_fall_back_day_runs_a_0230_job_once(harness: Harness) -> None:
    harness.clock.set(datetime(2026, 10, 24, 12, 0, tzinfo=UTC))
    harness.put(definition("dst", docker_task("t"), schedule=cron("30", "2", "Europe/Berlin")))
    run_day(harness, datetime(2026, 10, 24, 12, 0, tzinfo=UTC), 24)
    # 25 October 2026: 02:00-03:00 happens twice in Berlin; the job runs at the first 02:30.
    assert scheduled_for(harness, "dst") == [datetime(2026, 10, 25, 0, 30, tzinfo=UTC)]


def test_deleted_definition_stops_scheduling_but_its_run_finishes(harness: Harness) -> None:
    from gnomon.storage import definitions
    from gnomon.storage.engine import transaction

    harness.put(definition("gone", docker_task("t"), schedule=cron("*", "*")))
    harness.advance(60)
    with transaction(harness.engine) as session:
        definitions.delete_definition(session=session, name="gone")
    harness.tick("definitions")
    harness.finish("t")
    harness.advance(600)
    assert harness.statuses("gone") == ["succeeded"]


def test_edit_of_the_schedule_takes_effect(harness: Harness) -> None:
    harness.clock.set(datetime(2026, 3, 2, 11, 0, tzinfo=UTC))
    harness.put(definition("edit", docker_task("t"), schedule=cron("0", "22")))
    harness.put(definition("edit", docker_task("t"), schedule=cron("30", "11")))
    assert harness.service.definitions.next_due() == datetime(2026, 3, 2, 11, 30, tzinfo=UTC)
    harness.clock.advance(timedelta(minutes=30).total_seconds())
    harness.tick()
    assert len(harness.processes("edit")) == 1
