"""The last lines of attempts' logs: what a notification quotes of a failed task.

A job may write millions of lines, some of them 64 KiB long, so the read is bounded both ways:
each attempt's newest `lines` entries are taken from the end of its `(task_id, when)` index
range, and each message is cut in the store to `chars` characters before it is sent over. All
the attempts asked for are read in one statement, one `UNION ALL` part per attempt.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from gnomon.domain.logtext import CUT_MARK
from gnomon.domain.runs import LogEntry
from gnomon.domain.times import as_utc
from gnomon.storage.tables import TaskLogRow

_LOG = TaskLogRow.__table__.c  # type: ignore[attr-defined]


def last_lines(
    *, session: Session, task_ids: Sequence[str], lines: int, chars: int
) -> dict[str, list[LogEntry]]:
    """The newest `lines` log entries of each attempt in `task_ids`, oldest first.

    Args:
        session: An open session.
        task_ids: The attempts; keep the list short, as the statement has a part for each.
        lines: Most entries per attempt.
        chars: Most characters per message; a longer one is cut and ends with the cut mark.

    Returns:
        Entries per task id; an attempt without output is absent.
    """
    ids = list(dict.fromkeys(task_ids))
    if not ids or lines < 1:
        return {}
    parts = [_newest(task_id, lines, chars) for task_id in ids]
    statement: Any = parts[0] if len(parts) == 1 else sa.union_all(*parts)
    found: dict[str, list[LogEntry]] = defaultdict(list)
    for entry_id, task_id, when, source, message in session.execute(statement):
        if len(message) > chars:
            message = message[:chars] + CUT_MARK
        found[task_id].append(
            LogEntry.model_construct(
                log_entry_id=uuid.UUID(entry_id), when=as_utc(when), source=source, message=message
            )
        )
    for entries in found.values():
        # Each part came newest first; a UNION need not keep that order, so sort, keeping
        # entries of the same instant in the order they were written.
        entries.reverse()
        entries.sort(key=lambda entry: entry.when)
    return dict(found)


def _newest(task_id: str, lines: int, chars: int) -> Any:
    """One attempt's newest entries, newest first; a subquery so it can stand in a UNION."""
    return (
        sa.select(
            _LOG.log_entry_id,
            _LOG.task_id,
            _LOG.when,
            _LOG.source,
            # One character more than shown, so a cut line can be told from one that fits.
            sa.func.substr(_LOG.message, 1, chars + 1).label("message"),
        )
        .where(_LOG.task_id == task_id)
        .order_by(_LOG.when.desc())
        .limit(lines)
        .subquery()
        .select()
    )
