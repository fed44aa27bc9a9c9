"""echowin's rate limits, enforced per team and per class of request.

Fixed windows: a class's window opens at its first request and lasts a minute
(divided by the time scale); within it the team may make `limit` requests of that
class. A refused request does not count.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class RateClass(StrEnum):
    GET = "get"
    SEARCH = "search"
    WRITE = "write"
    BULK = "bulk"


ECHOWIN_LIMITS: dict[RateClass, int] = {
    RateClass.GET: 100,
    RateClass.SEARCH: 30,
    RateClass.WRITE: 60,
    RateClass.BULK: 10,
}
WINDOW_S = 60.0


def classify(method: str, route: str | None, query: dict[str, str]) -> RateClass:
    """The rate-limit class of a request, by what echowin's docs say each class covers."""
    if method in ("GET", "HEAD"):
        if route == "/api/v1/contacts" and (query.get("search") or query.get("tagIds")):
            return RateClass.SEARCH
        return RateClass.GET
    if route == "/api/v1/contacts/bulk":
        return RateClass.BULK
    return RateClass.WRITE


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_at: float  # Unix time at which the window closes
    retry_after_s: float  # 0 when allowed

    def headers(self, time_scale: float) -> list[tuple[bytes, bytes]]:
        """`X-RateLimit-*` (and `Retry-After` when refused) as echowin sends them.

        At time scale 1 times are whole seconds; at a higher scale a window is shorter
        than a second, so they keep three decimals.
        """
        whole = time_scale == 1
        reset = f"{math.ceil(self.reset_at)}" if whole else f"{self.reset_at:.3f}"
        out = [
            (b"x-ratelimit-limit", str(self.limit).encode()),
            (b"x-ratelimit-remaining", str(self.remaining).encode()),
            (b"x-ratelimit-reset", reset.encode()),
        ]
        if not self.allowed:
            out.append((b"retry-after", format_seconds(self.retry_after_s, whole).encode()))
        return out


def format_seconds(seconds: float, whole: bool) -> str:
    """A `Retry-After` value: never zero, whole seconds unless time is scaled."""
    if whole:
        return str(max(1, math.ceil(seconds)))
    return f"{max(seconds, 0.001):.3f}"


class RateLimiter:
    """Fixed-window counters per (team, class); thread-safe."""

    def __init__(
        self,
        limits: dict[RateClass, int] | None = None,
        *,
        time_scale: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        if time_scale <= 0:
            raise ValueError("time scale must be positive")
        self.limits = dict(ECHOWIN_LIMITS if limits is None else limits)
        self.time_scale = time_scale
        self.window_s = WINDOW_S / time_scale
        self._clock = clock
        self._wall = wall
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, RateClass], tuple[float, int]] = {}

    def hit(self, team_id: str, rate_class: RateClass) -> RateDecision:
        """Count one request if the window allows it, and say how things stand."""
        limit = self.limits[rate_class]
        with self._lock:
            now = self._clock()
            start, used = self._windows.get((team_id, rate_class), (now, 0))
            if now - start >= self.window_s:
                start, used = now, 0
            allowed = used < limit
            if allowed:
                used += 1
            self._windows[(team_id, rate_class)] = (start, used)
        left = start + self.window_s - now
        return RateDecision(
            allowed=allowed,
            limit=limit,
            remaining=limit - used,
            reset_at=self._wall() + left,
            retry_after_s=0.0 if allowed else left,
        )

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()
