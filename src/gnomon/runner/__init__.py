"""Executors: how attempts run (Docker engine, Kubernetes Jobs, local shell, or a fake)."""

from gnomon.runner.base import (
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
    "CompositeRunner",
    "ExecutorStatus",
    "Attempt",
    "AttemptSink",
    "AttemptState",
    "OutputLine",
    "Runner",
    "make_runner",
]
