"""The test suite's waits (tests/waiting.py): they return what they waited for, and past their
deadline they fail loudly, naming what they waited for and the last value seen."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from tests.waiting import wait_for, wait_until


def test_wait_for_returns_the_first_truthy_value() -> None:
    values = iter([None, 0, "", "found", "later"])
    assert wait_for(lambda: next(values), what="a value", interval=0) == "found"


def test_wait_for_names_what_it_waited_for_and_the_last_value() -> None:
    with pytest.raises(AssertionError, match=r"waiting for the answer \(last: ''\)"):
        wait_for(lambda: "", what="the answer", timeout=0.05, interval=0.01)


def test_wait_until_returns_the_value_that_holds() -> None:
    counter = itertools.count()
    assert wait_until(lambda: next(counter), lambda n: n == 3, what="three", interval=0) == 3


def test_wait_until_reports_the_last_value_seen() -> None:
    counter = itertools.count()
    with pytest.raises(AssertionError, match=r"waiting for a negative count \(last: \d+\)"):
        wait_until(lambda: next(counter), lambda n: n < 0, what="a negative count", timeout=0.05)


def test_wait_until_reports_the_summary_of_a_large_value() -> None:
    large = {"status": "pending", "body": "x" * 10_000}
    with pytest.raises(AssertionError, match=r"\(last: 'pending'\)$"):
        wait_until(
            lambda: large,
            lambda value: value["status"] == "done",
            what="done",
            timeout=0.05,
            summary=lambda value: value["status"],
        )


def test_wait_until_treats_an_ignored_exception_as_not_there_yet() -> None:
    answers: Iterator[Exception | int] = iter([ConnectionError("refused")] * 2 + [200])

    def observe() -> int:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert wait_until(observe, bool, what="an answer", interval=0, ignoring=(ConnectionError,))


def test_wait_until_reports_the_last_ignored_exception() -> None:
    def refuse() -> int:
        raise ConnectionError("refused")

    with pytest.raises(AssertionError, match=r"last: ConnectionError\('refused'\)"):
        wait_until(refuse, bool, what="an answer", timeout=0.05, ignoring=(ConnectionError,))


def test_an_exception_not_ignored_is_raised_at_once() -> None:
    def fail() -> int:
        raise ValueError("broken")

    with pytest.raises(ValueError, match="broken"):
        wait_until(fail, bool, what="an answer", timeout=5, ignoring=(ConnectionError,))


def test_a_wait_that_never_looked_says_so() -> None:
    with pytest.raises(AssertionError, match="nothing: the deadline passed"):
        wait_for(lambda: True, what="anything", timeout=0)
