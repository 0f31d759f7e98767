"""The email's two bodies, read back with the standard library from a real SMTP server: the same
facts in each, the run page's link, Sundial's task table, failed tasks' last lines, and every
value from a job escaped in the HTML and kept as written in the text."""

from __future__ import annotations

import tomllib
import uuid
from collections.abc import Sequence
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import gnomon.notifications
from gnomon.domain import LogEntry
from gnomon.domain.definitions import Notification
from gnomon.notifications import RunReport, TaskReport
from tests.notifications.receivers import MailHandler
from tests.notifications.support import (
    PAGE_URL,
    STARTED,
    F,
    NotifierFactory,
    ReportFactory,
    S,
)
from tests.web.html import Element, parse

OPS = [Notification.model_validate({"email": {"name": "Ops", "email": "ops@example.test"}})]
HOSTILE = "<script>alert(1)</script>"


def lines(*messages: str, source: str = "stdout") -> tuple[LogEntry, ...]:
    return tuple(
        LogEntry.model_construct(
            log_entry_id=uuid.uuid4(),
            when=STARTED + timedelta(seconds=index, milliseconds=250),
            source=source,
            message=message,
        )
        for index, message in enumerate(messages)
    )


def send(
    smtp_server: tuple[MailHandler, int], make_notifier: NotifierFactory, report: RunReport
) -> EmailMessage:
    notifier = make_notifier()
    notifier.notify(report, OPS)
    assert notifier.join(10)
    (received,) = smtp_server[0].messages
    return received.message


def bodies(message: EmailMessage) -> tuple[str, str]:
    """The plain-text and HTML bodies, checking the message is exactly those two alternatives."""
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [part.get_content_type() for part in parts] == ["text/plain", "text/html"]
    assert all(part.get_content_charset() == "utf-8" for part in parts)
    plain, html = (part.get_content() for part in parts)
    assert isinstance(plain, str) and isinstance(html, str)
    # SMTP carries lines ending in CRLF.
    return plain.replace("\r\n", "\n"), html.replace("\r\n", "\n")


def rows(table: Element) -> list[list[str]]:
    return [[cell.text() for cell in row.find_all("td")] for row in table.find_all("tr")]


def failing_tasks(*tails: tuple[LogEntry, ...] | None) -> Sequence[TaskReport]:
    return [
        TaskReport("extract", "succeeded", 1),
        *(
            TaskReport(f"step-{index}", "failed", 2, reason=f"exit code {index}", log_tail=tail)
            for index, tail in enumerate(tails)
        ),
        TaskReport("load", "did not run", 0),
    ]


def test_both_parts_tell_the_run_with_sundials_task_table(
    smtp_server: tuple[MailHandler, int],
    make_notifier: NotifierFactory,
    make_report: ReportFactory,
) -> None:
    message = send(smtp_server, make_notifier, make_report(F, S, killed=True))

    plain, html = bodies(message)
    page = parse(html)
    assert page.find("h1").text() == "✕ Failed (killed) nightly-etl"
    assert page.find("title").text() == "Process failed: nightly-etl"
    facts = {
        row.find("th").text(): row.find("td").text() for row in page.find("table").find_all("tr")
    }
    assert facts["Started"] == "2026-03-02 12:00:00 UTC"
    assert facts["Ended"] == "2026-03-02 12:04:05 UTC"
    assert facts["Duration"] == "4m 5s"
    assert facts["Outcome"] == "failed (killed)"
    assert {a.attrs["href"] for a in page.find_all("a")} == {PAGE_URL}
    tasks = page.find_all("table")[1]
    assert rows(tasks)[1:] == [
        ["extract", "✓ Succeeded after 1 attempt"],
        ["transform", "✕ Failed for reason: exit code 2 after 3 attempts"],
        ["load", "○ Did not run"],
    ]

    assert plain.startswith("Process failed: nightly-etl (killed)\n")
    for fact in ("2026-03-02 12:00:00 UTC", "2026-03-02 12:04:05 UTC", "4m 5s", PAGE_URL):
        assert fact in plain
    assert "  extract: Succeeded after 1 attempt\n" in plain
    assert "  transform: Failed for reason: exit code 2 after 3 attempts\n" in plain
    assert "  load: Did not run\n" in plain
    assert "/api/" not in plain + html


def test_a_success_has_no_log_section(
    smtp_server: tuple[MailHandler, int],
    make_notifier: NotifierFactory,
    make_report: ReportFactory,
) -> None:
    plain, html = bodies(send(smtp_server, make_notifier, make_report(S, F)))
    assert parse(html).find("h1").text() == "✓ Succeeded nightly-etl"
    assert parse(html).find_all("pre") == []
    assert "lines of its log" not in plain
    assert "Process succeeded: nightly-etl\n" in plain


def test_failed_tasks_last_lines_appear_in_both_parts(
    smtp_server: tuple[MailHandler, int],
    make_notifier: NotifierFactory,
    make_report: ReportFactory,
) -> None:
    quoted = lines("reading input", "parsing row 7", source="stdout") + lines(
        "ValueError: bad row", source="stderr"
    )
    tasks = failing_tasks(quoted, (), None)
    plain, html = bodies(send(smtp_server, make_notifier, make_report(F, S, tasks=tasks)))

    page = parse(html)
    headings = [h.text().replace(" ,", ",") for h in page.find_all("h2")]
    assert headings == [
        "Tasks",
        "step-0, attempt 2: the last 3 lines of its log",
        "step-1, attempt 2: no output was recorded",
    ]
    (pre,) = page.find_all("pre")
    assert pre.text() == (
        "12:00:00.250 stdout reading input 12:00:01.250 stdout parsing row 7 "
        "12:00:00.250 stderr ValueError: bad row"
    )
    assert "more failed task are on the run page" in page.text()

    assert (
        "step-0, attempt 2: the last 3 lines of its log\n"
        "  12:00:00.250 stdout reading input\n"
        "  12:00:01.250 stdout parsing row 7\n"
        "  12:00:00.250 stderr ValueError: bad row\n"
    ) in plain
    assert "step-1, attempt 2: no output was recorded\n" in plain
    assert "The log lines of 1 more failed task are on the run page." in plain


def test_hostile_names_reasons_and_lines_are_text_in_html_and_verbatim_in_plain(
    smtp_server: tuple[MailHandler, int],
    make_notifier: NotifierFactory,
    make_report: ReportFactory,
) -> None:
    name = '"><img src=x onerror=alert(2)>'
    line = "</pre><script>alert(3)</script><a href='javascript:alert(4)'>x</a>"
    tasks = [TaskReport(name, "failed", 1, reason=HOSTILE, log_tail=lines(line))]
    report = make_report(F, S, tasks=tasks)

    plain, html = bodies(send(smtp_server, make_notifier, report))

    page = parse(html)
    for tag in ("script", "img"):
        assert page.find_all(tag) == []
    assert [a.attrs["href"] for a in page.find_all("a")] == [PAGE_URL]
    assert rows(page.find_all("table")[1])[1] == [
        name,
        f"✕ Failed for reason: {HOSTILE} after 1 attempt",
    ]
    assert line in page.find("pre").text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>" not in html

    assert f"  {name}: Failed for reason: {HOSTILE} after 1 attempt\n" in plain
    assert line in plain


def test_terminal_codes_and_control_characters_leave_quoted_lines(
    smtp_server: tuple[MailHandler, int],
    make_notifier: NotifierFactory,
    make_report: ReportFactory,
) -> None:
    tasks = failing_tasks(lines("\x1b[31mERROR\x1b[0m\tdisk\rfull\x07"))
    plain, html = bodies(send(smtp_server, make_notifier, make_report(F, S, tasks=tasks)))
    assert "ERROR\tdisk\ufffdfull\ufffd" in plain
    assert "ERROR\tdisk\ufffdfull\ufffd\n</pre>" in html
    assert "\x1b" not in plain + html


def test_the_link_follows_the_site_url_however_it_ends(make_report: ReportFactory) -> None:
    report = make_report(F, S)
    for site in ("https://gnomon.example.com/ops", "https://gnomon.example.com/ops/"):
        moved = RunReport(**{**vars(report), "site_url": site})
        assert moved.page_url == f"https://gnomon.example.com/ops/processes/{report.process_id}"
        assert moved.api_url == f"https://gnomon.example.com/ops/api/processes/{report.process_id}"


def test_the_templates_ship_as_package_data() -> None:
    package = Path(gnomon.notifications.__file__).parents[1]
    pyproject = Path(__file__).parents[2] / "pyproject.toml"
    patterns = tomllib.loads(pyproject.read_text())["tool"]["setuptools"]["package-data"]["gnomon"]
    shipped = {path for pattern in patterns for path in package.glob(pattern)}
    templates = [p for p in (package / "notifications" / "templates").iterdir() if p.is_file()]
    assert len(templates) == 2
    assert [p.name for p in templates if p not in shipped] == []
