"""Pacing: one token bucket per rate-limit class, corrected by what the server says.

Before the server has spoken, a class may spend its documented limit at once and then
refills continuously (limit per window). Once a response carries `X-RateLimit-*`, the
server's count wins: the bucket holds what `Remaining` says, and when it is spent the
class waits for `Reset`, then has the full limit again. That is how a client runs at
the ceiling of a fixed-window limiter without ever meeting a 429; a 429 (a limiter we
misjudged, or another client on the same team) stops the class for its `Retry-After`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from ..config import RateLimits

# Sleep this much past a reported reset, so that rounding and the trip across the
# network never land a request a hair before the server's window closes.
RESET_MARGIN_S = 0.005


class RateClass(StrEnum):
    GET = "get"
    SEARCH = "search"
    WRITE = "write"
    BULK = "bulk"


@dataclass
class _Bucket:
    limit: int
    window_s: float
    tokens: float
    updated: float
    reset_at: float | None = None  # monotonic time the server's window reopens
    in_flight: int = 0


class Pacer:
    """Decides when each request may go; thread-safe. Waits are returned, not hidden."""

    def __init__(
        self,
        limits: RateLimits,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        on_wait: Callable[[RateClass, float], None] | None = None,
    ) -> None:
        self._clock, self._wall, self._sleep = clock, wall, sleep
        self._on_wait = on_wait  # told of each wait before it starts (progress, logs)
        self._lock = threading.Lock()
        now = clock()
        per_class = {
            RateClass.GET: limits.get,
            RateClass.SEARCH: limits.search,
            RateClass.WRITE: limits.write,
            RateClass.BULK: limits.bulk,
        }
        self._buckets = {
            cls: _Bucket(limit, limits.window_s, float(limit), now)
            for cls, limit in per_class.items()
        }

    def acquire(self, rate_class: RateClass) -> float:
        """Block until a request of this class may go; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                bucket = self._buckets[rate_class]
                wait = self._wait_for(bucket)
                if wait <= 0:
                    bucket.tokens -= 1
                    bucket.in_flight += 1
                    return waited
            if self._on_wait is not None:
                self._on_wait(rate_class, wait)
            self._sleep(wait)
            waited += wait

    def _wait_for(self, bucket: _Bucket) -> float:
        now = self._clock()
        if bucket.reset_at is not None:
            if now < bucket.reset_at:
                return bucket.reset_at - now if bucket.tokens < 1 else 0.0
            bucket.reset_at, bucket.tokens = None, float(bucket.limit)
        else:
            rate = bucket.limit / bucket.window_s
            bucket.tokens = min(bucket.limit, bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            return 0.0
        return (1 - bucket.tokens) * bucket.window_s / bucket.limit

    def observe(self, rate_class: RateClass, headers: Mapping[str, str]) -> None:
        """Settle one request: count it done, and believe the server's rate-limit headers."""
        with self._lock:
            bucket = self._buckets[rate_class]
            bucket.in_flight = max(0, bucket.in_flight - 1)
            parsed = _parse(headers)
            if parsed is None:
                return
            limit, remaining, reset_unix = parsed
            now = self._clock()
            reset_in = min(max(reset_unix - self._wall(), 0.0), bucket.window_s)
            bucket.limit = limit
            # requests still in flight were counted by us, not yet by the server
            bucket.tokens = max(0.0, remaining - bucket.in_flight)
            bucket.reset_at = now + reset_in + RESET_MARGIN_S
            bucket.updated = now

    def refused(self, rate_class: RateClass, retry_after_s: float) -> None:
        """A 429: nothing of this class goes before `retry_after_s` has passed."""
        with self._lock:
            bucket = self._buckets[rate_class]
            bucket.in_flight = max(0, bucket.in_flight - 1)
            bucket.tokens = 0.0
            until = self._clock() + retry_after_s
            bucket.reset_at = max(bucket.reset_at or 0.0, until)


def _parse(raw: Mapping[str, str]) -> tuple[int, int, float] | None:
    headers = {k.lower(): v for k, v in raw.items()}
    try:
        limit = int(headers["x-ratelimit-limit"])
        remaining = int(headers["x-ratelimit-remaining"])
        reset = float(headers["x-ratelimit-reset"])
    except (KeyError, ValueError):
        return None
    if limit <= 0 or remaining < 0:
        return None
    return limit, remaining, reset
