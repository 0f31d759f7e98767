"""Identifiers of runs, attempts and the entries the scheduler writes: time-ordered UUIDs.

They are version 7 UUIDs (RFC 9562): the first 48 bits are the creation time in milliseconds, the
last 74 are random. On the wire they are UUIDs like any other, and as unlikely to collide as
version 4 within a millisecond, but each new one sorts after those made before it, so the store's
primary-key and foreign-key indexes grow at their end instead of at a random page. Inserting a
due minute of 10,000 runs into SQLite took half the time with them, and stopped growing with the
store (README, Performance). `uuid.uuid7` arrives with Python 3.14; until then, this.
"""

from __future__ import annotations

import os
import time
import uuid

_VERSION = 0x7 << 76
_VARIANT = 0b10 << 62
_RANDOM_A = (1 << 12) - 1
_RANDOM_B = (1 << 62) - 1


def new_id() -> uuid.UUID:
    """A new version 7 UUID for the current millisecond."""
    milliseconds = time.time_ns() // 1_000_000
    random = int.from_bytes(os.urandom(10))
    value = milliseconds << 80 | _VERSION | (random >> 62 & _RANDOM_A) << 64 | _VARIANT
    return uuid.UUID(int=value | random & _RANDOM_B)
