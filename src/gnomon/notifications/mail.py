"""Email notifications over plain SMTP (stdlib `smtplib`), replacing Sundial's Amazon SES mail.

Any SMTP relay works (a cluster's mail relay, a provider's submission port, or a local MTA), so
Gnomon needs no cloud account to send mail. One message per finished run goes to every selected
recipient, with Sundial's subjects (`Process succeeded: <name>` / `Process failed: <name>`) so
existing mail filters keep working. The message is `multipart/alternative`: a plain-text body and
an HTML one, both rendered by Jinja2 from `templates/` and saying the same: the run's facts, a
link to its page in the web UI, Sundial's task summary table, and the last lines of each failed
task's final attempt. Sundial's GraphViz picture, which needed a public S3 bucket, is left out in
favour of the link.

This module is named `mail` rather than `email` so that it cannot shadow the standard library's
`email` package.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from enum import StrEnum
from functools import cache
from typing import Any, Final

import jinja2

from gnomon.domain.definitions import Email
from gnomon.notifications.errors import DeliveryError
from gnomon.notifications.report import RunReport, TaskReport, format_duration

log = logging.getLogger(__name__)


class SmtpTls(StrEnum):
    """Transport security to the SMTP server."""

    NONE = "none"
    STARTTLS = "starttls"
    SSL = "ssl"


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send mail (from the `GNOMON_SMTP_*` settings)."""

    host: str = "localhost"
    port: int = 25
    tls: SmtpTls = SmtpTls.NONE
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str = "gnomon@localhost"
    timeout_seconds: float = 10.0


def recipient_address(recipient: Email) -> Address:
    """`Name <address>` for one subscriber.

    Raises:
        ValueError: When the address cannot be parsed.
    """
    addr_spec = recipient.email.strip().removeprefix("<").removesuffix(">")
    try:
        return Address(display_name=recipient.name, addr_spec=addr_spec)
    except HeaderParseError as exc:
        raise ValueError(str(exc)) from exc


def _subject(report: RunReport) -> str:
    verb = "succeeded" if report.succeeded else "failed"
    return f"Process {verb}: {report.process_definition_name}"


# Terminal colour codes are common in job output; other control characters could garble a mail
# reader's display. Tabs and line breaks are kept.
_TERMINAL_CODES: Final = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
_CONTROLS: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _readable(message: str) -> str:
    return _CONTROLS.sub("\ufffd", _TERMINAL_CODES.sub("", message))


@dataclass(frozen=True)
class _Line:
    time: str
    source: str
    message: str


@dataclass(frozen=True)
class _Tail:
    """The quoted end of one failed task's final attempt."""

    task_definition_name: str
    attempt: int
    lines: tuple[_Line, ...]


def _tail(task: TaskReport) -> _Tail:
    lines = tuple(
        _Line(entry.when.strftime("%H:%M:%S.%f")[:-3], entry.source, _readable(entry.message))
        for entry in task.log_tail or ()
    )
    return _Tail(task.task_definition_name, task.attempts, lines)


def _facts(report: RunReport) -> list[tuple[str, str]]:
    outcome = report.status.value + (" (killed)" if report.killed else "")
    return [
        ("Process definition", report.process_definition_name),
        ("Outcome", outcome),
        ("Previous run", report.previous_status.value if report.previous_status else "none"),
        ("Started", _utc(report.started_at)),
        ("Ended", _utc(report.ended_at)),
        ("Duration", format_duration(report.duration_seconds)),
        ("Process id", str(report.process_id)),
    ]


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _context(report: RunReport) -> dict[str, Any]:
    """What both bodies say: the same facts, tasks and log lines."""
    failed = [task for task in report.tasks if task.status == "failed"]
    quoted = [task for task in failed if task.log_tail is not None]
    return {
        "subject": _subject(report),
        "headline": report.status.value.capitalize() + (" (killed)" if report.killed else ""),
        "report": report,
        "facts": _facts(report),
        "tails": [_tail(task) for task in quoted],
        "unquoted": len(failed) - len(quoted),
    }


@cache
def _environment() -> jinja2.Environment:
    # HTML is escaped, the plain-text body is not (it is no markup); an undefined name is an
    # error, so a typo in a template fails its tests instead of hiding a value.
    return jinja2.Environment(
        loader=jinja2.PackageLoader("gnomon.notifications", "templates"),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html",), disabled_extensions=("txt",), default=True
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_text(report: RunReport) -> str:
    """The plain-text body."""
    return _environment().get_template("run.txt").render(_context(report))


def render_html(report: RunReport) -> str:
    """The HTML body: the same facts as the text, styled inline as mail readers need."""
    return _environment().get_template("run.html").render(_context(report))


def build_email_message(
    report: RunReport, recipients: Sequence[Address], sender: str
) -> EmailMessage:
    """One message about `report` addressed to every recipient."""
    message = EmailMessage()
    message["Subject"] = _subject(report)
    message["From"] = sender
    message["To"] = tuple(recipients)
    message["Date"] = formatdate(usegmt=True)
    # An explicit domain keeps make_msgid from resolving this host's FQDN (slow on some hosts).
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "gnomon")
    # RFC 3834: vacation responders must not answer machine-sent mail.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(render_text(report))
    message.add_alternative(render_html(report), subtype="html")
    return message


def _connect(config: SmtpConfig) -> smtplib.SMTP:
    if config.tls is SmtpTls.SSL:
        context = ssl.create_default_context()
        return smtplib.SMTP_SSL(
            config.host, config.port, timeout=config.timeout_seconds, context=context
        )
    return smtplib.SMTP(config.host, config.port, timeout=config.timeout_seconds)


def _delivery_error(exc: Exception) -> DeliveryError:
    """Permanent for an SMTP 5xx answer (bad recipient, refused login), else retryable."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        permanent = bool(codes) and all(500 <= code < 600 for code in codes)
        return DeliveryError(
            f"SMTP refused every recipient: {exc.recipients}", retryable=not permanent
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        permanent = 500 <= exc.smtp_code < 600
        return DeliveryError(
            f"SMTP answered {exc.smtp_code}: {exc.smtp_error!r}", retryable=not permanent
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return DeliveryError(f"SMTP server lacks a needed extension: {exc}", retryable=False)
    return DeliveryError(f"SMTP: {type(exc).__name__}: {exc}", retryable=True)


def send_email(config: SmtpConfig, message: EmailMessage) -> dict[str, tuple[int, bytes]]:
    """Send `message` through the configured SMTP server.

    Returns:
        Recipients the server refused while accepting the others (address → (code, reply)).

    Raises:
        DeliveryError: When the message was not accepted for any recipient.
    """
    try:
        with _connect(config) as smtp:
            if config.tls is SmtpTls.STARTTLS:
                smtp.starttls(context=ssl.create_default_context())
            if config.username:
                smtp.login(config.username, config.password or "")
            return smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise _delivery_error(exc) from exc
