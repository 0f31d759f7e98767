"""The domain: Sundial's wire models, their bounds and validation, cron, and time; no I/O.

Every other layer builds on these names; nothing here imports from another layer.
"""

from __future__ import annotations

from gnomon.domain import changes, naming
from gnomon.domain.clock import Clock, SystemClock
from gnomon.domain.cron import CronExpression, InvalidCronError
from gnomon.domain.dag import topological_order
from gnomon.domain.definitions import (
    NAME_PATTERN,
    BatchImageCommand,
    CronSchedule,
    DockerImageCommand,
    Email,
    EnvironmentSource,
    EnvironmentVariable,
    Notification,
    Pagerduty,
    ProcessDefinition,
    ProcessDefinitionSpec,
    ProcessSchedule,
    ShellScriptCommand,
    TaskDefinition,
    TaskExecutable,
    Webhook,
)
from gnomon.domain.durations import add_seconds, backoff_seconds, seconds_between
from gnomon.domain.enums import NotifyWhen, OverlapAction, ProcessStatus, TaskStatus
from gnomon.domain.ids import new_id
from gnomon.domain.limits import (
    MAX_ENTRIES_PER_CALLBACK,
    MAX_ENV_VALUE_CHARS,
    MAX_LOG_MESSAGE_CHARS,
)
from gnomon.domain.logtext import CUT_MARK, clean_message, decode_output, storable
from gnomon.domain.manifests import (
    MANIFEST_API_VERSION,
    MANIFEST_KIND,
    ManifestError,
    body_from_manifest,
    manifest_from_body,
)
from gnomon.domain.retention import AgeError, PruneCounts, RetentionRule, parse_age
from gnomon.domain.runs import ExecutionStateEntry, LogEntry, MetadataEntry, Process, Task
from gnomon.domain.stored import read_stored, share_field_sets
from gnomon.domain.summary import DID_NOT_RUN, task_summary
from gnomon.domain.times import as_utc, format_wire_time
from gnomon.domain.validation import (
    FieldProblem,
    check_definition,
    definition_problems,
    field_path,
    model_problems,
    parse_cron,
    problems_in,
    shell_problems,
)

__all__ = [
    "CUT_MARK",
    "DID_NOT_RUN",
    "MANIFEST_API_VERSION",
    "MANIFEST_KIND",
    "MAX_ENTRIES_PER_CALLBACK",
    "MAX_ENV_VALUE_CHARS",
    "MAX_LOG_MESSAGE_CHARS",
    "NAME_PATTERN",
    "AgeError",
    "BatchImageCommand",
    "Clock",
    "CronExpression",
    "CronSchedule",
    "DockerImageCommand",
    "Email",
    "EnvironmentSource",
    "EnvironmentVariable",
    "ExecutionStateEntry",
    "FieldProblem",
    "InvalidCronError",
    "LogEntry",
    "ManifestError",
    "MetadataEntry",
    "Notification",
    "NotifyWhen",
    "OverlapAction",
    "Pagerduty",
    "Process",
    "ProcessDefinition",
    "ProcessDefinitionSpec",
    "ProcessSchedule",
    "ProcessStatus",
    "PruneCounts",
    "RetentionRule",
    "ShellScriptCommand",
    "SystemClock",
    "Task",
    "TaskDefinition",
    "TaskExecutable",
    "TaskStatus",
    "Webhook",
    "add_seconds",
    "as_utc",
    "backoff_seconds",
    "body_from_manifest",
    "changes",
    "check_definition",
    "clean_message",
    "decode_output",
    "definition_problems",
    "field_path",
    "format_wire_time",
    "manifest_from_body",
    "model_problems",
    "naming",
    "new_id",
    "parse_age",
    "parse_cron",
    "problems_in",
    "read_stored",
    "seconds_between",
    "share_field_sets",
    "shell_problems",
    "storable",
    "task_summary",
    "topological_order",
]
