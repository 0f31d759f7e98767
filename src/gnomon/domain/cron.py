"""Sundial's Quartz-style cron schedules and their fire times in an IANA time zone.

Sundial hands its five `cron_schedule` strings to Quartz's `CronExpression` ("0 m h dom mon dow",
seconds fixed at 0, no year). Users' existing schedules must keep their meaning here, so this module
reads Quartz syntax and turns it into an expression croniter can walk. It is the only user of
croniter in Gnomon and does no I/O (apart from reading tzdata through `zoneinfo`).

Two Quartz rules differ from Unix cron and are easy to get wrong:

- Day-of-week numbers are 1-7 = SUN-SAT (Unix: 0-6), so `2-6` is MON-FRI; 0 and 8 are errors.
- `a/b` means "from a to the end of the field, every b": minutes `5/15` is 5,20,35,50.

Supported forms, per field (names are case-insensitive; ranges may wrap, e.g. hours `22-2`,
day_of_week `FRI-MON`, as in Quartz):

- minutes 0-59, hours 0-23, month 1-12 or JAN-DEC: values, ranges `a-b`, lists `a,b`,
  increments `*/b`, `a/b`, `a-b/b`.
- day_of_month 1-31 in the same forms, or exactly one of `L` (last day), `L-n` (n days before the
  last day, n <= 30: `L-2` is the 29th of a 31-day month), `nW` (the weekday nearest day n, never
  leaving the month), `LW` (last weekday) or `L-nW`. A day the month does not have (31, 30W, L-30
  in February) does not fire that month.
- day_of_week 1-7 or SUN-SAT in the same forms, or exactly one of `d#n` (the n-th, 1-5, weekday d
  of the month: `6#3` is the third Friday), `dL` (the last weekday d: `6L`) or `L` (= 7, SAT).
- `?` ("no specific value") only as the whole day_of_month or day_of_week. Quartz demands `?` in
  exactly one of them; we are lenient: `*` or `?` in either, `*` in both (every day). Specific
  values in both are rejected, because Quartz cannot combine them and cron would OR them.

Rejected, with an `InvalidCronError` naming the field: anything else, including `L`, `W` or `#`
inside a list or range, and an expression that never fires (February 30th), looked for over 50
years - enough for February 29th and for a fifth Monday of February, which only some leap years
have.

DST rule: fire times are wall-clock times in `time_zone`, and every matching wall-clock time
fires once.
- Spring forward: a wall time that does not exist that day (02:30 when clocks jump from 02:00 to
  03:00) fires once, at the first instant after the gap (03:00 local, the instant of the jump);
  the day is not skipped.
- Fall back: a wall time that occurs twice (01:30 when clocks go back from 02:00 to 01:00) fires
  once, at its first occurrence (the daylight-saving one, fold=0).
- So an hourly job fires once for the repeated hour, and any wall times in the gap share the
  instant of the jump with the first wall time after it, which fires once. Fire times strictly
  increase: `next_after` never returns the same instant twice and never goes backwards.

croniter on aware datetimes fires a 01:30 daily job twice on the fall-back day, so we only ask it
for naive wall times and apply the rule above with `zoneinfo` ourselves.
"""

from __future__ import annotations

import calendar
import functools
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter

from gnomon.errors import GnomonError

__all__ = ["CronExpression", "InvalidCronError"]

_MAX_YEARS_BETWEEN_FIRES: Final = 50
"""How far to look for the next fire time; a fifth Monday of February can be 40 years away."""

_REFERENCE_WALL: Final = datetime(2000, 1, 1)
"""Where the "does it ever fire" check starts; any 50-year window would do."""

_MINUTE: Final = timedelta(minutes=1)
_MONTHS: Final = tuple("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split())
_WEEKDAYS: Final = tuple("SUN MON TUE WED THU FRI SAT".split())

_ITEM_RE: Final = re.compile(r"(?P<start>\*|\w+)(?:-(?P<end>\w+))?(?:/(?P<step>\d+))?", re.ASCII)
_SPECIAL_DOM_RE: Final = re.compile(
    r"(?:(?P<last>L)(?:-(?P<offset>\d+))?|(?P<day>\d+))(?P<w>W)?", re.ASCII
)
_SPECIAL_DOW_RE: Final = re.compile(r"(?P<day>\w+?)(?:#(?P<nth>\d+)|(?P<last>L))", re.ASCII)
_FIELD_NAMES: Final = ("minutes", "hours", "day_of_month", "month", "day_of_week")
_MAX_FIELD_LENGTH: Final = 1000  # far beyond any real list; keeps int() off huge digit strings


class InvalidCronError(GnomonError, ValueError):
    """A cron schedule that cannot be used.

    Attributes:
        field: 'minutes', 'hours', 'day_of_month', 'month', 'day_of_week', 'time_zone', or
            'schedule' for a problem of the whole expression.
        message: Why, in words a user understands.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class _FieldSpec:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # names[i] stands for low + i

    def value(self, token: str) -> int:
        if token.isdigit():
            number = int(token)
            if not self.low <= number <= self.high:
                raise InvalidCronError(self.name, f"{token} is outside {self.allowed()}")
            return number
        if token in self.names:
            return self.low + self.names.index(token)
        raise InvalidCronError(self.name, f"{token!r} is not a number or name in {self.allowed()}")

    def allowed(self) -> str:
        if not self.names:
            return f"{self.low}-{self.high}"
        return f"{self.low}-{self.high} ({self.names[0]}-{self.names[-1]})"


_MINUTES_SPEC: Final = _FieldSpec("minutes", 0, 59)
_HOURS_SPEC: Final = _FieldSpec("hours", 0, 23)
_DOM_SPEC: Final = _FieldSpec("day_of_month", 1, 31)
_MONTH_SPEC: Final = _FieldSpec("month", 1, 12, _MONTHS)
_DOW_SPEC: Final = _FieldSpec("day_of_week", 1, 7, _WEEKDAYS)


@dataclass(frozen=True)
class _DayRule:
    """A day of month that depends on the month: `L`, `L-n`, `nW`, `LW`, `L-nW`."""

    day: int | None  # None: counted back from the last day
    offset: int
    nearest_weekday: bool

    def day_in(self, year: int, month: int) -> int | None:
        last = calendar.monthrange(year, month)[1]
        day = last - self.offset if self.day is None else self.day
        if not 1 <= day <= last:
            return None
        return _nearest_weekday(year, month, day, last) if self.nearest_weekday else day


def _nearest_weekday(year: int, month: int, day: int, last: int) -> int:
    """Quartz's `W`: a Saturday moves to Friday and a Sunday to Monday, unless that leaves the
    month; then the 1st (a Saturday) becomes Monday the 3rd, the last (a Sunday) Friday."""
    weekday = calendar.weekday(year, month, day)
    if weekday == calendar.SATURDAY:
        return day + 2 if day == 1 else day - 1
    if weekday == calendar.SUNDAY:
        return day - 2 if day == last else day + 1
    return day


_REMEMBERED_ANSWERS = 64
_UNKNOWN = object()


@dataclass(frozen=True)
class _Plan:
    """What a parsed expression needs to compute fire times."""

    expression: str  # croniter's five fields, Unix day-of-week numbering
    day_rule: _DayRule | None
    zone: ZoneInfo


@dataclass(frozen=True)
class CronExpression:
    """A validated Quartz cron schedule; see the module docstring for syntax and the DST rule."""

    minutes: str
    hours: str
    day_of_month: str
    month: str
    day_of_week: str
    time_zone: str = "UTC"
    _plan: _Plan = field(init=False, repr=False, compare=False)
    _answers: dict[tuple[bool, datetime], datetime | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    """Recent answers, by direction and instant: definitions with the same expression share one
    object, and a due minute asks it about the same few instants thousands of times."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "_plan", _compile(self))

    @classmethod
    def parse(
        cls,
        *,
        minutes: str,
        hours: str,
        day_of_month: str,
        month: str,
        day_of_week: str,
        time_zone: str = "UTC",
    ) -> CronExpression:
        """Validate Sundial's cron fields (surrounding blanks ignored) and the time zone.

        Returns:
            The expression; it fires at least once in any 50 years.

        Raises:
            InvalidCronError: naming the field at fault, or 'schedule' if it never fires.
        """
        return cls(
            minutes=minutes.strip(),
            hours=hours.strip(),
            day_of_month=day_of_month.strip(),
            month=month.strip(),
            day_of_week=day_of_week.strip(),
            time_zone=time_zone.strip(),
        )

    def next_after(self, after: datetime) -> datetime | None:
        """The first fire time strictly after `after` (aware, any zone), as aware UTC.

        Returns None only past the end of the calendar (year 9999).
        """
        return self._answer(True, after)

    def latest_at_or_before(self, at: datetime) -> datetime | None:
        """The latest fire time at or before `at` (aware, any zone), as aware UTC; for catch-up.

        Returns None if there is none in the 50 years before `at`.
        """
        return self._answer(False, at)

    def _answer(self, forward: bool, moment: datetime) -> datetime | None:
        key = (forward, moment)
        known = self._answers.get(key, _UNKNOWN)
        if known is not _UNKNOWN:
            return cast("datetime | None", known)
        at = _aware_utc(moment)
        answer = _next_fire(self._plan, at) if forward else _latest_fire(self._plan, at)
        if len(self._answers) >= _REMEMBERED_ANSWERS:
            self._answers.clear()  # one step, so threads sharing the object never see it half done
        self._answers[key] = answer
        return answer

    def describe(self) -> str:
        """Quartz order for logs and status, e.g. `0 22 * * ? (UTC)`."""
        fields = (self.minutes, self.hours, self.day_of_month, self.month, self.day_of_week)
        return f"{' '.join(fields)} ({self.time_zone})"


def _compile(expr: CronExpression) -> _Plan:
    texts = (expr.minutes, expr.hours, expr.day_of_month, expr.month, expr.day_of_week)
    for name, text in zip(_FIELD_NAMES, texts, strict=True):
        if len(text) > _MAX_FIELD_LENGTH:
            raise InvalidCronError(name, f"is longer than {_MAX_FIELD_LENGTH} characters")
        if "?" in text and name not in ("day_of_month", "day_of_week"):
            raise InvalidCronError(name, "'?' is only allowed in day_of_month or day_of_week")
    minutes = _numbers(expr.minutes, _MINUTES_SPEC)
    hours = _numbers(expr.hours, _HOURS_SPEC)
    day_of_month, day_rule = _day_of_month(expr.day_of_month)
    month = _numbers(expr.month, _MONTH_SPEC)
    day_of_week = _day_of_week(expr.day_of_week)
    _check_day_fields(expr.day_of_month, expr.day_of_week)
    plan = _Plan(
        f"{minutes} {hours} {day_of_month} {month} {day_of_week}", day_rule, _zone(expr.time_zone)
    )
    if _next_wall(plan, _REFERENCE_WALL) is None:
        raise InvalidCronError(
            "schedule",
            f"never fires: no date in month {expr.month!r} matches day_of_month "
            f"{expr.day_of_month!r} and day_of_week {expr.day_of_week!r}",
        )
    return plan


def _numbers(text: str, spec: _FieldSpec) -> str:
    """A Quartz list of values, ranges and increments as croniter's explicit comma list."""
    if not text:
        raise InvalidCronError(spec.name, "is empty")
    values: set[int] = set()
    for item in text.upper().split(","):
        values.update(_expand_item(item, spec))
    return ",".join(str(value) for value in sorted(values))


def _expand_item(item: str, spec: _FieldSpec) -> list[int]:
    match = _ITEM_RE.fullmatch(item)
    if match is None:
        raise InvalidCronError(
            spec.name, f"{item!r} is not a value, range (a-b), increment (a/b) or list (a,b)"
        )
    start_text, end_text, step_text = match.group("start", "end", "step")
    if start_text == "*" and end_text is not None:
        raise InvalidCronError(spec.name, f"{item!r}: '*' cannot start a range")
    if start_text == "*":
        start, end = spec.low, spec.high
    elif end_text is not None:
        start, end = spec.value(start_text), spec.value(end_text)
    else:  # Quartz: `a/b` runs from a to the end of the field
        start = spec.value(start_text)
        end = start if step_text is None else spec.high
    step = 1 if step_text is None else int(step_text)
    if not 1 <= step <= spec.high:
        raise InvalidCronError(spec.name, f"increment {step} is outside 1-{spec.high}")
    size = spec.high - spec.low + 1
    if end < start:  # a range that wraps, e.g. hours 22-2
        end += size
    return [spec.low + (value - spec.low) % size for value in range(start, end + 1, step)]


def _day_of_month(text: str) -> tuple[str, _DayRule | None]:
    """croniter's day-of-month field, and the rule for `L`/`W` forms that we apply ourselves."""
    upper = text.upper()
    if upper in ("?", "*"):
        return "*", None
    if "L" not in upper and "W" not in upper:
        return _numbers(text, _DOM_SPEC), None
    match = _SPECIAL_DOM_RE.fullmatch(upper)
    if match is None:
        raise InvalidCronError(
            "day_of_month",
            f"{text!r}: 'L' and 'W' must stand alone, as in 'L', 'L-3', '15W', 'LW' or 'L-3W'",
        )
    offset = int(match.group("offset") or 0)
    if offset > 30:
        raise InvalidCronError("day_of_month", f"{text!r}: the offset from L must be 0-30")
    day = None if match.group("last") else _DOM_SPEC.value(match.group("day"))
    return "*", _DayRule(day=day, offset=offset, nearest_weekday=bool(match.group("w")))


def _day_of_week(text: str) -> str:
    """croniter's day-of-week field (Unix numbering, 0 = SUN) for a Quartz one (1 = SUN)."""
    upper = text.upper()
    if upper in ("?", "*"):
        return "*"
    if upper == "L":  # Quartz: 'L' alone in day_of_week is 7, Saturday
        return "6"
    if "#" not in upper and not upper.endswith("L"):
        return ",".join(str(int(value) - 1) for value in _numbers(text, _DOW_SPEC).split(","))
    match = _SPECIAL_DOW_RE.fullmatch(upper)
    if match is None:
        raise InvalidCronError(
            "day_of_week", f"{text!r}: '#' and 'L' must stand alone, as in '6#3' or '6L'"
        )
    day = _DOW_SPEC.value(match.group("day")) - 1
    if match.group("last"):
        return f"L{day}"
    nth = int(match.group("nth"))
    if not 1 <= nth <= 5:
        raise InvalidCronError("day_of_week", f"{text!r}: the number after '#' must be 1-5")
    return f"{day}#{nth}"


def _check_day_fields(day_of_month: str, day_of_week: str) -> None:
    if day_of_month == "?" and day_of_week == "?":
        raise InvalidCronError(
            "schedule", "'?' in both day_of_month and day_of_week; use '*' in one of them"
        )
    if day_of_month not in ("?", "*") and day_of_week not in ("?", "*"):
        raise InvalidCronError(
            "schedule",
            "day_of_month and day_of_week both name days; "
            "set one of day_of_month or day_of_week to '?'",
        )


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise InvalidCronError(
            "time_zone", f"{name!r} is not an IANA time zone such as 'UTC' or 'Europe/Berlin'"
        ) from exc


def _aware_utc(moment: datetime) -> datetime:
    if moment.utcoffset() is None:
        raise ValueError(f"a time zone-aware datetime is required, got {moment!r}")
    return moment.astimezone(UTC)


def _wall_clock(moment: datetime, zone: ZoneInfo) -> datetime:
    """The naive wall-clock reading of the aware `moment` in `zone`."""
    if moment.utcoffset() is None:
        raise ValueError(f"a time zone-aware datetime is required, got {moment!r}")
    return moment.astimezone(zone).replace(tzinfo=None, fold=0)


_FIRE_CACHE_SIZE = 16_384


# Many definitions share an expression, and every run started in one wake-up has the same start
# time, so the scheduler asks the same questions a thousand times a minute: remember answers.
@functools.lru_cache(maxsize=_FIRE_CACHE_SIZE)
def _next_fire(plan: _Plan, after: datetime) -> datetime | None:
    zone = plan.zone
    start = _wall_clock(after, zone).replace(second=0, microsecond=0)
    while (wall := _next_wall(plan, start)) is not None:
        fire = _resolve(wall, zone)
        if fire > after:  # not so only for wall times repeated after a fall back
            return fire
        start = wall
    return None


@functools.lru_cache(maxsize=_FIRE_CACHE_SIZE)
def _latest_fire(plan: _Plan, at: datetime) -> datetime | None:
    zone = plan.zone
    # In the second pass of a repeated hour, the rest of that hour has fired already.
    end = _wall_clock(at, zone) + _second_pass_shift(at.astimezone(zone))
    while (wall := _prev_wall(plan, end)) is not None:
        fire = _resolve(wall, zone)
        if fire <= at:
            return fire
        end = wall - _MINUTE
    return None


_WALKERS = threading.local()
_WALKER_CACHE_SIZE = 4096


def _second_pass_shift(local: datetime) -> timedelta:
    """How far the clock went back, if `local` is in the second pass of a repeated hour."""
    first_pass, actual = local.replace(fold=0).utcoffset(), local.utcoffset()
    if first_pass is None or actual is None:
        return timedelta(0)
    return first_pass - actual


def _walker(plan: _Plan, start: datetime) -> croniter[datetime]:
    """A croniter for the plan's expression. Building one expands every field (milliseconds of
    regular expressions), so each thread keeps one per expression; callers always pass
    `start_time`, so the walker's own position never matters."""
    cache: dict[str, croniter[datetime]] = _WALKERS.__dict__.setdefault("by_expression", {})
    walker = cache.get(plan.expression)
    if walker is None:
        if len(cache) >= _WALKER_CACHE_SIZE:
            cache.clear()
        walker = cache[plan.expression] = croniter(
            plan.expression,
            start,
            ret_type=datetime,
            day_or=False,
            max_years_between_matches=_MAX_YEARS_BETWEEN_FIRES,
        )
    return walker


def _next_wall(plan: _Plan, start: datetime) -> datetime | None:
    """The first matching naive wall-clock time strictly after `start` (a whole minute)."""
    walker, candidate = _walker(plan, start), start
    try:
        while candidate.year <= start.year + _MAX_YEARS_BETWEEN_FIRES:
            wall = walker.get_next(datetime, start_time=candidate)
            day = plan.day_rule.day_in(wall.year, wall.month) if plan.day_rule else wall.day
            if day == wall.day:
                return wall
            if day is not None and day > wall.day:  # later this month, else from next month on
                candidate = datetime(wall.year, wall.month, day) - _MINUTE
            else:
                candidate = datetime(wall.year, wall.month, 1) + timedelta(days=31)
                candidate = candidate.replace(day=1) - _MINUTE
    except (CroniterBadDateError, OverflowError, ValueError):  # ValueError: after year 9999
        return None
    return None


def _prev_wall(plan: _Plan, end: datetime) -> datetime | None:
    """The last matching naive wall-clock time at or before `end`."""
    candidate = end.replace(second=0, microsecond=0) + _MINUTE  # croniter: strictly before
    walker = _walker(plan, candidate)
    try:
        while candidate.year >= end.year - _MAX_YEARS_BETWEEN_FIRES:
            wall = walker.get_prev(datetime, start_time=candidate)
            day = plan.day_rule.day_in(wall.year, wall.month) if plan.day_rule else wall.day
            if day == wall.day:
                return wall
            if day is not None and day < wall.day:  # earlier this month, else an earlier month
                candidate = datetime(wall.year, wall.month, day) + timedelta(days=1)
            else:
                candidate = datetime(wall.year, wall.month, 1)
    except (CroniterBadDateError, OverflowError, ValueError):  # ValueError: before year 1
        return None
    return None


def _resolve(wall: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant at which the naive wall-clock time `wall` in `zone` fires (DST rule)."""
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first  # it exists; fold=0 is the first of a repeated time
    return _end_of_gap(wall, zone)


def _end_of_gap(wall: datetime, zone: ZoneInfo) -> datetime:
    """The instant the clock jumps over the non-existent `wall`, found to the second."""
    # fold=1 reads `wall` with the offset after the jump, which gives the earlier instant.
    before = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    after = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    old_offset = before.astimezone(zone).utcoffset()
    while after - before > timedelta(seconds=1):
        middle = before + timedelta(seconds=(after - before) // timedelta(seconds=2))
        if middle.astimezone(zone).utcoffset() == old_offset:
            before = middle
        else:
            after = middle
    return after
