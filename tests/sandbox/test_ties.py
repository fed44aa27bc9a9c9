"""Ties on the sort key: creation order by default, a fresh random order per request
with unstable ties (`--unstable-ties`, `PUT /_sandbox/settings`)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bulk_sync.sandbox import RunningSandbox, SandboxSettings, running_sandbox
from tests.conftest import Team, team_on

BULKS, BULK_SIZE, LIMIT = 3, 50, 20
PAGES = BULKS * BULK_SIZE // LIMIT + 1  # the last page is partial


@pytest.fixture
def unstable() -> Iterator[RunningSandbox]:
    """A sandbox of its own, so that the seeded orders are the same on every run."""
    settings = SandboxSettings(rate_limits=False, unstable_ties=True, tie_seed=11)
    with running_sandbox(settings) as server:
        yield server


def _settings(server: RunningSandbox, body: dict[str, Any]) -> httpx.Response:
    return httpx.put(f"{server.url}/_sandbox/settings", json=body, headers=server.admin_headers)


def _three_bulks(team: Team) -> dict[str, int]:
    """Three bulks of 50; each contact's first name maps to its bulk (0, 1, 2)."""
    bulk_of: dict[str, int] = {}
    for b in range(BULKS):
        names = [f"b{b}-{i:02d}" for i in range(BULK_SIZE)]
        contacts = [{"firstName": n, "number": f"555{b}{i:03d}"} for i, n in enumerate(names)]
        response = team.http.post("/api/v1/contacts/bulk", json={"contacts": contacts})
        assert response.json()["summary"]["created"] == BULK_SIZE, response.text
        bulk_of.update(dict.fromkeys(names, b))
    return bulk_of


def _page(team: Team, page: int, **params: Any) -> list[dict[str, Any]]:
    params = {"page": page, "limit": LIMIT, "sortBy": "createdAt", "sortOrder": "desc", **params}
    response = team.http.get("/api/v1/contacts", params=params)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def _pass(team: Team) -> list[dict[str, Any]]:
    """Every page, first to last, as a client paging through would see them."""
    return [c for p in range(1, PAGES + 1) for c in _page(team, p)]


def _names(contacts: list[dict[str, Any]]) -> list[str]:
    return [c["firstName"] for c in contacts]


def test_one_bulk_shares_one_created_at_and_no_other_write_does(team: Team) -> None:
    bulk_of = _three_bulks(team)
    singles = [team.create(firstName=f"single-{i}")["createdAt"] for i in range(5)]
    by_name: dict[str, Any] = {"limit": 100, "sortBy": "firstName"}  # unique: no ties
    listed = [
        c
        for page in (1, 2)
        for c in team.http.get("/api/v1/contacts", params={**by_name, "page": page}).json()["data"]
    ]
    assert len(listed) == BULKS * BULK_SIZE + len(singles)
    stamps = [
        {c["createdAt"] for c in listed if bulk_of.get(c["firstName"]) == b} for b in range(BULKS)
    ]
    assert all(len(s) == 1 for s in stamps)  # one bulk, one createdAt
    per_write = [s.pop() for s in stamps] + singles
    assert per_write == sorted(set(per_write))  # each write later than the one before


def test_stable_ties_by_default_page_through_in_creation_order(team: Team) -> None:
    bulk_of = _three_bulks(team)
    first, again = _pass(team), _pass(team)
    assert _names(first) == _names(again)
    # newest bulk first; within a bulk, the last created first: nothing repeated or skipped
    expected = sorted(bulk_of, key=lambda n: (bulk_of[n], n), reverse=True)
    assert _names(first) == expected


def test_unstable_ties_come_in_a_fresh_order_on_every_request(unstable: RunningSandbox) -> None:
    with team_on(unstable) as team:
        bulk_of = _three_bulks(team)
        passes = [_pass(team) for _ in range(3)]
        for contacts in passes:
            assert len(contacts) == BULKS * BULK_SIZE
            # the sort key is honoured, within each page and from page to page:
            # position i holds a contact of the bulk that ties there, newest bulk first
            stamps = [c["createdAt"] for c in contacts]
            assert stamps == sorted(stamps, reverse=True)
            assert [bulk_of[n] for n in _names(contacts)] == [
                BULKS - 1 - i // BULK_SIZE for i in range(BULKS * BULK_SIZE)
            ]
        # but within a tie the order is new on every pass ...
        orders = [tuple(_names(contacts)) for contacts in passes]
        assert len(set(orders)) == len(orders)
        # ... and on every request of one page
        first_pages = [tuple(_names(_page(team, 1))) for _ in range(3)]
        assert len(set(first_pages)) == len(first_pages)
        # so a client paging through sees some contacts twice and misses others
        for contacts in passes:
            seen = set(_names(contacts))
            assert len(seen) < len(contacts)
            assert set(bulk_of) - seen


def test_unstable_ties_on_any_sort_key(unstable: RunningSandbox) -> None:
    with team_on(unstable) as team:
        contacts = [{"lastName": "Tie", "firstName": f"t{i:02d}", "number": "1"} for i in range(30)]
        contacts += [{"lastName": "Alpha", "firstName": f"a{i}", "number": "1"} for i in range(5)]
        team.http.post("/api/v1/contacts/bulk", json={"contacts": contacts})
        params: dict[str, Any] = {"limit": 100, "sortBy": "lastName", "sortOrder": "asc"}
        lists = [team.http.get("/api/v1/contacts", params=params).json()["data"] for _ in range(3)]
        for listed in lists:
            assert [c["lastName"] for c in listed] == ["Alpha"] * 5 + ["Tie"] * 30
        assert len({tuple(_names(listed)) for listed in lists}) == 3


def test_the_same_tie_seed_gives_the_same_orders(unstable: RunningSandbox) -> None:
    with team_on(unstable) as team:
        _three_bulks(team)

        def orders(seed: int) -> list[list[str]]:
            assert _settings(unstable, {"tie_seed": seed}).status_code == 200
            return [_names(_pass(team)) for _ in range(2)]

        first, again, other = orders(5), orders(5), orders(6)
        assert first == again
        assert first != other


def test_settings_turn_unstable_ties_on_and_off() -> None:
    with running_sandbox(SandboxSettings(rate_limits=False)) as server, team_on(server) as team:
        shown = httpx.get(f"{server.url}/_sandbox/settings", headers=server.admin_headers)
        assert shown.json() == {"unstable_ties": False, "tie_seed": 0}
        bulk_of = _three_bulks(team)
        stable = _names(_pass(team))

        response = _settings(server, {"unstable_ties": True, "tie_seed": 3})
        assert response.status_code == 200
        assert response.json() == {"unstable_ties": True, "tie_seed": 3}
        shuffled = [_names(_pass(team)) for _ in range(2)]
        assert stable not in shuffled and shuffled[0] != shuffled[1]

        assert _settings(server, {"unstable_ties": False}).json()["tie_seed"] == 3
        assert _names(_pass(team)) == stable
        assert stable == sorted(bulk_of, key=lambda n: (bulk_of[n], n), reverse=True)


@pytest.mark.parametrize(
    "body",
    [
        {"unstable_ties": "yes"},
        {"unstable_ties": 1},
        {"tie_seed": "x"},
        {"tie_seed": True},
        {"tie_seed": 1.5},
        {"shuffle": True},
    ],
)
def test_bad_settings_are_400(sandbox: RunningSandbox, body: dict[str, Any]) -> None:
    response = _settings(sandbox, body)
    assert response.status_code == 400
    assert response.json()["error"]
    shown = httpx.get(f"{sandbox.url}/_sandbox/settings", headers=sandbox.admin_headers)
    assert shown.json()["unstable_ties"] is False


def test_sandbox_serve_unstable_ties_flag(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bulk_sync", "sandbox", "serve", "--port", "0",
         "--admin-token", "adm", "--unstable-ties"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", first)
        assert match, first
        shown = httpx.get(f"{match.group(0)}/_sandbox/settings", headers={"X-Sandbox-Admin": "adm"})
        assert shown.json()["unstable_ties"] is True
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
