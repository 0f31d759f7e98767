"""The scheduler's view of every definition, and a heap of their next due times.

Rebuilt from the store when the scheduler takes the lease, refreshed when definitions change (only
changed rows are re-parsed), so a wake-up looks at the definitions that are due, have open
triggers or were touched, never at all ten thousand.

A definition the scheduler cannot handle (its stored form no longer reads, or computing its next
start raised) is set aside by `fail`: logged, counted, marked in the store with the reason, and
left alone until its revision changes (any edit, pause or resume) or a scheduler takes the lease
again. A set-aside definition that later evaluates cleanly has its mark cleared.
"""

from __future__ import annotations

import heapq
import json
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime

from pydantic import ValidationError

from gnomon.domain.cron import CronExpression, InvalidCronError
from gnomon.domain.definitions import ProcessSchedule, TaskDefinition
from gnomon.domain.enums import OverlapAction
from gnomon.domain.stored import read_stored, share_field_sets
from gnomon.domain.validation import parse_cron
from gnomon.scheduler.isolation import describe, storable
from gnomon.scheduler.observer import SchedulerObserver
from gnomon.scheduler.rules.starts import DefinitionView, check_schedule
from gnomon.scheduler.rules.steps import Opening, opening
from gnomon.storage import Session
from gnomon.storage import scheduling as store
from gnomon.storage.scheduling import DefinitionRecord

log = logging.getLogger(__name__)
_Schedule = tuple[ProcessSchedule | None, CronExpression | None]
"""A parsed stored schedule; definitions whose stored schedules read the same share one."""
BULK_LOAD_THRESHOLD = 500
"""Past this many names, queries read every definition instead of naming them."""
DUE_PER_TICK = 250
"""Runs started by a burst's first wake-up; a larger burst continues in the next one, right
after this one's commit, so the first jobs start without waiting for the last of a thousand."""
MOST_DUE_PER_TICK = 2_000
"""Each later wake-up of a burst takes as many runs as the burst has started so far, up to this:
ten thousand due runs go out in 8 commits rather than 40, and each wake-up's fixed cost (the
lease's fence, the open triggers, the commit) is paid 8 times."""


class DefinitionBook:
    """What the scheduler knows of every definition: views, due times, parsed templates, marks.

    It owns a `DefinitionView` per schedulable definition, the heap of next due times, the task
    templates parsed once per revision, and the set-aside definitions with the scheduling errors
    still to write (`take_marks`). It reads the store only through the session it is given
    (`templates`) and writes nothing itself. Only the scheduler thread uses it; the service
    builds a new one from the store at each takeover and after a failed wake-up.
    """

    def __init__(self, observer: SchedulerObserver | None = None) -> None:
        self.observer = observer or SchedulerObserver()
        self.views: dict[str, DefinitionView] = {}
        self.versions: dict[str, int] = {}
        self._heap: list[tuple[datetime, str]] = []
        self._scheduled: dict[str, datetime] = {}
        self.touched: set[str] = set()
        """Definitions to evaluate on the next tick whatever their due time."""
        self._templates: dict[str, tuple[int, list[TaskDefinition]]] = {}
        self._openings: dict[str, tuple[list[TaskDefinition], Opening]] = {}
        """Per name: the templates (by identity) and what every new run of them shares."""
        self.failed: dict[str, str] = {}
        """Definitions set aside, with the reason, until their revision changes."""
        self.marks: dict[str, tuple[int, str | None]] = {}
        """Scheduling errors to write (or clear, None) for each name's revision."""
        self._marked: dict[str, str] = {}
        """The error stored on each definition's current revision."""
        self._burst_started = 0
        """Due runs taken since the current burst began; 0 between bursts."""

    def load_all(
        self, records: Iterable[DefinitionRecord], last_starts: Mapping[str, datetime]
    ) -> None:
        """Add or replace the views of `records`; those with the same stored schedule share
        one parsed schedule."""
        schedules: dict[str, _Schedule] = {}
        for record in records:
            self.load(record, last_starts.get(record.name), schedules)

    def load(
        self,
        record: DefinitionRecord,
        last_started_at: datetime | None,
        schedules: dict[str, _Schedule] | None = None,
    ) -> None:
        """Add or replace one definition's view; `schedules` holds the schedules already parsed,
        by stored text."""
        previous = self.views.get(record.name)
        self.versions[record.name] = record.revision
        self.failed.pop(record.name, None)
        self._marked.pop(record.name, None)
        if record.scheduling_error is not None:
            self._marked[record.name] = record.scheduling_error
        try:
            view = _to_view(record, {} if schedules is None else schedules)
        except Exception as exc:  # a stored schedule no longer reads: this definition only
            self.fail(record.name, "load", describe(exc))
            return
        view.last_started_at = last_started_at or (previous.last_started_at if previous else None)
        view.running_process_id = previous.running_process_id if previous else None
        self.views[record.name] = view
        self.touched.add(record.name)

    def remove(self, name: str) -> None:
        self.views.pop(name, None)
        self._templates.pop(name, None)
        self._openings.pop(name, None)
        self.versions.pop(name, None)
        self._scheduled.pop(name, None)
        self.touched.discard(name)
        self.failed.pop(name, None)
        self.marks.pop(name, None)
        self._marked.pop(name, None)

    def fail(self, name: str, stage: str, reason: str) -> None:
        """Set the definition aside until its revision changes, and mark it with `reason`."""
        reason = storable(reason)
        log.error(
            "cannot schedule definition %s (%s): %s; other definitions go on",
            name,
            stage,
            reason,
            exc_info=stage != "load",
            extra={"process_definition_name": name},
        )
        self.observer.item_failed(stage)
        self.views.pop(name, None)
        self._scheduled.pop(name, None)
        self.touched.discard(name)
        self.failed[name] = reason
        revision = self.versions.get(name)
        if revision is not None and self._marked.get(name) != reason:
            self.marks[name] = (revision, reason)
            self._marked[name] = reason

    def take_marks(self) -> list[tuple[str, int, str | None]]:
        """The marks to write in this tick's transaction (and forget them)."""
        marks = [(name, revision, reason) for name, (revision, reason) in self.marks.items()]
        self.marks.clear()
        return marks

    def reschedule(self, name: str, now: datetime) -> None:
        """Put the definition's next due time on the heap (or take it off); a definition whose
        next start cannot be computed is set aside (`fail`)."""
        try:
            self._reschedule(name, now)
        except Exception as exc:
            self.fail(name, "schedule", describe(exc))
            return
        if name in self._marked and name in self.views:  # it works now: clear the old mark
            del self._marked[name]
            self.marks[name] = (self.versions[name], None)

    def _reschedule(self, name: str, now: datetime) -> None:
        view = self.views.get(name)
        due = check_schedule(view, now) if view else None
        when = (due.due or due.next_due) if due else None
        if view is not None and view.running_process_id and view.overlap is OverlapAction.WAIT:
            when = None  # looked at again when its running process ends
        if when is None:
            self._scheduled.pop(name, None)
            return
        self._scheduled[name] = when
        heapq.heappush(self._heap, (when, name))

    def pop_due(self, now: datetime) -> set[str]:
        """Names whose due time has come, the earliest first, plus every touched one. A burst
        goes out in growing chunks (`DUE_PER_TICK`, then as many as it started so far, up to
        `MOST_DUE_PER_TICK`); the rest stay due for the next tick, which follows at once."""
        names = set(self.touched)
        self.touched.clear()
        limit = min(MOST_DUE_PER_TICK, max(DUE_PER_TICK, self._burst_started))
        taken = 0
        while self._heap and self._heap[0][0] <= now and taken < limit:
            when, name = heapq.heappop(self._heap)
            if self._scheduled.get(name) == when:
                del self._scheduled[name]
                names.add(name)
                taken += 1
        self._burst_started = self._burst_started + taken if self.burst_pending(now) else 0
        return {n for n in names if n in self.views}

    def burst_pending(self, now: datetime) -> bool:
        """Whether runs are due right now (a burst, or the rest of one, is waiting)."""
        next_due = self.next_due()
        return next_due is not None and next_due <= now

    def templates(self, session: Session, names: list[str]) -> dict[str, list[TaskDefinition]]:
        """Current task definitions of `names`, parsed once per revision of each definition.

        A definition whose stored tasks no longer read is set aside (`fail`) and left out.
        """
        missing = [n for n in names if self._templates.get(n, (-1, []))[0] != self.versions.get(n)]
        if missing:
            # Past a few hundred names an IN list costs more than reading everything once
            # (and a takeover's hundred thousand would pass SQLite's limit on parameters).
            wanted = missing if len(missing) <= BULK_LOAD_THRESHOLD else None
            loaded = store.templates(session=session, names=wanted)
            for name in missing:
                if name in loaded.problems:
                    self._templates.pop(name, None)
                    self.fail(name, "load", loaded.problems[name])
                else:
                    revision = self.versions.get(name, -1)
                    self._templates[name] = (revision, loaded.tasks.get(name, []))
        return {name: self._templates[name][1] for name in names if name in self._templates}

    def cached_templates(self, name: str) -> list[TaskDefinition] | None:
        """The task definitions of `name`'s current revision if they are loaded, else None."""
        loaded = self._templates.get(name)
        return loaded[1] if loaded is not None and loaded[0] == self.versions.get(name) else None

    def due_by(self, until: datetime) -> list[str]:
        """The definitions due at or before `until`, if nothing changes before then."""
        return [name for name, when in self._scheduled.items() if when <= until]

    def opening(self, name: str) -> Opening | None:
        """What every new run of `name`'s current templates without a task filter shares: their
        layout and first tasks (`rules.steps.opening`), computed once per revision. None if its
        templates are not loaded or have no such answer (a cycle): the run then takes the
        ordinary first step, which meets the same problem in isolation."""
        loaded = self._templates.get(name)
        if loaded is None:
            return None
        cached = self._openings.get(name)
        if cached is None or cached[0] is not loaded[1]:
            try:
                cached = (loaded[1], opening(loaded[1]))
            except Exception:
                return None
            self._openings[name] = cached
        return cached[1]

    def next_due(self) -> datetime | None:
        while self._heap and self._scheduled.get(self._heap[0][1]) != self._heap[0][0]:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None


def _to_view(record: DefinitionRecord, schedules: dict[str, _Schedule]) -> DefinitionView:
    """The scheduler's view of a stored definition. Stored definitions were validated on the way
    in, but a newer, stricter parser may refuse one: it raises, and only that one is set aside."""
    schedule, cron = None, None
    if record.schedule is not None:
        parsed = schedules.get(record.schedule)
        if parsed is None:
            if len(schedules) >= store.SHARED_READS:
                schedules.clear()
            parsed = schedules[record.schedule] = _read_schedule(record.schedule)
        schedule, cron = parsed
    return DefinitionView(
        name=record.name,
        schedule=schedule,
        cron=cron,
        paused=record.paused,
        overlap=OverlapAction(record.overlap_action),
        created_at=record.created_at,
    )


def _read_schedule(text: str) -> _Schedule:
    """A stored schedule (JSON text) and its cron expression; raises if either does not read."""
    data = json.loads(text)
    try:
        schedule = read_stored(ProcessSchedule, data) if data else None
        if schedule is not None:
            share_field_sets(schedule)  # kept as long as the lease: the smaller the better
        cron = None
        if schedule is not None and schedule.cron_schedule is not None:
            cron = parse_cron(schedule.cron_schedule)
    except (ValidationError, InvalidCronError) as exc:
        raise ValueError(f"the stored schedule is no longer valid: {exc}") from exc
    return schedule, cron
