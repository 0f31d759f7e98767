"""A browser without JavaScript for the action tests: it keeps its cookies, reads the forgery
token its pages hold, and posts the UI's forms as the pages write them. It also reads what the
actions wrote, straight from the store."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from gnomon.api.app import create_app
from gnomon.settings import Settings
from gnomon.storage.tables import KillRequestRow, RetryRequestRow, TriggerRequestRow
from gnomon.web import install_pages
from tests.clock import FakeClock
from tests.web.conftest import Page
from tests.web.html import Element, parse

CSRF_COOKIE = "gnomon_csrf"
SESSION_COOKIE = "gnomon_session"
XSS = "<script>alert(1)</script>"


@dataclass
class Answer(Page):
    """What a request answered: a page, or a redirect to `location`; and the cookies it set."""

    set_cookies: list[str] = field(default_factory=list)

    def cookie(self, name: str) -> str:
        """The Set-Cookie header that sets `name`."""
        found = [header for header in self.set_cookies if header.startswith(f"{name}=")]
        assert found, f"no {name} cookie set: {self.set_cookies}"
        return found[0]

    @property
    def location(self) -> str:
        return self.headers["location"]


class Browser:
    """One browser's view of the UI, through the app."""

    def __init__(self, client: TestClient, engine: Engine) -> None:
        self.client = client
        self.engine = engine
        self.topics: list[str] = []

    def get(self, path: str, **headers: str) -> Answer:
        response = self.client.get(path, headers=headers, follow_redirects=False)
        return _answer(response)

    def token(self) -> str:
        """The browser's forgery token, as its pages' forms hold it (a page read first)."""
        if CSRF_COOKIE not in self.client.cookies:
            self.get("/process_definitions")
        token: str = self.client.cookies[CSRF_COOKIE]
        return token

    def post(self, path: str, *, headers: dict[str, str] | None = None, **fields: str) -> Answer:
        """POST the form `fields`, with the page's token unless `csrf` is among them."""
        data = fields if "csrf" in fields else {"csrf": self.token(), **fields}
        response = self.client.post(path, data=data, headers=headers, follow_redirects=False)
        return _answer(response)

    def confirm(self, path: str, *, headers: dict[str, str] | None = None, **fields: str) -> Answer:
        return self.post(path, headers=headers, confirmed="1", **fields)

    def sign_in(self, token: str, next_path: str = "/") -> Answer:
        return self.post("/login", token=token, next=next_path)

    def triggers(self) -> list[tuple[str, list[str] | None]]:
        with Session(self.engine) as session:
            rows = session.exec(select(TriggerRequestRow)).all()
            return [(row.process_definition_name, row.task_filter) for row in rows]

    def kills(self) -> list[str]:
        with Session(self.engine) as session:
            return [row.process_id for row in session.exec(select(KillRequestRow)).all()]

    def retries(self) -> list[str]:
        with Session(self.engine) as session:
            return [row.process_id for row in session.exec(select(RetryRequestRow)).all()]


def _answer(response: Any) -> Answer:
    html = response.headers.get("content-type", "").startswith("text/html")
    document = parse(response.text) if html else Element("#empty", {})
    return Answer(
        response.status_code,
        dict(response.headers),
        response.text,
        document,
        response.headers.get_list("set-cookie"),
    )


def message(page: Page) -> str:
    """The message of an error page: what the script shows in its alert."""
    found = [el for el in page.document.find_all("p") if "data-message" in el.attrs]
    assert found, f"no message on the page: {page.text[:400]}"
    return found[0].text()


def forms(page: Page) -> list[Element]:
    return page.document.find_all("form")


def buttons(page: Page) -> list[str]:
    return [button.text() for button in page.document.find("main").find_all("button")]


def hidden_fields(form: Element) -> dict[str, str]:
    return {
        field.attrs["name"]: field.attrs.get("value", "")
        for field in form.find_all("input")
        if field.attrs.get("type") == "hidden"
    }


def ui_browser(settings: Settings, engine: Engine, clock: FakeClock) -> Iterator[Browser]:
    """A browser over an app whose scheduler wake-ups are recorded in `Browser.topics`."""
    topics: list[str] = []
    app = create_app(settings, engine, clock=clock, on_change=topics.append)
    install_pages(app)
    with TestClient(app, raise_server_exceptions=True) as client:
        browser = Browser(client, engine)
        browser.topics = topics
        yield browser


@pytest.fixture
def ui(settings: Settings, engine: Engine, clock: FakeClock) -> Iterator[Browser]:
    """A browser over the UI without a token, on SQLite then PostgreSQL."""
    yield from ui_browser(settings, engine, clock)
