"""`/`: the latest runs, newest first, with origin, times, status and a chip per task."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gnomon.domain import ProcessStatus, TaskStatus
from tests.web.conftest import Attempt, Page, Site, Store
from tests.web.html import Element


def rows(page: Page) -> list[Element]:
    return page.document.find("tbody").find_all("tr")


def names(page: Page) -> list[str]:
    return [row.find("th").text() for row in rows(page)]


def cell(row: Element, label: str) -> Element:
    return next(td for td in row.find_all("td") if td.attrs.get("data-label") == label)


def test_an_empty_store_says_no_runs_yet(site: Site) -> None:
    page = site.get("/")
    assert page.status == 200
    assert "No runs yet." in page.document.find("main").text()
    assert page.document.find_all("table") == []


def test_runs_are_listed_newest_first_with_their_times_and_status(site: Site, store: Store) -> None:
    store.define("older")
    store.define("newer")
    first = store.run("older", seconds=125, status=ProcessStatus.FAILED)
    store.clock.advance(3600)
    second = store.run("newer", status=ProcessStatus.RUNNING)
    store.clock.advance(30)

    page = site.get("/")

    assert names(page) == ["newer", "older"]
    running, failed = rows(page)
    assert cell(running, "Duration").text() == "30 s"
    assert cell(running, "Ended").text() == "–"
    assert cell(failed, "Duration").text() == "2 min 5 s"
    started = cell(failed, "Started").find("time")
    assert started.attrs["datetime"] == "2026-03-02T12:00:00.000Z"
    assert started.text() == "2026-03-02 12:00:00"
    assert cell(failed, "Ended").find("time").attrs["datetime"] == "2026-03-02T12:02:05.000Z"
    status = cell(failed, "Status").find("a")
    assert status.attrs["href"] == f"/processes/{first}"
    assert status.text() == "failed" and "status-failed" in status.classes
    assert cell(running, "Status").find("a").attrs["href"] == f"/processes/{second}"
    assert running.find("th").find("a").attrs["href"] == "/process_definitions/newer"


def test_origin_says_schedule_trigger_task_filter_and_retry(site: Site, store: Store) -> None:
    store.define("job", "a", "b")
    retried = store.run("job", tasks=("a", "b"), status=ProcessStatus.FAILED)
    store.retry(retried)
    store.clock.advance(60)
    store.run("job", tasks=("a", "b"), origin="trigger", task_filter=["b"])
    store.clock.advance(60)
    store.run("job", tasks=("a", "b"), origin="trigger")

    page = site.get("/")

    origins = [cell(row, "Origin").text() for row in rows(page)]
    assert origins == ["trigger", "trigger of 1 task", "schedule, retried"]


def test_each_task_has_a_chip_with_its_latest_attempt(site: Site, store: Store) -> None:
    store.define("dag", "extract", "load", "report")
    store.run(
        "dag",
        tasks=("extract", "load", "report"),
        status=ProcessStatus.RUNNING,
        attempts=[
            Attempt("extract", TaskStatus.SUCCEEDED),
            Attempt("load", TaskStatus.FAILED, "exit code 3"),
            Attempt("load", TaskStatus.RUNNING),
        ],
    )

    chips = cell(rows(site.get("/"))[0], "Tasks").find_all("li", cls="chip")

    assert [chip.find("span", cls="chip-name").text() for chip in chips] == [
        "extract",
        "load",
        "report",
    ]
    assert [chip.attrs["title"] for chip in chips] == [
        "extract: succeeded",
        "load: running after 2 attempts",
        "report: not run",
    ]
    assert [sorted(chip.classes) for chip in chips] == [
        ["chip", "status-succeeded"],
        ["chip", "status-running"],
        ["chip", "status-none"],
    ]
    assert chips[1].find("span", cls="chip-count").text() == "×2"


def test_a_task_filter_shows_only_the_tasks_it_ran(site: Site, store: Store) -> None:
    store.define("dag", "a", "b")
    store.run("dag", tasks=("a", "b"), origin="trigger", task_filter=["b"])

    chips = cell(rows(site.get("/"))[0], "Tasks").find_all("li", cls="chip")

    assert [chip.find("span", cls="chip-name").text() for chip in chips] == ["b"]


def test_the_banner_lists_open_trigger_requests(site: Site, store: Store) -> None:
    store.define("nightly", "a", "b")
    store.trigger("nightly")
    store.clock.advance(120)
    store.trigger("nightly", task_filter=["b"])
    store.clock.advance(60)

    banner = site.get("/").document.find("section", cls="notice-info")

    assert banner.find("h2").text() == "2 trigger requests waiting to start"
    items = banner.find_all("li")
    assert items[0].text() == "nightly requested 2026-03-02 12:00:00 (3 min ago)"
    assert items[1].text() == "nightly requested 2026-03-02 12:02:00 (1 min ago), tasks b"


def test_the_banner_names_ten_triggers_and_counts_the_rest(site: Site, store: Store) -> None:
    store.define("busy")
    for _ in range(12):
        store.trigger("busy")
        store.clock.advance(1)

    banner = site.get("/").document.find("section", cls="notice-info")

    items = banner.find_all("li")
    assert len(items) == 11 and items[-1].text() == "and 2 more"


def test_no_banner_without_open_triggers(site: Site, store: Store) -> None:
    store.define("quiet")
    store.run("quiet")
    assert site.get("/").document.find_all("section", cls="notice-info") == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?definition=a", ["a", "a"]),
        ("?status=failed", ["a"]),
        ("?status=running,succeeded", ["b", "a"]),
        ("?status=running&status=failed", ["b", "a"]),
        ("?since=2026-03-02T12:01", ["b", "a"]),
        ("?until=2026-03-02T12:01:00Z", ["a", "a"]),
        ("?since=2026-03-02T12:00:30%2B00:00&until=2026-03-02T12:01:30", ["a"]),
        ("?definition=a&status=succeeded", ["a"]),
        ("?definition=nobody", []),
    ],
)
def test_filters_in_the_query_string(
    site: Site, store: Store, query: str, expected: list[str]
) -> None:
    store.define("a")
    store.define("b")
    store.run("a", status=ProcessStatus.SUCCEEDED)
    store.clock.advance(60)
    store.run("a", status=ProcessStatus.FAILED)
    store.clock.advance(60)
    store.run("b", status=ProcessStatus.RUNNING)

    page = site.get("/" + query)

    assert page.status == 200
    assert (names(page) if expected else []) == expected
    if not expected:
        assert "No runs match these filters." in page.document.find("main").text()


def test_the_form_shows_the_filters_asked_for(site: Site) -> None:
    form = site.get("/?definition=a&status=failed&since=2026-03-02T12:00Z").document.find("form")
    inputs = {i.attrs["name"]: i.attrs.get("value") for i in form.find_all("input")}
    assert inputs["definition"] == "a"
    assert inputs["since"] == "2026-03-02T12:00:00"
    assert inputs["until"] == ""
    selected = [o.attrs["value"] for o in form.find_all("option") if "selected" in o.attrs]
    assert selected == ["failed"]
    assert form.find("a").attrs["href"] == "/"  # Clear


def pager_link(page: Page, rel: str) -> str | None:
    pagers = page.document.find_all("nav", cls="pager")
    links = [a for pager in pagers for a in pager.find_all("a") if a.attrs.get("rel") == rel]
    return links[0].attrs["href"] if links else None


def run_links(page: Page) -> list[str]:
    return [cell(row, "Status").find("a").attrs["href"] for row in rows(page)]


def test_paging_walks_every_run_once_even_when_starts_tie(site: Site, store: Store) -> None:
    store.define("tied")
    started = store.clock.now()
    # Runs started in the same instant (one scheduler wake-up) must neither repeat nor vanish.
    ids = {store.run("tied", started=started + timedelta(seconds=i // 3)) for i in range(7)}

    pages = [site.get("/?limit=3")]
    while (older := pager_link(pages[-1], "next")) is not None:
        pages.append(site.get(older))

    seen = [link for page in pages for link in run_links(page)]
    assert [len(rows(page)) for page in pages] == [3, 3, 1]
    assert sorted(seen) == sorted(f"/processes/{i}" for i in ids)
    newer = pager_link(pages[-1], "prev")
    assert newer is not None
    assert run_links(site.get(newer)) == seen[3:6]
    assert pager_link(pages[1], "prev") is not None


def test_the_first_page_has_no_newer_link(site: Site, store: Store) -> None:
    store.define("few")
    store.run("few")
    assert site.get("/").document.find_all("nav", cls="pager") == []


def test_paging_keeps_the_filters(site: Site, store: Store) -> None:
    store.define("a")
    store.define("b")
    for _ in range(3):
        store.run("a")
        store.run("b")
        store.clock.advance(1)

    older = pager_link(site.get("/?definition=a&limit=2"), "next")
    assert older is not None and "definition=a" in older and "limit=2" in older

    page = site.get(older)

    assert names(page) == ["a"]
    newer = pager_link(page, "prev")
    assert newer is not None and "definition=a" in newer and "limit=2" in newer


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "?status=paused",
            "status: unknown status 'paused'; expected one of: running, succeeded, failed",
        ),
        ("?since=yesterday", "since: 'yesterday' is not a date or time such as 2026-03-02T12:00"),
        ("?until=2026-13-01", "until: '2026-13-01' is not a date or time"),
        (
            "?since=0001-01-01T00:00%2B01:00",
            "since: '0001-01-01T00:00+01:00' is not a date or time",
        ),
        (
            "?since=2026-03-03&until=2026-03-02",
            "since: the start of the time range is after its end",
        ),
        ("?limit=0", "limit: must be a whole number from 1 to 200"),
        ("?limit=201", "limit: must be a whole number from 1 to 200"),
        ("?limit=" + "9" * 5000, "limit: longer than 200 characters"),
        ("?limit=-1", "limit: must be a whole number from 1 to 200"),
        ("?limit=1e3", "limit: must be a whole number from 1 to 200"),
        ("?limit=1&limit=2", "limit: give it once"),
        ("?definition=%3Cscript%3E", "definition: '<script>' cannot be a definition name"),
        ("?definition=" + "a" * 201, "definition: longer than 200 characters"),
        ("?older=2026-03-02T12:00:00Z_not-a-uuid", "older: not a position in the list"),
        ("?newer=garbage", "newer: not a position in the list"),
        (
            "?older=2026-03-02T12:00:00Z_00000000-0000-0000-0000-000000000000"
            "&newer=2026-03-02T12:00:00Z_00000000-0000-0000-0000-000000000000",
            "older: ask for older or for newer runs, not both",
        ),
    ],
)
def test_bad_query_values_answer_a_400_page(site: Site, query: str, message: str) -> None:
    page = site.get("/" + query)

    assert page.status == 400
    assert page.document.find("h1").text() == "Cannot show these runs"
    assert message in page.document.find("section", cls="notice-error").text()
    assert page.document.find("nav").find("a").attrs["href"] == "/"  # the frame is there
