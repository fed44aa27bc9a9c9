"""Client fixtures: an EchowinClient per test, on a fresh sandbox team."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bulk_sync.client import EchowinClient
from bulk_sync.config import ApiKey, ApiSettings, RetryPolicy
from bulk_sync.sandbox import RunningSandbox
from tests.conftest import Team

# Quick retries, so a test of retrying does not wait like a real client would.
FAST = RetryPolicy(max_attempts=6, max_total_s=30, backoff_initial_s=0.01, backoff_max_s=0.05)


def client_for(server: RunningSandbox, team: Team, **options: object) -> EchowinClient:
    options.setdefault("limits", None)
    options.setdefault("policy", FAST)
    return EchowinClient(ApiSettings(server.url, ApiKey(team.api_key)), **options)  # type: ignore[arg-type]


@pytest.fixture
def client(sandbox: RunningSandbox, team: Team) -> Iterator[EchowinClient]:
    with client_for(sandbox, team) as c:
        yield c
