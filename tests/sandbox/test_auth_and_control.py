"""API keys, team isolation, and the `/_sandbox/` control API."""

from __future__ import annotations

import httpx
import pytest

from bulk_sync.sandbox import RunningSandbox
from tests.conftest import Team, new_team


def test_missing_key_is_401(sandbox: RunningSandbox) -> None:
    response = httpx.get(f"{sandbox.url}/api/v1/contacts")
    assert response.status_code == 401
    assert response.json() == {"error": "Missing X-API-Key header"}


def test_wrong_key_is_401(sandbox: RunningSandbox) -> None:
    response = httpx.post(
        f"{sandbox.url}/api/v1/contacts/bulk",
        json={"contacts": []},
        headers={"X-API-Key": "sbx_not_a_key"},
    )
    assert response.status_code == 401
    assert response.json() == {"error": "Invalid API key"}


def test_default_team_answers_to_its_key(sandbox: RunningSandbox) -> None:
    response = httpx.get(f"{sandbox.url}/api/v1/tags", headers={"X-API-Key": "sandbox"})
    assert response.status_code == 200


def test_teams_see_and_touch_only_their_own_data(sandbox: RunningSandbox, team: Team) -> None:
    other = new_team(sandbox)
    mine = team.create(firstName="Mine", tagNames=["Secret"])
    cid = mine["id"]
    assert other.http.get("/api/v1/contacts").json()["pagination"]["totalCount"] == 0
    assert other.http.get("/api/v1/contacts", params={"search": "Mine"}).json()["data"] == []
    for method, path, body in [
        ("GET", f"/api/v1/contacts/{cid}", None),
        ("PUT", f"/api/v1/contacts/{cid}", {"firstName": "Stolen"}),
        ("DELETE", f"/api/v1/contacts/{cid}", None),
        ("GET", f"/api/v1/contacts/{cid}/notes", None),
        ("POST", f"/api/v1/contacts/{cid}/notes", {"note": "x"}),
        ("GET", f"/api/v1/contacts/{cid}/assignments", None),
        ("POST", f"/api/v1/contacts/{cid}/assignments", {"userIds": []}),
        ("GET", f"/api/v1/contacts/{cid}/boards", None),
        ("DELETE", f"/api/v1/contacts/{cid}/boards", None),
    ]:
        response = other.http.request(method, path, json=body)
        assert response.status_code == 404, (method, path)
    # another team's tag and user ids are unknown here
    secret_tag = mine["tags"][0]["id"]
    refused = other.http.post("/api/v1/contacts", json={"number": "1", "tagIds": [secret_tag]})
    assert refused.status_code == 400
    assert "Secret" not in {t["name"] for t in other.http.get("/api/v1/tags").json()["data"]}
    # the same tag name is free in another team
    assert other.http.post("/api/v1/tags", json={"name": "Secret"}).status_code == 201
    assert team.http.get(f"/api/v1/contacts/{cid}").json()["data"]["firstName"] == "Mine"
    other.http.close()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/_sandbox/teams"),
        ("GET", "/_sandbox/faults"),
        ("PUT", "/_sandbox/faults"),
        ("GET", "/_sandbox/settings"),
        ("PUT", "/_sandbox/settings"),
        ("GET", "/_sandbox/stats"),
        ("POST", "/_sandbox/reset"),
    ],
)
@pytest.mark.parametrize("token", [None, "wrong", "", "sandbox"])  # "sandbox": an API key
def test_control_api_wants_the_admin_token(
    sandbox: RunningSandbox, method: str, path: str, token: str | None
) -> None:
    headers = {"X-Sandbox-Admin": token} if token is not None else {}
    response = httpx.request(method, f"{sandbox.url}{path}", headers=headers, json={})
    assert response.status_code == 401
    assert response.json() == {"error": "Missing or invalid X-Sandbox-Admin header"}


def test_refused_control_requests_change_nothing(sandbox: RunningSandbox, team: Team) -> None:
    """Without the admin token: no faults set, no team made, no reset, however asked
    (a team's API key, the token in the query string or as the API key)."""
    team.create(firstName="Kept")
    admin = sandbox.admin_headers
    before = httpx.get(f"{sandbox.url}/_sandbox/stats", headers=admin).json()["teams"]
    token = admin["X-Sandbox-Admin"]
    for headers, params in [
        ({"X-API-Key": team.api_key}, {}),
        ({"X-Sandbox-Admin": team.api_key}, {}),
        ({}, {"X-Sandbox-Admin": token}),
        ({"X-API-Key": token}, {}),
        ({"X-Sandbox-Admin": token.upper() if token != token.upper() else token.lower()}, {}),
    ]:
        for method, path, body in [
            ("PUT", "/_sandbox/faults", {"500": 1.0}),
            ("POST", "/_sandbox/teams", {"apiKey": "stolen"}),
            ("POST", "/_sandbox/reset", None),
        ]:
            response = httpx.request(
                method, f"{sandbox.url}{path}", headers=headers, params=params, json=body
            )
            assert response.status_code == 401, (headers, params, path)
    assert httpx.get(f"{sandbox.url}/_sandbox/faults", headers=admin).json()["faults"] == {}
    assert httpx.get(f"{sandbox.url}/_sandbox/stats", headers=admin).json()["teams"] == before
    assert team.http.get("/api/v1/contacts").json()["data"][0]["firstName"] == "Kept"
    assert (
        httpx.get(f"{sandbox.url}/api/v1/tags", headers={"X-API-Key": "stolen"}).status_code == 401
    )


def test_new_team_comes_with_users_and_its_own_key(admin: httpx.Client) -> None:
    body = admin.post("/_sandbox/teams").json()
    assert set(body) == {"teamId", "apiKey", "users", "crmStages"}
    assert len(body["users"]) == 3
    assert set(body["users"][0]) == {"id", "firstName", "lastName", "email"}
    chosen = admin.post("/_sandbox/teams", json={"apiKey": "my-key"}).json()
    assert chosen["apiKey"] == "my-key"
    assert admin.post("/_sandbox/teams", json={"apiKey": "my-key"}).status_code == 400


def test_stats_count_requests_by_route_template(
    sandbox: RunningSandbox, admin: httpx.Client, team: Team
) -> None:
    def count(method: str, route: str, status: int) -> int:
        rows = admin.get("/_sandbox/stats").json()["requests"]
        return sum(
            r["count"]
            for r in rows
            if (r["method"], r["route"], r["status"]) == (method, route, status)
        )

    before = count("GET", "/api/v1/contacts/{contactId}", 404)
    team.http.get("/api/v1/contacts/a")
    team.http.get("/api/v1/contacts/b")
    assert count("GET", "/api/v1/contacts/{contactId}", 404) == before + 2
    team.create()
    stats = admin.get("/_sandbox/stats").json()
    mine = next(t for t in stats["teams"] if t["teamId"] == team.id)
    assert mine == {"teamId": team.id, "contacts": 1}


def test_reset_brings_back_the_seed() -> None:
    from bulk_sync.sandbox import SandboxSettings, running_sandbox

    with running_sandbox(SandboxSettings(rate_limits=False)) as server:
        headers = {"X-API-Key": "sandbox"}
        second = new_team(server)  # gone after the reset

        def tags() -> list[tuple[str, str, str]]:
            data = httpx.get(f"{server.url}/api/v1/tags", headers=headers).json()["data"]
            return [(t["id"], t["name"], t["color"]) for t in data]

        default_tags = tags()
        httpx.post(f"{server.url}/api/v1/contacts", headers=headers, json={"number": "1"})
        httpx.post(f"{server.url}/api/v1/tags", headers=headers, json={"name": "Extra"})
        reset = httpx.post(f"{server.url}/_sandbox/reset", headers=server.admin_headers)
        assert reset.status_code == 200
        assert (
            httpx.get(f"{server.url}/api/v1/contacts", headers=headers).json()["pagination"][
                "totalCount"
            ]
            == 0
        )
        assert tags() == default_tags  # same ids: the default team is seeded the same way
        stats = httpx.get(f"{server.url}/_sandbox/stats", headers=server.admin_headers).json()
        assert len(stats["teams"]) == 1
        # counters restarted: only the two reads made since the reset are there
        assert [(r["method"], r["route"], r["count"]) for r in stats["requests"]] == [
            ("GET", "/api/v1/contacts", 1),
            ("GET", "/api/v1/tags", 1),
        ]
        assert second.http.get("/api/v1/tags").status_code == 401
        second.http.close()
