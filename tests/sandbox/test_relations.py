"""Notes, assignments, boards and tags over real HTTP."""

from __future__ import annotations

from tests.conftest import Team


def test_notes_list_and_create_credit_the_team_owner(team: Team) -> None:
    contact = team.create()
    url = f"/api/v1/contacts/{contact['id']}/notes"
    first = team.http.post(url, json={"note": "Discussed pricing options", "type": "INFO"})
    assert first.status_code == 201
    body = first.json()
    assert body["message"] == "Note created successfully"
    assert set(body["data"]) == {"id", "note", "type", "createdAt", "creator"}
    owner = team.users[0]
    assert {
        k: body["data"]["creator"][k] for k in ("id", "firstName", "lastName", "email")
    } == owner
    team.http.post(url, json={"note": "Follow up needed"})
    listed = team.http.get(url).json()["data"]
    assert [(n["note"], n["type"]) for n in listed] == [
        ("Discussed pricing options", "INFO"),
        ("Follow up needed", "GENERAL"),
    ]


def test_note_validation_and_unknown_contact(team: Team) -> None:
    contact = team.create()
    url = f"/api/v1/contacts/{contact['id']}/notes"
    bad = team.http.post(url, json={"note": " ", "type": "LOUD"})
    assert bad.status_code == 400
    assert {d["field"] for d in bad.json()["details"]} == {"note", "type"}
    assert team.http.post(url, json={}).status_code == 400
    missing = team.http.get("/api/v1/contacts/nope/notes")
    assert missing.status_code == 404 and missing.json() == {"error": "Contact not found"}


def test_assignments_add_keeps_existing_and_replace_replaces(team: Team) -> None:
    contact = team.create()
    url = f"/api/v1/contacts/{contact['id']}/assignments"
    u1, u2, u3 = (u["id"] for u in team.users)
    added = team.http.post(url, json={"userIds": [u1]})
    assert added.status_code == 201
    assert added.json()["message"] == "Added 1 assignment(s)"
    again = team.http.post(url, json={"userIds": [u1, u2]}).json()
    assert again["message"] == "Added 1 assignment(s)"
    assert [a["userId"] for a in again["data"]] == [u2]
    listed = team.http.get(url).json()["data"]
    assert [a["userId"] for a in listed] == [u1, u2]
    assert set(listed[0]) == {"id", "contactId", "userId", "assignedAt", "user"}
    assert listed[1]["user"]["picture"] == "https://sandbox.example/avatars/jordan.png"
    replaced = team.http.put(url, json={"userIds": [u3]})
    assert replaced.status_code == 200
    assert replaced.json()["message"] == "Assignments updated successfully"
    assert [a["userId"] for a in team.http.get(url).json()["data"]] == [u3]


def test_assigning_a_stranger_is_refused(team: Team) -> None:
    contact = team.create()
    url = f"/api/v1/contacts/{contact['id']}/assignments"
    response = team.http.post(url, json={"userIds": [team.users[0]["id"], "stranger"]})
    assert response.status_code == 400
    assert response.json() == {"error": "Some users are not members of this team"}
    assert team.http.get(url).json()["data"] == []


def test_contact_create_with_assignees_and_boards(team: Team) -> None:
    boards = team.http.get("/api/v1/boards").json()["data"]
    contact = team.create(assignUserIds=[team.users[1]["id"]], boardIds=[boards[0]["id"]])
    cid = contact["id"]
    assigned = team.http.get(f"/api/v1/contacts/{cid}/assignments").json()["data"]
    assert [a["userId"] for a in assigned] == [team.users[1]["id"]]
    on = team.http.get(f"/api/v1/contacts/{cid}/boards").json()["data"]
    assert [b["id"] for b in on] == [boards[0]["id"]]
    assert on[0]["contactCount"] == 1


def test_boards_list_has_schema_and_counts(team: Team) -> None:
    boards = team.http.get("/api/v1/boards").json()["data"]
    sales = next(b for b in boards if b["name"] == "Sales Pipeline")
    assert set(sales) == {
        "id",
        "name",
        "description",
        "customFieldSchema",
        "contactCount",
        "createdAt",
        "updatedAt",
    }
    fields = sales["customFieldSchema"]["options"]["fields"]
    assert [f["name"] for f in fields] == ["deal_value", "stage"]
    assert sales["customFieldSchema"]["id"]
    assert sales["contactCount"] == 0


def test_contact_boards_add_replace_remove(team: Team) -> None:
    sales, support = (b["id"] for b in team.http.get("/api/v1/boards").json()["data"])
    contact = team.create()
    url = f"/api/v1/contacts/{contact['id']}/boards"
    added = team.http.post(url, json={"boardIds": [sales, support]})
    assert added.status_code == 200
    assert added.json()["data"]["message"] == "Contact assigned to 2 boards successfully"
    assert {b["id"] for b in added.json()["data"]["boards"]} == {sales, support}
    replaced = team.http.put(url, json={"boardIds": [support]}).json()["data"]
    assert replaced == {
        "message": "Contact board assignments updated successfully",
        "removedFrom": 1,
        "addedTo": 0,
        "boards": [{"id": support, "name": "Support Queue"}],
    }
    removed = team.http.delete(url).json()["data"]
    assert removed == {"message": "Contact removed from all boards successfully", "removedFrom": 1}
    assert team.http.get(url).json()["data"] == []
    unknown = team.http.post(url, json={"boardIds": ["nope"]})
    assert unknown.status_code == 400 and unknown.json()["details"][0]["field"] == "boardIds"


def test_tags_create_list_and_count(team: Team) -> None:
    created = team.http.post("/api/v1/tags", json={"name": "Premium", "color": "#10B981"})
    assert created.status_code == 201
    body = created.json()
    assert body["message"] == "Tag created successfully"
    assert set(body["data"]) == {"id", "name", "color", "createdAt", "updatedAt"}
    default_color = team.http.post("/api/v1/tags", json={"name": "Plain"}).json()["data"]
    assert default_color["color"] == "#3B82F6"
    team.create(tagIds=[body["data"]["id"]])
    tags = {t["name"]: t for t in team.http.get("/api/v1/tags").json()["data"]}
    assert tags["Premium"]["contactCount"] == 1 and tags["Plain"]["contactCount"] == 0
    assert set(tags["Premium"]) == {"id", "name", "color", "contactCount", "createdAt", "updatedAt"}


def test_tag_names_are_unique_case_insensitively(team: Team) -> None:
    duplicate = team.http.post("/api/v1/tags", json={"name": "vip"})
    assert duplicate.status_code == 400
    assert duplicate.json() == {"error": "A tag with this name already exists"}
    bad = team.http.post("/api/v1/tags", json={"name": "", "color": "blue"})
    assert bad.status_code == 400
    assert {d["field"] for d in bad.json()["details"]} == {"name", "color"}


def test_custom_field_schemas_endpoint(team: Team) -> None:
    response = team.http.get("/api/v1/contacts/custom-fields")
    assert response.status_code == 200
    fields = {f["name"]: f for f in response.json()["data"]}
    assert fields["company"] == {
        "id": fields["company"]["id"],
        "name": "company",
        "label": "Company",
        "type": "text",
        "required": False,
        "placeholder": "Enter company name",
        "helpText": "The company the contact works for",
        "order": 1,
    }
    assert fields["role"]["options"] == ["Manager", "Employee", "Executive"]
    assert fields["role"]["required"] is True
