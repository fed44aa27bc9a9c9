"""The retry policy, in one place, on tenacity.

Retried: 429 (after its Retry-After or X-RateLimit-Reset, floored and capped; with
neither, exponential backoff up to the limit's window), 500/502/503/504 to a read
or an idempotent write, and transport errors that cannot have changed anything
(exponential backoff with full jitter). Never retried: an OutcomeUnknown write (a
lost answer, or a 5xx to a POST: the server may have applied it), or any fatal error. Bounded by
attempts and by total time; every retry and every second waited is counted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from ..config import RetryPolicy
from ..errors import RateLimited, RetryableError

T = TypeVar("T")


@dataclass
class ClientStats:
    """What the client did, for reports: requests sent, retries, time spent waiting."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0  # 429 responses received
    rate_limit_wait_s: float = 0.0  # pacing waits and 429 waits
    backoff_wait_s: float = 0.0  # waits after 5xx and transport errors
    writes: int = 0  # requests other than GET that left: something may have changed
    by_status: dict[int, int] = field(default_factory=dict)


def run_with_retries(
    policy: RetryPolicy,
    stats: ClientStats,
    attempt: Callable[[], T],
    *,
    window_s: float = 60.0,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[str], None] | None = None,
    on_rate_wait: Callable[[float], None] | None = None,
) -> T:
    """Call `attempt` until it returns, raises a non-retryable error, or the policy ends.

    `window_s` bounds the backoff after a 429 that says nothing of when to come back;
    `sleep` may raise to stop a wait (Ctrl-C); `on_retry` hears of each retry as it
    happens ("... trying again in 4 s (attempt 2 of 8)"); `on_rate_wait` hears of the
    wait after a 429 before it starts, as the pacer's own waits are told.
    """
    backoff = wait_random_exponential(multiplier=policy.backoff_initial_s, max=policy.backoff_max_s)

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RateLimited):
            if error.retry_after_s is None:  # 1, 2, 4, ... s: past the window within 7
                return float(min(2 ** (state.attempt_number - 1), window_s))
            return min(
                max(error.retry_after_s, policy.retry_after_floor_s), policy.retry_after_cap_s
            )
        return float(backoff(state))

    def count(state: RetryCallState) -> None:
        seconds = state.next_action.sleep if state.next_action else 0.0
        stats.retries += 1
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RateLimited):
            stats.rate_limit_wait_s += seconds
        else:
            stats.backoff_wait_s += seconds
        if on_retry is not None:
            on_retry(
                f"{error}; trying again in {seconds:.0f} s "
                f"(attempt {state.attempt_number + 1} of {policy.max_attempts})"
            )
        if isinstance(error, RateLimited) and on_rate_wait is not None:
            on_rate_wait(seconds)

    retrying = Retrying(
        retry=retry_if_exception_type(RetryableError),
        stop=stop_after_attempt(policy.max_attempts) | stop_after_delay(policy.max_total_s),
        wait=wait,
        before_sleep=count,
        sleep=sleep,
        reraise=True,
    )
    return retrying(attempt)
