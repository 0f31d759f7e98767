from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from tests.clock import FakeClock
from tests.scheduler.harness import Harness


@pytest.fixture
def harness(engine: Engine, clock: FakeClock) -> Harness:
    return Harness(engine, clock)
