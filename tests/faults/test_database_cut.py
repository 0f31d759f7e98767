"""The store's connections are cut again and again while jobs stream log entries (issue 9, 2).

Clients post log entries over real HTTP while a proxy resets every connection to PostgreSQL at
intervals, and in between kills each connection exactly as it sends COMMIT. A client may be
refused (503) and post again; what it was told was stored (204) must all be in the store.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import sqlalchemy as sa
from sqlmodel import col

from gnomon.api.app import create_app
from gnomon.domain.definitions import TaskDefinition
from gnomon.settings import Settings
from gnomon.storage import WriteBatch, transaction
from gnomon.storage.tables import TaskLogRow
from tests.clock import FakeClock
from tests.faults.conftest import ONLY_POSTGRES, FaultyStore
from tests.live import live_server
from tests.samples import docker_task

pytestmark = ONLY_POSTGRES
CLIENTS = 6
BATCH = 5
STREAM_SECONDS = 8.0
CUT_EVERY_SECONDS = 0.5
COMMIT_DEATH_SECONDS = 0.25


@dataclass
class Outcomes:
    acknowledged: set[str] = field(default_factory=set)
    statuses: dict[int, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, ids: list[str], status: int) -> None:
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if status == 204:
                self.acknowledged.update(ids)


def tasks(store: FaultyStore, clock: FakeClock, count: int) -> list[str]:
    task = TaskDefinition.model_validate(docker_task("only"))
    batch, now = WriteBatch(), clock.now()
    process_id = batch.add_process(
        name="d", tasks=[task], origin="trigger", scheduled_for=None, task_filter=None, now=now
    )
    ids = [
        batch.add_task(process_id=process_id, name="d", task=task, attempts=n, now=now)[0]
        for n in range(count)
    ]
    with transaction(store.direct) as session:
        batch.flush(session)
    return ids


def stream(base: str, task_id: str, stop: threading.Event, outcomes: Outcomes) -> None:
    """Post batches of entries until `stop`, as a chatty job does."""
    with httpx.Client(base_url=base, timeout=30) as client:
        while not stop.is_set():
            ids = [str(uuid.uuid4()) for _ in range(BATCH)]
            body = [
                {
                    "log_entry_id": i,
                    "when": "2026-03-02T12:00:00.000Z",
                    "source": "stdout",
                    "message": f"line {i}",
                }
                for i in ids
            ]
            try:
                status = client.post(f"/api/tasks/{task_id}/log_entries", json=body).status_code
            except httpx.TransportError:
                status = 0  # no answer at all: not acknowledged either
            outcomes.record(ids, status)


def disrupt(store: FaultyStore, until: float) -> Iterator[int]:
    """Alternately reset every connection and kill connections at COMMIT; yields cuts made."""
    assert store.proxy is not None
    while time.monotonic() < until:
        time.sleep(CUT_EVERY_SECONDS)  # the fault's rhythm, not a wait for a schedule
        yield store.proxy.cut_all()
        store.die_at_commit()
        time.sleep(COMMIT_DEATH_SECONDS)
        store.die_at_commit(False)


def test_no_acknowledged_entry_is_lost_when_connections_are_cut(
    faulty_store: FaultyStore, clock: FakeClock
) -> None:
    assert faulty_store.proxy is not None
    task_ids = tasks(faulty_store, clock, CLIENTS)
    outcomes, stop = Outcomes(), threading.Event()
    with live_server(create_app(Settings(), faulty_store.engine, clock=clock)) as base:
        clients = [
            threading.Thread(target=stream, args=(base, task_id, stop, outcomes))
            for task_id in task_ids
        ]
        for thread in clients:
            thread.start()
        cuts = sum(disrupt(faulty_store, time.monotonic() + STREAM_SECONDS))
        stop.set()
        for thread in clients:
            thread.join(timeout=30)
        final = httpx.post(
            f"{base}/api/tasks/{task_ids[0]}/log_entries", json=[], timeout=30
        ).status_code

    with faulty_store.direct.connect() as connection:
        stored = set(connection.execute(sa.select(col(TaskLogRow.log_entry_id))).scalars())
    lost = outcomes.acknowledged - stored
    summary = (
        f"{faulty_store.proxy.cuts} connections cut ({cuts} by reset), answers "
        f"{outcomes.statuses}, {len(outcomes.acknowledged)} entries acknowledged, "
        f"{len(stored)} stored"
    )
    assert not lost, f"{len(lost)} acknowledged entries are not in the store; {summary}"
    assert set(outcomes.statuses) <= {204, 503}, outcomes.statuses
    assert outcomes.statuses.get(503), f"no request met a fault, nothing proved; {summary}"
    assert len(outcomes.acknowledged) > 100, summary
    assert final == 204, "the API did not recover once the faults stopped"
