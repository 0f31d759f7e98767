"""Entry points that run Gnomon's long-lived parts: all in one (`serve`), or one part per process
(`api`, `scheduler`) for Kubernetes, where several API replicas share one active scheduler."""

from __future__ import annotations

import gc
import logging
import os
import signal
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from gnomon.api.app import create_app
from gnomon.api.routes.internal import MULTIPROCESS_DIRECTORY
from gnomon.domain.changes import ChangeFeed
from gnomon.domain.clock import SystemClock
from gnomon.errors import ListenError
from gnomon.logs import configure_logging
from gnomon.notifications import Notifier
from gnomon.probes import METRICS_PORT_SETTING, ProbeListener
from gnomon.runner.base import CONTAINER_KINDS, Runner
from gnomon.runner.docker import bridge_gateway
from gnomon.runner.registry import make_runner
from gnomon.scheduler import SchedulerHealth
from gnomon.scheduler.metrics import SchedulerMetrics
from gnomon.scheduler.notifying import NotificationObserver
from gnomon.scheduler.observer import CompositeObserver
from gnomon.scheduler.retention import RetentionConfig
from gnomon.scheduler.service import SchedulerConfig, SchedulerService
from gnomon.scheduler.sink import StoreSink
from gnomon.scheduler.wakeup import Wakeup
from gnomon.settings import ExecutorName, Settings
from gnomon.storage import (
    ChangeRelay,
    Engine,
    PgListener,
    StoreProbe,
    display_url,
    is_sqlite,
    make_engine,
    notify_store,
    store_timeouts,
    transaction,
    upgrade,
)
from gnomon.storage.identity import instance_id
from gnomon.web import install_pages

log = logging.getLogger(__name__)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""Signals on which the servers shut down gracefully and exit 0."""


def migrate(settings: Settings) -> int:
    engine = make_engine(settings.database_url, store_timeouts(settings, migrating=True))
    upgrade(engine)
    log.info("store schema is up to date at %s", display_url(settings.database_url))
    return 0


def _engine_for_serving(settings: Settings) -> Engine:
    engine = make_engine(settings.database_url, store_timeouts(settings))
    if is_sqlite(engine):
        # A SQLite file belongs to this one machine: keep its schema current without a step.
        upgrade(engine)
    return engine


@dataclass
class SchedulerParts:
    service: SchedulerService
    notifications: NotificationObserver
    thread: threading.Thread

    def stop(self) -> None:
        self.service.stop()
        self.thread.join(timeout=30)
        self.service.runner.close()
        self.notifications.close()

    def exit_code(self) -> int:
        """1 if the scheduler loop died (so a supervisor restarts the process), else 0."""
        problem = self.service.problem()
        if problem is None:
            return 0
        log.critical("exiting non-zero: %s", problem)
        return 1


def start_scheduler(
    settings: Settings,
    engine: Engine,
    registry: CollectorRegistry,
    wakeup: Wakeup,
    changes: ChangeFeed,
) -> SchedulerParts:
    """Build the scheduler with its runner, metrics and notifications, and run it in a thread;
    what it changes is published on `changes`."""
    metrics = SchedulerMetrics(registry, _executor_label(settings))
    notifications = NotificationObserver(
        engine,
        Notifier.from_settings(settings, registry),
        settings.site_url(),
    )

    instance = job_instance(settings, engine)
    log.info("this Gnomon's jobs carry the instance label %s", instance)
    limit = settings.running_task_limit()
    log.info("at most %s tasks run at once", limit if limit is not None else "any number of")

    def runner_factory(sink: StoreSink) -> Runner:
        return make_runner(settings, sink, instance=instance)

    service = SchedulerService(
        engine,
        runner_factory,
        SystemClock(),
        config=SchedulerConfig(
            lease_seconds=settings.scheduler_lease_seconds,
            max_sleep_seconds=settings.scheduler_max_sleep_seconds,
            max_running_tasks=settings.running_task_limit(),
            retention=RetentionConfig(
                days=settings.retention_days,
                keep_runs=settings.retention_keep_runs,
                batch_runs=settings.retention_batch_runs,
                interval_seconds=settings.retention_interval_seconds,
            ),
        ),
        wakeup=wakeup,
        observer=CompositeObserver([metrics, notifications]),
        backend=str(settings.executor),
        metrics=metrics,
        changes=changes,
    )
    thread = threading.Thread(target=service.run, name="gnomon-scheduler", daemon=True)
    thread.start()
    return SchedulerParts(service, notifications, thread)


def job_instance(settings: Settings, engine: Engine) -> str:
    """The instance label of this Gnomon's jobs: GNOMON_INSTANCE, else the store's own id."""
    if settings.instance:
        return settings.instance
    with transaction(engine) as session:
        return instance_id(session=session, now=SystemClock().now())


def _executor_label(settings: Settings) -> Callable[[str], str]:
    def label(kind: str) -> str:
        if kind in CONTAINER_KINDS:
            return str(settings.executor)
        return "shell" if kind == "shell_script_command" else "unknown"

    return label


def serve(settings: Settings) -> int:
    """API, scheduler and executor in one process, health and metrics included, on GNOMON_PORT."""
    settings.check_executor()
    # Listening first: a taken port stops the process before its scheduler takes the lease.
    sockets = _bind_api(settings, container_gateway(settings))
    engine = _engine_for_serving(settings)
    registry = CollectorRegistry()
    wakeup = Wakeup()
    listener = _listen_to_store(engine, wakeup)  # other replicas' API changes, on PostgreSQL
    feed, relay = change_feed(engine, listen=True)
    scheduler = start_scheduler(settings, engine, registry, wakeup, feed)

    def on_change(topic: str) -> None:
        wakeup.notify(topic)
        notify_store(engine, topic)  # other schedulers, when the store is PostgreSQL

    app = create_app(
        settings,
        engine,
        registry=registry,
        on_change=on_change,
        executor_health=scheduler.service.runner.healthy,
        scheduler_health=scheduler.service.problem,
        changes=feed,
    )
    install_pages(app)
    try:
        _run_uvicorn(app, settings, sockets, until_ends=scheduler.thread, on_shutdown=feed.close)
    finally:
        scheduler.stop()
        if listener is not None:
            listener.stop()
        if relay is not None:
            relay.stop()
    return scheduler.exit_code()


def change_feed(engine: Engine, *, listen: bool) -> tuple[ChangeFeed, ChangeRelay | None]:
    """The process's change feed; on PostgreSQL also a relay that tells the other processes what
    this one changed and (with `listen`) hands their changes to the feed. Stop the relay last."""
    if is_sqlite(engine):  # one process per SQLite file: the feed alone is enough
        return ChangeFeed(), None
    relay = ChangeRelay(engine)
    feed = ChangeFeed(forward=relay.send)
    relay.start(feed.receive if listen else None)
    return feed, relay


def _listen_to_store(engine: Engine, wakeup: Wakeup) -> PgListener | None:
    if is_sqlite(engine):  # one process per SQLite file: in-process wake-ups are enough
        return None
    listener = PgListener(engine, wakeup)
    listener.start()
    return listener


def serve_api(settings: Settings) -> int:
    """Only the REST API; several replicas may run. Changes wake schedulers via the store.

    With GNOMON_API_WORKERS > 1, uvicorn forks that many workers; their metrics are written to a
    shared directory (Prometheus multiprocess mode) and summed by whichever worker is scraped.
    """
    if settings.api_workers == 1:
        sockets = _bind_api(settings)
        engine = _engine_for_serving(settings)
        feed, relay = change_feed(engine, listen=True)
        try:
            _run_uvicorn(api_app(settings, engine, feed), settings, sockets, on_shutdown=feed.close)
        finally:
            if relay is not None:
                relay.stop()
        return 0
    # uvicorn binds the workers' socket itself, and a failure there is its own log line and exit
    # 1; trying the port first turns a taken one into Gnomon's clear error instead.
    for sock in _bind_api(settings):
        sock.close()
    with tempfile.TemporaryDirectory(prefix="gnomon-metrics-") as folder:
        os.environ.setdefault(MULTIPROCESS_DIRECTORY, folder)
        _engine_for_serving(settings).dispose()  # migrate once, before the workers start
        uvicorn.run(
            "gnomon.server:api_app_from_environment",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.api_workers,
            log_config=None,
            # A worker cannot close its live streams when it is told to stop (uvicorn's own
            # server runs it); it cuts them after this long instead.
            timeout_graceful_shutdown=WORKER_STREAMS_GRACE_SECONDS,
        )
    return 0


WORKER_STREAMS_GRACE_SECONDS = 3


def api_app(
    settings: Settings, engine: Engine | None = None, changes: ChangeFeed | None = None
) -> FastAPI:
    """The API and the pages over `engine` (by default a new one, migrated if SQLite)."""
    engine = engine or _engine_for_serving(settings)
    app = create_app(
        settings, engine, on_change=lambda topic: notify_store(engine, topic), changes=changes
    )
    install_pages(app)
    return app


def api_app_from_environment() -> FastAPI:
    """The API of one uvicorn worker process (GNOMON_API_WORKERS > 1)."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    engine = make_engine(settings.database_url, store_timeouts(settings))
    feed, _relay = change_feed(engine, listen=True)  # its threads end with the worker
    app = create_app(
        settings, engine, on_change=lambda topic: notify_store(engine, topic), changes=feed
    )
    install_pages(app)
    freeze_startup_heap()
    return app


def run_scheduler(settings: Settings) -> int:
    """Only the scheduler and its executor, with health and metrics on GNOMON_METRICS_PORT.

    The order is the point: the probe listener is bound before anything touches the store, so a
    taken port (`ListenError`) stops the process before it takes the lease or starts a run, and
    once the lease is held the kubelet and Prometheus can already reach it.
    """
    settings.check_executor()
    registry = CollectorRegistry()
    probes = ProbeListener(settings.host, settings.metrics_port, METRICS_PORT_SETTING, registry)
    try:
        engine = make_engine(settings.database_url, store_timeouts(settings))
        wakeup = Wakeup()
        listener = _listen_to_store(engine, wakeup)
        feed, relay = change_feed(engine, listen=False)  # it tells the API processes' pages
        scheduler = start_scheduler(settings, engine, registry, wakeup, feed)
        health = SchedulerHealth(scheduler.service, scheduler.thread, StoreProbe(engine))
        # Signals are caught before the probes answer: a supervisor that stops the process as
        # soon as it looks healthy must get the graceful stop, not the default death by SIGTERM.
        with stop_signals() as stop:
            probes.start(live=health.live, ready=health.ready)
            try:
                freeze_startup_heap()
                wait_for_stop(stop, until_ends=scheduler.thread)
            finally:
                scheduler.stop()
                if listener is not None:
                    listener.stop()
                if relay is not None:
                    relay.stop()
    finally:
        probes.close()
    return scheduler.exit_code()


@contextmanager
def stop_signals() -> Iterator[threading.Event]:
    """An event that SIGINT and SIGTERM set while the block runs (in the main thread; elsewhere
    signals cannot be caught, and only the event is given)."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in STOP_SIGNALS}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def wait_for_stop(stop: threading.Event, until_ends: threading.Thread) -> None:
    """Block until `stop` is set (see `stop_signals`) or the thread `until_ends` ends (the
    scheduler's: a process without it must not look alive)."""

    def watch() -> None:
        until_ends.join()
        stop.set()

    threading.Thread(target=watch, name="gnomon-scheduler-watch", daemon=True).start()
    stop.wait()


def freeze_startup_heap() -> None:
    """Exclude everything alive now (modules, the app) from garbage collection from here on.

    A full collection walks every tracked object; with the hundreds of thousands that the imports
    leave, the collections that reading one 1,000-task definition triggers cost three times the
    reading itself (issue 9, defect 8). Objects made at start-up live as long as the process, so
    they need no collecting.
    """
    gc.collect()
    gc.freeze()


def _bind_api(settings: Settings, extra_hosts: Sequence[str] = ()) -> list[socket.socket]:
    """The API's sockets: GNOMON_HOST:GNOMON_PORT, and `extra_hosts` at the same port."""
    sockets: list[socket.socket] = []
    try:
        for host in [settings.host, *extra_hosts]:
            sockets.append(_listen(host, settings.port, "GNOMON_PORT"))
    except ListenError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _run_uvicorn(
    app: object,
    settings: Settings,
    sockets: Sequence[socket.socket],
    until_ends: threading.Thread | None = None,
    on_shutdown: Callable[[], None] | None = None,
) -> None:
    """Serve on `sockets` (from `_bind_api`); shut down when the thread `until_ends` ends (the
    scheduler's: a process without it must not look alive). `on_shutdown` runs as the shutdown
    begins (it ends the live streams, which would otherwise keep their connections, and the
    process, open)."""
    freeze_startup_heap()
    url = f"http://{settings.host}:{settings.port}"
    config = uvicorn.Config(app, log_config=None)  # type: ignore[arg-type]
    log.info("Gnomon is listening on %s (API docs at %s/docs)", url, url)
    for sock in sockets[1:]:
        log.info("jobs in containers reach Gnomon at http://%s:%d", *sock.getsockname()[:2])
    server = _GracefulServer(config, on_shutdown)
    if until_ends is not None:

        def watch() -> None:
            until_ends.join()
            server.should_exit = True

        threading.Thread(target=watch, name="gnomon-scheduler-watch", daemon=True).start()
    server.run(sockets=list(sockets))


class _GracefulServer(uvicorn.Server):
    """uvicorn's server, minus one thing: after a SIGTERM or SIGINT it stops accepting and
    finishes its requests as usual, but does not raise the signal again on its way out. That
    re-raise killed the process (exit 143) before Gnomon stopped its scheduler, so the lease was
    left to expire and a restart waited for it. Gnomon then shuts the scheduler down (releasing
    the lease, leaving running containers to be adopted) and exits 0. And before it waits for
    open connections, it runs `on_shutdown`, which ends the pages' live streams."""

    def __init__(self, config: uvicorn.Config, on_shutdown: Callable[[], None] | None) -> None:
        super().__init__(config)
        self.on_shutdown = on_shutdown

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self.on_shutdown is not None:
            self.on_shutdown()
        await super().shutdown(sockets)

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield  # signals can only be handled in the main thread
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _listen(host: str, port: int, setting: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not the default 0: asyncio turns Nagle off (TCP_NODELAY) only on connections
    # of a socket that says it is TCP. With Nagle on, a response written in two parts (head,
    # then body) waits for the client's delayed ACK: about 40 ms per request on a kept-alive
    # connection.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise ListenError(host, port, setting, exc.strerror or str(exc)) from None
    sock.set_inheritable(True)
    return sock


def container_gateway(settings: Settings) -> list[str]:
    """The default bridge's gateway, when job containers need it to call back.

    `host.docker.internal` in a job container is the bridge gateway; a Gnomon listening only on
    127.0.0.1 would be out of its reach. So with the Docker executor, the default bridge network
    and no GNOMON_PUBLIC_URL, Gnomon also listens on that address (and nowhere else).
    """
    loopback = settings.host in ("127.0.0.1", "localhost", "::1")
    default_network = settings.docker_network in (None, "bridge")
    if settings.executor != ExecutorName.DOCKER or settings.public_url or not loopback:
        return []
    if not default_network:
        return []
    gateway = bridge_gateway()
    return [] if gateway is None else [gateway]
