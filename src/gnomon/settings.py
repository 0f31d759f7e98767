"""Settings, read from the environment with the prefix `GNOMON_` (pydantic-settings).

Every field has a default that works on one machine: `gnomon serve` with no environment at all
keeps its state in `./gnomon.db` and runs jobs on the local Docker engine. Core code never reads
this module's globals; entry points build a `Settings` and pass values down.
"""

from __future__ import annotations

import os
from enum import StrEnum
from typing import Annotated, Any, Final

from pydantic import BeforeValidator, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gnomon.domain import limits
from gnomon.errors import SettingsError


class ExecutorName(StrEnum):
    DOCKER = "docker"
    KUBERNETES = "kubernetes"
    FAKE = "fake"


class PullPolicy(StrEnum):
    IF_NOT_PRESENT = "if-not-present"
    ALWAYS = "always"
    NEVER = "never"


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Kubernetes' own name rules (a namespace is a DNS label, a service account a DNS subdomain), so a
# bad name is refused at start-up, not by the API server on every Job; and its int32 fields' limit.
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
INT32_MAX = 2**31 - 1

KUBERNETES_NEEDS_PUBLIC_URL = (
    "required with GNOMON_EXECUTOR=kubernetes: the URL job pods call Gnomon back at, "
    "such as http://gnomon-api.NAMESPACE.svc (the Helm chart sets it)"
)


MAX_RUNNING_TASKS_BOUND: Final = 10_000
"""The largest `GNOMON_MAX_RUNNING_TASKS` accepted, and the cap of its default."""
RUNNING_TASKS_PER_CPU: Final = 4


def _empty_is_unset(value: Any) -> Any:
    # `GNOMON_MAX_RUNNING_TASKS=` (as a chart or compose file writes an unset value) means the
    # default, not an invalid integer.
    return None if isinstance(value, str) and not value.strip() else value


class Settings(BaseSettings):
    """All of Gnomon's settings; the README's table is generated from these docstrings."""

    model_config = SettingsConfigDict(
        env_prefix="GNOMON_", extra="ignore", use_attribute_docstrings=True
    )

    database_url: str = "sqlite:///gnomon.db"
    """SQLAlchemy URL of the store: a SQLite file, or `postgresql+psycopg://...`."""

    host: str = "127.0.0.1"
    """Address the API listens on; `gnomon scheduler` and `gnomon operator` serve their health
    and metrics there too, on GNOMON_METRICS_PORT."""

    port: int = Field(default=8080, ge=1, le=65535)
    """Port the API listens on (`gnomon api`, and `gnomon serve`, which serves its health and
    metrics there too)."""

    metrics_port: int = Field(default=9090, ge=1, le=65535)
    """Port on which `gnomon scheduler` and `gnomon operator` serve `/_internal_/metrics` and their
    health (`/_internal_/livez`, `/_internal_/readyz`): a port of their own, so that they and
    `gnomon api` can run on one host with one environment."""

    public_url: str | None = None
    """URL jobs call back to, and where links in notifications point (`URL/processes/ID`).
    Default: `http://host.docker.internal:PORT` for Docker containers, `http://127.0.0.1:PORT` for
    shell scripts and links. Required with the kubernetes executor (the Helm chart sets it to its
    api Service)."""

    executor: ExecutorName = ExecutorName.DOCKER
    """Backend for `docker_image_command` and `batch_image_command`: docker, kubernetes or fake."""

    allow_shell: bool = False
    """Run `shell_script_command` tasks on this host. Off by default: they run as Gnomon's user."""

    api_token: SecretStr | None = None
    """When set, mutating endpoints need `Authorization: Bearer <token>`."""

    docker_network: str | None = None
    """Docker network for job containers; default is the bridge network."""

    pull_policy: PullPolicy = PullPolicy.IF_NOT_PRESENT
    """When to pull a job's image: if-not-present, always or never."""

    keep_containers: bool = False
    """Keep finished job containers instead of removing them after their logs are collected."""

    kill_grace_seconds: float = Field(default=10.0, ge=0)
    """Time between SIGTERM and SIGKILL when a job is killed or times out."""

    max_log_lines_per_task: int = Field(default=10_000, ge=1)
    """Container output lines kept per task; older lines are dropped and counted."""

    kubernetes_namespace: str = Field(default="default", pattern=DNS_LABEL, max_length=63)
    """Namespace of the Kubernetes Jobs (and their token Secrets) that run tasks."""

    kubernetes_service_account: Annotated[str | None, BeforeValidator(_empty_is_unset)] = Field(
        default=None, pattern=DNS_SUBDOMAIN, max_length=253
    )
    """Service account of job pods; default: the namespace's `default` account. Its token is mounted
    only when a task's command sets `mount_service_account_token`."""

    kubernetes_job_ttl_seconds: int = Field(default=3600, ge=0, le=INT32_MAX)
    """How long a finished job Job and its pod are kept: its `ttlSecondsAfterFinished`, and where
    the API server ignores that field (Kubernetes 1.20), the executor deletes the Job itself."""

    kubernetes_image_pull_timeout_seconds: float = Field(default=120.0, gt=0)
    """How long a job pod may fail to pull its image before the task fails and the Job is
    deleted."""

    kubernetes_unschedulable_timeout_seconds: float = Field(default=600.0, gt=0)
    """How long a job pod may stay unschedulable before the task fails and the Job is deleted."""

    scheduler_lease_seconds: float = Field(default=15.0, gt=0)
    """How long the active scheduler's lease lasts; a standby takes over after it expires."""

    scheduler_max_sleep_seconds: float = Field(default=5.0, gt=0)
    """Longest the scheduler sleeps without an event (fallback poll across processes)."""

    # -- how much runs at once (issue 13, part 3) --------------------------------------------

    max_running_tasks: Annotated[int | None, BeforeValidator(_empty_is_unset)] = Field(
        default=None, ge=0, le=MAX_RUNNING_TASKS_BOUND
    )
    """At most this many tasks run at once (0 to 10,000); a task ready beyond it waits for a
    slot, oldest run first. Unset, empty or 0: no limit with the kubernetes executor (the
    cluster queues pods), else 4 per CPU of this host."""

    operator_namespaces: list[str] = Field(default_factory=list)
    """Namespaces whose ProcessDefinition resources the operator serves, as a JSON list
    (`["team-a","team-b"]`); empty: every namespace."""

    operator_peering: str = ""
    """kopf peering object shared by operator replicas (a ClusterKopfPeering, or a KopfPeering in
    each served namespace); only one replica works at a time. Empty: standalone, one replica."""

    operator_status_interval_seconds: float = Field(default=10.0, gt=0)
    """How often the operator copies each resource's stored state (paused flag, last and next
    run) into status."""

    api_workers: int = Field(default=1, ge=1, le=64)
    """Worker processes of `gnomon api`; metrics are then gathered across them (Prometheus
    multiprocess mode)."""

    log_level: str = "INFO"
    """Level of Gnomon's own logs."""

    log_format: LogFormat = LogFormat.TEXT
    """`text` or `json` (one object per line)."""

    smtp_host: str = "localhost"
    """SMTP server that sends notification emails."""

    smtp_port: int = Field(default=25, ge=1, le=65535)
    """Port of the SMTP server."""

    smtp_tls: str = Field(default="none", pattern="^(none|starttls|ssl)$")
    """Transport security to the SMTP server: none, starttls or ssl (implicit TLS)."""

    smtp_username: SecretStr | None = None
    """SMTP login user; no login when unset."""

    smtp_password: SecretStr | None = None
    """SMTP login password."""

    smtp_from: str = "gnomon@localhost"
    """Sender (`From:`) of notification emails."""

    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    """Timeout of each SMTP connection and command."""

    notification_timeout_seconds: float = Field(default=10.0, gt=0)
    """Timeout of each webhook or PagerDuty request."""

    notification_attempts: int = Field(default=5, ge=1)
    """Attempts per notification delivery, the first included, before giving up."""

    notification_backoff_seconds: float = Field(default=2.0, ge=0)
    """Wait before the first retry of a failed delivery; doubles on each further retry."""

    notification_backoff_max_seconds: float = Field(default=60.0, ge=0)
    """Longest wait between two attempts of a delivery."""

    instance: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$"
    )
    """This Gnomon's name on a shared Docker engine or Kubernetes cluster, a label on each of its
    containers and Jobs: it adopts and cleans up only its own. Default: an id its store gets at
    first start, so Gnomons with separate stores never touch each other's jobs. Set it to
    `default` to keep adopting Kubernetes Jobs started by a Gnomon older than this setting."""

    database_connect_timeout_seconds: float = Field(default=5.0, gt=0, le=3600)
    """Longest wait to open a connection to the store (PostgreSQL; at least 2 s there)."""

    database_statement_timeout_seconds: float = Field(default=10.0, gt=0, le=3600)
    """Longest a store statement may run (PostgreSQL `statement_timeout`; a silent connection is
    given up one second later); on SQLite, how long a write waits for the lock. Migrations are
    not limited."""

    database_pool_timeout_seconds: float = Field(default=10.0, gt=0, le=3600)
    """Longest a request waits for a free store connection when all are in use."""

    require_token_for_reads: bool = False
    """Reads under `/api` need `GNOMON_API_TOKEN` too (off by default: Sundial's clients send no
    token). The healthcheck and metrics stay open."""

    max_request_bytes: int = Field(default=limits.DEFAULT_MAX_REQUEST_BYTES, ge=1, le=2**30)
    """Largest request body the API accepts, in bytes (at most 1 GiB); a larger one is answered
    413 without being read."""

    task_token_grace_seconds: float = Field(default=300.0, ge=0, le=limits.MAX_SECONDS)
    """How long after a task ended its own `GNOMON_TASK_TOKEN` still works for callbacks (late
    log lines); after that only the API token does."""

    # -- retention (bounded history) -------------------------------------------------------------

    retention_days: int = Field(default=90, ge=0, le=36_500)
    """Days a finished run (its tasks, log lines and metadata) is kept before the scheduler
    removes it; 0 keeps every run forever."""

    retention_keep_runs: int = Field(default=100, ge=0, le=1_000_000)
    """Newest runs of each definition kept whatever their age."""

    retention_batch_runs: int = Field(default=200, ge=1, le=10_000)
    """Runs removed per store transaction; a short pause separates two batches."""

    retention_interval_seconds: float = Field(default=600.0, ge=1, le=limits.MAX_SECONDS)
    """How often the scheduler looks for runs past the retention period."""

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        # A level `logging` does not know would end start-up in a traceback, not a message.
        if value.upper() not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)} (any case)")
        return value

    @model_validator(mode="after")
    def _check_read_token(self) -> Settings:
        # Asking for closed reads without a token to close them with would leave them open.
        if self.require_token_for_reads and self.api_token is None:
            raise ValueError("GNOMON_REQUIRE_TOKEN_FOR_READS needs GNOMON_API_TOKEN")
        return self

    def check_executor(self) -> None:
        """Raise `SettingsError` if the executor cannot give its jobs a URL that reaches Gnomon:
        commands that run jobs (`serve`, `scheduler`) call this before they start anything."""
        if self.executor == ExecutorName.KUBERNETES:
            self.pod_callback_url()

    def running_task_limit(self) -> int | None:
        """The limit `GNOMON_MAX_RUNNING_TASKS` sets, or its default for the executor; None for
        no limit."""
        if self.max_running_tasks:
            return self.max_running_tasks
        if self.executor == ExecutorName.KUBERNETES:
            return None
        return min(MAX_RUNNING_TASKS_BOUND, RUNNING_TASKS_PER_CPU * _cpus())

    def callback_url(self, *, for_container: bool) -> str:
        """The URL a job on this host (a Docker container or a shell script) uses to reach the
        API."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "host.docker.internal" if for_container else "127.0.0.1"
        return f"http://{host}:{self.port}"

    def pod_callback_url(self) -> str:
        """The URL a Kubernetes pod uses to reach the API: GNOMON_PUBLIC_URL, else
        `SettingsError`. host.docker.internal names nothing inside a cluster, so a default would
        fail each task's callbacks long after start-up instead of failing the start."""
        if not self.public_url:
            raise SettingsError("GNOMON_PUBLIC_URL", KUBERNETES_NEEDS_PUBLIC_URL)
        return self.public_url.rstrip("/")

    def site_url(self) -> str:
        """Where people reach Gnomon's pages: links to a run in notifications start with it."""
        return self.callback_url(for_container=False)


def _cpus() -> int:
    """CPUs this process may use (its affinity, which a container's cpuset narrows)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def settings_table() -> str:
    """The README's settings table, generated from the field docstrings."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for name, info in Settings.model_fields.items():
        default = info.get_default(call_default_factory=True)
        shown = "(none)" if default is None or default == [] else f"`{_plain(default)}`"
        meaning = " ".join((info.description or "").split())
        lines.append(f"| `GNOMON_{name.upper()}` | {shown} | {meaning} |")
    return "\n".join(lines)


def _plain(value: object) -> object:
    return value.value if isinstance(value, StrEnum) else value
