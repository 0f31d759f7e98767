"""The run-duration chart: round axes, one dot per run shaped and coloured by status, escaped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gnomon.web.charts import (
    NARROW,
    WIDE,
    ChartPoint,
    duration_chart,
    duration_ticks,
    duration_top,
    time_label,
    time_ticks,
)
from tests.web.html import Element, parse

START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
XSS = "<script>alert(1)</script>"


def point(hours: float, seconds: float, status: str = "succeeded", name: str = "r") -> ChartPoint:
    at = START + timedelta(hours=hours)
    return ChartPoint(at, seconds, status, f"/processes/{name}", f"{name} · {status}")


def svg(*points: ChartPoint, label: str = "Durations") -> Element:
    (drawn,) = parse(str(duration_chart(points, label=label))).find_all("svg")
    return drawn


def labels(drawn: Element) -> list[str]:
    return [t.text() for t in drawn.find_all("text") if "chart-label" in t.classes]


def test_no_runs_draw_nothing() -> None:
    assert duration_chart([], label="Durations") == ""


def test_each_run_is_a_dot_linking_to_it_with_a_tooltip() -> None:
    drawn = svg(
        point(0, 30, "succeeded", "a"), point(1, 90, "failed", "b"), point(2, 10, "running", "c")
    )

    dots = drawn.find_all("a", cls="chart-point")
    assert [d.attrs["href"] for d in dots] == ["/processes/a", "/processes/b", "/processes/c"]
    assert [d.classes for d in dots] == [
        {"chart-point", "status-succeeded"},
        {"chart-point", "status-failed"},
        {"chart-point", "status-running"},
    ]
    assert [d.find("title").text() for d in dots] == ["a · succeeded", "b · failed", "c · running"]
    assert [len(d.find_all("path")) for d in dots] == [0, 1, 0]  # a failed run carries a cross
    assert all(d.attrs["tabindex"] == "-1" for d in dots)  # the page's table is the way in
    assert drawn.attrs["role"] == "img"
    assert drawn.attrs["aria-label"] == "Durations"


def test_later_runs_are_further_right_and_longer_ones_higher() -> None:
    drawn = svg(point(0, 30), point(1, 90), point(2, 60))
    circles = drawn.find_all("circle")
    xs = [float(c.attrs["cx"]) for c in circles]
    ys = [float(c.attrs["cy"]) for c in circles]
    assert xs == sorted(xs)
    assert ys[1] < ys[2] < ys[0]  # SVG's y grows downwards
    assert all(
        WIDE.left < x < WIDE.right and WIDE.top <= y <= WIDE.bottom
        for x, y in zip(xs, ys, strict=True)
    )


def test_the_axes_have_round_labels() -> None:
    drawn = svg(point(0, 40), point(3, 250))
    assert labels(drawn)[:4] == ["0", "2 min", "4 min", "6 min"]
    assert labels(drawn)[4:] == [
        "Mar 2 12:00",
        "12:30",
        "13:00",
        "13:30",
        "14:00",
        "14:30",
        "15:00",
    ]
    titles = [t.text() for t in drawn.find_all("text") if "chart-title" in t.classes]
    assert titles == ["Duration", "UTC"]


def test_the_narrow_chart_has_fewer_time_labels() -> None:
    points = [point(hours, 60) for hours in range(0, 48, 4)]
    wide = parse(str(duration_chart(points, label="x", size=WIDE))).find("svg")
    narrow = parse(
        str(duration_chart(points, label="x", size=NARROW, css_class="chart-narrow"))
    ).find("svg")
    assert len(labels(narrow)) < len(labels(wide))
    assert narrow.attrs["viewbox"] == "0 0 400 300"
    assert narrow.classes == {"chart", "chart-narrow"}


def test_text_from_the_store_is_escaped_and_nothing_is_styled_inline() -> None:
    hostile = ChartPoint(START, 5, f'x" onmouseover="{XSS}', f'/p/"{XSS}', XSS)
    text = str(duration_chart([hostile], label=XSS, css_class=f'"{XSS}'))
    assert XSS not in text
    assert "onmouseover=" not in text.replace("onmouseover=&#34;", "")
    assert " style=" not in text
    drawn = parse(text).find("svg")
    assert drawn.find("title").text() == XSS
    assert drawn.attrs["aria-label"] == XSS


def test_one_run_or_runs_at_one_moment_are_centred() -> None:
    drawn = svg(point(0, 30), point(0, 40))
    xs = {float(c.attrs["cx"]) for c in drawn.find_all("circle")}
    middle = (WIDE.left + WIDE.right) / 2
    assert all(abs(x - middle) < 20 for x in xs)


def test_negative_and_zero_durations_sit_on_the_baseline() -> None:
    drawn = svg(point(0, -5), point(1, 0))
    assert {float(c.attrs["cy"]) for c in drawn.find_all("circle")} == {WIDE.bottom}


@pytest.mark.parametrize(
    ("longest", "top", "ticks"),
    [
        (0, 1, [0, 1]),
        (3.5, 4, [0, 1, 2, 3, 4]),
        (45, 45, [0, 15, 30, 45]),
        (250, 360, [0, 120, 240, 360]),
        (5_400, 5_400, [0, 1_800, 3_600, 5_400]),
        (100_000, 129_600, [0, 43_200, 86_400, 129_600]),
        (30 * 365 * 86_400, 32 * 365 * 86_400, [n * 8 * 365 * 86_400 for n in range(5)]),
    ],
)
def test_duration_axis_tops(longest: float, top: float, ticks: list[float]) -> None:
    assert duration_top(longest) == top
    assert duration_ticks(top) == ticks


@pytest.mark.parametrize(
    ("step", "previous", "label"),
    [
        (3_600, None, "Mar 2 12:00"),
        (3_600, START - timedelta(hours=1), "12:00"),
        (3_600, START - timedelta(days=1), "Mar 2 12:00"),
        (86_400, None, "Mar 2"),
        (28 * 86_400, None, "Mar 2026"),
    ],
)
def test_time_labels(step: float, previous: datetime | None, label: str) -> None:
    assert time_label(START, step, previous) == label


@given(
    first=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
    ),
    span=st.floats(min_value=600, max_value=20 * 365 * 86_400),
    most=st.integers(2, 8),
)
def test_time_ticks_are_few_ordered_and_inside(first: datetime, span: float, most: int) -> None:
    last = first + timedelta(seconds=span)
    ticks = time_ticks(first, last, most)
    assert len(ticks) <= most + 1
    assert ticks == sorted(ticks)
    assert all(first <= tick <= last for tick in ticks)


@given(st.floats(min_value=0, max_value=10 * 365 * 86_400, allow_nan=False))
def test_the_duration_axis_covers_the_longest_run_in_at_most_five_labels(longest: float) -> None:
    top = duration_top(longest)
    assert top >= longest
    assert 2 <= len(duration_ticks(top)) <= 5
    assert duration_ticks(top)[-1] == top


def test_time_labels_keep_clear_of_the_axis_title() -> None:
    drawn = parse(str(duration_chart([point(0, 1), point(0.1, 2)], label="x", size=NARROW)))
    for text in drawn.find_all("text"):
        if "chart-label" in text.classes and text.attrs["text-anchor"] == "middle":
            half = len(text.text()) * NARROW.font * 0.3
            assert float(text.attrs["x"]) - half >= NARROW.left
            assert float(text.attrs["x"]) + half <= NARROW.width
