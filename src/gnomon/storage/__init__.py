"""The store: SQLite or PostgreSQL, behind SQLAlchemy, which no other layer imports.

Other layers import from here: the handles (`Engine`, `Session`, opaque to them), the ways into
the store, which raise only Gnomon's errors (`gnomon.errors.StoreError` and its kinds), the
scheduler's `WriteBatch` and the wake-ups between processes. The store's reads and writes are
grouped by subject in the modules listed at the end of `__all__`, imported as modules
(`from gnomon.storage import definitions`) or by name from them.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session

from gnomon.storage import (
    callbacks,
    definition_detail,
    definitions,
    identity,
    json_text,
    lease,
    log_tails,
    overview,
    retention,
    run_detail,
    run_documents,
    run_logs,
    run_requests,
    runs,
    scheduling,
    tables,
    tokens,
)
from gnomon.storage.change_notices import ChangeRelay
from gnomon.storage.engine import (
    StoreTimeouts,
    checkpoint,
    display_url,
    is_sqlite,
    make_engine,
    ping,
    store_timeouts,
    transaction,
)
from gnomon.storage.failures import store_errors
from gnomon.storage.migrate import upgrade
from gnomon.storage.probe import StoreProbe
from gnomon.storage.wakeups import PgListener, notify_store
from gnomon.storage.write_batch import WriteBatch

__all__ = [
    "ChangeRelay",
    "Engine",
    "PgListener",
    "Session",
    "StoreProbe",
    "StoreTimeouts",
    "WriteBatch",
    "callbacks",
    "checkpoint",
    "definition_detail",
    "definitions",
    "display_url",
    "identity",
    "is_sqlite",
    "json_text",
    "lease",
    "log_tails",
    "make_engine",
    "notify_store",
    "overview",
    "ping",
    "retention",
    "run_detail",
    "run_documents",
    "run_logs",
    "run_requests",
    "runs",
    "scheduling",
    "store_errors",
    "store_timeouts",
    "tables",
    "tokens",
    "transaction",
    "upgrade",
]
