"""Counts a benchmark takes on its command line: whole numbers within stated bounds, or a
comma-separated sweep of them. Anything else is refused by argparse with a message saying what
was wrong, before a store is seeded, a server started or a container run, so that a count of zero
does not fail after minutes of setup, nor a count of billions fill the disk."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def whole(low: int, high: int) -> Callable[[str], int]:
    """An argparse `type` for one whole number from `low` to `high`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low:,} to {high:,}: {value:,}")
        return value

    return parse


def sweep(low: int, high: int) -> Callable[[str], list[int]]:
    """An argparse `type` for one or more whole numbers, comma-separated (`10000,100000`), each
    from `low` to `high`, measured in the order given."""
    one = whole(low, high)

    def parse(text: str) -> list[int]:
        values = [one(part) for part in text.split(",") if part.strip()]
        if not values:
            raise argparse.ArgumentTypeError(f"no number given: {text!r}")
        return values

    return parse
