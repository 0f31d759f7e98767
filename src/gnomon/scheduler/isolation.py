"""Isolation: an unexpected error while handling one definition or one run stops only that one.

The scheduler's own code, or a stored definition no one thought of, may raise anywhere. What
raised is set aside with a reason the API shows (`scheduling_error` on the definition or the run),
logged with its name and counted (`gnomon_scheduler_item_errors_total{stage}`); every other
definition and run goes on in the same wake-up. Database errors are not handled here: they
concern the whole transaction, which the service rolls back and retries.
"""

from __future__ import annotations

from typing import Final

STAGES: Final = ("load", "schedule", "launch", "event", "request", "step")
"""Where an item failed: reading a stored definition or run, computing a definition's next
start, starting its run, applying an executor report, applying a kill or retry, stepping a run.
These are the metric's only label values."""

_MAX_REASON_CHARS: Final = 500


def describe(error: BaseException) -> str:
    """A short, single-line reason for the API: the error's type and message."""
    return storable(f"{type(error).__name__}: {str(error) or 'no message'}")


def storable(reason: str) -> str:
    """`reason` as one short line every store accepts: the message may quote the definition, and
    a NUL byte or a lone surrogate in it must not make writing the mark fail (PostgreSQL refuses
    both), which would fail every wake-up in turn."""
    text = " ".join(reason.split()).replace("\x00", "\\x00")
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    if len(text) > _MAX_REASON_CHARS:
        text = text[: _MAX_REASON_CHARS - 1] + "…"
    return text
