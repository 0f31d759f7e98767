"""A real `gnomon serve` and Debian's chromium driven by Playwright.

The browser comes from the distribution (`apt-get install chromium`), never from `playwright
install`; without it these tests skip, or fail under GNOMON_REQUIRE_ALL=1. Screenshots of every
page go to GNOMON_SCREENSHOTS (default `.cache/screenshots/`) for a person to look at.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, ViewportSize

from tests.conftest import skip_or_fail
from tests.e2e.conftest import Gnomon

SCREENSHOTS = Path(os.environ.get("GNOMON_SCREENSHOTS") or ".cache/screenshots")
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
NARROW: ViewportSize = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright's launch arguments, pointed at the distribution's chromium."""
    path = (
        os.environ.get("CHROMIUM_PATH")
        or shutil.which("chromium")
        or shutil.which("chromium-headless-shell")
    )
    if path is None:
        skip_or_fail("no chromium on PATH (Debian package chromium)")
    return {**browser_type_launch_args, "executable_path": path}


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def gnomon(tmp_path: Path) -> Iterator[Gnomon]:
    """`gnomon serve` whose container jobs never end (the fake executor) and whose shell jobs
    run for real, so runs succeed, fail and keep running as a test needs."""
    server = Gnomon(tmp_path, GNOMON_EXECUTOR="fake", GNOMON_ALLOW_SHELL="true")
    server.start()
    yield server
    server.stop()


def strict(context: BrowserContext) -> list[str]:
    """The console errors and dialogs of `context`, collected for the test to check: a CSP
    refusal is a console error, and an injected script would open a dialog."""
    problems: list[str] = []

    def console(message: ConsoleMessage) -> None:
        # A page answered 4xx on purpose logs its own status; anything else it loads must load.
        own_status = message.text.startswith("Failed to load resource") and any(
            message.location.get("url") == page.url for page in context.pages
        )
        if message.type == "error" and not own_status:
            problems.append(f"{message.text} ({message.location.get('url')})")

    context.on("console", console)
    context.on("dialog", lambda dialog: problems.append(f"dialog: {dialog.message}"))
    return problems


def mark_unreloaded(page: Page) -> None:
    """Mark the document; `assert_not_reloaded` fails if the page was loaded again since."""
    page.evaluate("document.documentElement.dataset.marked = 'yes'")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("document.documentElement.dataset.marked") == "yes"
