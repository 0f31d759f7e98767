"""Retention in the store: which runs go, and that every row keyed by them goes with them."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gnomon.domain.retention import PruneCounts, RetentionRule
from gnomon.storage import retention
from tests.conftest import START
from tests.history import (
    LOG_LINES_PER_TASK,
    TASKS_PER_RUN,
    add_run,
    dependent_tables,
    orphans,
    row_counts,
)

OLD = START - timedelta(days=200)
RULE = RetentionRule.older_than(START, timedelta(days=90), keep_runs=2)


def _ids(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(connection.execute(sa.text("SELECT process_id FROM process")).scalars())


def _removed(runs: int) -> PruneCounts:
    tasks = runs * TASKS_PER_RUN
    return PruneCounts(runs, tasks, tasks * LOG_LINES_PER_TASK, tasks)


def test_every_table_keyed_by_a_run_is_covered() -> None:
    assert dependent_tables() == [
        "executor_state",
        "kill_process_request",
        "process_trigger_request",
        "reported_task_status",
        "retry_process_request",
        "task",
        "task_definition",
        "task_log",
        "task_metadata",
    ]


def test_old_runs_go_with_every_row_keyed_by_them(engine: Engine) -> None:
    old = [add_run(engine, "a", OLD + timedelta(hours=n)) for n in range(5)]
    recent = [add_run(engine, "a", START - timedelta(days=1, hours=n)) for n in range(2)]
    before = row_counts(engine)

    found = retention.prune(engine, RULE, batch_runs=2, dry_run=False)

    assert found == {"a": _removed(5)}
    assert _ids(engine) == set(recent)
    after = row_counts(engine)
    for table, rows in before.items():
        assert after[table] == rows * 2 // 7, f"{table}: {rows} rows became {after[table]}"
    assert set(orphans(engine).values()) == {0}
    assert not set(old) & _ids(engine)


def test_each_definition_keeps_its_newest_runs_whatever_their_age(engine: Engine) -> None:
    runs = [add_run(engine, "deleted-long-ago", OLD + timedelta(hours=n)) for n in range(4)]
    only = add_run(engine, "single", OLD)

    found = retention.prune(engine, RULE, batch_runs=500, dry_run=False)

    assert found == {"deleted-long-ago": _removed(2)}
    assert _ids(engine) == {*runs[2:], only}


def test_no_floor_removes_every_old_run(engine: Engine) -> None:
    for n in range(3):
        add_run(engine, "a", OLD + timedelta(hours=n))
    rule = RetentionRule(RULE.cutoff, keep_runs=0)
    assert retention.prune(engine, rule, batch_runs=1, dry_run=False) == {"a": _removed(3)}
    assert _ids(engine) == set()


def test_running_runs_retried_runs_and_recent_endings_stay(engine: Engine) -> None:
    keep = {
        add_run(engine, "a", OLD, running=True),
        add_run(engine, "a", OLD, open_retry=True),
        # started long ago, ended inside the retention period
        add_run(engine, "a", RULE.cutoff - timedelta(days=3), minutes=5 * 24 * 60),
    }
    gone = add_run(engine, "a", OLD - timedelta(days=1))
    for n in range(2):
        keep.add(add_run(engine, "a", START - timedelta(hours=n)))

    found = retention.prune(engine, RULE, batch_runs=500, dry_run=False)

    assert found == {"a": _removed(1)}
    assert _ids(engine) == keep
    assert gone not in _ids(engine)
    assert set(orphans(engine).values()) == {0}


def test_a_dry_run_counts_per_definition_and_removes_nothing(engine: Engine) -> None:
    for n in range(4):
        add_run(engine, "a", OLD + timedelta(hours=n))
        add_run(engine, "b", OLD + timedelta(hours=n))
    add_run(engine, "b", OLD + timedelta(hours=9))
    before = row_counts(engine)

    found = retention.prune(engine, RULE, batch_runs=1, dry_run=True)

    assert found == {"a": _removed(2), "b": _removed(3)}
    assert row_counts(engine) == before


def test_nothing_to_remove_in_an_empty_or_young_store(engine: Engine) -> None:
    assert retention.prune(engine, RULE, batch_runs=10, dry_run=False) == {}
    add_run(engine, "a", START - timedelta(days=1))
    assert retention.prune(engine, RULE, batch_runs=10, dry_run=False) == {}
    assert len(_ids(engine)) == 1
