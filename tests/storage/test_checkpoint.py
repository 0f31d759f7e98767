"""SQLite's write-ahead log: folded in by `checkpoint`, and by SQLite itself only when large."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from gnomon.storage import checkpoint, make_engine, upgrade
from gnomon.storage.engine import SQLITE_AUTOCHECKPOINT_PAGES

FILL = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)"
    " INSERT INTO filler SELECT hex(randomblob(2000)) FROM n"
)


def test_checkpoint_folds_the_log_into_the_database(tmp_path: Path) -> None:
    store = tmp_path / "store.db"
    engine = make_engine(f"sqlite:///{store}")
    upgrade(engine)
    with engine.begin() as connection:
        autocheckpoint = connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
        connection.exec_driver_sql("CREATE TABLE filler (body TEXT)")
        connection.exec_driver_sql(FILL)  # 2 MB: under the bound, so still only in the log
    assert autocheckpoint == SQLITE_AUTOCHECKPOINT_PAGES
    assert rows_in_the_file_alone(store, tmp_path / "before.db") is None
    assert checkpoint(engine) > 500
    assert rows_in_the_file_alone(store, tmp_path / "after.db") == 500


def test_every_commit_is_synced_to_disk(tmp_path: Path) -> None:
    """An acknowledged write must survive a power cut, not only the process's crash."""
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    with engine.connect() as connection:
        journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        synchronous = connection.exec_driver_sql("PRAGMA synchronous").scalar()
    assert (journal, synchronous) == ("wal", 2)  # 2 is FULL


def test_checkpoint_is_nothing_on_postgresql(postgres_database: str) -> None:
    assert checkpoint(make_engine(postgres_database)) == 0


def rows_in_the_file_alone(store: Path, copy: Path) -> int | None:
    """What a copy of the database file without its log holds of `filler` (None: no table)."""
    shutil.copyfile(store, copy)
    with sqlite3.connect(copy) as connection:
        try:
            return int(connection.execute("SELECT count(*) FROM filler").fetchone()[0])
        except sqlite3.OperationalError:
            return None
