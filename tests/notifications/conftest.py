"""Fixtures for notification tests: a real SMTP server, a real HTTP receiver, reports, notifiers."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from gnomon.domain.enums import ProcessStatus
from gnomon.notifications import Notifier, NotifierConfig, RunReport, SmtpConfig, TaskReport
from tests.notifications.receivers import (
    EphemeralController,
    HttpReceiver,
    MailHandler,
    start_http_receiver,
)
from tests.notifications.support import (
    PROCESS_ID,
    SITE_URL,
    STARTED,
    NotifierFactory,
    ReportFactory,
    default_tasks,
)


@pytest.fixture
def smtp_server() -> Iterator[tuple[MailHandler, int]]:
    """A real SMTP server on 127.0.0.1: its handler (received messages) and port."""
    handler = MailHandler()
    controller = EphemeralController(handler, hostname="127.0.0.1", port=0)
    controller.start()
    yield handler, controller.port
    controller.stop()


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    """A real HTTP server on 127.0.0.1 that records JSON POSTs."""
    http_receiver, server, thread = start_http_receiver()
    yield http_receiver
    if http_receiver.hold is not None:
        http_receiver.hold.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def make_report() -> ReportFactory:
    """Build a `RunReport`; `recent` defaults to this run followed by `previous`."""

    def build(
        status: ProcessStatus,
        previous: ProcessStatus | None = None,
        *,
        recent: Sequence[ProcessStatus] | None = None,
        name: str = "nightly-etl",
        tasks: Sequence[TaskReport] | None = None,
        killed: bool = False,
    ) -> RunReport:
        if recent is None:
            recent = [status] if previous is None else [status, previous]
        return RunReport(
            process_definition_name=name,
            process_id=PROCESS_ID,
            status=status,
            started_at=STARTED,
            ended_at=STARTED + timedelta(minutes=4, seconds=5),
            previous_status=previous,
            recent_statuses=list(recent),
            tasks=default_tasks(status) if tasks is None else list(tasks),
            site_url=SITE_URL,
            killed=killed,
        )

    return build


@pytest.fixture
def make_notifier(
    smtp_server: tuple[MailHandler, int], registry: CollectorRegistry
) -> Iterator[NotifierFactory]:
    """Build a `Notifier` sending to the test SMTP server, with millisecond backoff."""
    notifiers: list[Notifier] = []

    def build(*, workers: int = 2, **overrides: Any) -> Notifier:
        smtp = SmtpConfig(host="127.0.0.1", port=smtp_server[1], sender="gnomon@example.test")
        values: dict[str, Any] = {
            "smtp": smtp,
            "timeout_seconds": 5.0,
            "attempts": 3,
            "backoff_seconds": 0.01,
            "backoff_max_seconds": 0.05,
        }
        values.update(overrides)
        notifier = Notifier(NotifierConfig(**values), registry, workers=workers)
        notifiers.append(notifier)
        return notifier

    yield build
    for notifier in notifiers:
        notifier.close(timeout=5)
