"""Bounded, batched output delivery, without any backend."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from gnomon.domain.limits import MAX_LOG_MESSAGE_CHARS
from gnomon.domain.logtext import CUT_MARK
from gnomon.runner.output import FLUSH_DELAY_SECONDS, LineSplitter, OutputPump
from tests.runner.recorder import Recorder


@pytest.fixture
def pump(recorder: Recorder) -> Iterator[OutputPump]:
    pump = OutputPump(recorder, limit=10)
    yield pump
    pump.close()


def test_lines_are_delivered_before_the_end_in_one_batch(
    pump: OutputPump, recorder: Recorder
) -> None:
    output = pump.open("t")
    began = time.monotonic()
    for i in range(3):
        output.add("stdout", f"line {i}\n")
    recorder.wait_for(lambda: recorder.messages("t"), what="the first line", timeout=5)
    assert time.monotonic() - began < FLUSH_DELAY_SECONDS + 1
    assert recorder.messages("t") == ["line 0", "line 1", "line 2"]
    assert recorder.batches == [("t", 3)]


def test_a_burst_over_the_bound_keeps_the_newest_lines(
    pump: OutputPump, recorder: Recorder
) -> None:
    output = pump.open("t")
    for i in range(50):
        output.add("stdout", f"line {i}")
    output.finish()
    messages = recorder.messages("t")
    assert messages[0] == "40 lines of output were dropped to keep this task within 10 lines"
    assert messages[1:] == [f"line {i}" for i in range(40, 50)]


def test_a_slow_chatty_task_keeps_its_start_and_its_end(
    pump: OutputPump, recorder: Recorder
) -> None:
    output = pump.open("t")
    for i in range(5):
        output.add("stdout", f"early {i}")
    recorder.wait_for(lambda: len(recorder.messages("t")) == 5, what="five lines", timeout=5)
    for i in range(30):
        output.add("stdout", f"late {i}")
    output.finish()
    messages = recorder.messages("t")
    assert messages[:5] == [f"early {i}" for i in range(5)]
    assert messages[5].startswith("25 lines of output were dropped")
    assert messages[6:] == [f"late {i}" for i in range(25, 30)]
    assert len(messages) == 10 + 1


def test_without_overflow_there_is_no_note(pump: OutputPump, recorder: Recorder) -> None:
    output = pump.open("t")
    output.add("stderr", "only")
    output.finish()
    output.add("stderr", "after the end")
    assert recorder.messages("t") == ["only"]
    assert recorder.output_of("t")[0].source == "stderr"


def test_overlong_lines_are_cut_within_the_bound(pump: OutputPump, recorder: Recorder) -> None:
    output = pump.open("t")
    output.add("stdout", "x" * (MAX_LOG_MESSAGE_CHARS + 10))
    output.add("stdout", "y" * MAX_LOG_MESSAGE_CHARS)
    output.finish()
    cut, whole = recorder.messages("t")
    assert cut.startswith("x" * 1000) and cut.endswith(CUT_MARK)
    assert len(cut) <= MAX_LOG_MESSAGE_CHARS
    assert whole == "y" * MAX_LOG_MESSAGE_CHARS


def test_nul_and_invalid_utf8_are_replaced_and_counted(
    pump: OutputPump, recorder: Recorder
) -> None:
    output = pump.open("t")
    output.add("stdout", b"a\x00b\xff\xfe c \xe2\x82\xac")
    output.add("stdout", "lone \ud800 surrogate")
    output.finish()
    assert recorder.messages("t") == [
        "a\ufffdb\ufffd\ufffd c \u20ac [gnomon: replaced 3 invalid characters]",
        "lone \ufffd surrogate [gnomon: replaced 1 invalid characters]",
    ]


def test_the_splitter_holds_a_bounded_part_of_a_long_line() -> None:
    splitter = LineSplitter(max_bytes=8)
    lines = list(splitter.feed(b"short\n" + b"z" * 100))
    assert lines == [(b"short", False)]
    lines = list(splitter.feed(b"z" * 100 + b"\nnext"))
    assert lines == [(b"z" * 8, True)]
    assert splitter.end() == (b"next", False)
    assert splitter.end() is None


def test_output_that_is_not_live_waits_for_the_end(pump: OutputPump, recorder: Recorder) -> None:
    output = pump.open("t", live=False)
    output.add("file:/x", "a")
    time.sleep(FLUSH_DELAY_SECONDS * 2)  # nothing may arrive in this window
    assert recorder.messages("t") == []
    output.finish()
    assert recorder.messages("t") == ["a"]
