"""Times that arrive from outside: converting to UTC never raises anything but ValueError."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from gnomon.domain.times import as_utc, format_wire_time


@pytest.mark.parametrize(
    "text", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+00:01"]
)
def test_a_time_whose_utc_overflows_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError, match="outside the range of times"):
        as_utc(datetime.fromisoformat(text))


def test_the_extremes_that_fit_convert() -> None:
    early = datetime(1, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=1)))
    late = datetime(9999, 12, 31, 22, 59, tzinfo=timezone(timedelta(hours=-1)))
    assert as_utc(early) == datetime(1, 1, 1, tzinfo=UTC)
    assert format_wire_time(late) == "9999-12-31T23:59:00.000Z"
    assert as_utc(datetime(2020, 1, 1)) == datetime(2020, 1, 1, tzinfo=UTC)


def test_years_before_1000_keep_four_digits_on_the_wire() -> None:
    assert format_wire_time(datetime(247, 4, 5, 4, 51, 45, 199_000, tzinfo=UTC)) == (
        "0247-04-05T04:51:45.199Z"
    )
