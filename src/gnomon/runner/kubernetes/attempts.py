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
from typing import Any, Final

from gnomon.runner.base import ExecutorStatus, Job, JobState
from gnomon.runner.kubernetes.manifests import TASK_ID_KEY, label_value
from gnomon.runner.kubernetes.status import assess

log = logging.getLogger(__name__)

LOST: Final = "lost"
EXECUTOR_ERROR: Final = "executor error"


@dataclass(eq=False)
class Attempt:
    """What the runner knows of one attempt."""

    job: Job
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
        return label_value(self.job.task_id)


@dataclass(frozen=True)
class Finish:
    """Collect the attempt's output, delete its Job when `delete`, then report the outcome."""

    attempt: Attempt
    status: ExecutorStatus
    reason: str | None
    delete: bool
    judged: bool = False
    """Decided from the objects (not by a kill, a timeout or a loss): the runner judges again
    with the pods it lists when collecting, since the Job and Pod watches are not in step."""


Action = Finish | JobState | None


def object_key(obj: Any) -> str | None:
    """The task-id label value of a Job, Pod or Secret."""
    labels = obj.metadata.labels if obj.metadata is not None else None
    return (labels or {}).get(TASK_ID_KEY)


def make_state(
    attempt: Attempt,
    status: ExecutorStatus,
    reason: str | None = None,
    *,
    namespace: str,
    pod: str | None = None,
) -> JobState:
    details = {"namespace": namespace, "job": attempt.name}
    if pod is not None:
        details["pod"] = pod
    return JobState(attempt.job.task_id, status, reason, attempt.name, details)


class AttemptTable:
    """Attempts by the `gnomon.dev/task-id` label value found on their Job and pods.

    Args:
        namespace: for the details of reported states.
        monotonic: the clock stuck pods are timed with (`time.monotonic`).
    """

    def __init__(self, namespace: str, monotonic: Callable[[], float]) -> None:
        self._namespace = namespace
        self._monotonic = monotonic
        self._attempts: dict[str, Attempt] = {}
        self._lock = threading.Lock()

    def add(self, attempt: Attempt, *, replace: bool = True) -> None:
        with self._lock:
            if replace or attempt.key not in self._attempts:
                self._attempts[attempt.key] = attempt

    def discard(self, attempt: Attempt) -> None:
        with self._lock:
            if self._attempts.get(attempt.key) is attempt:
                del self._attempts[attempt.key]

    def keys(self) -> set[str]:
        with self._lock:
            return set(self._attempts)

    def clear(self) -> None:
        """Forget every attempt: events about them then lead to no action."""
        with self._lock:
            self._attempts.clear()

    def pods_of(self, attempt: Attempt) -> list[Any]:
        with self._lock:
            return list(attempt.pods.values())

    def judge_again(
        self, attempt: Attempt, pods: Sequence[Any], status: ExecutorStatus, reason: str | None
    ) -> tuple[ExecutorStatus, str | None]:
        """The outcome of a finishing attempt given `pods` as listed now: a Job's `Failed` seen
        before its pod's exit becomes that exit ("exit code 2", not "BackoffLimitExceeded")."""
        with self._lock:
            k8s_job = attempt.k8s_job
        verdict = assess(k8s_job, pods, image=attempt.image, now=datetime.now(UTC))
        if verdict.finished and verdict.status is not None:
            return verdict.status, verdict.reason
        return status, reason

    def claim(self, task_id: str) -> Attempt | None:
        """The attempt, now finishing, unless it is unknown or finishing already."""
        with self._lock:
            attempt = self._attempts.get(label_value(task_id))
            if attempt is None or attempt.finishing:
                return None
            attempt.finishing = True
            return attempt

    def allow_progress(self, state: JobState) -> bool:
        """Whether a not-yet-final `state` may be reported: once, never after the outcome."""
        with self._lock:
            attempt = self._attempts.get(label_value(state.task_id))
            if attempt is None or attempt.finishing or attempt.running_reported:
                return False
            attempt.running_reported = state.status is ExecutorStatus.RUNNING
            return True

    def jobs_listed(self, items: Sequence[Any]) -> list[Action]:
        """A fresh list of Jobs: attempts whose Job is missing are lost (unless `start` is
        still creating it), the others are judged on what their Job says now."""
        listed = {object_key(item): item for item in items}
        actions: list[Action] = []
        with self._lock:
            for key, attempt in self._attempts.items():
                if attempt.finishing:
                    continue
                k8s_job = listed.get(key)
                if k8s_job is not None:
                    attempt.k8s_job = k8s_job
                    actions.append(self._judge(attempt))
                elif attempt.adopted or attempt.k8s_job is not None:
                    actions.append(self._lost(attempt))
        return actions

    def pods_listed(self, items: Sequence[Any], *, judge: bool = True) -> list[Action]:
        found: dict[str | None, dict[str, Any]] = {}
        for pod in items:
            found.setdefault(object_key(pod), {})[pod.metadata.name] = pod
        actions: list[Action] = []
        with self._lock:
            for key, attempt in self._attempts.items():
                if not attempt.finishing and key in found:
                    attempt.pods = found[key]
                    if judge:
                        actions.append(self._judge(attempt))
        return actions

    def job_event(self, kind: str, k8s_job: Any) -> Action:
        with self._lock:
            attempt = self._attempts.get(object_key(k8s_job) or "")
            if attempt is None or attempt.finishing:
                return None
            if kind == "DELETED":
                return self._lost(attempt)
            attempt.k8s_job = k8s_job
            return self._judge(attempt)

    def pod_event(self, _kind: str, pod: Any) -> Action:
        """A deleted pod keeps its last state: the Job decides what its loss means."""
        with self._lock:
            attempt = self._attempts.get(object_key(pod) or "")
            if attempt is None or attempt.finishing:
                return None
            attempt.pods[pod.metadata.name] = pod
            return self._judge(attempt)

    def expired(self, timeouts: Mapping[str, float]) -> list[Action]:
        """Attempts whose pod could not start for longer than its kind's timeout."""
        now = self._monotonic()
        actions: list[Action] = []
        with self._lock:
            for attempt in self._attempts.values():
                if attempt.stuck is None or attempt.finishing:
                    continue
                kind, reason, since = attempt.stuck
                if now - since >= timeouts[kind]:
                    attempt.finishing = True
                    actions.append(Finish(attempt, ExecutorStatus.FAILED, reason, delete=True))
        return actions

    def _judge(self, attempt: Attempt) -> Action:
        """With the lock held: what to do about `attempt` now. An object this cannot make sense
        of fails its own attempt (deleting its Job), never the watch that serves the others."""
        try:
            verdict = assess(
                attempt.k8s_job, attempt.pods.values(), image=attempt.image, now=datetime.now(UTC)
            )
        except Exception as exc:
            log.exception("cannot judge task %s", attempt.job.task_id)
            attempt.finishing = True
            return Finish(attempt, ExecutorStatus.FAILED, f"{EXECUTOR_ERROR}: {exc}", delete=True)
        if verdict.finished and verdict.status is not None:
            attempt.finishing = True
            return Finish(attempt, verdict.status, verdict.reason, delete=False, judged=True)
        if _being_deleted(attempt.k8s_job):
            return self._lost(attempt)
        if verdict.stuck is None:
            attempt.stuck = None
        else:
            previous = attempt.stuck
            same = previous is not None and previous[0] == verdict.stuck
            since = previous[2] if previous is not None and same else self._monotonic()
            attempt.stuck = (verdict.stuck, verdict.reason or "", since)
        if verdict.status is ExecutorStatus.RUNNING:
            return make_state(
                attempt, ExecutorStatus.RUNNING, namespace=self._namespace, pod=verdict.pod
            )
        return None

    def _lost(self, attempt: Attempt) -> Finish:
        """With the lock held: the attempt's Job is gone before it finished."""
        attempt.finishing = True
        if attempt.k8s_job is None:
            log.warning("no Kubernetes Job %s for task %s", attempt.name, attempt.job.task_id)
            return Finish(attempt, ExecutorStatus.FAILED, LOST, delete=False)
        reason = f"{LOST}: Kubernetes Job {attempt.name} was deleted"
        return Finish(attempt, ExecutorStatus.FAILED, reason, delete=False)


def _being_deleted(obj: Any) -> bool:
    """Deletion has begun (it may wait for the garbage collector's finalizers)."""
    return obj is not None and obj.metadata is not None and bool(obj.metadata.deletion_timestamp)
