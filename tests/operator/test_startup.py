"""How the operator is put together, without an API server."""

from __future__ import annotations

import logging

import pytest

from gnomon.errors import StoreUnavailableError
from gnomon.operator import make_kopf_settings, run_operator
from gnomon.operator.startup import QuietTimerFilter
from gnomon.settings import Settings


def test_kopf_uses_gnomons_finalizer_and_needs_no_cluster_scanning() -> None:
    settings = make_kopf_settings()

    assert settings.persistence.finalizer == "gnomon.dev/operator"
    assert settings.scanning.disabled


def test_namespaces_come_from_a_json_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GNOMON_OPERATOR_NAMESPACES", '["team-a","team-b"]')

    assert Settings().operator_namespaces == ["team-a", "team-b"]
    assert Settings(operator_namespaces=[]).operator_namespaces == []


def test_timer_successes_are_dropped_from_the_log() -> None:
    def record(message: str) -> logging.LogRecord:
        return logging.LogRecord("kopf.objects", logging.INFO, __file__, 1, message, None, None)

    quiet = QuietTimerFilter()
    assert not quiet.filter(record("Timer 'processdefinition_timer' succeeded."))
    assert quiet.filter(record("Handler 'processdefinition_change' succeeded."))


def test_an_unreachable_store_stops_the_operator_before_it_starts() -> None:
    settings = Settings(database_url="postgresql+psycopg://gnomon@127.0.0.1:1/gnomon")

    with pytest.raises(StoreUnavailableError):
        run_operator(settings)
