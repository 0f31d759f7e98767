"""Time-ordered identifiers: version 7 UUIDs that sort by creation and do not collide."""

from __future__ import annotations

import time
import uuid

from gnomon.domain.ids import new_id


def test_an_id_is_a_version_7_uuid_of_now() -> None:
    before = time.time_ns() // 1_000_000
    made = new_id()
    after = time.time_ns() // 1_000_000
    assert made.version == 7
    assert made.variant == uuid.RFC_4122
    assert before <= made.int >> 80 <= after
    assert uuid.UUID(str(made)) == made  # the wire form reads back


def test_ids_sort_by_creation_across_milliseconds() -> None:
    earlier = [new_id() for _ in range(100)]
    time.sleep(0.002)
    later = new_id()
    assert all(id_ < later for id_ in earlier)
    assert all(str(id_) < str(later) for id_ in earlier)  # as text too, as the store compares


def test_a_hundred_thousand_ids_are_distinct_with_random_tails() -> None:
    made = [new_id() for _ in range(100_000)]
    assert len(set(made)) == len(made)
    tails = {m.int & ((1 << 62) - 1) for m in made}
    assert len(tails) == len(made)
