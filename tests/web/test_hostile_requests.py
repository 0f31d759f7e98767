"""Whatever reaches a page, the answer is a 4xx or a 503 naming the cause, never a 500, and the
server goes on answering."""

from __future__ import annotations

import pytest

from gnomon.settings import Settings
from gnomon.storage import StoreTimeouts, make_engine
from tests.clock import FakeClock
from tests.web.conftest import Site, Store, pages_app

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
