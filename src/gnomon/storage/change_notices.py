"""Changes for the pages between processes: a PostgreSQL NOTIFY on channel `gnomon_changes`.

`gnomon scheduler` runs the loop and the jobs; `gnomon api` serves the pages. What one process
publishes on its change feed (`gnomon.domain.changes`) reaches the pages of the others through
this relay: local changes are gathered for a short window and sent as one NOTIFY (a few if they
do not fit PostgreSQL's 8000-byte payload), and a listener hands what the other processes sent to
the local feed. Its own notices come back to it too; it knows them by its origin id and drops
them.

It is a channel of its own, apart from the schedulers' `gnomon` (`wakeups`): every batch of a
job's output is news to a page, and none of it must wake a scheduler. SQLite has no such channel,
and needs none: one process serves it.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable
from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gnomon.domain.changes import DEFAULT_WINDOW_SECONDS, Change
from gnomon.errors import StoreError
from gnomon.storage.failures import store_errors
from gnomon.storage.wakeups import PgListener

log = logging.getLogger(__name__)

CHANNEL: Final = "gnomon_changes"
CHANGES_PER_NOTICE: Final = 80
"""About 70 bytes each: well inside the 8000 bytes a NOTIFY payload may hold."""


class ChangeRelay:
    """Sends this process's changes to the others and hands theirs to `receive`.

    It owns a sender thread, the changes waiting for it, and (once `start`ed with a receiver) a
    `PgListener` on `CHANNEL`. Any thread may `send`; `start` and `stop` belong to the thread
    that owns the relay (the server's main thread). A store failure loses those notices (a page
    then shows the change at its next one, or on reload), never the caller's work.
    """

    def __init__(self, engine: Engine, *, window: float = DEFAULT_WINDOW_SECONDS) -> None:
        self.engine = engine
        self.origin = uuid.uuid4().hex[:12]
        self._window = window
        self._lock = threading.Lock()
        self._pending: set[Change] = set()
        self._wanted = threading.Event()
        self._stopping = threading.Event()
        self._sender = threading.Thread(target=self._send_loop, name="gnomon-changes", daemon=True)
        self._listener: PgListener | None = None

    def start(self, receive: Callable[[Change], None] | None = None) -> None:
        """Start sending; with `receive`, also listen to the other processes' changes."""
        self._sender.start()
        if receive is not None:
            self._listener = PgListener(self.engine, _Receiver(self.origin, receive), CHANNEL)
            self._listener.start()

    def stop(self) -> None:
        """Send what is pending, then stop both threads."""
        self._stopping.set()
        self._wanted.set()
        if self._sender.is_alive():
            self._sender.join(timeout=5)
        if self._listener is not None:
            self._listener.stop()

    def send(self, change: Change) -> None:
        with self._lock:
            first = not self._pending
            self._pending.add(change)
        if first:
            self._wanted.set()

    def _send_loop(self) -> None:
        while not self._stopping.is_set():
            self._wanted.wait()
            self._stopping.wait(self._window)  # gather the burst; cut short by `stop`
            self._flush()
        self._flush()

    def _flush(self) -> None:
        with self._lock:
            batch, self._pending = sorted(self._pending, key=_order), set()
            self._wanted.clear()
        for start in range(0, len(batch), CHANGES_PER_NOTICE):
            payload = encode(self.origin, batch[start : start + CHANGES_PER_NOTICE])
            try:
                with store_errors(), self.engine.begin() as connection:
                    connection.execute(
                        sa.text("SELECT pg_notify(:channel, :payload)"),
                        {"channel": CHANNEL, "payload": payload},
                    )
            except StoreError as exc:
                log.warning("could not tell other processes of %d changes: %s", len(batch), exc)
                return


def encode(origin: str, changes: list[Change]) -> str:
    """A notice's payload: `{"from": origin, "changes": [[topic, process id or null], ...]}`."""
    listed = [[change.topic, change.process_id] for change in changes]
    return json.dumps({"from": origin, "changes": listed}, separators=(",", ":"))


def decode(payload: str) -> tuple[str, list[Change]]:
    """The origin and changes of a payload; ValueError if it is not one `encode` wrote."""
    data = json.loads(payload)
    if not isinstance(data, dict) or not isinstance(data.get("changes"), list):
        raise ValueError("not a change notice")
    changes = []
    for item in data["changes"]:
        topic, process_id = item
        if not isinstance(topic, str) or not isinstance(process_id, str | None):
            raise ValueError("not a change")
        changes.append(Change(topic, process_id))
    return str(data.get("from")), changes


def _order(change: Change) -> tuple[str, str]:
    return change.topic, change.process_id or ""


class _Receiver:
    """Turns the notices of other processes into changes on the local feed."""

    def __init__(self, origin: str, receive: Callable[[Change], None]) -> None:
        self._origin = origin
        self._receive = receive

    def notify(self, topic: str) -> None:
        try:
            origin, changes = decode(topic)
        except (ValueError, TypeError):
            log.warning("ignored a notice on %s that is not a change notice", CHANNEL)
            return
        if origin == self._origin:
            return
        for change in changes:
            self._receive(change)
