"""A replica writes itself into its kopf peering before kopf starts serving.

What kopf (1.45) does at start-up with mandatory peering: the replica starts paused, then writes
its keep-alive record (identity, priority, lifetime, last seen) into the peering object's status
and, at the same moment, lists that object. If the listing shows no live peer of higher or equal
priority, it resumes at once; it pauses again only when a later watch event shows such a peer.
Two replicas started together each list the object before the other has written itself, so both
resume, and both handle the first changes until their keep-alives cross.

So `announce` writes this replica's record, in kopf's own format and under the identity kopf is
then given, before kopf starts, and the caller waits `SETTLE_SECONDS` after it. By the end of the
wait every peer started at the same moment is in the object, so kopf's first listing sees it, and
a lower replica that was already working has seen this one and paused. kopf takes the record over
with its first keep-alive and removes it when it stops; if kopf never starts, the record expires
after its lifetime.

This is the one place the operator calls the Kubernetes API outside kopf: kopf offers no public
call that writes a peering record without running an operator.
"""

from __future__ import annotations

import logging
import secrets
import socket
from datetime import UTC, datetime
from typing import Final

from kubernetes import client, config
from urllib3.exceptions import HTTPError

log = logging.getLogger(__name__)
SETTLE_SECONDS: Final = 3.0
_GROUP: Final = "kopf.dev"
_VERSION: Final = "v1"


def replica_identity() -> str:
    """This replica's name in the peering: the host (a pod's name) and a random suffix."""
    return f"{socket.gethostname()}/{secrets.token_hex(4)}"


def announce(
    *, peering: str, namespaces: list[str], identity: str, priority: int, lifetime: int
) -> None:
    """Write this replica's record into the peering object(s) it shares with its peers.

    Cluster-wide (no `namespaces`) that is the ClusterKopfPeering `peering`, otherwise the
    KopfPeering `peering` in each namespace, as kopf chooses. A failure is logged, not raised:
    kopf itself reports a missing peering object or API server, and keeps the replica paused.
    """
    record = {
        "priority": priority,
        "lifetime": lifetime,
        "lastseen": datetime.now(UTC).isoformat(),
    }
    body = {"status": {identity: record}}
    try:
        with _api_client() as api:
            objects = client.CustomObjectsApi(api)
            if not namespaces:
                objects.patch_cluster_custom_object(
                    _GROUP, _VERSION, "clusterkopfpeerings", peering, body
                )
            for namespace in namespaces:
                objects.patch_namespaced_custom_object(
                    _GROUP, _VERSION, namespace, "kopfpeerings", peering, body
                )
    except client.ApiException as exc:
        log.warning("could not announce this replica in the peering %r: %s", peering, exc.reason)
    except (config.ConfigException, HTTPError, OSError) as exc:
        # No credentials or no API server: kopf's own login and retries report it next.
        log.warning("could not announce this replica in the peering %r: %s", peering, exc)


def _api_client() -> client.ApiClient:
    """A client logged in as kopf logs in: the pod's service account, else the kubeconfig."""
    configuration = client.Configuration()
    try:
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    except config.ConfigException:
        config.load_kube_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    return client.ApiClient(configuration)
