"""Query-string parsing shared by the list endpoints."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Final, TypeVar

from fastapi import Query
from pydantic import AfterValidator

from gnomon.domain.times import as_utc
from gnomon.errors import InvalidInputError

MAX_LIST_RECORDS: Final = 10_000
"""Largest `max_records` / `limit` a list request may ask for (absent: no limit)."""


def _utc_in_range(value: datetime) -> datetime:
    # A time near year 1 or 9999 with an offset has no UTC equivalent; say so as a 400.
    try:
        return as_utc(value)
    except (OverflowError, ValueError):
        raise ValueError("the time is out of range once converted to UTC") from None


QueryTime = Annotated[datetime, AfterValidator(_utc_in_range)]
"""A time in a query string, as aware UTC; out-of-range times are a 400."""

RecordLimit = Annotated[
    int | None,
    Query(ge=0, le=MAX_LIST_RECORDS, description=f"At most {MAX_LIST_RECORDS}; absent: all"),
]

E = TypeVar("E", bound=StrEnum)


def parse_statuses(values: Iterable[str], enum: type[E]) -> list[E]:
    """Repeated `allowed_statuses` parameters (commas also split); empty means any status."""
    statuses = []
    for raw in values:
        for value in filter(None, (part.strip() for part in raw.split(","))):
            try:
                statuses.append(enum(value))
            except ValueError:
                allowed = ", ".join(member.value for member in enum)
                raise InvalidInputError(
                    "allowed_statuses", f"unknown status {value!r}; expected one of: {allowed}"
                ) from None
    return statuses
