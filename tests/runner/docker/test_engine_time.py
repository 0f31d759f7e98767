"""Times sent to the engine to resume a log are exact to the microsecond."""

from __future__ import annotations

from datetime import UTC, datetime

from gnomon.runner.docker.logs import engine_time, parse_stamp


def test_engine_time_keeps_every_microsecond() -> None:
    moment = datetime(2026, 11, 29, 3, 0, 0, 123457, tzinfo=UTC)
    assert engine_time(moment) == f"{int(moment.timestamp())}.123457000"
    # A float would have turned ...457 into ...456999: the engine then resends that line.
    assert engine_time(datetime(1970, 1, 1, 0, 0, 1, 1, tzinfo=UTC)) == "1.000001000"


def test_engine_timestamps_parse_to_the_microsecond() -> None:
    when, message = parse_stamp(b"2026-11-29T03:00:00.123456789Z hello world")
    assert (when, message) == (datetime(2026, 11, 29, 3, 0, 0, 123456, tzinfo=UTC), b"hello world")
