"""What a Kubernetes Job and its pods say about a task attempt, as pure functions.

Kept apart from the watching so every mapping (exit codes, out of memory, deadlines, image pulls)
is decided in one place from the objects alone. The objects are the `kubernetes` client's models
(`V1Job`, `V1Pod`), as lists and watches return them.

Precedence, when several signals disagree: the Job's deadline (a pod killed at the deadline exits
143, which must not read as the job's own failure), then the container's exit, then the Job's
terminal condition. A pod stuck before it runs (image pull errors, unschedulable) is reported as
stuck; the runner decides how long that may last, since Kubernetes itself never gives up
(kubernetes/kubernetes#66756).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from gnomon.runner.base import ExecutorStatus
from gnomon.runner.kubernetes.manifests import CONTAINER_NAME

DEADLINE_REASON: Final = "exceeded max_runtime_seconds"
OUT_OF_MEMORY: Final = "out of memory"
PULL_ERRORS: Final = frozenset({"ErrImagePull", "ImagePullBackOff", "InvalidImageName"})
STUCK_PULL: Final = "pull"
STUCK_UNSCHEDULABLE: Final = "unschedulable"


@dataclass(frozen=True)
class Assessment:
    """`status` is None while nothing is known yet; `stuck` names why a pod cannot start."""

    status: ExecutorStatus | None = None
    reason: str | None = None
    pod: str | None = None
    stuck: str | None = None
    """`pull` or `unschedulable`, with the user-facing `reason`."""

    @property
    def finished(self) -> bool:
        return self.status is not None and self.status.finished


def _conditions(k8s_job: Any) -> dict[str, Any]:
    status = k8s_job.status if k8s_job is not None else None
    found = (status.conditions or []) if status is not None else []
    return {c.type: c for c in found if c.status == "True"}


def deadline_condition(k8s_job: Any) -> bool:
    """The Job failed, or is failing, on `activeDeadlineSeconds`."""
    conditions = _conditions(k8s_job)
    return any(
        kind in conditions and conditions[kind].reason == "DeadlineExceeded"
        for kind in ("Failed", "FailureTarget")
    )


def deadline_passed(k8s_job: Any, now: datetime) -> bool:
    """The Job's `activeDeadlineSeconds` have run out since its `startTime`."""
    if k8s_job is None or k8s_job.spec is None or k8s_job.status is None:
        return False
    deadline = k8s_job.spec.active_deadline_seconds
    started = k8s_job.status.start_time
    return bool(deadline and started and started + timedelta(seconds=deadline) <= now)


def job_outcome(k8s_job: Any) -> tuple[ExecutorStatus, str | None] | None:
    """The Job's own terminal condition, if it has one."""
    conditions = _conditions(k8s_job)
    if "Complete" in conditions:
        return ExecutorStatus.SUCCEEDED, None
    failed = conditions.get("Failed")
    if failed is None:
        return None
    if failed.reason == "DeadlineExceeded":
        return ExecutorStatus.FAILED, DEADLINE_REASON
    words = [part for part in (failed.reason, failed.message) if part]
    return ExecutorStatus.FAILED, ": ".join(words) or "Kubernetes Job failed"


def main_container(pod: Any) -> Any:
    """The status of the task's container in `pod`, or None before the kubelet reports one."""
    statuses = (pod.status.container_statuses or []) if pod.status is not None else []
    for status in statuses:
        if status.name == CONTAINER_NAME:
            return status
    return statuses[0] if statuses else None


def pod_outcome(pod: Any) -> tuple[ExecutorStatus, str | None] | None:
    """How the pod ended: its container's exit, or the pod's own failure (e.g. evicted)."""
    container = main_container(pod)
    terminated = container.state.terminated if container and container.state else None
    if terminated is not None:
        if terminated.exit_code == 0:
            return ExecutorStatus.SUCCEEDED, None
        if terminated.reason == "OOMKilled":
            return ExecutorStatus.FAILED, OUT_OF_MEMORY
        return ExecutorStatus.FAILED, f"exit code {terminated.exit_code}"
    phase = pod.status.phase if pod.status is not None else None
    if phase == "Failed":
        words = [part for part in (pod.status.reason, pod.status.message) if part]
        return ExecutorStatus.FAILED, ": ".join(words) or "pod failed"
    if phase == "Succeeded":
        return ExecutorStatus.SUCCEEDED, None
    return None


def container_started(pod: Any) -> bool:
    """Whether the task's container ever ran in `pod` (so it may have written a log)."""
    container = main_container(pod)
    if container is None:
        return False
    states = [container.state, container.last_state]
    return any(s is not None and (s.running or s.terminated) for s in states)


def pod_running(pod: Any) -> bool:
    container = main_container(pod)
    if container is not None and container.state is not None and container.state.running:
        return True
    return pod.status is not None and pod.status.phase == "Running"


def pod_stuck(pod: Any, image: str) -> tuple[str, str] | None:
    """(`pull` | `unschedulable`, reason) when the pod cannot start, else None."""
    container = main_container(pod)
    waiting = container.state.waiting if container and container.state else None
    if waiting is not None and waiting.reason in PULL_ERRORS:
        return STUCK_PULL, f"cannot pull image {image}: {waiting.message or waiting.reason}"
    conditions = (pod.status.conditions or []) if pod.status is not None else []
    for condition in conditions:
        unschedulable = condition.type == "PodScheduled" and condition.reason == "Unschedulable"
        if unschedulable and condition.status == "False":
            return STUCK_UNSCHEDULABLE, f"cannot schedule pod: {condition.message or 'no node'}"
    return None


def _newest_first(pods: Iterable[Any]) -> list[Any]:
    def created(pod: Any) -> float:
        stamp = pod.metadata.creation_timestamp
        return stamp.timestamp() if stamp is not None else 0.0

    return sorted(pods, key=created, reverse=True)


def assess(k8s_job: Any, pods: Iterable[Any], *, image: str, now: datetime) -> Assessment:
    """What the Job and its pods say now (see the module docstring for the precedence)."""
    ordered = _newest_first(pods)
    job_final = job_outcome(k8s_job)
    pod_final = next(((p, o) for p in ordered if (o := pod_outcome(p)) is not None), None)
    if deadline_condition(k8s_job) and (job_final or pod_final):
        return Assessment(ExecutorStatus.FAILED, DEADLINE_REASON)
    if pod_final is not None:
        pod, (status, reason) = pod_final
        if status is ExecutorStatus.FAILED and deadline_passed(k8s_job, now):
            reason = DEADLINE_REASON
        return Assessment(status, reason, pod=pod.metadata.name)
    if job_final is not None:
        return Assessment(job_final[0], job_final[1])
    for pod in ordered:
        if pod_running(pod):
            return Assessment(ExecutorStatus.RUNNING, pod=pod.metadata.name)
    for pod in ordered:
        stuck = pod_stuck(pod, image)
        if stuck is not None:
            return Assessment(stuck=stuck[0], reason=stuck[1], pod=pod.metadata.name)
    return Assessment()
