"""The last lines of attempts' logs, read bounded in one statement, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from gnomon.domain.logtext import CUT_MARK
from gnomon.domain.runs import LogEntry
from gnomon.storage import callbacks, log_tails, transaction
from tests.statements import recorded_statements

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def write(engine: Engine, task_id: str, messages: list[str], *, same_instant: bool = False) -> None:
    entries = [
        LogEntry(
            log_entry_id=uuid.uuid4(),
            when=NOW if same_instant else NOW + timedelta(milliseconds=index),
            source="stderr" if index % 2 else "stdout",
            message=message,
        )
        for index, message in enumerate(messages)
    ]
    with transaction(engine) as session:
        callbacks.add_log_entries(session=session, task_id=task_id, entries=entries)


def test_each_attempt_gives_its_newest_lines_oldest_first(engine: Engine) -> None:
    chatty, quiet, silent = (str(uuid.uuid4()) for _ in range(3))
    write(engine, chatty, [f"line {i}" for i in range(1000)])
    write(engine, quiet, ["only", "two"])

    with Session(engine) as session, recorded_statements(engine) as statements:
        tails = log_tails.last_lines(
            session=session, task_ids=[chatty, quiet, silent], lines=20, chars=100
        )

    assert len(statements) == 1
    assert [entry.message for entry in tails[chatty]] == [f"line {i}" for i in range(980, 1000)]
    assert [entry.message for entry in tails[quiet]] == ["only", "two"]
    assert [entry.source for entry in tails[quiet]] == ["stdout", "stderr"]
    assert tails[quiet][0].when == NOW
    assert silent not in tails


def test_a_long_message_is_cut_in_the_store_and_says_so(engine: Engine) -> None:
    task_id = str(uuid.uuid4())
    write(engine, task_id, ["x" * 50, "y" * 51, "é" * 60 + "<script>"])

    with Session(engine) as session:
        tail = log_tails.last_lines(session=session, task_ids=[task_id], lines=5, chars=50)

    assert [entry.message for entry in tail[task_id]] == [
        "x" * 50,
        "y" * 50 + CUT_MARK,
        "é" * 50 + CUT_MARK,
    ]


def test_lines_of_one_instant_keep_their_written_order(engine: Engine) -> None:
    task_id = str(uuid.uuid4())
    write(engine, task_id, ["first", "second", "third"], same_instant=True)

    with Session(engine) as session:
        tail = log_tails.last_lines(session=session, task_ids=[task_id], lines=2, chars=50)

    assert len(tail[task_id]) == 2
    if engine.dialect.name == "sqlite":  # PostgreSQL keeps no order among equal keys
        assert [entry.message for entry in tail[task_id]] == ["second", "third"]


@pytest.mark.parametrize("task_ids", [[], ["no-such-task"]])
def test_nothing_to_read_is_an_empty_answer(engine: Engine, task_ids: list[str]) -> None:
    with Session(engine) as session, recorded_statements(engine) as statements:
        assert log_tails.last_lines(session=session, task_ids=task_ids, lines=20, chars=50) == {}
    assert len(statements) == len(task_ids)
