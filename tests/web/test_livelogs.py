"""`/processes/{id}/livelogs`, its stream, and `/tasks/{id}/logs.txt`: a run's lines merged in
time order, hostile text shown as text, a fixed number of statements, and 404s for unknown ids."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from gnomon.domain import ProcessStatus, TaskStatus, format_wire_time
from gnomon.domain.changes import RUNS, ChangeFeed
from gnomon.settings import Settings
from gnomon.storage import WriteBatch, transaction
from gnomon.web import livelogs
from tests.clock import FakeClock
from tests.statements import recorded_statements
from tests.web.conftest import Attempt, Site, Store, pages_app
from tests.web.sse import EventStream

XSS = "<script>alert(1)</script>"
TASKS = ("extract", "load")


def entry(when: datetime, message: str, source: str = "stdout") -> dict[str, str]:
    return {
        "log_entry_id": str(uuid.uuid4()),
        "when": format_wire_time(when),
        "source": source,
        "message": message,
    }


def post(client: httpx.Client | TestClient, task_id: str, *entries: dict[str, str]) -> None:
    response = client.post(f"/api/tasks/{task_id}/log_entries", json=list(entries))
    assert response.status_code == 204, response.text


def task_ids(site_or_url: Site | str, process_id: str) -> dict[str, str]:
    """task definition name → id of its attempt."""
    if isinstance(site_or_url, Site):
        run = site_or_url.client.get(f"/api/processes/{process_id}").json()
    else:
        run = httpx.get(f"{site_or_url}/api/processes/{process_id}").json()
    return {task["task_definition_name"]: task["task_id"] for task in run["task"]}


def a_run(store: Store, status: ProcessStatus = ProcessStatus.RUNNING) -> str:
    store.define("etl", *TASKS)
    task_status = TaskStatus.RUNNING if status == ProcessStatus.RUNNING else TaskStatus(status)
    attempts = [Attempt(name, task_status) for name in TASKS]
    return store.run("etl", tasks=TASKS, attempts=attempts, status=status)


def lines_of(site: Site, path: str) -> list[tuple[str, str, str]]:
    """(task, source, message) of each line the page shows, in order."""
    page = site.get(path)
    assert page.status == 200, page.text[:500]
    return [
        (
            str(line.find(cls="log-task").children[0]).strip(),  # without the attempt's number
            line.find(cls="log-source").text(),
            line.find(cls="log-message").text(),
        )
        for line in page.document.find_all("li", cls="log-line")
    ]


def test_every_tasks_lines_merged_in_time_order(site: Site, store: Store, clock: FakeClock) -> None:
    process_id = a_run(store)
    ids = task_ids(site, process_id)
    start = clock.now()
    post(
        site.client,
        ids["extract"],
        entry(start, "one"),
        entry(start + timedelta(seconds=2), "three"),
    )
    post(site.client, ids["load"], entry(start + timedelta(seconds=1), "two", "stderr"))
    post(site.client, ids["load"], entry(start + timedelta(seconds=3), "ERROR: four"))

    path = f"/processes/{process_id}/livelogs"
    assert lines_of(site, path) == [
        ("extract", "stdout", "one"),
        ("load", "stderr", "two"),
        ("extract", "stdout", "three"),
        ("load", "stdout", "ERROR: four"),
    ]
    page = site.get(path)
    kinds = [line.classes for line in page.document.find_all("li", cls="log-line")]
    assert ["log-stderr" in k for k in kinds] == [False, True, False, False]
    assert ["log-error" in k for k in kinds] == [False, False, False, True]
    assert lines_of(site, path + "?task=load") == [
        ("load", "stderr", "two"),
        ("load", "stdout", "ERROR: four"),
    ]
    select = page.document.find("select")
    assert [o.attrs["value"] for o in select.find_all("option")] == ["", *TASKS]


def test_a_running_run_streams_and_an_ended_one_does_not(site: Site, store: Store) -> None:
    running = a_run(store)
    ended = a_run(store, ProcessStatus.SUCCEEDED)
    log = site.get(f"/processes/{running}/livelogs").document.find("ol", cls="log")
    assert log.attrs["data-log-stream"] == f"/processes/{running}/livelogs/stream"
    log = site.get(f"/processes/{ended}/livelogs").document.find("ol", cls="log")
    assert "data-log-stream" not in log.attrs


def test_the_newest_lines_are_shown_with_a_note_when_cut(
    site: Site, store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(livelogs, "SHOWN", 3)
    process_id = a_run(store)
    ids = task_ids(site, process_id)
    start = clock.now()
    post(
        site.client,
        ids["extract"],
        *(entry(start + timedelta(seconds=n), f"line {n}") for n in range(5)),
    )
    path = f"/processes/{process_id}/livelogs"
    assert [message for *_, message in lines_of(site, path)] == ["line 2", "line 3", "line 4"]
    assert "Showing the newest 3 lines" in site.get(path).document.find("main").text()
    assert "Showing the newest" not in site.get(path + "?task=load").text


def test_job_text_is_shown_as_text(site: Site, store: Store, clock: FakeClock) -> None:
    process_id = a_run(store)
    post(site.client, task_ids(site, process_id)["load"], entry(clock.now(), XSS, source=XSS))
    page = site.get(f"/processes/{process_id}/livelogs")
    assert XSS not in page.text
    assert lines_of(site, f"/processes/{process_id}/livelogs") == [("load", XSS, XSS)]


def test_the_page_reads_the_store_in_a_fixed_number_of_statements(
    site: Site, store: Store, engine: Engine, clock: FakeClock
) -> None:
    process_id = a_run(store)
    ids = task_ids(site, process_id)
    path = f"/processes/{process_id}/livelogs"
    with recorded_statements(engine) as few:
        assert site.get(path).status == 200
    for index in range(50):
        post(site.client, ids[TASKS[index % 2]], entry(clock.now() + timedelta(seconds=index), "x"))
    with recorded_statements(engine) as many:
        assert site.get(path).status == 200
    assert len(few) == len(many) == 4  # the run, its task definitions, attempts, lines


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"/processes/{uuid.uuid4()}/livelogs", 404),
        ("/processes/not-a-run/livelogs", 404),
        ("/processes/%3Cscript%3E/livelogs", 404),
        (f"/tasks/{uuid.uuid4()}/logs.txt", 404),
        ("/tasks/..%2F..%2Fetc/logs.txt", 404),
        ("/tasks/%00/logs.txt", 400),
    ],
)
def test_unknown_ids_are_404(site: Site, path: str, status: int) -> None:
    response = site.client.get(path)
    assert response.status_code == status, response.text[:300]
    assert XSS not in response.text


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("?task=nope", 404),
        (f"?task={XSS}", 400),
        ("?task=load&task=extract", 400),
        ("?task=a%00", 400),
    ],
)
def test_a_bad_task_filter_is_answered_with_a_page(
    site: Site, store: Store, query: str, status: int
) -> None:
    process_id = a_run(store)
    response = site.client.get(f"/processes/{process_id}/livelogs{query}")
    assert response.status_code == status
    assert XSS not in response.text


def test_a_download_is_the_attempts_lines_as_written(
    site: Site, store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(livelogs, "DOWNLOAD_PAGE", 2)  # several pages, ties between them
    process_id = a_run(store)
    task_id = task_ids(site, process_id)["extract"]
    start = clock.now()
    same = start + timedelta(seconds=1)
    post(site.client, task_id, entry(start, "first"), entry(same, "tie a"), entry(same, "tie b"))
    post(
        site.client,
        task_id,
        entry(same, "tie c"),
        entry(start + timedelta(seconds=2), XSS, "stderr"),
    )

    response = site.client.get(f"/tasks/{task_id}/logs.txt")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert (
        response.headers["content-disposition"]
        == 'attachment; filename="etl.extract.attempt-1.txt"'
    )
    assert response.headers["x-content-type-options"] == "nosniff"
    lines = response.text.splitlines()
    assert lines[0] == "2026-03-02T12:00:00.000Z stdout first"
    assert sorted(lines[1:4]) == [f"2026-03-02T12:00:01.000Z stdout tie {x}" for x in "abc"]
    assert lines[4:] == [f"2026-03-02T12:00:02.000Z stderr {XSS}"]


def test_a_task_without_lines_downloads_empty(site: Site, store: Store) -> None:
    process_id = a_run(store)
    response = site.client.get(f"/tasks/{task_ids(site, process_id)['load']}/logs.txt")
    assert (response.status_code, response.text) == (200, "")


def test_logs_follow_the_read_policy(engine: Engine, clock: FakeClock, store: Store) -> None:
    process_id = a_run(store)
    settings = Settings(api_token=SecretStr("s3cret"), require_token_for_reads=True)
    with pages_app(settings, engine, clock) as client:
        for path in (f"/processes/{process_id}/livelogs", f"/tasks/{uuid.uuid4()}/logs.txt"):
            assert client.get(path).status_code == 401
        token = {"Authorization": "Bearer s3cret"}
        assert client.get(f"/processes/{process_id}/livelogs", headers=token).status_code == 200


# -- the stream, over real HTTP --------------------------------------------------------------------


def end_run(engine: Engine, process_id: str, clock: FakeClock) -> None:
    batch = WriteBatch()
    batch.end_process(process_id, ProcessStatus.SUCCEEDED, clock.now())
    with transaction(engine) as session:
        batch.flush(session)


def test_new_lines_stream_as_json_until_the_run_ends(
    server: str, store: Store, engine: Engine, clock: FakeClock, feed: ChangeFeed
) -> None:
    process_id = a_run(store)
    ids = task_ids(server, process_id)
    start = clock.now()
    http = httpx.Client(base_url=server)
    post(http, ids["extract"], entry(start, "shown with the page"))
    page = httpx.get(f"{server}/processes/{process_id}/livelogs").text
    assert "shown with the page" in page
    after = format_wire_time(start)
    url = f"{server}/processes/{process_id}/livelogs/stream?after={after}"

    with EventStream(url) as stream:
        first = stream.next()  # what the page has is sent again (the script drops it by its id)
        assert [line["message"] for line in first.json()] == ["shown with the page"]
        post(http, ids["load"], entry(start + timedelta(seconds=2), XSS, "stderr"))
        event = stream.next()
        assert event.event == "entries"
        [line] = event.json()
        assert line["message"] == XSS and line["source"] == "stderr" and line["kind"] == "stderr"
        assert (line["task"], line["task_id"], line["clock"]) == (
            "load",
            ids["load"],
            "12:00:02.000",
        )
        assert event.id == "2026-03-02T12:00:02.000Z"

        # Stored late with an earlier stamp (another attempt's batch): still sent, once.
        post(http, ids["extract"], entry(start + timedelta(seconds=1), "late"))
        assert [line["message"] for line in stream.next().json()] == ["late"]
        stream.quiet(0.5)

        feed.publish(RUNS, process_id)  # an attempt started or ended: the page's head is stale
        run = stream.next()
        assert (run.event, run.json()) == ("run", {"status": "running"})

        end_run(engine, process_id, clock)
        feed.publish(RUNS, process_id)
        end = stream.next()
        assert (end.event, end.json()) == ("end", {"status": "succeeded"})
        stream.ended()
    http.close()


def test_a_reconnecting_stream_starts_after_its_last_event(
    server: str, store: Store, clock: FakeClock, feed: ChangeFeed
) -> None:
    process_id = a_run(store)
    ids = task_ids(server, process_id)
    http = httpx.Client(base_url=server)
    base = clock.now()
    post(
        http, ids["extract"], *(entry(base + timedelta(seconds=10 * n), f"n{n}") for n in range(3))
    )
    url = f"{server}/processes/{process_id}/livelogs/stream"
    with EventStream(
        url, **{"last-event-id": format_wire_time(base + timedelta(seconds=20))}
    ) as stream:
        assert [line["message"] for line in stream.next().json()] == ["n2"]
    with EventStream(url + "?task=load") as stream:
        post(http, ids["extract"], entry(base + timedelta(seconds=40), "not load"))
        post(http, ids["load"], entry(base + timedelta(seconds=41), "load"))
        assert [line["message"] for line in stream.next().json()] == ["load"]
    with EventStream(url + "?after=yesterday") as refused:
        assert refused.status == 400
    del feed
    http.close()
