"""The one error a notification channel raises, telling the notifier whether to try again.

A delivery that can never succeed as configured (a 404 webhook, a recipient the mail server
rejects with a 5xx code) is given up at once instead of being retried for minutes; anything
that may be transient (timeouts, refused connections, 5xx answers) is retried with backoff.
"""

from __future__ import annotations

from gnomon.errors import GnomonError


class DeliveryError(GnomonError):
    """A notification could not be delivered.

    Attributes:
        retryable: Whether another attempt could succeed.
    """

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable
