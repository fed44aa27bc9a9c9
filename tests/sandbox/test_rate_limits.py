"""echowin's rate limits per team and class, at a time scale that makes a minute 2 s."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from bulk_sync.sandbox import RunningSandbox, SandboxSettings, running_sandbox
from tests.conftest import Team, new_team, team_on

TIME_SCALE = 30.0  # windows of 2 s: long enough to fill, short enough to wait out
WINDOW_S = 60 / TIME_SCALE


@pytest.fixture(scope="module")
def limited() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxSettings(time_scale=TIME_SCALE)) as server:
        yield server


@pytest.fixture
def lteam(limited: RunningSandbox) -> Iterator[Team]:
    with team_on(limited) as t:
        yield t


def _bulk(team: Team) -> httpx.Response:
    return team.http.post("/api/v1/contacts/bulk", json={"contacts": [{"number": "5550001"}]})


def _limit_headers(response: httpx.Response) -> tuple[int, int, float]:
    h = response.headers
    return (
        int(h["X-RateLimit-Limit"]),
        int(h["X-RateLimit-Remaining"]),
        float(h["X-RateLimit-Reset"]),
    )


@pytest.mark.parametrize(
    ("method", "path", "params", "limit"),
    [
        ("GET", "/api/v1/contacts", {}, 100),
        ("GET", "/api/v1/tags", {}, 100),
        ("GET", "/api/v1/contacts", {"search": "x"}, 30),
        ("GET", "/api/v1/contacts", {"tagIds": "x"}, 30),
        ("POST", "/api/v1/tags", {}, 60),
        ("DELETE", "/api/v1/contacts/nope", {}, 60),
        ("POST", "/api/v1/contacts/bulk", {}, 10),
    ],
)
def test_every_response_carries_the_limit_of_its_class(
    lteam: Team, method: str, path: str, params: dict[str, str], limit: int
) -> None:
    body = {"name": "T"} if path.endswith("tags") else {"contacts": [{"number": "1"}]}
    response = lteam.http.request(
        method, path, params=params, json=body if method == "POST" else None
    )
    assert response.status_code < 500
    got_limit, remaining, reset = _limit_headers(response)
    assert (got_limit, remaining) == (limit, limit - 1)
    assert time.time() - 1 < reset <= time.time() + WINDOW_S + 1


def test_bulk_over_the_limit_gets_429_with_retry_after(lteam: Team) -> None:
    statuses = [_bulk(lteam).status_code for _ in range(10)]
    assert statuses == [201] * 10
    refused = _bulk(lteam)
    assert refused.status_code == 429
    assert refused.json()["error"].startswith("Rate limit exceeded.")
    assert 0 < float(refused.headers["Retry-After"]) <= WINDOW_S
    assert _limit_headers(refused)[:2] == (10, 0)
    # refused requests commit nothing and do not count
    total = lteam.http.get("/api/v1/contacts").json()["pagination"]["totalCount"]
    assert total == 10


def test_classes_and_teams_have_separate_windows(limited: RunningSandbox, lteam: Team) -> None:
    for _ in range(10):
        _bulk(lteam)
    assert _bulk(lteam).status_code == 429
    assert lteam.http.get("/api/v1/tags").status_code == 200
    assert lteam.http.post("/api/v1/tags", json={"name": "Still writable"}).status_code == 201
    other = new_team(limited)
    assert _bulk(other).status_code == 201
    other.http.close()


def test_search_has_its_own_smaller_limit(lteam: Team) -> None:
    statuses = [
        lteam.http.get("/api/v1/contacts", params={"search": "a"}).status_code for _ in range(31)
    ]
    assert statuses == [200] * 30 + [429]
    assert lteam.http.get("/api/v1/contacts").status_code == 200


def test_window_reopens_after_retry_after(lteam: Team) -> None:
    for _ in range(10):
        _bulk(lteam)
    refused = _bulk(lteam)
    assert refused.status_code == 429
    time.sleep(float(refused.headers["Retry-After"]) + 0.05)
    again = _bulk(lteam)
    assert again.status_code == 201
    assert _limit_headers(again)[:2] == (10, 9)


def test_no_limits_and_no_headers_when_off(team: Team) -> None:
    statuses = {_bulk(team).status_code for _ in range(15)}
    assert statuses == {201}
    assert "X-RateLimit-Limit" not in team.http.get("/api/v1/tags").headers
