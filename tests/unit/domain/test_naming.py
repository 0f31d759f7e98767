"""A resource's definition name and owner, both ways, as the operator, `gnomon apply` and the UI
read them."""

from __future__ import annotations

import pytest

from gnomon.domain import naming


def test_the_owner_names_the_resource_it_was_made_from() -> None:
    recorded = naming.owner("team-a", "nightly")
    assert naming.owning_resource(recorded) == ("team-a", "nightly")


@pytest.mark.parametrize(
    "recorded",
    [None, "", "something else", "ProcessDefinition ", "ProcessDefinition a/", "Job a/b"],
)
def test_anything_else_names_no_resource(recorded: str | None) -> None:
    assert naming.owning_resource(recorded) is None
