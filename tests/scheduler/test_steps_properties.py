"""Properties of the task-graph rules (`rules.steps.expire` and `plan`) for any graph and outcomes.

A generated DAG (listed in any order, possibly narrowed by a task filter) is driven the way the
scheduler drives it: start what `plan` says, end running attempts with drawn outcomes at drawn
times, kill what `expire` says, sleep until `wake_at` when nothing runs, maybe request a kill.
Whatever happens, the run ends within a bounded number of steps, a task never has two attempts
running at once or more attempts than allowed, a required dependency has succeeded (an optional
one has finished once) before its dependant starts, and a run with nothing running that has not
finished always has a time to wake at.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gnomon.domain.definitions import TaskDefinition
from gnomon.domain.enums import ProcessStatus, TaskStatus
from gnomon.domain.limits import MAX_BACKOFF_EXPONENT, MAX_SECONDS
from gnomon.scheduler.rules.state import AttemptRecord, ProcessState
from gnomon.scheduler.rules.steps import expire, plan

START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
EXECUTABLE = {"docker_image_command": {"image": "busybox", "command": ["true"]}}


@st.composite
def task_graphs(draw: st.DrawFn) -> list[TaskDefinition]:
    """Tasks whose dependencies point at earlier tasks (so, a DAG), then listed in any order."""
    count = draw(st.integers(min_value=1, max_value=7))
    tasks: list[dict[str, Any]] = []
    for index in range(count):
        earlier = draw(st.sets(st.integers(min_value=0, max_value=index - 1))) if index else set()
        tasks.append(
            {
                "task_definition_name": f"t{index}",
                "executable": EXECUTABLE,
                "dependencies": [
                    {"task_definition_name": f"t{d}", "success_required": draw(st.booleans())}
                    for d in sorted(earlier)
                ],
                "max_attempts": draw(st.integers(min_value=1, max_value=3)),
                "max_runtime_seconds": draw(
                    st.one_of(st.none(), st.integers(min_value=1, max_value=MAX_SECONDS))
                ),
                "backoff_base_seconds": draw(
                    st.one_of(
                        st.integers(min_value=0, max_value=600),
                        st.integers(min_value=0, max_value=MAX_SECONDS),
                    )
                ),
                "backoff_exponent": draw(st.floats(min_value=0, max_value=MAX_BACKOFF_EXPONENT)),
            }
        )
    kept = draw(st.one_of(st.none(), st.sets(st.sampled_from(range(count)), min_size=1)))
    if kept is not None:  # a trigger's task filter: dependencies outside it are ignored
        tasks = [t for i, t in enumerate(tasks) if i in kept]
    return [TaskDefinition.model_validate(t) for t in draw(st.permutations(tasks))]


class Run:
    """A process driven like the scheduler drives one, checking invariants at every step."""

    def __init__(self, tasks: list[TaskDefinition]) -> None:
        self.state = ProcessState("process", "definition", START, tasks)
        self.now = START
        self.ids = 0
        self.wake_at: datetime | None = None

    def step(self) -> ProcessStatus | None:
        """One `ProcessBook.step`; the final status once the run ends."""
        for kill in expire(self.state, self.now):
            found = self.state.find_attempt(kill.task_id)
            assert found is not None and found[1].running
            self.end(found[1], TaskStatus.FAILED)
        decision = plan(self.state, self.now)
        for task in decision.starts:
            self.start(task)
        if decision.starts:
            decision = plan(self.state, self.now)
        self.check_invariants()
        if decision.finish is not None:
            assert self.state.running_attempts() == []
            return decision.finish
        if not self.state.running_attempts():
            # Never hangs: nothing runs and it is not finished, so something must be due later.
            assert decision.wake_at is not None and decision.wake_at > self.now
        self.wake_at = decision.wake_at
        return None

    def start(self, task: TaskDefinition) -> None:
        name = task.task_definition_name
        assert not self.is_running(task), f"{name} started while an attempt of it runs"
        for dependency in task.dependencies:
            other = self.state.task(dependency.task_definition_name)
            if other is None:
                continue
            attempts = self.state.attempts_of(other.task_definition_name)
            if dependency.success_required:
                assert attempts and attempts[-1].status is TaskStatus.SUCCEEDED
            else:  # finished once (a retry may be running), or it never can run
                assert not attempts or any(not a.running for a in attempts)
        self.ids += 1
        self.state.attempts_of(name).append(
            AttemptRecord(task_id=str(self.ids), started_at=self.now)
        )
        assert len(self.state.attempts_of(name)) <= task.max_attempts

    def end(self, attempt: AttemptRecord, status: TaskStatus) -> None:
        attempt.status, attempt.ended_at = status, self.now

    def is_running(self, task: TaskDefinition) -> bool:
        return any(a.running for a in self.state.attempts_of(task.task_definition_name))

    def check_invariants(self) -> None:
        for task in self.state.tasks:
            attempts = self.state.attempts_of(task.task_definition_name)
            assert sum(a.running for a in attempts) <= 1
            assert len(attempts) <= task.max_attempts


def expected_status(run: Run) -> ProcessStatus:
    if run.state.kill_requested:
        return ProcessStatus.FAILED
    lasts = [run.state.last_attempt(t.task_definition_name) for t in run.state.tasks]
    failed = any(last is not None and last.status is TaskStatus.FAILED for last in lasts)
    return ProcessStatus.FAILED if failed else ProcessStatus.SUCCEEDED


@given(task_graphs(), st.data())
def test_any_run_ends_without_overlapping_attempts_or_hanging(
    tasks: list[TaskDefinition], data: st.DataObject
) -> None:
    run = Run(tasks)
    budget = 3 * (sum(t.max_attempts for t in tasks) + 1) + 5
    kill_at = data.draw(st.one_of(st.none(), st.integers(min_value=0, max_value=budget)))
    for step in range(budget):
        if step == kill_at:
            run.state.kill_requested = True
        status = run.step()
        if status is not None:
            assert status is expected_status(run)
            return
        running = run.state.running_attempts()
        end_one: bool = bool(running) and data.draw(st.booleans(), label="end an attempt")
        if end_one:
            attempt = data.draw(st.sampled_from(running), label="which")
            outcome = data.draw(st.sampled_from([TaskStatus.SUCCEEDED, TaskStatus.FAILED]))
            run.now += data.draw(st.timedeltas(timedelta(0), timedelta(hours=2)), label="after")
            if run.wake_at is None or run.now < run.wake_at:
                run.end(attempt, outcome)
        elif run.wake_at is not None:
            run.now = max(run.now, run.wake_at)  # sleep until a backoff or runtime limit ends
        else:
            attempt = data.draw(st.sampled_from(running), label="which")
            run.end(attempt, data.draw(st.sampled_from([TaskStatus.SUCCEEDED, TaskStatus.FAILED])))
    raise AssertionError(f"the run did not end within {budget} steps: {run.state.attempts}")
