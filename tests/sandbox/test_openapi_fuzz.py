"""Schemathesis drives every API operation from the sandbox's own OpenAPI description.

Bounded examples, faults off, rate limits off: no input may produce a 5xx, and every
response must match the described schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from bulk_sync.sandbox import RunningSandbox, SandboxSettings, running_sandbox
from bulk_sync.sandbox.app import create_app

MAX_EXAMPLES = 50


@pytest.fixture(scope="module")
def fuzz_server() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxSettings(rate_limits=False)) as server:
        yield server


def _described_schema() -> dict[str, Any]:
    # The same description the server publishes at /openapi.json (a test below checks).
    gateway = create_app(SandboxSettings(rate_limits=False))
    description: dict[str, Any] = gateway.app.openapi()
    gateway.sandbox.close()
    return description


schema = schemathesis.openapi.from_dict(_described_schema()).include(path_regex="^/api/v1/")
# The same examples on every run (CI must not be a lottery); and no made-up query
# parameters, which this API, like echowin, ignores rather than refuses.
schema.config.generation.update(deterministic=True, allow_extra_parameters=False, database="none")


def test_the_fuzzed_description_is_the_served_one(fuzz_server: RunningSandbox) -> None:
    served = httpx.get(f"{fuzz_server.url}/openapi.json").json()
    assert served == _described_schema()


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_responses_match_the_schema(
    case: Any, fuzz_server: RunningSandbox
) -> None:
    # Every check but one: "schema-valid request accepted" cannot hold for this API,
    # whose 400s also depend on state no schema can express (a tagIds entry must name
    # an existing tag, a tag name must be unused, a select field takes its options).
    case.call_and_validate(
        base_url=fuzz_server.url,
        headers={"X-API-Key": "sandbox"},
        excluded_checks=[positive_data_acceptance],
    )
