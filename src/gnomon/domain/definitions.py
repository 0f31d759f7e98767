"""Process definitions as they travel on the wire (Sundial's `process_definition` body).

The same models serve the REST API, the `ProcessDefinition` custom resource (whose spec is this body
minus the name) and the scheduler, so a definition means one thing whichever way it arrived.
Structure (types, enums, minimums, unions) is checked here by pydantic; rules that span fields
(dependency graph, cron validity) live in `validation.py`.

Unions are Sundial's wrapper objects: `{"cron_schedule": {...}}`, exactly one member.
Documented defaults are applied on input, unlike Sundial, which required every field.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gnomon.domain.enums import NotifyWhen, NotifyWhenIn, OverlapAction, OverlapActionIn

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=NAME_PATTERN)]


class WireModel(BaseModel):
    """Base of every wire model: unknown fields are an error (they are usually typos), and the
    camelCase aliases Sundial used (`taskRoleArn`, `vCpus`) are accepted and emitted."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class WrapperUnion(WireModel):
    """A Sundial union: an object with exactly one key, the member's type name."""

    union_name: ClassVar[str] = "union"

    @model_validator(mode="before")
    @classmethod
    def _exactly_one_member(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        members = list(cls.model_fields)
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

    @property
    def kind(self) -> str:
        """The member's type name, e.g. `cron_schedule`."""
        return next(name for name in type(self).model_fields if getattr(self, name) is not None)

    @property
    def member(self) -> WireModel:
        value: WireModel = getattr(self, self.kind)
        return value


class CronSchedule(WireModel):
    """Quartz-style fields (seconds fixed at 0, no year), plus Gnomon's extensions."""

    minutes: str
    hours: str
    day_of_month: str
    month: str
    day_of_week: str
    time_zone: str = Field(default="UTC", description="IANA time zone (extension; default UTC)")
    starting_deadline_seconds: int | None = Field(
        default=None,
        ge=0,
        description="Extension: a missed run older than this after downtime is skipped and logged",
    )


class ContinuousSchedule(WireModel):
    buffer_seconds: int = Field(
        default=0, ge=0, description="Minimum time between the starts of two runs"
    )


class ProcessSchedule(WrapperUnion):
    union_name: ClassVar[str] = "schedule"
    cron_schedule: CronSchedule | None = None
    continuous_schedule: ContinuousSchedule | None = None


class EnvironmentVariable(WireModel):
    variable_name: str = Field(min_length=1)
    value: str


class DockerImageCommand(WireModel):
    """A container on the configured container backend (Sundial's ECS command)."""

    image: str = Field(min_length=1)
    tag: str = Field(default="latest", min_length=1)
    command: list[str]
    memory: int | None = Field(default=None, ge=1, description="Hard memory limit in MB")
    cpu: int | None = Field(default=None, ge=1, description="CPU limit in ECS units (1024 = 1 CPU)")
    task_role_arn: str | None = Field(default=None, alias="taskRoleArn")
    log_paths: list[str] = Field(default_factory=list)
    environment_variables: list[EnvironmentVariable] = Field(default_factory=list)


class BatchImageCommand(WireModel):
    """A container on the configured container backend (Sundial's AWS Batch command)."""

    image: str = Field(min_length=1)
    tag: str = Field(default="latest", min_length=1)
    command: list[str]
    memory: int = Field(ge=1, description="Hard memory limit in MB")
    v_cpus: int = Field(ge=1, alias="vCpus", description="CPU limit in whole CPUs")
    job_role_arn: str | None = None
    environment_variables: list[EnvironmentVariable] = Field(default_factory=list)
    job_queue: str | None = None


class ShellScriptCommand(WireModel):
    """A bash script on the Gnomon host; off unless GNOMON_ALLOW_SHELL=true."""

    script: str
    environment_variables: list[EnvironmentVariable] | None = None


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
    dependencies: list[TaskDependency] = Field(default_factory=list)
    executable: TaskExecutable
    max_attempts: int = Field(default=1, ge=0, description="Attempts in all, the first included")
    max_runtime_seconds: int | None = Field(default=None, ge=1)
    backoff_base_seconds: int = Field(default=0, ge=0)
    backoff_exponent: float = Field(default=1.0, ge=0)
    require_explicit_success: bool = False


class Email(WireModel):
    name: str
    email: str = Field(min_length=3)
    notify_when: NotifyWhenIn = NotifyWhen.ON_STATE_CHANGE_AND_FAILURES


class Pagerduty(WireModel):
    service_key: str = Field(min_length=1)
    num_consecutive_failures: int = Field(default=1, ge=1)
    api_url: str = "https://events.pagerduty.com"


class Webhook(WireModel):
    """Extension: a JSON POST describing each finished run."""

    url: str = Field(min_length=1)
    notify_when: NotifyWhenIn = NotifyWhen.ON_STATE_CHANGE_AND_FAILURES


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
    process_description: str | None = None
    schedule: ProcessSchedule | None = None
    task_definitions: list[TaskDefinition]
    overlap_action: OverlapActionIn = OverlapAction.WAIT
    notifications: list[Notification] | None = None


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
