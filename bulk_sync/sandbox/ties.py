"""Unstable ties: contacts that tie on the sort key, in a fresh order on each list request.

echowin sorts by one column and says nothing of ties; a database without a tie
breaker may return tied rows in any order, and in another order on the next request,
so that paging through them can repeat some contacts and skip others. By default the
sandbox breaks ties by creation order (stable paging); with unstable ties on, each
list request draws a new total order on the rows instead: consistent within that one
request (the page and the query that finds it agree), different on the next.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Any

# Rising primes just above 2**31: each step below maps [0, p_i) one to one into
# [0, p_(i+1)), and x * a + b stays under 2**63, where SQLite integers would overflow.
_PRIMES = (2_147_483_647, 2_147_483_659, 2_147_483_693)


@dataclass(frozen=True)
class TieOrder:
    """A random total order on `seq` (the contacts' rowid), for one request.

    Three affine maps modulo different primes: one to one for every seq under 2**31,
    so no two rows share a key, and cheap for SQLite to compute per row.
    """

    steps: tuple[tuple[int, int, int], ...]

    @classmethod
    def draw(cls, rng: random.Random) -> TieOrder:
        return cls(tuple((rng.randrange(1, p), rng.randrange(p), p) for p in _PRIMES))

    def sql(self, column: str = "c.seq") -> str:
        """An SQL expression of `column` that orders rows this request's way.

        Only integers drawn here go into the text, never anything a client sent.
        """
        expr = column
        for a, b, p in self.steps:
            expr = f"(({expr}) * {a:d} + {b:d}) % {p:d}"
        return expr


class UnstableTies:
    """Whether ties are unstable, and the seeded sequence of per-request orders."""

    def __init__(self, enabled: bool = False, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self.enabled = enabled
        self.seed = seed
        self._rng = random.Random(seed)

    def configure(self, enabled: bool | None = None, seed: int | None = None) -> None:
        """Turn unstable ties on or off and restart the sequence (from `seed`, or the
        current seed)."""
        with self._lock:
            if enabled is not None:
                self.enabled = enabled
            if seed is not None:
                self.seed = seed
            self._rng = random.Random(self.seed)

    def draw(self) -> TieOrder | None:
        """The order for one list request; None when ties are stable."""
        with self._lock:
            return TieOrder.draw(self._rng) if self.enabled else None

    def view(self) -> dict[str, Any]:
        return {"unstable_ties": self.enabled, "tie_seed": self.seed}
