"""Executors: how attempts run (Docker engine, Kubernetes Jobs, local shell, or a fake).

`make_runner` builds the one runner the scheduler talks to; the backends live in the
subpackages `docker` and `kubernetes` and the modules `shell` and `fake`, and share only what
`base` holds.
"""

from gnomon.runner.base import (
    CONTAINER_KINDS,
    Attempt,
    AttemptSink,
    AttemptState,
    ExecutorStatus,
    OutputLine,
    Runner,
)
from gnomon.runner.registry import BACKENDS, CompositeRunner, make_runner

__all__ = [
    "BACKENDS",
    "CONTAINER_KINDS",
    "Attempt",
    "AttemptSink",
    "AttemptState",
    "CompositeRunner",
    "ExecutorStatus",
    "OutputLine",
    "Runner",
    "make_runner",
]
