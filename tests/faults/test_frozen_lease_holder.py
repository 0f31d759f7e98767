"""A lease holder frozen past its lease (SIGSTOP, a long GC pause, a VM migration) wakes up in the
middle of a wake-up, with the time it read before it froze, while a standby has taken over and
started the next tasks. The fencing token (the lease epoch, checked in the same transaction as the
writes) must stop every write and every side effect of the old holder: no task is wrongly failed,
none runs twice, and the old holder later takes over cleanly, re-adopting what the standby started.

Each scheduler has its own fake clock: a frozen process's clock is the `now` it read before it
froze.
Both fake runners see the same jobs, as two runners on one engine see the same containers.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select

from gnomon.runner.base import ExecutorStatus
from gnomon.storage import lease as leases
from gnomon.storage import run_requests
from gnomon.storage.engine import transaction
from gnomon.storage.tables import ProcessRow, TaskRow
from tests.clock import FakeClock
from tests.conftest import START
from tests.samples import definition, docker_task
from tests.scheduler.harness import Harness, started_names

RUNS = 20
LEASE = 15


def _pair(engine: Engine) -> tuple[Harness, Harness]:
    old = Harness(engine, FakeClock(START), "old")
    standby = Harness(engine, FakeClock(START), "new")
    for index in range(RUNS):
        old.put(definition(f"chain{index}", docker_task("first"), docker_task("second", "first")))
    standby.tick()  # the old holder has the lease: the standby stands by
    with transaction(engine) as session:
        for index in range(RUNS):
            run_requests.add_trigger(
                session=session, name=f"chain{index}", task_filter=None, now=START
            )
    old.tick()
    assert len(old.runner.started) == RUNS and standby.runner.started == []
    return old, standby


def _tasks(engine: Engine) -> list[TaskRow]:
    with Session(engine) as session:
        return list(session.exec(select(TaskRow)).all())


def _process_statuses(engine: Engine) -> Counter[str]:
    with Session(engine) as session:
        return Counter(row.status for row in session.exec(select(ProcessRow)).all())


def _finish_everywhere(harnesses: list[Harness], names: set[str]) -> None:
    """The jobs named `names` end; every runner watching them reports it."""
    for harness in harnesses:
        for job in list(harness.runner.running.values()):
            if job.task_definition_name in names:
                harness.runner.finish(job.task_id, ExecutorStatus.SUCCEEDED)


def test_a_frozen_holder_wakes_and_neither_fails_nor_repeats_anything(engine: Engine) -> None:
    old, standby = _pair(engine)
    # The old holder freezes (its clock stays at START); the standby's time goes on.
    standby.clock.advance(LEASE + 1)
    standby.tick()
    assert standby.service.lease is not None and standby.service.lease.holder == "new"
    assert {j.task_id for j in standby.runner.adopted} == {j.task_id for j in old.runner.started}

    # The first tasks end; both runners watch them, the standby records it and starts `second`.
    _finish_everywhere([old, standby], {"first"})
    standby.tick()
    assert sorted(started_names(standby.runner)) == ["second"] * RUNS

    # The old holder thaws mid wake-up, believing it is START: its writes must be refused.
    started_before = len(old.runner.started)
    old.tick()
    assert len(old.runner.started) == started_before, "the frozen holder started tasks again"
    assert old.runner.killed == []
    assert old.service.lease is None and old.service.processes.states == {}
    assert old.runner.releases == 1 and old.runner.running == {}  # the new holder watches them

    # Its clock catches up; the standby, alive, keeps the lease.
    old.clock.set(standby.clock.now())
    old.tick()
    assert old.service.lease is None

    # Now the standby dies; the old holder takes over and re-adopts what the standby started.
    old.clock.advance(LEASE + 1)
    old.tick()
    assert old.service.lease is not None and old.service.lease.epoch == 3
    seconds = {j.task_id for j in standby.runner.started}
    assert seconds <= {j.task_id for j in old.runner.adopted}
    _finish_everywhere([old], {"second"})
    old.tick()

    tasks = _tasks(engine)
    assert Counter(t.status for t in tasks) == Counter({"succeeded": 2 * RUNS})
    per_task = Counter((t.process_id, t.task_definition_name) for t in tasks)
    assert set(per_task.values()) == {1}, "a task ran twice"
    started = [j.task_id for j in old.runner.started + standby.runner.started]
    assert len(started) == len(set(started)) == 2 * RUNS
    assert _process_statuses(engine) == Counter({"succeeded": RUNS})


def test_a_holder_whose_lease_ran_out_unreplaced_renews_and_goes_on(engine: Engine) -> None:
    old, standby = _pair(engine)
    epoch = old.service.lease.epoch if old.service.lease else None
    # Frozen past its lease, but nobody took over: the epoch proves nobody else acted.
    old.clock.advance(LEASE * 3)
    _finish_everywhere([old], {"first"})
    old.tick()
    assert old.service.lease is not None and old.service.lease.epoch == epoch
    assert sorted(started_names(old.runner)).count("second") == RUNS
    assert old.runner.adopted == []  # no takeover of its own state: nothing was reloaded


def test_an_expired_lease_is_not_used_without_renewal(engine: Engine) -> None:
    old, _ = _pair(engine)
    lease = old.service.lease
    assert lease is not None
    with transaction(engine) as session, pytest.raises(leases.LeaseLostError):
        leases.fence(session=session, lease=lease, now=lease.expires_at + timedelta(seconds=1))
    with transaction(engine) as session:
        leases.fence(session=session, lease=lease, now=lease.expires_at - timedelta(seconds=1))


@pytest.mark.postgres
@pytest.mark.parametrize("engine", ["postgres"], indirect=True)
def test_a_holder_frozen_inside_its_transaction_does_not_block_the_takeover(
    engine: Engine,
) -> None:
    with transaction(engine) as session:
        held = leases.try_acquire(
            session=session, holder="old", now=START, duration=timedelta(seconds=LEASE)
        )
    assert held is not None
    frozen = Session(engine)
    try:
        # The holder fences its transaction (locking the lease row), then freezes inside it.
        leases.fence(session=frozen, lease=held, now=START, idle_limit=timedelta(seconds=0.5))
        later = START + timedelta(seconds=LEASE + 1)
        with transaction(engine) as session:
            # The server cuts the frozen session off after 0.5 s: the lock goes well before 5 s.
            session.execute(sa.text("SET LOCAL lock_timeout = '5s'"))
            taken = leases.try_acquire(
                session=session, holder="new", now=later, duration=timedelta(seconds=LEASE)
            )
        assert taken is not None and taken.epoch == held.epoch + 1
        with pytest.raises(SQLAlchemyError):  # the thawed holder's work is not committed
            frozen.commit()
    finally:
        frozen.close()
