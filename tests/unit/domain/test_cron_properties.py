"""Properties of Quartz cron parsing and fire times, over generated expressions, zones and times.

The strategies build Quartz fields from parts (values, ranges that may wrap, increments, lists) and
compute the values each field allows the way Quartz means them, independently of the parser.
The DST rule checked is the one in README's "DST rule" and `gnomon.domain.cron`: fire times are
wall-clock times in the schedule's zone and each wall-clock time fires once; a time in a
spring-forward gap fires at the instant of the jump.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, reject
from hypothesis import strategies as st

from gnomon.domain.cron import CronExpression, InvalidCronError

ZONES = (
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",  # a half-hour DST shift
    "Asia/Kathmandu",  # a quarter-hour offset
    "America/Santiago",  # DST in the southern summer, changes at midnight
)
MONTH_NAMES = "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split()
DAY_NAMES = "SUN MON TUE WED THU FRI SAT".split()
MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Field:
    text: str
    allowed: frozenset[int]


@st.composite
def field(draw: st.DrawFn, low: int, high: int, names: list[str] | None = None) -> Field:
    """A Quartz list of values, ranges (wrapping allowed) and increments, with its value set."""
    size = high - low + 1
    items, allowed = [], set()
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        start = draw(st.integers(min_value=low, max_value=high))
        form = draw(st.sampled_from(["value", "range", "from", "every", "range-step"]))
        end = draw(st.integers(min_value=low, max_value=high))
        step = draw(st.integers(min_value=1, max_value=high))

        def name(value: int) -> str:
            if names and draw(st.booleans()):
                return names[value - low]
            return str(value)

        if form == "value":
            text, span, step = name(start), (start, start), 1
        elif form == "range":
            text, span, step = f"{name(start)}-{name(end)}", (start, end), 1
        elif form == "from":  # Quartz: a/b runs from a to the end of the field
            text, span = f"{start}/{step}", (start, high)
        elif form == "every":
            text, span = f"*/{step}", (low, high)
        else:
            text, span = f"{start}-{end}/{step}", (start, end)
        first, last = span
        if last < first:
            last += size
        allowed |= {low + (v - low) % size for v in range(first, last + 1, step)}
        items.append(text)
    return Field(",".join(items), frozenset(allowed))


EVERYTHING = Field("*", frozenset())


@dataclass(frozen=True)
class Schedule:
    expression: CronExpression
    minutes: Field
    hours: Field
    months: Field
    days_of_month: Field | None
    """None: any day (or a day rule this test does not model)."""
    days_of_week: Field | None


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    minutes = draw(field(0, 59))
    hours = draw(field(0, 23))
    months = draw(
        st.one_of(st.just(Field("*", frozenset(range(1, 13)))), field(1, 12, MONTH_NAMES))
    )
    mode = draw(st.sampled_from(["day_of_month", "day_of_week", "every day"]))
    dom_text, dow_text, dom, dow = "*", "?", None, None
    if mode == "day_of_month":
        dom = draw(field(1, 31))
        dom_text = dom.text
    elif mode == "day_of_week":
        dow = draw(field(1, 7, DAY_NAMES))
        dom_text, dow_text = "?", dow.text
    zone = draw(st.sampled_from(ZONES))
    try:
        expression = CronExpression.parse(
            minutes=minutes.text,
            hours=hours.text,
            day_of_month=dom_text,
            month=months.text,
            day_of_week=dow_text,
            time_zone=zone,
        )
    except InvalidCronError as exc:
        if exc.field != "schedule":  # only "never fires" (February 30th) may be refused
            raise
        reject()
    return Schedule(expression, minutes, hours, months, dom, dow)


moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2060, 1, 1), timezones=st.just(UTC)
)


def zone_of(schedule: Schedule) -> ZoneInfo:
    return ZoneInfo(schedule.expression.time_zone)


def in_gap(fire: datetime, zone: ZoneInfo) -> bool:
    """Whether `fire` is the instant a clock jumped forward (a gap's wall times fire there)."""
    before = (fire - timedelta(seconds=1)).astimezone(zone).utcoffset()
    after = fire.astimezone(zone).utcoffset()
    return before is not None and after is not None and after > before


@given(schedules(), moments)
def test_next_fire_is_strictly_after_now_and_matches_every_field(
    schedule: Schedule, now: datetime
) -> None:
    fire = schedule.expression.next_after(now)
    assert fire is not None and fire > now
    assert fire.tzinfo is not None and fire.utcoffset() == timedelta(0)
    assert fire.second == 0 and fire.microsecond == 0 or in_gap(fire, zone_of(schedule))
    wall = fire.astimezone(zone_of(schedule))
    if in_gap(fire, zone_of(schedule)):
        return  # the wall time it stands for did not exist; the next tests cover it
    assert wall.minute in schedule.minutes.allowed
    assert wall.hour in schedule.hours.allowed
    assert wall.month in schedule.months.allowed
    if schedule.days_of_month is not None:
        assert wall.day in schedule.days_of_month.allowed
    if schedule.days_of_week is not None:
        assert (wall.isoweekday() % 7) + 1 in schedule.days_of_week.allowed  # 1 = SUN


@given(schedules(), moments, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)))
def test_next_fire_is_monotonic_in_now(schedule: Schedule, now: datetime, later: timedelta) -> None:
    first = schedule.expression.next_after(now)
    second = schedule.expression.next_after(now + later)
    assert first is not None and second is not None
    assert first <= second


@given(schedules(), moments)
def test_no_fire_time_is_skipped_between_now_and_the_next(
    schedule: Schedule, now: datetime
) -> None:
    fire = schedule.expression.next_after(now)
    assert fire is not None
    assert schedule.expression.latest_at_or_before(fire) == fire
    previous = schedule.expression.latest_at_or_before(fire - MICROSECOND)
    assert previous is None or previous <= now


@given(schedules(), moments)
def test_each_wall_clock_time_fires_once(schedule: Schedule, now: datetime) -> None:
    """Consecutive fires go strictly forward in time and in wall-clock reading: a repeated hour
    (fall back) does not fire twice, and gap times (spring forward) share one fire."""
    zone = zone_of(schedule)
    fire = schedule.expression.next_after(now)
    for _ in range(5):
        assert fire is not None
        following = schedule.expression.next_after(fire)
        assert following is not None and following > fire
        wall, next_wall = (t.astimezone(zone).replace(tzinfo=None) for t in (fire, following))
        assert next_wall > wall
        fire = following


@given(
    st.integers(min_value=0, max_value=59),
    st.integers(min_value=0, max_value=23),
    st.sampled_from(ZONES),
    moments,
)
def test_a_daily_schedule_fires_once_every_local_day(
    minute: int, hour: int, zone_name: str, now: datetime
) -> None:
    """The DST rule for the common case: daily at HH:MM runs exactly once per local date, on
    spring-forward and fall-back days too."""
    expression = CronExpression.parse(
        minutes=str(minute),
        hours=str(hour),
        day_of_month="*",
        month="*",
        day_of_week="?",
        time_zone=zone_name,
    )
    zone = ZoneInfo(zone_name)
    fire = expression.next_after(now)
    for _ in range(3):
        assert fire is not None
        following = expression.next_after(fire)
        assert following is not None
        assert following.astimezone(zone).date() == fire.astimezone(zone).date() + timedelta(days=1)
        fire = following


QUARTZ_CHARACTERS = st.sampled_from(list("0123456789*,-/?LW# ") + ["SUN", "JAN", "MON", "x"])
FIELD_TEXT = st.one_of(st.lists(QUARTZ_CHARACTERS, max_size=8).map("".join), st.text(max_size=12))


@given(FIELD_TEXT, FIELD_TEXT, FIELD_TEXT, FIELD_TEXT, FIELD_TEXT)
def test_parsing_any_text_accepts_or_names_the_field_at_fault(
    minutes: str, hours: str, day_of_month: str, month: str, day_of_week: str
) -> None:
    try:
        expression = CronExpression.parse(
            minutes=minutes,
            hours=hours,
            day_of_month=day_of_month,
            month=month,
            day_of_week=day_of_week,
        )
    except InvalidCronError as exc:
        assert exc.field in ("minutes", "hours", "day_of_month", "month", "day_of_week", "schedule")
        assert exc.message
        return
    fire = expression.next_after(datetime(2026, 1, 1, tzinfo=UTC))
    assert fire is not None


def test_a_naive_now_is_refused() -> None:
    expression = CronExpression.parse(
        minutes="0", hours="0", day_of_month="*", month="*", day_of_week="?"
    )
    with pytest.raises(ValueError, match="time zone-aware"):
        expression.next_after(datetime(2026, 1, 1))


@given(
    zone=st.sampled_from(ZONES),
    moments=st.lists(
        st.datetimes(
            min_value=datetime(2000, 1, 1),
            max_value=datetime(2090, 1, 1),
            timezones=st.sampled_from([UTC, ZoneInfo("Europe/Berlin"), ZoneInfo("Asia/Kathmandu")]),
        ),
        min_size=1,
        max_size=150,
    ),
)
def test_remembered_answers_are_the_answers(zone: str, moments: list[datetime]) -> None:
    """One shared expression asked again and again (past what it remembers, and about the same
    instant in other zones) answers as a fresh one does."""

    def weekday_hours() -> CronExpression:
        return CronExpression.parse(
            minutes="*/7",
            hours="1-23/2",
            day_of_month="?",
            month="*",
            day_of_week="MON-FRI",
            time_zone=zone,
        )

    shared = weekday_hours()
    for moment in [*moments, *moments, *(m.astimezone(UTC) for m in moments)]:
        fresh = weekday_hours()
        assert fresh is not shared
        assert shared.next_after(moment) == fresh.next_after(moment)
        assert shared.latest_at_or_before(moment) == fresh.latest_at_or_before(moment)
