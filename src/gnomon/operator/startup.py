"""Start the operator in-process: `gnomon operator` calls `run_operator(settings)`.

Everything kopf needs is built here from Gnomon's settings and handed to `kopf.operator` as
arguments (registry, kopf settings, memo), so nothing depends on import-time registration or on
module globals, and tests can run several operators side by side.

Scope: `operator_namespaces` lists the namespaces served; empty means cluster-wide. Cluster
scanning is off (namespaces are taken as exact names, CRDs are discovered once at start), so the
operator needs no permission to list namespaces or CRDs: apply the CRD before starting it.

Replicas: with `operator_peering` set, replicas share that kopf peering object (a
ClusterKopfPeering when cluster-wide, a KopfPeering in each served namespace; both CRDs and the
object must exist). Peering is mandatory then, so a replica starts paused until it has seen its
peers. kopf pauses every replica that sees a live peer of higher *or equal* priority, so each
process draws a random priority, as kopf's documentation advises: the highest one works, the others
wait, and one takes over when the worker's record expires (`PEERING_LIFETIME_SECONDS`) or at once
when it stops cleanly. Before kopf starts, a replica writes itself into the peering and waits
`peering.SETTLE_SECONDS`, so replicas started together see each other before either serves (kopf
alone lets both work at first; see `gnomon.operator.peering`). Without peering the operator runs
standalone and is meant to be the only replica; a second one would do the same idempotent upserts
twice, not corrupt anything.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
import threading
from typing import Any, Final, TypeAlias, cast

import kopf
from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector

from gnomon.domain.clock import Clock, SystemClock
from gnomon.operator.handlers import GROUP, make_registry
from gnomon.operator.health import OperatorHealth
from gnomon.operator.peering import SETTLE_SECONDS, announce, replica_identity
from gnomon.operator.reconcile import OperatorContext
from gnomon.probes import METRICS_PORT_SETTING, ProbeListener
from gnomon.settings import Settings
from gnomon.storage import Engine, StoreProbe, make_engine, ping, store_timeouts

log = logging.getLogger(__name__)
FINALIZER: Final = f"{GROUP}/operator"
PEERING_LIFETIME_SECONDS: Final = 30
TIMER_EXIT_SECONDS: Final = 2.0
TLS_CLOSE_SECONDS: Final = 0.25
_PRIORITY_RANGE: Final = 2**31

REPORTING_COMPONENT: Final = "gnomon-operator"

Flag: TypeAlias = asyncio.Event | threading.Event


def make_kopf_settings(instance: str | None = None) -> kopf.OperatorSettings:
    """kopf's settings for Gnomon: our own finalizer and annotation names, scanning off.

    Events name `gnomon-operator` as their source (`kubectl describe` shows it under "From") and
    `instance` (by default the host name, which is the pod's name) as the reporting instance.
    """
    kopf_settings = kopf.OperatorSettings()
    kopf_settings.posting.reporting_component = REPORTING_COMPONENT
    kopf_settings.posting.reporting_instance = instance or socket.gethostname()
    kopf_settings.posting.event_name_prefix = f"{REPORTING_COMPONENT}-"
    kopf_settings.persistence.finalizer = FINALIZER
    kopf_settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    kopf_settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration"
    )
    kopf_settings.scanning.disabled = True
    # A timer caught mid-run when the operator stops would otherwise be orphaned and patch status
    # after kopf closed its API sessions; a refresh takes milliseconds, so waiting costs nothing.
    kopf_settings.background.instant_exit_timeout = TIMER_EXIT_SECONDS
    kopf_settings.peering.stealth = True
    kopf_settings.peering.lifetime = PEERING_LIFETIME_SECONDS
    return kopf_settings


async def operate(
    settings: Settings,
    engine: Engine,
    *,
    clock: Clock | None = None,
    priority: int | None = None,
    stop_flag: Flag | None = None,
    ready_flag: Flag | None = None,
    settle_seconds: float = SETTLE_SECONDS,
) -> None:
    """Run the operator until `stop_flag` is set (or SIGINT/SIGTERM in the main thread).

    Args:
        settings: Gnomon's settings; the `operator_*` ones and `allow_shell` are used.
        engine: the store.
        clock: where "now" comes from; the system clock by default.
        priority: peering priority; random by default (see the module docstring).
        stop_flag: set it to stop the operator.
        ready_flag: set by kopf once the operator has started.
        settle_seconds: with peering, how long to wait between announcing this replica in the
            peering and starting kopf (see `gnomon.operator.peering`).
    """
    peering = settings.operator_peering.strip()
    namespaces = [n.strip() for n in settings.operator_namespaces if n.strip()]
    priority = secrets.randbelow(_PRIORITY_RANGE) if priority is None else priority
    identity = replica_identity()
    if peering:
        await asyncio.to_thread(
            announce,
            peering=peering,
            namespaces=namespaces,
            identity=identity,
            priority=priority,
            lifetime=PEERING_LIFETIME_SECONDS,
        )
        await asyncio.sleep(settle_seconds)
    await kopf.operator(
        registry=make_registry(status_interval=settings.operator_status_interval_seconds),
        settings=make_kopf_settings(),
        memo=OperatorContext(
            engine=engine, clock=clock or SystemClock(), allow_shell=settings.allow_shell
        ),
        clusterwide=not namespaces,
        namespaces=namespaces,
        standalone=not peering,
        peering_name=peering or None,
        priority=priority,
        # kopf types it as its own NewType of str, which it does not export.
        identity=cast(Any, identity),
        stop_flag=stop_flag,
        ready_flag=ready_flag,
    )
    # kopf has closed its aiohttp sessions; their TLS connections finish closing in the next loop
    # cycles, which a caller's asyncio.run() would cut short (aiohttp's "graceful shutdown").
    await asyncio.sleep(TLS_CLOSE_SECONDS)


class QuietTimerFilter(logging.Filter):
    """Drops kopf's "Timer ... succeeded." lines: one per resource every status interval."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (message.startswith("Timer ") and message.endswith(" succeeded."))


def run_operator(settings: Settings) -> int:
    """`gnomon operator`: serve ProcessDefinition resources until stopped; the exit status.

    Health and metrics are served on GNOMON_METRICS_PORT (`gnomon.operator.health`); the port is
    opened after the store answered and before kopf starts, so a taken one stops the process
    (`ListenError`) before it touches any resource.
    """
    objects_log = logging.getLogger("kopf.objects")
    if not any(isinstance(f, QuietTimerFilter) for f in objects_log.filters):
        objects_log.addFilter(QuietTimerFilter())
    engine = make_engine(settings.database_url, store_timeouts(settings))
    try:
        ping(engine)
        registry = CollectorRegistry()
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        probes = ProbeListener(settings.host, settings.metrics_port, METRICS_PORT_SETTING, registry)
        health = OperatorHealth(StoreProbe(engine))
        probes.start(live=health.live, ready=health.ready)
        try:
            asyncio.run(health.run(operate(settings, engine, ready_flag=health.started)))
        finally:
            probes.close()
    finally:
        engine.dispose()
    return 0
