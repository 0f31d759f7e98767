"""The runs and definitions pages in a real browser, with JavaScript off, over a real
`gnomon serve` whose runs were started through the REST API."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.conftest import Gnomon
from tests.web.browser.conftest import DESKTOP, NARROW, strict

XSS = "<script>alert(1)</script>"
NIGHTLY = {
    "cron_schedule": {
        "minutes": "30",
        "hours": "2",
        "day_of_month": "*",
        "month": "*",
        "day_of_week": "?",
        "time_zone": "Europe/Berlin",
    }
}
WEEKLY = {**NIGHTLY, "cron_schedule": {**NIGHTLY["cron_schedule"], "day_of_week": "2"}}
WEEKLY["cron_schedule"]["day_of_month"] = "?"


def shell(name: str, script: str, *after: str) -> dict[str, Any]:
    return {
        "task_definition_name": name,
        "executable": {"shell_script_command": {"script": script}},
        "dependencies": [{"task_definition_name": d, "success_required": True} for d in after],
    }


def put(gnomon: Gnomon, name: str, *tasks: dict[str, Any], **extra: Any) -> None:
    body = {"process_definition_name": name, "task_definitions": list(tasks), **extra}
    response = gnomon.http.put(f"/api/process_definitions/{name}", json=body)
    assert response.status_code == 200, response.text


def trigger(gnomon: Gnomon, name: str) -> None:
    assert gnomon.http.post(f"/api/process_definitions/{name}/trigger").status_code == 204


def runs_of(gnomon: Gnomon, name: str) -> list[dict[str, Any]]:
    params = {"process_definition_name": name}
    listed: list[dict[str, Any]] = gnomon.http.get("/api/processes/", params=params).json()
    return listed


def ended(count: int) -> Any:
    def check(runs: list[dict[str, Any]]) -> bool:
        return len(runs) == count and all(run["status"] != "running" for run in runs)

    return check


@pytest.fixture
def world(gnomon: Gnomon) -> Gnomon:
    """Definitions of every kind, runs that succeeded, failed and still run, an open trigger."""
    put(
        gnomon,
        "etl-nightly",
        shell("extract", "echo extracting"),
        shell("transform", "echo transforming", "extract"),
        shell("load", "exit 3", "transform"),
        process_description="Loads yesterday's orders into the warehouse",
        schedule=NIGHTLY,
    )
    put(
        gnomon,
        "reports-hourly",
        shell("render", "echo ok"),
        schedule={"cron_schedule": {**NIGHTLY["cron_schedule"], "minutes": "15", "hours": "*"}},
    )
    put(gnomon, "cleanup-weekly", shell("vacuum", "echo ok"), schedule=WEEKLY, paused=True)
    put(gnomon, "long-job", shell("wait", "sleep 300"))
    put(gnomon, "xss-check", shell("only", "echo ok"), process_description=XSS)
    for _ in range(3):
        trigger(gnomon, "etl-nightly")
    trigger(gnomon, "reports-hourly")
    gnomon.wait_for("/api/processes/?process_definition_name=etl-nightly", ended(3))
    gnomon.wait_for("/api/processes/?process_definition_name=reports-hourly", ended(1))
    trigger(gnomon, "long-job")
    gnomon.wait_for("/api/processes/?process_definition_name=long-job", lambda runs: len(runs) == 1)
    trigger(gnomon, "long-job")  # waits behind the running one: an open trigger request
    return gnomon


@pytest.fixture
def reader(browser: Browser) -> Iterator[BrowserContext]:
    """A browser with JavaScript off that fails the test on any console error (a CSP refusal
    would be one) and on any dialog (an injected script would open one)."""
    context = browser.new_context(java_script_enabled=False, viewport=DESKTOP)
    problems = strict(context)
    yield context
    context.close()
    assert problems == []


def shoot(page: Page, folder: Path, name: str) -> None:
    """Screenshots of the page at desktop and phone width, in the light and the dark theme."""
    for width, size in (("desktop", DESKTOP), ("narrow", NARROW)):
        page.set_viewport_size(size)
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            path = folder / f"{name}-{width}-{scheme}.png"
            page.screenshot(path=path, full_page=True, animations="disabled")
    page.set_viewport_size(DESKTOP)
    page.emulate_media(color_scheme="light")


def test_the_runs_page(world: Gnomon, reader: BrowserContext, screenshots: Path) -> None:
    page = reader.new_page()
    page.goto(world.url + "/")

    expect(page).to_have_title("Runs · Gnomon")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(5)
    expect(rows.first.locator("th")).to_have_text("long-job")
    expect(rows.first.locator(".status")).to_have_text("running")
    banner = page.locator(".notice-info")
    expect(banner.locator("h2")).to_have_text("1 trigger request waiting to start")
    expect(banner).to_contain_text("long-job requested")
    failed = page.locator("tbody tr", has_text="etl-nightly").first
    expect(failed.locator(".status")).to_have_text("failed")
    expect(failed.locator(".chip")).to_have_text(["extract", "transform", "load"])
    expect(failed.locator(".chip.status-failed")).to_have_attribute("title", "load: failed")
    shoot(page, screenshots, "runs")

    page.select_option("#f-status", "failed")
    page.get_by_role("button", name="Filter").click()

    expect(page).to_have_url(re.compile(r"/\?.*status=failed"))  # empty fields come along
    expect(rows).to_have_count(3)
    expect(page.locator("#f-status")).to_have_value("failed")
    page.get_by_role("link", name="Clear").click()
    expect(rows).to_have_count(5)

    page.goto(world.url + "/?limit=2")
    page.get_by_role("link", name="Older →").click()
    expect(rows).to_have_count(2)
    page.get_by_role("link", name="← Newer").click()
    expect(rows).to_have_count(2)
    expect(rows.first.locator("th")).to_have_text("long-job")


def test_the_definitions_page(world: Gnomon, reader: BrowserContext, screenshots: Path) -> None:
    page = reader.new_page()
    page.goto(world.url + "/")
    page.get_by_role("link", name="Definitions").click()

    expect(page).to_have_title("Definitions · Gnomon")
    scheduled = page.locator("section", has=page.get_by_role("heading", name="Scheduled"))
    paused = page.locator("section", has=page.get_by_role("heading", name="Paused"))
    expect(scheduled.locator("tbody tr")).to_have_count(4)
    expect(paused.locator("tbody tr th a")).to_have_text(["cleanup-weekly"])
    nightly = scheduled.locator("tr", has_text="etl-nightly")
    expect(nightly.locator("td[data-label=Schedule]")).to_contain_text("Every day at 02:30")
    expect(nightly.locator("td[data-label=Schedule]")).to_contain_text("30 2 * * ?")
    expect(nightly.locator("td[data-label=Schedule]")).to_contain_text("Europe/Berlin")
    expect(nightly.locator("td[data-label='Next run'] .relative")).to_contain_text("in ")
    expect(nightly.locator("td[data-label='Last status']")).to_have_text("failed")
    dots = nightly.locator(".history a")
    expect(dots).to_have_count(3)
    run_id = runs_of(world, "etl-nightly")[-1]["process_id"]  # the oldest
    expect(dots.first).to_have_attribute("href", f"/processes/{run_id}")
    expect(dots.first).to_have_attribute("title", re.compile(r"UTC · failed · "))
    expect(page.locator("tr", has_text="xss-check").locator("th")).to_contain_text(XSS)
    shoot(page, screenshots, "definitions")


def test_a_bad_filter_answers_a_page_not_a_trace(
    gnomon: Gnomon, reader: BrowserContext, screenshots: Path
) -> None:
    page = reader.new_page()
    response = page.goto(gnomon.url + "/?since=last+tuesday")

    assert response is not None and response.status == 400
    expect(page.get_by_role("heading", level=1)).to_have_text("Cannot show these runs")
    expect(page.get_by_role("alert")).to_contain_text("since: 'last tuesday' is not a date")
    shoot(page, screenshots, "error")


def test_empty_pages(gnomon: Gnomon, reader: BrowserContext, screenshots: Path) -> None:
    page = reader.new_page()
    page.goto(gnomon.url + "/")
    expect(page.locator(".empty")).to_contain_text("No runs yet.")
    shoot(page, screenshots, "runs-empty")
    page.goto(gnomon.url + "/process_definitions")
    expect(page.locator(".empty")).to_contain_text("No process definitions yet.")
    shoot(page, screenshots, "definitions-empty")
