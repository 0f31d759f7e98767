"""Fixtures of the page tests: the app with its pages over each store, and a way to fill the
store with definitions and runs as the API and the scheduler would have written them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from gnomon.api.app import create_app
from gnomon.domain import ProcessDefinition, ProcessStatus, TaskDefinition, TaskStatus
from gnomon.domain.changes import ChangeFeed
from gnomon.settings import Settings
from gnomon.storage import WriteBatch, run_requests, transaction
from gnomon.storage.definitions import upsert_definition
from gnomon.web import install_pages
from tests.clock import FakeClock
from tests.live import live_server
from tests.samples import definition, docker_task
from tests.web.html import Element, parse

MAX_STREAMS = 3
"""Live streams the `server` fixture's feed admits at once."""
EVERY_HOUR_AT_5: dict[str, Any] = {
    "cron_schedule": {
        "minutes": "5",
        "hours": "*",
        "day_of_month": "*",
        "month": "*",
        "day_of_week": "?",
        "time_zone": "Europe/Berlin",
    }
}


@dataclass
class Attempt:
    """An attempt of a seeded run: its task definition, status and reason."""

    task: str
    status: TaskStatus
    reason: str | None = None


class Store:
    """Definitions and runs written straight to the store, with times from the test's clock."""

    def __init__(self, engine: Engine, clock: FakeClock) -> None:
        self.engine = engine
        self.clock = clock

    def define(
        self, name: str, *tasks: str, owner: str | None = None, **extra: Any
    ) -> ProcessDefinition:
        body = definition(name, *(docker_task(task) for task in tasks or ("step",)), **extra)
        parsed = ProcessDefinition.model_validate(body)
        with Session(self.engine) as session:
            upsert_definition(session=session, definition=parsed, now=self.clock.now(), owner=owner)
            session.commit()
        return parsed

    def run(
        self,
        name: str,
        *,
        tasks: Sequence[str] = ("step",),
        attempts: Sequence[Attempt] = (),
        status: ProcessStatus = ProcessStatus.SUCCEEDED,
        seconds: float = 90.0,
        origin: str = "schedule",
        task_filter: list[str] | None = None,
        started: datetime | None = None,
    ) -> str:
        """A run of `name` started at `started` (default: now) that took `seconds` unless still
        running; each of `attempts` ends with the run, in order."""
        began = started or self.clock.now()
        snapshot = [TaskDefinition.model_validate(docker_task(task)) for task in tasks]
        by_name = {task.task_definition_name: task for task in snapshot}
        ended = began + timedelta(seconds=seconds)
        batch = WriteBatch()
        process_id = batch.add_process(
            name=name,
            tasks=snapshot,
            origin=origin,
            scheduled_for=None,
            task_filter=task_filter,
            now=began,
        )
        for index, attempt in enumerate(attempts):
            task_id, _ = batch.add_task(
                process_id=process_id,
                name=name,
                task=by_name[attempt.task],
                attempts=index,
                now=began,
            )
            if attempt.status != TaskStatus.RUNNING:
                batch.end_task(task_id, attempt.status, attempt.reason, ended)
        if status != ProcessStatus.RUNNING:
            batch.end_process(process_id, status, ended)
        with transaction(self.engine) as session:
            batch.flush(session)
        return process_id

    def trigger(self, name: str, task_filter: list[str] | None = None) -> None:
        with Session(self.engine) as session:
            run_requests.add_trigger(
                session=session, name=name, task_filter=task_filter, now=self.clock.now()
            )
            session.commit()

    def retry(self, process_id: str) -> None:
        with Session(self.engine) as session:
            run_requests.add_retry(session=session, process_id=process_id, now=self.clock.now())
            session.commit()


@dataclass
class Page:
    """A page as served: its status, headers and parsed document."""

    status: int
    headers: dict[str, str]
    text: str
    document: Element


class Site:
    """Reads pages through the app, as a browser without JavaScript would."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def get(self, path: str, **headers: str) -> Page:
        response = self.client.get(path, headers=headers)
        assert response.headers["content-type"].startswith("text/html"), response.text[:500]
        return Page(
            response.status_code, dict(response.headers), response.text, parse(response.text)
        )


def pages_app(settings: Settings, engine: Engine, clock: FakeClock) -> TestClient:
    app = create_app(settings, engine, clock=clock)
    install_pages(app)
    return TestClient(app, raise_server_exceptions=True)


@pytest.fixture
def store(engine: Engine, clock: FakeClock) -> Store:
    return Store(engine, clock)


@pytest.fixture
def site(settings: Settings, engine: Engine, clock: FakeClock) -> Iterator[Site]:
    """Pages over a SQLite store, then over PostgreSQL."""
    with pages_app(settings, engine, clock) as client:
        yield Site(client)


@pytest.fixture
def feed() -> ChangeFeed:
    """The change feed of the `server` fixture, quick to coalesce and with a small bound."""
    return ChangeFeed(window=0.1, max_subscribers=MAX_STREAMS)


@pytest.fixture
def server(settings: Settings, engine: Engine, clock: FakeClock, feed: ChangeFeed) -> Iterator[str]:
    """The API with its pages over each store, served over real HTTP; its base URL."""
    app = create_app(settings, engine, clock=clock, changes=feed)
    install_pages(app)
    with live_server(app) as url:
        yield url
        feed.close()  # as `gnomon serve` does first on shutdown: streams end, the server stops
