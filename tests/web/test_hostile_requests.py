"""Whatever reaches a page, the answer is a 4xx or a 503 naming the cause, never a 500, and the
server goes on answering."""

from __future__ import annotations

import pytest

from gnomon.domain.enums import TaskStatus
from gnomon.settings import Settings
from gnomon.storage import StoreTimeouts, make_engine
from tests.clock import FakeClock
from tests.web.conftest import Attempt, Site, Store, pages_app

PAGES = ["/", "/process_definitions"]
NOWHERE = "postgresql+psycopg://nobody@127.0.0.1:1/gnomon"
"""A port nothing listens on: every connection is refused at once."""


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("query", ["?definition=a%00b", "?status=%ED%A0%80", "?since=%00"])
def test_a_nul_byte_or_a_lone_surrogate_in_the_query_is_a_400(
    site: Site, store: Store, path: str, query: str
) -> None:
    store.define("kept")
    response = site.client.get(path + query)
    assert response.status_code == 400, response.text[:300]
    assert site.get(path).status == 200  # and the next reader is served


@pytest.mark.parametrize("path", PAGES)
def test_a_ten_megabyte_body_is_refused_unread(site: Site, path: str) -> None:
    body = b"x" * (10 * 1024 * 1024)
    response = site.client.request("GET", path, content=body)
    assert response.status_code == 413
    assert site.client.post(path, content=body).status_code in (405, 413)
    assert site.get(path).status == 200


@pytest.mark.parametrize("path", PAGES)
def test_a_store_that_is_gone_answers_503(clock: FakeClock, path: str) -> None:
    engine = make_engine(NOWHERE, StoreTimeouts(connect_seconds=2, pool_seconds=0.5))
    with pages_app(Settings(), engine, clock) as client:
        response = client.get(path)
    assert response.status_code == 503, response.text[:300]
    assert "store is unavailable" in response.text


@pytest.fixture
def every_page(site: Site, store: Store) -> list[str]:
    """A path of each kind of page and stream the UI serves, for a run that exists."""
    store.define("etl")
    process_id = store.run("etl", attempts=[Attempt("step", TaskStatus.SUCCEEDED)])
    (task,) = site.client.get(f"/api/processes/{process_id}").json()["task"]
    return [
        "/",
        "/process_definitions",
        "/process_definitions/etl",
        f"/processes/{process_id}",
        f"/processes/{process_id}/livelogs",
        f"/tasks/{task['task_id']}/logs.txt",
        "/login",
    ]


def test_every_page_refuses_a_nul_byte_in_its_query_and_serves_the_next_reader(
    site: Site, every_page: list[str]
) -> None:
    for path in every_page:
        assert site.client.get(path + "?task=a%00b&next=%00").status_code == 400, path
        assert site.client.get(path).status_code == 200, path


@pytest.mark.parametrize(
    "path",
    [
        "/process_definitions/%00",
        "/process_definitions/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "/process_definitions/" + "x" * 5000,
        "/process_definitions/..%2F..%2Fetc",
        "/processes/%00",
        "/processes/not-a-uuid",
        "/processes/%ED%A0%80",
        "/processes/00000000-0000-0000-0000-000000000000/livelogs",
        "/tasks/%00/logs.txt",
        "/tasks/00000000-0000-0000-0000-000000000000/logs.txt",
        "/live/processes/%00",
    ],
)
def test_a_hostile_or_unknown_id_in_a_page_path_is_a_4xx(site: Site, path: str) -> None:
    response = site.client.get(path)
    assert 400 <= response.status_code < 500, (path, response.status_code)
    assert "<script>alert" not in response.text


def test_every_page_answers_503_when_the_store_is_gone(
    clock: FakeClock, every_page: list[str]
) -> None:
    engine = make_engine(NOWHERE, StoreTimeouts(connect_seconds=2, pool_seconds=0.5))
    with pages_app(Settings(), engine, clock) as client:
        for path in every_page:
            if path == "/login":
                continue  # asks nothing of the store
            response = client.get(path)
            assert response.status_code == 503, (path, response.text[:300])
