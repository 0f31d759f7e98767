"""JSON POSTs shared by the webhook and PagerDuty channels: one place decides what an HTTP answer
means for a delivery, and what of a URL may appear in logs.

Webhook URLs often carry their secret in the path (chat hooks, signed endpoints), so only the
scheme and host are ever logged (peers §4 item 12: secrets leaking through logs).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from gnomon.notifications.errors import DeliveryError

RETRYABLE_STATUSES = frozenset({408, 425, 429})


def safe_url(url: str) -> str:
    """`https://host/…`: the part of a URL that is safe to log."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<invalid url>"
    return f"{parts.scheme}://{host}{port}/…"


def post_json(
    client: httpx.Client,
    url: str,
    body: Mapping[str, Any],
    *,
    retryable_statuses: Collection[int] = RETRYABLE_STATUSES,
) -> httpx.Response:
    """POST `body` as JSON; any answer outside 2xx is a `DeliveryError`.

    Args:
        client: The notifier's shared client (it carries the timeout).
        url: Where to POST.
        body: The JSON body.
        retryable_statuses: 4xx codes that may succeed later; every 5xx is retryable.

    Returns:
        The successful response.

    Raises:
        DeliveryError: On a transport error (retryable, except for a malformed or unsupported
            URL) or a non-2xx answer.
    """
    target = safe_url(url)
    try:
        response = client.post(url, json=dict(body))
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise DeliveryError(f"POST {target}: {exc}", retryable=False) from exc
    except httpx.HTTPError as exc:
        raise DeliveryError(f"POST {target}: {type(exc).__name__}: {exc}", retryable=True) from exc
    if response.is_success:
        return response
    status = response.status_code
    retryable = status >= 500 or status in retryable_statuses
    raise DeliveryError(
        f"POST {target} answered {status}: {response.text[:200]}", retryable=retryable
    )
