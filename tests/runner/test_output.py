"""Bounded, batched output delivery, without any backend."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from gnomon.runner._output import FLUSH_DELAY_SECONDS, MAX_LINE_CHARS, OutputPump
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
    recorder.wait_for(lambda: recorder.messages("t"), timeout=5)
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
    recorder.wait_for(lambda: len(recorder.messages("t")) == 5, timeout=5)
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


def test_overlong_lines_are_cut(pump: OutputPump, recorder: Recorder) -> None:
    output = pump.open("t")
    output.add("stdout", "x" * (MAX_LINE_CHARS + 10))
    output.finish()
    (message,) = recorder.messages("t")
    assert message.startswith("x" * MAX_LINE_CHARS)
    assert message.endswith("[line cut]")


def test_output_that_is_not_live_waits_for_the_end(pump: OutputPump, recorder: Recorder) -> None:
    output = pump.open("t", live=False)
    output.add("file:/x", "a")
    time.sleep(FLUSH_DELAY_SECONDS * 2)  # nothing may arrive in this window
    assert recorder.messages("t") == []
    output.finish()
    assert recorder.messages("t") == ["a"]
