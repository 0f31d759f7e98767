"""`/process_definitions`: scheduled and paused definitions, their schedules, next and last runs,
and the last ten runs as circles."""

from __future__ import annotations

from datetime import timedelta

from gnomon.domain import ProcessStatus
from tests.samples import EVERY_MINUTE
from tests.web.conftest import EVERY_HOUR_AT_5, Page, Site, Store
from tests.web.html import Element


def section(page: Page, heading: str) -> Element:
    for found in page.document.find_all("section", cls="section"):
        if found.find("h2").text().startswith(heading):
            return found
    raise AssertionError(f"no section {heading!r}")


def row_of(page: Page, name: str) -> Element:
    for row in page.document.find_all("tr"):
        header = row.find_all("th")
        if header and row.find("th").find_all("a") and row.find("th").find("a").text() == name:
            return row
    raise AssertionError(f"no row for {name!r}")


def cell(row: Element, label: str) -> Element:
    return next(td for td in row.find_all("td") if td.attrs.get("data-label") == label)


def test_an_empty_store_says_how_to_define_one(site: Site) -> None:
    page = site.get("/process_definitions")
    assert page.status == 200
    assert "No process definitions yet." in page.document.find("main").text()


def test_scheduled_and_paused_definitions_are_apart(site: Site, store: Store) -> None:
    store.define("hourly", schedule=EVERY_HOUR_AT_5)
    store.define("manual")
    store.define("resting", schedule=EVERY_MINUTE, paused=True)

    page = site.get("/process_definitions")

    scheduled, paused = section(page, "Scheduled"), section(page, "Paused")
    assert scheduled.find("h2").text() == "Scheduled 2"
    assert [a.text() for a in scheduled.find_all("a", cls="name")] == ["hourly", "manual"]
    assert [a.text() for a in paused.find_all("a", cls="name")] == ["resting"]
    assert paused.find("a", cls="name").attrs["href"] == "/process_definitions/resting"
    assert cell(row_of(page, "resting"), "Next run").text() == "paused"


def test_a_schedule_shows_in_words_and_as_written_with_its_zone(site: Site, store: Store) -> None:
    store.define("hourly", schedule=EVERY_HOUR_AT_5)
    store.define("looping", schedule={"continuous_schedule": {"buffer_seconds": 1200}})
    store.define("manual")

    page = site.get("/process_definitions")

    assert (
        cell(row_of(page, "hourly"), "Schedule").text()
        == "Every hour at :05 5 * * * ? Europe/Berlin"
    )
    assert cell(row_of(page, "hourly"), "Schedule").find("code").text() == "5 * * * ?"
    assert (
        cell(row_of(page, "looping"), "Schedule").text()
        == "Continuous, every 20 min buffer_seconds: 1200"
    )
    assert cell(row_of(page, "manual"), "Schedule").text() == "Manual runs only when triggered"


def test_next_run_is_absolute_and_relative(site: Site, store: Store) -> None:
    store.define("hourly", schedule=EVERY_HOUR_AT_5)  # created at 12:00 UTC, 13:00 in Berlin

    next_run = cell(row_of(site.get("/process_definitions"), "hourly"), "Next run")

    assert next_run.find("span", cls="relative").text() == "in 5 min"
    assert next_run.find("time").attrs["datetime"] == "2026-03-02T12:05:00.000Z"
    assert next_run.find("time").text() == "2026-03-02 12:05:00"


def test_an_overdue_schedule_is_due_now(site: Site, store: Store) -> None:
    store.define("hourly", schedule=EVERY_HOUR_AT_5)
    store.clock.advance(3 * 3600)

    next_run = cell(row_of(site.get("/process_definitions"), "hourly"), "Next run")

    assert next_run.find("span", cls="relative").text() == "due now"
    # for the latest fire time it missed (the one the scheduler catches up on)
    assert next_run.find("time").attrs["datetime"] == "2026-03-02T14:05:00.000Z"


def test_last_run_duration_and_status(site: Site, store: Store) -> None:
    store.define("job", schedule=EVERY_MINUTE)
    store.run("job", seconds=75, status=ProcessStatus.FAILED)
    store.clock.advance(600)
    latest = store.run("job", status=ProcessStatus.RUNNING)
    store.clock.advance(120)

    row = row_of(site.get("/process_definitions"), "job")

    assert cell(row, "Last run").find("span", cls="relative").text() == "2 min ago"
    assert cell(row, "Last run").find("time").attrs["datetime"] == "2026-03-02T12:10:00.000Z"
    assert cell(row, "Last duration").text() == "1 min 15 s"  # of the last run that ended
    status = cell(row, "Last status").find("a")
    assert status.text() == "running" and status.attrs["href"] == f"/processes/{latest}"


def test_a_definition_that_never_ran(site: Site, store: Store) -> None:
    store.define("fresh")
    row = row_of(site.get("/process_definitions"), "fresh")
    assert cell(row, "Last run").text() == "never"
    assert cell(row, "Last duration").text() == "–"
    assert cell(row, "History").text() == "no runs yet"


def test_history_shows_the_last_ten_runs_oldest_first(site: Site, store: Store) -> None:
    store.define("busy")
    ids = []
    for index in range(12):
        status = ProcessStatus.FAILED if index == 10 else ProcessStatus.SUCCEEDED
        ids.append(store.run("busy", seconds=10 * (index + 1), status=status))
        store.clock.advance(3600)

    dots = cell(row_of(site.get("/process_definitions"), "busy"), "History").find_all("a")

    assert [dot.attrs["href"] for dot in dots] == [f"/processes/{i}" for i in ids[2:]]
    assert dots[0].attrs["title"] == "2026-03-02 14:00:00 UTC · succeeded · 30 s"
    assert dots[8].attrs["title"] == "2026-03-02 22:00:00 UTC · failed · 1 min 50 s"
    radii = [float(dot.find("circle").attrs["r"]) for dot in dots]
    assert radii == sorted(radii) and radii[0] < radii[-1] == 9.0  # longer runs, larger circles
    assert "dot-failed" in dots[8].classes and dots[8].find_all("path")  # a cross, not just red
    assert not dots[9].find_all("path")


def test_a_running_run_is_a_ring_sized_by_its_time_so_far(site: Site, store: Store) -> None:
    store.define("slow")
    store.run("slow", seconds=60)
    store.clock.advance(3600)
    store.run("slow", status=ProcessStatus.RUNNING)
    store.clock.advance(600)

    dots = cell(row_of(site.get("/process_definitions"), "slow"), "History").find_all("a")

    assert "dot-running" in dots[1].classes
    assert dots[1].attrs["title"] == "2026-03-02 13:00:00 UTC · running · 10 min"
    assert float(dots[1].find("circle").attrs["r"]) > float(dots[0].find("circle").attrs["r"])


def test_a_resource_owned_definition_says_it_is_edited_with_kubectl(
    site: Site, store: Store
) -> None:
    store.define("team-a.nightly", owner="ProcessDefinition team-a/nightly")

    name = row_of(site.get("/process_definitions"), "team-a.nightly").find("th")

    assert "ProcessDefinition team-a/nightly edited with kubectl" in name.text()


def test_history_of_many_definitions_keeps_each_apart(site: Site, store: Store) -> None:
    for name in ("a", "b", "c"):
        store.define(name)
    started = store.clock.now()
    for hour in range(12):
        for name in ("a", "b", "c"):
            store.run(name, started=started + timedelta(hours=hour))
    store.clock.advance(13 * 3600)

    page = site.get("/process_definitions")

    for name in ("a", "b", "c"):
        assert len(cell(row_of(page, name), "History").find_all("a")) == 10
