"""Task definitions serialized once per template: the same text the JSON column writes."""

from __future__ import annotations

import gc
import json

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gnomon.domain.definitions import TaskDefinition
from gnomon.storage import json_text
from tests.samples import docker_task

TABLE = sa.Table(
    "json_text_probe",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("body", sa.JSON),
)


def template() -> TaskDefinition:
    body = docker_task("t", "before", optional=("maybe",))
    body["executable"]["docker_image_command"]["environment_variables"] = [
        {"variable_name": "GREETING", "value": 'grüß "dich"\n'}
    ]
    return TaskDefinition.model_validate(body)


def test_pre_serialized_text_is_what_the_json_type_writes(engine: Engine) -> None:
    task = template()
    dumped = task.model_dump(mode="json", by_alias=True, exclude_none=True)
    pre = sa.insert(TABLE).values(body=sa.bindparam("body", type_=json_text.PreSerialized()))
    with engine.begin() as connection:
        TABLE.create(connection)
        try:
            connection.execute(sa.insert(TABLE), [{"id": 1, "body": dumped}])
            connection.execute(pre, [{"id": 2, "body": json_text.task_json(task)}])
            texts = connection.execute(
                sa.select(sa.cast(TABLE.c.body, sa.Text)).order_by(TABLE.c.id)
            ).scalars()
            read = connection.execute(sa.select(TABLE.c.body).order_by(TABLE.c.id)).scalars()
            assert len(set(texts)) == 1
            assert list(read) == [dumped, dumped]
        finally:
            TABLE.drop(connection)


def test_executable_text_is_the_executable_alone() -> None:
    task = template()
    executable = json.loads(json_text.executable_json(task))
    assert executable == task.executable.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert json.loads(json_text.task_json(task))["executable"] == executable


def test_a_template_leaves_the_cache_with_its_object() -> None:
    task = template()
    json_text.prepare([task])
    key = id(task)
    assert key in json_text._TEXTS
    del task
    gc.collect()
    assert key not in json_text._TEXTS
