"""Injected faults: which request fails, and how, drawn from a seeded generator.

Each API request draws once; at most one fault applies to it. The same seed and the
same sequence of requests give the same faults.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# New kinds go last: a seed draws the same faults for the kinds it knew before.
FAULT_KINDS = (
    "429",
    "500",
    "502",
    "503",
    "latency",
    "drop_before",
    "drop_after",
    "timeout",
    "late_commit",
)
# Faults answered instead of running the request: nothing is committed.
REFUSALS = frozenset({"429", "500", "502", "503"})
# How long after the client gave up a `late_commit` request runs, unless told otherwise.
DEFAULT_LATE_COMMIT_DELAY_S = 0.2


class FaultSpecError(ValueError):
    """A fault specification names an unknown kind or an impossible probability."""


@dataclass(frozen=True)
class FaultPlan:
    """Probabilities per fault kind (summing to at most 1), plus the latency to add."""

    probabilities: Mapping[str, float] = field(default_factory=dict)
    latency_ms: int = 500

    @classmethod
    def parse(cls, spec: str | None, *, latency_ms: int = 500) -> FaultPlan:
        """Parse `--faults`: a comma list of `kind=probability`, e.g. `429=0.1,drop_after=0.05`."""
        values: dict[str, Any] = {}
        for part in (spec or "").split(","):
            if not part.strip():
                continue
            kind, sep, value = part.partition("=")
            if not sep:
                raise FaultSpecError(f"fault {part.strip()!r} needs a probability: kind=P")
            values[kind.strip()] = value.strip()
        return cls.from_mapping(values, latency_ms=latency_ms)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], *, latency_ms: int = 500) -> FaultPlan:
        probabilities: dict[str, float] = {}
        for kind, raw in values.items():
            if kind not in FAULT_KINDS:
                raise FaultSpecError(
                    f"unknown fault kind {kind!r}; known kinds: {', '.join(FAULT_KINDS)}"
                )
            try:
                p = float(raw)
            except (TypeError, ValueError):
                raise FaultSpecError(f"fault {kind}: {raw!r} is not a probability") from None
            if isinstance(raw, bool) or not 0.0 <= p <= 1.0:
                raise FaultSpecError(f"fault {kind}: probability must be between 0 and 1")
            if p > 0:
                probabilities[kind] = p
        if sum(probabilities.values()) > 1.0 + 1e-9:
            raise FaultSpecError("fault probabilities add up to more than 1")
        if latency_ms < 0:
            raise FaultSpecError("latency must not be negative")
        return cls(probabilities, latency_ms)

    def as_dict(self) -> dict[str, float]:
        return dict(self.probabilities)


def check_delay(value: Any, name: str = "late_commit_delay_s") -> float:
    """A delay in seconds: a finite number, not negative."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FaultSpecError(f"{name} must be a number of seconds")
    if not math.isfinite(value) or value < 0:
        raise FaultSpecError(f"{name} must be a finite number of seconds, not negative")
    return float(value)


class FaultInjector:
    """Draws the fault, if any, for each request; thread-safe and reproducible.

    `late_commit_delay_s` is read by the gateway while a late commit waits, so a
    change applies to late commits still pending too.
    """

    def __init__(
        self,
        plan: FaultPlan | None = None,
        seed: int = 0,
        *,
        late_commit_delay_s: float = DEFAULT_LATE_COMMIT_DELAY_S,
    ) -> None:
        self._lock = threading.Lock()
        self.seed = seed
        self.plan = plan or FaultPlan()
        self.late_commit_delay_s = check_delay(late_commit_delay_s)
        self._rng = random.Random(seed)

    def configure(
        self,
        plan: FaultPlan,
        seed: int | None = None,
        *,
        late_commit_delay_s: float | None = None,
    ) -> None:
        """Replace the plan and restart the sequence (from `seed`, or the current seed);
        change the late commits' delay if given."""
        with self._lock:
            self.plan = plan
            if seed is not None:
                self.seed = seed
            if late_commit_delay_s is not None:
                self.late_commit_delay_s = check_delay(late_commit_delay_s)
            self._rng = random.Random(self.seed)

    def draw(self) -> str | None:
        with self._lock:
            if not self.plan.probabilities:
                return None
            u = self._rng.random()
        cumulative = 0.0
        for kind in FAULT_KINDS:
            cumulative += self.plan.probabilities.get(kind, 0.0)
            if u < cumulative:
                return kind
        return None
