"""New rows in bulk, sent the cheapest way each store takes them.

The scheduler writes a due minute's runs, task snapshots and attempts a few thousand rows per table
at a time. On PostgreSQL, psycopg sends an executemany as a pipeline of one-row INSERTs driven from
Python: with 10,000 runs due in one minute that was 40% of the scheduler's CPU (py-spy). COPY sends
the same rows as one stream that psycopg formats in C: a run and its attempt cost 7 µs of CPU
instead of 37 to 57. SQLite's executemany already binds and steps in C, so it stays.

What COPY stores is what the INSERT would have stored: each value goes through the bind processing
of its parameter's type first (a JSON column's serializer, `PreSerialized` text as it is). A
driver error is raised as the SQLAlchemy error the INSERT would have raised, so `store_errors`
tells a lost connection from a refused row as it does everywhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

import sqlalchemy as sa

Processor = Callable[[Any], Any] | None


def insert_rows(
    connection: sa.Connection, statement: sa.Insert, rows: list[dict[str, Any]]
) -> None:
    """Insert `rows` (dicts with the same keys, each a parameter of `statement`) in the
    connection's transaction."""
    if not rows:
        return
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        _copy(connection, statement, rows)
    else:
        # Core executemany: its compiled form is cached, unlike an ORM bulk insert's.
        connection.execute(statement, rows)


def _copy(connection: sa.Connection, statement: sa.Insert, rows: list[dict[str, Any]]) -> None:
    names = tuple(rows[0])
    command, processors = _copy_plan(connection.dialect, statement, names)
    values = itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],))
    driver = connection.connection.driver_connection
    try:
        with driver.cursor() as cursor, cursor.copy(command) as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(_processed(processors, values(row)))
    except connection.dialect.loaded_dbapi.Error as exc:
        raise _as_sqlalchemy_error(connection, command, exc) from exc


def _processed(processors: Sequence[Processor], values: Sequence[Any]) -> list[Any]:
    return [value if p is None else p(value) for p, value in zip(processors, values, strict=True)]


_PLANS: dict[tuple[int, str, tuple[str, ...]], tuple[str, list[Processor]]] = {}
"""(statement, dialect, parameter names) → the COPY command and each parameter's processor; the
statements are module-level constants, so their ids stay theirs."""


def _copy_plan(
    dialect: sa.Dialect, statement: sa.Insert, names: tuple[str, ...]
) -> tuple[str, list[Processor]]:
    key = (id(statement), dialect.name, names)
    plan = _PLANS.get(key)
    if plan is None:
        compiled = statement.compile(dialect=dialect, column_keys=list(names))
        types = {bind.key: bind.type for bind in compiled.binds.values()}
        processors: list[Processor] = [
            types[name].dialect_impl(dialect).bind_processor(dialect) for name in names
        ]
        quote = dialect.identifier_preparer
        table = quote.format_table(statement.table)
        columns = ", ".join(quote.quote(name) for name in names)
        plan = _PLANS[key] = (f"COPY {table} ({columns}) FROM STDIN", processors)
    return plan


def _as_sqlalchemy_error(
    connection: sa.Connection, command: str, exc: Exception
) -> sa.exc.StatementError:
    """The error SQLAlchemy raises for `exc`; a lost connection is dropped from the pool, as
    SQLAlchemy does for the statements it runs itself."""
    dialect = connection.dialect
    driver_error: Any = exc  # the driver's DB-API error, which SQLAlchemy's stubs type apart
    lost = dialect.is_disconnect(driver_error, connection.connection.dbapi_connection, None)
    if lost:
        connection.invalidate(exc)
    return sa.exc.DBAPIError.instance(
        command,
        None,
        exc,
        dialect.loaded_dbapi.Error,
        connection_invalidated=lost,
        dialect=dialect,
    )
