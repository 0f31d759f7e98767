"""The dispatch benchmark's counts: whole numbers from 1 to 10,000, anything else refused by
argparse with a message, before any container or server is started."""

from __future__ import annotations

import argparse

import pytest
from bench.dispatch import MAX_COUNT, count, levels_list


@pytest.mark.parametrize("text", ["1", "200", str(MAX_COUNT)])
def test_a_count_in_bounds_is_taken(text: str) -> None:
    assert count(text) == int(text)


@pytest.mark.parametrize(
    "text",
    ["0", "-1", str(MAX_COUNT + 1), "9" * 5_000, "x", "", "1.5", "8\x00", "\x00", "1e3"],
)
def test_a_hostile_count_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        count(text)


def test_levels_are_read_in_order() -> None:
    assert levels_list("8,32") == [8, 32]
    assert levels_list(" 8 , ") == [8]


@pytest.mark.parametrize("text", [",", "", "8,0", "8,x", "8,\x00"])
def test_hostile_levels_are_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        levels_list(text)
