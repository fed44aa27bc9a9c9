"""Validation errors as the contract words them, and the bulk endpoint's counting."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Team


def _details(team: Team, body: dict[str, Any]) -> list[dict[str, str]]:
    response = team.http.post("/api/v1/contacts", json=body)
    assert response.status_code == 400, response.text
    payload = response.json()
    assert set(payload) == {"error", "details"} and payload["error"] == "Validation error"
    details: list[dict[str, str]] = payload["details"]
    return details


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"firstName": "No Number"}, "number"),
        ({"number": ""}, "number"),
        ({"number": "   "}, "number"),
        ({"number": "call me"}, "number"),
        ({"number": "5551234567", "email": "not-an-email"}, "email"),
        ({"number": "5551234567", "email": "a@b"}, "email"),
        ({"number": "5551234567", "tagIds": ["no-such-tag"]}, "tagIds"),
        ({"number": "5551234567", "boardIds": ["no-such-board"]}, "boardIds"),
        ({"number": "5551234567", "note": {"note": "x", "type": "URGENT"}}, "note.type"),
        ({"number": "5551234567", "customFields": {"role": "Intern"}}, "customFields.role"),
        ({"number": "5551234567", "customFields": {"budget": "lots"}}, "customFields.budget"),
        (
            {"number": "5551234567", "customFields": {"next_visit": "31/12/2026"}},
            "customFields.next_visit",
        ),
        ({"number": "5551234567", "assignUserIds": ["stranger"]}, "assignUserIds"),
        ({"number": 5551234567}, "number"),
        ({"number": "5551234567", "tagIds": "VIP"}, "tagIds"),
    ],
)
def test_each_invalid_field_gives_one_detail(team: Team, body: dict[str, Any], field: str) -> None:
    details = _details(team, body)
    assert [d["field"] for d in details] == [field]
    assert details[0]["message"]


def test_every_problem_is_reported_not_only_the_first(team: Team) -> None:
    details = _details(team, {"email": "nope", "tagIds": ["x"], "customFields": {"role": "Boss"}})
    assert {d["field"] for d in details} == {"number", "email", "tagIds", "customFields.role"}


def test_documented_email_message(team: Team) -> None:
    assert _details(team, {"number": "1", "email": "bad"}) == [
        {"field": "email", "message": "Invalid email format"}
    ]


def test_required_custom_field_is_shown_but_not_enforced(team: Team) -> None:
    schemas = team.http.get("/api/v1/contacts/custom-fields").json()["data"]
    assert any(s["required"] for s in schemas)
    assert team.create(number="5551112222")["customFields"] == {}


def test_unknown_custom_field_keys_are_kept(team: Team) -> None:
    created = team.create(customFields={"favourite_colour": "teal", "role": "Executive"})
    assert created["customFields"] == {"favourite_colour": "teal", "role": "Executive"}


def test_malformed_json_is_400(team: Team) -> None:
    response = team.http.post(
        "/api/v1/contacts", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "Validation error",
        "details": [{"field": "body", "message": "Invalid JSON"}],
    }


def test_tag_names_create_missing_tags_case_insensitively(team: Team) -> None:
    first = team.create(tagNames=["vip", "Spring Promo"])
    second = team.create(tagNames=["SPRING PROMO"])
    assert [t["name"] for t in first["tags"]] == ["Spring Promo", "VIP"]  # existing "VIP" reused
    assert second["tags"][0]["id"] == first["tags"][0]["id"]
    names = [t["name"] for t in team.http.get("/api/v1/tags").json()["data"]]
    assert sorted(names, key=str.lower) == ["Customer", "Lead", "Spring Promo", "VIP"]


# -- bulk -----------------------------------------------------------------------------


def test_bulk_creates_all_valid_contacts(team: Team) -> None:
    response = team.http.post(
        "/api/v1/contacts/bulk",
        json={
            "contacts": [
                {"firstName": "A", "number": "5550000001"},
                {"firstName": "B", "number": "5550000002", "tagNames": ["Bulk"]},
            ]
        },
    )
    assert response.status_code == 201
    assert response.json() == {
        "message": "Bulk contact creation completed",
        "summary": {"requested": 2, "created": 2, "errors": 0},
    }
    listed = team.http.get("/api/v1/contacts", params={"sortBy": "firstName", "sortOrder": "asc"})
    data = listed.json()["data"]
    assert [c["firstName"] for c in data] == ["A", "B"]
    assert [t["name"] for t in data[1]["tags"]] == ["Bulk"]


def test_bulk_counts_invalid_contacts_without_naming_them(team: Team) -> None:
    contacts: list[Any] = [
        {"firstName": "ok1", "number": "5550000001"},
        {"firstName": "no number"},
        {"firstName": "bad email", "number": "5550000003", "email": "x"},
        "not even an object",
        {"firstName": "wrong type", "number": 42},
        {"firstName": "ok2", "number": "5550000006"},
    ]
    body = team.http.post("/api/v1/contacts/bulk", json={"contacts": contacts}).json()
    assert body["summary"] == {"requested": 6, "created": 2, "errors": 4}
    names = {c["firstName"] for c in team.http.get("/api/v1/contacts").json()["data"]}
    assert names == {"ok1", "ok2"}


@pytest.mark.parametrize("count", [0, 101])
def test_bulk_refuses_empty_or_more_than_100(team: Team, count: int) -> None:
    contacts = [{"number": f"555{i:07d}"} for i in range(count)]
    response = team.http.post("/api/v1/contacts/bulk", json={"contacts": contacts})
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "contacts"
    assert team.http.get("/api/v1/contacts").json()["pagination"]["totalCount"] == 0


def test_bulk_of_100_is_accepted(team: Team) -> None:
    contacts = [{"number": f"555{i:07d}", "firstName": f"n{i}"} for i in range(100)]
    body = team.http.post("/api/v1/contacts/bulk", json={"contacts": contacts}).json()
    assert body["summary"] == {"requested": 100, "created": 100, "errors": 0}


def test_bulk_without_contacts_array_is_400(team: Team) -> None:
    response = team.http.post("/api/v1/contacts/bulk", json={"contact": []})
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "contacts"
