"""FastAPI dependencies: the store session, settings, the clock and the caller's credentials."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gnomon.api.task_tokens import refuse_if_ended
from gnomon.domain.changes import ChangeFeed
from gnomon.domain.clock import Clock
from gnomon.settings import Settings
from gnomon.storage import Engine, Session, transaction
from gnomon.storage.tables import TaskRow
from gnomon.storage.tokens import hash_token

log = logging.getLogger(__name__)


@dataclass
class AppContext:
    """What every request needs, built once by `create_app`."""

    settings: Settings
    engine: Engine
    clock: Clock
    on_change: Callable[[str], None] = field(default=lambda _topic: None)
    """Called after a request changed what the scheduler acts on, with a topic: `definitions`,
    `triggers`, `requests` (kill, retry) or `callbacks`. `create_app` has it tell `changes` too."""
    changes: ChangeFeed = field(default_factory=ChangeFeed)
    """What changed, for the pages' live streams; requests that change only what pages show (a
    job's log entries and metadata) publish here alone, so they never wake a scheduler."""
    executor_health: Callable[[], str | None] | None = None
    """None when jobs can run, else why not; absent where no executor runs (API replicas)."""
    scheduler_health: Callable[[], str | None] | None = None
    """None while the scheduler loop runs, else why it is dead; absent where none runs."""


def get_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


ContextDep = Annotated[AppContext, Depends(get_context)]


def get_session(context: ContextDep) -> Iterator[Session]:
    """A transaction that commits when the route returns, before the response is sent.

    The store's failures, in the route or at COMMIT, come out as `StoreError`s (`transaction`),
    which `errors` turns into 503, 409 or 500.
    """
    with transaction(context.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
"""Scope `function`: FastAPI runs the commit after the route returns but before it sends the
response (with the default scope it would run after the response went out), so a client is never
told 2xx about a write that then fails to commit; a failed commit answers 503 instead."""


def get_now(context: ContextDep) -> datetime:
    return context.clock.now()


NowDep = Annotated[datetime, Depends(get_now)]


bearer_scheme = HTTPBearer(
    auto_error=False,
    description="GNOMON_API_TOKEN; on a task's callbacks, that task's GNOMON_TASK_TOKEN too",
)
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)]
"""Declares the bearer scheme in the OpenAPI document; the checks below decide the answer."""


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _tokens_match(given: str, expected: str) -> bool:
    # compare_digest refuses non-ASCII str (TypeError, a 500); bytes compare in constant time.
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8"))


def require_api_token(request: Request, context: ContextDep, _scheme: BearerDep) -> None:
    """Mutating endpoints need the API token when one is configured."""
    expected = context.settings.api_token
    if expected is None:
        return
    token = _bearer(request)
    if token is None:
        raise HTTPException(401, "missing bearer token", {"WWW-Authenticate": "Bearer"})
    if not _tokens_match(token, expected.get_secret_value()):
        raise HTTPException(403, "invalid token")


def authorize_task_callback(request: Request, context: ContextDep, task: TaskRow) -> None:
    """A task callback accepts the API token or that task's own GNOMON_TASK_TOKEN."""
    expected = context.settings.api_token
    token = _bearer(request)
    if (
        token is not None
        and task.token_hash
        and hmac.compare_digest(hash_token(token), task.token_hash)
    ):
        grace = context.settings.task_token_grace_seconds
        refuse_if_ended(task, now=context.clock.now(), grace_seconds=grace)
        return
    if expected is None:
        if token is None or task.token_hash is None:
            return
        raise HTTPException(403, "this token belongs to another task")
    if token is None:
        raise HTTPException(401, "missing bearer token", {"WWW-Authenticate": "Bearer"})
    if not _tokens_match(token, expected.get_secret_value()):
        raise HTTPException(403, "invalid token for this task")


ApiTokenDep = Depends(require_api_token)


def require_read_token(request: Request, context: ContextDep, scheme: BearerDep) -> None:
    """Reads need the API token too when GNOMON_REQUIRE_TOKEN_FOR_READS is set: definitions hold
    environment values and runs hold job logs."""
    if context.settings.require_token_for_reads:
        require_api_token(request, context, scheme)


ReadTokenDep = Depends(require_read_token)
