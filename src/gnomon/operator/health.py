"""What `gnomon operator` answers on its health paths (`gnomon.probes`, on GNOMON_METRICS_PORT).

Liveness: kopf's event loop answers a call from the listener's thread within a deadline, and
`operate` has not ended. A loop stuck in a blocking call cannot answer, and only a restart cures
it. Readiness: kopf has started (its `ready_flag`) and the store answers a ping within a second.
A replica paused by peering (another replica works) is ready: it is doing its job by waiting.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, Final

from gnomon.probes import Report
from gnomon.storage import StoreProbe

LOOP_DEADLINE_SECONDS: Final = 2.0


class OperatorHealth:
    """Runs the operator's coroutine (`run`) and reports on it from any thread."""

    def __init__(self, store: StoreProbe, loop_deadline: float = LOOP_DEADLINE_SECONDS) -> None:
        self.store = store
        self.started = threading.Event()
        """Set by kopf once the operator has started: pass it as `operate`'s `ready_flag`."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ended: str | None = None
        self._deadline = loop_deadline

    async def run(self, operator: Coroutine[Any, Any, None]) -> None:
        """Await `operator` (`operate(...)`), remembering its loop for the liveness check."""
        self._loop = asyncio.get_running_loop()
        try:
            await operator
        finally:
            self._ended = "the operator has stopped"

    def _loop_problem(self) -> str | None:
        if self._ended is not None:
            return self._ended
        loop = self._loop
        if loop is None:
            return None  # still starting: kopf's loop does not exist yet
        answered = threading.Event()
        try:
            loop.call_soon_threadsafe(answered.set)
        except RuntimeError:  # the loop is closed
            return "the operator's event loop is closed"
        if not answered.wait(self._deadline):
            return f"the operator's event loop did not answer within {self._deadline:g} s"
        return None

    def live(self) -> Report:
        problem = self._loop_problem()
        return {"status": "unavailable" if problem else "ok", "operator": problem or "ok"}

    def ready(self) -> Report:
        report = self.live()
        if report["status"] == "ok" and not self.started.is_set():
            report["status"], report["operator"] = "unavailable", "starting"
        store = self.store.problem_blocking()
        report["store"] = store or "ok"
        if store:
            report["status"] = "unavailable"
        return report
