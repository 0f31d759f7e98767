"""Process definitions as they travel on the wire (Sundial's `process_definition` body).

The same models serve the REST API, the `ProcessDefinition` custom resource (whose spec is this body
minus the name) and the scheduler, so a definition means one thing whichever way it arrived.
Structure (types, enums, bounds, unions) is checked here by pydantic; rules that span fields
(dependency graph, cron validity) live in `validation.py`.

Every number, string and list has a maximum (shared ones in `limits.py`), stated in the OpenAPI
and CRD schemas, so nothing accepted here can overflow the scheduler's arithmetic or make its loops
unbounded. Types are strict, as in Sundial's schema: `true` is not a number, `3` is not a string.

Unions are Sundial's wrapper objects: `{"cron_schedule": {...}}`, exactly one member, never null.
Documented defaults are applied on input, unlike Sundial, which required every field.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Final
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from gnomon.domain import limits
from gnomon.domain.enums import NotifyWhen, NotifyWhenIn, OverlapAction, OverlapActionIn
from gnomon.domain.text import unstorable_text

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=NAME_PATTERN)]
ENV_NAME_PATTERN = r"^[^=\x00]+$"
"""What a process environment can hold as a name: no `=` and no NUL (`sundial.url` is fine)."""
NO_NUL_PATTERN = r"^[^\x00]*$"
ABSOLUTE_PATH_PATTERN = r"^/[^\x00]*$"
DNS_SUBDOMAIN_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
SECRET_KEY_PATTERN = r"^[-._a-zA-Z0-9]+$"

LABEL_CHARS: Final = 200
"""Characters of a short label: a person's name, a time zone, a queue, a service key."""
IMAGE_CHARS: Final = 1_024
TAG_CHARS: Final = 128  # Docker's own limit on a tag
ARN_CHARS: Final = 2_048  # AWS's limit on an ARN
EMAIL_CHARS: Final = 320
PATH_CHARS: Final = 4_096  # Linux's PATH_MAX

HTTP_URL_PATTERN: Final = r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#]+([/?#]\S*)?$"
"""An http or https URL with an authority and no white space; the host is checked apart."""


def _http_url(value: str) -> str:
    """`value` unchanged (GET returns what PUT sent) if it is an http(s) URL with a host."""
    if not re.match(HTTP_URL_PATTERN, value):
        raise ValueError(
            "must be an http:// or https:// URL with a host and no white space, "
            f"not {value[:100]!r}"
        )
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises ValueError on a port that is not a number in range)
    except ValueError as exc:
        raise ValueError(f"not a valid URL: {exc}") from None
    if not parts.hostname:
        raise ValueError(f"the URL {value[:100]!r} names no host")
    return value


HttpUrlStr = Annotated[
    str,
    Field(
        min_length=1,
        max_length=limits.MAX_URL_CHARS,
        json_schema_extra={"pattern": HTTP_URL_PATTERN},
    ),
    AfterValidator(_http_url),
]
"""A URL Gnomon posts to: http or https with a host (no file://, gopher://, relative URLs)."""


CronField = Annotated[str, Field(max_length=limits.MAX_CRON_FIELD_CHARS)]


_NO_TEXT: Final = (BaseModel, int, float, type(None))


class WireModel(BaseModel):
    """Base of every wire model.

    Unknown fields are an error (they are usually typos); the camelCase aliases Sundial used
    (`taskRoleArn`, `vCpus`) are accepted and emitted. Types are strict (no bool for a number, no
    number for a string); fields that must parse text (enums, UUIDs, times) opt out one by one.
    No string anywhere may hold a NUL byte or a lone surrogate: PostgreSQL cannot store the first
    and no encoding can write the second.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True, strict=True)

    @field_validator("*", mode="after")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        if isinstance(value, _NO_TEXT):
            return value  # a nested model checks its own fields; numbers hold no text
        problem = unstorable_text(value)
        if problem is not None:
            raise ValueError(problem)
        return value


_MEMBER_NAMES: dict[type, tuple[str, ...]] = {}


class WrapperUnion(WireModel):
    """A Sundial union: an object with exactly one key, the member's type name."""

    # The schema says "exactly one member" too, as the CRD's does.
    model_config = ConfigDict(json_schema_extra={"minProperties": 1, "maxProperties": 1})
    union_name: ClassVar[str] = "union"

    @classmethod
    def member_names(cls) -> tuple[str, ...]:
        """The members' type names, in declaration order."""
        # Cached per class: pydantic's `model_fields` costs about a millisecond per access, which
        # made validating a 1,000-task definition take a second (issue 9, defect 8).
        names = _MEMBER_NAMES.get(cls)
        if names is None:
            names = _MEMBER_NAMES[cls] = tuple(cls.model_fields)
        return names

    @model_validator(mode="before")
    @classmethod
    def _exactly_one_member(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        members = cls.member_names()
        unknown = [key for key in data if key not in members]
        if unknown:
            raise ValueError(
                f"unknown {cls.union_name} type {unknown[0]!r}; "
                f"expected one of: {', '.join(members)}"
            )
        if len(data) != 1:
            raise ValueError(
                f"a {cls.union_name} must have exactly one of: {', '.join(members)} "
                f"(got {len(data)})"
            )
        return data

    @field_validator("*", mode="before")
    @classmethod
    def _member_not_null(cls, value: Any, info: ValidationInfo) -> Any:
        # A null member would otherwise count as the one member and leave the union empty.
        if value is None:
            raise ValueError(
                f"the {cls.union_name} member {info.field_name} is null; give it an object"
            )
        return value

    @property
    def kind(self) -> str:
        """The member's type name, e.g. `cron_schedule`."""
        return next(name for name in self.member_names() if getattr(self, name) is not None)

    @property
    def member(self) -> WireModel:
        value: WireModel = getattr(self, self.kind)
        return value


class CronSchedule(WireModel):
    """Quartz-style fields (seconds fixed at 0, no year), plus Gnomon's extensions."""

    minutes: CronField
    hours: CronField
    day_of_month: CronField
    month: CronField
    day_of_week: CronField
    time_zone: str = Field(
        default="UTC",
        max_length=LABEL_CHARS,
        description="IANA time zone (extension; default UTC)",
    )
    starting_deadline_seconds: int | None = Field(
        default=None,
        ge=0,
        le=limits.MAX_SECONDS,
        description="Extension: a missed run older than this after downtime is skipped and logged",
    )


class ContinuousSchedule(WireModel):
    buffer_seconds: int = Field(
        default=0,
        ge=0,
        le=limits.MAX_SECONDS,
        description="Minimum time between the starts of two runs",
    )


class ProcessSchedule(WrapperUnion):
    union_name: ClassVar[str] = "schedule"
    cron_schedule: CronSchedule | None = None
    continuous_schedule: ContinuousSchedule | None = None


class EnvironmentVariable(WireModel):
    """One variable of a job's environment: a `value` written in the definition, or a
    `value_from` reference to a secret that is read only when an attempt starts.

    Names and values that no process environment can hold (a name with `=`, a NUL byte
    anywhere) are refused here, so they never reach an executor. Names are otherwise free:
    Sundial's own `sundial.url` is a valid name.
    """

    variable_name: str = Field(
        min_length=1, max_length=limits.MAX_ENV_NAME_CHARS, pattern=ENV_NAME_PATTERN
    )
    value: str | None = Field(
        default=None,
        max_length=limits.MAX_ENV_VALUE_CHARS,
        pattern=NO_NUL_PATTERN,
        description="The value; exactly one of value and value_from",
    )
    value_from: EnvironmentSource | None = Field(
        default=None,
        description="Extension: where the value is read when an attempt starts (a secret); "
        "shown as this reference, never as the value",
    )

    @model_validator(mode="after")
    def _value_or_value_from(self) -> EnvironmentVariable:
        if (self.value is None) == (self.value_from is None):
            raise ValueError("an environment variable needs exactly one of value and value_from")
        return self


class SecretKeyRef(WireModel):
    """A key of a Kubernetes Secret in the jobs' namespace (Kubernetes executor only)."""

    name: str = Field(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN_PATTERN)
    key: str = Field(min_length=1, max_length=253, pattern=SECRET_KEY_PATTERN)


class EnvironmentSource(WrapperUnion):
    """Where a secret value comes from: a file or an environment variable of Gnomon's host
    (Docker and shell executors), or a Kubernetes Secret (Kubernetes executor)."""

    union_name: ClassVar[str] = "value_from"
    file: str | None = Field(
        default=None,
        min_length=2,
        max_length=limits.MAX_PATH_CHARS,
        pattern=ABSOLUTE_PATH_PATTERN,
        description="An absolute path on Gnomon's host; its content, without one final newline",
    )
    host_env: str | None = Field(
        default=None,
        min_length=1,
        max_length=limits.MAX_ENV_NAME_CHARS,
        pattern=ENV_NAME_PATTERN,
        description="A variable of Gnomon's own environment",
    )
    secret_key_ref: SecretKeyRef | None = None

    @model_validator(mode="after")
    def _member_is_set(self) -> EnvironmentSource:
        if sum(getattr(self, name) is not None for name in type(self).model_fields) != 1:
            raise ValueError("value_from must have exactly one of: file, host_env, secret_key_ref")
        return self


Command = Annotated[
    list[Annotated[str, Field(max_length=limits.MAX_TEXT_CHARS)]],
    Field(max_length=limits.MAX_COMMAND_ITEMS),
]
Environment = Annotated[
    list[EnvironmentVariable], Field(max_length=limits.MAX_ENVIRONMENT_VARIABLES)
]


MOUNT_TOKEN_DESCRIPTION: Final = (
    "Extension: mount the Kubernetes service account token into the job pod "
    "(automountServiceAccountToken), for a task that calls the Kubernetes API. Absent or false: "
    "no token. The Docker and shell executors ignore it."
)


class DockerImageCommand(WireModel):
    """A container on the configured container backend (Sundial's ECS command)."""

    image: str = Field(min_length=1, max_length=IMAGE_CHARS)
    tag: str = Field(default="latest", min_length=1, max_length=TAG_CHARS)
    command: Command
    memory: int | None = Field(
        default=None, ge=1, le=limits.MAX_MEMORY_MB, description="Hard memory limit in MB"
    )
    cpu: int | None = Field(
        default=None,
        ge=1,
        le=limits.MAX_CPUS * 1024,
        description="CPU limit in ECS units (1024 = 1 CPU)",
    )
    task_role_arn: str | None = Field(default=None, alias="taskRoleArn", max_length=ARN_CHARS)
    log_paths: list[Annotated[str, Field(max_length=PATH_CHARS)]] = Field(
        default_factory=list, max_length=limits.MAX_LOG_PATHS
    )
    environment_variables: Environment = Field(default_factory=list)
    mount_service_account_token: bool | None = Field(
        default=None, description=MOUNT_TOKEN_DESCRIPTION
    )


class BatchImageCommand(WireModel):
    """A container on the configured container backend (Sundial's AWS Batch command)."""

    image: str = Field(min_length=1, max_length=IMAGE_CHARS)
    tag: str = Field(default="latest", min_length=1, max_length=TAG_CHARS)
    command: Command
    memory: int = Field(ge=1, le=limits.MAX_MEMORY_MB, description="Hard memory limit in MB")
    v_cpus: int = Field(
        ge=1, le=limits.MAX_CPUS, alias="vCpus", description="CPU limit in whole CPUs"
    )
    job_role_arn: str | None = Field(default=None, max_length=ARN_CHARS)
    environment_variables: Environment = Field(default_factory=list)
    job_queue: str | None = Field(default=None, max_length=LABEL_CHARS)
    mount_service_account_token: bool | None = Field(
        default=None, description=MOUNT_TOKEN_DESCRIPTION
    )


class ShellScriptCommand(WireModel):
    """A bash script on the Gnomon host; off unless GNOMON_ALLOW_SHELL=true."""

    script: str = Field(max_length=limits.MAX_SCRIPT_CHARS)
    environment_variables: Environment | None = None


class TaskExecutable(WrapperUnion):
    union_name: ClassVar[str] = "executable"
    docker_image_command: DockerImageCommand | None = None
    shell_script_command: ShellScriptCommand | None = None
    batch_image_command: BatchImageCommand | None = None


class TaskDependency(WireModel):
    task_definition_name: Name
    success_required: bool = True


class TaskDefinition(WireModel):
    task_definition_name: Name
    dependencies: list[TaskDependency] = Field(
        default_factory=list, max_length=limits.MAX_DEPENDENCIES_PER_TASK
    )
    executable: TaskExecutable
    max_attempts: int = Field(
        default=1,
        ge=1,  # with none, a run would "succeed" without running anything
        le=limits.MAX_ATTEMPTS,
        description="Attempts in all, the first included",
    )
    max_runtime_seconds: int | None = Field(default=None, ge=1, le=limits.MAX_SECONDS)
    backoff_base_seconds: int = Field(default=0, ge=0, le=limits.MAX_SECONDS)
    backoff_exponent: float = Field(
        default=1.0, ge=0, le=limits.MAX_BACKOFF_EXPONENT, allow_inf_nan=False
    )
    require_explicit_success: bool = False


class Email(WireModel):
    name: str = Field(max_length=LABEL_CHARS)
    email: str = Field(min_length=3, max_length=EMAIL_CHARS)
    notify_when: NotifyWhenIn = Field(default=NotifyWhen.ON_STATE_CHANGE_AND_FAILURES, strict=False)


class Pagerduty(WireModel):
    service_key: str = Field(min_length=1, max_length=LABEL_CHARS)
    num_consecutive_failures: int = Field(default=1, ge=1, le=limits.MAX_CONSECUTIVE_FAILURES)
    api_url: HttpUrlStr = "https://events.pagerduty.com"


class Webhook(WireModel):
    """Extension: a JSON POST describing each finished run."""

    url: HttpUrlStr
    notify_when: NotifyWhenIn = Field(default=NotifyWhen.ON_STATE_CHANGE_AND_FAILURES, strict=False)


class Notification(WrapperUnion):
    union_name: ClassVar[str] = "notification"
    email: Email | None = None
    pagerduty: Pagerduty | None = None
    webhook: Webhook | None = None

    @model_validator(mode="before")
    @classmethod
    def _accept_flat_email(cls, data: Any) -> Any:
        """Sundial's own docs show `{"name", "email": "<address>", "notify_when"}` unwrapped."""
        if isinstance(data, dict) and isinstance(data.get("email"), str):
            return {"email": data}
        return data


class ProcessDefinitionSpec(WireModel):
    """A process definition without its name: the spec of a `ProcessDefinition` resource."""

    paused: bool = False
    process_description: str | None = Field(default=None, max_length=limits.MAX_TEXT_CHARS)
    schedule: ProcessSchedule | None = None
    task_definitions: list[TaskDefinition] = Field(max_length=limits.MAX_TASKS_PER_DEFINITION)
    overlap_action: OverlapActionIn = Field(default=OverlapAction.WAIT, strict=False)
    notifications: list[Notification] | None = Field(
        default=None, max_length=limits.MAX_NOTIFICATIONS
    )


class ProcessDefinition(ProcessDefinitionSpec):
    """Sundial's `process_definition`."""

    process_definition_name: Name
    scheduling_error: str | None = Field(
        default=None,
        description="Extension, read-only: why the scheduler cannot schedule this definition "
        "(omitted when none; cleared by the next edit). Ignored on input.",
        json_schema_extra={"readOnly": True},
    )

    def to_wire(self) -> dict[str, Any]:
        """The JSON body Sundial clients expect: optional fields and empty notifications omitted."""
        body = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        if not body.get("notifications"):
            body.pop("notifications", None)
        return body
