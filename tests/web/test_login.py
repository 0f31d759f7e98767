"""With GNOMON_API_TOKEN set, the UI asks for the token once, on a login page, before any action;
the session cookie also opens the pages when reads need the token. Without a token nothing asks."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from gnomon.settings import Settings
from tests.clock import FakeClock
from tests.web.conftest import Store
from tests.web.forms import (
    SESSION_COOKIE,
    XSS,
    Browser,
    buttons,
    forms,
    hidden_fields,
    message,
    ui_browser,
)
from tests.web.forms import ui as ui  # noqa: F401  (fixture)

TOKEN = "s3cret-token"
HOSTILE_NEXT = [
    "//evil.example",
    "https://evil.example",
    "https://evil.example/process_definitions",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    " //evil.example",
    "javascript:alert(1)",
    "evil.example",
    "",
    XSS,
]


@pytest.fixture
def guarded(engine: Engine, clock: FakeClock) -> Iterator[Browser]:
    """A browser over a Gnomon whose actions need the API token."""
    yield from ui_browser(Settings(api_token=SecretStr(TOKEN)), engine, clock)


@pytest.fixture
def closed(engine: Engine, clock: FakeClock) -> Iterator[Browser]:
    """A browser over a Gnomon whose reads need the API token too."""
    settings = Settings(api_token=SecretStr(TOKEN), require_token_for_reads=True)
    yield from ui_browser(settings, engine, clock)


def test_an_action_sends_a_stranger_to_the_login_page_first(guarded: Browser, store: Store) -> None:
    store.define("etl")

    answer = guarded.confirm("/process_definitions/etl/trigger")

    assert answer.status == 303
    assert answer.location == "/login?next=%2Fprocess_definitions%2Fetl"
    assert guarded.triggers() == []
    run = guarded.post("/processes/00000000-0000-4000-8000-000000000000/kill")
    assert run.location == "/login?next=%2Fprocesses%2F00000000-0000-4000-8000-000000000000"
    listed = guarded.post("/process_definitions/etl/trigger", next="/process_definitions")
    assert listed.location == "/login?next=%2Fprocess_definitions"


def test_the_login_page_asks_for_the_token(guarded: Browser) -> None:
    page = guarded.get("/login?next=/process_definitions/etl")

    assert page.status == 200
    assert page.document.find("h1").text() == "Sign in"
    (form,) = [f for f in forms(page) if f.attrs["action"] == "/login"]
    assert form.attrs["method"] == "post"
    assert hidden_fields(form) == {"csrf": guarded.token(), "next": "/process_definitions/etl"}
    token = next(i for i in form.find_all("input") if i.attrs.get("name") == "token")
    assert token.attrs["type"] == "password" and token.attrs["id"] == "token"
    label = form.find("label")
    assert label.attrs["for"] == "token" and label.text() == "API token"
    assert "Sign in" in buttons(page)


def test_the_right_token_signs_in_and_goes_back(guarded: Browser, store: Store) -> None:
    store.define("etl")

    answer = guarded.sign_in(TOKEN, "/process_definitions/etl")

    assert answer.status == 303
    assert answer.location == "/process_definitions/etl?done=signed-in"
    cookie = answer.cookie(SESSION_COOKIE)
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "path=/", "samesite=strict"} <= attributes
    assert "secure" not in attributes
    assert TOKEN not in cookie
    assert guarded.confirm("/process_definitions/etl/trigger").status == 303
    assert guarded.triggers() == [("etl", None)]


def test_over_https_the_session_cookie_is_secure(guarded: Browser) -> None:
    guarded.client.get("https://testserver/login")
    response = guarded.client.post(
        "https://testserver/login",
        data={"csrf": guarded.client.cookies["gnomon_csrf"], "token": TOKEN},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert "secure" in response.headers["set-cookie"].lower()


def test_a_wrong_token_shows_the_form_again(guarded: Browser, store: Store) -> None:
    store.define("etl")

    for wrong in ("nope", "", TOKEN + "x", "ä" * 10, "x" * 10_000):
        page = guarded.sign_in(wrong, "/process_definitions/etl")
        assert page.status == 401
        assert page.headers["content-type"].startswith("text/html")
        assert message(page) == "That is not this Gnomon's API token."
        (form,) = [f for f in forms(page) if f.attrs["action"] == "/login"]
        assert hidden_fields(form)["next"] == "/process_definitions/etl"
        assert not [c for c in page.set_cookies if c.startswith(SESSION_COOKIE)]
    assert guarded.confirm("/process_definitions/etl/trigger").status == 303
    assert guarded.confirm("/process_definitions/etl/trigger").location.startswith("/login?")


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_next_never_leads_to_another_site(guarded: Browser, target: str) -> None:
    page = guarded.get("/login?" + urlencode({"next": target}))
    (form,) = [f for f in forms(page) if f.attrs["action"] == "/login"]
    assert hidden_fields(form)["next"] == "/"
    assert XSS not in page.text

    answer = guarded.sign_in(TOKEN, target)
    assert answer.location == "/?done=signed-in"


def test_next_keeps_a_local_path_and_its_query(guarded: Browser) -> None:
    answer = guarded.sign_in(TOKEN, "/?status=failed&done=paused")
    assert answer.location == "/?status=failed&done=signed-in"


def test_login_without_a_token_configured_just_goes_on(ui: Browser) -> None:
    assert ui.get("/login?next=/process_definitions").location == "/process_definitions"
    assert ui.get("/login?next=//evil.example").location == "/"
    assert ui.sign_in("anything", "/process_definitions").location == "/process_definitions"
    assert not [c for c in ui.get("/").set_cookies if c.startswith(SESSION_COOKIE)]


def test_the_login_form_is_protected_from_other_sites(guarded: Browser) -> None:
    forged = guarded.post("/login", token=TOKEN, headers={"origin": "https://evil.example"})
    assert forged.status == 403
    assert not [c for c in forged.set_cookies if c.startswith(SESSION_COOKIE)]
    assert guarded.post("/login", token=TOKEN, csrf="").status == 403


def test_sign_out_ends_the_session(guarded: Browser, store: Store) -> None:
    store.define("etl")
    guarded.sign_in(TOKEN)

    answer = guarded.post("/logout")

    assert answer.status == 303
    assert answer.location == "/?done=signed-out"
    assert "max-age=0" in answer.cookie(SESSION_COOKIE).lower()
    assert guarded.post("/process_definitions/etl/pause").location.startswith("/login?")


def test_a_session_ends_after_twelve_hours(
    guarded: Browser, store: Store, clock: FakeClock
) -> None:
    store.define("etl")
    guarded.sign_in(TOKEN)
    clock.advance(11 * 3600)
    assert guarded.post("/process_definitions/etl/pause").location.startswith("/process_def")
    clock.advance(2 * 3600)
    assert guarded.post("/process_definitions/etl/pause").location.startswith("/login?")


@pytest.mark.parametrize(
    "value", ["", "1", "forged", "9999999999.abc", "1.2.3", "\u0661\u0662.x", "\u00e4.\u00e4"]
)
def test_a_made_up_session_cookie_is_not_a_session(
    guarded: Browser, store: Store, value: str
) -> None:
    store.define("etl")
    csrf = guarded.token()
    guarded.client.cookies.clear()  # sent by hand below, as bytes a browser might send
    cookie = f"gnomon_csrf={csrf}; {SESSION_COOKIE}={value}".encode()
    response = guarded.client.post(
        "/process_definitions/etl/pause",
        data={"csrf": csrf},
        headers={b"cookie": cookie},
        follow_redirects=False,
    )
    assert response.headers["location"].startswith("/login?")


def test_a_new_token_ends_the_sessions_of_the_old(
    guarded: Browser, store: Store, engine: Engine, clock: FakeClock
) -> None:
    store.define("etl")
    guarded.sign_in(TOKEN)
    session = guarded.client.cookies[SESSION_COOKIE]
    for other in ui_browser(Settings(api_token=SecretStr("another")), engine, clock):
        other.client.cookies.set(SESSION_COOKIE, session)
        assert other.post("/process_definitions/etl/pause").location.startswith("/login?")


def test_the_session_cookie_does_not_open_the_rest_api(guarded: Browser, store: Store) -> None:
    # The REST API takes a bearer header only: a cookie another site's request carried along
    # must never act there (it has no forgery protection of its own).
    store.define("etl")
    guarded.sign_in(TOKEN)
    response = guarded.client.post("/api/process_definitions/etl/trigger")
    assert response.status_code == 401
    assert guarded.triggers() == []


# The top bar, and the read policy.


def test_the_top_bar_offers_sign_in_only_when_a_token_is_set(ui: Browser, guarded: Browser) -> None:
    assert ui.get("/").document.find_all("div", cls="account") == []

    account = guarded.get("/process_definitions?status=x").document.find("div", cls="account")
    link = account.find("a")
    assert link.text() == "Sign in"
    assert link.attrs["href"] == "/login?next=%2Fprocess_definitions%3Fstatus%3Dx"

    guarded.sign_in(TOKEN)
    account = guarded.get("/").document.find("div", cls="account")
    assert account.find_all("a") == []
    (form,) = account.find_all("form")
    assert form.attrs["action"] == "/logout" and hidden_fields(form)["csrf"] == guarded.token()
    assert form.find("button").text() == "Sign out"


def test_signing_in_opens_pages_that_need_the_token(closed: Browser, store: Store) -> None:
    store.define("secret-job")

    refused = closed.get("/process_definitions")
    assert refused.status == 401
    link = refused.document.find("main").find("a")
    assert link.text() == "Sign in"
    assert link.attrs["href"] == "/login?next=%2Fprocess_definitions"
    assert "secret-job" not in refused.text

    login = closed.get(link.attrs["href"])
    assert login.status == 200  # the login page itself is open
    closed.sign_in(TOKEN, "/process_definitions")

    page = closed.get("/process_definitions")
    assert page.status == 200 and "secret-job" in page.text


def test_a_bearer_header_still_opens_pages_that_need_the_token(closed: Browser) -> None:
    assert closed.get("/", authorization=f"Bearer {TOKEN}").status == 200
    assert closed.get("/", authorization="Bearer wrong").status == 403
