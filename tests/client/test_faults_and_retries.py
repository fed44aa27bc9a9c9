"""Each status and fault kind -> what the client does, against the sandbox over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bulk_sync.client import EchowinClient
from bulk_sync.client import models as m
from bulk_sync.config import RetryPolicy
from bulk_sync.errors import (
    AuthRefused,
    FatalApiError,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    ServerError,
    TransportError,
)
from bulk_sync.sandbox import RunningSandbox, SandboxSettings, running_sandbox
from tests.client.conftest import client_for
from tests.conftest import Team, team_on


@pytest.fixture(scope="module")
def faulty() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxSettings(rate_limits=False, timeout_hold_s=30)) as server:
        yield server


@pytest.fixture
def fteam(faulty: RunningSandbox) -> Iterator[Team]:
    with team_on(faulty) as t:
        yield t


def _faults(server: RunningSandbox, plan: dict[str, Any]) -> None:
    response = httpx.put(f"{server.url}/_sandbox/faults", json=plan, headers=server.admin_headers)
    assert response.status_code == 200, response.text


def _bulk_requests_seen(server: RunningSandbox) -> int:
    rows = httpx.get(f"{server.url}/_sandbox/stats", headers=server.admin_headers).json()
    return sum(r["count"] for r in rows["requests"] if r["route"] == "/api/v1/contacts/bulk")


def _total(team: Team, server: RunningSandbox) -> int:
    _faults(server, {})
    count: int = team.http.get("/api/v1/contacts").json()["pagination"]["totalCount"]
    return count


BATCH = [m.NewContact(number=f"+1555000{i:04d}") for i in range(100)]


@pytest.mark.parametrize("kind", ["500", "502", "503"])
def test_a_5xx_to_a_bulk_write_is_outcome_unknown_never_a_blind_retry(
    faulty: RunningSandbox, fteam: Team, kind: str
) -> None:
    """echowin may have applied a POST before failing: the importer reconciles instead."""
    _faults(faulty, {kind: 1.0})
    with client_for(faulty, fteam) as client:
        with pytest.raises(OutcomeUnknown, match=f"HTTP {kind} after the request arrived"):
            client.bulk_create(BATCH)
        assert client.stats.requests == 1 and client.stats.retries == 0
    assert _total(fteam, faulty) == 0  # the sandbox refuses before committing


@pytest.mark.parametrize("kind", ["429", "latency"])
def test_retryable_faults_on_bulk_are_retried_without_duplicates(
    faulty: RunningSandbox, fteam: Team, kind: str
) -> None:
    _faults(faulty, {kind: 0.5, "seed": 3, "latency_ms": 20})
    with client_for(faulty, fteam) as client:
        for _ in range(4):
            assert client.bulk_create(BATCH).created == 100
        if kind != "latency":
            assert client.stats.retries > 0
        assert client.stats.requests == 4 + client.stats.retries
    assert _total(fteam, faulty) == 400


@pytest.mark.parametrize("kind", ["500", "503", "drop_before", "drop_after", "timeout", "429"])
def test_reads_survive_every_fault(faulty: RunningSandbox, fteam: Team, kind: str) -> None:
    _faults(faulty, {kind: 0.4, "seed": 11})
    timeout = httpx.Timeout(5.0, read=0.5)
    with client_for(faulty, fteam, timeout=timeout) as client:
        for _ in range(8):
            assert len(client.tags()) == 3
        assert client.stats.retries > 0
    _faults(faulty, {})


@pytest.mark.parametrize("kind", ["drop_before", "drop_after", "timeout"])
def test_lost_bulk_responses_are_outcome_unknown_and_never_resent(
    faulty: RunningSandbox, fteam: Team, kind: str
) -> None:
    before = _bulk_requests_seen(faulty)
    _faults(faulty, {kind: 1.0})
    timeout = httpx.Timeout(5.0, read=0.5)
    with client_for(faulty, fteam, timeout=timeout) as client:
        with pytest.raises(OutcomeUnknown, match="may have been applied"):
            client.bulk_create(BATCH)
        assert client.stats.requests == 1 and client.stats.retries == 0
    committed = _total(fteam, faulty)
    # drop_before never ran the request; the other two committed it. Either way, once.
    assert committed == (0 if kind == "drop_before" else 100)
    if kind != "drop_before":
        assert _bulk_requests_seen(faulty) == before + 1


def test_lost_create_is_outcome_unknown_too(faulty: RunningSandbox, fteam: Team) -> None:
    _faults(faulty, {"drop_after": 1.0})
    with client_for(faulty, fteam) as client, pytest.raises(OutcomeUnknown):
        client.create_contact(m.NewContact(number="5551234567"))
    assert _total(fteam, faulty) == 1


@pytest.mark.parametrize(("kind", "error"), [("503", ServerError), ("429", RateLimited)])
def test_retries_are_bounded(
    faulty: RunningSandbox, fteam: Team, kind: str, error: type[Exception]
) -> None:
    _faults(faulty, {kind: 1.0})
    policy = RetryPolicy(
        max_attempts=3,
        backoff_initial_s=0.01,
        backoff_max_s=0.02,
        retry_after_floor_s=0.01,
        retry_after_cap_s=0.02,
    )
    with client_for(faulty, fteam, policy=policy) as client, pytest.raises(error):
        if kind == "429":
            client.bulk_create(BATCH)  # a 429 was never applied: retried, even a POST
        else:
            client.tags()
    assert client.stats.requests == 3 and client.stats.retries == 2
    assert _total(fteam, faulty) == 0


def test_an_unreachable_server_is_a_transport_error(fteam: Team) -> None:
    import socket

    from bulk_sync.config import ApiKey, ApiSettings

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    policy = RetryPolicy(max_attempts=2, backoff_initial_s=0.01, backoff_max_s=0.01)
    settings = ApiSettings(f"http://127.0.0.1:{port}", ApiKey("k"))
    with EchowinClient(settings, limits=None, policy=policy) as client:
        with pytest.raises(TransportError, match="could not reach"):
            client.bulk_create(BATCH)  # not sent at all: safe to retry, and retried
        assert client.stats.requests == 2


@pytest.mark.parametrize(
    ("status", "error", "attempts"),
    [(504, ServerError, 3), (403, AuthRefused, 1), (418, FatalApiError, 1), (404, NotFound, 1)],
)
def test_statuses_the_sandbox_cannot_make(
    status: int, error: type[Exception], attempts: int
) -> None:
    """Unit test of the status rule, on a mock transport: what retries, what does not."""
    calls = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(status, json={"error": "nope"})

    from bulk_sync.config import ApiKey, ApiSettings

    policy = RetryPolicy(max_attempts=3, backoff_initial_s=0.001, backoff_max_s=0.001)
    settings = ApiSettings("http://127.0.0.1:1", ApiKey("k"))
    with (
        EchowinClient(
            settings, limits=None, policy=policy, transport=httpx.MockTransport(answer)
        ) as client,
        pytest.raises(error),
    ):
        client.tags()
    assert len(calls) == attempts


def _mock_client(answer: Any, policy: RetryPolicy, **options: Any) -> EchowinClient:
    from bulk_sync.config import ApiKey, ApiSettings

    settings = ApiSettings("http://127.0.0.1:1", ApiKey("k"))
    return EchowinClient(settings, policy=policy, transport=httpx.MockTransport(answer), **options)


@pytest.mark.parametrize(
    ("headers", "waits"),
    [
        ({"retry-after": "3"}, [3.0, 3.0]),
        ({"x-ratelimit-reset": "RESET"}, [20.0, 20.0]),  # until the window reopens
        ({}, [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0]),  # nothing said: backs off to the window
    ],
)
def test_a_429_waits_for_retry_after_else_the_reset_else_backs_off_to_the_window(
    headers: dict[str, str], waits: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 429 that names no time used to give up after 7 s; it now outlasts the window."""
    import time

    now = time.time()
    headers = {k: str(now + 20) if v == "RESET" else v for k, v in headers.items()}
    slept: list[float] = []
    monkeypatch.setattr("bulk_sync.client.http.EchowinClient._sleep", lambda _, s: slept.append(s))

    def answer(request: httpx.Request) -> httpx.Response:
        if len(slept) < len(waits):
            return httpx.Response(429, json={"error": "slow down"}, headers=headers)
        return httpx.Response(200, json={"data": []})

    with _mock_client(answer, RetryPolicy(max_attempts=8), limits=None) as client:
        assert client.tags() == []
    assert slept == pytest.approx(waits, abs=0.5)


def test_a_stop_request_ends_a_rate_limit_wait_at_once_and_sends_nothing() -> None:
    from bulk_sync.config import RateLimits
    from bulk_sync.errors import Interrupted

    sent: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request.method)
        return httpx.Response(200, json={"data": []})

    limits = RateLimits(get=1, window_s=3600)  # the second read waits an hour
    asked = iter([False, True])  # asked to stop during that wait
    with _mock_client(answer, RetryPolicy(), limits=limits) as client:
        with client.stopping_when(lambda: next(asked, True)):
            client.tags()
            with pytest.raises(Interrupted, match="nothing more was sent"):
                client.tags()
        # the hour was never waited; what was (a moment) is counted, not lost
        assert 0 < client.stats.rate_limit_wait_s < 60
    assert sent == ["GET"]


def test_no_write_leaves_after_a_stop_request() -> None:
    from bulk_sync.errors import Interrupted

    sent: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request.method)
        return httpx.Response(200, json={"data": []})

    with (
        _mock_client(answer, RetryPolicy(), limits=None) as client,
        client.stopping_when(lambda: True),
    ):
        with pytest.raises(Interrupted):
            client.bulk_create(BATCH)
        assert client.tags() == []  # reads still go: they change nothing
    assert sent == ["GET"]
