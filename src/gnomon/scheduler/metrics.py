"""Scheduler metrics operators alert on. Label values come from small fixed sets (origin,
outcome, executor backend); definition names and ids never become labels."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from gnomon.domain.enums import TaskStatus
from gnomon.scheduler.observer import FinishedRun, SchedulerObserver

SKEW_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
WAKE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5)


class SchedulerMetrics(SchedulerObserver):
    """Counts starts, finishes and skew; `executor_of` maps an executable kind to its backend."""

    def __init__(self, registry: CollectorRegistry, executor_of: Callable[[str], str]) -> None:
        self.executor_of = executor_of
        self.skew = Histogram(
            "gnomon_schedule_skew_seconds",
            "Actual start of a scheduled run minus its due time",
            buckets=SKEW_BUCKETS,
            registry=registry,
        )
        self.process_starts = Counter(
            "gnomon_process_starts_total", "Runs started", ["origin"], registry=registry
        )
        self.process_finishes = Counter(
            "gnomon_process_finishes_total", "Runs finished", ["outcome"], registry=registry
        )
        self.task_starts = Counter(
            "gnomon_task_starts_total", "Attempts started", ["executor"], registry=registry
        )
        self.task_finishes = Counter(
            "gnomon_task_finishes_total",
            "Attempts finished",
            ["executor", "outcome"],
            registry=registry,
        )
        self.skipped = Counter(
            "gnomon_schedule_skipped_total",
            "Missed fire times dropped for being older than their starting deadline",
            registry=registry,
        )
        self.wake_duration = Histogram(
            "gnomon_scheduler_wake_duration_seconds",
            "Time one scheduler wake-up takes",
            buckets=WAKE_BUCKETS,
            registry=registry,
        )
        self.executor_errors = Counter(
            "gnomon_executor_errors_total",
            "Executor calls that raised instead of reporting an outcome",
            ["executor"],
            registry=registry,
        )
        self.item_errors = Counter(
            "gnomon_scheduler_item_errors_total",
            "Definitions or runs the scheduler set aside after an unexpected error of its own "
            "(the others went on)",
            ["stage"],
            registry=registry,
        )
        self.loop_errors = Counter(
            "gnomon_scheduler_loop_errors_total",
            "Scheduler wake-ups that failed as a whole on an unexpected error (the loop went on)",
            registry=registry,
        )
        self.pruned_runs = Counter(
            "gnomon_retention_pruned_runs_total",
            "Finished runs removed by retention (with their tasks, logs and metadata)",
            registry=registry,
        )
        self.running_processes = Gauge(
            "gnomon_running_processes", "Runs in progress", registry=registry
        )
        self.running_tasks = Gauge(
            "gnomon_running_tasks", "Attempts in progress", registry=registry
        )
        self.waiting_tasks = Gauge(
            "gnomon_tasks_waiting",
            "Attempts ready to start but waiting for a slot (GNOMON_MAX_RUNNING_TASKS)",
            registry=registry,
        )
        self.lease_held = Gauge(
            "gnomon_scheduler_lease_held",
            "1 while this scheduler holds the lease and acts, 0 while it is a warm standby",
            registry=registry,
        )

    def watch(
        self,
        processes: Callable[[], int],
        tasks: Callable[[], int],
        waiting: Callable[[], int],
        lease_held: Callable[[], bool],
    ) -> None:
        """Read the gauges from the scheduler's own state at scrape time; the waiting count is
        the one its last wake-up left. Summed over the replicas, the lease gauge is 1 while
        scheduling happens at all: the alert for "no scheduler acts"."""
        self.running_processes.set_function(processes)
        self.running_tasks.set_function(tasks)
        self.waiting_tasks.set_function(waiting)
        self.lease_held.set_function(lambda: float(lease_held()))

    def process_started(
        self, name: str, origin: str, scheduled_for: datetime | None, started_at: datetime
    ) -> None:
        self.process_starts.labels(origin).inc()
        if scheduled_for is not None:
            self.skew.observe(max(0.0, (started_at - scheduled_for).total_seconds()))

    def process_finished(self, run: FinishedRun) -> None:
        outcome = "killed" if run.killed else run.status.value
        self.process_finishes.labels(outcome).inc()

    def task_started(self, name: str, executable: str) -> None:
        self.task_starts.labels(self.executor_of(executable)).inc()

    def task_finished(self, name: str, executable: str, status: TaskStatus) -> None:
        self.task_finishes.labels(self.executor_of(executable), status.value).inc()

    def schedule_skipped(self, name: str, due: datetime) -> None:
        self.skipped.inc()

    def item_failed(self, stage: str) -> None:
        self.item_errors.labels(stage).inc()

    def loop_failed(self) -> None:
        self.loop_errors.inc()

    def runs_pruned(self, count: int) -> None:
        self.pruned_runs.inc(count)

    def wake_finished(self, seconds: float) -> None:
        self.wake_duration.observe(seconds)

    def executor_error(self, executable: str) -> None:
        self.executor_errors.labels(self.executor_of(executable)).inc()
