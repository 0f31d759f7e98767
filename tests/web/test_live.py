"""The pages' live streams over real HTTP, on SQLite and PostgreSQL: one event per change (a
burst included), each page only its own changes, a bound on open streams, and streams that end
when their reader goes or the server stops."""

from __future__ import annotations

import uuid
from datetime import timedelta

import fastapi.routing
import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from gnomon.api.app import create_app
from gnomon.domain import ProcessStatus, TaskStatus
from gnomon.domain.changes import METADATA, RUNS, ChangeFeed
from gnomon.settings import Settings
from gnomon.storage import StoreTimeouts, make_engine
from gnomon.web import install_pages
from tests.clock import FakeClock
from tests.live import live_server
from tests.waiting import wait_until
from tests.web.conftest import MAX_STREAMS, Attempt, Store
from tests.web.sse import EventStream
from tests.web.test_hostile_requests import NOWHERE

QUIET = 0.6
"""Long enough past the feed's window (0.1 s) that a second event would have come."""


def metadata(key: str, value: str) -> list[dict[str, str]]:
    return [
        {
            "metadata_entry_id": str(uuid.uuid4()),
            "when": "2026-03-02T12:00:00.000Z",
            "key": key,
            "value": value,
        }
    ]


def task_of(server: str, process_id: str) -> str:
    run = httpx.get(f"{server}/api/processes/{process_id}").json()
    task_id: str = run["task"][0]["task_id"]
    return task_id


def test_a_trigger_makes_one_change_event(server: str, store: Store) -> None:
    store.define("nightly")
    with EventStream(server + "/live/runs") as stream:
        assert stream.status == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        response = httpx.post(f"{server}/api/process_definitions/nightly/trigger")
        assert response.status_code == 204

        event = stream.next()
        assert (event.event, event.json()) == ("change", {"topics": ["triggers"]})
        stream.quiet(QUIET)


def test_a_burst_of_changes_makes_one_event(server: str, feed: ChangeFeed) -> None:
    with (
        EventStream(server + "/live/runs") as stream,
        EventStream(server + "/live/definitions") as other,
    ):
        for index in range(200):  # as the scheduler does when two hundred runs start at once
            feed.publish(RUNS, str(uuid.uuid4()) if index else None)
        assert stream.next().json() == {"topics": ["runs"]}
        assert other.next().json() == {"topics": ["runs"]}
        stream.quiet(QUIET)
        other.quiet(0)


def test_a_runs_page_stream_ignores_what_the_page_does_not_show(server: str, store: Store) -> None:
    store.define("job")
    process_id = store.run(
        "job", attempts=[Attempt("step", TaskStatus.RUNNING)], status=ProcessStatus.RUNNING
    )
    task_id = task_of(server, process_id)
    with EventStream(server + "/live/runs") as stream:
        response = httpx.post(f"{server}/api/tasks/{task_id}/metadata", json=metadata("k", "v"))
        assert response.status_code == 204
        stream.quiet(QUIET)


def test_a_run_stream_hears_its_own_run_only(server: str, store: Store, feed: ChangeFeed) -> None:
    store.define("job")
    running = [Attempt("step", TaskStatus.RUNNING)]
    mine = store.run("job", attempts=running, status=ProcessStatus.RUNNING)
    other = store.run("job", attempts=running, status=ProcessStatus.RUNNING)
    with EventStream(f"{server}/live/processes/{mine}") as stream:
        assert stream.status == 200
        posted = httpx.post(
            f"{server}/api/tasks/{task_of(server, other)}/metadata", json=metadata("k", "v")
        )
        assert posted.status_code == 204
        feed.publish(RUNS, other)
        stream.quiet(QUIET)

        posted = httpx.post(
            f"{server}/api/tasks/{task_of(server, mine)}/metadata", json=metadata("rows", "12")
        )
        assert posted.status_code == 204
        assert stream.next().json() == {"topics": [METADATA]}
        feed.publish(RUNS, mine)
        assert stream.next().json() == {"topics": [RUNS]}
        stream.quiet(QUIET)


def test_streams_past_the_bound_are_refused_until_one_closes(server: str, feed: ChangeFeed) -> None:
    streams = [EventStream(server + "/live/runs") for _ in range(MAX_STREAMS)]
    try:
        assert [stream.status for stream in streams] == [200] * MAX_STREAMS
        with EventStream(server + "/live/definitions") as refused:
            assert refused.status == 503
            assert refused.headers["retry-after"] == "30"
            assert "Too many live pages" in refused.body
        streams.pop().close()
        wait_until(lambda: feed.subscribers, lambda n: n < MAX_STREAMS, what="a free place")
        with EventStream(server + "/live/definitions") as admitted:
            assert admitted.status == 200
        assert httpx.get(server + "/").status_code == 200  # pages are served all along
    finally:
        for stream in streams:
            stream.close()


def test_a_reader_that_goes_frees_its_subscription(server: str, feed: ChangeFeed) -> None:
    stream = EventStream(server + "/live/runs")
    wait_until(lambda: feed.subscribers, lambda n: n == 1, what="the stream's subscription")
    stream.close()
    wait_until(lambda: feed.subscribers, lambda n: n == 0, what="the subscription to go")


def test_closing_the_feed_ends_the_streams(server: str, feed: ChangeFeed) -> None:
    with EventStream(server + "/live/runs") as stream:
        feed.close()
        stream.ended()
    assert httpx.get(server + "/live/runs").status_code == 503  # shutting down: none opens


@pytest.mark.parametrize(
    "path",
    [
        "/live/processes/not-a-uuid",
        f"/live/processes/{uuid.uuid4()}",
        f"/processes/{uuid.uuid4()}/livelogs/stream",
        "/processes/%3Cscript%3E/livelogs/stream",
    ],
)
def test_unknown_runs_are_404(server: str, path: str, feed: ChangeFeed) -> None:
    response = httpx.get(server + path)
    assert response.status_code == 404
    assert "No such run" in response.text
    assert feed.subscribers == 0


def test_streams_follow_the_read_policy(engine: Engine, clock: FakeClock, store: Store) -> None:
    settings = Settings(api_token=SecretStr("s3cret"), require_token_for_reads=True)
    process_id = store.run("job")
    app = create_app(settings, engine, clock=clock)
    install_pages(app)
    with live_server(app) as url:
        for path in ("/live/runs", "/live/definitions", f"/live/processes/{process_id}"):
            assert httpx.get(url + path).status_code == 401
            wrong = httpx.get(url + path, headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 403
        with EventStream(url + "/live/runs", authorization="Bearer s3cret") as stream:
            assert stream.status == 200
        app.state.context.changes.close()


def test_the_streams_stay_out_of_the_api_document(server: str) -> None:
    paths = httpx.get(server + "/openapi.json").json()["paths"]
    assert not [path for path in paths if path.startswith(("/live/", "/tasks/"))]


def test_runs_and_definitions_pages_ask_for_live_updates(server: str) -> None:
    assert 'data-live="/live/runs"' in httpx.get(server + "/").text
    assert 'data-live="/live/definitions"' in httpx.get(server + "/process_definitions").text


def test_a_stream_ended_by_the_run_says_so(server: str, store: Store, clock: FakeClock) -> None:
    del clock
    process_id = store.run(
        "job", status=ProcessStatus.SUCCEEDED, seconds=timedelta(seconds=3).seconds
    )
    with EventStream(f"{server}/processes/{process_id}/livelogs/stream") as stream:
        event = stream.next()
        assert (event.event, event.json()) == ("end", {"status": "succeeded"})
        stream.ended()


def test_a_quiet_stream_sends_keep_alive_comments(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fastapi.routing, "_PING_INTERVAL", 0.2)
    with EventStream(server + "/live/runs") as stream:
        wait_until(lambda: list(stream.comments), lambda c: "ping" in c, what="a keep-alive")
        assert stream.comments[0] == "live"  # the first line: the stream is open
        stream.quiet(0)


def test_a_store_that_is_gone_answers_503(clock: FakeClock) -> None:
    engine = make_engine(NOWHERE, StoreTimeouts(connect_seconds=2, pool_seconds=0.5))
    app = create_app(Settings(), engine, clock=clock)
    install_pages(app)
    run = uuid.uuid4()
    with live_server(app) as url:
        for path in (
            f"/live/processes/{run}",
            f"/processes/{run}/livelogs",
            f"/processes/{run}/livelogs/stream",
            f"/tasks/{run}/logs.txt",
        ):
            response = httpx.get(url + path)
            assert response.status_code == 503, (path, response.text[:300])
        assert app.state.context.changes.subscribers == 0
        app.state.context.changes.close()
