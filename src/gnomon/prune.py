"""`gnomon prune`: remove old finished runs now, straight from the store (like `gnomon migrate`).

It reads GNOMON_DATABASE_URL rather than calling the REST API: it is the administrator's tool for
a store that grew (before retention was set, or with a longer one), it works while no server
runs, and the store's credentials are what authorise it; the Sundial-compatible API keeps no
endpoint that deletes history. It removes exactly what the scheduler's retention would, with the
same rules: only runs that ended, never one a retry was asked for, never a definition's newest
`--keep-runs`, one small transaction per batch, so a running scheduler and API go on meanwhile.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

from gnomon.domain.clock import Clock
from gnomon.domain.retention import PruneCounts, RetentionRule
from gnomon.errors import StoreError
from gnomon.settings import Settings
from gnomon.storage import display_url, is_sqlite, make_engine, retention, store_timeouts

HEADER = ["DEFINITION", "RUNS", "TASKS", "LOG LINES", "METADATA"]


def prune(
    settings: Settings, clock: Clock, age: timedelta, keep_runs: int, *, dry_run: bool
) -> int:
    """Remove (or list, with `dry_run`) what is older than `age`; prints per definition.

    Returns:
        0 when done (also when nothing was old enough), 1 when the store failed or is missing.
    """
    engine = make_engine(settings.database_url, store_timeouts(settings))
    where = display_url(settings.database_url)
    database = engine.url.database
    if is_sqlite(engine) and database and database != ":memory:" and not Path(database).exists():
        print(f"gnomon: no store at {where}", file=sys.stderr)  # not creating an empty one
        return 1
    rule = RetentionRule.older_than(clock.now(), age, keep_runs)
    try:
        found = retention.prune(
            engine, rule, batch_runs=settings.retention_batch_runs, dry_run=dry_run
        )
    except StoreError as exc:
        print(f"gnomon: pruning {where} failed: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    _report(found, rule, dry_run=dry_run)
    return 0


def _report(found: dict[str, PruneCounts], rule: RetentionRule, *, dry_run: bool) -> None:
    scope = (
        f"runs that ended before {rule.cutoff.isoformat(timespec='seconds')}; "
        f"newest per definition kept: {rule.keep_runs}"
    )
    if not found:
        print(f"nothing to remove ({scope})")
        return
    total = PruneCounts()
    rows = []
    for name in sorted(found):
        counts = found[name]
        total.add(counts)
        rows.append([name, *_cells(counts)])
    rows.append(["(total)", *_cells(total)])
    _table(rows)
    verb = "would remove" if dry_run else "removed"
    print(f"{verb} {total.describe()} ({scope})")


def _cells(counts: PruneCounts) -> list[str]:
    return [str(counts.runs), str(counts.tasks), str(counts.log_lines), str(counts.metadata)]


def _table(rows: list[list[str]]) -> None:
    widths = [max(len(cell) for cell in column) for column in zip(HEADER, *rows, strict=True)]
    for row in [HEADER, *rows]:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
