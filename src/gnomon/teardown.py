"""`gnomon teardown`: leave nothing of Gnomon behind in a cluster that blocks removing it.

Gnomon's operator puts its finalizer (`gnomon.dev/operator`) on every ProcessDefinition, so that
deleting one removes its definition from the store first. Once the operator is gone, nothing
removes that finalizer, and deleting a ProcessDefinition (or its namespace) hangs for ever. Task
Jobs and their token Secrets carry no Helm labels, so `helm uninstall` leaves them too.

The steps, in this order:
1. Stop the Deployments named with `--stop` (the operator and the scheduler) and wait until their
   pods are gone: a running operator adds its finalizer back to any ProcessDefinition it sees
   change, and removing the finalizer is such a change; a running scheduler would start new Jobs.
2. Remove the finalizer from every ProcessDefinition the operator serves
   (`GNOMON_OPERATOR_NAMESPACES`; empty: all namespaces). The definitions stay in the store.
3. Delete this instance's task Jobs and token Secrets in `GNOMON_KUBERNETES_NAMESPACE` (label
   `gnomon.dev/instance`: `GNOMON_INSTANCE`, else the store's own id), never another instance's.

The instance is settled first, so a store that cannot be reached stops the command before it has
changed anything. Every step may be repeated. The Helm chart runs this as its pre-delete hook; by
hand it needs a kubeconfig with the same rights (see the README).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from gnomon.domain.clock import SystemClock
from gnomon.operator import FINALIZER, GROUP, PLURAL, VERSION
from gnomon.runner.kubernetes import (
    delete_task_objects,
    make_api_client,
    remove_finalizer,
    stop_deployment,
)
from gnomon.settings import Settings
from gnomon.storage import make_engine, store_timeouts, transaction
from gnomon.storage.identity import instance_id

log = logging.getLogger(__name__)


def parse_deployment(value: str) -> tuple[str, str]:
    """`NAMESPACE/NAME` as a pair; ValueError naming the expected form otherwise."""
    namespace, _, name = value.partition("/")
    if not namespace or not name or "/" in name:
        raise ValueError(f"expected NAMESPACE/NAME, got {value!r}")
    return namespace, name


def teardown(
    settings: Settings,
    *,
    stop: Sequence[tuple[str, str]],
    timeout: float,
    api_client: Any | None = None,
    say: Any = print,
) -> int:
    """Runs the steps of the module docstring; 0 when all of them are done.

    Args:
        settings: the instance, the operator's namespaces and the Jobs' namespace come from here.
        stop: (namespace, name) of each Deployment to stop first.
        timeout: longest wait, in seconds, for each Deployment's pods to go.
        api_client: a `kubernetes.client.ApiClient`; default: in-cluster, else the kubeconfig.
        say: where each finished step is reported, one line each.

    Raises:
        KubernetesError: the API refused a step or did not answer; the steps before it are done.
        StoreUnavailableError: the instance id could not be read; nothing was changed.
    """
    instance = job_instance(settings)
    api = make_api_client() if api_client is None else api_client
    try:
        for namespace, name in stop:
            if stop_deployment(api, namespace, name, timeout=timeout):
                say(f"stopped deployment {namespace}/{name}")
            else:
                say(f"no deployment {namespace}/{name}: nothing to stop")
        namespaces = [n.strip() for n in settings.operator_namespaces if n.strip()]
        released = remove_finalizer(api, (GROUP, VERSION, PLURAL), FINALIZER, namespaces)
        say(f"removed finalizer {FINALIZER} from {len(released)} ProcessDefinition(s)")
        delete_task_objects(api, settings.kubernetes_namespace, instance)
        say(
            f"deleted the task Jobs and Secrets of instance {instance} "
            f"in namespace {settings.kubernetes_namespace}"
        )
    finally:
        if api_client is None:
            api.close()
    return 0


def job_instance(settings: Settings) -> str:
    """The instance label of this Gnomon's task Jobs: GNOMON_INSTANCE, else the store's id."""
    if settings.instance:
        return settings.instance
    engine = make_engine(settings.database_url, store_timeouts(settings))
    try:
        with transaction(engine) as session:
            return instance_id(session=session, now=SystemClock().now())
    finally:
        engine.dispose()
