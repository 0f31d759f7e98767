"""A user's journey through the UI, in a real browser with JavaScript on, over `gnomon serve` on
SQLite and the real Docker engine: sign in, trigger a two-task DAG, watch its graph and its log
live, kill a long job, retry it, pause and resume, and meet the API's refusals in the page.

Every step is what a person would do with the mouse; the REST API is used only to set the scene
(define the DAG) and to learn a run's id, as a person would read it off the page.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Dialog, Page, expect

from gnomon.domain.definitions import ProcessDefinition
from gnomon.storage import make_engine, transaction
from gnomon.storage.definitions import delete_definition, upsert_definition
from tests.e2e.conftest import Gnomon
from tests.images import BUSYBOX_REPOSITORY, BUSYBOX_TAG, busybox_image, docker_client  # noqa: F401  (fixtures)
from tests.web.browser.conftest import DESKTOP, assert_not_reloaded, mark_unreloaded
from tests.web.browser.test_pages import runs_of, shoot

TOKEN = "journey-token"
XSS = "<script>alert(1)</script>"


def container(name: str, script: str, *after: str) -> dict[str, Any]:
    return {
        "task_definition_name": name,
        "executable": {
            "docker_image_command": {
                "image": BUSYBOX_REPOSITORY,
                "tag": BUSYBOX_TAG,
                "command": ["sh", "-c", script],
            }
        },
        "dependencies": [{"task_definition_name": d, "success_required": True} for d in after],
        "max_attempts": 1,
    }


@pytest.fixture
def gnomon(tmp_path: Path, busybox_image: str) -> Iterator[Gnomon]:  # noqa: F811
    """`gnomon serve` running jobs in containers of the local engine; actions need a token."""
    del busybox_image
    server = Gnomon(tmp_path, GNOMON_API_TOKEN=TOKEN)
    server.start()
    server.http.headers["authorization"] = f"Bearer {TOKEN}"
    yield server
    server.stop()


@pytest.fixture
def person(browser: Browser, gnomon: Gnomon) -> Iterator[Page]:
    """A browser with JavaScript on, signed in through the login page; any dialog other than a
    confirmation of ours fails the test (an injected script would open one)."""
    context: BrowserContext = browser.new_context(viewport=DESKTOP)
    unexpected: list[str] = []

    def dialog(opened: Dialog) -> None:
        if opened.type != "confirm":
            unexpected.append(opened.message)
        opened.accept()

    context.on("dialog", dialog)
    page = context.new_page()
    page.goto(gnomon.url + "/process_definitions")
    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("API token").fill(TOKEN)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    yield page
    context.close()
    assert unexpected == []


def define(gnomon: Gnomon, name: str, *tasks: dict[str, Any]) -> None:
    body = {"process_definition_name": name, "task_definitions": list(tasks)}
    response = gnomon.http.put(f"/api/process_definitions/{name}", json=body)
    assert response.status_code == 200, response.text


def latest_run(gnomon: Gnomon, name: str) -> str:
    runs = gnomon.wait_for(
        f"/api/processes/?process_definition_name={name}", lambda runs: len(runs) >= 1
    )
    process_id: str = runs[0]["process_id"]
    return process_id


def node(page: Page, task: str) -> Any:
    return page.locator(f'[data-task="{task}"]')


def test_trigger_watch_the_graph_and_the_log_live(
    gnomon: Gnomon, person: Page, screenshots: Path
) -> None:
    define(
        gnomon,
        "nightly",
        container("extract", "echo first line; sleep 4; echo second line"),
        container("report", f"echo '{XSS}'; echo report done", "extract"),
    )
    person.goto(gnomon.url + "/process_definitions")
    person.locator("tbody tr", has_text="nightly").get_by_role("button", name="Trigger").click()
    expect(person.get_by_role("status")).to_contain_text("Triggered")
    process_id = latest_run(gnomon, "nightly")

    person.goto(f"{gnomon.url}/processes/{process_id}")
    expect(node(person, "extract")).to_have_attribute("data-status", "running")
    mark_unreloaded(person)

    logs = person.context.new_page()
    logs.goto(f"{gnomon.url}/processes/{process_id}/livelogs")
    expect(logs.get_by_text("first line")).to_be_visible()
    assert runs_of(gnomon, "nightly")[0]["status"] == "running"  # seen while the job runs
    expect(logs.get_by_text("second line")).to_be_visible(timeout=20_000)
    expect(logs.get_by_text(XSS)).to_be_visible(timeout=20_000)  # as text, not as a script

    expect(node(person, "extract")).to_have_attribute("data-status", "succeeded", timeout=20_000)
    expect(node(person, "report")).to_have_attribute("data-status", "succeeded", timeout=20_000)
    assert_not_reloaded(person)
    expect(person.get_by_text("Succeeded on docker after 1 attempt").first).to_be_visible()
    shoot(person, screenshots, "journey-run")
    person.screenshot(path=screenshots / "readme-run-page.png")  # `make readme-screenshot`
    shoot(logs, screenshots, "journey-livelogs")
    logs.close()


def test_kill_a_long_job_then_retry_it(gnomon: Gnomon, person: Page) -> None:
    define(gnomon, "long", container("wait", "echo waiting; sleep 300"))
    person.goto(gnomon.url + "/process_definitions/long")
    person.get_by_role("button", name="Trigger", exact=True).click()
    expect(person.get_by_role("status")).to_contain_text("Triggered")
    process_id = latest_run(gnomon, "long")
    person.goto(f"{gnomon.url}/processes/{process_id}")
    expect(node(person, "wait")).to_have_attribute("data-status", "running")

    person.get_by_role("button", name="Kill").click()

    expect(node(person, "wait")).to_have_attribute("data-status", "failed", timeout=30_000)
    expect(person.locator("#run-tasks")).to_contain_text("requested to be killed")
    person.get_by_role("button", name="Retry failed tasks").click()
    expect(node(person, "wait")).to_have_attribute("data-status", "running", timeout=30_000)
    person.get_by_role("button", name="Kill").click()  # leave no container behind
    expect(node(person, "wait")).to_have_attribute("data-status", "failed", timeout=30_000)


def test_pause_and_resume_from_the_definition_page(gnomon: Gnomon, person: Page) -> None:
    define(gnomon, "hourly", container("only", "true"))
    person.goto(gnomon.url + "/process_definitions/hourly")

    person.get_by_role("button", name="Pause").click()
    expect(person.get_by_role("status")).to_contain_text("Paused")
    assert gnomon.http.get("/api/process_definitions/hourly").json()["paused"] is True
    person.get_by_role("button", name="Resume").click()
    expect(person.get_by_role("status")).to_contain_text("Resumed")
    assert gnomon.http.get("/api/process_definitions/hourly").json()["paused"] is False


def test_the_apis_refusal_shows_in_the_page(gnomon: Gnomon, person: Page, tmp_path: Path) -> None:
    define(gnomon, "owned", container("only", "true"))
    person.goto(gnomon.url + "/process_definitions/owned")
    # While the page is open, the definition moves to Kubernetes: someone deletes it and the
    # operator stores it again from a ProcessDefinition resource. The page still offers Delete,
    # which must now be refused with the API's own message.
    body = gnomon.http.get("/api/process_definitions/owned").json()
    store = make_engine(f"sqlite:///{tmp_path / 'gnomon.db'}")
    with transaction(store) as session:
        delete_definition(session=session, name="owned")
        upsert_definition(
            session=session,
            definition=ProcessDefinition.model_validate(body),
            now=datetime.now(UTC),
            owner="ProcessDefinition default/owned",
        )
    store.dispose()

    person.get_by_role("button", name="Delete").click()

    alert = person.get_by_role("alert")
    expect(alert).to_contain_text("managed by the Kubernetes resource")
    assert gnomon.http.get("/api/process_definitions/owned").status_code == 200
