"""Path and query parameters shared by the routes, with every constraint stated in the OpenAPI
document: a value the document allows is one the route serves (it may still be not found)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Final, TypeVar

from fastapi import Path, Query
from pydantic import AfterValidator, BeforeValidator, WithJsonSchema

from gnomon.domain.definitions import NAME_PATTERN
from gnomon.domain.enums import ProcessStatus, TaskStatus
from gnomon.domain.times import as_utc
from gnomon.errors import InvalidInputError

MAX_LIST_RECORDS: Final = 10_000
"""Largest `max_records` / `limit` a list request may ask for (absent: no limit)."""


_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})?"
)


def _date_time_text(value: object) -> object:
    # pydantic would also take a number as seconds since 1970 ("-4.5e-94"): the document says
    # date-time, so only that is accepted (a missing offset still means UTC, as it always did).
    if not isinstance(value, str) or not _DATE_TIME.fullmatch(value):
        raise ValueError("expected an ISO 8601 date-time, e.g. 2017-11-23T10:15:30.123Z")
    return value


def _utc_in_range(value: datetime) -> datetime:
    # A time near year 1 or 9999 with an offset has no UTC equivalent; say so as a 400.
    try:
        return as_utc(value)
    except (OverflowError, ValueError):
        raise ValueError("the time is out of range once converted to UTC") from None


QueryTime = Annotated[datetime, BeforeValidator(_date_time_text), AfterValidator(_utc_in_range)]
"""A time in a query string, as aware UTC; out-of-range times are a 400."""

_NAME = {"min_length": 1, "max_length": 200, "pattern": NAME_PATTERN}
_HEX = "[0-9a-fA-F]"
UUID_PATTERN: Final = f"^{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}$"

DefinitionName = Annotated[str, Path(**_NAME)]
"""A process definition's name in a path: only names a definition can have."""
NameFilter = Annotated[str, Query(**_NAME)]
"""A definition or task definition name to filter by."""
RunId = Annotated[str, Path(pattern=UUID_PATTERN, description="A process or task id (a UUID)")]


def _statuses_pattern(enum: type[StrEnum]) -> str:
    # What parse_statuses accepts: statuses separated by commas, blanks around them ignored.
    status = "(?:" + "|".join(member.value for member in enum) + ")"
    return f"^ *(?:{status} *)?(?:, *(?:{status} *)?)*$"


def _statuses(enum: type[StrEnum]) -> Any:
    # The pattern is stated in the document only: parse_statuses checks each value and says
    # which statuses exist, more helpfully than a pattern mismatch would.
    status = Annotated[str, WithJsonSchema({"type": "string", "pattern": _statuses_pattern(enum)})]
    return Annotated[
        list[status],
        Query(max_length=50, description="Statuses, repeated or comma-separated; none means any"),
    ]


ProcessStatuses = _statuses(ProcessStatus)
TaskStatuses = _statuses(TaskStatus)

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
