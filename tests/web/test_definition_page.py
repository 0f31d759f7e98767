"""`/process_definitions/{name}`: one definition with its actions, schedule, next fire times,
tasks, notifications, run history and source, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session

from gnomon.client import load_definitions
from gnomon.domain import ProcessStatus
from gnomon.settings import Settings
from gnomon.storage.scheduling import mark_definitions
from gnomon.storage.tables import ProcessDefinitionRow, TaskTemplateRow
from gnomon.web.definition_page import HISTORY
from gnomon.web.notices import NOTICES
from tests.clock import FakeClock
from tests.kubernetes.conftest import CRD_PATH, load_yaml
from tests.kubernetes.structural import to_json_schema, validator_for
from tests.samples import docker_task, sample_process
from tests.statements import recorded_statements
from tests.web.conftest import EVERY_HOUR_AT_5, Page, Site, Store, pages_app
from tests.web.html import Element

XSS = "<script>alert(1)</script>"
OWNER = "ProcessDefinition team-a/nightly"
NIGHTLY_BERLIN: dict[str, Any] = {
    "cron_schedule": {
        "minutes": "30",
        "hours": "2",
        "day_of_month": "*",
        "month": "*",
        "day_of_week": "?",
        "time_zone": "Europe/Berlin",
    }
}
STATEMENTS = 3  # the definition with its open triggers, its tasks, its runs


def raw_text(element: Element) -> str:
    """The text inside, white space kept (a `<pre>`'s content)."""
    return "".join(c if isinstance(c, str) else raw_text(c) for c in element.children)


def by_class(page: Page, cls: str) -> list[Element]:
    return page.document.find_all(cls=cls)


def forms(page: Page) -> list[Element]:
    return page.document.find("main").find_all("form")


def form_of(element: Element, label: str) -> Element:
    return next(f for f in element.find_all("form") if f.find("button").text() == label)


def hidden(form: Element) -> dict[str, str]:
    return {i.attrs["name"]: i.attrs["value"] for i in form.find_all("input")}


def task_card(page: Page, name: str) -> Element:
    return next(a for a in page.document.find_all("article") if a.attrs.get("data-task") == name)


def facts(element: Element) -> dict[str, str]:
    """The `dt`/`dd` pairs of every definition list inside."""
    found: dict[str, str] = {}
    for listing in element.find_all("dl"):
        terms = [child for child in listing.children if isinstance(child, Element)]
        for term, value in zip(terms[::2], terms[1::2], strict=True):
            found[term.text()] = value.text()
    return found


def test_the_head_names_the_definition_and_its_schedule(site: Site, store: Store) -> None:
    store.define("etl", schedule=NIGHTLY_BERLIN, process_description="Loads the warehouse")

    page = site.get("/process_definitions/etl")

    assert page.status == 200
    assert page.document.find("title").text() == "etl · Gnomon"
    assert page.document.find("h1").text() == "etl"
    assert page.document.find("p", cls="lede").text() == "Loads the warehouse"
    schedule = page.document.find("section", cls="card")
    assert schedule.find("p", cls="schedule-words").text() == "Every day at 02:30"
    assert schedule.find("code").text() == "30 2 * * ?"
    assert "Europe/Berlin" in schedule.find("p", cls="schedule-raw").text()
    assert facts(schedule)["Next run"] == "in 13 h 2026-03-03 01:30:00 UTC"
    assert facts(schedule)["Overlap"] == "a new run waits for one still going ( wait )"
    assert by_class(page, "definition-owner") == []
    assert by_class(page, "status-paused") == []


def test_the_buttons_post_to_the_action_routes(site: Site, store: Store) -> None:
    store.define("etl", "extract", "load")

    page = site.get("/process_definitions/etl")

    actions = page.document.find("div", cls="action-bar")
    assert [b.text() for b in actions.find_all("button")] == ["Trigger", "Pause", "Delete"]
    trigger = form_of(actions, "Trigger")
    assert trigger.attrs["method"] == "post"
    assert trigger.attrs["action"] == "/process_definitions/etl/trigger"
    assert trigger.attrs["data-confirm"] == "Start a run of etl now?"
    assert set(hidden(trigger)) == {"csrf"}
    assert form_of(actions, "Pause").attrs["action"] == "/process_definitions/etl/pause"
    delete = form_of(actions, "Delete")
    assert delete.attrs["action"] == "/process_definitions/etl/delete"
    assert "Delete the definition etl?" in delete.attrs["data-confirm"]
    for task in ("extract", "load"):
        one = form_of(task_card(page, task), "Trigger task")
        assert one.attrs["action"] == "/process_definitions/etl/trigger"
        assert hidden(one)["task_definition_name"] == task
        assert task in one.attrs["data-confirm"]


def test_a_paused_definition_offers_resume(site: Site, store: Store) -> None:
    store.define("resting", schedule=EVERY_HOUR_AT_5, paused=True)

    page = site.get("/process_definitions/resting")

    assert page.document.find("div", cls="definition-title").find(cls="status").text() == "paused"
    buttons = [b.text() for b in page.document.find("div", cls="action-bar").find_all("button")]
    assert buttons == ["Trigger", "Resume"] + ["Delete"]
    assert form_of(page.document, "Resume").attrs["action"] == "/process_definitions/resting/resume"
    assert facts(page.document.find("section", cls="card"))["Next run"].startswith("none while")
    assert "Skipped while paused." in page.document.find("p", cls="card-note").text()


def test_a_resource_owned_definition_says_it_is_edited_with_kubectl(
    site: Site, store: Store
) -> None:
    store.define("team-a.nightly", owner=OWNER)

    page = site.get("/process_definitions/team-a.nightly")

    owner = page.document.find("p", cls="definition-owner")
    assert owner.text() == "ProcessDefinition team-a/nightly edited with kubectl"
    buttons = [b.text() for b in page.document.find("div", cls="action-bar").find_all("button")]
    assert buttons == ["Trigger", "Pause"]  # deleting is kubectl's job
    assert "kubectl" in page.document.find("p", cls="action-note").text()


def test_a_scheduling_error_is_shown(site: Site, store: Store) -> None:
    store.define("stuck", schedule=EVERY_HOUR_AT_5)
    with Session(store.engine) as session:
        mark_definitions(session=session, marks=[("stuck", 1, "cannot read the schedule")])
        session.commit()

    notice = site.get("/process_definitions/stuck").document.find("section", cls="notice-warning")

    assert notice.text() == "Not scheduled cannot read the schedule"


@pytest.mark.parametrize("word", sorted(NOTICES))
def test_a_done_word_shows_the_servers_own_notice(site: Site, store: Store, word: str) -> None:
    store.define("etl")
    page = site.get(f"/process_definitions/etl?done={word}")
    (notice,) = [e for e in page.document.find_all() if e.attrs.get("role") == "status"]
    assert notice.text() == NOTICES[word]  # said once, whichever template says it


@pytest.mark.parametrize("word", ["", "deleted-everything", XSS, "triggered%00", "x" * 5000])
def test_any_other_done_word_shows_nothing_and_is_never_echoed(
    site: Site, store: Store, word: str
) -> None:
    store.define("etl")
    response = site.client.get("/process_definitions/etl", params={"done": word})
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert "notice-ok" not in response.text
    assert word not in response.text or word == ""
    assert "&lt;script" not in response.text


def test_open_trigger_requests_are_counted(site: Site, store: Store) -> None:
    store.define("etl")
    store.trigger("etl")
    store.trigger("etl", ["step"])
    notice = site.get("/process_definitions/etl").document.find("p", cls="notice-info")
    assert notice.text() == "2 trigger requests waiting to start."


def test_the_next_fire_times_cross_a_clock_change(
    site: Site, store: Store, clock: FakeClock
) -> None:
    clock.set(datetime(2026, 3, 27, 12, 0, tzinfo=UTC))  # the last Sunday of March is the 29th
    store.define("nightly", schedule=NIGHTLY_BERLIN)

    table = site.get("/process_definitions/nightly").document.find("table", cls="fire-times")

    assert [th.text() for th in table.find_all("th")] == ["Europe/Berlin", "UTC"]
    rows = [[td.text() for td in tr.find_all("td")] for tr in table.find("tbody").find_all("tr")]
    assert rows == [
        ["Sat 28 Mar 02:30 CET", "2026-03-28 01:30:00"],
        ["Sun 29 Mar 03:00 CEST", "2026-03-29 01:00:00"],
        ["clocks go forward at this moment, to UTC+02:00"],
        ["Mon 30 Mar 02:30 CEST", "2026-03-30 00:30:00"],
        ["Tue 31 Mar 02:30 CEST", "2026-03-31 00:30:00"],
        ["Wed 01 Apr 02:30 CEST", "2026-04-01 00:30:00"],
    ]
    times = [t.attrs["datetime"] for t in table.find_all("time")]
    assert times[1] == "2026-03-29T01:00:00.000Z"


def test_a_utc_schedule_shows_one_column(site: Site, store: Store) -> None:
    store.define(
        "hourly",
        schedule={"cron_schedule": {**EVERY_HOUR_AT_5["cron_schedule"], "time_zone": "UTC"}},
    )
    table = site.get("/process_definitions/hourly").document.find("table", cls="fire-times")
    assert [th.text() for th in table.find_all("th")] == ["UTC"]
    assert table.find("td").text() == "2026-03-02 12:05:00"
    assert len(table.find("tbody").find_all("tr")) == 5


@pytest.mark.parametrize(
    ("schedule", "words"),
    [
        (
            {"continuous_schedule": {"buffer_seconds": 1200}},
            "Continuous: each run starts 20 min after the previous one started, "
            "so there are no fixed fire times.",
        ),
        (
            {"continuous_schedule": {"buffer_seconds": 0}},
            "Continuous: each run starts as soon as the previous one ends, "
            "so there are no fixed fire times.",
        ),
        (None, "No schedule: runs start only when triggered."),
    ],
)
def test_schedules_without_fire_times_say_so(
    site: Site, store: Store, schedule: dict[str, Any] | None, words: str
) -> None:
    store.define("looping", schedule=schedule)
    page = site.get("/process_definitions/looping")
    cards = page.document.find_all("section", cls="card")
    assert cards[1].find("p").text() == words
    assert page.document.find_all("table", cls="fire-times") == []


def test_task_definitions_are_pretty_printed(site: Site, store: Store) -> None:
    body = sample_process("sample")
    body["task_definitions"][0]["executable"]["batch_image_command"]["environment_variables"] += [
        {"variable_name": "DB_PASSWORD", "value_from": {"host_env": "WAREHOUSE_PASSWORD"}},
    ]
    store.define("sample", **{k: v for k, v in body.items() if k != "process_definition_name"})

    page = site.get("/process_definitions/sample")

    starting = task_card(page, "starting-task")
    assert starting.find("h3").text() == "starting-task"
    assert starting.find("span", cls="tag").text() == "Batch image"
    assert starting.find("pre").text() == "jobstart.sh"
    assert facts(starting) == {
        "Image": "registry/imagename:0.0.1",
        "Memory": "1000 MB",
        "CPUs": "1",
        "Job role": "arn:aws:iam::123:role/x",
        "Attempts": "2 (1 + 1 retry)",
        "Backoff": "1 min before each retry",
        "Runtime limit": "20 min",
        "EnvironmentType": "production",
        "DB_PASSWORD": "from Gnomon's environment variable WAREHOUSE_PASSWORD",
    }
    dependent = task_card(page, "dependent-task")
    assert dependent.find("span", cls="tag").text() == "Shell script"
    assert raw_text(dependent.find("pre")) == "echo hi\necho '**status=success'"
    assert facts(dependent)["After"] == "starting-task must succeed"
    assert facts(dependent)["Success"].startswith("only when the job reports it")


def test_docker_tasks_show_their_command_and_secret_references(site: Site, store: Store) -> None:
    extract = docker_task(
        "extract",
        max_attempts=4,
        backoff_base_seconds=30,
        backoff_exponent=2.0,
        executable={
            "docker_image_command": {
                "image": "team/etl",
                "tag": "1.2",
                "command": ["sh", "-c", "echo 'a b' > /tmp/x"],
                "memory": 512,
                "cpu": 512,
                "environment_variables": [
                    {"variable_name": "MODE", "value": "full"},
                    {"variable_name": "KEY", "value_from": {"file": "/run/secrets/key"}},
                    {
                        "variable_name": "TOKEN",
                        "value_from": {"secret_key_ref": {"name": "etl", "key": "token"}},
                    },
                ],
            }
        },
    )
    load = docker_task("load", "extract", optional=("extract-extra",))
    store.define("etl", task_definitions=[extract, docker_task("extract-extra"), load])

    page = site.get("/process_definitions/etl")

    card = task_card(page, "extract")
    assert card.find("pre").text() == "sh -c 'echo '\"'\"'a b'\"'\"' > /tmp/x'"
    shown = facts(card)
    assert shown["Image"] == "team/etl:1.2"
    assert shown["CPU"] == "512 units (0.5 CPU)"
    assert shown["Attempts"] == "4 (1 + 3 retries)"
    assert shown["Backoff"] == "1 min, 2 min, then 4 min (×2 each retry)"
    assert shown["MODE"] == "full"
    assert shown["KEY"] == "from file /run/secrets/key"
    assert shown["TOKEN"] == "from Kubernetes Secret etl, key token"
    assert facts(task_card(page, "load"))["After"] == (
        "extract must succeed extract-extra may fail"
    )
    assert facts(task_card(page, "load"))["Attempts"] == "1, no retries"


def test_the_task_graph_draws_the_dependencies(site: Site, store: Store) -> None:
    tasks = [
        docker_task("extract", max_attempts=3),
        docker_task("orders", "extract"),
        docker_task("stock", "extract"),
        docker_task("load", "orders", optional=("stock",)),
    ]
    store.define("etl", task_definitions=tasks)

    graph = site.get("/process_definitions/etl").document.find("figure", cls="graph")

    nodes = graph.find_all("g", cls="node")
    assert [n.attrs["data-task"] for n in nodes] == ["extract", "orders", "stock", "load"]
    assert {n.attrs["data-status"] for n in nodes} == {"none"}  # a definition has not run
    assert nodes[0].find("a").attrs["href"] == "#task-extract"
    assert "up to 3 attempts" in nodes[0].text()
    edges = {
        (e.attrs["data-source"], e.attrs["data-target"]): e.classes
        for e in graph.find_all("g", cls="edge")
    }
    assert edges == {
        ("extract", "orders"): {"edge", "edge-required"},
        ("extract", "stock"): {"edge", "edge-required"},
        ("orders", "load"): {"edge", "edge-required"},
        ("stock", "load"): {"edge", "edge-optional"},
    }
    assert graph.find("svg").attrs["aria-label"] == "Task graph of etl"


def test_notifications_say_where_and_when(site: Site, store: Store) -> None:
    body = sample_process("sample")
    body["notifications"].append(
        {"webhook": {"url": "https://chat.example.com/hook", "notify_when": "on_failure"}}
    )
    store.define("sample", **{k: v for k, v in body.items() if k != "process_definition_name"})

    items = site.get("/process_definitions/sample").document.find("ul", cls="notification-list")

    assert [li.text() for li in items.find_all("li")] == [
        "Email Dev Team <dev-team@organization.com> when a run fails or the outcome changes",
        "PagerDuty service key <key> at https://events.pagerduty.com after 3 failed runs in a row",
        "Webhook POST https://chat.example.com/hook when a run fails",
    ]


def test_no_notifications_say_so(site: Site, store: Store) -> None:
    store.define("quiet")
    section = site.get("/process_definitions/quiet").document.find_all("section")[-3]
    assert section.find("p").text() == "None: no one is told when a run ends."


def test_the_run_history_lists_the_latest_runs_with_a_chart(
    site: Site, store: Store, clock: FakeClock
) -> None:
    store.define("etl")
    first = store.run("etl", seconds=30, status=ProcessStatus.FAILED)
    clock.advance(3600)
    store.run("etl", seconds=3725, origin="trigger", task_filter=["step"])
    clock.advance(7200)
    running = store.run("etl", status=ProcessStatus.RUNNING)
    clock.advance(90)

    page = site.get("/process_definitions/etl")

    rows = page.document.find("table", cls="table-history").find("tbody").find_all("tr")
    assert [
        [cell.text() for cell in row.children if isinstance(cell, Element)] for row in rows
    ] == [
        ["2026-03-02 15:00:00", "schedule", "1 min 30 s", "running"],
        ["2026-03-02 13:00:00", "trigger of step", "1 h 2 min", "succeeded"],
        ["2026-03-02 12:00:00", "schedule", "30 s", "failed"],
    ]
    assert rows[0].find("a").attrs["href"] == f"/processes/{running}"
    assert rows[2].find("a").attrs["href"] == f"/processes/{first}"
    charts = page.document.find("figure", cls="chart-card").find_all("svg", cls="chart")
    assert [c.classes for c in charts] == [{"chart", "chart-wide"}, {"chart", "chart-narrow"}]
    points = charts[0].find_all("a", cls="chart-point")
    assert {p.attrs["href"] for p in points} == {f"/processes/{first}", f"/processes/{running}"} | {
        rows[1].find("a").attrs["href"]
    }
    titles = sorted(p.find("title").text() for p in points)
    assert titles[0] == "2026-03-02 12:00:00 UTC · failed · 30 s"
    assert titles[-1] == "2026-03-02 15:00:00 UTC · running · running for 1 min 30 s"
    tally = page.document.find("ul", cls="tally").text()
    assert tally == "succeeded 1 failed 1 running 1"
    recent = facts(page.document.find_all("section", cls="card")[2])
    assert recent == {"Latest": "1 min ago , running", "Median": "31 min 18 s"}


def test_the_history_shows_the_last_hundred_runs(
    site: Site, store: Store, clock: FakeClock
) -> None:
    store.define("busy")
    for _ in range(HISTORY + 5):
        store.run("busy", seconds=10)
        clock.advance(60)

    page = site.get("/process_definitions/busy")

    rows = page.document.find("table", cls="table-history").find("tbody").find_all("tr")
    assert len(rows) == HISTORY
    assert rows[0].find("time").text() == "2026-03-02 13:44:00"  # the newest
    assert len(page.document.find("svg", cls="chart-wide").find_all("circle")) == HISTORY
    assert page.document.find("h2", cls="card-title").text() == "Schedule"
    assert page.document.find_all("h2", cls="card-title")[2].text() == "Last 100 runs"


def test_no_runs_yet(site: Site, store: Store) -> None:
    store.define("fresh")
    page = site.get("/process_definitions/fresh")
    assert page.document.find_all("svg", cls="chart") == []
    assert "No runs yet." in page.document.find("main").text()


def test_the_source_is_the_apis_json_and_a_manifest_that_loads_back(
    site: Site, store: Store
) -> None:
    body = sample_process("sample")
    body["task_definitions"][1]["executable"]["shell_script_command"]["script"] = (
        "set -e\n  echo 'indented' \nprintf 'ü\\n'\n"
    )
    store.define("sample", **{k: v for k, v in body.items() if k != "process_definition_name"})

    page = site.get("/process_definitions/sample")

    served = site.client.get("/api/process_definitions/sample").json()
    assert json.loads(raw_text(_by_id(page, "source-json"))) == served
    manifest = raw_text(_by_id(page, "source-yaml"))
    assert manifest.startswith("apiVersion: gnomon.dev/v1alpha1\nkind: ProcessDefinition\n")
    assert load_definitions(manifest, "page") == [served]
    buttons = [b for b in page.document.find_all("button") if "copy-button" in b.classes]
    assert [b.attrs["data-copy"] for b in buttons] == ["source-json", "source-yaml"]
    assert all("hidden" in b.attrs and b.text() == "Copy" for b in buttons)
    (script,) = [
        s for s in page.document.find_all("script") if s.attrs["src"].startswith("/static/copy.js")
    ]
    assert "defer" in script.attrs
    assert site.client.get(script.attrs["src"]).status_code == 200


def test_the_manifest_is_a_valid_resource(site: Site, store: Store, engine: Engine) -> None:
    body = sample_process("sample")
    store.define("sample", **{k: v for k, v in body.items() if k != "process_definition_name"})
    with Session(engine) as session:
        mark_definitions(session=session, marks=[("sample", 1, "read-only, left out")])
        session.commit()
    (version,) = load_yaml(CRD_PATH)["spec"]["versions"]
    validator = validator_for(to_json_schema(version["schema"]["openAPIV3Schema"]))

    page = site.get("/process_definitions/sample")

    manifest = yaml.safe_load(raw_text(_by_id(page, "source-yaml")))
    assert list(validator.iter_errors(manifest)) == []
    assert "scheduling_error" not in manifest["spec"]


def test_a_resource_owned_definition_is_shown_as_its_resource(site: Site, store: Store) -> None:
    store.define("team-a.nightly", owner=OWNER)
    page = site.get("/process_definitions/team-a.nightly")
    manifest = raw_text(_by_id(page, "source-yaml"))
    assert "metadata:\n  name: nightly\n  namespace: team-a\n" in manifest
    assert by_class(page, "cell-warning") == []


def test_a_name_kubectl_would_refuse_is_flagged(site: Site, store: Store) -> None:
    store.define("Nightly_ETL")
    page = site.get("/process_definitions/Nightly_ETL")
    assert "kubectl needs a lowercase name" in page.document.find("p", cls="cell-warning").text()


def test_values_from_the_definition_are_escaped(site: Site, store: Store) -> None:
    task = docker_task(
        "step",
        executable={
            "docker_image_command": {
                "image": "busybox",
                "command": ["echo", XSS],
                "environment_variables": [{"variable_name": XSS, "value": XSS}],
            }
        },
    )
    store.define(
        "xss",
        task_definitions=[task],
        process_description=XSS,
        notifications=[{"email": {"name": XSS, "email": "a@b.c"}}],
    )
    with Session(store.engine) as session:
        mark_definitions(session=session, marks=[("xss", 1, XSS)])
        session.commit()

    page = site.get("/process_definitions/xss")

    assert page.status == 200
    assert XSS not in page.text
    assert all(s.attrs["src"].startswith("/static/") for s in page.document.find_all("script"))
    assert page.document.find("p", cls="lede").text() == XSS
    assert " style=" not in page.text


def test_stored_bodies_that_no_longer_read_are_shown_as_such(site: Site, store: Store) -> None:
    store.define("old", "fine", "broken")
    with Session(store.engine) as session:
        session.execute(
            sa.update(TaskTemplateRow)
            .where(TaskTemplateRow.task_definition_name == "broken")  # type: ignore[arg-type]
            .values(body={"task_definition_name": "broken", "executable": {"gone": {}}})
        )
        session.execute(
            sa.update(ProcessDefinitionRow)
            .where(ProcessDefinitionRow.name == "old")  # type: ignore[arg-type]
            .values(notifications=[{"carrier_pigeon": {}}])
        )
        session.commit()

    page = site.get("/process_definitions/old")

    assert page.status == 200
    assert "cannot be read" in task_card(page, "broken").text()
    assert task_card(page, "fine").find("pre").text() == "true"
    assert "cannot be read" in page.document.find("ul", cls="notification-list").text()


@pytest.mark.parametrize(
    "path",
    [
        "/process_definitions/nope",
        "/process_definitions/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "/process_definitions/a%2Fb",
        "/process_definitions/a/b",
        "/process_definitions/%C3%BC%F0%9F%98%80",
        "/process_definitions/" + "x" * 5_000,
        "/process_definitions/" + "y" * 201,
        "/process_definitions/..%2F..%2Fetc%2Fpasswd",
        "/process_definitions/-dash",
        "/process_definitions/a%20b",
    ],
)
def test_unknown_and_impossible_names_are_a_404_page(site: Site, store: Store, path: str) -> None:
    store.define("kept")
    page = site.get(path)
    assert page.status == 404
    assert page.document.find("h1").text() == "No such definition"
    assert "<script>" not in page.text.split("</head>")[1]
    assert len(page.text) < 20_000
    assert site.get("/process_definitions/kept").status == 200


@pytest.mark.parametrize("query", ["?done=%00", "?done=%ED%A0%80"])
def test_a_nul_or_lone_surrogate_in_the_query_is_a_400(
    site: Site, store: Store, query: str
) -> None:
    store.define("kept")
    assert site.client.get("/process_definitions/kept" + query).status_code == 400
    assert site.get("/process_definitions/kept").status == 200


def test_a_nul_in_the_name_is_a_400(site: Site) -> None:
    assert site.client.get("/process_definitions/a%00b").status_code == 400


def test_the_statements_do_not_grow_with_runs_or_tasks(
    site: Site, store: Store, engine: Engine, clock: FakeClock
) -> None:
    store.define("etl", "only")
    store.run("etl", tasks=("only",))
    with recorded_statements(engine) as few:
        assert site.get("/process_definitions/etl").status == 200
    store.define(
        "etl",
        *(f"t{i}" for i in range(20)),
        notifications=[{"email": {"name": "a", "email": "a@b.c"}}],
    )
    for index in range(HISTORY + 20):
        store.run(
            "etl",
            tasks=("t0", "t1"),
            status=ProcessStatus.FAILED if index % 3 else ProcessStatus.SUCCEEDED,
        )
        clock.advance(60)
        store.trigger("etl")
    with recorded_statements(engine) as many:
        assert site.get("/process_definitions/etl").status == 200
    with recorded_statements(engine) as unknown:
        assert site.get("/process_definitions/gone").status == 404

    assert len(few) == len(many) == STATEMENTS
    assert len(unknown) == 1


@pytest.fixture
def closed_site(engine: Engine, clock: FakeClock) -> Iterator[Site]:
    settings = Settings(api_token=SecretStr("s3cret"), require_token_for_reads=True)
    with pages_app(settings, engine, clock) as client:
        yield Site(client)


def test_reading_follows_the_apis_read_policy(
    closed_site: Site, store: Store, engine: Engine
) -> None:
    store.define("secret-job", process_description="holds secrets")

    with recorded_statements(engine) as statements:
        refused = closed_site.get("/process_definitions/secret-job")
    unknown = closed_site.get("/process_definitions/nope")
    allowed = closed_site.get("/process_definitions/secret-job", authorization="Bearer s3cret")

    assert refused.status == 401 and unknown.status == 401  # existence is not told either
    assert "holds secrets" not in refused.text
    assert statements == []
    assert closed_site.get("/process_definitions/x", authorization="Bearer no").status == 403
    assert allowed.status == 200 and "holds secrets" in allowed.text


def _by_id(page: Page, identifier: str) -> Element:
    return next(e for e in page.document.find_all() if e.attrs.get("id") == identifier)
