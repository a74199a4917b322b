"""Workflow-side keeper of the shared `Progress` model, and of the search attributes mirroring it.

Used inside workflow code only: times come from `workflow.now()`, and every phase change upserts
`FlightdeckPhase` / `FlightdeckPercent` / `FlightdeckAwaiting` so Temporal's own tools can filter.
Every change the store cares about (status, percent, awaiting, accepted actions, decisions,
fields) calls `on_change`, which the status reporter listens to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

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
    compensates: str | None = None
    """For a saga compensation step: the step it undoes."""


class ProgressTracker:
    """Holds a workflow's Progress; call it as steps start, finish and wait for people."""

    def __init__(self, plan: Sequence[StepPlan]) -> None:
        self.progress = Progress(
            steps=[
                Step(
                    name=s.name, weight=s.weight, heartbeats=s.heartbeats, compensates=s.compensates
                )
                for s in plan
            ]
        )
        self.reason: str | None = None
        """Why the entity is in its status (set when it ends)."""
        self.fields: dict[str, Any] = {}
        """Domain fields the workflow reports (e.g. a lab's `expires_at`)."""
        self.on_change: Callable[[], None] = lambda: None
        self._published: tuple[str, int, str] | None = None
        self._decision_seq = 0

    def _step(self, name: str) -> Step:
        step = self.progress.step(name)
        if step is None:
            raise KeyError(f"no step {name}")
        return step

    def _recompute(self) -> None:
        total = sum(s.weight for s in self.progress.steps if s.state == StepState.COMPLETED)
        # Percent never goes backwards: a loop back or a cancel keeps what was reached.
        percent = max(self.progress.percent, min(100, total))
        if percent != self.progress.percent:
            self.progress.percent = percent
            self.publish()

    def set_phase(self, phase: str) -> None:
        """Enter a phase (the entity's status has the same name); published to visibility."""
        self.progress.phase = phase
        self.publish()

    def add_steps(self, plan: Iterable[StepPlan]) -> None:
        """Append steps decided at run time (e.g. the compensations a failure needs)."""
        for s in plan:
            if self.progress.step(s.name) is None:
                self.progress.steps.append(
                    Step(
                        name=s.name,
                        weight=s.weight,
                        heartbeats=s.heartbeats,
                        compensates=s.compensates,
                    )
                )

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
        """A step is now waiting (for a person or a timer)."""
        step = self._step(name)
        step.state = StepState.WAITING
        if step.started_at is None:
            step.started_at = workflow.now()
        if detail is not None:
            step.detail = detail

    def skip(self, name: str, detail: str | None = None) -> None:
        """A step that will not run (an option left off)."""
        step = self._step(name)
        step.state = StepState.SKIPPED
        step.detail = detail

    def fail(self, name: str, error: str) -> None:
        """A step failed; its error becomes the workflow's last error."""
        step = self._step(name)
        step.state = StepState.FAILED
        step.finished_at = workflow.now()
        step.detail = error
        self.progress.last_error = error
        self.on_change()

    def reset(self, name: str) -> None:
        """A step must run again (a loop back); it counts as not done."""
        step = self._step(name)
        step.state = StepState.PENDING
        step.finished_at = None

    def end_open_steps(self, state: StepState) -> None:
        """Mark every step that has not finished (running, waiting or pending) as `state`."""
        now = workflow.now()
        for step in self.progress.steps:
            if step.compensates is not None:
                continue
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

    def completed(self, name: str) -> bool:
        """True when the step has completed."""
        return self._step(name).state == StepState.COMPLETED

    # -- human input -------------------------------------------------------------------------

    def accept(self, *actions: str) -> None:
        """The actions the workflow takes from now on (every other is refused)."""
        if list(actions) != self.progress.accepts:
            self.progress.accepts = list(actions)
            self.on_change()

    def stop_accepting(self, action: str) -> None:
        """No longer take `action` (e.g. once a review round is answered)."""
        self.accept(*(a for a in self.progress.accepts if a != action))

    def await_human(
        self, kind: str, request_id: str, prompt: str, accepts: Sequence[str]
    ) -> Awaiting:
        """The workflow now waits for a person's `kind` answer; published to visibility."""
        awaiting = Awaiting(kind=kind, since=workflow.now(), request_id=request_id, prompt=prompt)
        self.progress.awaiting = awaiting
        self.progress.accepts = list(accepts)
        self.publish()
        return awaiting

    def stop_awaiting(self) -> None:
        """No longer waiting for a person."""
        self.progress.awaiting = None
        self.publish()

    def receive(
        self,
        action: str,
        *,
        actor: str,
        decision: str | None = None,
        comment: str = "",
        signal_id: str | None = None,
        request_id: str | None = None,
        answers: str | None = None,
    ) -> bool:
        """Record a signal asking for `action` (whoever sent it); True when it is taken now.

        It is refused (and recorded as such) unless the workflow accepts `action` now; an answer
        to an awaited round (`answers`) must name the current round, or none.
        """
        awaiting = self.progress.awaiting
        note: str | None = None
        if action not in self.progress.accepts:
            if self.progress.closing:
                note = self.progress.closing
            elif answers is not None:
                note = f"not waiting for {answers} (phase: {self.progress.phase})"
            else:
                note = f"{action} is not possible now (phase: {self.progress.phase})"
        elif answers is not None:
            if awaiting is None or awaiting.kind != answers:
                note = f"not waiting for {answers} (phase: {self.progress.phase})"
            elif request_id is not None and request_id != awaiting.request_id:
                note = f"answers {request_id}, but {awaiting.request_id} is awaited"
        round_id = request_id or (awaiting.request_id if awaiting and answers else None)
        self._decision_seq += 1
        self.progress.decisions.append(
            Decision(
                request_id=round_id,
                kind=action,
                decision=decision or action,
                actor=actor,
                comment=comment,
                at=workflow.now(),
                accepted=note is None,
                note=note,
                signal_id=signal_id,
                seq=self._decision_seq,
            )
        )
        del self.progress.decisions[:-MAX_DECISIONS]
        self.on_change()
        return note is None

    def unreported_decisions(self, after_seq: int) -> list[Decision]:
        """Decisions received after `after_seq` (for the status report)."""
        return [d for d in self.progress.decisions if d.seq > after_seq]

    # -- ending ------------------------------------------------------------------------------

    def closing(self, note: str) -> None:
        """The workflow is ending: it takes no more actions, and says why when asked."""
        self.progress.closing = note
        self.accept()

    def finish(self, phase: str, reason: str | None = None) -> None:
        """The workflow has ended in `phase`."""
        self.progress.done = True
        self.progress.awaiting = None
        self.progress.accepts = []
        if reason is not None:
            self.reason = reason
        self.set_phase(phase)

    def publish(self) -> None:
        """Upsert the search attributes when phase, percent or awaiting changed; tell the
        status reporter something changed."""
        self.on_change()
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
