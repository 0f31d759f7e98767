"""The scheduler: one loop that starts due runs, steps them through their task graphs and
applies what the executors report, on the store as its only truth.

`SchedulerService` is the loop; `StoreSink` is where executors report; the observers carry
metrics and notifications out of the scheduling logic; `Wakeup` wakes the loop on events.
`rules` holds the pure decisions the loop applies.
"""

from __future__ import annotations

from gnomon.scheduler.health import SchedulerHealth
from gnomon.scheduler.metrics import SchedulerMetrics
from gnomon.scheduler.notifying import NotificationObserver
from gnomon.scheduler.observer import CompositeObserver, SchedulerObserver
from gnomon.scheduler.retention import RetentionConfig
from gnomon.scheduler.service import SchedulerConfig, SchedulerService
from gnomon.scheduler.sink import StoreSink
from gnomon.scheduler.wakeup import Wakeup

__all__ = [
    "CompositeObserver",
    "NotificationObserver",
    "RetentionConfig",
    "SchedulerConfig",
    "SchedulerHealth",
    "SchedulerMetrics",
    "SchedulerObserver",
    "SchedulerService",
    "StoreSink",
    "Wakeup",
]
