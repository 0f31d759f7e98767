"""Bounded, batched delivery of a job's output lines to the sink (shared by the Docker and shell
backends).

Two goals pull against each other: lines should reach the sink while the job runs (people watch
long jobs), and a task keeps at most `max_log_lines_per_task` lines, the newest ones, because the
end of a chatty job's output is where its error is. Lines already delivered cannot be taken back,
so a `TaskOutput` spends only the first half of the bound on live delivery. Once that is used it
holds back the newest lines in a ring (the other half plus whatever the live half left) and
delivers them when the job ends, after one `gnomon` line counting what was dropped. A burst that
overflows the bound before the first delivery (the common case: a job prints a lot and exits)
therefore keeps exactly the newest lines; a slow chatty job keeps its beginning and its end. No
task ever gets more than the bound plus that one note. (An adopted task starts a new count.)

Every line passes `clean_message` (domain/logtext.py) on its way in: invalid characters replaced
and marked, long lines cut and marked. Readers split their streams with `LineSplitter`, which
holds at most `MAX_LINE_BYTES` of one line however long it runs, so a job printing 200 MB without
a newline costs a few hundred kilobytes, not 200 MB.

Delivery is batched: a line waits at most `FLUSH_DELAY_SECONDS` for companions, so a burst becomes
one `sink.output` call. One `OutputPump` thread per runner serves every task's deadline; it sleeps
until the earliest deadline instead of polling.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Final

from gnomon.domain.limits import MAX_LOG_MESSAGE_CHARS
from gnomon.domain.logtext import clean_message, decode_output
from gnomon.runner.base import GNOMON_SOURCE, AttemptSink, OutputLine

FLUSH_DELAY_SECONDS: Final = 0.25
"""How long a line may wait for others before it is delivered."""

MAX_LINE_BYTES: Final = 4 * MAX_LOG_MESSAGE_CHARS
"""Bytes of one line a reader holds: enough for the longest storable line in any UTF-8."""
READ_CHUNK_BYTES: Final = 64 * 1024
"""How much readers ask for at a time."""

log = logging.getLogger(__name__)


def now_utc() -> datetime:
    return datetime.now(UTC)


class LineSplitter:
    """Splits a byte stream into lines, keeping at most `max_bytes` of each: the rest of a longer
    line is dropped as it arrives, and the line is reported as cut."""

    def __init__(self, max_bytes: int = MAX_LINE_BYTES) -> None:
        self._max = max_bytes
        self._line = bytearray()
        self._cut = False

    def feed(self, data: bytes) -> Iterator[tuple[bytes, bool]]:
        """The lines `data` completes, as (bytes without the newline, cut)."""
        start = 0
        while True:
            end = data.find(b"\n", start)
            if end < 0:
                self._keep(data[start:])
                return
            self._keep(data[start:end])
            yield self._take()
            start = end + 1

    def end(self) -> tuple[bytes, bool] | None:
        """The unfinished last line, if any."""
        if not self._line and not self._cut:
            return None
        return self._take()

    @property
    def pending(self) -> bool:
        return bool(self._line) or self._cut

    def _keep(self, piece: bytes) -> None:
        room = self._max - len(self._line)
        if len(piece) > room:
            self._line += piece[:room]
            self._cut = True
        else:
            self._line += piece

    def _take(self) -> tuple[bytes, bool]:
        line, cut = bytes(self._line), self._cut
        self._line.clear()
        self._cut = False
        return line, cut


def split_lines(chunks: Iterable[bytes]) -> Iterator[tuple[bytes, bool]]:
    """Every line of a stream of byte chunks, the last one included even without a newline."""
    splitter = LineSplitter()
    for chunk in chunks:
        yield from splitter.feed(chunk)
    last = splitter.end()
    if last is not None:
        yield last


def render(message: str | bytes, *, cut: bool = False) -> str:
    """A line as it is stored: decoded, without its line ending, cleaned, cut and marked."""
    text = decode_output(message) if isinstance(message, bytes) else message
    return clean_message(text.rstrip("\r\n"), cut=cut)


class TaskOutput:
    """The output of one task: bounded, batched, delivered in order. Thread-safe."""

    def __init__(self, pump: OutputPump, task_id: str, limit: int, *, live: bool) -> None:
        self.task_id = task_id
        self._pump = pump
        self._limit = limit
        self._live_budget = limit - limit // 2 if live else 0
        self._pending: deque[OutputLine] = deque()
        self._delivered = 0
        self._dropped = 0
        self._last_dropped: datetime | None = None
        self._scheduled = False
        self._finished = False
        self._lock = threading.Lock()

    def add(
        self, source: str, message: str | bytes, when: datetime | None = None, *, cut: bool = False
    ) -> None:
        """Record one line (`cut`: its reader dropped its tail); it reaches the sink within
        `FLUSH_DELAY_SECONDS` or at `finish()`."""
        line = OutputLine(when=when or now_utc(), source=source, message=render(message, cut=cut))
        with self._lock:
            if self._finished:
                return
            self._pending.append(line)
            while self._delivered + len(self._pending) > self._limit:
                self._last_dropped = self._pending.popleft().when
                self._dropped += 1
            if not self._scheduled and self._delivered < self._live_budget:
                self._scheduled = True
                self._pump.schedule(self, time.monotonic() + FLUSH_DELAY_SECONDS)

    def flush(self) -> None:
        """Deliver what the live budget allows (called by the pump)."""
        with self._lock:
            self._scheduled = False
            if self._finished:
                return
            allowed = self._live_budget - self._delivered
            batch = [self._pending.popleft() for _ in range(min(allowed, len(self._pending)))]
            self._deliver(batch)

    def finish(self) -> None:
        """Deliver everything held back, with the dropped-lines note; later lines are ignored."""
        with self._lock:
            if self._finished:
                return
            self._finished = True
            batch = list(self._pending)
            self._pending.clear()
            if self._dropped:
                note = (
                    f"{self._dropped} lines of output were dropped to keep this task within "
                    f"{self._limit} lines"
                )
                when = self._last_dropped or now_utc()
                batch.insert(0, OutputLine(when=when, source=GNOMON_SOURCE, message=note))
            self._deliver(batch)

    def _deliver(self, batch: list[OutputLine]) -> None:
        """Called with the lock held, so one task's batches reach the sink in order."""
        if not batch:
            return
        self._delivered += len(batch)
        try:
            self._pump.sink.output(self.task_id, batch)
        except Exception:
            log.exception("the sink rejected output", extra={"task_id": self.task_id})


class OutputPump:
    """Owns the one thread that delivers every task's batches when their delay is up."""

    def __init__(self, sink: AttemptSink, limit: int) -> None:
        self.sink = sink
        self._limit = limit
        self._heap: list[tuple[float, int, TaskOutput]] = []
        self._sequence = itertools.count()
        self._closed = False
        self._wake = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="gnomon-output", daemon=True)
        self._thread.start()

    def open(self, task_id: str, *, live: bool = True) -> TaskOutput:
        """A new bounded output for `task_id`; with `live=False` nothing is delivered before
        `finish()` (for output that arrives all at once, such as a copied file)."""
        return TaskOutput(self, task_id, self._limit, live=live)

    def schedule(self, output: TaskOutput, deadline: float) -> None:
        with self._wake:
            heapq.heappush(self._heap, (deadline, next(self._sequence), output))
            self._wake.notify()

    def close(self) -> None:
        """Deliver what is due now and stop the thread."""
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            due = self._next_due()
            if due is None:
                return
            for output in due:
                output.flush()

    def _next_due(self) -> list[TaskOutput] | None:
        """Block until some outputs are due; None once closed (after handing back the rest)."""
        with self._wake:
            while True:
                if self._closed:
                    rest = [entry[2] for entry in self._heap]
                    self._heap.clear()
                    return rest or None
                now = time.monotonic()
                if self._heap and self._heap[0][0] <= now:
                    due = []
                    while self._heap and self._heap[0][0] <= now:
                        due.append(heapq.heappop(self._heap)[2])
                    return due
                self._wake.wait(self._heap[0][0] - now if self._heap else None)
