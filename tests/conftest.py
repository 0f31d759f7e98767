"""Fixtures shared by every test: stores (SQLite and PostgreSQL), clocks, the API client.

Tests that need PostgreSQL or Docker skip with the reason when those are absent, unless
GNOMON_REQUIRE_ALL=1 (set by .ci/run), which turns such a skip into a failure.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from gnomon.api.app import create_app
from gnomon.settings import Settings
from gnomon.storage.engine import make_engine
from gnomon.storage.migrate import upgrade
from tests.clock import FakeClock

REQUIRE_ALL = os.environ.get("GNOMON_REQUIRE_ALL") == "1"

# Property tests: a modest number of examples keeps the suite fast; HYPOTHESIS_PROFILE=fuzz
# searches much longer. No deadline: the machine is shared, and timing is not the property.
hypothesis_settings.register_profile("quick", max_examples=60, deadline=None)
hypothesis_settings.register_profile("fuzz", max_examples=5_000, deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "quick"))
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Tests that run `gnomon` (or configure its logs) replace the root handler with one bound to
    that test's captured stderr; put the previous handlers back, so later threads do not log to
    a closed stream."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def skip_or_fail(reason: str) -> None:
    """Skip on a developer machine; fail under CI, where everything must be present."""
    if REQUIRE_ALL:
        pytest.fail(f"{reason} (GNOMON_REQUIRE_ALL=1 forbids skipping)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session; its URL."""
    admin_url = os.environ.get("GNOMON_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            name = f"gnomon_test_{uuid.uuid4().hex[:12]}"
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        skip_or_fail(f"PostgreSQL is not reachable at {admin_url}: {str(exc).splitlines()[0]}")
    url = sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_all(engine: Engine) -> None:
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(sa.text(f"TRUNCATE {tables} CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A migrated, empty store: a SQLite file, then PostgreSQL."""
    if request.param == "postgres":
        engine = make_engine(request.getfixturevalue("postgres_database"))
        _truncate_all(engine)
    else:
        path = tmp_path_factory.mktemp("store") / "gnomon.db"
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A migrated SQLite file store, for tests that are about the API rather than the store."""
    path = tmp_path_factory.mktemp("store") / "gnomon.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def settings() -> Settings:
    return Settings(database_url="sqlite://", allow_shell=True)


@pytest.fixture
def client(settings: Settings, sqlite_engine: Engine, clock: FakeClock) -> Iterator[TestClient]:
    app = create_app(settings, sqlite_engine, clock=clock)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
