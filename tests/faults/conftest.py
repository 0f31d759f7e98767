"""Stores that fail on cue: a SQLite file whose connection dies at COMMIT, and PostgreSQL behind
a TCP proxy (tests/faults/proxy.py) that cuts, or goes silent."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

from gnomon.storage.engine import StoreTimeouts, is_sqlite, make_engine
from tests.faults.proxy import TcpProxy, proxied

TEST_TIMEOUTS = StoreTimeouts(connect_seconds=2, statement_seconds=1, pool_seconds=1)
"""Short bounds, so a silent store shows within seconds."""
ONLY_POSTGRES = pytest.mark.parametrize(
    "engine", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
"""For faults of the network, which only PostgreSQL has."""


@dataclass
class FaultyStore:
    """`engine` is what Gnomon uses; `direct` reads the store without going through the fault."""

    name: str
    engine: Engine
    direct: Engine
    proxy: TcpProxy | None = None
    _commit_dies: list[bool] = field(default_factory=lambda: [False])

    def die_at_commit(self, dies: bool = True) -> None:
        """From now on (or no longer), each connection dies as it sends COMMIT."""
        if self.proxy is not None:
            self.proxy.cut_on(b"COMMIT" if dies else None)
        self._commit_dies[0] = dies

    def contents(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table, sorted: what the store holds."""
        with self.direct.connect() as connection:
            return {
                table.name: sorted(
                    (tuple(map(repr, row)) for row in connection.execute(sa.select(table))),
                )
                for table in SQLModel.metadata.sorted_tables
            }


def _close_at_commit(store: FaultyStore) -> None:
    """SQLite has no wire to cut: close the connection under SQLAlchemy as COMMIT is issued, which
    is what the driver sees when its connection dies at that moment."""

    def on_commit(connection: Connection) -> None:
        if store._commit_dies[0]:
            connection.connection.dbapi_connection.close()  # type: ignore[union-attr]

    sa.event.listen(store.engine, "commit", on_commit)


@pytest.fixture
def faulty_store(engine: Engine) -> Iterator[FaultyStore]:
    """The `engine` fixture's store (SQLite, then PostgreSQL), breakable on cue."""
    if is_sqlite(engine):
        store = FaultyStore("sqlite", engine, engine)
        _close_at_commit(store)
        yield store
        return
    url = engine.url.render_as_string(hide_password=False)
    with proxied(url) as proxy:
        through = make_engine(proxy.url(url), timeouts=TEST_TIMEOUTS)
        yield FaultyStore("postgres", through, engine, proxy)
        through.dispose()
