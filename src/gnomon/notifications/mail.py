"""Email notifications over plain SMTP (stdlib `smtplib`), replacing Sundial's Amazon SES mail.

Any SMTP relay works (a cluster's mail relay, a provider's submission port, or a local MTA), so
Gnomon needs no cloud account to send mail. One message per finished run goes to every selected
recipient, with Sundial's subjects (`Process succeeded: <name>` / `Process failed: <name>`) so
existing mail filters keep working. The body is plain text with an HTML alternative; Sundial's
GraphViz picture, which needed a public S3 bucket, is left out in favour of a link to the run.

This module is named `mail` rather than `email` so that it cannot shadow the standard library's
`email` package.
"""

from __future__ import annotations

import html
import logging
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from enum import StrEnum

from gnomon.domain.definitions import Email
from gnomon.domain.times import format_wire_time
from gnomon.notifications.errors import DeliveryError
from gnomon.notifications.report import RunReport, format_duration

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


def _summary_rows(report: RunReport) -> list[tuple[str, str]]:
    outcome = report.status.value + (" (killed)" if report.killed else "")
    rows = [
        ("Process definition", report.process_definition_name),
        ("Outcome", outcome),
        ("Previous run", report.previous_status.value if report.previous_status else "none"),
        ("Duration", format_duration(report.duration_seconds)),
        ("Started", format_wire_time(report.started_at)),
        ("Ended", format_wire_time(report.ended_at)),
        ("Process id", str(report.process_id)),
        ("Run", report.run_url),
    ]
    return rows


def render_text(report: RunReport) -> str:
    """The plain-text body."""
    lines = [_subject(report), ""]
    lines += [f"{label + ':':<20}{value}" for label, value in _summary_rows(report)]
    lines += ["", "Tasks:"]
    lines += [f"  {task.task_definition_name}: {task.summary()}" for task in report.tasks]
    if not report.tasks:
        lines.append("  (none)")
    return "\n".join(lines) + "\n"


def render_html(report: RunReport) -> str:
    """The HTML alternative: the same facts as the text body, as two small tables."""
    esc = html.escape
    summary = "".join(
        f"<tr><th align='left'>{esc(label)}</th><td>{esc(value)}</td></tr>"
        for label, value in _summary_rows(report)
        if label != "Run"
    )
    tasks = "".join(
        f"<tr><td>{esc(task.task_definition_name)}</td><td>{esc(task.summary())}</td></tr>"
        for task in report.tasks
    )
    link = f"<p><a href='{esc(report.run_url, quote=True)}'>Open the run</a></p>"
    return (
        f"<html><body><h2>{esc(_subject(report))}</h2>"
        f"<table>{summary}</table>{link}"
        f"<h3>Tasks</h3><table><tr><th>Task</th><th>Result</th></tr>{tasks}</table>"
        "</body></html>"
    )


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
