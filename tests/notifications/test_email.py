"""Email notifications delivered to a real SMTP server on loopback."""

from __future__ import annotations

import logging
import socket
from email.message import EmailMessage

import pytest
from prometheus_client import CollectorRegistry

from gnomon.domain.definitions import Notification
from gnomon.domain.enums import NotifyWhen, ProcessStatus
from gnomon.notifications import SmtpConfig
from tests.notifications.receivers import MailHandler
from tests.notifications.support import (
    EXPECTED,
    PROCESS_ID,
    TRANSITIONS,
    F,
    NotifierFactory,
    ReportFactory,
    S,
    deliveries,
)

NAMES = {
    NotifyWhen.ALWAYS: "Ops, Night Shift",
    NotifyWhen.ON_FAILURE: "Data Team",
    NotifyWhen.ON_STATE_CHANGE: "Ann Example",
    NotifyWhen.ON_STATE_CHANGE_AND_FAILURES: "Zoë Example",
    NotifyWhen.NEVER: "Nobody",
}


def address(when: NotifyWhen) -> str:
    return f"{when.value.replace('_', '-')}@example.test"


def subscribers() -> list[Notification]:
    return [
        Notification.model_validate(
            {"email": {"name": NAMES[when], "email": address(when), "notify_when": when.value}}
        )
        for when in NotifyWhen
    ]


def plain_body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


@pytest.mark.parametrize(
    "transition",
    [0, 1, 2, 3, 5],
    ids=[
        "succeeded->succeeded",
        "succeeded->failed",
        "failed->failed",
        "failed->succeeded",
        "first-failed",
    ],
)
def test_one_message_reaches_exactly_the_subscribers_who_asked(
    transition: int,
    smtp_server: tuple[MailHandler, int],
    make_notifier: NotifierFactory,
    make_report: ReportFactory,
) -> None:
    previous, status = TRANSITIONS[transition]
    notifier = make_notifier()

    notifier.notify(make_report(status, previous), subscribers())

    assert notifier.join(10)
    handler = smtp_server[0]
    assert len(handler.messages) == 1
    received = handler.messages[0]
    expected = {address(when) for when in NotifyWhen if EXPECTED[when][transition]}
    assert set(received.rcpt_tos) == expected
    assert received.mail_from == "gnomon@example.test"
    message = received.message
    assert message["Subject"] == f"Process {status.value}: nightly-etl"
    to = {(a.display_name, a.addr_spec) for a in message["To"].addresses}
    assert to == {(NAMES[when], address(when)) for when in NotifyWhen if EXPECTED[when][transition]}
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_body(("html",)) is not None


def test_body_names_the_run_and_every_task_with_its_attempts(
    smtp_server: tuple[MailHandler, int],
    make_notifier: NotifierFactory,
    make_report: ReportFactory,
) -> None:
    notifier = make_notifier()
    report = make_report(F, S, killed=True)

    notifier.notify(report, subscribers())

    assert notifier.join(10)
    body = plain_body(smtp_server[0].messages[0].message)
    assert "nightly-etl" in body
    assert "failed (killed)" in body
    assert "4m 5s" in body
    assert str(PROCESS_ID) in body
    assert report.page_url in body
    assert "extract: Succeeded after 1 attempt" in body
    assert "transform: Failed for reason: exit code 2 after 3 attempts" in body
    assert "load: Did not run" in body


def test_success_mentions_retried_tasks(
    smtp_server: tuple[MailHandler, int],
    make_notifier: NotifierFactory,
    make_report: ReportFactory,
) -> None:
    notifier = make_notifier()
    notifier.notify(make_report(S, F), subscribers())
    assert notifier.join(10)
    message = smtp_server[0].messages[0].message
    assert message["Subject"] == "Process succeeded: nightly-etl"
    assert "load: Succeeded after 2 attempts" in plain_body(message)


def test_no_message_when_nobody_asked(
    smtp_server: tuple[MailHandler, int],
    make_notifier: NotifierFactory,
    make_report: ReportFactory,
    registry: CollectorRegistry,
) -> None:
    notifier = make_notifier()
    only_failures = [
        Notification.model_validate(
            {"email": {"name": "Ops", "email": "ops@example.test", "notify_when": "on_failure"}}
        )
    ]
    assert notifier.plan(make_report(S, S), only_failures) == []
    notifier.notify(make_report(S, S), only_failures)
    assert notifier.join(10)
    assert smtp_server[0].messages == []
    assert deliveries(registry, "email", "delivered") == 0


def test_an_address_listed_twice_gets_one_copy(
    smtp_server: tuple[MailHandler, int],
    make_notifier: NotifierFactory,
    make_report: ReportFactory,
) -> None:
    notifier = make_notifier()
    twice = [
        Notification.model_validate({"email": {"name": "Ops", "email": "ops@example.test"}}),
        Notification.model_validate({"email": {"name": "Ops", "email": "OPS@example.test"}}),
    ]
    notifier.notify(make_report(F, None), twice)
    assert notifier.join(10)
    assert smtp_server[0].messages[0].rcpt_tos == ["ops@example.test"]


def test_a_rejected_recipient_does_not_stop_the_others(
    smtp_server: tuple[MailHandler, int],
    make_notifier: NotifierFactory,
    make_report: ReportFactory,
    registry: CollectorRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler = smtp_server[0]
    handler.reject = {address(NotifyWhen.ALWAYS)}
    notifier = make_notifier()

    with caplog.at_level(logging.WARNING, logger="gnomon.notifications"):
        notifier.notify(make_report(F, None), subscribers())
        assert notifier.join(10)

    assert set(handler.messages[0].rcpt_tos) == {
        address(NotifyWhen.ON_FAILURE),
        address(NotifyWhen.ON_STATE_CHANGE),
        address(NotifyWhen.ON_STATE_CHANGE_AND_FAILURES),
    }
    assert deliveries(registry, "email", "delivered") == 1
    assert any("refused some recipients" in r.getMessage() for r in caplog.records)


def test_a_permanent_smtp_rejection_is_not_retried(
    smtp_server: tuple[MailHandler, int],
    make_notifier: NotifierFactory,
    make_report: ReportFactory,
    registry: CollectorRegistry,
) -> None:
    handler = smtp_server[0]
    handler.reject = {"ops@example.test"}
    notifier = make_notifier(attempts=5)
    only = [Notification.model_validate({"email": {"name": "Ops", "email": "ops@example.test"}})]

    notifier.notify(make_report(F, None), only)

    assert notifier.join(10)
    assert handler.messages == []
    assert deliveries(registry, "email", "failed") == 1
    assert deliveries(registry, "email", "retrying") == 0


def test_an_unreachable_server_is_retried_then_given_up(
    make_notifier: NotifierFactory,
    make_report: ReportFactory,
    registry: CollectorRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    notifier = make_notifier(smtp=SmtpConfig(host="127.0.0.1", port=closed_port, timeout_seconds=2))

    with caplog.at_level(logging.WARNING, logger="gnomon.notifications"):
        notifier.notify(make_report(ProcessStatus.FAILED, None), subscribers())
        assert notifier.join(10)

    assert deliveries(registry, "email", "retrying") == 2
    assert deliveries(registry, "email", "failed") == 1
    final = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(final) == 1
    assert final[0].__dict__["process_definition_name"] == "nightly-etl"
    assert final[0].__dict__["process_id"] == str(PROCESS_ID)
