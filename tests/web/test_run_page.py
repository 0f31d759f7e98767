"""`/processes/{id}`: a run's task graph, timeline, task summaries and attempts, over SQLite and
PostgreSQL, with runs written to the store as the scheduler writes them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from gnomon.domain import ProcessStatus, TaskDefinition, TaskStatus
from gnomon.domain.runs import MetadataEntry
from gnomon.settings import Settings
from gnomon.storage import WriteBatch, callbacks, run_requests, scheduling, transaction
from tests.clock import FakeClock
from tests.samples import docker_task
from tests.statements import recorded_statements
from tests.web.conftest import Page, Site, Store, pages_app
from tests.web.html import Element

XSS = "<script>alert(1)</script>"


@dataclass
class Try:
    """An attempt to seed: seconds after the run's start it began and ended (None: running)."""

    task: str
    status: TaskStatus
    start: float
    end: float | None = None
    reason: str | None = None
    metadata: Sequence[tuple[str, str, float]] = ()
    """(key, value, seconds after the run's start)."""
    backend: str | None = None


@dataclass
class Seed:
    tasks: Sequence[TaskDefinition]
    tries: Sequence[Try] = ()
    status: ProcessStatus = ProcessStatus.SUCCEEDED
    ended: float | None = None
    definition: str = "etl"
    task_filter: list[str] | None = None
    origin: str = "trigger"
    extra: dict[str, Any] = field(default_factory=dict)


def task(name: str, *deps: str, **extra: Any) -> TaskDefinition:
    return TaskDefinition.model_validate(docker_task(name, *deps, **extra))


def seed(store: Store, plan: Seed) -> str:
    """Write a run as the scheduler would have, each attempt at its own times."""
    began = store.clock.now()

    def at(seconds: float) -> Any:
        return began + timedelta(seconds=seconds)

    batch = WriteBatch()
    process_id = batch.add_process(
        name=plan.definition,
        tasks=list(plan.tasks),
        origin=plan.origin,
        scheduled_for=None,
        task_filter=plan.task_filter,
        now=began,
    )
    by_name = {t.task_definition_name: t for t in plan.tasks}
    ids = []
    for index, attempt in enumerate(plan.tries):
        task_id, _ = batch.add_task(
            process_id=process_id,
            name=plan.definition,
            task=by_name[attempt.task],
            attempts=index,
            now=at(attempt.start),
        )
        ids.append(task_id)
        if attempt.end is not None:
            batch.end_task(task_id, attempt.status, attempt.reason, at(attempt.end))
    if plan.ended is not None:
        batch.end_process(process_id, plan.status, at(plan.ended))
    with transaction(store.engine) as session:
        batch.flush(session)
        for task_id, attempt in zip(ids, plan.tries, strict=True):
            _details(session, task_id, attempt, at)
    return process_id


def _details(session: Session, task_id: str, attempt: Try, at: Any) -> None:
    entries = [
        MetadataEntry(metadata_entry_id=uuid.uuid4(), when=at(when), key=key, value=value)
        for key, value, when in attempt.metadata
    ]
    callbacks.add_metadata(session=session, task_id=task_id, entries=entries)
    if attempt.backend:
        row = {
            "task_id": task_id,
            "backend": attempt.backend,
            "handle": "c-1",
            "status": "running",
            "as_of": at(attempt.start),
            "details": {},
        }
        scheduling.save_executor_states(session=session, rows=[row])


def kill(store: Store, process_id: str) -> None:
    with Session(store.engine) as session:
        run_requests.add_kill(session=session, process_id=process_id, now=store.clock.now())
        session.commit()


def nodes(page: Page) -> dict[str, Element]:
    return {
        g.attrs["data-task"]: g
        for g in page.document.find("figure", cls="graph").find_all("g")
        if "node" in g.classes
    }


def cards(page: Page) -> dict[str, Element]:
    return {s.attrs["data-task-name"]: s for s in page.document.find_all("tbody", cls="task-group")}


def summary(page: Page, name: str) -> str:
    return cards(page)[name].find("span", cls="task-summary").text()


def buttons(page: Page) -> dict[str, str]:
    """Each action form's button label and the URL it posts to."""
    return {
        form.find("button").text(): form.attrs["action"]
        for form in page.document.find_all("form", cls="action")
    }


def etl() -> list[TaskDefinition]:
    return [
        task("extract", max_attempts=1),
        task("transform", "extract", max_attempts=3, backoff_base_seconds=60),
        TaskDefinition.model_validate(docker_task("report", optional=("transform",))),
    ]


def test_a_succeeded_run_shows_its_graph_timeline_and_tasks(site: Site, store: Store) -> None:
    process_id = seed(
        store,
        Seed(
            etl(),
            [
                Try("extract", TaskStatus.SUCCEEDED, 0, 60, backend="docker"),
                Try("transform", TaskStatus.FAILED, 61, 90, "exit code 3", backend="docker"),
                Try("transform", TaskStatus.SUCCEEDED, 150, 200, backend="docker"),
                Try("report", TaskStatus.SUCCEEDED, 201, 205),
            ],
            ended=206,
        ),
    )
    store.clock.advance(3600)

    page = site.get(f"/processes/{process_id}")

    assert page.status == 200
    main = page.document.find("main")
    assert main.find("h1").text() == "Run of etl"
    assert main.find("h1").find("a").attrs["href"] == "/process_definitions/etl"
    facts = main.find("dl", cls="facts-card").text()
    assert "Origin trigger" in facts and "Duration 3 min 26 s" in facts
    assert "Started UTC 2026-03-02 12:00:00" in facts and "Ended UTC 2026-03-02 12:03:26" in facts
    graph = nodes(page)
    assert {name: g.attrs["data-status"] for name, g in graph.items()} == {
        "extract": "succeeded",
        "transform": "succeeded",
        "report": "succeeded",
    }
    # Users' scripts find a task's node by `[data-task=NAME]`: one element per task.
    tagged = [e.attrs["data-task"] for e in page.document.find_all() if "data-task" in e.attrs]
    assert sorted(tagged) == ["extract", "report", "transform"]
    lines = [t.text() for t in graph["transform"].find_all("text", cls="node-line")]
    assert lines == ["12:01:01–12:03:20", "2 min 19 s · 1 failure"]
    edges = {
        (g.attrs["data-source"], g.attrs["data-target"]): g.classes
        for g in page.document.find_all("g")
        if "edge" in g.classes
    }
    assert "edge-required" in edges[("extract", "transform")]
    assert "edge-optional" in edges[("transform", "report")]
    assert summary(page, "extract") == "Succeeded on docker after 1 attempt"
    assert summary(page, "transform") == "Succeeded on docker after 2 attempts"
    assert summary(page, "report") == "Succeeded on docker after 1 attempt"
    rows = cards(page)["transform"].find_all("tr", cls="attempt-row")
    assert [row.find("th").text() for row in rows] == ["#1 on docker", "#2 on docker"]
    first = {td.attrs["data-label"]: td.text() for td in rows[0].find_all("td")}
    assert first["Started"] == "2026-03-02 12:01:01" and first["Ended"] == "2026-03-02 12:01:30"
    assert first["Duration"] == "29 s" and first["Status"] == "failed"
    assert first["Reason"] == "exit code 3"
    task_id = rows[0].attrs["data-task-id"]
    logs = next(td for td in rows[0].find_all("td") if td.attrs["data-label"] == "Logs")
    assert logs.find("a").attrs["href"] == f"/tasks/{task_id}/logs.txt"
    assert buttons(page) == {}, "a run that succeeded has nothing to kill or retry"
    live = [a for a in main.find_all("a") if a.text() == "Live logs"]
    assert live[0].attrs["href"] == f"/processes/{process_id}/livelogs"


def test_the_timeline_draws_every_attempt_and_the_backoff_between(site: Site, store: Store) -> None:
    process_id = seed(
        store,
        Seed(
            etl(),
            [
                Try("extract", TaskStatus.SUCCEEDED, 0, 50),
                Try("transform", TaskStatus.FAILED, 50, 100, "exit code 3"),
                Try("transform", TaskStatus.FAILED, 160, 200, "exit code 3"),
                Try("transform", TaskStatus.FAILED, 320, 400, "exit code 3"),
            ],
            status=ProcessStatus.FAILED,
            ended=400,
        ),
    )

    page = site.get(f"/processes/{process_id}")

    rows = page.document.find("ol", cls="gantt-rows").find_all("li", cls="gantt-row")
    labels = [row.find("a").text() for row in rows if "gantt-axis" not in row.classes]
    assert labels == ["extract", "transform", "report"]
    bars = rows[1].find_all("rect", cls="gantt-bar")
    assert [(b.attrs["x"], b.attrs["width"]) for b in bars] == [
        ("12.5%", "12.5%"),
        ("40.0%", "10.0%"),
        ("80.0%", "20.0%"),
    ]
    assert all("status-failed" in b.classes for b in bars)
    gaps = rows[1].find_all("line", cls="gantt-gap")
    assert [g.find("title").text() for g in gaps] == [
        "transform: waited 1 min before attempt 2",
        "transform: waited 2 min before attempt 3",
    ]
    assert rows[2].find_all("rect") == [], "report never ran"
    ticks = [t.text() for t in rows[-1].find_all("text")]
    assert ticks == ["12:01", "12:02", "12:03", "12:04", "12:05", "12:06"]
    assert [t.attrs["x"] for t in rows[-1].find_all("text")][:2] == ["15.0%", "30.0%"]


def test_a_run_failed_after_retries_offers_retry_and_says_why(site: Site, store: Store) -> None:
    process_id = seed(
        store,
        Seed(
            etl(),
            [
                Try("extract", TaskStatus.SUCCEEDED, 0, 10),
                Try("transform", TaskStatus.FAILED, 10, 20, "exit code 3"),
                Try("transform", TaskStatus.FAILED, 80, 90, "exit code 3"),
                Try("transform", TaskStatus.FAILED, 200, 210, "exit code 3"),
                Try("report", TaskStatus.SUCCEEDED, 211, 220),
            ],
            status=ProcessStatus.FAILED,
            ended=220,
        ),
    )

    page = site.get(f"/processes/{process_id}")

    assert nodes(page)["transform"].attrs["data-status"] == "failed"
    assert "3 failures" in nodes(page)["transform"].text()
    assert summary(page, "transform") == "Failed on docker for reason: exit code 3 after 3 attempts"
    assert buttons(page) == {"Retry failed tasks": f"/processes/{process_id}/retry"}
    card = cards(page)["transform"]
    assert card.attrs["data-task-status"] == "failed"
    assert "3 attempts allowed · after extract" in card.text()


def test_a_running_run_can_be_killed_and_shows_what_waits(site: Site, store: Store) -> None:
    process_id = seed(
        store,
        Seed(
            etl(),
            [
                Try("extract", TaskStatus.SUCCEEDED, 0, 10),
                Try("transform", TaskStatus.FAILED, 10, 20, "exit code 3"),
            ],
            status=ProcessStatus.RUNNING,
        ),
    )
    store.clock.advance(45)

    page = site.get(f"/processes/{process_id}")

    statuses = {name: g.attrs["data-status"] for name, g in nodes(page).items()}
    assert statuses == {"extract": "succeeded", "transform": "waiting", "report": "waiting"}
    assert summary(page, "transform") == "Waiting to retry after 1 attempt"
    assert summary(page, "report") == "Waiting to start"
    assert buttons(page) == {"Kill": f"/processes/{process_id}/kill"}
    kill_form = page.document.find("form", cls="action")
    assert kill_form.attrs["data-confirm"].startswith("Kill this run?")
    facts = page.document.find("dl", cls="facts-card").text()
    assert "Duration 45 s so far" in facts and "still running" in facts

    store.clock.advance(15)
    seed_running = seed(
        store,
        Seed(etl(), [Try("extract", TaskStatus.RUNNING, 0)], status=ProcessStatus.RUNNING),
    )
    store.clock.advance(30)
    running = site.get(f"/processes/{seed_running}")
    assert nodes(running)["extract"].attrs["data-status"] == "running"
    assert summary(running, "extract") == "Running on docker"
    assert "12:01:00–now" in nodes(running)["extract"].text()


def test_a_killed_run_says_so_and_its_tasks_did_not_run(site: Site, store: Store) -> None:
    process_id = seed(
        store,
        Seed(
            etl(),
            [Try("extract", TaskStatus.RUNNING, 0)],
            status=ProcessStatus.RUNNING,
        ),
    )
    kill(store, process_id)
    store.clock.advance(5)

    killing = site.get(f"/processes/{process_id}")
    assert "kill requested" in killing.document.find("dl", cls="facts-card").text()
    assert "A kill was requested" in killing.document.find("main").text()
    assert nodes(killing)["report"].attrs["data-status"] == "none"

    reason = "The task's process was requested to be killed"
    with transaction(store.engine) as session:
        batch = WriteBatch()
        task_id = killing.document.find("tr", cls="attempt-row").attrs["data-task-id"]
        batch.end_task(task_id, TaskStatus.FAILED, reason, store.clock.now())
        batch.end_process(process_id, ProcessStatus.FAILED, store.clock.now())
        batch.flush(session)

    page = site.get(f"/processes/{process_id}")

    assert "failed killed" in page.document.find("dl", cls="facts-card").text()
    assert summary(page, "extract") == f"Failed on docker for reason: {reason} after 1 attempt"
    assert summary(page, "transform") == "Did not run"
    assert nodes(page)["transform"].attrs["data-status"] == "none"
    assert "did not run" in nodes(page)["transform"].text()
    assert buttons(page) == {"Retry failed tasks": f"/processes/{process_id}/retry"}


def test_a_task_filter_shows_only_the_tasks_it_ran(site: Site, store: Store) -> None:
    process_id = seed(
        store,
        Seed(
            etl(),
            [Try("transform", TaskStatus.SUCCEEDED, 0, 5)],
            ended=5,
            task_filter=["transform"],
        ),
    )

    page = site.get(f"/processes/{process_id}")

    assert list(nodes(page)) == ["transform"]
    assert "trigger of 1 task" in page.document.find("dl", cls="facts-card").text()
    assert "Tasks 1 of 3" in page.document.find("dl", cls="facts-card").text()


def test_metadata_shows_the_latest_value_of_each_key(site: Site, store: Store) -> None:
    metadata = [
        ("rows", "10", 1),
        ("rows", "250", 3),
        ("rows", "20", 2),
        ("stage", "load", 2),
        ("memory", "512 MB", 4),
    ]
    process_id = seed(
        store,
        Seed(
            [task("extract")],
            [Try("extract", TaskStatus.SUCCEEDED, 0, 5, metadata=metadata)],
            ended=5,
        ),
    )

    page = site.get(f"/processes/{process_id}")

    pairs = [
        (item.find("dt").text(), item.find("dd").text())
        for item in cards(page)["extract"].find("dl", cls="metadata").find_all("div")
    ]
    assert pairs == [("memory", "512 MB"), ("rows", "250"), ("stage", "load")]


def test_hostile_text_is_shown_as_text(site: Site, store: Store) -> None:
    hostile = task("extract").model_copy(update={"task_definition_name": XSS})
    process_id = seed(
        store,
        Seed(
            [hostile],
            [
                Try(
                    XSS,
                    TaskStatus.FAILED,
                    0,
                    5,
                    reason=XSS,
                    metadata=[(XSS, XSS, 1), ("k", '"><img src=x onerror=alert(1)>', 1)],
                    backend="<b>x</b>",
                )
            ],
            status=ProcessStatus.FAILED,
            ended=5,
            definition=XSS,
        ),
    )

    page = site.get(f"/processes/{process_id}")

    assert page.status == 200
    assert "<script>" not in page.text and "<img" not in page.text
    assert page.document.find("h1").text() == f"Run of {XSS}"
    assert list(nodes(page)) == [XSS]
    assert list(cards(page)) == [XSS]
    assert summary(page, XSS) == f"Failed on <b>x</b> for reason: {XSS} after 1 attempt"
    values = [dd.text() for dd in page.document.find("dl", cls="metadata").find_all("dd")]
    assert values == [XSS, '"><img src=x onerror=alert(1)>']
    href = page.document.find("h1").find("a").attrs["href"]
    assert href == "/process_definitions/%3Cscript%3Ealert%281%29%3C%2Fscript%3E"


@pytest.mark.parametrize(
    "path",
    [
        "/processes/" + str(uuid.UUID(int=7)),
        "/processes/not-a-uuid",
        "/processes/" + "a" * 5000,
        "/processes/%3Cscript%3E",
        "/processes/%20",
        "/processes/{00000000-0000-0000-0000-000000000007}",
    ],
)
def test_an_unknown_or_malformed_id_is_a_404_page(site: Site, path: str) -> None:
    page = site.get(path)
    assert page.status == 404
    assert page.document.find("h1").text() == "No such run"
    assert "<script>" not in page.text


def test_an_upper_case_id_finds_the_run(site: Site, store: Store) -> None:
    process_id = seed(store, Seed([task("extract")], ended=1))
    assert site.get(f"/processes/{process_id.upper()}").status == 200


def test_reading_follows_the_api_read_policy(engine: Engine, clock: FakeClock) -> None:
    store = Store(engine, clock)
    process_id = seed(store, Seed([task("extract")], ended=1, definition="secret-etl"))
    settings = Settings(api_token="s3cret", require_token_for_reads=True)
    with pages_app(settings, engine, clock) as client:
        site = Site(client)
        refused = site.get(f"/processes/{process_id}")
        wrong = site.get(f"/processes/{process_id}", authorization="Bearer nope")
        allowed = site.get(f"/processes/{process_id}", authorization="Bearer s3cret")
    assert refused.status == 401 and "secret-etl" not in refused.text
    assert wrong.status == 403 and "secret-etl" not in wrong.text
    assert allowed.status == 200 and "secret-etl" in allowed.text


def wide_run(store: Store, size: int) -> str:
    """A run of `size` tasks after one root, each failed once, retried, with metadata."""
    tasks = [task("root")] + [task(f"t{i}", "root", max_attempts=2) for i in range(size - 1)]
    tries = [Try("root", TaskStatus.SUCCEEDED, 0, 1, metadata=[("k", "v", 1)])]
    for index in range(size - 1):
        tries.append(Try(f"t{index}", TaskStatus.FAILED, 1, 2, "exit code 1"))
        tries.append(
            Try(f"t{index}", TaskStatus.SUCCEEDED, 3, 4, metadata=[("a", "1", 3), ("a", "2", 4)])
        )
    return seed(store, Seed(tasks, tries, ended=5))


def test_statements_do_not_grow_with_tasks_attempts_or_metadata(
    site: Site, store: Store, engine: Engine
) -> None:
    counted = []
    for size in (1, 50):
        process_id = wide_run(store, size)
        with recorded_statements(engine) as statements:
            page = site.get(f"/processes/{process_id}")
        assert page.status == 200 and len(nodes(page)) == size
        counted.append(len(statements))
    # The run, its task definitions, its attempts, their latest metadata.
    assert counted == [4, 4]
    with recorded_statements(engine) as statements:
        assert site.get("/processes/" + str(uuid.UUID(int=1))).status == 404
    assert len(statements) == 1


def test_a_task_behind_a_failed_dependency_will_not_run_while_the_run_goes_on(
    site: Site, store: Store
) -> None:
    tasks = [
        task("extract"),
        task("load", "extract"),
        TaskDefinition.model_validate(docker_task("report", "load", optional=("extract",))),
        TaskDefinition.model_validate(docker_task("notify", optional=("load",))),
        task("archive"),
    ]
    process_id = seed(
        store,
        Seed(
            tasks,
            [
                Try("extract", TaskStatus.FAILED, 0, 5, "exit code 3"),
                Try("archive", TaskStatus.RUNNING, 0),
            ],
            status=ProcessStatus.RUNNING,
        ),
    )

    page = site.get(f"/processes/{process_id}")

    statuses = {name: g.attrs["data-status"] for name, g in nodes(page).items()}
    assert statuses == {
        "extract": "failed",
        "load": "none",
        "report": "none",
        "notify": "waiting",
        "archive": "running",
    }
    assert summary(page, "load") == "Did not run"
