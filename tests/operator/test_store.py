"""The operator's store side without an API server: what a spec must meet, and deletion."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from gnomon.operator.reconcile import (
    OperatorContext,
    read_stored_state,
    remove_definition,
    store_spec,
)
from tests.clock import FakeClock
from tests.samples import docker_task


@pytest.fixture
def context(sqlite_engine: Engine, clock: FakeClock) -> OperatorContext:
    return OperatorContext(engine=sqlite_engine, clock=clock)


def test_structural_problems_name_the_spec_field(context: OperatorContext) -> None:
    body = {"task_definitions": [docker_task("a", max_attempts="many")], "colour": "red"}

    rejection = store_spec(context, namespace="ns", name="pd", spec=body)

    assert rejection is not None and rejection.reason == "InvalidSpec"
    assert "spec.task_definitions[0].max_attempts: " in rejection.message
    assert "spec.colour: " in rejection.message


def test_a_mapped_name_over_the_limit_is_a_metadata_name_problem(
    context: OperatorContext,
) -> None:
    rejection = store_spec(
        context, namespace="ns", name="x" * 200, spec={"task_definitions": [docker_task("a")]}
    )

    assert rejection is not None and rejection.message.startswith("metadata.name: ")


def test_shell_scripts_are_allowed_only_when_the_setting_allows_them(
    sqlite_engine: Engine, clock: FakeClock
) -> None:
    shell = {"task_definition_name": "sh", "executable": {"shell_script_command": {"script": ":"}}}
    body = {"task_definitions": [shell]}
    allowed = OperatorContext(engine=sqlite_engine, clock=clock, allow_shell=True)

    assert store_spec(allowed, namespace="ns", name="pd", spec=body) is None
    assert read_stored_state(allowed, namespace="ns", name="pd") is not None


def test_removing_what_was_never_stored_is_a_no_op(context: OperatorContext) -> None:
    assert remove_definition(context, namespace="ns", name="never") is False
    assert read_stored_state(context, namespace="ns", name="never") is None
