"""What the store's failures mean to the rest of Gnomon, decided in this one place.

Every way into the store (`transaction`, `ping`, `upgrade`, `notify_store`) runs inside
`store_errors`, which turns the database library's exceptions into Gnomon's own (`gnomon.errors`):

- `ConcurrentWriteError` (a `ConflictError`): two writers raced on the same key;
- `StoreUnavailableError`: the store cannot be reached, a connection was lost or given up, or no
  pooled connection came free in time;
- `StoreDataError`: the store refused a value;
- `StoreError`: anything else the store or its library raised.

Every one of them is a `StoreError`, so a caller that only needs "the store failed" catches that.
Code that works inside an open session and must tell the store's trouble from its own (the
scheduler, which sets aside one run on its own error but retries the whole wake-up on the
store's) wraps that work in `store_errors` too.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import sqlalchemy as sa

from gnomon.errors import ConcurrentWriteError, StoreDataError, StoreError, StoreUnavailableError

log = logging.getLogger(__name__)

_UNAVAILABLE = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)
"""Unreachable, connection lost or timed out, statement cancelled, pool exhausted."""
_DRIVER_UNAVAILABLE = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    sqlite3.OperationalError,
    sqlite3.InterfaceError,
)
"""The same, as the drivers raise it before SQLAlchemy wraps it."""
_CHAIN_LIMIT = 8


@contextmanager
def store_errors() -> Iterator[None]:
    """Raise the store's failures inside the block as `StoreError`s (the cause chained)."""
    try:
        yield
    except sa.exc.SQLAlchemyError as exc:
        raise translated(exc) from exc


def translated(exc: sa.exc.SQLAlchemyError) -> StoreError:
    """Gnomon's error for one of the database library's."""
    detail, kind = _detail(exc), _kind(exc)
    if isinstance(exc, sa.exc.IntegrityError):
        return ConcurrentWriteError(detail, kind)
    if isinstance(exc, _UNAVAILABLE) or _invalidated(exc) or _raised_over_lost_connection(exc):
        # A connection that died mid-request surfaces as whatever the driver raised on the dead
        # handle (sqlite3 says ProgrammingError); SQLAlchemy marks those as invalidated.
        return StoreUnavailableError(detail, kind)
    if isinstance(exc, sa.exc.DataError):
        return StoreDataError(detail, kind)
    return StoreError(detail, kind)


def _invalidated(exc: sa.exc.SQLAlchemyError) -> bool:
    return isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated


def _raised_over_lost_connection(exc: sa.exc.SQLAlchemyError) -> bool:
    """Whether the driver's error was raised while handling a lost connection.

    SQLAlchemy's pre-ping on PostgreSQL meets a socket closed mid-ping, then fails again as it
    restores autocommit on the dead handle ("can't change 'autocommit' now"): a ProgrammingError
    that is only the echo of the lost connection underneath it.
    """
    cause: BaseException | None = _source(exc).__context__
    for _ in range(_CHAIN_LIMIT):
        if cause is None:
            return False
        if isinstance(cause, _DRIVER_UNAVAILABLE):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def _detail(exc: sa.exc.SQLAlchemyError) -> str:
    """The database's own first line, without SQLAlchemy's decoration."""
    lines = str(_source(exc)).strip().splitlines()
    return lines[0] if lines else _kind(exc)


def _kind(exc: sa.exc.SQLAlchemyError) -> str:
    return type(_source(exc)).__name__


def _source(exc: sa.exc.SQLAlchemyError) -> BaseException:
    """The driver's own exception where SQLAlchemy wraps one."""
    return exc.orig if isinstance(exc, sa.exc.DBAPIError) and exc.orig else exc
