"""The UI's action buttons, as a browser without JavaScript posts them: trigger, pause, resume,
delete, kill and retry do what the REST API does, answer with a redirect and a notice, and
refuse with the REST API's status and message as a page."""

from __future__ import annotations

import pytest

from gnomon.domain import ProcessStatus, TaskStatus
from tests.web.conftest import Attempt, Store
from tests.web.forms import XSS, Browser, buttons, forms, hidden_fields, message
from tests.web.forms import ui as ui  # noqa: F401  (fixture)

OWNER = "ProcessDefinition team-a/etl"
UNKNOWN_RUN = "00000000-0000-4000-8000-000000000000"


def test_trigger_asks_first_on_a_page_of_its_own(ui: Browser, store: Store) -> None:
    store.define("etl", "extract", "load")

    page = ui.post("/process_definitions/etl/trigger")

    assert page.status == 200
    assert page.document.find("h1").text() == "Trigger etl?"
    (form,) = [f for f in forms(page) if f.attrs["action"] == "/process_definitions/etl/trigger"]
    assert form.attrs["method"] == "post"
    assert hidden_fields(form) == {"csrf": ui.token(), "confirmed": "1"}
    assert form.find("button").text() == "Trigger"
    assert ui.triggers() == [] and ui.topics == []


def test_a_confirmed_trigger_queues_a_run_and_goes_back_to_the_definition(
    ui: Browser, store: Store
) -> None:
    store.define("etl", "extract", "load")

    answer = ui.confirm("/process_definitions/etl/trigger")

    assert answer.status == 303
    assert answer.location == "/process_definitions/etl?done=triggered"
    assert ui.triggers() == [("etl", None)]
    assert ui.topics == ["triggers"]


def test_trigger_task_queues_a_run_of_that_task_alone(ui: Browser, store: Store) -> None:
    store.define("etl", "extract", "load")

    page = ui.post("/process_definitions/etl/trigger", task_definition_name="load")
    assert page.document.find("h1").text() == "Trigger task load of etl?"
    (form,) = [f for f in forms(page) if "confirmed" in hidden_fields(f)]
    assert hidden_fields(form)["task_definition_name"] == "load"
    assert form.find("button").text() == "Trigger task"

    answer = ui.confirm("/process_definitions/etl/trigger", task_definition_name="load")

    assert answer.location == "/process_definitions/etl?done=task-triggered"
    assert ui.triggers() == [("etl", ["load"])]


def test_an_empty_task_field_triggers_the_whole_run(ui: Browser, store: Store) -> None:
    store.define("etl", "extract", "load")
    answer = ui.confirm("/process_definitions/etl/trigger", task_definition_name="")
    assert answer.location == "/process_definitions/etl?done=triggered"
    assert ui.triggers() == [("etl", None)]


def test_next_brings_the_browser_back_to_the_page_it_came_from(ui: Browser, store: Store) -> None:
    store.define("etl")

    page = ui.post("/process_definitions/etl/trigger", next="/process_definitions")
    (form,) = [f for f in forms(page) if "confirmed" in hidden_fields(f)]
    assert hidden_fields(form)["next"] == "/process_definitions"
    cancel = page.document.find("a", cls="button")
    assert cancel.text() == "Cancel" and cancel.attrs["href"] == "/process_definitions"

    answer = ui.confirm("/process_definitions/etl/trigger", next="/process_definitions")
    assert answer.location == "/process_definitions?done=triggered"
    answer = ui.post("/process_definitions/etl/pause", next="/?status=failed&done=resumed")
    assert answer.location == "/?status=failed&done=paused"


@pytest.mark.parametrize(
    "target", ["//evil.example", "https://evil.example/", "/\\evil.example", "javascript:x"]
)
def test_next_never_leaves_the_site(ui: Browser, store: Store, target: str) -> None:
    store.define("etl")
    answer = ui.post("/process_definitions/etl/pause", next=target)
    assert answer.location == "/process_definitions/etl?done=paused"


def test_pause_and_resume(ui: Browser, store: Store) -> None:
    store.define("etl")

    paused = ui.post("/process_definitions/etl/pause")
    assert paused.status == 303
    assert paused.location == "/process_definitions/etl?done=paused"
    assert ui.client.get("/api/process_definitions/etl").json()["paused"] is True

    resumed = ui.post("/process_definitions/etl/resume")
    assert resumed.location == "/process_definitions/etl?done=resumed"
    assert ui.client.get("/api/process_definitions/etl").json()["paused"] is False
    assert ui.topics == ["definitions", "definitions"]


def test_delete_asks_first_then_deletes(ui: Browser, store: Store) -> None:
    store.define("old")

    page = ui.post("/process_definitions/old/delete")
    assert page.status == 200
    assert page.document.find("h1").text() == "Delete old?"
    assert "Delete" in buttons(page)
    assert ui.client.get("/api/process_definitions/old").status_code == 200

    answer = ui.confirm("/process_definitions/old/delete")

    assert answer.status == 303
    assert answer.location == "/process_definitions?done=deleted"
    assert ui.client.get("/api/process_definitions/old").status_code == 404
    assert ui.topics == ["definitions"]


def test_kill_asks_the_scheduler_to_stop_the_run(ui: Browser, store: Store) -> None:
    store.define("long")
    run = store.run("long", status=ProcessStatus.RUNNING)

    answer = ui.post(f"/processes/{run}/kill")

    assert answer.status == 303
    assert answer.location == f"/processes/{run}?done=killed"
    assert ui.kills() == [run]
    assert ui.topics == ["requests"]


def test_retry_asks_for_one_more_attempt_of_the_failed_tasks(ui: Browser, store: Store) -> None:
    store.define("flaky")
    run = store.run(
        "flaky", status=ProcessStatus.FAILED, attempts=[Attempt("step", TaskStatus.FAILED, "x")]
    )

    answer = ui.post(f"/processes/{run}/retry")

    assert answer.status == 303
    assert answer.location == f"/processes/{run}?done=retried"
    assert ui.retries() == [run]


# Refusals: the REST API's status and message, as a page.

DEFINITION_ACTIONS = ["trigger", "pause", "resume", "delete"]


@pytest.mark.parametrize("action", DEFINITION_ACTIONS)
@pytest.mark.parametrize("confirmed", ["", "1"])
def test_an_unknown_definition_is_a_404_page(ui: Browser, action: str, confirmed: str) -> None:
    page = ui.post(f"/process_definitions/nope/{action}", confirmed=confirmed)

    assert page.status == 404
    assert page.headers["content-type"].startswith("text/html")
    assert page.document.find("h1").text() == f"Could not {action}"
    assert message(page) == "process definition 'nope' not found"
    assert page.document.find("main").find("a").attrs["href"] == "/process_definitions"
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_an_unknown_task_is_a_404_page(ui: Browser, store: Store) -> None:
    store.define("etl", "extract")
    for confirmed in ("", "1"):
        page = ui.post(
            "/process_definitions/etl/trigger", task_definition_name="nope", confirmed=confirmed
        )
        assert page.status == 404
        assert message(page) == "task definition 'etl/nope' not found"
    assert ui.triggers() == []


def test_a_task_name_no_task_can_have_is_a_400_shown_as_text(ui: Browser, store: Store) -> None:
    store.define("etl", "extract")
    for confirmed in ("", "1"):
        page = ui.post(
            "/process_definitions/etl/trigger", task_definition_name=XSS, confirmed=confirmed
        )
        assert page.status == 400
        assert message(page).startswith("task_definition_name: not a name")
        assert XSS not in page.text
    assert ui.triggers() == []


@pytest.mark.parametrize("action", DEFINITION_ACTIONS)
def test_a_hostile_definition_name_is_a_400_shown_as_text(ui: Browser, action: str) -> None:
    hostile = "<script>alert(1)"  # a path segment holds no slash
    page = ui.post(f"/process_definitions/{hostile}/{action}", confirmed="1")
    assert page.status == 400
    assert message(page).startswith("process_definition_name: not a name")
    assert hostile not in page.text


def test_a_resource_owned_definition_cannot_be_deleted_here(ui: Browser, store: Store) -> None:
    store.define("etl", owner=OWNER)

    for confirmed in ("", "1"):
        page = ui.post("/process_definitions/etl/delete", confirmed=confirmed)
        assert page.status == 409
        assert page.document.find("h1").text() == "Could not delete"
        assert message(page) == (
            "process definition 'etl' is managed by the Kubernetes resource "
            "ProcessDefinition team-a/etl; change it with kubectl (trigger, kill and retry still "
            "work here)"
        )
        assert page.document.find("main").find("a").attrs["href"] == "/process_definitions/etl"
    assert ui.client.get("/api/process_definitions/etl").status_code == 200


def test_a_resource_owned_definition_is_still_triggered_and_paused(
    ui: Browser, store: Store
) -> None:
    store.define("etl", owner=OWNER)
    assert ui.confirm("/process_definitions/etl/trigger").status == 303
    assert ui.post("/process_definitions/etl/pause").status == 303
    assert ui.triggers() == [("etl", None)]


@pytest.mark.parametrize("action", ["kill", "retry"])
def test_an_unknown_run_is_a_404_page(ui: Browser, action: str) -> None:
    page = ui.post(f"/processes/{UNKNOWN_RUN}/{action}")
    assert page.status == 404
    assert message(page) == f"process '{UNKNOWN_RUN}' not found"
    assert page.document.find("main").find("a").attrs["href"] == "/"


@pytest.mark.parametrize("action", ["kill", "retry"])
@pytest.mark.parametrize("run", ["not-a-run", "<script>alert(1)", "x" * 5000])
def test_what_cannot_be_a_run_id_is_a_400_page(ui: Browser, action: str, run: str) -> None:
    page = ui.post(f"/processes/{run}/{action}")
    assert page.status == 400
    assert message(page) == "process_id: not a run id: a UUID is expected"
    assert "<script>alert" not in page.text


def test_a_succeeded_run_is_not_retried(ui: Browser, store: Store) -> None:
    store.define("fine")
    run = store.run("fine", attempts=[Attempt("step", TaskStatus.SUCCEEDED)])

    page = ui.post(f"/processes/{run}/retry")

    assert page.status == 400
    assert message(page) == (
        "process_id: cannot retry a process that has succeeded; trigger a new run instead"
    )
    assert page.document.find("main").find("a").attrs["href"] == f"/processes/{run}"
    assert ui.retries() == []


def test_a_body_that_is_not_a_form_is_refused_as_a_page(ui: Browser, store: Store) -> None:
    store.define("etl")
    as_json = ui.client.post("/process_definitions/etl/pause", json={"csrf": ui.token()})
    assert as_json.status_code == 415
    assert as_json.headers["content-type"].startswith("text/html")
    not_utf8 = ui.client.post(
        "/process_definitions/etl/pause",
        content=b"csrf=%FF%FE",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert not_utf8.status_code == 400
    many = "&".join(f"f{i}=1" for i in range(100))
    too_many = ui.client.post(
        "/process_definitions/etl/pause",
        content=many.encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert too_many.status_code == 400
    assert ui.client.get("/api/process_definitions/etl").json()["paused"] is False


def test_opening_an_action_as_a_page_does_nothing_and_goes_to_its_page(
    ui: Browser, store: Store
) -> None:
    store.define("etl")
    run = store.run("etl", status=ProcessStatus.RUNNING)
    for action in DEFINITION_ACTIONS:
        answer = ui.get(f"/process_definitions/etl/{action}")
        assert (answer.status, answer.location) == (303, "/process_definitions/etl")
    for action in ("kill", "retry"):
        answer = ui.get(f"/processes/{run}/{action}")
        assert (answer.status, answer.location) == (303, f"/processes/{run}")
    assert ui.triggers() == [] and ui.kills() == [] and ui.topics == []
    assert ui.client.get("/api/process_definitions/etl").json()["paused"] is False


def test_the_actions_and_the_login_stay_out_of_the_api_document(ui: Browser) -> None:
    paths = ui.client.get("/openapi.json").json()["paths"]
    assert not [path for path in paths if not path.startswith(("/api/", "/_internal_/"))]


# What the pages show after an action.


@pytest.mark.parametrize(
    ("done", "shown"),
    [
        ("triggered", "Triggered: the scheduler starts the run in a moment."),
        ("paused", "Paused: the schedule starts no runs until it is resumed; Trigger still does."),
        ("deleted", "Deleted: the definition is gone; its past runs stay readable."),
    ],
)
def test_a_page_shows_the_notice_its_done_parameter_names(
    ui: Browser, done: str, shown: str
) -> None:
    page = ui.get(f"/process_definitions?done={done}")
    notice = page.document.find("p", cls="notice-done")
    assert notice.text() == shown
    assert notice.attrs["role"] == "status"


@pytest.mark.parametrize("done", [XSS, "Your account is locked", ""])
def test_a_notice_is_never_text_from_the_query(ui: Browser, done: str) -> None:
    page = ui.get(f"/?done={done}")
    assert page.status == 200
    assert page.document.find_all("p", cls="notice-done") == []
    assert XSS not in page.text and "locked" not in page.text


def test_the_definitions_table_has_a_trigger_button_per_row(ui: Browser, store: Store) -> None:
    store.define("etl")
    store.define("resting", paused=True)

    page = ui.get("/process_definitions")

    form = next(f for f in forms(page) if f.attrs.get("id") == "definition-actions")
    assert form.attrs["class"] == "action" and form.attrs["method"] == "post"
    assert hidden_fields(form) == {"csrf": ui.token(), "next": "/process_definitions"}
    triggers = [b for b in page.document.find_all("button") if b.text() == "Trigger"]
    assert [b.attrs["formaction"] for b in triggers] == [
        "/process_definitions/etl/trigger",
        "/process_definitions/resting/trigger",
    ]
    assert all(b.attrs["form"] == "definition-actions" for b in triggers)
    assert triggers[0].attrs["data-confirm"] == "Start a run of etl now?"


# The REST API, which now shares its commands with the buttons, answers as it did.


def test_the_rest_api_needs_no_form_and_answers_json(ui: Browser, store: Store) -> None:
    store.define("etl", "extract")
    store.define("owned", owner=OWNER)
    api = ui.client
    base = "/api/process_definitions"

    assert api.post(f"{base}/etl/trigger").status_code == 204
    assert (
        api.post(f"{base}/etl/trigger", params={"task_definition_name": "extract"}).status_code
        == 204
    )
    assert api.post(f"{base}/etl/pause").status_code == 204
    assert api.post(f"{base}/etl/resume").status_code == 204
    unknown_task = api.post(f"{base}/etl/trigger", params={"task_definition_name": "nope"})
    assert unknown_task.status_code == 404
    assert unknown_task.json() == {"message": "task definition 'etl/nope' not found", "errors": []}
    bad_task = api.post(f"{base}/etl/trigger", params={"task_definition_name": XSS})
    assert bad_task.status_code == 400
    assert bad_task.json()["message"] == "invalid request: task_definition_name"
    owned = api.delete(f"{base}/owned")
    assert owned.status_code == 409
    assert "managed by the Kubernetes resource" in owned.json()["message"]
    assert api.post(f"{base}/nope/pause").json() == {
        "message": "process definition 'nope' not found",
        "errors": [],
    }
    assert ui.triggers() == [("etl", None), ("etl", ["extract"])]
    assert api.delete(f"{base}/etl").status_code == 204
    assert ui.triggers() == []  # a deleted definition's open triggers go with it
    assert ui.topics == ["triggers", "triggers", "definitions", "definitions", "definitions"]


def test_the_rest_api_kills_and_retries_as_before(ui: Browser, store: Store) -> None:
    store.define("etl")
    failed = store.run("etl", status=ProcessStatus.FAILED)
    succeeded = store.run("etl")
    api = ui.client

    assert api.post(f"/api/processes/{failed}/kill").status_code == 204
    assert api.post(f"/api/processes/{failed}/retry").status_code == 204
    refused = api.post(f"/api/processes/{succeeded}/retry")
    assert refused.status_code == 400
    assert refused.json()["message"] == (
        "process_id: cannot retry a process that has succeeded; trigger a new run instead"
    )
    assert api.post(f"/api/processes/{UNKNOWN_RUN}/kill").status_code == 404
    assert api.post("/api/processes/not-a-run/kill").status_code == 400
    assert ui.kills() == [failed] and ui.retries() == [failed]
