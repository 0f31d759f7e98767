"""The scheduler: a thin loop around the pure decisions of `rules.starts` and `rules.steps`.

One wake-up (`tick`) runs in one store transaction: apply what executors reported, apply kill and
retry requests, step the processes that need it, start the runs that are due. Side effects on the
runner (start, kill) happen only after the transaction commits, so a job can never call back about
a task the store does not have. If the transaction fails, in-memory state is dropped and rebuilt
from the store on the next tick: the store is the only truth.

Only the holder of the lease acts; a standby keeps trying to take it and takes over within one
lease period when the holder dies. Each tick's transaction starts with the lease's fence (holder
and epoch still ours), so a holder that froze past its lease and wakes mid-tick commits nothing,
applies no side effect and drops its state (`storage.lease.fence`). The loop sleeps until the next
due time, backoff end or runtime limit, and wakes at once on an event (`Wakeup`).

Nothing a definition says may stop the loop. An unexpected error with one definition or one run
sets that one aside (`isolation`); one that escapes a whole wake-up is logged and counted, state
is rebuilt from the store and the loop goes on after a short pause. Should the loop still end
unasked (a `BaseException`), it releases its lease first and `problem()` says so, which turns the
healthcheck 503 and makes `gnomon serve`/`gnomon scheduler` exit non-zero.
"""

from __future__ import annotations

import gc
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

from gnomon.domain.changes import RUNS, ChangePublisher
from gnomon.domain.clock import Clock
from gnomon.errors import StoreError
from gnomon.runner.base import Runner
from gnomon.scheduler.apply_starts import start_due
from gnomon.scheduler.definition_book import BULK_LOAD_THRESHOLD, DefinitionBook
from gnomon.scheduler.effects import Effects
from gnomon.scheduler.isolation import describe
from gnomon.scheduler.metrics import SchedulerMetrics
from gnomon.scheduler.observer import SchedulerObserver
from gnomon.scheduler.open_triggers import OpenTriggers
from gnomon.scheduler.process_book import ProcessBook
from gnomon.scheduler.retention import DUE_MARGIN, Retention, RetentionConfig
from gnomon.scheduler.sink import StoreSink
from gnomon.scheduler.wakeup import Wakeup
from gnomon.storage import Engine, Session, WriteBatch, checkpoint, json_text, transaction
from gnomon.storage import lease as leases
from gnomon.storage import scheduling as store

log = logging.getLogger(__name__)
CHECKPOINT_INTERVAL = timedelta(seconds=30)
"""How often, at most, the lease holder folds SQLite's write-ahead log into the database."""
PREPARED_PER_WAKE = 1_000
"""Runs prepared ahead per wake-up (about 25 ms of CPU): a due minute of ten thousand is ready
within a few seconds, and no one wake-up keeps triggers and executor reports waiting long."""
ERROR_PAUSE_SECONDS = 1.0
"""How long the loop waits after a wake-up failed as a whole, so a persistent fault does not
spin a core."""


@dataclass(frozen=True)
class SchedulerConfig:
    lease_seconds: float = 15.0
    max_sleep_seconds: float = 5.0
    definitions_refresh_seconds: float = 30.0
    max_running_tasks: int | None = None
    """At most this many attempts run at once, the others wait for a slot; None for no limit."""
    retention: RetentionConfig | None = None
    """None keeps every run forever (the server passes the GNOMON_RETENTION_* settings)."""


class SchedulerService:
    """One scheduler: its loop, its lease, and everything it knows while it holds the lease.

    It owns the `DefinitionBook` and `ProcessBook` (rebuilt from the store at every takeover and
    after a failed wake-up), the runner made by `runner_factory`, and the `StoreSink` through
    which that runner reports. Only the thread running `run()` (or a test calling `tick()`)
    touches that state and writes process and task status. Other threads may call `stop()`,
    `problem()` and the runner's `healthy()`, wake the loop early with `wakeup.notify`, and read
    the gauges given to `metrics`. After each committed wake-up it tells `changes` which runs it
    wrote, so open pages show them.
    """

    def __init__(
        self,
        engine: Engine,
        runner_factory: Callable[[StoreSink], Runner],
        clock: Clock,
        *,
        config: SchedulerConfig | None = None,
        wakeup: Wakeup | None = None,
        observer: SchedulerObserver | None = None,
        holder: str | None = None,
        backend: str = "runner",
        metrics: SchedulerMetrics | None = None,
        changes: ChangePublisher | None = None,
    ) -> None:
        self.engine = engine
        self.changes = changes
        self.clock = clock
        self.config = config or SchedulerConfig()
        self.wakeup = wakeup or Wakeup()
        self.observer = observer or SchedulerObserver()
        self.holder = holder or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.sink = StoreSink(engine, clock, self.wakeup, changes)
        self.backend = backend
        self.runner = runner_factory(self.sink)
        self.lease: leases.Lease | None = None
        self.definitions = DefinitionBook(self.observer)
        self.processes = self._new_book()
        self._refreshed_at: datetime | None = None
        self._prepared_for: datetime | None = None
        """The due time whose runs' task definitions were last prepared (`_prepare_burst`)."""
        self._checkpointed_at: datetime | None = None
        self._lease_period = timedelta(seconds=self.config.lease_seconds)
        self._stop = threading.Event()
        retention = self.config.retention
        self.retention = Retention(retention) if retention and retention.days > 0 else None
        self.ended: str | None = None
        """Why `run()` ended without `stop()`; None while it runs or after a requested stop."""
        self.metrics = metrics
        if metrics is not None:
            metrics.watch(
                lambda: len(self.processes.states),
                lambda: sum(len(p.running_attempts()) for p in self.processes.states.values()),
                lambda: self.processes.waiting_count,
                self.holds_lease,
            )

    # -- the loop ---------------------------------------------------------------------------

    def run(self) -> None:
        """Tick until `stop()`; sleeps until the next thing is due or an event arrives.

        Never returns early on an `Exception`; if something stronger ends it, the lease is
        released first and `ended` says why.
        """
        topics = {"any"}
        try:
            while not self._stop.is_set():
                topics = self._iteration(topics)
        except BaseException as exc:
            self.ended = f"the scheduler loop died: {describe(exc)}"
            log.critical("%s; releasing the lease", self.ended, exc_info=True)
            raise
        finally:
            self._release()

    def _iteration(self, topics: set[str]) -> set[str]:
        try:
            wake_at = self.tick(topics)
            delay = (wake_at - self.clock.now()).total_seconds()
        except Exception:  # tick() guards itself; this is the last line of defence
            log.exception("scheduler wake-up failed; going on after a pause")
            _guarded(self.observer.loop_failed)
            delay = ERROR_PAUSE_SECONDS
        return self.wakeup.wait(max(0.0, min(delay, self.config.max_sleep_seconds)))

    def stop(self) -> None:
        self._stop.set()
        self.wakeup.notify("stop")

    def problem(self) -> str | None:
        """None while the loop runs (or was stopped on purpose), else why it is dead."""
        return self.ended

    def holds_lease(self) -> bool:
        """Whether this scheduler acts (it holds the lease) or is a warm standby; any thread may
        ask, for health reports."""
        return self.lease is not None

    def tick(self, topics: set[str] | None = None) -> datetime:
        """One wake-up; returns when the next one is needed (without any event).

        A failure of the whole wake-up (the store's, or an unexpected one) rolls its transaction
        back; state is rebuilt from the store and the next wake-up is a second away.
        """
        now = self.clock.now()
        started = time.perf_counter()
        burst = self.definitions.burst_pending(now)
        with _collector_paused() if burst else nullcontext():
            wake_at = self._wake(now, topics)
        if wake_at is not None:
            return wake_at
        if self.metrics is not None:
            self.metrics.wake_finished(time.perf_counter() - started)
        self._prune()
        self._checkpoint()
        self._prepare_runs()
        return self._next_wake(now)

    def _wake(self, now: datetime, topics: set[str] | None) -> datetime | None:
        """The wake-up's transaction and what it decided to do; when the next wake-up is, if
        this one ended early (no lease, or a failure)."""
        effects = Effects()
        self.processes.consumed.clear()
        try:
            if not self._hold_lease(now) or self.lease is None:
                return now + timedelta(seconds=self.config.lease_seconds / 3)
            lease = self.lease
            with transaction(self.engine) as session:
                leases.fence(session=session, lease=lease, now=now, idle_limit=self._lease_period)
                self._work(session, now, topics or {"any"}, effects)
        except leases.LeaseLostError:
            self._lost_lease()
            return now + timedelta(seconds=self.config.lease_seconds / 3)
        except StoreError:
            log.exception("scheduler transaction failed; reloading state from the store")
            return self._recover(now)
        except Exception:
            log.exception("scheduler wake-up failed unexpectedly; reloading state from the store")
            _guarded(self.observer.loop_failed)
            return self._recover(now)
        self._apply(effects)
        return None

    def _prune(self) -> None:
        """One retention batch when one is due and no due run is near, in a fenced transaction
        of its own: a failed batch costs history a delay, never a run its start."""
        retention, lease, now = self.retention, self.lease, self.clock.now()
        if retention is None or lease is None or self.definitions.burst_pending(now):
            return
        if not retention.due(now, self.definitions.next_due()):
            return
        try:
            with transaction(self.engine) as session:
                leases.fence(session=session, lease=lease, now=now, idle_limit=self._lease_period)
                counts = retention.batch(session, now)
        except leases.LeaseLostError:
            retention.failed(now)
            self._lost_lease()
            return
        except Exception:  # the store's or an unexpected error: scheduling goes on regardless
            log.exception("retention batch failed; the next pass tries again")
            retention.failed(now)
            return
        if counts.runs:
            log.info("retention removed %s", counts.describe())
            _guarded(self.observer.runs_pruned, counts.runs)

    def _checkpoint(self) -> None:
        """Between bursts, fold SQLite's write-ahead log into the database (nothing to do on
        PostgreSQL), so a due minute's commits do not stop for it; never with a due run less
        than `DUE_MARGIN` away. A failure costs only the log's growth until the next try."""
        now = self.clock.now()
        last = self._checkpointed_at
        if self.lease is None or (last is not None and now - last < CHECKPOINT_INTERVAL):
            return
        next_due = self.definitions.next_due()
        if next_due is not None and next_due - now < DUE_MARGIN:
            return
        self._checkpointed_at = now
        try:
            checkpoint(self.engine)
        except StoreError:
            log.warning("could not checkpoint the store's write-ahead log", exc_info=True)

    def _recover(self, now: datetime) -> datetime:
        """Forget what the failed wake-up did in memory; keep what executors reported."""
        self.processes.restore_events(self.sink.states)
        self._forget()  # the next wake-up takes the lease again and reloads everything
        return now + timedelta(seconds=ERROR_PAUSE_SECONDS)

    def _work(self, session: Session, now: datetime, topics: set[str], effects: Effects) -> None:
        if self._refresh_due(now, topics):
            self._refresh_definitions(session, now)
        self.processes.open_triggers.notice(topics)
        batch = self.processes.batch = WriteBatch()
        self._phases(session, now, effects, batch)
        store.mark_definitions(session=session, marks=self.definitions.take_marks())

    def _phases(self, session: Session, now: datetime, effects: Effects, batch: WriteBatch) -> None:
        if self.definitions.burst_pending(now):
            # A burst of due runs goes out first, chunk after chunk; what executors reported
            # meanwhile waits the few ticks the burst takes. Starting on time is the promise.
            start_due(session, self.processes, effects, now)
            self.processes.admit_waiting(effects, now)
            batch.flush(session)
            return
        self.processes.apply_executor_events(session, self.sink.states, effects, now)
        batch.flush(session)
        self.processes.apply_requests(session, effects, now)
        batch.flush(session)
        self.processes.step_due(session, effects, now)
        self.processes.admit_waiting(effects, now)  # ended attempts freed their slots
        batch.flush(session)
        start_due(session, self.processes, effects, now)
        self.processes.admit_waiting(effects, now)
        batch.flush(session)
        self._prepare_burst(session)

    def _prepare_burst(self, session: Session) -> None:
        """Ahead of the next due time, parse and serialize the task definitions of the runs due
        then and work out what each starts first, so the burst itself only writes and hands
        over. Only caches change here: what is due is still decided at the due time."""
        due = self.definitions.next_due()
        if due is None or due == self._prepared_for:
            return
        names = self.definitions.due_by(due)
        for name, tasks in self.definitions.templates(session, names).items():
            self.definitions.opening(name)
            try:
                json_text.prepare(tasks)
            except Exception:  # its launch meets the same error and sets this one aside
                log.debug("could not prepare %s ahead of its due time", name, exc_info=True)
        self._prepared_for = due

    def _prepare_runs(self) -> None:
        """Build the runs of the next due time ahead (`scheduler.prepared`), once its templates
        are ready (`_prepare_burst`), `PREPARED_PER_WAKE` per wake-up; outside any transaction,
        since it writes nothing. With a limit on running tasks new runs queue for a slot
        instead, and are built on the spot."""
        now, due, prepared = self.clock.now(), self._prepared_for, self.processes.prepared
        if due is None or due <= now or self.lease is None:
            return
        if self.config.max_running_tasks is not None:
            return
        if prepared.due != due:
            prepared.begin(due, self.definitions.due_by(due))
        if prepared.unfinished(now):
            with _collector_paused():
                prepared.prepare_some(self.definitions, PREPARED_PER_WAKE)

    def _apply(self, effects: Effects) -> None:
        for task_id, reason in effects.kills:
            _guarded(self.runner.kill, task_id, reason)
        for attempt in effects.starts:
            if not _guarded(self.runner.start, attempt) and self.metrics is not None:
                self.metrics.executor_error(attempt.executable.kind)
        for finished in effects.finished:
            _guarded(self.observer.process_finished, finished)
        if self.changes is not None:
            for process_id in dict.fromkeys(effects.changed):
                _guarded(self.changes.publish, RUNS, process_id)

    def _next_wake(self, now: datetime) -> datetime:
        candidates = [now + timedelta(seconds=self.config.max_sleep_seconds)]
        if self.lease is not None:
            candidates.append(
                self.lease.expires_at - timedelta(seconds=self.config.lease_seconds * 2 / 3)
            )
        # A batch held back by a near due run is retried at the wake-up for that run, not before.
        pruning = self.retention.next_at if self.retention and self.lease else None
        if pruning is not None and pruning > now:
            candidates.append(pruning)
        if self.lease is not None and self.processes.prepared.unfinished(now):
            candidates.append(now)  # the next slice of runs to prepare, at once
        for when in (self.definitions.next_due(), self.processes.next_wake()):
            if when is not None:
                candidates.append(when)
        return min(candidates)

    # -- lease and state ----------------------------------------------------------------------

    def _hold_lease(self, now: datetime) -> bool:
        renew_at = (
            self.lease.expires_at - timedelta(seconds=self.config.lease_seconds * 2 / 3)
            if self.lease
            else now
        )
        if self.lease is not None and now < renew_at:
            return True
        duration = timedelta(seconds=self.config.lease_seconds)
        taken = False  # by another scheduler, as opposed to: the store did not answer
        try:
            with transaction(self.engine) as session:
                lease = leases.try_acquire(
                    session=session, holder=self.holder, now=now, duration=duration
                )
            taken = lease is None
        except StoreError:
            log.exception("could not reach the store to hold the scheduler lease")
            lease = None
        if lease is None:
            if self.lease is not None:
                self._forget()
                if taken:
                    _guarded(self.runner.release)
                log.warning("lost the scheduler lease; standing by")
            return False
        if self.lease is None or self.lease.epoch != lease.epoch:
            log.info("holding the scheduler lease (epoch %d)", lease.epoch)
            self.lease = lease
            self._take_over(now)
        self.lease = lease
        return True

    def _lost_lease(self) -> None:
        """Another scheduler holds the lease: nothing of this wake-up was committed, and none of
        its starts or kills happen. The runner lets go of every attempt (the new holder adopted
        them, and collects and removes them alone). What the executor reported stays queued (it
        is true whoever acts on it) and is applied after this scheduler takes the lease again."""
        self.processes.restore_events(self.sink.states)
        self._forget()
        _guarded(self.runner.release)
        log.warning("lost the scheduler lease during a wake-up; nothing of it applied; standing by")

    def _take_over(self, now: datetime) -> None:
        """Load everything from the store and re-adopt the attempts still running."""
        began = time.perf_counter()
        self._forget(keep_lease=True)
        with _collector_paused(), transaction(self.engine) as session:
            self._refresh_definitions(session, now)
            attempts = self.processes.load(session, now)
            self.processes.batch.flush(session)  # runs that could not be resumed end now
            # Parse every template now, not in the first due minute, when time is short.
            self.definitions.templates(session, list(self.definitions.views))
            store.mark_definitions(session=session, marks=self.definitions.take_marks())
        # What was just loaded lives as long as the lease: keep it out of the garbage
        # collector's full passes, which otherwise walk it in the middle of a due minute.
        gc.collect()
        gc.freeze()
        self.runner.adopt(attempts)
        log.info(
            "loaded %d definitions and %d running attempts in %.1f s",
            len(self.definitions.views),
            len(attempts),
            time.perf_counter() - began,
        )

    def _forget(self, *, keep_lease: bool = False) -> None:
        if not keep_lease:
            self.lease = None
        self.definitions = DefinitionBook(self.observer)
        self.processes = self._new_book()
        self._refreshed_at = None
        self._prepared_for = None

    def _new_book(self) -> ProcessBook:
        return ProcessBook(
            self.definitions,
            self.observer,
            self.backend,
            self.config.max_running_tasks,
            OpenTriggers(timedelta(seconds=self.config.max_sleep_seconds)),
        )

    def _release(self) -> None:
        if self.lease is None:
            return
        try:
            with transaction(self.engine) as session:
                leases.release(session=session, holder=self.holder, now=self.clock.now())
        except StoreError:
            log.warning("could not release the scheduler lease; it expires by itself")
        else:
            log.info("released the scheduler lease")
        self.lease = None

    def _refresh_due(self, now: datetime, topics: set[str]) -> bool:
        if "definitions" in topics or self._refreshed_at is None:
            return True
        if self.definitions.burst_pending(now):
            return False  # the periodic look (100,000 rows) waits until the due runs are out
        age = (now - self._refreshed_at).total_seconds()
        return age >= self.config.definitions_refresh_seconds

    def _refresh_definitions(self, session: Session, now: datetime) -> None:
        """Re-read only the definitions that changed since the last look."""
        versions = store.definition_versions(session=session)
        for name in set(self.definitions.versions) - set(versions):
            self.definitions.remove(name)
        changed = [n for n, v in versions.items() if self.definitions.versions.get(n) != v]
        if not changed:
            self._refreshed_at = now
            return
        # Past a few hundred names an IN list costs more than reading everything once.
        names = changed if len(changed) <= BULK_LOAD_THRESHOLD else None
        starts = store.latest_starts(session=session, names=names)
        wanted = set(changed)
        records = store.definition_records(session=session, names=names)
        self.definitions.load_all((r for r in records if r.name in wanted), starts)
        self._refreshed_at = now


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a takeover loads, a burst is prepared, or its chunk is
    made and handed over: each allocates a few objects per definition or run, which start a full
    collection every time the long-lived ones grew by a quarter, each walking everything made so
    far (a fifth of the CPU of loading 100,000 definitions; a tenth of a 10,000-run burst's, and
    three quarters of the fake executor's time taking the runs over). Reference counting still
    frees what they drop; the collector catches up once it is back on."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _guarded(action: Callable[..., None], *args: object) -> bool:
    """Run a side effect; a broken runner or hook must not stop the scheduler. False if it
    raised."""
    try:
        action(*args)
    except Exception:
        log.exception("scheduler side effect %s failed", getattr(action, "__name__", action))
        return False
    return True
