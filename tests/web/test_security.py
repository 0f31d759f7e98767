"""What every page promises whoever reads it: security headers, escaped values, the API's read
policy, and no script but the project's own files."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session

from gnomon.domain import ProcessStatus, TaskStatus
from gnomon.server import api_app
from gnomon.settings import Settings
from gnomon.storage.scheduling import mark_definitions
from tests.clock import FakeClock
from tests.statements import recorded_statements
from tests.web.conftest import Attempt, Site, Store, pages_app
from tests.web.html import Element

XSS = "<script>alert(1)</script>"
PAGES = ["/", "/process_definitions", "/?status=bogus"]
OWN_SCRIPT = re.compile(r"/static/[a-z]+\.js\?v=[0-9a-f]{12}")


@pytest.mark.parametrize("path", PAGES)
def test_pages_carry_the_security_headers(site: Site, path: str) -> None:
    headers = site.get(path).headers
    policy = {
        part.split()[0]: part.split()[1:] for part in headers["content-security-policy"].split("; ")
    }
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["x-frame-options"] == "DENY"


def assert_only_own_scripts(document: Element) -> None:
    """Every script is one of the UI's own files, loaded deferred; none is inline."""
    scripts = document.find_all("script")
    assert scripts, "the pages load their scripts"
    for script in scripts:
        assert OWN_SCRIPT.fullmatch(script.attrs.get("src", "")), script.attrs
        assert "defer" in script.attrs and script.children == [], script


@pytest.mark.parametrize("path", PAGES)
def test_pages_hold_only_their_own_scripts_and_no_inline_style(site: Site, path: str) -> None:
    page = site.get(path)
    assert_only_own_scripts(page.document)
    assert page.document.find_all("style") == []
    assert " style=" not in page.text
    assert not re.search(r" on[a-z]+=", page.text)


def test_the_stylesheet_is_served_with_the_same_headers(site: Site) -> None:
    link = next(
        link
        for link in site.get("/").document.find_all("link")
        if link.attrs["rel"] == "stylesheet"
    )
    assert re.fullmatch(r"/static/gnomon\.css\?v=[0-9a-f]{12}", link.attrs["href"])

    response = site.client.get(link.attrs["href"])

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "prefers-color-scheme: dark" in response.text


def test_values_from_users_and_jobs_are_escaped(site: Site, store: Store) -> None:
    store.define("xss", "step", process_description=XSS)
    with Session(store.engine) as session:
        mark_definitions(session=session, marks=[("xss", 1, XSS)])
        session.commit()
    store.run(
        "xss",
        status=ProcessStatus.FAILED,
        attempts=[Attempt("step", TaskStatus.FAILED, XSS)],
    )

    for path in ("/", "/process_definitions", "/?definition=%3Cscript%3E"):
        page = site.get(path)
        assert XSS not in page.text
        assert_only_own_scripts(page.document)
    definitions = site.get("/process_definitions")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in definitions.text
    assert XSS in definitions.document.find("main").text()  # shown, as text


def test_the_api_and_its_docs_are_unchanged(site: Site) -> None:
    listing = site.client.get("/api/processes/")
    assert listing.status_code == 200 and listing.json() == []
    assert site.client.get("/docs").status_code == 200
    paths = site.client.get("/openapi.json").json()["paths"]
    assert "/" not in paths and "/process_definitions" not in paths


def test_the_layout_links_every_page(site: Site) -> None:
    nav = site.get("/process_definitions").document.find("nav")
    links = {a.text(): a.attrs for a in nav.find_all("a")}
    assert links["Runs"]["href"] == "/"
    assert links["Definitions"]["href"] == "/process_definitions"
    assert links["Definitions"]["aria-current"] == "page"
    assert links["API docs"]["href"] == "/docs"


@pytest.fixture
def closed_site(engine: Engine, clock: FakeClock) -> Iterator[Site]:
    """Pages of a Gnomon whose reads need the API token, as the API's do."""
    settings = Settings(api_token=SecretStr("s3cret"), require_token_for_reads=True)
    with pages_app(settings, engine, clock) as client:
        yield Site(client)


@pytest.mark.parametrize("path", ["/", "/process_definitions", "/?status=bogus"])
def test_reads_need_the_token_when_the_api_asks_for_it(
    closed_site: Site, store: Store, engine: Engine, path: str
) -> None:
    store.define("secret-job", process_description="holds secrets")
    store.trigger("secret-job")

    with recorded_statements(engine) as statements:
        page = closed_site.get(path)

    assert page.status == 401
    assert page.headers["www-authenticate"] == "Bearer"
    assert page.document.find("h1").text() == "Sign-in needed"
    assert "GNOMON_REQUIRE_TOKEN_FOR_READS" in page.text
    assert "secret-job" not in page.text and "holds secrets" not in page.text
    assert statements == []  # refused before the store is read
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_a_wrong_token_is_refused(closed_site: Site) -> None:
    page = closed_site.get("/", authorization="Bearer wrong")
    assert page.status == 403
    assert page.document.find("h1").text() == "Not allowed"


def test_the_token_opens_the_pages(closed_site: Site, store: Store) -> None:
    store.define("secret-job")
    store.run("secret-job")
    for path in ("/", "/process_definitions"):
        page = closed_site.get(path, authorization="Bearer s3cret")
        assert page.status == 200
        assert "secret-job" in page.text


def test_pages_are_open_when_reads_are(engine: Engine, clock: FakeClock, store: Store) -> None:
    # A token for writes only: reading stays open, as on the API (Sundial's clients send none).
    settings = Settings(api_token=SecretStr("s3cret"))
    with pages_app(settings, engine, clock) as client:
        store.define("open-job")
        assert "open-job" in Site(client).get("/process_definitions").text


def test_gnomon_api_serves_the_pages_next_to_the_api(tmp_path: Path) -> None:
    app = api_app(Settings(database_url=f"sqlite:///{tmp_path / 'gnomon.db'}"))
    with TestClient(app) as client:
        assert client.get("/").status_code == 200
        assert client.get("/process_definitions").status_code == 200
        assert client.get("/api/process_definitions/").json() == []


def test_the_scripts_are_the_projects_own_files_with_the_same_headers(site: Site) -> None:
    scripts = site.get("/").document.find_all("script")
    assert len(scripts) >= 3  # actions, times, live

    for script in scripts:
        response = site.client.get(script.attrs["src"])

        assert response.status_code == 200
        assert "javascript" in response.headers["content-type"]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert "innerHTML" not in response.text  # text from the store is shown as text
