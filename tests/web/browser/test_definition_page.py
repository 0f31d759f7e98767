"""The definition page in a real browser over a real `gnomon serve`: read with JavaScript off,
and its Copy buttons with JavaScript on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from tests.e2e.conftest import Gnomon
from tests.web.browser.conftest import DESKTOP, NARROW, strict
from tests.web.browser.test_pages import NIGHTLY, ended, put, shell, trigger

NAME = "warehouse-etl"


@pytest.fixture
def etl(gnomon: Gnomon) -> Gnomon:
    """A nightly three-task definition with notifications, four finished runs, one of them a
    run of a single task."""
    put(
        gnomon,
        NAME,
        shell("extract", "echo extracting\nsleep 0.2"),
        shell("transform", "echo transforming", "extract"),
        {
            **shell("report", "echo 'building report'"),
            "dependencies": [{"task_definition_name": "transform", "success_required": False}],
            "max_attempts": 3,
            "backoff_base_seconds": 30,
            "backoff_exponent": 2,
        },
        process_description="Loads yesterday's orders into the warehouse",
        schedule=NIGHTLY,
        notifications=[
            {"email": {"name": "Data team", "email": "data@example.com", "notify_when": "never"}},
            {"webhook": {"url": "http://127.0.0.1:9/hook", "notify_when": "never"}},
        ],
    )
    for _ in range(3):
        trigger(gnomon, NAME)
    gnomon.wait_for(f"/api/processes/?process_definition_name={NAME}", ended(3))
    response = gnomon.http.post(
        f"/api/process_definitions/{NAME}/trigger", params={"task_definition_name": "extract"}
    )
    assert response.status_code == 204
    gnomon.wait_for(f"/api/processes/?process_definition_name={NAME}", ended(4))
    return gnomon


@pytest.fixture
def reader(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(java_script_enabled=False, viewport=DESKTOP)
    problems = strict(context)
    yield context
    context.close()
    assert problems == []


def test_the_definition_page(etl: Gnomon, reader: BrowserContext, screenshots: Path) -> None:
    page = reader.new_page()
    page.goto(etl.url + "/process_definitions")
    page.get_by_role("link", name=NAME).click()

    expect(page).to_have_url(f"{etl.url}/process_definitions/{NAME}")
    expect(page).to_have_title(f"{NAME} · Gnomon")
    expect(page.get_by_role("heading", level=1)).to_have_text(NAME)
    actions = page.get_by_role("group", name="Actions")
    expect(actions.get_by_role("button")).to_have_text(["Trigger", "Pause", "Delete"])
    expect(page.get_by_role("button", name="Trigger task")).to_have_count(3)
    expect(page.locator(".schedule-words")).to_have_text("Every day at 02:30")
    expect(page.locator(".fire-times tbody tr")).to_have_count(5)
    expect(page.locator(".fire-times thead th")).to_have_text(["Europe/Berlin", "UTC"])
    nodes = page.locator(".graph g.node")
    expect(nodes).to_have_count(3)
    expect(page.locator('.graph g.edge-optional[data-target="report"]')).to_have_count(1)
    report = page.locator('article[data-task="report"]')
    expect(report).to_contain_text("1 min, then 2 min (×2 each retry)")
    expect(report.locator("dd", has_text="transform")).to_contain_text("may fail")
    expect(page.locator(".notification-list li")).to_have_count(2)
    rows = page.locator(".table-history tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.first).to_contain_text("trigger of extract")
    expect(page.locator("svg.chart-wide a.chart-point")).to_have_count(4)
    expect(page.locator("svg.chart-narrow")).to_be_hidden()
    expect(page.get_by_role("button", name="Copy")).to_have_count(0)  # no script, no button
    served = etl.http.get(f"/api/process_definitions/{NAME}").json()
    assert json.loads(page.locator("#source-json").inner_text()) == served
    expect(page.locator("#source-yaml")).to_contain_text("kind: ProcessDefinition")
    page.screenshot(path=screenshots / "definition.png", full_page=True, animations="disabled")

    page.set_viewport_size(NARROW)
    expect(page.locator("svg.chart-narrow")).to_be_visible()
    expect(page.locator("svg.chart-wide")).to_be_hidden()
    for part in ("main", ".overview", ".task-cards", ".chart-card", ".table-history", ".sources"):
        box = page.locator(part).bounding_box()
        assert box is not None and box["x"] + box["width"] <= NARROW["width"], f"{part} is too wide"
    page.screenshot(
        path=screenshots / "definition-narrow.png", full_page=True, animations="disabled"
    )

    page.locator(".graph a.node-link").first.click()
    expect(page).to_have_url(f"{etl.url}/process_definitions/{NAME}#task-extract")
    newest = page.locator(".table-history tbody tr a").first
    expect(newest).to_have_attribute("href", "/processes/" + newest_run_id(etl))


def newest_run_id(gnomon: Gnomon) -> str:
    runs: list[dict[str, Any]] = gnomon.http.get(
        "/api/processes/", params={"process_definition_name": NAME}
    ).json()
    return str(max(runs, key=lambda run: run["start_time"])["process_id"])


def test_copy_buttons_copy_the_source(etl: Gnomon, browser: Browser) -> None:
    context = browser.new_context(viewport=DESKTOP)
    problems = strict(context)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=etl.url)
    page = context.new_page()
    page.goto(f"{etl.url}/process_definitions/{NAME}")

    buttons = page.get_by_role("button", name="Copy")
    expect(buttons).to_have_count(2)
    buttons.first.click()

    expect(page.locator('button[data-copy="source-json"]')).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert json.loads(copied) == etl.http.get(f"/api/process_definitions/{NAME}").json()
    page.locator('button[data-copy="source-yaml"]').click()
    assert page.evaluate("navigator.clipboard.readText()").startswith("apiVersion: gnomon.dev/")
    context.close()
    assert problems == []


def test_an_unknown_definition_is_a_page(gnomon: Gnomon, reader: BrowserContext) -> None:
    page = reader.new_page()
    response = page.goto(gnomon.url + "/process_definitions/%3Cscript%3Ealert(1)%3C%2Fscript%3E")

    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("No such definition")
    expect(page.get_by_role("alert")).to_contain_text("<script>alert(1)</script>")
