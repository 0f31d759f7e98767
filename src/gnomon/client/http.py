"""A small synchronous client of Gnomon's REST API, with errors a terminal user can read."""

from __future__ import annotations

from typing import Any

import httpx

from gnomon.errors import GnomonError


class ApiError(GnomonError):
    """The server refused the request, or could not be reached; `str()` is for people."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ApiClient:
    def __init__(self, base_url: str, token: str | None = None, timeout: float = 30.0) -> None:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """The decoded JSON answer (None for 204); raises ApiError with the server's reasons."""
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(f"cannot reach Gnomon at {self.base_url}: {exc}") from None
        if response.status_code >= 400:
            raise ApiError(_describe(response), response.status_code)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()


def _describe(response: httpx.Response) -> str:
    """The server's reason: each field at fault once (a 400's message repeats the first field),
    else its message."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:500]}"
    if not isinstance(body, dict):
        return f"HTTP {response.status_code}: {response.text[:500]}"
    problems = [f"{e.get('field')}: {e.get('message')}" for e in body.get("errors") or []]
    if problems:
        return "\n  ".join(problems)
    return str(body.get("message", f"HTTP {response.status_code}"))
