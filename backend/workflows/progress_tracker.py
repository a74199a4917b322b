"""Workflow-side keeper of the shared `Progress` model, and of the search attributes mirroring it.

Used inside workflow code only: times come from `workflow.now()`, and every phase change upserts
`FlightdeckPhase` / `FlightdeckPercent` / `FlightdeckAwaiting` so lists come from visibility.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from backend.domain.progress import Awaiting, Decision, Progress, Step, StepState
    from backend.workflows import search_attributes as sa

MAX_DECISIONS = 50
"""Decisions kept in progress (older ones stay in the audit log and the history)."""


@dataclass(frozen=True)
class StepPlan:
    """A step the workflow will run, with its share of the percent and whether it heartbeats."""

    name: str
    weight: int
    heartbeats: bool = False


class ProgressTracker:
    """Holds a workflow's Progress; call it as steps start, finish and wait for people."""

    def __init__(self, plan: Sequence[StepPlan]) -> None:
        self.progress = Progress(
            steps=[Step(name=s.name, weight=s.weight, heartbeats=s.heartbeats) for s in plan]
        )
        self._published: tuple[str, int, str] | None = None

    def _step(self, name: str) -> Step:
        step = self.progress.step(name)
        if step is None:
            raise KeyError(f"no step {name}")
        return step

    def _recompute(self) -> None:
        total = sum(s.weight for s in self.progress.steps if s.state == StepState.COMPLETED)
        self.progress.percent = max(0, min(100, total))

    def set_phase(self, phase: str) -> None:
        """Enter a phase; publishes it to visibility."""
        self.progress.phase = phase
        self.publish()

    def start(self, name: str, detail: str | None = None) -> None:
        """A step begins (again, after a loop back)."""
        step = self._step(name)
        step.state = StepState.RUNNING
        step.started_at = workflow.now()
        step.finished_at = None
        step.attempt += 1
        step.detail = detail

    def complete(self, name: str, detail: str | None = None) -> None:
        """A step finished well."""
        step = self._step(name)
        step.state = StepState.COMPLETED
        step.finished_at = workflow.now()
        if detail is not None:
            step.detail = detail
        self._recompute()

    def wait(self, name: str, detail: str | None = None) -> None:
        """A step is now waiting (for a person)."""
        step = self._step(name)
        step.state = StepState.WAITING
        if detail is not None:
            step.detail = detail

    def fail(self, name: str, error: str) -> None:
        """A step failed; its error becomes the workflow's last error."""
        step = self._step(name)
        step.state = StepState.FAILED
        step.finished_at = workflow.now()
        step.detail = error
        self.progress.last_error = error

    def reset(self, name: str) -> None:
        """A step must run again (a loop back); it counts as not done."""
        step = self._step(name)
        step.state = StepState.PENDING
        step.finished_at = None
        self._recompute()

    def end_open_steps(self, state: StepState) -> None:
        """Mark every step that has not finished (running, waiting or pending) as `state`."""
        now = workflow.now()
        for step in self.progress.steps:
            if step.state in (StepState.RUNNING, StepState.WAITING):
                step.state = state
                step.finished_at = now
            elif step.state == StepState.PENDING:
                step.state = StepState.SKIPPED if state == StepState.CANCELLED else state

    def running_step(self) -> str | None:
        """Name of the step running or waiting now, if any."""
        for step in self.progress.steps:
            if step.state in (StepState.RUNNING, StepState.WAITING):
                return step.name
        return None

    def await_human(self, kind: str, request_id: str, prompt: str) -> Awaiting:
        """The workflow now waits for a person's `kind` answer; published to visibility."""
        awaiting = Awaiting(kind=kind, since=workflow.now(), request_id=request_id, prompt=prompt)
        self.progress.awaiting = awaiting
        self.publish()
        return awaiting

    def stop_awaiting(self) -> None:
        """No longer waiting for a person."""
        self.progress.awaiting = None
        self.publish()

    def record_decision(self, decision: Decision) -> None:
        """Keep a human answer (accepted or ignored) in progress."""
        self.progress.decisions.append(decision)
        del self.progress.decisions[:-MAX_DECISIONS]

    def finish(self, phase: str) -> None:
        """The workflow has ended in `phase`."""
        self.progress.done = True
        self.progress.awaiting = None
        self.set_phase(phase)

    def publish(self) -> None:
        """Upsert the search attributes when phase, percent or awaiting changed."""
        awaiting = self.progress.awaiting.kind if self.progress.awaiting else ""
        state = (self.progress.phase, self.progress.percent, awaiting)
        if state == self._published:
            return
        self._published = state
        workflow.upsert_search_attributes(
            [
                sa.PHASE.value_set(self.progress.phase),
                sa.PERCENT.value_set(self.progress.percent),
                sa.AWAITING.value_set(awaiting) if awaiting else sa.AWAITING.value_unset(),
            ]
        )
