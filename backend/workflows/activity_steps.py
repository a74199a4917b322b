"""The activity side of a workflow step: injected faults, automatic heartbeats, resumable progress.

Every Flightdeck activity is declared with `@step(name, fault=...)`:

- `FLIGHTDECK_FAIL=<fault>:N|always|invalid` makes it fail on purpose (a demo knob), for every
  step of every domain, without the activity's own code knowing;
- it heartbeats every second while it runs, so a worker killed with kill -9 is noticed within
  the heartbeat timeout (10 s) and another worker retries the step;
- `beat(done, total)` records how far it got: the next heartbeat carries it (the API folds it
  into percent), and `resumed_from()` tells a retry where to go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from temporalio import activity
from temporalio.exceptions import ApplicationError

from backend.domain.progress import HeartbeatProgress
from backend.providers.faults import FaultPlan

HEARTBEAT_EVERY = 1.0
"""Seconds between automatic heartbeats (the worker throttles what reaches the server)."""
INJECTED_FAILURE = "InjectedFailure"
INJECTED_INVALID = "InjectedInvalid"

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


@dataclass
class _Beat:
    details: list[Any] = field(default_factory=list)


_CURRENT: ContextVar[_Beat | None] = ContextVar("flightdeck_step_beat", default=None)


class StepActivities:
    """Base of a domain's activity class: the fault plan `@step` checks, and the activity list."""

    def __init__(self, faults: FaultPlan) -> None:
        self.faults = faults

    def all(self) -> list[Callable[..., Any]]:
        """Every `@step` activity of this object, for the registrar."""
        found = []
        for name in dir(type(self)):
            member = getattr(type(self), name)
            if callable(member) and hasattr(member, "__temporal_activity_definition"):
                found.append(getattr(self, name))
        return found


def step(name: str, *, fault: str | None = None) -> Callable[[F], F]:
    """Declare an activity method `name`; `fault` is its FLIGHTDECK_FAIL step name."""

    def decorate(method: F) -> F:
        @functools.wraps(method)
        async def run(self: StepActivities, *args: Any) -> Any:
            if fault is not None:
                raise_if_injected(self.faults, fault, activity.info().attempt)
            async with _heartbeating():
                return await method(self, *args)

        return cast(F, activity.defn(name=name)(run))

    return decorate


def raise_if_injected(faults: FaultPlan, fault: str, attempt: int) -> None:
    """Fail this attempt when FLIGHTDECK_FAIL asks for it."""
    if faults.is_invalid(fault):
        raise ApplicationError(
            f"{fault} refused as invalid (FLIGHTDECK_FAIL={fault}:invalid)",
            type=INJECTED_INVALID,
            non_retryable=True,
        )
    if faults.should_fail(fault, attempt):
        raise ApplicationError(
            f"{fault} failed on attempt {attempt} (FLIGHTDECK_FAIL)", type=INJECTED_FAILURE
        )


def beat(done: int, total: int) -> None:
    """Record how far the running step got; heartbeats carry it from now on."""
    details = [HeartbeatProgress(done=done, total=total).model_dump()]
    current = _CURRENT.get()
    if current is not None:
        current.details = details
    activity.heartbeat(*details)


def resumed_from() -> int:
    """How far an earlier attempt of this step got (0 on the first attempt)."""
    details = activity.info().heartbeat_details
    if not details:
        return 0
    with contextlib.suppress(ValueError, TypeError):
        return HeartbeatProgress.model_validate(details[0]).done
    return 0


@contextlib.asynccontextmanager
async def _heartbeating() -> AsyncIterator[None]:
    state = _Beat(details=list(activity.info().heartbeat_details))
    token = _CURRENT.set(state)
    ticker = asyncio.create_task(_tick(state))
    try:
        yield
    finally:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
        _CURRENT.reset(token)


async def _tick(state: _Beat) -> None:
    while True:
        activity.heartbeat(*state.details)
        await asyncio.sleep(HEARTBEAT_EVERY)
