"""Pacing: the buckets' arithmetic on a fake clock, and no 429 from a real limiter."""

from __future__ import annotations

import httpx

from bulk_sync.client import Pacer, RateClass
from bulk_sync.client import models as m
from bulk_sync.config import RateLimits
from bulk_sync.sandbox import SandboxSettings, running_sandbox
from tests.client.conftest import client_for
from tests.conftest import team_on


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    def wall(self) -> float:
        return self.now + 1_700_000_000

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _pacer(t: FakeTime, **limits: int) -> Pacer:
    return Pacer(RateLimits(**limits), clock=t.clock, wall=t.wall, sleep=t.sleep)


def test_without_headers_a_class_bursts_its_limit_then_refills_steadily() -> None:
    t = FakeTime()
    pacer = _pacer(t, bulk=10)
    waits = [pacer.acquire(RateClass.BULK) for _ in range(12)]
    assert waits[:10] == [0.0] * 10
    assert waits[10:] == [6.0, 6.0]  # 10 a minute: one every 6 s
    assert pacer.acquire(RateClass.GET) == 0.0  # classes do not share


def test_headers_win_spent_window_waits_for_reset_then_full_again() -> None:
    t = FakeTime()
    pacer = _pacer(t, bulk=10)
    pacer.acquire(RateClass.BULK)
    pacer.observe(
        RateClass.BULK,
        {
            "X-RateLimit-Limit": "10",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(t.wall() + 42),
        },
    )
    waited = pacer.acquire(RateClass.BULK)
    assert 42 <= waited <= 42.01
    pacer.observe(
        RateClass.BULK,
        {
            "x-ratelimit-limit": "10",
            "x-ratelimit-remaining": "9",
            "x-ratelimit-reset": str(t.wall() + 60),
        },
    )
    assert [pacer.acquire(RateClass.BULK) for _ in range(9)] == [0.0] * 9
    assert pacer.acquire(RateClass.BULK) > 59


def test_a_429_stops_the_class_for_its_retry_after() -> None:
    t = FakeTime()
    pacer = _pacer(t)
    pacer.acquire(RateClass.WRITE)
    pacer.refused(RateClass.WRITE, 2.5)
    assert pacer.acquire(RateClass.WRITE) == 2.5
    assert pacer.acquire(RateClass.GET) == 0.0


def test_the_client_meets_no_429_at_the_ceiling() -> None:
    """Bulk, GET and search at their limits against echowin's limiter, 60x faster."""
    scale = 60.0
    with running_sandbox(SandboxSettings(time_scale=scale)) as server, team_on(server) as team:
        limits = RateLimits().scaled(scale)
        with client_for(server, team, limits=limits) as client:
            for b in range(25):
                batch = [m.NewContact(number=f"+1555{b:03d}{i:04d}") for i in range(100)]
                assert client.bulk_create(batch).created == 100
            assert sum(1 for _ in client.iter_contacts()) == 2500
            for _ in range(40):
                client.list_contacts(search="555", limit=1)
            assert client.stats.rate_limited == 0
            assert client.stats.retries == 0
        stats = httpx.get(f"{server.url}/_sandbox/stats", headers=server.admin_headers).json()
        assert not [r for r in stats["requests"] if r["status"] == 429]
