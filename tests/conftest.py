"""Shared fixtures: a real sandbox over HTTP on an ephemeral loopback port.

One sandbox serves the whole session (rate limits off); each test gets a team of
its own, with its own key, instead of resetting shared state.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from bulk_sync.sandbox import RunningSandbox, SandboxSettings, running_sandbox


@dataclass
class Team:
    """A fresh sandbox team and an HTTP client that speaks for it."""

    id: str
    api_key: str
    users: list[dict[str, Any]]
    crm_stages: list[dict[str, str]]
    http: httpx.Client

    def create(self, **fields: Any) -> dict[str, Any]:
        """Create one contact and return its data; fails the test if the API refuses."""
        fields.setdefault("number", "+15550000000")
        response = self.http.post("/api/v1/contacts", json=fields)
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()["data"]
        return data


@contextmanager
def team_on(server: RunningSandbox, **client_options: Any) -> Iterator[Team]:
    """A new team on `server` for the length of a `with` block."""
    t = new_team(server, **client_options)
    try:
        yield t
    finally:
        t.http.close()


@pytest.fixture(autouse=True)
def private_state_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Imports run by a test (CLI, subprocess) keep their journal and lock in its own
    directory, never in the user's."""
    monkeypatch.setenv("BULK_SYNC_STATE_DIR", str(tmp_path_factory.mktemp("state")))


def new_team(server: RunningSandbox, **client_options: Any) -> Team:
    response = httpx.post(f"{server.url}/_sandbox/teams", headers=server.admin_headers)
    assert response.status_code == 201, response.text
    body = response.json()
    http = httpx.Client(
        base_url=server.url, headers={"X-API-Key": body["apiKey"]}, **client_options
    )
    return Team(body["teamId"], body["apiKey"], body["users"], body["crmStages"], http)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxSettings(rate_limits=False)) as server:
        yield server


@pytest.fixture
def team(sandbox: RunningSandbox) -> Iterator[Team]:
    with team_on(sandbox) as t:
        yield t


@pytest.fixture
def admin(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, headers=sandbox.admin_headers) as client:
        yield client
