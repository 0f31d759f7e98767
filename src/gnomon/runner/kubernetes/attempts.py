"""The Kubernetes runner's table of attempts: what each Job and pod event means for a task.

Separate from the runner so the bookkeeping (which events still count, when an attempt is lost,
how long a pod has been stuck) holds no API calls and no threads of its own; the runner feeds it
watch events and carries out the actions it returns. Every method takes the table's lock, and
once an attempt's outcome is decided (`finishing`) later events about it are ignored, so each
attempt is reported finished exactly once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gnomon.runner.base import EXECUTOR_ERROR, LOST, Attempt, AttemptState, ExecutorStatus
from gnomon.runner.kubernetes.manifests import TASK_ID_KEY, label_value
from gnomon.runner.kubernetes.status import assess

log = logging.getLogger(__name__)


@dataclass(eq=False)
class TrackedJob:
    """An attempt and what the runner knows of its Kubernetes Job and pods."""

    attempt: Attempt
    name: str
    """The Kubernetes Job's (and token Secret's) name."""
    image: str
    adopted: bool = False
    k8s_job: Any = None
    pods: dict[str, Any] = field(default_factory=dict)
    running_reported: bool = False
    finishing: bool = False
    """Set once the outcome is decided: later events are ignored."""
    stuck: tuple[str, str, float] | None = None
    """(kind, reason, first seen on the monotonic clock) while the pod cannot start."""

    @property
    def key(self) -> str:
        return label_value(self.attempt.task_id)


@dataclass(frozen=True)
class Finish:
    """Collect the attempt's output, delete its Job when `delete`, then report the outcome."""

    tracked: TrackedJob
    status: ExecutorStatus
    reason: str | None
    delete: bool
    judged: bool = False
    """Decided from the objects (not by a kill, a timeout or a loss): the runner judges again
    with the pods it lists when collecting, since the Job and Pod watches are not in step."""


Action = Finish | AttemptState | None


def object_key(obj: Any) -> str | None:
    """The task-id label value of a Job, Pod or Secret."""
    labels = obj.metadata.labels if obj.metadata is not None else None
    return (labels or {}).get(TASK_ID_KEY)


def make_state(
    tracked: TrackedJob,
    status: ExecutorStatus,
    reason: str | None = None,
    *,
    namespace: str,
    pod: str | None = None,
) -> AttemptState:
    details = {"namespace": namespace, "job": tracked.name}
    if pod is not None:
        details["pod"] = pod
    return AttemptState(tracked.attempt.task_id, status, reason, tracked.name, details)


class AttemptTable:
    """Attempts by the `gnomon.dev/task-id` label value found on their Job and pods.

    Args:
        namespace: for the details of reported states.
        monotonic: the clock stuck pods are timed with (`time.monotonic`).
    """

    def __init__(self, namespace: str, monotonic: Callable[[], float]) -> None:
        self._namespace = namespace
        self._monotonic = monotonic
        self._attempts: dict[str, TrackedJob] = {}
        self._lock = threading.Lock()

    def add(self, tracked: TrackedJob, *, replace: bool = True) -> None:
        with self._lock:
            if replace or tracked.key not in self._attempts:
                self._attempts[tracked.key] = tracked

    def discard(self, tracked: TrackedJob) -> None:
        with self._lock:
            if self._attempts.get(tracked.key) is tracked:
                del self._attempts[tracked.key]

    def keys(self) -> set[str]:
        with self._lock:
            return set(self._attempts)

    def clear(self) -> None:
        """Forget every attempt: events about them then lead to no action."""
        with self._lock:
            self._attempts.clear()

    def pods_of(self, tracked: TrackedJob) -> list[Any]:
        with self._lock:
            return list(tracked.pods.values())

    def judge_again(
        self, tracked: TrackedJob, pods: Sequence[Any], status: ExecutorStatus, reason: str | None
    ) -> tuple[ExecutorStatus, str | None]:
        """The outcome of a finishing attempt given `pods` as listed now: a Job's `Failed` seen
        before its pod's exit becomes that exit ("exit code 2", not "BackoffLimitExceeded")."""
        with self._lock:
            k8s_job = tracked.k8s_job
        verdict = assess(k8s_job, pods, image=tracked.image, now=datetime.now(UTC))
        if verdict.finished and verdict.status is not None:
            return verdict.status, verdict.reason
        return status, reason

    def claim(self, task_id: str) -> TrackedJob | None:
        """The attempt, now finishing, unless it is unknown or finishing already."""
        with self._lock:
            tracked = self._attempts.get(label_value(task_id))
            if tracked is None or tracked.finishing:
                return None
            tracked.finishing = True
            return tracked

    def allow_progress(self, state: AttemptState) -> bool:
        """Whether a not-yet-final `state` may be reported: once, never after the outcome."""
        with self._lock:
            tracked = self._attempts.get(label_value(state.task_id))
            if tracked is None or tracked.finishing or tracked.running_reported:
                return False
            tracked.running_reported = state.status is ExecutorStatus.RUNNING
            return True

    def jobs_listed(self, items: Sequence[Any]) -> list[Action]:
        """A fresh list of Jobs: attempts whose Job is missing are lost (unless `start` is
        still creating it), the others are judged on what their Job says now."""
        listed = {object_key(item): item for item in items}
        actions: list[Action] = []
        with self._lock:
            for key, tracked in self._attempts.items():
                if tracked.finishing:
                    continue
                k8s_job = listed.get(key)
                if k8s_job is not None:
                    tracked.k8s_job = k8s_job
                    actions.append(self._judge(tracked))
                elif tracked.adopted or tracked.k8s_job is not None:
                    actions.append(self._lost(tracked))
        return actions

    def pods_listed(self, items: Sequence[Any], *, judge: bool = True) -> list[Action]:
        found: dict[str | None, dict[str, Any]] = {}
        for pod in items:
            found.setdefault(object_key(pod), {})[pod.metadata.name] = pod
        actions: list[Action] = []
        with self._lock:
            for key, tracked in self._attempts.items():
                if not tracked.finishing and key in found:
                    tracked.pods = found[key]
                    if judge:
                        actions.append(self._judge(tracked))
        return actions

    def job_event(self, kind: str, k8s_job: Any) -> Action:
        with self._lock:
            tracked = self._attempts.get(object_key(k8s_job) or "")
            if tracked is None or tracked.finishing:
                return None
            if kind == "DELETED":
                return self._lost(tracked)
            tracked.k8s_job = k8s_job
            return self._judge(tracked)

    def pod_event(self, _kind: str, pod: Any) -> Action:
        """A deleted pod keeps its last state: the Job decides what its loss means."""
        with self._lock:
            tracked = self._attempts.get(object_key(pod) or "")
            if tracked is None or tracked.finishing:
                return None
            tracked.pods[pod.metadata.name] = pod
            return self._judge(tracked)

    def expired(self, timeouts: Mapping[str, float]) -> list[Action]:
        """Attempts whose pod could not start for longer than its kind's timeout."""
        now = self._monotonic()
        actions: list[Action] = []
        with self._lock:
            for tracked in self._attempts.values():
                if tracked.stuck is None or tracked.finishing:
                    continue
                kind, reason, since = tracked.stuck
                if now - since >= timeouts[kind]:
                    tracked.finishing = True
                    actions.append(Finish(tracked, ExecutorStatus.FAILED, reason, delete=True))
        return actions

    def _judge(self, tracked: TrackedJob) -> Action:
        """With the lock held: what to do about `tracked` now. An object this cannot make sense
        of fails its own attempt (deleting its Job), never the watch that serves the others."""
        try:
            verdict = assess(
                tracked.k8s_job, tracked.pods.values(), image=tracked.image, now=datetime.now(UTC)
            )
        except Exception as exc:
            # Deliberately broad, the one such catch while following: whatever an object makes
            # `assess` raise fails this attempt with a reason instead of stopping the watch.
            log.exception("cannot judge task %s", tracked.attempt.task_id)
            tracked.finishing = True
            return Finish(tracked, ExecutorStatus.FAILED, f"{EXECUTOR_ERROR}: {exc}", delete=True)
        if verdict.finished and verdict.status is not None:
            tracked.finishing = True
            return Finish(tracked, verdict.status, verdict.reason, delete=False, judged=True)
        if _being_deleted(tracked.k8s_job):
            return self._lost(tracked)
        if verdict.stuck is None:
            tracked.stuck = None
        else:
            previous = tracked.stuck
            same = previous is not None and previous[0] == verdict.stuck
            since = previous[2] if previous is not None and same else self._monotonic()
            tracked.stuck = (verdict.stuck, verdict.reason or "", since)
        if verdict.status is ExecutorStatus.RUNNING:
            return make_state(
                tracked, ExecutorStatus.RUNNING, namespace=self._namespace, pod=verdict.pod
            )
        return None

    def _lost(self, tracked: TrackedJob) -> Finish:
        """With the lock held: the attempt's Job is gone before it finished."""
        tracked.finishing = True
        if tracked.k8s_job is None:
            log.warning("no Kubernetes Job %s for task %s", tracked.name, tracked.attempt.task_id)
            return Finish(tracked, ExecutorStatus.FAILED, LOST, delete=False)
        reason = f"{LOST}: Kubernetes Job {tracked.name} was deleted"
        return Finish(tracked, ExecutorStatus.FAILED, reason, delete=False)


def _being_deleted(obj: Any) -> bool:
    """Deletion has begun (it may wait for the garbage collector's finalizers)."""
    return obj is not None and obj.metadata is not None and bool(obj.metadata.deletion_timestamp)
