"""Demo failure injection (`FLIGHTDECK_FAIL`): make named steps fail on purpose, for walkthroughs.

Syntax: comma-separated `step:N` (fail the first N attempts), `step:always`, or `step:invalid`
(a non-retryable failure), for any step of any domain (each domain lists its step names).
Example: `FLIGHTDECK_FAIL=validation:2,dns:always`. A demo knob only: the providers' real
failure paths exist without it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FaultPlan:
    """Which steps fail, and how often."""

    attempts: dict[str, int] = field(default_factory=dict)
    invalid: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, text: str) -> FaultPlan:
        """Parse `step:N,step:always,step:invalid`; ValueError with a readable message."""
        attempts: dict[str, int] = {}
        invalid: set[str] = set()
        for part in filter(None, (p.strip() for p in text.split(","))):
            step, sep, how = part.partition(":")
            if not sep or not step:
                raise ValueError(f"FLIGHTDECK_FAIL: expected step:N, got {part!r}")
            if how == "always":
                attempts[step] = 1_000_000
            elif how == "invalid":
                invalid.add(step)
            elif how.isdigit():
                attempts[step] = int(how)
            else:
                raise ValueError(f"FLIGHTDECK_FAIL: {part!r}: use a count, 'always' or 'invalid'")
        return cls(attempts=attempts, invalid=frozenset(invalid))

    def steps(self) -> set[str]:
        """Every step the plan names."""
        return set(self.attempts) | set(self.invalid)

    def is_invalid(self, step: str) -> bool:
        """True when the step should fail as not retryable."""
        return step in self.invalid

    def should_fail(self, step: str, attempt: int) -> bool:
        """True when this attempt (1-based) of the step should fail."""
        return attempt <= self.attempts.get(step, 0)
