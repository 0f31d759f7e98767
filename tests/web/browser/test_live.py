"""Live pages in a real browser with JavaScript on, over a real `gnomon serve` (SQLite, shell
jobs): the runs list follows a run without a reload, the live log shows a job's output while the
job still runs, and times are shown in the reader's zone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, expect

from tests.e2e.conftest import Gnomon
from tests.web.browser.conftest import DESKTOP, NARROW, assert_not_reloaded, mark_unreloaded
from tests.web.browser.test_pages import XSS, put, shell, trigger

ZONE = "Europe/Berlin"


@pytest.fixture
def viewer(browser: Browser) -> Iterator[BrowserContext]:
    """A browser with JavaScript on, in Berlin, that fails the test on any console error (a CSP
    refusal, a script error) and on any dialog (an injected script would open one)."""
    context = browser.new_context(viewport=DESKTOP, timezone_id=ZONE, locale="en-GB")
    problems: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"{message.text} ({message.location.get('url')})")

    context.on("console", console)
    context.on("dialog", lambda dialog: problems.append(f"dialog: {dialog.message}"))
    yield context
    context.close()
    assert problems == []


def one_run(gnomon: Gnomon, name: str) -> dict[str, Any]:
    runs: list[dict[str, Any]] = gnomon.wait_for(
        f"/api/processes/?process_definition_name={name}", lambda runs: len(runs) == 1
    )
    return runs[0]


def test_the_runs_list_follows_a_run_without_a_reload(
    gnomon: Gnomon, viewer: BrowserContext, screenshots: Path
) -> None:
    put(gnomon, "nightly", shell("wait", "sleep 2"))
    page = viewer.new_page()
    page.goto(gnomon.url + "/")
    expect(page.locator(".live-indicator")).to_have_text("Live")
    expect(page.locator(".empty")).to_contain_text("No runs yet.")
    mark_unreloaded(page)

    trigger(gnomon, "nightly")

    row = page.locator("tbody tr").first
    expect(row.locator(".status")).to_have_text("running", timeout=10_000)
    expect(row.locator("th")).to_have_text("nightly")
    expect(row.locator(".status")).to_have_text("succeeded", timeout=15_000)
    assert_not_reloaded(page)
    page.screenshot(path=screenshots / "runs-live.png", animations="disabled")
    page.set_viewport_size(NARROW)
    page.screenshot(path=screenshots / "runs-live-narrow.png", animations="disabled")
    page.set_viewport_size(DESKTOP)

    page.goto(gnomon.url + "/process_definitions")
    expect(page.locator(".live-indicator")).to_have_text("Live")
    mark_unreloaded(page)
    last = page.locator("tr", has_text="nightly").locator("td[data-label='Last status']")
    expect(last).to_have_text("succeeded")
    trigger(gnomon, "nightly")
    expect(last).to_have_text("running", timeout=10_000)
    expect(last).to_have_text("succeeded", timeout=15_000)
    assert_not_reloaded(page)


def test_a_filter_being_typed_is_not_swapped_away(gnomon: Gnomon, viewer: BrowserContext) -> None:
    put(gnomon, "quick", shell("only", "echo ok"))
    page = viewer.new_page()
    page.goto(gnomon.url + "/")
    expect(page.locator(".live-indicator")).to_have_text("Live")
    field = page.locator("#f-definition")
    field.click()
    field.type("qui")

    trigger(gnomon, "quick")
    gnomon.wait_for("/api/processes/", lambda runs: bool(runs) and runs[0]["status"] != "running")
    page.wait_for_timeout(1000)  # the change came; the page waits while the field has the focus
    expect(page.locator(".empty")).to_be_visible()
    expect(field).to_be_focused()
    expect(field).to_have_value("qui")

    page.locator("h1").click()  # leaving the field lets the page catch up, keeping what was typed
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("#f-definition")).to_have_value("qui")


def test_the_live_log_shows_output_while_the_job_runs(
    gnomon: Gnomon, viewer: BrowserContext, screenshots: Path
) -> None:
    script = (
        f"echo 'first line'; echo '{XSS}'; echo 'ERROR: a warning' >&2; sleep 4; echo 'second line'"
    )
    put(gnomon, "talker", shell("talk", script), shell("after", "echo after", "talk"))
    trigger(gnomon, "talker")
    run = one_run(gnomon, "talker")
    page = viewer.new_page()
    page.goto(f"{gnomon.url}/processes/{run['process_id']}/livelogs")

    messages = page.locator(".log-line .log-message")
    expect(messages.filter(has_text="first line")).to_have_count(1, timeout=10_000)
    assert one_run(gnomon, "talker")["status"] == "running"  # shown while the job still runs
    expect(messages.filter(has_text=XSS)).to_have_count(1)  # as text, and no dialog opened
    expect(page.locator(".log-line.log-error .log-message")).to_have_text("ERROR: a warning")
    expect(page.locator(".live-indicator")).to_have_text("Live")
    expect(page.locator("#l-follow")).to_be_checked()
    page.screenshot(path=screenshots / "livelogs.png", full_page=True, animations="disabled")
    page.set_viewport_size(NARROW)
    page.screenshot(path=screenshots / "livelogs-narrow.png", full_page=True, animations="disabled")
    page.set_viewport_size(DESKTOP)

    expect(messages.filter(has_text="second line")).to_have_count(1, timeout=15_000)
    expect(messages.filter(has_text="after")).to_have_count(1, timeout=15_000)
    expect(page.locator(".live-indicator")).to_have_text("Run ended: succeeded", timeout=15_000)
    assert page.locator(".log-line").count() == len(
        set(page.locator(".log-line").evaluate_all("rows => rows.map(row => row.dataset.id)"))
    )  # no line twice

    expect(page.locator("#l-follow")).to_be_hidden()
    page.set_viewport_size(NARROW)
    page.emulate_media(color_scheme="dark")
    page.screenshot(
        path=screenshots / "livelogs-ended-narrow-dark.png", full_page=True, animations="disabled"
    )
    page.set_viewport_size(DESKTOP)
    page.screenshot(
        path=screenshots / "livelogs-ended-dark.png", full_page=True, animations="disabled"
    )

    page.select_option("#l-task", "after")  # the filter submits itself with JavaScript
    expect(page).to_have_url(re.compile(r"\?task=after$"))
    expect(messages.first).to_have_text("after")
    tasks = page.locator(".log-line .log-task").all_inner_texts()
    assert tasks and set(tasks) == {"after"}


def test_times_are_shown_in_the_readers_zone(gnomon: Gnomon, viewer: BrowserContext) -> None:
    put(gnomon, "quick", shell("only", "echo ok"))
    trigger(gnomon, "quick")
    one_run(gnomon, "quick")
    page = viewer.new_page()
    page.goto(gnomon.url + "/")
    started = page.locator("td[data-label=Started] time")
    utc = started.get_attribute("datetime")
    assert utc is not None
    expect(page.locator("#times-note")).to_contain_text("Europe/Berlin")
    expect(started).to_have_attribute("title", re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$"))
    hour = int(utc[11:13])
    shown = started.inner_text()
    assert int(shown[11:13]) in ((hour + 1) % 24, (hour + 2) % 24)  # CET or CEST

    page.locator("td[data-label=Status] a").first.click()  # the run's own page
    expect(page.locator("#run-facts")).to_contain_text(re.compile(r"Started UTC\+0[12]:00"))


def test_without_javascript_times_stay_utc_and_the_log_reads(
    gnomon: Gnomon, browser: Browser
) -> None:
    put(gnomon, "quick", shell("only", f"echo '{XSS}'"))
    trigger(gnomon, "quick")
    run = one_run(gnomon, "quick")
    context = browser.new_context(java_script_enabled=False, timezone_id=ZONE)
    page = context.new_page()
    page.goto(gnomon.url + "/")
    expect(page.locator("#times-note")).to_have_text("Times are UTC")
    started = page.locator("td[data-label=Started] time")
    utc = started.get_attribute("datetime") or ""
    assert started.inner_text() == utc[:10] + " " + utc[11:19]
    expect(page.locator(".live-indicator")).to_have_count(0)

    gnomon.wait_for("/api/processes/", lambda runs: runs[0]["status"] != "running")
    page.goto(f"{gnomon.url}/processes/{run['process_id']}/livelogs")
    expect(page.locator(".log-line .log-message").first).to_have_text(XSS)
    expect(page.locator("#l-follow")).to_be_hidden()  # it needs the script; so does the stream
    page.select_option("#l-task", "only")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"\?task=only$"))
    with page.expect_download() as download:
        page.get_by_role("link", name="only").click()
    assert download.value.suggested_filename == "quick.only.attempt-1.txt"
    context.close()
