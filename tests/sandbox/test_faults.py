"""Injected faults over real HTTP: what the client sees, and what was committed."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
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
        {"late_commit_delay_s": -0.5},
        {"late_commit_delay_s": "soon"},
        {"late_commit_delay_s": True},
    ],
)
def test_bad_fault_settings_are_400(faulty: RunningSandbox, body: dict[str, Any]) -> None:
    response = httpx.put(f"{faulty.url}/_sandbox/faults", json=body, headers=faulty.admin_headers)
    assert response.status_code == 400
    assert response.json()["error"]


def test_faults_from_the_command_line_spec() -> None:
    plan = FaultPlan.parse("429=0.1, drop_after=0.05,timeout=0,late_commit=0.2", latency_ms=50)
    assert plan.as_dict() == {"429": 0.1, "drop_after": 0.05, "late_commit": 0.2}
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


# -- late_commit: no response; the write commits only after the client has given up ------


def _eventually(check: Callable[[], bool], what: str, within_s: float = 15.0) -> None:
    """Poll `check` until it holds; fail after `within_s` (a bound, never a wait)."""
    deadline = time.monotonic() + within_s
    while not check():
        assert time.monotonic() < deadline, f"not within {within_s} s: {what}"
        time.sleep(0.02)


def _stats(server: RunningSandbox) -> dict[str, Any]:
    response = httpx.get(f"{server.url}/_sandbox/stats", headers=server.admin_headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _contacts_of(server: RunningSandbox, team: Team) -> int:
    """The team's contacts as the control API counts them: no API request, no fault."""
    count: int = next(t["contacts"] for t in _stats(server)["teams"] if t["teamId"] == team.id)
    return count


def _answered(server: RunningSandbox, method: str, route: str, status: int) -> int:
    return sum(
        r["count"]
        for r in _stats(server)["requests"]
        if (r["method"], r["route"], r["status"]) == (method, route, status)
    )


@pytest.fixture
def impatient(faulty: RunningSandbox) -> Iterator[Team]:
    """A team whose client gives up 0.3 s after sending; faults off again afterwards."""
    with team_on(faulty, timeout=httpx.Timeout(5.0, read=0.3)) as t:
        yield t
    _set_faults(faulty, {"late_commit_delay_s": 0.2})


def test_late_commit_commits_only_after_the_client_gave_up(
    faulty: RunningSandbox, impatient: Team
) -> None:
    bulks_before = _answered(faulty, "POST", "/api/v1/contacts/bulk", 201)
    # A long delay keeps the write pending for as long as the test looks at it.
    view = _set_faults(faulty, {"late_commit": 1.0, "late_commit_delay_s": 600})
    assert view["faults"] == {"late_commit": 1.0} and view["late_commit_delay_s"] == 600
    with pytest.raises(httpx.ReadTimeout):
        impatient.http.post("/api/v1/contacts/bulk", json=BULK)
    assert _contacts_of(faulty, impatient) == 0
    assert _answered(faulty, "POST", "/api/v1/contacts/bulk", 201) == bulks_before
    # A shorter delay applies to the late commit already waiting, which now lands.
    _set_faults(faulty, {"late_commit_delay_s": 0})
    _eventually(lambda: _contacts_of(faulty, impatient) == 2, "the late bulk commits")
    # Counted like any request, with the status the client never saw.
    assert _answered(faulty, "POST", "/api/v1/contacts/bulk", 201) == bulks_before + 1
    counts = {f["kind"]: f["count"] for f in _stats(faulty)["faults"]}
    assert counts.get("late_commit", 0) >= 1
    numbers = {c["number"] for c in impatient.http.get("/api/v1/contacts").json()["data"]}
    assert numbers == {"5550001", "5550002"}


def test_late_commit_waits_its_delay_after_the_client_gave_up(
    faulty: RunningSandbox, impatient: Team
) -> None:
    _set_faults(faulty, {"late_commit": 1.0, "late_commit_delay_s": 0.5})
    sent = datetime.now(UTC)
    with pytest.raises(httpx.ReadTimeout):
        impatient.http.post("/api/v1/contacts", json={"number": "5550003"})
    _eventually(lambda: _contacts_of(faulty, impatient) == 1, "the late create commits")
    _set_faults(faulty, {})
    (contact,) = impatient.http.get("/api/v1/contacts").json()["data"]
    created = datetime.fromisoformat(contact["createdAt"])
    # 0.3 s until the client gave up, then the delay; createdAt is cut to milliseconds
    assert created >= sent + timedelta(seconds=0.3 + 0.5 - 0.001)


def test_late_commit_on_a_read_changes_nothing(faulty: RunningSandbox, impatient: Team) -> None:
    impatient.create(number="5550004")
    tags_before = _answered(faulty, "GET", "/api/v1/tags", 200)
    _set_faults(faulty, {"late_commit": 1.0, "late_commit_delay_s": 0})
    with pytest.raises(httpx.ReadTimeout):
        impatient.http.get("/api/v1/tags")
    _eventually(
        lambda: _answered(faulty, "GET", "/api/v1/tags", 200) == tags_before + 1,
        "the late read runs",
    )
    assert _contacts_of(faulty, impatient) == 1


def test_late_commit_closes_a_patient_clients_connection_after_the_hold() -> None:
    settings = SandboxSettings(rate_limits=False, timeout_hold_s=0.3, late_commit_delay_s=0)
    with running_sandbox(settings) as server, team_on(server, timeout=30.0) as patient:
        _set_faults(server, {"late_commit": 1.0})
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            patient.http.post("/api/v1/contacts/bulk", json=BULK)
        _eventually(lambda: _contacts_of(server, patient) == 2, "the late bulk commits")


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _fault_count(server: RunningSandbox, kind: str) -> int:
    return sum(f["count"] for f in _stats(server)["faults"] if f["kind"] == kind)


def test_stopping_runs_pending_late_commits_and_ends_held_requests(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.db"
    settings = SandboxSettings(db=db, rate_limits=False, late_commit_delay_s=600)
    problems = _Records()
    uvicorn_log = logging.getLogger("uvicorn.error")
    errors: list[BaseException] = []

    def wait_for_an_answer(server: RunningSandbox, api_key: str, path: str, body: Any) -> None:
        try:
            httpx.post(f"{server.url}{path}", json=body, headers={"X-API-Key": api_key},
                       timeout=60.0)  # fmt: skip
        except httpx.HTTPError as exc:
            errors.append(exc)

    with contextlib.ExitStack() as stack:
        server = stack.enter_context(running_sandbox(settings))
        uvicorn_log.addHandler(problems)  # uvicorn has set up its loggers by now
        stack.callback(uvicorn_log.removeHandler, problems)  # after the server stopped
        with team_on(server, timeout=httpx.Timeout(5.0, read=0.3)) as t:
            _set_faults(server, {"late_commit": 1.0})
            with pytest.raises(httpx.ReadTimeout):  # gave up: its bulk waits 600 s to commit
                t.http.post("/api/v1/contacts/bulk", json=BULK)
            patient = [
                threading.Thread(target=wait_for_an_answer,
                                 args=(server, t.api_key, "/api/v1/contacts", {"number": "3"}))
            ]  # fmt: skip
            patient[0].start()  # held, not yet run, when the server stops
            _eventually(lambda: _fault_count(server, "late_commit") == 2, "the hold begins")
            _set_faults(server, {"timeout": 1.0})
            patient.append(
                threading.Thread(target=wait_for_an_answer,
                                 args=(server, t.api_key, "/api/v1/contacts", {"number": "4"}))
            )  # fmt: skip
            patient[1].start()  # committed, its answer held, when the server stops
            _eventually(lambda: _contacts_of(server, t) == 1, "the timeout's write commits")
            team_id = t.id
    for thread in patient:
        thread.join(timeout=30)
        assert not thread.is_alive()
    # the held clients were let go without an answer; nothing was cancelled halfway or
    # logged as an error; the late commits, pending or held, landed before the end
    assert len(errors) == 2
    assert all(isinstance(e, httpx.RemoteProtocolError | httpx.ReadError) for e in errors)
    assert [r.getMessage() for r in problems.records] == []
    with running_sandbox(SandboxSettings(db=db, rate_limits=False)) as again:
        counts = {t["teamId"]: t["contacts"] for t in _stats(again)["teams"]}
    assert counts[team_id] == 4
