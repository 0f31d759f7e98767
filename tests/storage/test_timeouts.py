"""Every wait on the store has a bound, taken from the settings (issue 9, defect 7)."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gnomon.settings import Settings
from gnomon.storage.engine import StoreTimeouts, is_sqlite, make_engine, store_timeouts

TIMEOUTS = StoreTimeouts(connect_seconds=3, statement_seconds=1.5, pool_seconds=0.5)


def test_settings_give_the_bounds_and_migrations_run_unlimited() -> None:
    settings = Settings(
        database_connect_timeout_seconds=3,
        database_statement_timeout_seconds=1.5,
        database_pool_timeout_seconds=0.5,
    )
    assert store_timeouts(settings) == TIMEOUTS
    assert store_timeouts(settings, migrating=True).statement_seconds is None
    assert Settings().database_statement_timeout_seconds == 10.0


def bounded(engine: Engine) -> Engine:
    url = engine.url.render_as_string(hide_password=False)
    return make_engine(url, TIMEOUTS, pool_size=1, max_overflow=0)


def test_each_connection_carries_the_statement_bound(engine: Engine) -> None:
    store = bounded(engine)
    try:
        with store.connect() as connection:
            if is_sqlite(store):
                busy = connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one()
                assert busy == 1500
            else:
                shown = connection.exec_driver_sql("SHOW statement_timeout").scalar_one()
                assert shown == "1500ms"
    finally:
        store.dispose()


@pytest.mark.postgres
def test_a_statement_longer_than_the_bound_is_cancelled(postgres_database: str) -> None:
    store = make_engine(postgres_database, TIMEOUTS)
    try:
        began = time.monotonic()
        with pytest.raises(sa.exc.OperationalError, match="statement timeout"):
            with store.connect() as connection:
                connection.execute(sa.text("SELECT pg_sleep(10)"))
        assert time.monotonic() - began < 5
    finally:
        store.dispose()


def test_waiting_for_a_pooled_connection_is_bounded(engine: Engine) -> None:
    store = bounded(engine)
    held = store.connect()
    try:
        began = time.monotonic()
        with pytest.raises(sa.exc.TimeoutError):
            store.connect()
        assert time.monotonic() - began < 3
    finally:
        held.close()
        store.dispose()


def test_a_held_sqlite_write_lock_fails_a_writer_after_the_bound(sqlite_engine: Engine) -> None:
    store = bounded(sqlite_engine)
    other = bounded(sqlite_engine)
    locked, release = threading.Event(), threading.Event()

    def hold_the_lock() -> None:
        with other.connect() as connection:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            locked.set()
            release.wait(10)
            connection.exec_driver_sql("ROLLBACK")

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    try:
        assert locked.wait(10)
        began = time.monotonic()
        with pytest.raises(sa.exc.OperationalError, match="locked"):
            with store.begin() as connection:
                connection.exec_driver_sql("DELETE FROM process_definition")
        assert 1.0 < time.monotonic() - began < 5
    finally:
        release.set()
        holder.join()
        store.dispose()
        other.dispose()
