"""The one exception tree of Gnomon.

Every layer raises these; only the API and the operator translate them into HTTP status codes or
Kubernetes conditions, so the core never knows who called it. The store's own failures become the
`StoreError`s below in one place, `gnomon.storage.failures`: no other layer sees the database
library's exceptions.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


class GnomonError(Exception):
    """Root of every error Gnomon raises on purpose."""


class SettingsError(GnomonError):
    """Settings that are each valid but together cannot do what was asked (e.g. run Kubernetes
    Jobs with no URL their pods can call back to); `setting` names the variable to change."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(f"{setting}: {message}")
        self.setting = setting
        self.message = message


class ListenError(GnomonError):
    """A server could not open its port (taken, or an address this host does not have); `setting`
    names the variable that chose the port."""

    def __init__(self, host: str, port: int, setting: str, reason: str) -> None:
        super().__init__(f"cannot listen on {host}:{port} ({setting}): {reason}")
        self.host = host
        self.port = port
        self.setting = setting
        self.reason = reason


class NotFoundError(GnomonError):
    """A named definition, process or task does not exist."""

    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"{kind} {key!r} not found")
        self.kind = kind
        self.key = key


class ConflictError(GnomonError):
    """The request is valid but clashes with the stored state (e.g. a definition owned by a CR)."""


class InvalidInputError(GnomonError):
    """Input that can never be accepted as it is; `field` names the (first) offending field and
    `problems` lists every (field, message) pair found."""

    def __init__(
        self, field: str, message: str, problems: list[tuple[str, str]] | None = None
    ) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.problems = problems or [(field, message)]


class StoreError(GnomonError):
    """The store failed a request; the subclasses below say how, when that matters to a caller.

    The message is the database's own first line. `kind` names the database's error (e.g.
    `DataError`), for reports that must say why without repeating the data."""

    def __init__(self, message: str, kind: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind or type(self).__name__


class StoreUnavailableError(StoreError):
    """The store cannot be reached, its connection was lost, or it did not answer in time: the
    same request may succeed later."""


class StoreDataError(StoreError):
    """The store refused a value (e.g. a character its text type cannot hold)."""


class ConcurrentWriteError(ConflictError, StoreError):
    """Two writers raced on the same key and this one lost; its transaction was rolled back."""
