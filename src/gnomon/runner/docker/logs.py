"""Reading a container's output: its stdout/stderr as it is written, and its `log_paths` files
when it has ended.

stdout and stderr come through ONE follow-mode `/logs` request and are told apart by the
engine's 8-byte frame headers (stream 1 or 2), so a running container costs one connection and
one thread. The SDK's `logs()` cannot do this (it drops the stream id of each frame, and inspects
the container on every call to find out whether it has a TTY; ours never do), so the request is
made on the client's HTTP session directly. The stream ends by itself when the container stops;
`abort()` ends it early when the runner closes.

Each frame is one log entry with its engine timestamp (`timestamps=1`). An entry without a
trailing newline is a fragment of a long line (the engine splits lines at 16 KiB); fragments are
joined back into one line, up to the log bound: the rest of a longer line is dropped as it
streams and the line is marked as cut. Frames and `log_paths` files are read in bounded chunks,
so a 200 MB line (or file) never sits in memory whole.
"""

from __future__ import annotations

import contextlib
import io
import socket
import struct
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

import requests
from docker.errors import NotFound, create_api_error_from_http_exception

from gnomon.runner.base import GNOMON_SOURCE, STDERR, STDOUT, file_source
from gnomon.runner.docker.engine import map_docker_errors
from gnomon.runner.output import READ_CHUNK_BYTES, LineSplitter, TaskOutput, split_lines

FRAME_HEADER = struct.Struct(">BxxxL")
SOURCES = {1: STDOUT, 2: STDERR}


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def open_stream(api: Any, container_id: str, since: datetime | None) -> Any:
    """A follow-mode log stream of `container_id` (a `requests.Response`), from `since` on."""
    params: dict[str, Any] = {"stdout": 1, "stderr": 1, "follow": 1, "timestamps": 1}
    if since is not None:
        params["since"] = engine_time(since)
    url = f"{api.base_url}/v{api.api_version}/containers/{container_id}/logs"
    with map_docker_errors():
        response = api.get(url, params=params, stream=True, timeout=None)
        try:
            response.raise_for_status()
        except requests.HTTPError as exc:
            create_api_error_from_http_exception(exc)
    return response


def abort(response: Any) -> None:
    """End a stream another thread is blocked on, without touching the container.

    Shutting the socket down wakes the reader with an end of stream; closing the response here
    instead would race with the reader (http.client is not thread-safe), so the reader closes it.
    """
    connection = getattr(response.raw, "connection", None)
    sock = getattr(connection, "sock", None)
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


@dataclass
class _Source:
    """The line being assembled on one stream, and when its first fragment was written."""

    splitter: LineSplitter = field(default_factory=LineSplitter)
    when: datetime | None = None


def pump(response: Any, output: TaskOutput) -> None:
    """Copy the stream's lines into `output` until the container stops (or `abort()`)."""
    sources: dict[str, _Source] = {}
    frame_when: datetime | None = None
    with map_docker_errors():
        for kind, chunk, first in _frames(response.raw):
            name = SOURCES.get(kind, STDOUT)
            source = sources.setdefault(name, _Source())
            if first:
                when, chunk = parse_stamp(chunk)
                frame_when = when
                if not source.splitter.pending:
                    source.when = when
            for line, cut in source.splitter.feed(chunk):
                output.add(name, line, source.when, cut=cut)
                source.when = frame_when
    for name, source in sources.items():
        last = source.splitter.end()
        if last is not None:
            output.add(name, last[0], source.when, cut=last[1])


def _frames(raw: IO[bytes]) -> Iterator[tuple[int, bytes, bool]]:
    """(stream id, chunk, first chunk of its frame) for every frame, in bounded chunks."""
    while True:
        header = _read(raw, FRAME_HEADER.size)
        if len(header) < FRAME_HEADER.size:
            return
        kind, length = FRAME_HEADER.unpack(header)
        first = True
        while length:
            chunk = _read(raw, min(length, READ_CHUNK_BYTES))
            if not chunk:
                return
            yield kind, chunk, first
            first, length = False, length - len(chunk)


def _read(raw: IO[bytes], size: int) -> bytes:
    """Up to `size` bytes; fewer only at the end of the stream."""
    data = raw.read(size)
    while data and len(data) < size:
        more = raw.read(size - len(data))
        if not more:
            break
        data += more
    return data


def parse_stamp(data: bytes) -> tuple[datetime | None, bytes]:
    """Split `2024-05-07T12:00:00.123456789Z message` (bytes) into its time and its message."""
    stamp, space, message = data.partition(b" ")
    if not space:
        return None, data
    try:
        return datetime.fromisoformat(stamp.decode("ascii")), message
    except (ValueError, UnicodeDecodeError):
        return None, data


def engine_time(moment: datetime) -> str:
    """`seconds.nanoseconds` since the epoch, exactly: a float would round the microseconds
    (at today's epoch seconds a double resolves about a quarter of a microsecond)."""
    delta = moment - _EPOCH
    return f"{delta.days * 86_400 + delta.seconds}.{delta.microseconds:06d}000"


def copy_log_paths(api: Any, container_id: str, path: str, output: TaskOutput) -> None:
    """Copy the file (or every file under the directory) `path` out of a stopped container."""
    try:
        with map_docker_errors():
            try:
                chunks, _stat = api.get_archive(container_id, path, chunk_size=READ_CHUNK_BYTES)
            except NotFound:
                output.add(GNOMON_SOURCE, f"log path {path} was not found in the container")
                return
            with tarfile.open(fileobj=_ChunkReader(chunks), mode="r|*") as archive:
                for member in archive:
                    if not member.isfile():
                        continue
                    source = file_source(_member_path(path, member.name))
                    content = archive.extractfile(member)
                    if content is not None:
                        for line, cut in split_lines(_chunks(content)):
                            output.add(source, line, cut=cut)
    except (tarfile.TarError, OSError) as exc:
        output.add(GNOMON_SOURCE, f"log path {path} could not be copied: {exc}")
    finally:
        output.finish()


def _chunks(file: IO[bytes]) -> Iterator[bytes]:
    while chunk := file.read(READ_CHUNK_BYTES):
        yield chunk


def _member_path(requested: str, member: str) -> str:
    """The in-container path of an archive member (the archive is rooted at the basename)."""
    parent = requested.rstrip("/").rpartition("/")[0]
    return f"{parent}/{member}" if parent or requested.startswith("/") else member


class _ChunkReader(io.RawIOBase):
    """A readable file over the byte chunks the engine streams, for `tarfile`'s stream mode."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._rest = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._rest:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._rest = chunk
        size = min(len(buffer), len(self._rest))
        buffer[:size] = self._rest[:size]
        self._rest = self._rest[size:]
        return size
