"""Query-string parsing shared by the list endpoints."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import TypeVar

from gnomon.errors import InvalidInputError

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
