"""Injected faults: which request fails, and how, drawn from a seeded generator.

Each API request draws once; at most one fault applies to it. The same seed and the
same sequence of requests give the same faults.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

FAULT_KINDS = ("429", "500", "502", "503", "latency", "drop_before", "drop_after", "timeout")
# Faults answered instead of running the request: nothing is committed.
REFUSALS = frozenset({"429", "500", "502", "503"})


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


class FaultInjector:
    """Draws the fault, if any, for each request; thread-safe and reproducible."""

    def __init__(self, plan: FaultPlan | None = None, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self.seed = seed
        self.plan = plan or FaultPlan()
        self._rng = random.Random(seed)

    def configure(self, plan: FaultPlan, seed: int | None = None) -> None:
        """Replace the plan and restart the sequence (from `seed`, or the current seed)."""
        with self._lock:
            self.plan = plan
            if seed is not None:
                self.seed = seed
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
