"""Helpers for the Kubernetes runner tests: attempts to run, a sink that records what it is told,
and the parts of a cluster the test API server lacks.

There is no Job controller and no kubelet: `Cluster` creates the pod a Job would get and writes
Job and Pod status through the status subresource, and `FakeKubelet` is a small HTTPS server that
answers the API server's `containerLogs` requests, so pod logs travel the real path
(client -> API server -> kubelet).
"""

from __future__ import annotations

import ssl
import threading
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from kubernetes import client

from gnomon.domain.definitions import (
    DockerImageCommand,
    EnvironmentVariable,
    ShellScriptCommand,
    TaskExecutable,
)
from gnomon.domain.enums import TaskStatus
from gnomon.runner.base import Attempt, AttemptState, ExecutorStatus, OutputLine
from tests.waiting import wait_for as wait_for  # re-exported for the tests here


def make_attempt(
    *,
    task: str = "extract",
    definition: str = "Nightly_ETL",
    image: str = "busybox",
    tag: str = "1.36",
    command: Sequence[str] = ("sh", "-c", "echo hi"),
    environment: dict[str, str] | None = None,
    max_runtime_seconds: int | None = None,
    memory: int | None = None,
    cpu: int | None = None,
    previous_attempts: int = 0,
    mount_service_account_token: bool | None = None,
) -> Attempt:
    variables = [
        EnvironmentVariable(variable_name=name, value=value)
        for name, value in (environment or {}).items()
    ]
    executable = TaskExecutable(
        docker_image_command=DockerImageCommand(
            image=image,
            tag=tag,
            command=list(command),
            memory=memory,
            cpu=cpu,
            environment_variables=variables,
            mount_service_account_token=mount_service_account_token,
        )
    )
    return Attempt(
        task_id=str(uuid.uuid4()),
        process_id=str(uuid.uuid4()),
        process_definition_name=definition,
        task_definition_name=task,
        previous_attempts=previous_attempts,
        executable=executable,
        token=f"secret-token-{uuid.uuid4().hex}",
        max_runtime_seconds=max_runtime_seconds,
    )


def make_shell_attempt() -> Attempt:
    executable = TaskExecutable(shell_script_command=ShellScriptCommand(script="echo hi"))
    return Attempt(str(uuid.uuid4()), str(uuid.uuid4()), "p", "t", 0, executable, "token")


class RecordingSink:
    """An `AttemptSink` that keeps every call, in order, and lets tests wait for one."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, Any]] = []
        self._lock = threading.Lock()

    def state_changed(self, state: AttemptState) -> None:
        with self._lock:
            self.events.append(("state", state.task_id, state))

    def output(self, task_id: str, lines: Sequence[OutputLine]) -> None:
        with self._lock:
            self.events.append(("output", task_id, list(lines)))

    def metadata(self, task_id: str, when: datetime, key: str, value: str) -> None:
        with self._lock:
            self.events.append(("metadata", task_id, (when, key, value)))

    def reported(self, task_id: str, status: TaskStatus, reason: str | None) -> None:
        with self._lock:
            self.events.append(("reported", task_id, (status, reason)))

    def of(self, task_id: str) -> list[tuple[str, Any]]:
        with self._lock:
            return [(kind, value) for kind, task, value in self.events if task == task_id]

    def states(self, task_id: str) -> list[AttemptState]:
        return [value for kind, value in self.of(task_id) if kind == "state"]

    def lines(self, task_id: str) -> list[OutputLine]:
        return [line for kind, value in self.of(task_id) if kind == "output" for line in value]

    def wait_for_state(
        self, task_id: str, status: ExecutorStatus, timeout: float = 15
    ) -> AttemptState:
        def found() -> AttemptState | None:
            return next((s for s in self.states(task_id) if s.status is status), None)

        return wait_for(found, what=f"{status} for task {task_id}", timeout=timeout)

    def wait_finished(self, task_id: str, timeout: float = 15) -> AttemptState:
        def found() -> AttemptState | None:
            return next((s for s in self.states(task_id) if s.status.finished), None)

        return wait_for(found, what=f"an outcome for task {task_id}", timeout=timeout)


class Cluster:
    """Jobs, pods and Secrets of one namespace, with the controller's and kubelet's writes."""

    def __init__(self, api: client.ApiClient, namespace: str) -> None:
        # Typed Any: the tests send plain dicts, not the client's model classes.
        self.api: Any = api
        self.namespace = namespace
        self.core: Any = client.CoreV1Api(api)
        self.batch: Any = client.BatchV1Api(api)

    def job(self, name: str) -> Any:
        """The Job, or None when it does not exist (or is being deleted)."""
        try:
            job = self.batch.read_namespaced_job(name, self.namespace)
        except client.ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return None if job.metadata.deletion_timestamp else job

    def secret(self, name: str) -> Any:
        try:
            return self.core.read_namespaced_secret(name, self.namespace)
        except client.ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def create_job(self, manifest: dict[str, Any]) -> Any:
        return self.batch.create_namespaced_job(self.namespace, manifest)

    def add_pod(self, job_name: str, *, node: str | None = None) -> str:
        """Create the pod the Job controller would: the template's metadata and spec."""
        template = self.api.sanitize_for_serialization(self.job(job_name).spec.template)
        name = f"{job_name}-{uuid.uuid4().hex[:5]}"
        spec = dict(template["spec"])
        if node is not None:
            spec["nodeName"] = node
        metadata = {**template["metadata"], "name": name}
        self.core.create_namespaced_pod(self.namespace, {"metadata": metadata, "spec": spec})
        return name

    def set_container(self, pod: str, phase: str, state: dict[str, Any]) -> None:
        """Write the pod's phase and its container's state, as a kubelet would."""
        container = {
            "name": "task",
            "image": "busybox:1.36",
            "imageID": "",
            "ready": "running" in state,
            "restartCount": 0,
            "state": state,
        }
        status = {"phase": phase, "containerStatuses": [container]}
        self.core.patch_namespaced_pod_status(pod, self.namespace, {"status": status})

    def set_terminated(self, pod: str, exit_code: int, reason: str = "Error") -> None:
        now = _stamp()
        terminated = {"exitCode": exit_code, "reason": reason, "startedAt": now, "finishedAt": now}
        phase = "Succeeded" if exit_code == 0 else "Failed"
        self.set_container(pod, phase, {"terminated": terminated})

    def set_condition(
        self, job_name: str, kind: str, reason: str | None = None, *, at: datetime | None = None
    ) -> None:
        """Give the Job a terminal condition, as the Job controller would (`at`: when it became
        true; default now)."""
        condition = {"type": kind, "status": "True", "lastTransitionTime": _stamp(at)}
        if reason is not None:
            condition.update(reason=reason, message=f"{reason} (written by the test)")
        status = {"conditions": [condition], "startTime": _stamp()}
        self.batch.patch_namespaced_job_status(job_name, self.namespace, {"status": status})


def _stamp(at: datetime | None = None) -> str:
    return (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeKubelet:
    """An HTTPS server on 127.0.0.1 serving `/containerLogs/<ns>/<pod>/<container>`, registered
    as Node `node` so the API server forwards pod log requests to it."""

    def __init__(self, cert: Path, key: str | Path) -> None:
        self.logs: dict[tuple[str, str], list[str]] = {}
        self.node = f"kubelet-{uuid.uuid4().hex[:8]}"
        logs = self.logs

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = self.path.split("?", 1)[0].split("/")
                lines = logs.get((parts[2], parts[3])) if len(parts) >= 5 else None
                if lines is None:
                    self.send_error(404)
                    return
                body = "".join(line + "\n" for line in lines).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                return None

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def register(self, core: Any) -> None:
        self._thread.start()
        core.create_node({"metadata": {"name": self.node}})
        status = {
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": self.port}},
        }
        core.patch_node_status(self.node, {"status": status})

    def close(self, core: Any) -> None:
        core.delete_node(self.node)
        self._server.shutdown()
        self._server.server_close()
