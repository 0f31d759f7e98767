"""The run page in a real browser, with JavaScript off, over a real `gnomon serve` whose shell
jobs succeed, fail, retry and keep running."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, expect

from tests.e2e.conftest import Gnomon
from tests.web.browser.conftest import DESKTOP, NARROW
from tests.web.browser.test_pages import put, reader, shoot, trigger  # noqa: F401 (fixture)


def shell(name: str, script: str, *after: str, optional: tuple[str, ...] = (), **extra: Any) -> Any:
    dependencies = [{"task_definition_name": d, "success_required": True} for d in after]
    dependencies += [{"task_definition_name": d, "success_required": False} for d in optional]
    return {
        "task_definition_name": name,
        "executable": {"shell_script_command": {"script": script}},
        "dependencies": dependencies,
        **extra,
    }


def warehouse(gnomon: Gnomon, flag: Path) -> str:
    """A run of a nine-task DAG: a retried success, a failure after retries, a task behind it
    that will not run, an optional dependant that runs anyway, and a job still running."""
    put(
        gnomon,
        "warehouse-load",
        shell("extract-orders", "echo '**metadata:rows=12842'\necho '**metadata:source=s3'"),
        shell("extract-customers", "echo ok"),
        shell("clean", "echo cleaning", "extract-orders", "extract-customers"),
        shell(
            "transform-orders",
            f"if [ -e {flag} ]; then echo ok; else touch {flag}; exit 3; fi",
            "clean",
            max_attempts=2,
            backoff_base_seconds=1,
        ),
        shell("transform-customers", "echo ok", "clean"),
        shell(
            "load-warehouse",
            "echo 'connection refused' >&2; exit 2",
            "transform-orders",
            "transform-customers",
            max_attempts=2,
            backoff_base_seconds=1,
        ),
        shell("refresh-dashboards", "echo ok", "load-warehouse"),
        shell("send-report", "echo ok", optional=("load-warehouse",)),
        shell("archive-raw-files-to-cold-storage-bucket", "sleep 300", "extract-orders"),
    )
    trigger(gnomon, "warehouse-load")

    def settled(runs: list[dict[str, Any]]) -> bool:
        if len(runs) != 1:
            return False
        tasks = runs[0].get("task", [])
        loads = [t for t in tasks if t["task_definition_name"] == "load-warehouse"]
        reported = [t for t in tasks if t["task_definition_name"] == "send-report"]
        done = [t for t in loads + reported if t["status"] != "running"]
        return len(loads) == 2 and len(done) == 3

    runs = gnomon.wait_for("/api/processes/?process_definition_name=warehouse-load", settled)
    return str(runs[0]["process_id"])


def test_the_run_page(
    gnomon: Gnomon,
    reader: BrowserContext,  # noqa: F811 (the fixture imported above)
    screenshots: Path,
    tmp_path: Path,
) -> None:
    process_id = warehouse(gnomon, tmp_path / "retried")
    page = reader.new_page()
    page.goto(gnomon.url + "/")
    page.locator("tbody tr").first.get_by_role("link", name="running").click()

    expect(page).to_have_url(f"{gnomon.url}/processes/{process_id}")
    expect(page).to_have_title("Run of warehouse-load · Gnomon")
    node = page.locator("figure.graph g.node")
    expect(node).to_have_count(9)

    def status_of(name: str) -> Any:
        return expect(page.locator(f'g.node[data-task="{name}"]'))

    status_of("transform-orders").to_have_attribute("data-status", "succeeded")
    status_of("load-warehouse").to_have_attribute("data-status", "failed")
    status_of("refresh-dashboards").to_have_attribute("data-status", "none")
    status_of("send-report").to_have_attribute("data-status", "succeeded")
    status_of("archive-raw-files-to-cold-storage-bucket").to_have_attribute(
        "data-status", "running"
    )
    card = page.locator('tbody.task-group[data-task-name="load-warehouse"]')
    expect(card.locator(".task-summary")).to_have_text(
        "Failed on shell for reason: exit code 2 after 2 attempts"
    )
    orders = page.locator('tbody.task-group[data-task-name="extract-orders"]')
    expect(orders.locator(".metadata dt")).to_have_text(["rows", "source"])
    expect(page.locator(".gantt-bar")).to_have_count(10)
    expect(page.get_by_role("button", name="Kill")).to_be_visible()
    expect(page.get_by_role("button", name="Retry failed tasks")).to_have_count(0)
    page.locator('g.node[data-task="load-warehouse"] a').click()
    expect(page).to_have_url(f"{gnomon.url}/processes/{process_id}#task-load-warehouse")
    shoot(page, screenshots, "run")
    # The README's pictures: the light theme at desktop and phone width.
    for name, size in (("run", DESKTOP), ("run-narrow", NARROW)):
        page.set_viewport_size(size)
        page.screenshot(path=screenshots / f"{name}.png", full_page=True, animations="disabled")
