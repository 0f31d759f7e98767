"""Engines and sessions for SQLite (the embedded default) and PostgreSQL.

Every wait on the store is bounded (issue 9, defect 7): connecting, each statement, and checking
a connection out of the pool. A store that is reachable but silent (a frozen server, a network
that drops packets) must turn into an error within the bound, never into a thread that hangs:
PostgreSQL cancels a statement after `statement_timeout`, and because a silent network never
delivers that answer, the client gives up on its own shortly after (`_BoundedConnection`), with
TCP keepalives and `tcp_user_timeout` to notice a dead peer on idle connections as well.

`Engine` and `Session` are SQLAlchemy's; other layers hold them as opaque handles, passed back to
the functions of `gnomon.storage`. Every session opened here raises Gnomon's own errors
(`failures.store_errors`), never the library's.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool
from sqlmodel import Session

from gnomon.storage.failures import store_errors

if TYPE_CHECKING:
    from gnomon.settings import Settings

log = logging.getLogger(__name__)

ANSWER_MARGIN_SECONDS = 1.0
"""How much longer than the server's statement timeout the client waits for its answer."""
KEEPALIVE_IDLE_SECONDS = 10
KEEPALIVE_INTERVAL_SECONDS = 5
KEEPALIVE_COUNT = 3
SQLITE_LONGEST_BUSY_MS = 600_000
"""SQLite cannot wait for its lock without a bound; this one stands for "no limit"."""
SQLITE_AUTOCHECKPOINT_PAGES = 10_000
"""How large (in 4 KiB pages) the write-ahead log may grow before the commit that crosses it
copies it into the database and syncs the file. SQLite's default, 1,000, made a due minute of
10,000 runs pay for several syncs in the middle of the burst; the scheduler checkpoints between
bursts (`checkpoint`), and this larger bound only catches what it does not."""


@dataclass(frozen=True)
class StoreTimeouts:
    """Bounds on every wait for the store (settings `GNOMON_DATABASE_*_TIMEOUT_SECONDS`)."""

    connect_seconds: float = 5.0
    """Opening a connection, handshake and login included (PostgreSQL; libpq rounds to >= 2 s)."""
    statement_seconds: float | None = 10.0
    """One statement, COMMIT included; on SQLite how long a writer waits for the lock. None: no
    limit (migrations, which may rewrite large tables)."""
    pool_seconds: float = 10.0
    """Waiting for a free connection when every pooled one is in use."""

    @property
    def answer_seconds(self) -> float | None:
        """How long the client waits for any answer before it gives the connection up."""
        if self.statement_seconds is None:
            return None
        return self.statement_seconds + ANSWER_MARGIN_SECONDS


DEFAULT_TIMEOUTS = StoreTimeouts()


def store_timeouts(settings: Settings, *, migrating: bool = False) -> StoreTimeouts:
    """The bounds the settings ask for; a migration's statements are not limited."""
    return StoreTimeouts(
        connect_seconds=settings.database_connect_timeout_seconds,
        statement_seconds=None if migrating else settings.database_statement_timeout_seconds,
        pool_seconds=settings.database_pool_timeout_seconds,
    )


def make_engine(url: str, timeouts: StoreTimeouts = DEFAULT_TIMEOUTS, **kwargs: Any) -> Engine:
    """An engine for `url` whose waits are bounded by `timeouts`.

    SQLite gets WAL, foreign keys and a busy timeout on every connection; an in-memory SQLite URL
    gets one shared connection so every session sees the same data. `kwargs` go to
    `sqlalchemy.create_engine` (`connect_args` are merged over the ones made here).

    Raises:
        StoreError: `url` names no database SQLAlchemy can open.
    """
    with store_errors():
        return _engine(url, timeouts, **kwargs)


def _engine(url: str, timeouts: StoreTimeouts, **kwargs: Any) -> Engine:
    parsed = sa.engine.make_url(url)
    connect_args = dict(kwargs.pop("connect_args", {}))
    if parsed.get_backend_name() != "sqlite":
        connect_args = {**_postgres_connect_args(timeouts), **connect_args}
        engine = sa.create_engine(
            url,
            pool_pre_ping=True,
            pool_timeout=timeouts.pool_seconds,
            connect_args=connect_args,
            **kwargs,
        )
        if parsed.get_driver_name() == "psycopg":
            _bound_answers(engine, timeouts.answer_seconds)
        return engine
    connect_args = {"check_same_thread": False, **connect_args}
    if parsed.database in (None, "", ":memory:"):
        kwargs.setdefault("poolclass", StaticPool)
    else:
        kwargs.setdefault("pool_timeout", timeouts.pool_seconds)
    engine = sa.create_engine(url, connect_args=connect_args, **kwargs)
    busy_ms = (
        SQLITE_LONGEST_BUSY_MS
        if timeouts.statement_seconds is None
        else _milliseconds(timeouts.statement_seconds)
    )
    sa.event.listen(engine, "connect", lambda dbapi, _record: _configure_sqlite(dbapi, busy_ms))
    return engine


def _milliseconds(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


def _postgres_connect_args(timeouts: StoreTimeouts) -> dict[str, Any]:
    args: dict[str, Any] = {
        "connect_timeout": max(1, math.ceil(timeouts.connect_seconds)),
        "keepalives": 1,
        "keepalives_idle": KEEPALIVE_IDLE_SECONDS,
        "keepalives_interval": KEEPALIVE_INTERVAL_SECONDS,
        "keepalives_count": KEEPALIVE_COUNT,
    }
    if timeouts.statement_seconds is not None:
        args["options"] = f"-c statement_timeout={_milliseconds(timeouts.statement_seconds)}"
        # Unacknowledged data on a dead network: the kernel gives up as the client would.
        args["tcp_user_timeout"] = _milliseconds(timeouts.statement_seconds + ANSWER_MARGIN_SECONDS)
    return args


def _bound_answers(engine: Engine, answer_seconds: float | None) -> None:
    """Open psycopg connections that stop waiting for an answer after `answer_seconds`."""
    if answer_seconds is None:
        return

    @sa.event.listens_for(engine, "do_connect")
    def connect(_dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        connection = _BoundedConnection.connect(*cargs, **cparams)
        connection.answer_seconds = answer_seconds
        return connection


_DEFAULT: Any = object()


class _BoundedConnection(psycopg.Connection[Any]):
    """A psycopg connection that gives up on an answer that does not come.

    Every statement, COMMIT and ROLLBACK goes through `wait`; psycopg waits forever unless given
    a timeout. A timeout leaves the protocol mid-exchange, so the connection is closed, which
    SQLAlchemy sees as a disconnect and drops from the pool. Callers that pass their own timeout
    (`notifies`) keep it.
    """

    answer_seconds: float | None = None

    def wait(self, gen: Any, interval: float = 0.1, timeout: Any = _DEFAULT) -> Any:
        bound = self.answer_seconds if timeout is _DEFAULT else timeout
        began = time.monotonic()
        try:
            return super().wait(gen, interval=interval, timeout=bound)
        except psycopg.OperationalError:
            if bound is None or time.monotonic() - began < bound or timeout is not _DEFAULT:
                raise
            self.pgconn.finish()
            raise psycopg.OperationalError(
                f"no answer from the store within {bound:g} s; connection closed"
            ) from None


def _configure_sqlite(dbapi_connection: Any, busy_timeout_ms: int) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: each commit syncs the write-ahead log before it returns, so what the API has
    # acknowledged survives a power cut or an operating-system crash; NORMAL survives only the
    # process's own crash. It costs about 0.12-0.16 ms a commit on the test machine's disk.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
    cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_AUTOCHECKPOINT_PAGES}")
    cursor.close()


def checkpoint(engine: Engine) -> int:
    """Copy SQLite's write-ahead log into the database now, without waiting for readers or
    writers (PASSIVE), and return how many pages it copied; PostgreSQL has nothing to do here.

    Raises:
        StoreError: the store failed.
    """
    if not is_sqlite(engine):
        return 0
    with store_errors(), engine.connect() as connection:
        row = connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
        connection.commit()
    return int(row[2])


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def display_url(url: str) -> str:
    """`url` as it may be shown or logged: its password hidden."""
    return sa.engine.make_url(url).render_as_string(hide_password=True)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on any error.

    Raises:
        StoreError: the store failed, in the block or at COMMIT (see `failures`).
    """
    with store_errors(), Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def ping(engine: Engine) -> None:
    """Raise `StoreError` if the store cannot answer a trivial query."""
    with store_errors(), engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))
