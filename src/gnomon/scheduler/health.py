"""What `gnomon scheduler` answers on its health paths (`gnomon.probes`).

Liveness asks only whether the scheduler loop is alive: a store outage is not cured by a restart,
so it must not fail liveness. Readiness adds the store (pinged within a second) and the executor,
as the API's healthcheck does, and says whether this scheduler holds the lease or is a warm
standby. A standby is ready: it is doing its job, which is to be able to take over at once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from gnomon.probes import Report
from gnomon.scheduler.service import SchedulerService
from gnomon.storage import StoreProbe


@dataclass
class SchedulerHealth:
    service: SchedulerService
    thread: threading.Thread
    store: StoreProbe

    def _loop_problem(self) -> str | None:
        problem = self.service.problem()
        if problem is None and not self.thread.is_alive():
            return "the scheduler loop has stopped"
        return problem

    def live(self) -> Report:
        problem = self._loop_problem()
        return {"status": "unavailable" if problem else "ok", "scheduler": problem or "ok"}

    def ready(self) -> Report:
        report = self.live()
        report["lease"] = "held" if self.service.holds_lease() else "standby"
        store = self.store.problem_blocking()
        report["store"] = store or "ok"
        if store:
            report["status"] = "unavailable"
        executor = self.service.runner.healthy()
        report["executor"] = executor or "ok"
        if executor and report["status"] == "ok":
            report["status"] = "degraded"
        return report
