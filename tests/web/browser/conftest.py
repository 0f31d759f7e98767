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
from playwright.sync_api import ViewportSize

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
