"""Each page reads the store in a fixed number of statements, whatever the number of rows."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from gnomon.domain import ProcessStatus, TaskStatus
from tests.statements import recorded_statements
from tests.web.conftest import Attempt, Site, Store

PAGES = {
    "/": 4,  # runs, their task definitions, their attempts, open triggers
    "/?status=failed,succeeded&definition=d-00&limit=200": 4,
    "/process_definitions": 2,  # definitions, the last runs of each
}
TASKS = ("a", "b", "c")
ATTEMPTS = [
    Attempt("a", TaskStatus.SUCCEEDED),
    Attempt("b", TaskStatus.FAILED, "exit code 1"),
    Attempt("b", TaskStatus.SUCCEEDED),
    Attempt("c", TaskStatus.SUCCEEDED),
]


def add(store: Store, first: int, last: int) -> None:
    """Definitions `first` to `last` (half of them paused), each with an open trigger and a run
    of three tasks, one retried; the first definition gets a run more each time."""
    for index in range(first, last):
        name = f"d-{index:02d}"
        store.define(name, *TASKS, paused=index % 2 == 1)
        store.trigger(name)
        status = ProcessStatus.FAILED if index % 3 else ProcessStatus.SUCCEEDED
        store.run(name, tasks=TASKS, attempts=ATTEMPTS, status=status)
        store.run("d-00", tasks=TASKS, attempts=ATTEMPTS[:1], status=ProcessStatus.RUNNING)
        store.clock.advance(60)


def counts(site: Site, engine: Engine) -> dict[str, int]:
    result = {}
    for path in PAGES:
        with recorded_statements(engine) as statements:
            assert site.get(path).status == 200
        result[path] = len(statements)
    return result


def test_statements_do_not_grow_with_the_rows(site: Site, store: Store, engine: Engine) -> None:
    add(store, 0, 1)
    with_one = counts(site, engine)
    add(store, 1, 50)
    with_fifty = counts(site, engine)

    assert with_one == PAGES
    assert with_fifty == PAGES
    assert len(site.get("/?limit=200").document.find("tbody").find_all("tr")) == 100
