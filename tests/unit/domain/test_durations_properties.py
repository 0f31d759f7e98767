"""Properties of the scheduler's time arithmetic: for any input, a finite answer and no exception.

The backoff takes anything a definition could hold, stored before the API had bounds or not:
integers far beyond a float, infinite and NaN exponents, any number of attempts.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from gnomon.domain.durations import (
    FAR_FUTURE,
    FAR_PAST,
    MAX_DELAY_SECONDS,
    add_seconds,
    backoff_seconds,
)
from gnomon.domain.limits import MAX_SECONDS

bases = st.one_of(
    st.integers(min_value=0, max_value=MAX_SECONDS),
    st.integers(min_value=0, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
)
exponents = st.one_of(
    st.floats(min_value=0, max_value=10, allow_nan=False),
    st.floats(allow_nan=True, allow_infinity=True),
)
attempt_counts = st.one_of(
    st.integers(min_value=0, max_value=100), st.integers(min_value=-5, max_value=10**30)
)
moments = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
any_seconds = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**400), max_value=10**400),
)


@given(bases, exponents, attempt_counts)
def test_backoff_is_finite_non_negative_and_never_raises(
    base: float, exponent: float, attempts: int
) -> None:
    delay = backoff_seconds(base, exponent, attempts)
    assert math.isfinite(delay)
    assert 0 <= delay <= MAX_DELAY_SECONDS


@given(bases, exponents, attempt_counts, st.integers(min_value=1, max_value=10**6))
def test_backoff_is_monotonic_in_attempts(
    base: float, exponent: float, attempts: int, more: int
) -> None:
    fewer, later = (
        backoff_seconds(base, exponent, attempts),
        backoff_seconds(base, exponent, attempts + more),
    )
    if math.isnan(exponent):
        return  # counts as 0: the first delay, then none
    if exponent >= 1:
        assert later >= fewer
    if exponent <= 1:
        assert later <= fewer


@given(
    st.integers(min_value=0, max_value=MAX_SECONDS),
    st.floats(min_value=1, max_value=4),
    st.integers(min_value=0, max_value=20),
)
def test_backoff_within_bounds_is_sundials_rule(base: int, exponent: float, attempts: int) -> None:
    expected = min(base * exponent**attempts, MAX_DELAY_SECONDS)
    assert math.isclose(backoff_seconds(base, exponent, attempts), expected, rel_tol=1e-12)


@given(moments, any_seconds)
def test_adding_any_duration_saturates_instead_of_raising(moment: datetime, seconds: float) -> None:
    result = add_seconds(moment, seconds)
    assert FAR_PAST <= result <= FAR_FUTURE
    if isinstance(seconds, float) and math.isnan(seconds):
        assert result == moment
    elif abs(seconds) < 10**9:  # well inside the horizon: exact
        assert result == moment + timedelta(seconds=seconds)
    elif seconds > 0:
        assert result >= moment
    else:
        assert result <= moment


@given(moments, st.floats(min_value=0, max_value=1e20), st.floats(min_value=0, max_value=1e20))
def test_adding_is_monotonic(moment: datetime, first: float, second: float) -> None:
    low, high = sorted((first, second))
    assert add_seconds(moment, low) <= add_seconds(moment, high)
