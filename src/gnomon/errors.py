"""The one exception tree of Gnomon.

Every layer raises these; only the API and the operator translate them into HTTP status codes or
Kubernetes conditions, so the core never knows who called it.
"""

from __future__ import annotations


class GnomonError(Exception):
    """Root of every error Gnomon raises on purpose."""


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


class StoreUnavailableError(GnomonError):
    """The database cannot be reached."""
