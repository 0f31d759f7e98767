"""The REST API's run documents are byte for byte the JSON of the wire models they replace."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import TypeAdapter
from pydantic_core import to_json
from sqlalchemy.engine import Engine
from sqlmodel import col

from gnomon.domain.enums import ProcessStatus, TaskStatus
from gnomon.domain.runs import Process, Task
from gnomon.storage import transaction
from gnomon.storage.run_documents import process_document, process_documents, task_documents
from gnomon.storage.runs import ProcessQuery, TaskQuery, find_tasks, get_process, list_processes
from gnomon.storage.tables import (
    ExecutorStateRow,
    ProcessRow,
    TaskLogRow,
    TaskMetadataRow,
    TaskRow,
)

NOW = datetime(2026, 3, 2, 12, 0, 0, 999_999, tzinfo=UTC)
TEXTS = ["plain", "é ü 漢字 🚀", 'quote " back \\ slash', "tab\tnew\nline\r\x01\x1f\x7f", "\u2028"]
DETAILS: list[dict[str, Any]] = [
    {},
    {"exit_code": "0", "container_id": "HANDLE"},
    {"exit_code": 137, "oom": True, "none": None, "nested": {"a": [1, 2]}, "b": 1.5},
]


def _id(n: int, *, upper: bool = False) -> str:
    text = str(uuid.UUID(int=n * 7_919 + 1, version=4))
    return text.upper() if upper else text


def _seed(engine: Engine) -> None:
    """Runs with every optional field both present and absent, and ids stored oddly."""
    rows: dict[Any, list[dict[str, Any]]] = {
        ProcessRow: [],
        TaskRow: [],
        TaskLogRow: [],
        TaskMetadataRow: [],
        ExecutorStateRow: [],
    }
    serial = 0
    for p in range(12):
        serial += 1
        process_id = _id(serial, upper=p == 3)
        started = NOW - timedelta(hours=p, microseconds=p * 1_001)
        running = p % 4 == 0
        rows[ProcessRow].append(
            {
                "process_id": process_id,
                "process_definition_name": f"def-{p % 3}",
                "started_at": started,
                "status": list(ProcessStatus)[p % 3].value,
                "ended_at": None if running else started + timedelta(minutes=5),
                "task_filter": ["t0"] if p == 5 else None,
                "scheduled_for": None,
                "origin": "trigger",
                "scheduling_error": TEXTS[p % 5] if p % 5 == 1 else None,
            }
        )
        for t in range(p % 4):  # some runs have no attempts at all
            serial += 1
            task_id = _id(serial, upper=t == 2)
            at = started + timedelta(seconds=t, microseconds=t * 999)
            rows[TaskRow].append(
                {
                    "task_id": task_id,
                    "process_id": process_id,
                    "process_definition_name": f"def-{p % 3}",
                    "task_definition_name": f"t{t % 2}",
                    "executable": {},
                    "previous_attempts": t,
                    "started_at": at,
                    "status": list(TaskStatus)[(p + t) % 7].value,
                    "reason": TEXTS[t] if t else None,
                    "ended_at": None if running and t == 0 else at + timedelta(seconds=30),
                }
            )
            for e in range(t + 1):
                serial += 1
                rows[TaskLogRow].append(
                    {
                        "log_entry_id": _id(serial, upper=e == 1),
                        "task_id": task_id,
                        "when": at + timedelta(milliseconds=e),
                        "source": TEXTS[e % 5],
                        "message": TEXTS[(e + p) % 5] * (e + 1),
                    }
                )
                serial += 1
                rows[TaskMetadataRow].append(
                    {
                        "metadata_entry_id": _id(serial),
                        "task_id": task_id,
                        "when": at + timedelta(microseconds=e),
                        "key": f"k{e}",
                        "value": TEXTS[(e + t) % 5],
                    }
                )
            if t != 1:  # an attempt the executor has not seen yet
                rows[ExecutorStateRow].append(
                    {
                        "task_id": task_id,
                        "backend": "docker",
                        "handle": [None, "", "HANDLE", "other"][(p + t) % 4],
                        "status": "Running",
                        "as_of": at,
                        "details": DETAILS[(p + t) % 3],
                    }
                )
    with engine.begin() as connection:
        for table, values in rows.items():
            connection.execute(sa.insert(table), values)


def _models_json(value: Any, annotation: Any) -> bytes:
    """What the API sent when it serialised the models (its former `wire_response`)."""
    return TypeAdapter(annotation).dump_json(value, by_alias=True, exclude_none=True)


QUERIES = [
    ProcessQuery(),
    ProcessQuery(max_records=5),
    ProcessQuery(process_definition_name="def-1", statuses=(ProcessStatus.SUCCEEDED,)),
    ProcessQuery(start_time=NOW - timedelta(hours=6), end_time=NOW - timedelta(hours=2)),
    ProcessQuery(process_definition_name="none"),
]


@pytest.mark.parametrize("query", QUERIES)
def test_process_documents_match_the_models(engine: Engine, query: ProcessQuery) -> None:
    _seed(engine)
    with transaction(engine) as session:
        models = _models_json(list_processes(session=session, query=query), list[Process])
        documents = to_json(process_documents(session=session, query=query))
    assert documents == models
    assert query.process_definition_name == "none" or len(documents) > 100


def test_one_process_document_matches_the_model(engine: Engine) -> None:
    _seed(engine)
    with transaction(engine) as session:
        for process_id in session.execute(sa.select(col(ProcessRow.process_id))).scalars():
            model = get_process(session=session, process_id=process_id)
            document = process_document(session=session, process_id=process_id)
            assert to_json(document) == _models_json(model, Process)


@pytest.mark.parametrize("statuses", [(), (TaskStatus.RUNNING,), (TaskStatus.FAILED,)])
def test_task_documents_match_the_models(engine: Engine, statuses: tuple[TaskStatus, ...]) -> None:
    _seed(engine)
    query = TaskQuery("def-1", "t1", statuses=statuses, limit=50)
    with transaction(engine) as session:
        models = _models_json(find_tasks(session=session, query=query), list[Task])
        documents = to_json(task_documents(session=session, query=query))
    assert documents == models


def test_entries_that_share_a_time_come_in_the_order_of_their_ids(engine: Engine) -> None:
    process_id, task_id = _id(1), _id(2)
    ids = sorted(_id(n) for n in range(10, 40))
    with engine.begin() as connection:
        connection.execute(
            sa.insert(ProcessRow),
            [
                {
                    "process_id": process_id,
                    "process_definition_name": "d",
                    "started_at": NOW,
                    "status": ProcessStatus.RUNNING.value,
                    "origin": "trigger",
                }
            ],
        )
        task: dict[str, Any] = {
            "task_id": task_id,
            "process_id": process_id,
            "process_definition_name": "d",
        }
        task |= {"task_definition_name": "t", "executable": {}, "previous_attempts": 0}
        task |= {"started_at": NOW, "status": TaskStatus.RUNNING.value}
        connection.execute(sa.insert(TaskRow), [task])
        for entry_id in reversed(ids):  # stored newest id first, all at the same time
            line = {"log_entry_id": entry_id, "task_id": task_id, "when": NOW}
            connection.execute(sa.insert(TaskLogRow), [line | {"source": "s", "message": "m"}])
            entry = {"metadata_entry_id": entry_id, "task_id": task_id, "when": NOW}
            connection.execute(sa.insert(TaskMetadataRow), [entry | {"key": "k", "value": "v"}])
    with transaction(engine) as session:
        document = process_document(session=session, process_id=process_id)["task"][0]
        model = get_process(session=session, process_id=process_id).task[0]
    assert [e["log_entry_id"] for e in document["log_entries"]] == ids
    assert [e["metadata_entry_id"] for e in document["metadata_entries"]] == ids
    assert [str(e.log_entry_id) for e in model.log_entries] == ids
