"""The store's failures come out of every way into it as Gnomon's own errors, the cause chained."""

from __future__ import annotations

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gnomon.errors import StoreDataError, StoreError, StoreUnavailableError
from gnomon.storage import StoreTimeouts, make_engine, ping, transaction, upgrade
from gnomon.storage.definitions import definition_bodies
from gnomon.storage.failures import translated

NOWHERE = "postgresql+psycopg://nobody@127.0.0.1:1/gnomon"
"""A port nothing listens on: every connection is refused at once."""
SHORT = StoreTimeouts(connect_seconds=2, statement_seconds=1, pool_seconds=0.2)


@pytest.fixture
def nowhere() -> Engine:
    return make_engine(NOWHERE, SHORT)


def test_an_unreachable_store_is_unavailable_to_a_transaction(nowhere: Engine) -> None:
    with pytest.raises(StoreUnavailableError) as raised:
        with transaction(nowhere) as session:
            definition_bodies(session=session)
    assert "127.0.0.1" in str(raised.value) and "\n" not in str(raised.value)
    assert raised.value.kind == "OperationalError"
    assert isinstance(raised.value.__cause__, sa.exc.OperationalError)


def test_an_unreachable_store_is_unavailable_to_ping_and_upgrade(nowhere: Engine) -> None:
    with pytest.raises(StoreUnavailableError):
        ping(nowhere)
    with pytest.raises(StoreUnavailableError):
        upgrade(nowhere)


def test_no_free_pooled_connection_in_time_is_unavailable(engine: Engine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    store = make_engine(url, SHORT, pool_size=1, max_overflow=0)
    held = store.connect()
    try:
        with pytest.raises(StoreUnavailableError):
            ping(store)
    finally:
        held.close()
        store.dispose()


@pytest.mark.parametrize(
    "engine", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_a_value_the_store_refuses_is_a_data_error(engine: Engine) -> None:
    with pytest.raises(StoreDataError) as raised:
        with transaction(engine) as session:
            session.execute(sa.text("SELECT CAST(:text AS text)"), {"text": "a\x00b"})
    assert raised.value.kind == "DataError"


def test_any_other_failure_of_the_store_is_a_store_error(engine: Engine) -> None:
    with pytest.raises(StoreError) as raised:
        with transaction(engine) as session:
            session.execute(sa.text("SELECT :missing"))  # a parameter without a value
    assert type(raised.value) is StoreError


def test_errors_of_the_callers_own_pass_unchanged(engine: Engine) -> None:
    with pytest.raises(ZeroDivisionError):
        with transaction(engine):
            raise ZeroDivisionError


def _error_raised_over(lost: Exception) -> sa.exc.ProgrammingError:
    """A driver error raised while the driver handled `lost`, as SQLAlchemy wraps it."""
    try:
        try:
            raise lost
        except type(lost):
            raise psycopg.ProgrammingError("can't change 'autocommit' now") from None
    except psycopg.ProgrammingError as echo:
        echo.__context__ = lost
        return sa.exc.ProgrammingError("select pg_catalog.version()", {}, echo)


def test_an_error_raised_while_a_connection_was_lost_is_unavailability() -> None:
    # Seen under connections cut at random: the pre-ping's socket closed, then restoring
    # autocommit on the dead handle raised a ProgrammingError, which once answered 500.
    error = _error_raised_over(psycopg.OperationalError("connection socket closed"))
    assert isinstance(translated(error), StoreUnavailableError)


def test_an_error_raised_over_an_error_of_the_callers_own_stays_a_store_error() -> None:
    error = _error_raised_over(ValueError("a mistake of the caller's"))
    assert type(translated(error)) is StoreError
