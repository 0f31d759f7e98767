"""If the scheduler loop dies anyway, nothing may look healthy: the lease is released, the
healthcheck answers 503 and `gnomon serve` / `gnomon scheduler` exit non-zero (issue 9, defect 1).

Death is simulated with an exception the loop deliberately does not catch (a `BaseException`),
standing for whatever might still escape it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from gnomon.api.app import create_app
from gnomon.domain.times import as_utc
from gnomon.settings import Settings
from gnomon.storage.engine import make_engine
from gnomon.storage.migrate import upgrade
from gnomon.storage.tables import SchedulerLeaseRow
from tests.clock import FakeClock
from tests.live import free_port
from tests.scheduler.harness import Harness


class Die(BaseException):
    """Escapes every `except Exception` in the loop."""


def test_dead_loop_releases_its_lease_and_health_turns_503(
    harness: Harness, engine: Engine, clock: FakeClock
) -> None:
    service = harness.service
    harness.tick()
    assert service.lease is not None

    def dying_tick(_topics: object = None) -> object:
        raise Die("simulated")

    service.tick = dying_tick  # type: ignore[assignment,method-assign]
    settings = Settings(database_url="sqlite://")
    app = create_app(settings, engine, clock=clock, scheduler_health=service.problem)
    with TestClient(app) as client:
        assert client.get("/_internal_/healthcheck").json()["scheduler"] == "ok"
        errors: list[BaseException] = []

        def run() -> None:
            try:
                service.run()
            except Die as exc:
                errors.append(exc)

        thread = threading.Thread(target=run)
        thread.start()
        thread.join(timeout=10)
        assert not thread.is_alive() and errors
        response = client.get("/_internal_/healthcheck")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["scheduler"] == "the scheduler loop died: Die: simulated"
    standby = Harness(engine, clock, holder="standby")
    standby.tick()  # at the same instant: no waiting out the dead holder's lease
    assert standby.service.lease is not None


def test_a_stopped_loop_is_not_dead(harness: Harness) -> None:
    harness.service.stop()
    harness.service.run()
    assert harness.service.problem() is None


DYING_SERVER = textwrap.dedent(
    """
    import sys
    from gnomon.cli import main
    from gnomon.scheduler.service import SchedulerService

    class Die(BaseException):
        pass

    original = SchedulerService.tick
    ticks = []

    def tick(self, topics=None):
        if ticks:  # the first wake-up takes the lease; the second dies
            raise Die("simulated")
        ticks.append(topics)
        return original(self, topics)

    SchedulerService.tick = tick
    sys.exit(main([sys.argv[1]]))
    """
)


@pytest.mark.parametrize("verb", ["serve", "scheduler"])
def test_gnomon_exits_non_zero_when_its_scheduler_dies(verb: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gnomon.db'}"
    store = make_engine(url)
    upgrade(store)
    env = {
        **os.environ,
        "GNOMON_DATABASE_URL": url,
        "GNOMON_EXECUTOR": "fake",
        "GNOMON_HOST": "127.0.0.1",
        "GNOMON_PORT": str(free_port()),
        "GNOMON_METRICS_PORT": str(free_port()),
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    result = subprocess.run(
        [sys.executable, "-c", DYING_SERVER, verb],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    assert "the scheduler loop died: Die: simulated" in result.stderr
    table = SchedulerLeaseRow.__table__  # type: ignore[attr-defined]
    with store.connect() as connection:
        (lease,) = connection.execute(sa.select(table.c.holder, table.c.expires_at)).all()
    store.dispose()
    assert as_utc(lease.expires_at) <= datetime.now(UTC)  # released, not left to expire
