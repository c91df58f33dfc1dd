"""The load test's capacity mode (``--capacity``): the highest request rate served within the
latency limit.

After the sign-ins, the directors send their requests without think time, a few of them at a time:
a step holds N users busy for a window (after a moment to settle), and records the rate achieved,
the latency percentiles, the errors and the CPU used. The steps go up (2, 4, 6 … users) until two
in a row miss the limit (p95 over 200 ms or an error): more users then only queue. The capacity is
the highest rate among the steps that kept p95 ≤ 200 ms with no error.

Pure functions only: the locustfile runs the steps, benchmarks/loadtest/run.py prints them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

P95_LIMIT_MS = 200.0
# The goal of issue 20 on the 2-core machine: requests a second at p95 ≤ 200 ms.
GOAL_RPS = 100.0
DEFAULT_STEPS = (2, 4, 6, 8, 10, 12, 16, 20, 24, 32)
# Steps in a row over the limit before the search stops.
PATIENCE = 2


@dataclass(frozen=True)
class Step:
    """One step: ``users`` without think time for ``seconds``."""

    users: int
    seconds: float
    requests: int
    failures: int
    p50: float
    p95: float
    p99: float
    # CPU seconds used in the window, by process tree (cpu.snapshot's names).
    cpu: Mapping[str, float] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def server_cpu_ms(self) -> float:
        """gunicorn + PostgreSQL CPU per request, ms."""
        server = self.cpu.get("gunicorn", 0.0) + self.cpu.get("postgres", 0.0)
        return server * 1000 / self.requests if self.requests else 0.0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Step:
        return cls(
            users=int(data["users"]),
            seconds=float(data["seconds"]),
            requests=int(data["requests"]),
            failures=int(data["failures"]),
            p50=float(data["p50"]),
            p95=float(data["p95"]),
            p99=float(data["p99"]),
            cpu=dict(data.get("cpu", {})),
        )


def parse_steps(text: str, users: int) -> list[int]:
    """``"2,4,8"`` → [2, 4, 8]: ascending, without repeats, each at most ``users`` (the directors
    signed in); a step above that becomes ``users``."""
    try:
        values = [int(item) for item in text.split(",") if item.strip()]
    except ValueError:
        raise ValueError(f"steps are user counts separated by commas, not {text!r}") from None
    if not values or min(values) < 1:
        raise ValueError(f"steps are user counts of at least 1, not {text!r}")
    return sorted({min(value, users) for value in values})


def passes(step: Step, limit_ms: float = P95_LIMIT_MS) -> bool:
    """Within the limit: requests served, none failed, p95 ≤ ``limit_ms``."""
    return step.requests > 0 and step.failures == 0 and step.p95 <= limit_ms


def should_stop(steps: Sequence[Step], limit_ms: float = P95_LIMIT_MS) -> bool:
    """True once the last PATIENCE steps all missed the limit (one miss may be noise)."""
    recent = steps[-PATIENCE:]
    return len(recent) == PATIENCE and not any(passes(step, limit_ms) for step in recent)


def best(steps: Sequence[Step], limit_ms: float = P95_LIMIT_MS) -> Step | None:
    """The step with the highest rate among those within the limit (the fewer users on a tie);
    None when none is."""
    within = [step for step in steps if passes(step, limit_ms)]
    return max(within, key=lambda step: (step.rps, -step.users), default=None)
