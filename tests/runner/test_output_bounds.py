"""A job's output costs bounded memory and always reaches the store.

- A 200 MB line without a newline (on a container's stdout, in a `log_paths` file, from a shell
  script) is read in chunks and cut as it streams: the process's peak memory growth stays small
  (measured with tracemalloc, which sees every thread) and the stored line is cut and marked.
- NUL bytes and invalid UTF-8 between good lines, printed by a real container, are replaced and
  marked, and every good line is stored, on SQLite and PostgreSQL; should a batch still fail for
  a data reason, the sink stores it line by line and records what it could not store.
"""

from __future__ import annotations

import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from gnomon.domain.limits import MAX_LOG_MESSAGE_CHARS
from gnomon.domain.logtext import CUT_MARK
from gnomon.runner.base import ExecutorStatus, OutputLine
from gnomon.runner.docker.runner import DockerRunner
from gnomon.runner.shell import ShellRunner
from gnomon.scheduler.sink import StoreSink
from gnomon.scheduler.wakeup import Wakeup
from gnomon.storage.tables import TaskLogRow
from tests.clock import FakeClock
from tests.runner.attempts import container_attempt, shell_attempt
from tests.runner.conftest import MakeDockerRunner
from tests.runner.recorder import Recorder
from tests.waiting import wait_for

HUGE = 200_000_000
"""Bytes of the one long line: what took the server from 109 MB to 729 MB."""
MAX_GROWTH = 32 * 1024 * 1024
"""Peak memory allowed above the start: a few chunks and lines, nowhere near the 200 MB."""
HUGE_LINE = f"head -c {HUGE} /dev/zero | tr '\\0' x"


def peak_growth(run: Callable[[], None]) -> int:
    """Bytes of the highest traced memory above the level when `run` began."""
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        run()
        return tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()


def assert_cut(message: str, char: str) -> None:
    assert message.startswith(char * 1000) and message.endswith(CUT_MARK)
    assert len(message) <= MAX_LOG_MESSAGE_CHARS


@pytest.mark.docker
def test_a_200_mb_line_on_stdout_is_cut_in_bounded_memory(
    docker_runner: DockerRunner, recorder: Recorder, busybox_image: str
) -> None:
    attempt = container_attempt(busybox_image, "echo before", HUGE_LINE, "echo", "echo after")

    def run() -> None:
        docker_runner.start(attempt)
        assert recorder.final(attempt.task_id, timeout=300).status is ExecutorStatus.SUCCEEDED

    growth = peak_growth(run)
    before, long, after = recorder.messages(attempt.task_id, "stdout")
    assert (before, after) == ("before", "after")
    assert_cut(long, "x")
    assert growth < MAX_GROWTH, f"peak memory grew by {growth / 1e6:.1f} MB"


@pytest.mark.docker
def test_a_200_mb_log_paths_file_is_cut_in_bounded_memory(
    docker_runner: DockerRunner, recorder: Recorder, busybox_image: str
) -> None:
    attempt = container_attempt(
        busybox_image,
        "mkdir -p /out",
        f"(echo first; {HUGE_LINE}; echo; echo last) > /out/big.log",
        log_paths=["/out/big.log"],
    )

    def run() -> None:
        docker_runner.start(attempt)
        assert recorder.final(attempt.task_id, timeout=300).status is ExecutorStatus.SUCCEEDED

    growth = peak_growth(run)
    first, long, last = recorder.messages(attempt.task_id, "file:/out/big.log")
    assert (first, last) == ("first", "last")
    assert_cut(long, "x")
    assert growth < MAX_GROWTH, f"peak memory grew by {growth / 1e6:.1f} MB"


def test_a_200_mb_line_from_a_shell_script_is_cut_in_bounded_memory(
    shell_runner: ShellRunner, recorder: Recorder
) -> None:
    attempt = shell_attempt("echo before", HUGE_LINE, "echo", "echo after >&2")

    def run() -> None:
        shell_runner.start(attempt)
        assert recorder.final(attempt.task_id, timeout=300).status is ExecutorStatus.SUCCEEDED

    growth = peak_growth(run)
    before, long = recorder.messages(attempt.task_id, "stdout")
    assert before == "before" and recorder.messages(attempt.task_id, "stderr") == ["after"]
    assert_cut(long, "x")
    assert growth < MAX_GROWTH, f"peak memory grew by {growth / 1e6:.1f} MB"


@pytest.fixture
def store_sink(engine: Engine, clock: FakeClock) -> StoreSink:
    return StoreSink(engine, clock, Wakeup())


@pytest.fixture
def docker_to_store(make_docker_runner: MakeDockerRunner, store_sink: StoreSink) -> Iterator[Any]:
    """A DockerRunner on the real engine reporting into the store (states are queued there)."""
    yield make_docker_runner(sink=store_sink)


def stored(engine: Engine, task_id: str) -> list[tuple[str, str]]:
    with Session(engine) as session:
        rows = session.exec(
            select(TaskLogRow).where(TaskLogRow.task_id == task_id).order_by(TaskLogRow.when)  # type: ignore[arg-type]
        ).all()
    return [(row.source, row.message) for row in rows]


def wait_finished(sink: StoreSink, task_id: str) -> None:
    """Wait until the runner has reported `task_id`'s outcome to the store's event queue."""

    def reported() -> bool:
        while not sink.states.empty():
            state, _ = sink.states.get_nowait()
            if state.task_id == task_id and state.status.finished:
                return True
        return False

    wait_for(reported, what=f"an outcome of task {task_id}", timeout=60)


BAD_LINES = "good 1\\n" + "nul \\000 byte\\n" + "good 2\\n" + "bad \\377\\376 utf8\\n" + "good 3\\n"
"""printf's format: good lines around a NUL byte and two bytes that are not UTF-8."""


@pytest.mark.docker
def test_nul_and_invalid_utf8_from_a_container_lose_no_good_line(
    docker_to_store: DockerRunner, store_sink: StoreSink, engine: Engine, busybox_image: str
) -> None:
    attempt = container_attempt(
        busybox_image,
        f"printf '{BAD_LINES}'",
        f"mkdir /out && printf '{BAD_LINES}' > /out/app.log",
        log_paths=["/out/app.log"],
    )
    docker_to_store.start(attempt)
    wait_finished(store_sink, attempt.task_id)
    docker_to_store.close()  # delivers what the pump still holds
    rows = stored(engine, attempt.task_id)
    nul = "nul \ufffd byte [gnomon: replaced 1 invalid characters]"
    assert [message for source, message in rows if source == "stdout"] == [
        "good 1",
        nul,
        "good 2",
        "bad \ufffd\ufffd utf8",  # the engine's log driver replaced these bytes already
        "good 3",
    ]
    # Lines copied from a file all get the time of the copy: compare them in any order.
    assert sorted(message for source, message in rows if source == "file:/out/app.log") == sorted(
        [
            "good 1",
            nul,
            "good 2",
            "bad \ufffd\ufffd utf8 [gnomon: replaced 2 invalid characters]",
            "good 3",
        ]
    )


@pytest.mark.parametrize("engine", ["postgres"], indirect=True)
def test_a_batch_the_store_refuses_is_stored_line_by_line(
    store_sink: StoreSink, engine: Engine, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("gnomon.scheduler.sink.clean_message", lambda text: text)  # the fault
    task_id = str(uuid.uuid4())
    lines = [OutputLine(clock.now(), "stdout", text) for text in ("one", "n\x00l", "three")]
    store_sink.output(task_id, lines)
    assert stored(engine, task_id) == [
        ("stdout", "one"),
        ("stdout", "three"),
        ("gnomon", "1 output lines could not be stored (DataError)"),
    ]
