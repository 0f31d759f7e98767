"""Time on the wire: ISO 8601 UTC with milliseconds and a trailing `Z`, as Sundial wrote it.

Everything inside Gnomon is an aware UTC datetime; naive values (SQLite gives them back) are
taken as UTC here, at the one place they enter.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, PlainSerializer, Strict, WithJsonSchema


def as_utc(value: datetime) -> datetime:
    """Return `value` as an aware UTC datetime; naive values are taken to be UTC already.

    Raises:
        ValueError: the time is within a day of year 1 or 9999 and its UTC equivalent falls
            outside the years datetime can hold (`0001-01-01T00:00:00+01:00`).
    """
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(
            f"{value.isoformat()} is outside the range of times that can be held in UTC "
            "(years 1 to 9999)"
        ) from None


def format_wire_time(value: datetime) -> str:
    """Format as `2017-11-23T10:15:30.123Z` (milliseconds truncated, years zero-padded).

    A listing formats thousands of times, so this avoids the conversion when the value is
    naive (SQLite's) or already at offset zero (PostgreSQL's `Etc/UTC`), and lets `isoformat`
    do the rest in C; strftime took three times as long.
    """
    offset = value.utcoffset()
    if offset:
        value = as_utc(value)
    text = value.isoformat(timespec="milliseconds")
    return (text if offset is None else text[:-6]) + "Z"  # drop "+00:00"


WireTime = Annotated[
    datetime,
    Strict(False),  # parsed from text in JSON bodies and query strings, even in strict models
    AfterValidator(as_utc),
    PlainSerializer(format_wire_time, return_type=str),
    WithJsonSchema(
        {"type": "string", "format": "date-time", "example": "2017-11-23T10:15:30.123Z"}
    ),
]
