"""The store's part of the healthcheck, answered within a second whatever the store does.

A supervisor that asks "are you healthy?" must get an answer in time even when the store is
silent (issue 9, defect 7): a healthcheck that hangs as long as the store looks like a hung
process. So the ping runs on a thread of its own with a deadline; a silent store is reported as
such after one second while the ping thread waits out the store's own timeouts. At most one ping
is in flight: a check that arrives meanwhile waits for that one instead of piling up threads.
The check never needs a worker of the request thread pool, which hung requests may have used up.
The API awaits `problem()`; the health listener of the scheduler and the operator, which serves
each request on a thread of its own, calls `problem_blocking()`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeoutError

from sqlalchemy.engine import Engine

from gnomon.storage.engine import ping

log = logging.getLogger(__name__)
PING_DEADLINE_SECONDS = 1.0


class StoreProbe:
    """Pings the store on its own thread; `problem()` says within the deadline what is wrong."""

    def __init__(self, engine: Engine, deadline_seconds: float = PING_DEADLINE_SECONDS) -> None:
        self._engine = engine
        self._deadline = deadline_seconds
        self._lock = threading.Lock()
        self._pending: Future[None] | None = None

    async def problem(self) -> str | None:
        """None when the store answered a ping in time, else why not."""
        pending = asyncio.wrap_future(self._ping())
        try:
            await asyncio.wait_for(asyncio.shield(pending), self._deadline)
        except TimeoutError:
            pending.add_done_callback(_retrieve)  # its outcome comes later; nobody waits for it
            return f"no answer within {self._deadline:g} s"
        except Exception as exc:  # a StoreError, or worse: either way the store cannot work
            return _unreachable(exc)
        return None

    def problem_blocking(self) -> str | None:
        """`problem()` for a caller on a thread of its own: waits at most the deadline."""
        pending = self._ping()
        try:
            pending.result(timeout=self._deadline)
        except FutureTimeoutError:
            return f"no answer within {self._deadline:g} s"
        except Exception as exc:
            return _unreachable(exc)
        return None

    def _ping(self) -> Future[None]:
        with self._lock:
            if self._pending is None or self._pending.done():
                self._pending = Future()
                thread = threading.Thread(
                    target=_settle, args=(self._engine, self._pending), daemon=True
                )
                thread.start()
            return self._pending


def _unreachable(exc: BaseException) -> str:
    return f"unreachable: {(str(exc).splitlines() or [type(exc).__name__])[0]}"


def _retrieve(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()


def _settle(engine: Engine, future: Future[None]) -> None:
    try:
        ping(engine)
    except Exception as exc:
        future.set_exception(exc)
    else:
        future.set_result(None)
