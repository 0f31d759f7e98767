"""A definition's schedule as the definitions page shows it: in words, as written, and when it
next starts a run.

The words cover the schedules people write most (every N minutes, hourly, daily, on weekdays,
on given days of the week or month); anything else is shown as written only, which the page
always shows too, with its time zone. The next run is the scheduler's own rule
(`scheduler.rules.check_schedule`), so the page and the scheduler cannot disagree.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

from gnomon.domain import (
    CronExpression,
    CronSchedule,
    OverlapAction,
    ProcessSchedule,
    parse_cron,
    read_stored,
)
from gnomon.scheduler.rules import DefinitionView, check_schedule
from gnomon.web.formatting import duration

log = logging.getLogger(__name__)

_DAY_NAMES: Final = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_DAY_ABBREVIATIONS: Final = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_ANY: Final = ("*", "?")
_EVERY: Final = re.compile(r"(?:\*|0)/(\d+)")
_NUMBER: Final = re.compile(r"\d{1,2}")


@dataclass(frozen=True)
class ScheduleView:
    """What the page shows of a stored schedule, and what the next-run rule needs of it; two
    views are equal when they show the same."""

    words: str
    raw: str | None = None
    """The schedule as written (`0 22 * * ?`, `buffer_seconds: 1200`); None: no schedule."""
    note: str | None = None
    """What the words leave out, such as when a definition without a schedule runs."""
    zone: str | None = None
    problem: str | None = None
    """Why the stored schedule cannot be read any more; the scheduler sets it aside too."""
    schedule: ProcessSchedule | None = field(default=None, compare=False)
    cron: CronExpression | None = field(default=None, compare=False)


MANUAL: Final = ScheduleView(words="Manual", note="runs only when triggered")


def schedule_view(stored: str | None) -> ScheduleView:
    """The view of a stored schedule (Sundial's JSON text), remembered per distinct text."""
    return MANUAL if stored is None else _read(stored)


@lru_cache(maxsize=4096)
def _read(stored: str) -> ScheduleView:
    # Parsing a cron expression costs a tenth of a millisecond; a thousand definitions share a
    # few dozen schedules, so each is parsed once.
    try:
        data = json.loads(stored)
        if data is None:
            return MANUAL
        schedule = read_stored(ProcessSchedule, data)
        cron = parse_cron(schedule.cron_schedule) if schedule.cron_schedule else None
    except ValueError as exc:  # bad JSON; pydantic's ValidationError and InvalidCronError too
        return ScheduleView(words="Unreadable schedule", raw=stored, problem=str(exc))
    if schedule.cron_schedule is not None:
        fields = _fields(schedule.cron_schedule)
        words = cron_words(*fields) or "Cron schedule"
        raw = " ".join(fields)
        zone = schedule.cron_schedule.time_zone
        return ScheduleView(words, raw, zone=zone, schedule=schedule, cron=cron)
    buffer = schedule.continuous_schedule.buffer_seconds if schedule.continuous_schedule else 0
    words = f"Continuous, every {duration(buffer)}" if buffer else "Continuous, back to back"
    return ScheduleView(words, f"buffer_seconds: {buffer}", schedule=schedule)


def _fields(cron: CronSchedule) -> tuple[str, str, str, str, str]:
    return (cron.minutes, cron.hours, cron.day_of_month, cron.month, cron.day_of_week)


def next_run(
    view: ScheduleView,
    *,
    name: str,
    paused: bool,
    overlap_action: str,
    created_at: datetime,
    last_started_at: datetime | None,
    now: datetime,
) -> datetime | None:
    """When the scheduler next starts a run on schedule, or the fire time it is due for (at or
    before `now`) if one is due; None if never."""
    if view.schedule is None or view.problem is not None:
        return None
    definition = DefinitionView(
        name=name,
        schedule=view.schedule,
        cron=view.cron,
        paused=paused,
        overlap=OverlapAction(overlap_action),
        created_at=created_at,
        last_started_at=last_started_at,
    )
    check = check_schedule(definition, now)
    return check.due or check.next_due


@dataclass(frozen=True)
class FireTime:
    """A moment a cron schedule fires, in UTC and on the wall clock of its time zone."""

    at: datetime
    local: datetime
    change: str | None = None
    """How the zone's clocks changed since the fire time before, if they did."""


def fire_times(view: ScheduleView, after: datetime, count: int) -> list[FireTime]:
    """The first `count` fire times of a cron schedule strictly after `after`, as the scheduler
    computes them (`CronExpression.next_after`, whose DST rule they follow); none for other
    schedules."""
    if view.cron is None or view.problem is not None:
        return []
    zone = ZoneInfo(view.cron.time_zone)
    times: list[FireTime] = []
    moment: datetime | None = after
    offset = after.astimezone(zone).utcoffset()
    while len(times) < count and moment is not None:
        moment = view.cron.next_after(moment)
        if moment is None:
            break
        local = moment.astimezone(zone)
        times.append(FireTime(moment, local, _change(local, offset, zone)))
        offset = local.utcoffset()
    return times


def _change(local: datetime, offset: timedelta | None, zone: ZoneInfo) -> str | None:
    """Words for a clock change at this fire time, or since the one before."""
    now_offset = local.utcoffset()
    assert now_offset is not None, "a ZoneInfo time always has an offset"
    before = (local.astimezone(UTC) - timedelta(microseconds=1)).astimezone(zone).utcoffset()
    if before is not None and before < now_offset:
        return f"clocks go forward at this moment, to UTC{_offset_text(now_offset)}"
    if local.replace(fold=1).utcoffset() != now_offset:
        return "this wall time occurs twice today: it fires the first time"
    if offset is not None and offset != now_offset:
        direction = "forward" if now_offset > offset else "back"
        return f"clocks went {direction}, to UTC{_offset_text(now_offset)}"
    return None


def _offset_text(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{rest:02d}"


def cron_words(minutes: str, hours: str, day: str, month: str, weekday: str) -> str | None:
    """Common Quartz cron schedules in words (`Every day at 22:00`); None for the others."""
    if month != "*" or (day not in _ANY and weekday not in _ANY):
        return None
    if hours == "*" and day in _ANY and weekday in _ANY:
        return _within_hour(minutes)
    if not _NUMBER.fullmatch(minutes):
        return None
    if day in _ANY and weekday in _ANY and (step := _EVERY.fullmatch(hours)):
        return f"Every {step.group(1)} hours at :{int(minutes):02d}"
    if not _NUMBER.fullmatch(hours):
        return None
    at = f"at {int(hours):02d}:{int(minutes):02d}"
    if day in _ANY:
        days = _weekdays(weekday)
        return f"{days} {at}" if days else None
    if _NUMBER.fullmatch(day):
        return f"Monthly on day {int(day)} {at}"
    return f"Monthly on the last day {at}" if day.upper() == "L" else None


def _within_hour(minutes: str) -> str | None:
    if minutes == "*":
        return "Every minute"
    if step := _EVERY.fullmatch(minutes):
        return f"Every {step.group(1)} minutes"
    if _NUMBER.fullmatch(minutes):
        return f"Every hour at :{int(minutes):02d}"
    return None


def _weekdays(text: str) -> str | None:
    """`Every day`, `Weekdays`, `Every Monday`, `Every Monday and Friday`, or None."""
    if text in _ANY:
        return "Every day"
    upper = text.upper()
    if upper in ("2-6", "MON-FRI"):
        return "Weekdays"
    if upper in ("1,7", "7,1", "SAT,SUN", "SUN,SAT"):
        return "Weekends"
    days = [_weekday(part) for part in upper.split(",")]
    if any(day is None for day in days):
        return None
    names = [_DAY_NAMES[day] for day in days if day is not None]
    listed = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]
    return f"Every {listed}"


def _weekday(part: str) -> int | None:
    """Quartz's day of week (1-7 = SUN-SAT, or a name) as 0-6, or None if not a single day."""
    if part in _DAY_ABBREVIATIONS:
        return _DAY_ABBREVIATIONS.index(part)
    if part.isdigit() and 1 <= int(part) <= 7:
        return int(part) - 1
    return None
