"""Every endpoint through the client, against the sandbox over real HTTP: typed results."""

from __future__ import annotations

import pytest

from bulk_sync.client import EchowinClient
from bulk_sync.client import models as m
from bulk_sync.errors import AuthRefused, NotFound, ValidationFailed
from bulk_sync.sandbox import RunningSandbox
from tests.client.conftest import client_for
from tests.conftest import Team


def test_contact_lifecycle(client: EchowinClient) -> None:
    created = client.create_contact(
        m.NewContact(
            number="+1 (555) 123-4567",
            first_name="Ann",
            email="ann@example.com",
            tag_names=["VIP"],
            custom_fields={"company": "Acme"},
            note=m.NoteDraft(note="hello", type="INFO"),
        )
    )
    assert isinstance(created, m.Contact)
    assert created.number == "+15551234567" and created.tags[0].name == "VIP"
    got = client.get_contact(created.id)
    assert got.data.notes[0].note == "hello" and got.data.notes[0].creator is not None
    assert {s.name for s in got.custom_field_schemas} >= {"company", "role"}
    updated = client.update_contact(created.id, m.ContactChanges(last_name="Lee", email=None))
    assert (updated.first_name, updated.last_name, updated.email) == ("Ann", "Lee", None)
    page = client.list_contacts(limit=10)
    assert page.pagination.total_count == 1 and page.data[0].id == created.id
    client.delete_contact(created.id)
    with pytest.raises(NotFound, match="Contact not found"):
        client.get_contact(created.id)


def test_bulk_returns_the_summary(client: EchowinClient) -> None:
    contacts = [m.NewContact(number=f"555000{i:04d}") for i in range(3)]
    contacts.append(m.NewContact(number="555", email="broken"))
    assert client.bulk_create(contacts) == m.BulkSummary(requested=4, created=3, errors=1)
    with pytest.raises(ValueError):
        client.bulk_create([])


def test_validation_errors_carry_every_detail(client: EchowinClient) -> None:
    with pytest.raises(ValidationFailed) as caught:
        client.create_contact(m.NewContact(number="", email="nope", tag_ids=["missing"]))
    fields = {d.field for d in caught.value.details}
    assert fields == {"number", "email", "tagIds"}
    assert "email: Invalid email format" in str(caught.value)


def test_relations_and_catalog(client: EchowinClient, team: Team) -> None:
    contact = client.create_contact(m.NewContact(number="5551112222"))
    note = client.add_note(contact.id, "Follow up", "WARNING")
    assert [n.id for n in client.notes(contact.id)] == [note.id]
    first, second = (u["id"] for u in team.users[:2])
    assert [a.user_id for a in client.assign_users(contact.id, [first])] == [first]
    assert [a.user_id for a in client.assign_users(contact.id, [second], replace=True)] == [second]
    assert [a.user_id for a in client.assignments(contact.id)] == [second]
    boards = client.boards()
    assert all(isinstance(b, m.Board) for b in boards) and len(boards) == 2
    change = client.place_on_boards(contact.id, [boards[0].id])
    assert change.boards == [m.BoardRef(id=boards[0].id, name=boards[0].name)]
    replaced = client.place_on_boards(contact.id, [boards[1].id], replace=True)
    assert (replaced.removed_from, replaced.added_to) == (1, 1)
    assert [b.id for b in client.contact_boards(contact.id)] == [boards[1].id]
    assert client.remove_from_boards(contact.id).removed_from == 1
    tag = client.create_tag("Spring 2026", "#10B981")
    assert tag.name == "Spring 2026" and tag.color == "#10B981"
    assert "Spring 2026" in {t.name for t in client.tags()}
    with pytest.raises(ValidationFailed, match="already exists"):
        client.create_tag("spring 2026")
    schemas = {f.name: f for f in client.custom_fields()}
    assert schemas["role"].options == ["Manager", "Employee", "Executive"]


def test_search_and_tag_filters(client: EchowinClient) -> None:
    vip = client.create_contact(m.NewContact(number="5550001", first_name="Zed", tag_names=["VIP"]))
    client.create_contact(m.NewContact(number="5550002", first_name="Amy"))
    assert [c.id for c in client.list_contacts(search="zed").data] == [vip.id]
    tag_id = vip.tags[0].id
    assert [c.id for c in client.list_contacts(tag_ids=[tag_id]).data] == [vip.id]


def test_a_wrong_key_is_refused_without_retrying(sandbox: RunningSandbox, team: Team) -> None:
    wrong = Team(team.id, "sbx_wrong", [], [], team.http)
    with client_for(sandbox, wrong) as c, pytest.raises(AuthRefused, match="Invalid API key"):
        c.tags()
    assert c.stats.requests == 1 and c.stats.retries == 0


def test_odd_contact_ids_stay_inside_their_path(client: EchowinClient) -> None:
    with pytest.raises(NotFound):
        client.get_contact("../tags")
    with pytest.raises(NotFound):
        client.delete_contact("..")
