"""Finished Jobs that the API server will not remove: the runner deletes them itself.

Kubernetes deletes a finished Job `ttlSecondsAfterFinished` after it finished, but only where the
TTL-after-finished controller runs: it is beta and on by default from Kubernetes 1.21, alpha and
off in 1.20. A server without it drops the field when it stores the Job, so a Job that comes back
without `ttlSecondsAfterFinished` is one nobody else will ever delete. Those are kept here, with
the time they finished, and handed to the runner for deletion `kubernetes_job_ttl_seconds` later.

The finish time is the one the TTL controller uses: when the Job's `Complete` or `Failed`
condition became true. It comes from the Job, not from memory, so a scheduler that restarts finds
Jobs that finished while it was away and deletes those whose time is up at once. Pure bookkeeping
like `attempts`: no API calls, no threads; every method takes the table's lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Set
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from gnomon.runner.kubernetes.attempts import object_key
from gnomon.runner.kubernetes.manifests import INSTANCE_KEY

TERMINAL: Final = ("Complete", "Failed")
RETRY_SECONDS: Final = 60.0
"""How long a deletion the API refused waits before it is tried again."""


@dataclass
class _Expiring:
    finished: datetime
    key: str | None
    """The Job's task-id label value, to tell whether its attempt is still being followed."""
    not_before: datetime | None = None


def finished_at(k8s_job: Any) -> datetime | None:
    """When the Job's terminal condition became true; None while it has none."""
    status = k8s_job.status
    for condition in (status.conditions or []) if status is not None else []:
        if condition.type in TERMINAL and condition.status == "True":
            stamp: datetime | None = condition.last_transition_time or status.completion_time
            return stamp
    return None


def server_keeps_ttl(k8s_job: Any) -> bool:
    """The stored Job still has `ttlSecondsAfterFinished`: the server deletes it itself."""
    return k8s_job.spec is not None and k8s_job.spec.ttl_seconds_after_finished is not None


class ExpiringJobs:
    """Finished Jobs of one instance that the runner must delete, by name.

    Args:
        instance_label: the `gnomon.dev/instance` label value of this runner's Jobs; a Job with
            another one is never kept, whatever selector it was listed with.
    """

    def __init__(self, instance_label: str) -> None:
        self._instance_label = instance_label
        self._jobs: dict[str, _Expiring] = {}
        self._lock = threading.Lock()

    def observe(self, k8s_job: Any, now: datetime) -> None:
        """Keeps a finished Job the server will not delete; forgets any other. `now` stands in
        for a finish time the Job does not state."""
        name = k8s_job.metadata.name
        with self._lock:
            if not self._ours_to_delete(k8s_job):
                self._jobs.pop(name, None)
                return
            if name not in self._jobs:
                finished = finished_at(k8s_job) or now
                self._jobs[name] = _Expiring(finished, object_key(k8s_job))

    def forget(self, name: str) -> None:
        with self._lock:
            self._jobs.pop(name, None)

    def replace(self, items: Iterable[Any], now: datetime) -> None:
        """A fresh list of the instance's Jobs: those not in it are gone."""
        listed = list(items)
        names = {item.metadata.name for item in listed}
        with self._lock:
            for name in set(self._jobs) - names:
                del self._jobs[name]
        for item in listed:
            self.observe(item, now)

    def due(self, now: datetime, ttl_seconds: float, busy: Set[str]) -> list[str]:
        """The Jobs finished at least `ttl_seconds` ago, now handed over for deletion. A Job
        whose task-id is in `busy` (its attempt is still being collected) waits."""
        ttl = timedelta(seconds=ttl_seconds)
        with self._lock:
            names = [
                name
                for name, job in self._jobs.items()
                if job.finished + ttl <= now
                and job.key not in busy
                and (job.not_before is None or job.not_before <= now)
            ]
            for name in names:
                self._jobs[name].not_before = now + timedelta(seconds=RETRY_SECONDS)
        return names

    def _ours_to_delete(self, k8s_job: Any) -> bool:
        """With the lock held: finished, not deleted already, of this instance, and stored
        without the TTL that would make the server delete it."""
        metadata = k8s_job.metadata
        labels = metadata.labels or {}
        return (
            labels.get(INSTANCE_KEY) == self._instance_label
            and not metadata.deletion_timestamp
            and not server_keeps_ttl(k8s_job)
            and finished_at(k8s_job) is not None
        )
