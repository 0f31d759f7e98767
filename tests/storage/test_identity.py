"""The store's instance id: written once, the same for every reader, different for every store."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from gnomon.server import job_instance
from gnomon.settings import Settings
from gnomon.storage.engine import make_engine, transaction
from gnomon.storage.identity import instance_id
from gnomon.storage.migrate import upgrade
from tests.clock import FakeClock


def test_the_id_is_written_once_and_read_back(engine: Engine, clock: FakeClock) -> None:
    with transaction(engine) as session:
        first = instance_id(session=session, now=clock.now())
    with transaction(engine) as session:
        again = instance_id(session=session, now=clock.now())
    assert first == again and len(first) == 32


def test_two_stores_have_different_ids(engine: Engine, tmp_path: Path) -> None:
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    upgrade(other)
    try:
        settings = Settings()
        assert job_instance(settings, engine) != job_instance(settings, other)
    finally:
        other.dispose()


def test_the_setting_wins(engine: Engine) -> None:
    assert job_instance(Settings(instance="staging"), engine) == "staging"
