"""Quartz cron parsing and fire times, including the DST rule of `gnomon.domain.cron`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gnomon.domain.cron import CronExpression, InvalidCronError

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
MICROSECOND = timedelta(microseconds=1)


def cron(
    minutes: str = "0",
    hours: str = "0",
    day_of_month: str = "*",
    month: str = "*",
    day_of_week: str = "?",
    time_zone: str = "UTC",
) -> CronExpression:
    return CronExpression.parse(
        minutes=minutes,
        hours=hours,
        day_of_month=day_of_month,
        month=month,
        day_of_week=day_of_week,
        time_zone=time_zone,
    )


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def fires(expr: CronExpression, after: datetime, count: int) -> list[datetime]:
    result: list[datetime] = []
    for _ in range(count):
        fire = expr.next_after(after)
        assert fire is not None
        result.append(fire)
        after = fire
    return result


def fires_between(expr: CronExpression, start: datetime, end: datetime) -> list[datetime]:
    result: list[datetime] = []
    while (fire := expr.next_after(start)) is not None and fire < end:
        result.append(fire)
        start = fire
    return result


def local_day(zone: ZoneInfo, year: int, month: int, day: int) -> tuple[datetime, datetime]:
    """The instants from one local midnight to the next (inclusive start, exclusive end)."""
    start = datetime(year, month, day, tzinfo=zone)
    return start - MICROSECOND, start + timedelta(days=1)  # wall-clock arithmetic in `zone`


# --- the Sundial example and simple schedules --------------------------------------------------


def test_daily_22_00_example_fires_every_day_at_22_utc():
    expr = cron("0", "22", "*", "*", "?")

    assert fires(expr, utc(2024, 5, 1, 10), 3) == [
        utc(2024, 5, 1, 22),
        utc(2024, 5, 2, 22),
        utc(2024, 5, 3, 22),
    ]
    assert expr.describe() == "0 22 * * ? (UTC)"


def test_fire_times_are_aware_utc():
    fire = cron(time_zone="Europe/Berlin").next_after(utc(2025, 1, 1))

    assert fire is not None
    assert fire.tzinfo is UTC


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        ("0/15", [0, 15, 30, 45]),
        ("*/15", [0, 15, 30, 45]),
        ("5/15", [5, 20, 35, 50]),
        ("10-20/5", [10, 15, 20]),
        ("7,3", [3, 7]),
        ("55-5/5", [0, 5, 55]),
    ],
)
def test_minute_lists_ranges_and_quartz_increments(minutes, expected):
    expr = cron(minutes, "*")

    in_one_hour = fires_between(expr, utc(2025, 1, 1, 0, 0) - MICROSECOND, utc(2025, 1, 1, 1))

    assert [fire.minute for fire in in_one_hour] == expected


@pytest.mark.parametrize(
    ("hours", "expected"),
    [
        ("*/2", list(range(0, 24, 2))),
        ("1/6", [1, 7, 13, 19]),
        ("22-2", [0, 1, 2, 22, 23]),
        ("9-17", list(range(9, 18))),
    ],
)
def test_hour_ranges_increments_and_wrapping(hours, expected):
    in_one_day = fires_between(cron("0", hours), utc(2025, 1, 1) - MICROSECOND, utc(2025, 1, 2))

    assert [fire.hour for fire in in_one_day] == expected


# --- days of the week: Quartz numbering 1-7 = SUN-SAT -------------------------------------------

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)  # datetime.weekday()


@pytest.mark.parametrize(
    ("day_of_week", "expected"),
    [
        ("2-6", {MON, TUE, WED, THU, FRI}),
        ("1", {SUN}),
        ("7", {SAT}),
        ("SAT,SUN", {SAT, SUN}),
        ("mon-fri", {MON, TUE, WED, THU, FRI}),
        ("FRI-MON", {FRI, SAT, SUN, MON}),
        ("*/2", {SUN, TUE, THU, SAT}),
        ("2-6/2", {MON, WED, FRI}),
        ("L", {SAT}),
        ("1-7", {MON, TUE, WED, THU, FRI, SAT, SUN}),
    ],
)
def test_day_of_week_uses_quartz_numbering(day_of_week, expected):
    two_weeks = fires_between(
        cron(day_of_month="?", day_of_week=day_of_week),
        utc(2025, 1, 5) - MICROSECOND,  # a Sunday
        utc(2025, 1, 19),
    )

    assert {fire.weekday() for fire in two_weeks} == expected
    assert len(two_weeks) == 2 * len(expected)


@pytest.mark.parametrize("day_of_week", ["6#3", "FRI#3", "fri#3"])
def test_hash_is_the_nth_weekday_of_the_month(day_of_week):
    expr = cron(day_of_month="?", day_of_week=day_of_week)

    assert fires(expr, utc(2025, 1, 1), 3) == [utc(2025, 1, 17), utc(2025, 2, 21), utc(2025, 3, 21)]


def test_fifth_weekday_skips_months_without_one():
    expr = cron(day_of_month="?", day_of_week="2#5")

    assert fires(expr, utc(2025, 1, 1), 3) == [utc(2025, 3, 31), utc(2025, 6, 30), utc(2025, 9, 29)]


@pytest.mark.parametrize("day_of_week", ["6L", "FRIL"])
def test_weekday_l_is_the_last_such_weekday_of_the_month(day_of_week):
    expr = cron(day_of_month="?", day_of_week=day_of_week)

    assert fires(expr, utc(2025, 1, 1), 3) == [utc(2025, 1, 31), utc(2025, 2, 28), utc(2025, 3, 28)]


# --- days of the month -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day_of_month", "after", "expected"),
    [
        ("L", utc(2024, 1, 1), [(2024, 1, 31), (2024, 2, 29), (2024, 3, 31), (2024, 4, 30)]),
        ("L-2", utc(2025, 1, 1), [(2025, 1, 29), (2025, 2, 26), (2025, 3, 29), (2025, 4, 28)]),
        ("15W", utc(2025, 2, 1), [(2025, 2, 14), (2025, 3, 14), (2025, 4, 15), (2025, 5, 15)]),
        ("15W", utc(2025, 6, 1), [(2025, 6, 16)]),  # Sunday the 15th: Monday
        ("1W", utc(2025, 1, 2), [(2025, 2, 3)]),  # Saturday the 1st: Monday, not back to Jan
        ("31W", utc(2025, 8, 1), [(2025, 8, 29), (2025, 10, 31)]),  # no 31st in September
        ("LW", utc(2025, 5, 1), [(2025, 5, 30), (2025, 6, 30), (2025, 7, 31), (2025, 8, 29)]),
        ("L-3W", utc(2025, 8, 1), [(2025, 8, 28), (2025, 9, 26)]),
        ("31", utc(2025, 1, 1), [(2025, 1, 31), (2025, 3, 31), (2025, 5, 31)]),
        ("*/10", utc(2025, 1, 1), [(2025, 1, 11), (2025, 1, 21), (2025, 1, 31), (2025, 2, 1)]),
    ],
)
def test_day_of_month_forms(day_of_month, after, expected):
    expr = cron(day_of_month=day_of_month)

    assert fires(expr, after, len(expected)) == [utc(*day) for day in expected]


def test_star_in_day_of_month_leaves_day_of_week_in_charge():
    weekdays = fires_between(
        cron(day_of_month="*", day_of_week="2-6"), utc(2025, 1, 5), utc(2025, 1, 12)
    )

    assert [fire.day for fire in weekdays] == [6, 7, 8, 9, 10]


def test_star_in_both_day_fields_means_every_day():
    every_day = fires_between(
        cron(day_of_week="*"), utc(2025, 1, 1) - MICROSECOND, utc(2025, 1, 11)
    )

    assert len(every_day) == 10


def test_february_29_fires_in_leap_years_only():
    expr = cron(day_of_month="29", month="2")

    assert expr.next_after(utc(2025, 1, 1)) == utc(2028, 2, 29)
    assert expr.latest_at_or_before(utc(2027, 12, 31)) == utc(2024, 2, 29)


def test_rare_schedules_are_found_decades_ahead():
    fifth_monday_of_february = cron(day_of_month="?", month="FEB", day_of_week="2#5")

    assert fifth_monday_of_february.next_after(utc(2025, 1, 1)) == utc(2044, 2, 29)
    assert fifth_monday_of_february.next_after(utc(2073, 1, 1)) == utc(2112, 2, 29)  # 2100: no leap


# --- months ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("month", "expected"),
    [
        ("JAN,JUL", [7, 1, 7]),
        ("nov-feb", [2, 11, 12]),
        ("*/3", [4, 7, 10]),
        ("4/3", [4, 7, 10]),
        ("6", [6, 6, 6]),
    ],
)
def test_month_names_ranges_and_increments(month, expected):
    expr = cron(day_of_month="1", month=month)

    assert [fire.month for fire in fires(expr, utc(2025, 1, 1), 3)] == expected


# --- rejections --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"day_of_month": "?", "day_of_week": "?"}, "schedule"),
        ({"day_of_month": "15", "day_of_week": "2"}, "schedule"),
        ({"day_of_month": "L", "day_of_week": "MON"}, "schedule"),
        ({"minutes": "?"}, "minutes"),
        ({"hours": "?"}, "hours"),
        ({"month": "?"}, "month"),
        ({"day_of_month": "?1"}, "day_of_month"),
        ({"minutes": "60"}, "minutes"),
        ({"minutes": "1-60"}, "minutes"),
        ({"minutes": "-1"}, "minutes"),
        ({"hours": "24"}, "hours"),
        ({"day_of_month": "0"}, "day_of_month"),
        ({"day_of_month": "32"}, "day_of_month"),
        ({"month": "0"}, "month"),
        ({"month": "13"}, "month"),
        ({"month": "FOO"}, "month"),
        ({"month": "JANUARY"}, "month"),
        ({"day_of_month": "?", "day_of_week": "0"}, "day_of_week"),
        ({"day_of_month": "?", "day_of_week": "8"}, "day_of_week"),
        ({"day_of_month": "?", "day_of_week": "0-6"}, "day_of_week"),
        ({"day_of_month": "?", "day_of_week": "MONDAY"}, "day_of_week"),
        ({"minutes": "abc"}, "minutes"),
        ({"minutes": "1,,2"}, "minutes"),
        ({"minutes": "1-"}, "minutes"),
        ({"minutes": "*-5"}, "minutes"),
        ({"minutes": "0 0"}, "minutes"),
        ({"minutes": "\u0663"}, "minutes"),  # an Arabic-Indic digit
        ({"minutes": "*/0"}, "minutes"),
        ({"minutes": "0" * 5000}, "minutes"),
        ({"day_of_month": "?", "day_of_week": "1," * 600 + "1"}, "day_of_week"),
        ({"minutes": "*/60"}, "minutes"),
        ({"minutes": ""}, "minutes"),
        ({"hours": ""}, "hours"),
        ({"day_of_month": ""}, "day_of_month"),
        ({"month": ""}, "month"),
        ({"day_of_month": "?", "day_of_week": ""}, "day_of_week"),
        ({"day_of_month": "?", "day_of_week": "6#6"}, "day_of_week"),
        ({"day_of_month": "?", "day_of_week": "6#0"}, "day_of_week"),
        ({"day_of_month": "?", "day_of_week": "2,6L"}, "day_of_week"),
        ({"day_of_month": "?", "day_of_week": "6#3,2"}, "day_of_week"),
        ({"day_of_month": "L,15"}, "day_of_month"),
        ({"day_of_month": "1-15W"}, "day_of_month"),
        ({"day_of_month": "W"}, "day_of_month"),
        ({"day_of_month": "32W"}, "day_of_month"),
        ({"day_of_month": "L-31"}, "day_of_month"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"time_zone": ""}, "time_zone"),
        ({"time_zone": "America"}, "time_zone"),
        ({"time_zone": "../etc/passwd"}, "time_zone"),
        ({"day_of_month": "30", "month": "2"}, "schedule"),
        ({"day_of_month": "31", "month": "APR,JUN,SEP,NOV"}, "schedule"),
        ({"day_of_month": "30W", "month": "FEB"}, "schedule"),
    ],
)
def test_invalid_schedules_name_the_field(fields, field):
    with pytest.raises(InvalidCronError) as caught:
        cron(**fields)

    assert caught.value.field == field
    assert caught.value.message
    assert isinstance(caught.value, ValueError)


def test_specific_days_in_both_fields_say_how_to_fix_it():
    with pytest.raises(InvalidCronError, match="set one of day_of_month or day_of_week to '\\?'"):
        cron(day_of_month="1", day_of_week="MON")


def test_never_firing_schedule_says_so():
    with pytest.raises(InvalidCronError, match="never fires"):
        cron(day_of_month="30", month="2")


def test_constructing_directly_validates_too():
    with pytest.raises(InvalidCronError):
        CronExpression("60", "0", "*", "*", "?")


def test_parse_ignores_surrounding_blanks_and_compares_by_fields():
    first = cron(" 0 ", "9", "?", "*", "mon-fri ", " Europe/Berlin")
    second = cron("0", "9", "?", "*", "mon-fri", "Europe/Berlin")

    assert first == second
    assert hash(first) == hash(second)
    assert first.describe() == "0 9 ? * mon-fri (Europe/Berlin)"


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="aware"):
        cron().next_after(datetime(2025, 1, 1))


# --- next_after / latest_at_or_before ----------------------------------------------------------


def test_next_after_is_strictly_after():
    expr = cron("0", "22")

    assert expr.next_after(utc(2025, 1, 1, 22)) == utc(2025, 1, 2, 22)
    assert expr.next_after(utc(2025, 1, 1, 22) - MICROSECOND) == utc(2025, 1, 1, 22)
    assert expr.next_after(utc(2025, 1, 1, 22, 0, 30)) == utc(2025, 1, 2, 22)


def test_latest_at_or_before_on_and_off_a_fire_time():
    expr = cron("0", "22")

    assert expr.latest_at_or_before(utc(2025, 1, 2, 22)) == utc(2025, 1, 2, 22)
    assert expr.latest_at_or_before(utc(2025, 1, 2, 22, 0, 30)) == utc(2025, 1, 2, 22)
    assert expr.latest_at_or_before(utc(2025, 1, 2, 22) - MICROSECOND) == utc(2025, 1, 1, 22)
    assert expr.latest_at_or_before(utc(2025, 1, 2, 12)) == utc(2025, 1, 1, 22)


def test_no_fire_time_outside_the_calendar_is_none():
    assert cron(day_of_month="29", month="2").latest_at_or_before(utc(1, 3, 1)) is None
    assert cron().next_after(utc(9999, 12, 31, 0, 0, 1)) is None


def test_instants_in_any_zone_are_accepted():
    tokyo = datetime(2025, 1, 2, 6, 59, tzinfo=ZoneInfo("Asia/Tokyo"))  # 21:59Z on Jan 1

    assert cron("0", "22").next_after(tokyo) == utc(2025, 1, 1, 22)
    assert cron("0", "22").latest_at_or_before(tokyo) == utc(2024, 12, 31, 22)


# --- time zones and DST ------------------------------------------------------------------------


def test_wall_clock_time_in_the_zone_follows_its_utc_offset():
    expr = cron("0", "9", time_zone="Europe/Berlin")

    assert expr.next_after(utc(2025, 1, 15)) == utc(2025, 1, 15, 8)  # CET, UTC+1
    assert expr.next_after(utc(2025, 7, 15)) == utc(2025, 7, 15, 7)  # CEST, UTC+2


@pytest.mark.parametrize(
    ("zone", "day", "jump"),
    [
        (NEW_YORK, (2025, 3, 9), utc(2025, 3, 9, 7)),  # 02:00 EST -> 03:00 EDT
        (BERLIN, (2025, 3, 30), utc(2025, 3, 30, 1)),  # 02:00 CET -> 03:00 CEST
    ],
)
def test_spring_forward_missing_time_fires_once_at_the_jump(zone, day, jump):
    expr = cron("30", "2", time_zone=str(zone))

    assert fires_between(expr, *local_day(zone, *day)) == [jump]
    assert jump.astimezone(zone).strftime("%H:%M") == "03:00"
    before, after = expr.latest_at_or_before(jump - MICROSECOND), expr.next_after(jump)
    assert before is not None and after is not None
    assert before.astimezone(zone).strftime("%d %H:%M") == f"{day[2] - 1:02} 02:30"
    assert after.astimezone(zone).strftime("%d %H:%M") == f"{day[2] + 1:02} 02:30"


@pytest.mark.parametrize(
    ("zone", "day", "hours", "first"),
    [
        (NEW_YORK, (2025, 11, 2), "1", utc(2025, 11, 2, 5, 30)),  # 01:30 EDT, not 06:30Z EST
        (BERLIN, (2025, 10, 26), "2", utc(2025, 10, 26, 0, 30)),  # 02:30 CEST, not 01:30Z CET
    ],
)
def test_fall_back_repeated_time_fires_once_at_its_first_occurrence(zone, day, hours, first):
    expr = cron("30", hours, time_zone=str(zone))

    assert fires_between(expr, *local_day(zone, *day)) == [first]
    assert expr.next_after(first + timedelta(hours=1)) == expr.next_after(first)
    assert expr.latest_at_or_before(first + timedelta(hours=1)) == first


@pytest.mark.parametrize(
    ("zone", "day", "count"),
    [
        (NEW_YORK, (2025, 3, 9), 23),
        (NEW_YORK, (2025, 11, 2), 24),
        (BERLIN, (2025, 3, 30), 23),
        (BERLIN, (2025, 10, 26), 24),
    ],
)
def test_hourly_job_fires_each_wall_clock_hour_once_across_transitions(zone, day, count):
    expr = cron("0", "*", time_zone=str(zone))

    on_the_day = fires_between(expr, *local_day(zone, *day))

    assert len(on_the_day) == count
    assert on_the_day == sorted(set(on_the_day))
    hours = [fire.astimezone(zone).hour for fire in on_the_day]
    assert hours == sorted(set(hours))


def test_hourly_job_skips_the_second_pass_of_the_repeated_hour():
    expr = cron("0", "*", time_zone="America/New_York")
    second_pass = utc(2025, 11, 2, 6, 30)  # 01:30 EST

    assert fires(expr, utc(2025, 11, 2, 4, 30), 3) == [
        utc(2025, 11, 2, 5),  # 01:00 EDT
        utc(2025, 11, 2, 7),  # 02:00 EST; 01:00 EST (06:00Z) does not fire again
        utc(2025, 11, 2, 8),
    ]
    assert expr.next_after(second_pass) == utc(2025, 11, 2, 7)
    assert expr.latest_at_or_before(second_pass) == utc(2025, 11, 2, 5)
    assert cron("45", "1", time_zone="America/New_York").latest_at_or_before(second_pass) == utc(
        2025, 11, 2, 5, 45
    )


def test_next_after_from_the_second_pass_never_goes_back_to_the_first():
    second_pass = utc(2025, 11, 2, 6, 30)  # 01:30 EST; 01:45 EDT (05:45Z) is already past

    assert cron("0/15", "*", time_zone="America/New_York").next_after(second_pass) == utc(
        2025, 11, 2, 7
    )
    assert cron("45", "1", time_zone="America/New_York").next_after(second_pass) == utc(
        2025, 11, 3, 6, 45
    )


def test_quarter_hour_job_shares_the_jump_instant_once():
    expr = cron("0/15", "*", time_zone="America/New_York")

    assert fires(expr, utc(2025, 3, 9, 6, 30), 3) == [
        utc(2025, 3, 9, 6, 45),  # 01:45 EST
        utc(2025, 3, 9, 7),  # 02:00-02:45 do not exist; 03:00 EDT fires once
        utc(2025, 3, 9, 7, 15),
    ]


@pytest.mark.parametrize(
    ("expr", "start"),
    [
        (cron("0/15", "*", time_zone="America/New_York"), utc(2025, 11, 1, 12)),
        (cron("0/15", "*", time_zone="America/New_York"), utc(2025, 3, 8, 12)),
        (cron("0", "*", time_zone="Europe/Berlin"), utc(2025, 10, 25, 12)),
        (cron("30", "1-3", time_zone="Europe/Berlin"), utc(2025, 3, 1)),
        (cron("0/10", "1-2", time_zone="Australia/Lord_Howe"), utc(2025, 4, 1)),  # 30 min DST
        (cron("0/10", "1-2", time_zone="Australia/Lord_Howe"), utc(2025, 9, 30)),
        (cron("0", "2", "LW", time_zone="Europe/Berlin"), utc(2025, 1, 1)),
        (cron("0", "12", "?", "*", "6#3"), utc(2025, 1, 1)),
    ],
)
def test_fire_times_only_go_forward_and_both_directions_agree(expr, start):
    walk = fires(expr, start, 150)

    assert all(earlier < later for earlier, later in zip(walk, walk[1:], strict=False))
    for earlier, later in zip(walk, walk[1:], strict=False):
        assert expr.latest_at_or_before(later) == later
        assert expr.latest_at_or_before(later - MICROSECOND) == earlier
