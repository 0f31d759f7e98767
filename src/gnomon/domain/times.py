"""Time on the wire: ISO 8601 UTC with milliseconds and a trailing `Z`, as Sundial wrote it.

Everything inside Gnomon is an aware UTC datetime; naive values (SQLite gives them back) are
taken as UTC here, at the one place they enter.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, PlainSerializer, WithJsonSchema


def as_utc(value: datetime) -> datetime:
    """Return `value` as an aware UTC datetime; naive values are taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def format_wire_time(value: datetime) -> str:
    """Format as `2017-11-23T10:15:30.123Z`."""
    utc = as_utc(value)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


WireTime = Annotated[
    datetime,
    AfterValidator(as_utc),
    PlainSerializer(format_wire_time, return_type=str),
    WithJsonSchema(
        {"type": "string", "format": "date-time", "example": "2017-11-23T10:15:30.123Z"}
    ),
]
