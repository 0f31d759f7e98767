"""Times as the command line shows and reads them."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

import pytest

from gnomon.client.times import absolute, ago, since, span

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (59, "59s"),
        (60, "1m"),
        (125, "2m"),
        (3600, "1h"),
        (7500, "2h5m"),
        (4 * 86400 + 3 * 3600 + 5, "4d3h"),
    ],
)
def test_spans_show_the_largest_unit_and_the_next(seconds: int, text: str) -> None:
    assert span(seconds) == text


def test_relative_and_absolute_times() -> None:
    assert ago(NOW - timedelta(minutes=3), NOW) == "3m ago"
    assert ago(NOW + timedelta(hours=2), NOW) == "in 2h"
    assert ago(NOW, NOW) == "just now"
    assert absolute(NOW) == "2026-11-30 08:00:00Z"


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("90s", NOW - timedelta(seconds=90)),
        ("10m", NOW - timedelta(minutes=10)),
        ("2h", NOW - timedelta(hours=2)),
        ("7d", NOW - timedelta(days=7)),
        ("2026-11-29", datetime(2026, 11, 29, tzinfo=UTC)),
        ("2026-11-29T10:00:00+02:00", datetime(2026, 11, 29, 8, tzinfo=UTC)),
        ("2026-11-29T10:00:00Z", datetime(2026, 11, 29, 10, tzinfo=UTC)),
    ],
)
def test_since_takes_an_age_or_a_time(text: str, moment: datetime) -> None:
    assert since(text, NOW) == moment


@pytest.mark.parametrize("text", ["yesterday", "10", "5x", "-3m", ""])
def test_a_bad_since_is_a_usage_error(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="not an age"):
        since(text, NOW)
