"""Another site cannot make a reader's browser act: each form repeats the browser's token from a
SameSite=Strict cookie, and a POST from another site's Origin is refused. A refusal is a 403 page
that says why, and nothing is written."""

from __future__ import annotations

import re

import pytest

from gnomon.settings import Settings
from tests.statements import recorded_statements
from tests.web.conftest import Store
from tests.web.forms import CSRF_COOKIE, Browser, forms, hidden_fields, message, ui_browser
from tests.web.forms import ui as ui  # noqa: F401  (fixture)

ACTIONS = [
    "/process_definitions/etl/trigger",
    "/process_definitions/etl/pause",
    "/process_definitions/etl/delete",
    "/processes/00000000-0000-4000-8000-000000000000/kill",
    "/login",
    "/logout",
]


def test_the_first_page_gives_the_browser_its_token(ui: Browser) -> None:
    page = ui.get("/")

    cookie = page.cookie(CSRF_COOKIE)
    token = cookie.split(";")[0].removeprefix(f"{CSRF_COOKIE}=")
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "path=/", "samesite=strict"} <= attributes
    assert "secure" not in attributes  # plain http: a Secure cookie would never come back

    again = ui.get("/process_definitions")
    assert again.set_cookies == []  # kept, not made anew
    assert ui.token() == token


def test_over_https_the_token_cookie_is_secure(ui: Browser) -> None:
    page = ui.get("/", **{"x-forwarded-proto": "https"})  # not trusted: the URL decides
    assert "secure" not in page.cookie(CSRF_COOKIE).lower()
    ui.client.cookies.clear()
    secure = ui.client.get("https://testserver/")
    assert "secure" in secure.headers["set-cookie"].lower()


def test_every_form_on_a_page_holds_the_token(ui: Browser, store: Store) -> None:
    store.define("etl")
    page = ui.post("/process_definitions/etl/trigger")
    assert forms(page)
    for form in forms(page):
        if form.attrs.get("method") == "post":
            assert hidden_fields(form)["csrf"] == ui.token()


@pytest.mark.parametrize("path", ACTIONS)
def test_a_form_without_the_token_is_refused(ui: Browser, store: Store, path: str) -> None:
    store.define("etl")
    ui.token()  # the browser has its cookie, the form lacks the field

    page = ui.post(path, csrf="", confirmed="1")

    assert page.status == 403
    assert page.headers["content-type"].startswith("text/html")
    assert page.document.find("h1").text() == "Request refused"
    assert "forgery-protection token does not match" in message(page)
    assert ui.triggers() == []


def test_a_wrong_token_is_refused(ui: Browser, store: Store) -> None:
    store.define("etl")
    ui.token()
    page = ui.post("/process_definitions/etl/pause", csrf="A" * 43)
    assert page.status == 403
    assert ui.client.get("/api/process_definitions/etl").json()["paused"] is False


def test_a_browser_without_the_cookie_is_refused(ui: Browser, store: Store) -> None:
    store.define("etl")
    token = ui.token()
    ui.client.cookies.clear()

    page = ui.post("/process_definitions/etl/pause", csrf=token)

    assert page.status == 403
    assert "came without the browser's forgery-protection cookie" in message(page)
    assert ui.client.get("/api/process_definitions/etl").json()["paused"] is False


@pytest.mark.parametrize("path", ACTIONS)
@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"origin": "http://testserver.evil.example"},
        {"origin": "null"},
        {"sec-fetch-site": "cross-site"},
        {"origin": "http://testserver", "sec-fetch-site": "cross-site"},
    ],
    ids=["other-origin", "lookalike", "null", "fetch-metadata", "both"],
)
def test_a_post_from_another_site_is_refused_even_with_the_token(
    ui: Browser, store: Store, path: str, headers: dict[str, str]
) -> None:
    store.define("etl")

    page = ui.post(path, headers=headers, confirmed="1", token="x")

    assert page.status == 403
    assert "sent from another site" in message(page)
    assert ui.triggers() == []


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "http://testserver"},
        {"origin": "http://testserver", "sec-fetch-site": "same-origin"},
        {"sec-fetch-site": "same-origin"},
        {},
    ],
)
def test_a_post_from_this_site_is_accepted(
    ui: Browser, store: Store, headers: dict[str, str]
) -> None:
    store.define("etl")
    assert ui.confirm("/process_definitions/etl/trigger", headers=headers).status == 303


def test_the_public_url_counts_as_this_site(store: Store) -> None:
    settings = Settings(public_url="https://gnomon.example.com/")
    for browser in ui_browser(settings, store.engine, store.clock):
        store.define("etl")
        answer = browser.post(
            "/process_definitions/etl/pause", headers={"origin": "https://gnomon.example.com"}
        )
        assert answer.status == 303


def test_a_refused_form_never_reaches_the_store(ui: Browser, store: Store) -> None:
    store.define("etl")
    ui.token()
    with recorded_statements(store.engine) as statements:
        assert ui.post("/process_definitions/etl/trigger", csrf="x", confirmed="1").status == 403
        forged = {"origin": "https://evil.example"}
        assert ui.post("/process_definitions/etl/pause", headers=forged).status == 403
    assert statements == []
