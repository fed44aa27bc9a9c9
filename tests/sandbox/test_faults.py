"""Injected faults over real HTTP: what the client sees, and what was committed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bulk_sync.sandbox import (
    FaultPlan,
    FaultSpecError,
    RunningSandbox,
    SandboxSettings,
    running_sandbox,
)
from tests.conftest import Team, team_on


@pytest.fixture(scope="module")
def faulty() -> Iterator[RunningSandbox]:
    settings = SandboxSettings(rate_limits=False, timeout_hold_s=30)
    with running_sandbox(settings) as server:
        yield server


@pytest.fixture
def fteam(faulty: RunningSandbox) -> Iterator[Team]:
    with team_on(faulty, timeout=httpx.Timeout(5.0, read=1.0)) as t:
        yield t


def _set_faults(server: RunningSandbox, faults: dict[str, Any]) -> dict[str, Any]:
    response = httpx.put(f"{server.url}/_sandbox/faults", json=faults, headers=server.admin_headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _committed(team: Team, server: RunningSandbox) -> int:
    _set_faults(server, {})
    total: int = team.http.get("/api/v1/contacts").json()["pagination"]["totalCount"]
    return total


BULK = {"contacts": [{"number": "5550001"}, {"number": "5550002"}]}


@pytest.mark.parametrize(
    ("kind", "status", "committed"),
    [("429", 429, 0), ("500", 500, 0), ("502", 502, 0), ("503", 503, 0), ("latency", 201, 2)],
)
def test_answered_faults(
    faulty: RunningSandbox, fteam: Team, kind: str, status: int, committed: int
) -> None:
    _set_faults(faulty, {kind: 1.0, "latency_ms": 300})
    started = time.monotonic()
    response = fteam.http.post("/api/v1/contacts/bulk", json=BULK)
    elapsed = time.monotonic() - started
    assert response.status_code == status
    if kind == "429":
        assert float(response.headers["Retry-After"]) > 0
        assert response.json()["error"].startswith("Rate limit exceeded.")
    elif status >= 500:
        assert set(response.json()) == {"error"}
    else:
        assert elapsed >= 0.3  # the added latency is a floor, never a ceiling
    assert _committed(fteam, faulty) == committed


@pytest.mark.parametrize(
    ("kind", "error", "committed"),
    [
        # A closed connection shows as EOF or, when request bytes were still unread,
        # as a reset: either way no response came.
        ("drop_before", (httpx.RemoteProtocolError, httpx.ReadError), 0),
        ("drop_after", (httpx.RemoteProtocolError, httpx.ReadError), 2),
        ("timeout", httpx.ReadTimeout, 2),
    ],
)
def test_lost_responses(
    faulty: RunningSandbox,
    fteam: Team,
    kind: str,
    error: type[Exception] | tuple[type[Exception], ...],
    committed: int,
) -> None:
    _set_faults(faulty, {kind: 1.0})
    with pytest.raises(error):
        fteam.http.post("/api/v1/contacts/bulk", json=BULK)
    assert _committed(fteam, faulty) == committed


def test_timeout_holds_until_the_client_gives_up(faulty: RunningSandbox, fteam: Team) -> None:
    _set_faults(faulty, {"timeout": 1.0})
    patient = httpx.Client(
        base_url=faulty.url,
        headers={"X-API-Key": fteam.api_key},
        timeout=httpx.Timeout(5.0, read=2.5),
    )
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        patient.get("/api/v1/tags")
    assert time.monotonic() - started >= 2.5
    patient.close()
    _set_faults(faulty, {})


def test_same_seed_same_faults(faulty: RunningSandbox, fteam: Team) -> None:
    def run(seed: int) -> list[int]:
        _set_faults(faulty, {"500": 0.3, "503": 0.3, "seed": seed})
        statuses = [fteam.http.get("/api/v1/tags").status_code for _ in range(40)]
        _set_faults(faulty, {})
        return statuses

    first, again, other = run(7), run(7), run(8)
    assert first == again
    assert first != other
    assert {200, 500, 503} <= set(first)


def test_faults_spare_the_control_api_and_are_counted(faulty: RunningSandbox, fteam: Team) -> None:
    _set_faults(faulty, {"500": 1.0})
    fteam.http.get("/api/v1/tags")
    stats = httpx.get(f"{faulty.url}/_sandbox/stats", headers=faulty.admin_headers)
    assert stats.status_code == 200
    counts = {f["kind"]: f["count"] for f in stats.json()["faults"]}
    assert counts.get("500", 0) >= 1
    _set_faults(faulty, {})


@pytest.mark.parametrize(
    "body",
    [
        {"nope": 0.1},
        {"500": 1.5},
        {"500": -0.1},
        {"500": "often"},
        {"500": 0.6, "503": 0.6},
        {"seed": "x"},
        {"latency_ms": -1},
    ],
)
def test_bad_fault_settings_are_400(faulty: RunningSandbox, body: dict[str, Any]) -> None:
    response = httpx.put(f"{faulty.url}/_sandbox/faults", json=body, headers=faulty.admin_headers)
    assert response.status_code == 400
    assert response.json()["error"]


def test_faults_from_the_command_line_spec() -> None:
    plan = FaultPlan.parse("429=0.1, drop_after=0.05,timeout=0", latency_ms=50)
    assert plan.as_dict() == {"429": 0.1, "drop_after": 0.05}
    assert plan.latency_ms == 50
    assert FaultPlan.parse("").as_dict() == {}
    for bad in ("429", "explode=0.1", "500=2", "500=0.7,502=0.7"):
        with pytest.raises(FaultSpecError):
            FaultPlan.parse(bad)


def test_faults_set_at_start_apply() -> None:
    settings = SandboxSettings(rate_limits=False, faults=FaultPlan.parse("503=1"))
    with running_sandbox(settings) as server:
        response = httpx.get(f"{server.url}/api/v1/tags", headers={"X-API-Key": "sandbox"})
        assert response.status_code == 503
