"""A list-then-watch loop over one kind of object, in a daemon thread, that never gives up.

Watches expire (410 Gone), connections drop and API servers restart; every such end leads back to
a fresh list, whose snapshot is handed over whole so the owner can notice objects that vanished
while nobody watched. A server-side watch timeout only resumes the watch from the last
resourceVersion, without a list.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any, Final

from kubernetes import watch

from gnomon.runner.kubernetes.errors import KubernetesError, map_k8s_errors

log = logging.getLogger(__name__)

WATCH_SECONDS: Final = 60
"""Server-side timeout of one watch request; the loop then resumes it."""
REQUEST_TIMEOUT: Final = 30
EVENT_TYPES: Final = frozenset({"ADDED", "MODIFIED", "DELETED"})
GONE: Final = 410
"""The status of a watch whose resourceVersion is too old: list again at once."""
_WATCH: Any = watch.Watch
"""The client's `Watch`, which carries no type hints."""

Snapshot = Callable[[Sequence[Any]], None]
Event = Callable[[str, Any], None]


class ResourceWatcher:
    """Lists, then watches, objects matching `label_selector` in `namespace`.

    Args:
        kind: a name for logs and the thread (`jobs`, `pods`).
        list_fn: a namespaced list method of the client, such as `BatchV1Api.list_namespaced_job`.
        on_snapshot: called with every object after each (re)list.
        on_event: called with `ADDED`/`MODIFIED`/`DELETED` and the object for each watch event.
    """

    def __init__(
        self,
        kind: str,
        list_fn: Callable[..., Any],
        *,
        namespace: str,
        label_selector: str,
        on_snapshot: Snapshot,
        on_event: Event,
        retry_seconds: float = 1.0,
    ) -> None:
        self.kind = kind
        self._list_fn = list_fn
        self._namespace = namespace
        self._selector = label_selector
        self._on_snapshot = on_snapshot
        self._on_event = on_event
        self._retry_seconds = retry_seconds
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._watch: Any = None
        self._thread = threading.Thread(target=self._run, name=f"gnomon-k8s-{kind}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ends the loop, interrupting a watch that is waiting for events."""
        self._stop.set()
        with self._lock:
            current = self._watch
        if current is not None:
            current.stop()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with map_k8s_errors():
                    self._list_and_watch()
            except KubernetesError as exc:
                if exc.status == GONE:
                    log.debug("watch of %s expired; listing again", self.kind)
                    continue
                self._failed(str(exc))
            except Exception as exc:
                # Deliberately broad: a watch thread that died would leave every attempt it
                # serves running forever, so whatever else breaks a round (an event the client
                # cannot decode, a bug) is logged and the loop lists again.
                self._failed(str(exc) or type(exc).__name__)

    def _failed(self, why: str) -> None:
        if not self._stop.is_set():
            log.warning("watching Kubernetes %s failed (%s); retrying", self.kind, why)
            self._stop.wait(self._retry_seconds)

    def _list_and_watch(self) -> None:
        listing = self._list_fn(
            self._namespace, label_selector=self._selector, _request_timeout=REQUEST_TIMEOUT
        )
        self._on_snapshot(listing.items or [])
        version = listing.metadata.resource_version
        while not self._stop.is_set():
            current = _WATCH()
            with self._lock:
                self._watch = current
            if self._stop.is_set():
                return
            stream = current.stream(
                self._list_fn,
                self._namespace,
                label_selector=self._selector,
                resource_version=version,
                timeout_seconds=WATCH_SECONDS,
                _request_timeout=(REQUEST_TIMEOUT, WATCH_SECONDS + REQUEST_TIMEOUT),
            )
            for event in stream:
                if self._stop.is_set():
                    return
                if event["type"] in EVENT_TYPES:
                    self._on_event(event["type"], event["object"])
            version = current.resource_version or version
