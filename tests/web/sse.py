"""Reading a Server-Sent Events stream over real HTTP, in a thread, as a browser would."""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
from dataclasses import dataclass
from typing import Any

import httpx

_ENDED = None


@dataclass(frozen=True)
class Event:
    """One event of a stream: its name (`message` if unnamed), data and id."""

    event: str
    data: str
    id: str | None

    def json(self) -> Any:
        return json.loads(self.data)


class EventStream:
    """A GET of `url` kept open: its status and headers at once, then its events as they come.

    A thread reads the body and queues each event; `next` takes them, `quiet` asserts none
    comes, `ended` waits for the server to end the stream. Close it (it is a context manager).
    """

    def __init__(self, url: str, **headers: str) -> None:
        self.client = httpx.Client(timeout=httpx.Timeout(10, read=None))
        request = self.client.build_request("GET", url, headers=headers)
        self.response = self.client.send(request, stream=True)
        self.status = self.response.status_code
        self.headers = self.response.headers
        self.comments: list[str] = []
        self.events: queue.Queue[Event | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name="sse-reader", daemon=True)
        if self.status == 200:
            self._reader.start()
        else:
            self.body = self.response.read().decode()

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Hang up, as a browser closing the tab does (the reader thread stops at once)."""
        network = self.response.extensions.get("network_stream")
        sock = network.get_extra_info("socket") if network is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.response.close()
        self.client.close()
        if self._reader.is_alive():
            self._reader.join(timeout=5)

    def next(self, timeout: float = 10) -> Event:
        try:
            event = self.events.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no event within {timeout}s") from None
        assert event is not _ENDED, "the stream ended instead"
        return event

    def quiet(self, seconds: float) -> None:
        """Assert that no event comes within `seconds`."""
        try:
            event = self.events.get(timeout=seconds)
        except queue.Empty:
            return
        raise AssertionError(f"an event came: {event}")

    def ended(self, timeout: float = 10) -> None:
        """Wait for the server to end the stream; events before the end are skipped."""
        try:
            while self.events.get(timeout=timeout) is not _ENDED:
                pass
        except queue.Empty:
            raise AssertionError(f"the stream did not end within {timeout}s") from None

    def _read(self) -> None:
        fields: dict[str, str] = {}
        try:
            for line in self.response.iter_lines():
                if line == "":
                    if "data" in fields or "event" in fields:
                        event = Event(
                            fields.get("event", "message"), fields.get("data", ""), fields.get("id")
                        )
                        self.events.put(event)
                    fields = {}
                elif line.startswith(":"):
                    self.comments.append(line[1:].strip())
                else:
                    name, _, value = line.partition(":")
                    value = value.removeprefix(" ")
                    fields[name] = (
                        fields[name] + "\n" + value if name == "data" and name in fields else value
                    )
        except (httpx.HTTPError, RuntimeError, ValueError):
            pass  # closed under the reader
        finally:
            self.events.put(_ENDED)
