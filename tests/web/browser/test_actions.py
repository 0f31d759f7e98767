"""Pressing Trigger in a real browser, with JavaScript off (a confirmation page, a plain POST and
a redirect) and on (a confirm dialog and fetch), and signing in with the API token first, over a
real `gnomon serve`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Dialog, Page, expect

from tests.e2e.conftest import Gnomon
from tests.web.browser.conftest import DESKTOP
from tests.web.browser.test_pages import put, runs_of, shell, shoot

TOKEN = "s3cret-token"
TRIGGERED = "Triggered: the scheduler starts the run in a moment."


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[Gnomon]:
    """`gnomon serve` whose actions need GNOMON_API_TOKEN."""
    server = Gnomon(
        tmp_path, GNOMON_EXECUTOR="fake", GNOMON_ALLOW_SHELL="true", GNOMON_API_TOKEN=TOKEN
    )
    server.start()
    server.http.headers["authorization"] = f"Bearer {TOKEN}"
    yield server
    server.stop()


def browse(browser: Browser, *, scripts: bool) -> Iterator[tuple[BrowserContext, list[str]]]:
    """A browser context, and the console errors and dialogs it met (a test says which it
    expected)."""
    context = browser.new_context(java_script_enabled=scripts, viewport=DESKTOP)
    seen: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            seen.append(message.text)

    context.on("console", console)
    yield context, seen
    context.close()


@pytest.fixture
def plain(browser: Browser) -> Iterator[BrowserContext]:
    """JavaScript off: nothing may log an error."""
    for context, seen in browse(browser, scripts=False):
        yield context
        assert [text for text in seen if "status of 401" not in text] == []


@pytest.fixture
def scripted(browser: Browser) -> Iterator[tuple[BrowserContext, list[str]]]:
    """JavaScript on: the test looks at the console errors itself."""
    yield from browse(browser, scripts=True)


def row(page: Page, name: str) -> object:
    return page.locator("tbody tr", has=page.get_by_role("link", name=name, exact=True))


def test_trigger_without_javascript_asks_on_a_page_then_posts(
    gnomon: Gnomon, plain: BrowserContext, screenshots: Path
) -> None:
    put(gnomon, "nightly", shell("only", "echo ok"))
    page = plain.new_page()
    page.goto(gnomon.url + "/process_definitions")

    page.locator("tbody tr", has_text="nightly").get_by_role("button", name="Trigger").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Trigger nightly?")
    expect(page).to_have_url(gnomon.url + "/process_definitions/nightly/trigger")
    shoot(page, screenshots, "confirm-trigger")
    assert runs_of(gnomon, "nightly") == []
    page.get_by_role("button", name="Trigger", exact=True).click()

    expect(page).to_have_url(gnomon.url + "/process_definitions?done=triggered")
    expect(page.get_by_role("status")).to_have_text(TRIGGERED)
    gnomon.wait_for("/api/processes/?process_definition_name=nightly", lambda runs: len(runs) == 1)


def test_trigger_with_javascript_asks_in_a_dialog_and_posts_with_fetch(
    gnomon: Gnomon, scripted: tuple[BrowserContext, list[str]], screenshots: Path
) -> None:
    context, console = scripted
    put(gnomon, "nightly", shell("only", "echo ok"))
    page = context.new_page()
    page.goto(gnomon.url + "/process_definitions")
    asked: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    trigger = page.locator("tbody tr", has_text="nightly").get_by_role("button", name="Trigger")
    trigger.click()
    assert asked == ["Start a run of nightly now?"]
    expect(page).to_have_url(gnomon.url + "/process_definitions")  # dismissed: nothing sent

    page.once("dialog", lambda dialog: dialog.accept())
    trigger.click()

    expect(page).to_have_url(gnomon.url + "/process_definitions?done=triggered")
    expect(page.get_by_role("status")).to_have_text(TRIGGERED)
    shoot(page, screenshots, "definitions-triggered")
    gnomon.wait_for("/api/processes/?process_definition_name=nightly", lambda runs: len(runs) == 1)
    assert console == []


def test_with_javascript_a_refusal_shows_the_servers_message_by_the_button(
    gnomon: Gnomon, scripted: tuple[BrowserContext, list[str]], screenshots: Path
) -> None:
    context, console = scripted
    put(gnomon, "nightly", shell("only", "echo ok"))
    page = context.new_page()
    # A stale page on purpose: with its live stream the page would drop the deleted row before
    # the click (how soon depends on the machine's load).
    # 204 tells an EventSource to stop, and to try no more.
    page.route("**/live/**", lambda route: route.fulfill(status=204))
    page.goto(gnomon.url + "/process_definitions")
    assert gnomon.http.delete("/api/process_definitions/nightly").status_code == 204

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("tbody tr", has_text="nightly").get_by_role("button", name="Trigger").click()

    alert = page.locator("tbody tr", has_text="nightly").get_by_role("alert")
    expect(alert).to_have_text("process definition 'nightly' not found")
    expect(page).to_have_url(gnomon.url + "/process_definitions")
    shoot(page, screenshots, "definitions-refused")
    assert [text for text in console if "404" not in text] == []


def test_sign_in_before_acting(guarded: Gnomon, plain: BrowserContext, screenshots: Path) -> None:
    put(guarded, "nightly", shell("only", "echo ok"))
    page = plain.new_page()
    page.goto(guarded.url + "/process_definitions")
    page.locator("tbody tr", has_text="nightly").get_by_role("button", name="Trigger").click()

    expect(page).to_have_url(re.compile(r"/login\?next=%2Fprocess_definitions$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    page.get_by_label("API token").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("That is not this Gnomon's API token.")
    shoot(page, screenshots, "login-refused")

    page.get_by_label("API token").fill(TOKEN)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(guarded.url + "/process_definitions?done=signed-in")
    expect(page.get_by_role("status")).to_have_text("Signed in.")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    shoot(page, screenshots, "definitions-signed-in")
    page.locator("tbody tr", has_text="nightly").get_by_role("button", name="Trigger").click()
    page.get_by_role("button", name="Trigger", exact=True).click()
    expect(page.get_by_role("status")).to_have_text(TRIGGERED)

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("Signed out.")
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()


def test_the_login_page(guarded: Gnomon, plain: BrowserContext, screenshots: Path) -> None:
    page = plain.new_page()
    page.goto(guarded.url + "/")
    shoot(page, screenshots, "runs-signed-out")
    page.get_by_role("link", name="Sign in").click()

    expect(page).to_have_title("Sign in · Gnomon")
    expect(page.get_by_label("API token")).to_have_attribute("type", "password")
    shoot(page, screenshots, "login")
