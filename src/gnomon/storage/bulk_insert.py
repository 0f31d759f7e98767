"""New rows in bulk, sent the cheapest way each store takes them.

The scheduler writes a due minute's runs, task snapshots and attempts a few thousand rows per table
at a time. On PostgreSQL, psycopg sends an executemany as a pipeline of one-row INSERTs driven from
Python: with 10,000 runs due in one minute that was 40% of the scheduler's CPU (py-spy). COPY sends
the same rows as one stream that psycopg formats in C: a run and its attempt cost 7 µs of CPU
instead of 37 to 57. On SQLite, SQLAlchemy's executemany builds and processes a parameter dict per
row; handing sqlite3 the tuples straight took a run and its attempt from 29-32 µs to 19-21.

What is stored is what SQLAlchemy's INSERT would have stored: each value goes through the bind
processing of its parameter's type (a JSON column's serializer, SQLite's datetime text,
`PreSerialized` text as it is), done once per distinct value object in a call, since the rows of a
due minute share their times. A driver error is raised as the SQLAlchemy error the INSERT would
have raised, so `store_errors` tells a lost connection from a refused row as everywhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import sqlalchemy as sa

Processor = Callable[[Any], Any]


@dataclass(frozen=True)
class _Plan:
    command: str
    names: tuple[str, ...]
    """The rows' keys in the order the command takes their values."""
    processed: tuple[tuple[int, Processor], ...]
    """(position, processor) of the values that need bind processing."""


def insert_rows(
    connection: sa.Connection, statement: sa.Insert, rows: list[dict[str, Any]]
) -> None:
    """Insert `rows` (dicts with the same keys, each a parameter of `statement`) in the
    connection's transaction."""
    if not rows:
        return
    dialect = connection.dialect
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        _copy(connection, _plan(dialect, statement, tuple(rows[0]), copy=True), rows)
    elif dialect.name == "sqlite":
        plan = _plan(dialect, statement, tuple(rows[0]), copy=False)
        connection.exec_driver_sql(plan.command, _values(plan, rows))
    else:
        connection.execute(statement, rows)


def _copy(connection: sa.Connection, plan: _Plan, rows: list[dict[str, Any]]) -> None:
    driver = connection.connection.driver_connection
    try:
        with driver.cursor() as cursor, cursor.copy(plan.command) as copy:  # type: ignore[union-attr]
            for values in _values(plan, rows):
                copy.write_row(values)
    except connection.dialect.loaded_dbapi.Error as exc:
        raise _as_sqlalchemy_error(connection, plan.command, exc) from exc


def _values(plan: _Plan, rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Each row's values in the plan's order, bind-processed; a value object shared by many rows
    (a due minute's time, a definition's task JSON) is processed once."""
    names = plan.names
    pick = itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],))
    if not plan.processed:
        return [tuple(pick(row)) for row in rows]
    done: dict[tuple[int, int], Any] = {}
    result = []
    for row in rows:
        values = list(pick(row))
        for position, processor in plan.processed:
            value = values[position]
            key = (position, id(value))
            if key not in done:
                done[key] = processor(value)
            values[position] = done[key]
        result.append(tuple(values))
    return result


_PLANS: dict[tuple[int, str, tuple[str, ...]], _Plan] = {}
"""(statement, dialect, row keys) → its plan; the statements are module-level constants, so their
ids stay theirs."""


def _plan(dialect: sa.Dialect, statement: sa.Insert, keys: tuple[str, ...], *, copy: bool) -> _Plan:
    plan = _PLANS.get((id(statement), dialect.name, keys))
    if plan is not None:
        return plan
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    if copy:
        quote = dialect.identifier_preparer
        columns = ", ".join(quote.quote(key) for key in keys)
        command, names = f"COPY {quote.format_table(statement.table)} ({columns}) FROM STDIN", keys
    else:  # a positional paramstyle: the compiled INSERT and the order of its parameters
        command, names = compiled.string, tuple(compiled.positiontup or ())
    types = {bind.key: bind.type for bind in compiled.binds.values()}
    processed = tuple(
        (position, processor)
        for position, name in enumerate(names)
        if (processor := types[name].dialect_impl(dialect).bind_processor(dialect)) is not None
    )
    plan = _PLANS[(id(statement), dialect.name, keys)] = _Plan(command, names, processed)
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
