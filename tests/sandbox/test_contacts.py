"""Contact endpoints over real HTTP: shapes, cleaning, listing, updating, deleting."""

from __future__ import annotations

import pytest

from tests.conftest import Team

CONTACT_KEYS = {
    "id",
    "firstName",
    "lastName",
    "email",
    "number",
    "carrier",
    "customFields",
    "tags",
    "crmStage",
    "createdAt",
}


def test_create_returns_documented_shape_and_cleans_number(team: Team) -> None:
    response = team.http.post(
        "/api/v1/contacts",
        json={
            "firstName": "John",
            "lastName": "Doe",
            "email": "john@example.com",
            "number": "+1 (555) 123-4567",
            "carrier": "AT&T",
            "customFields": {"company": "Acme Corp", "role": "Manager"},
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert body["message"] == "Contact created successfully"
    data = body["data"]
    assert set(data) == CONTACT_KEYS
    assert data["number"] == "+15551234567"
    assert data["customFields"] == {"company": "Acme Corp", "role": "Manager"}
    assert data["createdAt"].endswith("Z") and len(data["createdAt"]) == 24


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("(555) 123-4567", "5551234567"),
        ("+1 (555) 123-4567", "+15551234567"),
        ("555.123.4567 x89", "555123456789"),  # digits only, nothing added or dropped
        ("  +44 20 7946 0958 ", "+442079460958"),
        ("0044 20 7946 0958", "00442079460958"),  # no 00 -> + rewrite
    ],
)
def test_number_is_cleaned_to_digits_and_one_leading_plus(
    team: Team, sent: str, stored: str
) -> None:
    assert team.create(number=sent)["number"] == stored


def test_numbers_are_not_unique(team: Team) -> None:
    first = team.create(number="5551230000")
    second = team.create(number="(555) 123-0000")
    assert first["id"] != second["id"]
    listed = team.http.get("/api/v1/contacts", params={"search": "5551230000"}).json()
    assert listed["pagination"]["totalCount"] == 2


def test_get_includes_notes_schemas_and_available_tags(team: Team) -> None:
    created = team.create(
        firstName="Ann", note={"note": "Interested in premium plan"}, tagNames=["VIP"]
    )
    response = team.http.get(f"/api/v1/contacts/{created['id']}")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"data", "customFieldSchemas", "availableTags"}
    assert set(body["data"]) == CONTACT_KEYS | {"notes"}
    (note,) = body["data"]["notes"]
    assert note["note"] == "Interested in premium plan" and note["type"] == "GENERAL"
    assert [t["name"] for t in body["data"]["tags"]] == ["VIP"]
    schemas = {s["name"]: s for s in body["customFieldSchemas"]}
    assert schemas["role"]["type"] == "select" and schemas["role"]["required"] is True
    assert set(schemas["company"]) == {"id", "name", "label", "type", "required"}
    assert {"VIP", "Lead", "Customer"} <= {t["name"] for t in body["availableTags"]}
    assert all(set(t) == {"id", "name", "color"} for t in body["availableTags"])


def test_get_unknown_contact_is_404(team: Team) -> None:
    response = team.http.get("/api/v1/contacts/123e4567-e89b-12d3-a456-426614174000")
    assert response.status_code == 404
    assert response.json() == {"error": "Contact not found"}


def test_list_paginates_with_totals(team: Team) -> None:
    for i in range(45):
        team.create(firstName=f"P{i:02d}", number=f"555000{i:04d}")
    pages = [
        team.http.get("/api/v1/contacts", params={"page": p, "limit": 20}).json()
        for p in (1, 2, 3, 4)
    ]
    assert pages[0]["pagination"] == {"page": 1, "limit": 20, "totalCount": 45, "totalPages": 3}
    assert [len(p["data"]) for p in pages] == [20, 20, 5, 0]
    ids = [c["id"] for p in pages for c in p["data"]]
    assert len(set(ids)) == 45
    # default order: newest first
    assert pages[0]["data"][0]["firstName"] == "P44"
    assert pages[2]["data"][-1]["firstName"] == "P00"


def test_list_limit_defaults_to_20_and_caps_at_100(team: Team) -> None:
    team.http.post(
        "/api/v1/contacts/bulk",
        json={"contacts": [{"number": f"55510{i:05d}"} for i in range(100)]},
    )
    team.http.post(
        "/api/v1/contacts/bulk", json={"contacts": [{"number": f"55520{i:05d}"} for i in range(20)]}
    )
    default = team.http.get("/api/v1/contacts").json()
    assert default["pagination"]["limit"] == 20 and len(default["data"]) == 20
    capped = team.http.get("/api/v1/contacts", params={"limit": 500}).json()
    assert capped["pagination"]["limit"] == 100 and len(capped["data"]) == 100
    assert capped["pagination"]["totalPages"] == 2


@pytest.mark.parametrize("sort_by", ["firstName", "lastName", "email", "number"])
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_list_sorts_by_each_documented_field(team: Team, sort_by: str, order: str) -> None:
    rows = [
        ("bob", "Young", "b@x.io", "5550000002"),
        ("Alice", "zed", "a@x.io", "5550000003"),
        ("carol", "Adams", "c@x.io", "5550000001"),
    ]
    for first, last, email, number in rows:
        team.create(firstName=first, lastName=last, email=email, number=number)
    data = team.http.get("/api/v1/contacts", params={"sortBy": sort_by, "sortOrder": order}).json()[
        "data"
    ]
    values = [c[sort_by] for c in data]
    expected = sorted(values, key=str.lower, reverse=order == "desc")
    assert values == expected


def test_search_is_case_insensitive_substring_on_names_email_and_number(team: Team) -> None:
    team.create(firstName="Zoë", lastName="Müller", email="zoe@Example.org", number="5557770001")
    team.create(firstName="Other", lastName="Person", email="o@p.io", number="5550001111")

    def found(text: str) -> list[str]:
        body = team.http.get("/api/v1/contacts", params={"search": text}).json()
        return [c["firstName"] for c in body["data"]]

    assert found("zOË") == ["Zoë"]
    assert found("MÜLL") == ["Zoë"]
    assert found("example.ORG") == ["Zoë"]
    assert found("777") == ["Zoë"]
    assert found("nobody") == []


def test_filter_by_tag_ids_matches_any_of_them(team: Team) -> None:
    tags = {t["name"]: t["id"] for t in team.http.get("/api/v1/tags").json()["data"]}
    team.create(firstName="vip", tagIds=[tags["VIP"]])
    team.create(firstName="lead", tagIds=[tags["Lead"]])
    team.create(firstName="none")
    one = team.http.get("/api/v1/contacts", params={"tagIds": tags["VIP"]}).json()
    assert [c["firstName"] for c in one["data"]] == ["vip"]
    both = team.http.get(
        "/api/v1/contacts", params={"tagIds": f"{tags['VIP']},{tags['Lead']}"}
    ).json()
    assert sorted(c["firstName"] for c in both["data"]) == ["lead", "vip"]


def test_page_past_the_end_is_empty(team: Team) -> None:
    team.create()
    body = team.http.get("/api/v1/contacts", params={"page": 99}).json()
    assert body["data"] == [] and body["pagination"]["totalCount"] == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": 0}, "page"),
        ({"limit": "ten"}, "limit"),
        ({"sortBy": "phone"}, "sortBy"),
        ({"sortOrder": "up"}, "sortOrder"),
    ],
)
def test_bad_list_parameters_are_400_with_details(
    team: Team, params: dict[str, object], field: str
) -> None:
    response = team.http.get("/api/v1/contacts", params=params)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "Validation error"
    assert [d["field"] for d in body["details"]] == [field]


def test_update_changes_only_what_was_sent(team: Team) -> None:
    created = team.create(
        firstName="John",
        lastName="Doe",
        email="j@d.io",
        customFields={"company": "Old Co", "role": "Manager"},
        tagNames=["VIP", "Lead"],
    )
    response = team.http.put(
        f"/api/v1/contacts/{created['id']}",
        json={
            "lastName": "Smith",
            "customFields": {"company": "New Company"},
            "tagNames": ["Customer"],
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Contact updated successfully"
    data = body["data"]
    assert (data["firstName"], data["lastName"], data["email"]) == ("John", "Smith", "j@d.io")
    assert data["customFields"] == {"company": "New Company", "role": "Manager"}
    assert [t["name"] for t in data["tags"]] == ["Customer"]


def test_update_sets_crm_stage_and_clears_fields(team: Team) -> None:
    created = team.create(firstName="Ann", email="a@b.io")
    stage = team.crm_stages[2]
    data = team.http.put(
        f"/api/v1/contacts/{created['id']}", json={"crmStageId": stage["id"], "email": None}
    ).json()["data"]
    assert data["crmStage"] == stage
    assert data["email"] is None
    refused = team.http.put(f"/api/v1/contacts/{created['id']}", json={"crmStageId": "nope"})
    assert refused.status_code == 400
    assert refused.json()["details"] == [
        {"field": "crmStageId", "message": "CRM stage not found: nope"}
    ]


def test_update_and_delete_unknown_contact_are_404(team: Team) -> None:
    assert team.http.put("/api/v1/contacts/nope", json={"firstName": "x"}).status_code == 404
    response = team.http.delete("/api/v1/contacts/nope")
    assert response.status_code == 404 and response.json() == {"error": "Contact not found"}


def test_delete_removes_the_contact(team: Team) -> None:
    created = team.create(note={"note": "bye"})
    response = team.http.delete(f"/api/v1/contacts/{created['id']}")
    assert response.status_code == 200
    assert response.json() == {"message": "Contact deleted successfully"}
    assert team.http.get(f"/api/v1/contacts/{created['id']}").status_code == 404
    assert team.http.get("/api/v1/contacts").json()["pagination"]["totalCount"] == 0


def test_a_query_parameter_given_twice_is_refused(team: Team) -> None:
    response = team.http.get("/api/v1/contacts?search=a&search=b")
    assert response.status_code == 400
    assert response.json()["details"] == [
        {"field": "search", "message": "Give this parameter once"}
    ]


def test_an_empty_email_is_stored_as_none_on_create_and_update(team: Team) -> None:
    created = team.create(email="")
    assert created["email"] is None
    team.http.put(f"/api/v1/contacts/{created['id']}", json={"email": "a@b.io"})
    cleared = team.http.put(f"/api/v1/contacts/{created['id']}", json={"email": ""})
    assert cleared.json()["data"]["email"] is None
