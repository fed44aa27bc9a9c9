"""State that survives a restart, and correctness under concurrent clients."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bulk_sync.sandbox import RunningSandbox, SandboxSettings, running_sandbox
from tests.conftest import Team, new_team


def test_data_survives_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.db"
    headers = {"X-API-Key": "sandbox"}
    with running_sandbox(SandboxSettings(db=db, rate_limits=False)) as server:
        created = httpx.post(
            f"{server.url}/api/v1/contacts",
            headers=headers,
            json={
                "firstName": "Kept",
                "number": "5551234567",
                "tagNames": ["Persisted"],
                "note": {"note": "still here"},
            },
        )
        assert created.status_code == 201
        contact_id = created.json()["data"]["id"]
        bulk = httpx.post(
            f"{server.url}/api/v1/contacts/bulk",
            headers=headers,
            json={"contacts": [{"number": f"555{i:07d}"} for i in range(50)]},
        )
        assert bulk.json()["summary"]["created"] == 50
        extra = new_team(server)
        extra.create(firstName="Other team")
        extra.http.close()
        users_before = server.sandbox.default_team.users
    with running_sandbox(SandboxSettings(db=db, rate_limits=False)) as server:
        got = httpx.get(f"{server.url}/api/v1/contacts/{contact_id}", headers=headers).json()
        assert got["data"]["firstName"] == "Kept"
        assert [t["name"] for t in got["data"]["tags"]] == ["Persisted"]
        assert [n["note"] for n in got["data"]["notes"]] == ["still here"]
        listed = httpx.get(f"{server.url}/api/v1/contacts", headers=headers).json()
        assert listed["pagination"]["totalCount"] == 51
        assert server.sandbox.default_team.users == users_before
        again = httpx.get(
            f"{server.url}/api/v1/contacts", headers={"X-API-Key": extra.api_key}
        ).json()
        assert [c["firstName"] for c in again["data"]] == ["Other team"]


def test_concurrent_clients_lose_and_double_nothing(sandbox: RunningSandbox, team: Team) -> None:
    """Six clients at once: four bulk writers, one single-contact writer, one reader."""

    def bulk_writer(worker: int) -> int:
        created = 0
        with httpx.Client(base_url=sandbox.url, headers={"X-API-Key": team.api_key}) as http:
            for batch in range(10):
                numbers = [f"+1555{worker}{batch:02d}{i:04d}" for i in range(100)]
                body = http.post(
                    "/api/v1/contacts/bulk",
                    json={"contacts": [{"number": n, "tagNames": [f"w{worker}"]} for n in numbers]},
                ).json()
                created += body["summary"]["created"]
        return created

    def single_writer() -> int:
        with httpx.Client(base_url=sandbox.url, headers={"X-API-Key": team.api_key}) as http:
            return sum(
                http.post(
                    "/api/v1/contacts", json={"number": f"+1666000{i:04d}", "tagNames": ["single"]}
                ).status_code
                == 201
                for i in range(100)
            )

    def reader() -> int:
        with httpx.Client(base_url=sandbox.url, headers={"X-API-Key": team.api_key}) as http:
            return sum(
                http.get("/api/v1/contacts", params={"limit": 100}).status_code == 200
                for _ in range(40)
            )

    with ThreadPoolExecutor(max_workers=6) as pool:
        bulks = [pool.submit(bulk_writer, w) for w in range(4)]
        single = pool.submit(single_writer)
        reads = pool.submit(reader)
        assert [f.result() for f in bulks] == [1000] * 4
        assert single.result() == 100
        assert reads.result() == 40

    numbers: list[str] = []
    page = 1
    while True:
        body = team.http.get(
            "/api/v1/contacts", params={"page": page, "limit": 100, "sortBy": "number"}
        ).json()
        if not body["data"]:
            break
        numbers.extend(c["number"] for c in body["data"])
        page += 1
    assert len(numbers) == 4100
    assert len(set(numbers)) == 4100
    tags = {t["name"]: t["contactCount"] for t in team.http.get("/api/v1/tags").json()["data"]}
    assert [tags[f"w{w}"] for w in range(4)] == [1000] * 4
    assert tags["single"] == 100
