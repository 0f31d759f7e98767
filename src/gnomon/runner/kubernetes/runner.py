"""The `kubernetes` executor: each task attempt runs as one batch/v1 Job.

Why it is built this way:
- Kubernetes never retries (`backoffLimit: 0`, `restartPolicy: Never`): a retry is Gnomon's next
  attempt, with its own task row and its own Job, so attempts are counted in one place.
- Outcomes come from a list+watch of this instance's Jobs and Pods (label
  `gnomon.dev/instance`), and `adopt` rebuilds the picture from a list after a restart.
- Kubernetes waits forever for an image that cannot be pulled or a pod that cannot be scheduled
  (kubernetes/kubernetes#66756); here such a pod fails the task after a bounded time.
- A pod's output is copied into log entries before the outcome is reported, and only then may
  the Job go (deleted by a kill, else `kubernetes_job_ttl_seconds` after it finished: by the
  server's `ttlSecondsAfterFinished`, or by this runner where the server ignores that field; see
  `expiry`).
- The API's errors are translated once (`map_k8s_errors`) into `KubernetesError`s, so a reason
  a user sees is the API server's own message. Whatever else goes wrong while starting or
  following an attempt ends it FAILED with `executor error: ...`, never a task left `running`.
- A user's `value_from.secret_key_ref` becomes the pod's `secretKeyRef`; a secret file or host
  variable cannot reach a pod and fails the attempt with a reason (see `gnomon.runner.environment`).
- The callback token is kept in a per-Job Secret owned by the Job and reaches the pod through a
  `secretKeyRef`; it never appears in the Job, so `kubectl get job -o yaml` does not leak it.
- Secrets are only ever created and deleted by name, never read or listed: in a namespace shared
  with other Secrets, reading them is a right the scheduler must not hold. The Secret is created
  after its Job, always with the Job as its owner, so the garbage collector removes it with the
  Job, whoever deletes the Job; the runner also deletes it (the Job's name) once the outcome is
  known, and with each Job it deletes, so the token does not outlive its task.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, Final

from kubernetes import client, config

from gnomon.domain.clock import Clock, SystemClock
from gnomon.errors import GnomonError
from gnomon.runner.base import (
    CONTAINER_KINDS,
    EXECUTOR_ERROR,
    Attempt,
    AttemptSink,
    AttemptState,
    ExecutorStatus,
)
from gnomon.runner.kubernetes.attempts import (
    Action,
    AttemptTable,
    Finish,
    TrackedJob,
    make_state,
    object_key,
)
from gnomon.runner.kubernetes.errors import (
    KubernetesAlreadyExistsError,
    KubernetesConfigError,
    KubernetesError,
    KubernetesNotFoundError,
    map_k8s_errors,
)
from gnomon.runner.kubernetes.expiry import ExpiringJobs
from gnomon.runner.kubernetes.logs import collect_logs
from gnomon.runner.kubernetes.manifests import (
    build_job_manifest,
    build_token_secret_manifest,
    container_command,
    image_reference,
    instance_selector,
    job_name,
    label_value,
    task_selector,
)
from gnomon.runner.kubernetes.status import STUCK_PULL, STUCK_UNSCHEDULABLE, container_started
from gnomon.runner.kubernetes.watch import ResourceWatcher
from gnomon.settings import Settings

log = logging.getLogger(__name__)

HEALTH_CACHE_SECONDS: Final = 5.0
REQUEST_TIMEOUT: Final = 15
FINISH_WORKERS: Final = 4
_EPOCH: Final = datetime.fromtimestamp(0, UTC)
_CONFIG: Any = config
"""The client's config loaders, which carry no type hints."""


def make_api_client() -> Any:
    """A client from the pod's service account, else from the kubeconfig (`$KUBECONFIG`)."""
    configuration = client.Configuration()
    try:
        _CONFIG.load_incluster_config(client_configuration=configuration)
    except config.ConfigException:
        try:
            _CONFIG.load_kube_config(client_configuration=configuration)
        except (config.ConfigException, OSError) as exc:
            raise KubernetesConfigError(f"no Kubernetes configuration found: {exc}") from exc
    return client.ApiClient(configuration)


class KubernetesRunner:
    """Runs `docker_image_command` and `batch_image_command` tasks as Kubernetes Jobs.

    Args:
        settings: namespace, TTL, timeouts, pull policy and callback URL come from here.
        sink: receives states and output lines, from the runner's own threads.
        instance: names this Gnomon installation in labels; adopt only touches its own objects.
        api_client: a `kubernetes.client.ApiClient`; default: in-cluster, else the kubeconfig.
        clock: when finished Jobs are due for deletion (see `expiry`); the system clock by
            default.
    """

    name = "kubernetes"

    def __init__(
        self,
        settings: Settings,
        sink: AttemptSink,
        *,
        instance: str,
        api_client: Any | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._settings = settings
        self._sink = sink
        self._instance = instance
        self._namespace = settings.kubernetes_namespace
        self._owns_client = api_client is None
        self._api = make_api_client() if api_client is None else api_client
        # Typed Any: manifests go to the API as plain dicts, not the client's model classes.
        self._batch: Any = client.BatchV1Api(self._api)
        self._core: Any = client.CoreV1Api(self._api)
        self._selector = instance_selector(instance)
        self._table = AttemptTable(self._namespace, time.monotonic)
        self._clock = clock or SystemClock()
        self._expiring = ExpiringJobs(label_value(instance))
        self._cleaning = threading.Event()
        """Set while this runner holds the attempts (after `start` or `adopt`, until `release`):
        only then does it delete expired Jobs."""
        self._lock = threading.Lock()
        self._report_lock = threading.Lock()
        self._stop = threading.Event()
        self._workers = ThreadPoolExecutor(FINISH_WORKERS, thread_name_prefix="gnomon-k8s-finish")
        self._watchers: list[ResourceWatcher] = []
        self._monitor: threading.Thread | None = None
        self._health: tuple[float, str | None] | None = None

    # -- the Runner protocol -------------------------------------------------------------------

    def start(self, attempt: Attempt) -> None:
        tracked: TrackedJob | None = None
        try:
            prepared = self._prepare(attempt)
            if prepared is None:
                return
            tracked, manifest = prepared
            self._table.add(tracked)
            self._cleaning.set()
            self._ensure_watching()
            failure = self._create(tracked, manifest)
        except Exception as exc:
            # Deliberately broad, and the one such catch on the way to a Job: an error nobody
            # foresaw (a bug here, a client that misbehaves) fails this attempt with a reason
            # instead of leaving its task `running` with nothing to watch.
            log.exception("cannot start task %s", attempt.task_id)
            failure = f"{EXECUTOR_ERROR}: {exc}"
            if tracked is not None:  # no Job may run for an attempt reported failed
                self._table.discard(tracked)  # first, so its deletion is not read as a loss
                self._delete("job", tracked.name)
        if tracked is not None and failure is None:
            self._progress(self._state(tracked, ExecutorStatus.INITIALIZING))
            return
        handle = None
        if tracked is not None:
            self._table.discard(tracked)
            handle = tracked.name
        self._report(AttemptState(attempt.task_id, ExecutorStatus.FAILED, failure, handle))

    def kill(self, task_id: str, reason: str) -> None:
        """Deletes the Job (Kubernetes then stops its pod, SIGKILL after `kill_grace_seconds`)
        and reports FAILED with `reason`; the pod's output so far is saved first."""
        tracked = self._table.claim(task_id)
        if tracked is not None:
            self._apply([Finish(tracked, ExecutorStatus.FAILED, reason, delete=True)])

    def adopt(self, attempts: Sequence[Attempt]) -> None:
        """Watches `attempts` again: finished Jobs are collected, missing ones reported `lost`.
        Jobs of this instance that belong to no known attempt are deleted, with their Secrets, and
        so are finished Jobs whose time is up (see `expiry`)."""
        for attempt in attempts:
            if attempt.executable.kind in CONTAINER_KINDS:
                tracked = TrackedJob(attempt, job_name(attempt), _image(attempt), adopted=True)
                self._table.add(tracked, replace=False)
        known = self._table.keys()
        self._cleaning.set()
        try:
            k8s_jobs = self._list(self._batch.list_namespaced_job)
            pods = self._list(self._core.list_namespaced_pod)
        except KubernetesError as exc:  # the Job watch decides once the API answers again
            log.warning("cannot list Kubernetes Jobs to adopt: %s", exc)
            self._ensure_watching()
            return
        self._table.pods_listed(pods, judge=False)
        self._expiring.replace(k8s_jobs, self._clock.now())
        self._apply(self._table.jobs_listed(k8s_jobs))
        for orphan in (item for item in k8s_jobs if object_key(item) not in known):
            log.info("deleting Kubernetes Job %s: no such task", orphan.metadata.name)
            self._delete("job", orphan.metadata.name)
            self._delete("secret", orphan.metadata.name)
        self._ensure_watching()

    def release(self) -> None:
        """Forget every attempt: their Jobs' events no longer lead to collecting or deleting."""
        self._cleaning.clear()
        self._table.clear()

    def healthy(self) -> str | None:
        """None when the API server lists Jobs in the namespace; answers are cached briefly."""
        now = time.monotonic()
        with self._lock:
            if self._health is not None and now - self._health[0] < HEALTH_CACHE_SECONDS:
                return self._health[1]
        try:
            with map_k8s_errors():
                self._batch.list_namespaced_job(
                    self._namespace, label_selector=self._selector, limit=1, _request_timeout=5
                )
            verdict = None
        except KubernetesError as exc:
            verdict = f"Kubernetes API: {exc}"
        with self._lock:
            self._health = (now, verdict)
        return verdict

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            watchers, monitor = list(self._watchers), self._monitor
        for watcher in watchers:
            watcher.stop()
        if monitor is not None:
            monitor.join(5)
        self._workers.shutdown(wait=True)
        if self._owns_client:
            self._api.close()

    # -- the API ---------------------------------------------------------------------------------

    def _prepare(self, attempt: Attempt) -> tuple[TrackedJob, dict[str, Any]] | None:
        """The attempt's Job manifest; None, after reporting why, when its definition cannot
        run here (a shell script, a secret of Gnomon's host)."""
        try:
            manifest = build_job_manifest(attempt, self._settings, instance=self._instance)
        except (ValueError, GnomonError) as exc:
            self._report(AttemptState(attempt.task_id, ExecutorStatus.FAILED, str(exc)))
            return None
        return TrackedJob(attempt, manifest["metadata"]["name"], _image(attempt)), manifest

    def _create(self, tracked: TrackedJob, manifest: dict[str, Any]) -> str | None:
        """Creates the Job, then its token Secret owned by the Job; the reason when that fails."""
        try:
            uid = self._create_job(tracked, manifest)
        except KubernetesError as exc:
            return f"cannot create Kubernetes Job {tracked.name}: {exc}"
        secret = build_token_secret_manifest(
            tracked.attempt, self._settings, instance=self._instance, job_uid=uid
        )
        try:
            with map_k8s_errors():
                self._core.create_namespaced_secret(
                    self._namespace, secret, _request_timeout=REQUEST_TIMEOUT
                )
        except KubernetesAlreadyExistsError:
            return None
        except KubernetesError as exc:
            self._delete("job", tracked.name)
            return f"cannot create the token Secret of {tracked.name}: {exc}"
        return None

    def _create_job(self, tracked: TrackedJob, manifest: dict[str, Any]) -> str:
        """The uid of the attempt's Job: the one created now, else the one already there (a start
        repeated after a restart), so that the Secret is owned by the Job either way."""
        try:
            with map_k8s_errors():
                created = self._batch.create_namespaced_job(
                    self._namespace, manifest, _request_timeout=REQUEST_TIMEOUT
                )
        except KubernetesAlreadyExistsError:
            log.info("Kubernetes Job %s exists already; watching it", tracked.name)
            with map_k8s_errors():
                created = self._batch.read_namespaced_job(
                    tracked.name, self._namespace, _request_timeout=REQUEST_TIMEOUT
                )
        return str(created.metadata.uid)

    def _delete(self, kind: str, name: str) -> None:
        """Deletes a Job or a Secret; one already gone is fine. A Job goes at once and the
        garbage collector removes its pod in the background: `Foreground` would keep the Job
        until the pod is gone, which nothing here needs to wait for."""
        try:
            with map_k8s_errors():
                if kind == "job":
                    self._batch.delete_namespaced_job(
                        name, self._namespace, propagation_policy="Background"
                    )
                else:
                    self._core.delete_namespaced_secret(name, self._namespace)
        except KubernetesNotFoundError:
            pass  # gone already, as wanted
        except KubernetesError as exc:
            log.warning("cannot delete Kubernetes %s %s: %s", kind, name, exc)

    def _list(self, list_fn: Any, selector: str | None = None) -> list[Any]:
        with map_k8s_errors():
            listing = list_fn(
                self._namespace,
                label_selector=selector or self._selector,
                _request_timeout=REQUEST_TIMEOUT,
            )
        return list(listing.items or [])

    # -- watching --------------------------------------------------------------------------------

    def _ensure_watching(self) -> None:
        with self._lock:
            if self._watchers or self._stop.is_set():
                return
            self._watchers = [
                ResourceWatcher(
                    "jobs",
                    self._batch.list_namespaced_job,
                    on_snapshot=self._jobs_listed,
                    on_event=self._job_event,
                    namespace=self._namespace,
                    label_selector=self._selector,
                ),
                ResourceWatcher(
                    "pods",
                    self._core.list_namespaced_pod,
                    on_snapshot=lambda items: self._apply(self._table.pods_listed(items)),
                    on_event=lambda kind, obj: self._apply([self._table.pod_event(kind, obj)]),
                    namespace=self._namespace,
                    label_selector=self._selector,
                ),
            ]
            monitor = threading.Thread(target=self._keep_time, name="gnomon-k8s-timer")
            monitor.daemon = True
            self._monitor = monitor
        for watcher in self._watchers:
            watcher.start()
        monitor.start()

    def _jobs_listed(self, items: Sequence[Any]) -> None:
        self._expiring.replace(items, self._clock.now())
        self._apply(self._table.jobs_listed(items))

    def _job_event(self, kind: str, k8s_job: Any) -> None:
        if kind == "DELETED":
            self._expiring.forget(k8s_job.metadata.name)
        else:
            self._expiring.observe(k8s_job, self._clock.now())
        self._apply([self._table.job_event(kind, k8s_job)])

    def _keep_time(self) -> None:
        """Fails attempts whose pod could not start for longer than its timeout, and deletes
        finished Jobs whose time is up."""
        timeouts = {
            STUCK_PULL: self._settings.kubernetes_image_pull_timeout_seconds,
            STUCK_UNSCHEDULABLE: self._settings.kubernetes_unschedulable_timeout_seconds,
        }
        interval = max(0.01, min(1.0, min(timeouts.values()) / 4))
        while not self._stop.wait(interval):
            self._apply(self._table.expired(timeouts))
            self._delete_expired()

    def _delete_expired(self) -> None:
        """Deletes the finished Jobs the server keeps forever (see `expiry`), with their token
        Secrets (by name: a Secret whose Job is gone has nothing left to do), unless this runner
        has released its attempts. A Job whose attempt is still being collected waits."""
        if not self._cleaning.is_set():
            return
        ttl = self._settings.kubernetes_job_ttl_seconds
        for name in self._expiring.due(self._clock.now(), ttl, self._table.keys()):
            log.info("deleting finished Kubernetes Job %s: %d s after it finished", name, ttl)
            self._delete("job", name)
            self._delete("secret", name)

    # -- outcomes --------------------------------------------------------------------------------

    def _apply(self, actions: Iterable[Action]) -> None:
        for action in actions:
            if isinstance(action, Finish):
                try:
                    self._workers.submit(self._finish, action)
                except RuntimeError:  # closing: the next adopt collects it
                    log.info("not collecting task %s: closing", action.tracked.attempt.task_id)
            elif action is not None:
                self._progress(action)

    def _finish(self, action: Finish) -> None:
        """Saves the output, removes what must go, then reports the outcome."""
        tracked, status, reason = action.tracked, action.status, action.reason
        try:
            pods = self._pods_now(tracked)
            if action.judged:
                status, reason = self._table.judge_again(tracked, pods, status, reason)
            lines = collect_logs(
                self._core,
                self._namespace,
                [pod.metadata.name for pod in pods if container_started(pod)],
                max_lines=self._settings.max_log_lines_per_task,
            )
            if lines:
                self._sink.output(tracked.attempt.task_id, lines)
            if action.delete:
                self._delete("job", tracked.name)
            self._delete("secret", tracked.name)
        except Exception:
            # Deliberately broad: the outcome is decided already, and whatever breaks while its
            # output is saved (a bug, a sink that raises) must not keep it from being reported.
            log.exception("collecting task %s failed", tracked.attempt.task_id)
        finally:
            self._table.discard(tracked)
            self._report(self._state(tracked, status, reason))

    def _pods_now(self, tracked: TrackedJob) -> list[Any]:
        """The attempt's pods, oldest first, as the API lists them now."""
        try:
            pods = self._list(
                self._core.list_namespaced_pod,
                task_selector(self._instance, tracked.attempt.task_id),
            )
        except KubernetesError as exc:
            log.warning("cannot list the pods of %s: %s", tracked.name, exc)
            pods = self._table.pods_of(tracked)
        pods.sort(key=lambda pod: pod.metadata.creation_timestamp or _EPOCH)
        return pods

    def _state(
        self, tracked: TrackedJob, status: ExecutorStatus, reason: str | None = None
    ) -> AttemptState:
        return make_state(tracked, status, reason, namespace=self._namespace)

    def _progress(self, state: AttemptState) -> None:
        """Reports a not-yet-final state, once, and never after the outcome."""
        with self._report_lock:
            if self._table.allow_progress(state):
                self._sink.state_changed(state)

    def _report(self, state: AttemptState) -> None:
        with self._report_lock:
            self._sink.state_changed(state)


def _image(attempt: Attempt) -> str:
    command = container_command(attempt)
    return image_reference(command.image, command.tag)
