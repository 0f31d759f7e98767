"""Upper bounds on what arrives from outside: bodies, definitions, callbacks, job output.

Every number a user can send has a maximum, stated here once and carried into the OpenAPI and CRD
schemas, so one accepted definition can never make the scheduler's arithmetic overflow or its
loops run unbounded. The values are generous for real work and small enough to keep one request,
one definition and one job's output cheap to store and to list.
"""

from __future__ import annotations

from typing import Final

MAX_SECONDS: Final = 366 * 24 * 3600
"""Longest duration any field may state (a runtime, a buffer, a deadline, a backoff): a year.
A longer one is an input error, not a schedule."""

MAX_TASKS_PER_DEFINITION: Final = 1_000
"""Task definitions in one process definition."""

MAX_ENTRIES_PER_CALLBACK: Final = 1_000
"""Log or metadata entries in one callback request."""

MAX_LOG_MESSAGE_CHARS: Final = 65_536
"""Characters of one log entry's message; a job's longer output line is cut to this, marked."""

DEFAULT_MAX_REQUEST_BYTES: Final = 4 * 1024 * 1024
"""Default of the request body limit (`GNOMON_MAX_REQUEST_BYTES`); a larger body answers 413."""

MAX_ENV_NAME_CHARS: Final = 1_000
"""Characters of a job's environment variable name."""

MAX_ENV_VALUE_CHARS: Final = 65_536
"""Characters of one environment variable's value, whether written in the definition or read
from a secret when the attempt starts."""

MAX_PATH_CHARS: Final = 4_096
"""Characters of a path on Gnomon's host named in a definition (a secret file)."""

MAX_ATTEMPTS: Final = 100
"""Attempts of one task in one run, the first included."""

MAX_BACKOFF_EXPONENT: Final = 10.0
"""Growth factor of the delay between retries; finite by construction (no Infinity or NaN)."""

MAX_DEPENDENCIES_PER_TASK: Final = 100
"""Dependencies of one task definition (a fan-in of a hundred tasks). It also bounds the edges of a
definition's graph (tasks times this), which the cycle check and the scheduler walk."""

MAX_MEMORY_MB: Final = 4 * 1024 * 1024
"""Memory limit of one container, in MB (4 TiB)."""

MAX_CPUS: Final = 1_024
"""Whole CPUs of one container (`vCpus`); `cpu` in ECS units is at most this times 1024."""

MAX_CONSECUTIVE_FAILURES: Final = 10_000
"""Failed runs in a row before PagerDuty is told."""

MAX_NOTIFICATIONS: Final = 100
"""Notifications of one process definition."""

MAX_COMMAND_ITEMS: Final = 10_000
"""Arguments of one container command."""

MAX_ENVIRONMENT_VARIABLES: Final = 1_000
"""Environment variables of one task."""

MAX_LOG_PATHS: Final = 100
"""Files inside one container kept as log entries."""

MAX_TEXT_CHARS: Final = 65_536
"""Characters of one free-text value: a command argument, a description, a metadata value."""

MAX_SCRIPT_CHARS: Final = 1_048_576
"""Characters of one shell script (1 Mi)."""

MAX_CRON_FIELD_CHARS: Final = 1_000
"""Characters of one cron field; far beyond any real list of values."""

MAX_URL_CHARS: Final = 2_048
"""Characters of one URL (a webhook, PagerDuty's endpoint)."""
