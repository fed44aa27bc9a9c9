"""A row with several valid numbers (or emails) is found by any of them: reordering
`number: [Phone, Mobile]`, or fixing a Phone cell that was invalid, never makes it
another contact (see bulk_sync/importer/keys.py, "alternates").

Every test runs against a real sandbox over HTTP, each on a team of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bulk_sync.client import EchowinClient
from bulk_sync.importer import ImportOptions, ImportResult, import_file
from bulk_sync.importer.lookup import SearchLookup
from bulk_sync.sources import Source
from tests.conftest import Team

from .conftest import all_contacts, read_report, write_csv

HEADER = ["First", "Phone", "Mobile", "Email", "Email 2"]
PHONE_FIRST = "fields: {firstName: First, number: [Phone, Mobile], email: [Email, Email 2]}\n"
MOBILE_FIRST = "fields: {firstName: First, number: [Mobile, Phone], email: [Email 2, Email]}\n"


def person(i: int, **changes: str) -> list[str]:
    row = {"First": f"Ann{i}", "Phone": f"+1212555{i:04d}", "Mobile": f"+1646555{i:04d}",
           "Email": f"ann{i}@example.com", "Email 2": f"ann{i}@work.example"}  # fmt: skip
    row.update(changes)
    return [row[h] for h in HEADER]


def run(
    client: EchowinClient,
    tmp: Path,
    rows: list[list[str]],
    *,
    name: str,
    mapping: str = PHONE_FIRST,
    header: list[str] = HEADER,
    **options: Any,
) -> tuple[ImportResult, list[dict[str, Any]]]:
    source = write_csv(tmp / f"{name}.csv", [header, *rows])
    (tmp / f"{name}.yaml").write_text(mapping)
    result = import_file(
        ImportOptions(source, tmp / f"{name}.yaml", report_dir=tmp / name,
                      state_dir=tmp / "state", **options),
        client,
        env={},
    )  # fmt: skip
    assert result.error is None, result.error
    return result, read_report(tmp / name / "results.csv")


def ids_by_number(team: Team) -> dict[str, str]:
    return {c["number"]: c["id"] for c in all_contacts(team)}


def test_reordered_columns_find_every_contact_by_its_other_number(
    client: EchowinClient, team: Team, tmp_path: Path
) -> None:
    rows = [person(i) for i in range(1, 6)]
    first, _ = run(client, tmp_path, rows, name="first")
    assert first.counts["created"] == 5
    made = ids_by_number(team)  # made with Phone, the first valid number
    assert sorted(made) == [f"+1212555{i:04d}" for i in range(1, 6)]
    wanted = [made[f"+1212555{i:04d}"] for i in range(1, 6)]

    for match in (("number",), ("email",), ("number", "email")):
        again, results = run(client, tmp_path, rows, name=f"create-{len(match)}{match[0]}",
                             mapping=MOBILE_FIRST, match=match)  # fmt: skip
        assert again.counts["created"] == 0 and again.counts["skipped"] == 5, match
        assert [r["_contact_id"] for r in results] == wanted
        assert {r["_error"] for r in results} == {"already in echowin"}

    # upsert: found by the other number (the same person: names compare case aside),
    # brought up to date; the stored number, one of the row's, stays
    renamed = [person(1, First="ANN1"), *rows[1:]]
    upsert, results = run(client, tmp_path, renamed, name="upsert", mapping=MOBILE_FIRST,
                          mode="upsert")  # fmt: skip
    assert upsert.counts["created"] == 0
    assert [r["_status"] for r in results] == ["updated", *["unchanged"] * 4]
    assert [r["_contact_id"] for r in results] == wanted
    _, results = run(client, tmp_path, rows, name="update", mapping=MOBILE_FIRST,
                          mode="update")  # fmt: skip
    assert [r["_status"] for r in results] == ["updated", *["unchanged"] * 4]
    assert [r["_contact_id"] for r in results] == wanted
    assert ids_by_number(team) == made  # no contact made, no number changed


def test_a_fixed_phone_cell_does_not_make_the_row_another_contact(
    client: EchowinClient, team: Team, tmp_path: Path
) -> None:
    broken = [person(1, Phone="n/a"), person(2, Phone="555-12"), person(3)]
    first, _ = run(client, tmp_path, broken, name="first")
    assert first.counts["created"] == 3
    made = ids_by_number(team)
    assert sorted(made) == ["+12125550003", "+16465550001", "+16465550002"]

    fixed = [person(1), person(2), person(3)]
    for mode in ("create", "upsert"):
        again, results = run(client, tmp_path, fixed, name=mode, mode=mode)
        assert again.counts["created"] == 0
        assert [r["_contact_id"] for r in results] == [
            made["+16465550001"],
            made["+16465550002"],
            made["+12125550003"],
        ]
    assert ids_by_number(team) == made


def test_other_numbers_held_by_two_contacts_are_an_ambiguous_match(
    client: EchowinClient, team: Team, tmp_path: Path
) -> None:
    a = team.create(firstName="Ann1", number="+16465550001")
    b = team.create(firstName="ann1", email="ann1@work.example", number="+13035550001")
    result, (row,) = run(client, tmp_path, [person(1)], name="in", match=("number", "email"))
    assert row["_status"] == "rejected" and result.exit_code == 1
    ids = {a["id"], b["id"]}
    assert row["_error"] in {
        f"ambiguous match: 2 contacts in echowin have the row's other numbers or emails "
        f"(ids {', '.join(order)})"
        for order in (sorted(ids), sorted(ids, reverse=True))
    }
    assert len(all_contacts(team)) == 2


def test_a_row_key_always_wins_over_another_rows_other_number(
    client: EchowinClient, team: Team, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Row 3 has row 2's number as its Mobile: in-file, rows are told apart by the number
    each is imported with (the contract's dedupe), in any chunking and on every re-run."""
    rows = [person(1), person(2, Phone="", Mobile="+12125550002"),
            person(3, Mobile="+12125550002")]  # fmt: skip
    for name in ("first", "again", "upsert"):
        result, results = run(client, tmp_path, rows, name=name,
                              mode="upsert" if name == "upsert" else "create")  # fmt: skip
        if name == "first":
            assert [r["_status"] for r in results] == ["created"] * 3
            made = ids_by_number(team)
        else:
            assert result.counts["created"] == 0 and result.counts["rejected"] == 0
        assert [r["_contact_id"] for r in results] == [
            made["+12125550001"],
            made["+12125550002"],
            made["+12125550003"],
        ]
    # nor does a row made in an earlier batch of the same run (a full batch is sent
    # before the next chunk is looked up)
    chunks = Source.raw_chunks
    monkeypatch.setattr(Source, "raw_chunks", lambda source, size=50: chunks(source, 50))
    filler = [person(i, Mobile="") for i in range(100, 199)]
    chunked = [person(9, Phone="", Mobile="+12125550009"), *filler,
               person(10, Mobile="+12125550009")]  # fmt: skip
    _, results = run(client, tmp_path, chunked, name="chunked")
    assert [r["_status"] for r in results] == ["created"] * 101
    assert len(all_contacts(team)) == 104


def test_search_looks_for_other_numbers_only_where_the_key_found_nothing(
    client: EchowinClient, team: Team
) -> None:
    known = team.create(number="+16465550001")
    other = team.create(number="+12125550002")
    lookup = SearchLookup(client, ("number",), "US")
    found = lookup.find(
        {1: (12125550001,), 2: (12125550002,), 3: (12125550003,)},
        {1: (16465550001,), 2: (16465550099,), 3: (16465550098,)},
    )
    assert found.ids == {1: [known["id"]], 2: [other["id"]]}
    assert found.by_alternates == {1}
    assert lookup.searches == 5  # three keys, then two alternates (row 2's was not needed)
    assert lookup.contact(known["id"])[0] is not None  # kept for the chunk: no GET to update
    assert lookup.contact(other["id"])[0] is not None


# An alternate alone never makes someone else's contact the row's: colleagues sharing an
# office number, a family a home number (found by review: they were skipped or merged).
OFFICE = ["First Name", "Last Name", "Phone", "Mobile", "Email"]
OFFICE_PM = "fields: {firstName: First Name, lastName: Last Name, email: Email, " \
            "number: [Phone, Mobile]}\n"  # fmt: skip
OFFICE_MP = OFFICE_PM.replace("[Phone, Mobile]", "[Mobile, Phone]")
ALICE = ["Alice", "Office", "+1 212 555 0100", "+1 917 555 0111", "alice@acme.test"]
BOB = ["Bob", "Office", "+1 212 555 0100", "+1 917 555 0122", "bob@acme.test"]


def by_name(team: Team) -> dict[str, dict[str, Any]]:
    return {f"{c.get('firstName')} {c.get('lastName')}": c for c in all_contacts(team)}


def test_colleagues_are_not_found_by_the_office_number_of_another_contact(
    client: EchowinClient, team: Team, tmp_path: Path
) -> None:
    reception = ["Acme", "Reception", "+1 212 555 0100", "", "front@acme.test"]
    run(client, tmp_path, [reception], name="reception", mapping=OFFICE_MP, header=OFFICE)
    front = by_name(team)["Acme Reception"]
    for mode in ("update", "create"):  # update: not found; create: made by their mobiles
        _, results = run(client, tmp_path, [ALICE, BOB], name=mode, mapping=OFFICE_MP,
                         header=OFFICE, mode=mode)  # fmt: skip
        assert front["id"] not in [r["_contact_id"] for r in results], mode
        wanted = "skipped" if mode == "update" else "created"
        assert [r["_status"] for r in results] == [wanted] * 2, mode
    people = by_name(team)
    assert sorted(people) == ["Acme Reception", "Alice Office", "Bob Office"]
    assert people["Acme Reception"] == front  # untouched
    assert [people[n]["number"] for n in ("Alice Office", "Bob Office")] == [
        "+19175550111",
        "+19175550122",
    ]


def test_a_row_is_not_merged_into_a_later_rows_contact_by_its_other_number(
    client: EchowinClient, team: Team, tmp_path: Path
) -> None:
    tim = ["Tim", "Smith", "+1 303 555 0142", "", ""]
    ann = ["Ann", "Smith", "+1 303 555 0142", "+1 720 555 0177", "ann@smith.test"]
    run(client, tmp_path, [tim], name="day1", mapping=OFFICE_MP, header=OFFICE)
    made = by_name(team)["Tim Smith"]
    _, results = run(client, tmp_path, [ann, tim], name="day2", mapping=OFFICE_MP,
                     header=OFFICE, mode="upsert")  # fmt: skip
    assert [r["_status"] for r in results] == ["created", "unchanged"]
    assert results[1]["_contact_id"] == made["id"] != results[0]["_contact_id"]
    people = by_name(team)
    assert sorted(people) == ["Ann Smith", "Tim Smith"]
    assert people["Tim Smith"]["email"] in (None, "")
    assert people["Ann Smith"]["number"] == "+17205550177"


def test_a_reordered_list_does_not_send_a_duplicate_row_to_the_first_rows_contact(
    client: EchowinClient, team: Team, tmp_path: Path
) -> None:
    _, results = run(client, tmp_path, [ALICE, BOB], name="pm", mapping=OFFICE_PM,
                     header=OFFICE)  # fmt: skip
    assert [r["_status"] for r in results] == ["created", "duplicate"]
    alice = results[0]["_contact_id"]
    for mode in ("create", "upsert"):  # Alice is found by her office number; Bob is not
        _, results = run(client, tmp_path, [ALICE, BOB], name=f"mp-{mode}", mapping=OFFICE_MP,
                         header=OFFICE, mode=mode)  # fmt: skip
        assert results[0]["_contact_id"] == alice
        assert results[0]["_status"] == ("skipped" if mode == "create" else "unchanged")
        assert results[1]["_contact_id"] != alice
    people = by_name(team)
    assert sorted(people) == ["Alice Office", "Bob Office"]
    assert people["Alice Office"]["id"] == alice
    assert people["Alice Office"]["email"] == "alice@acme.test"
    assert people["Bob Office"]["number"] == "+19175550122"


def test_two_rows_never_resolve_to_one_contact_through_their_other_numbers(
    client: EchowinClient, team: Team, tmp_path: Path
) -> None:
    """Two people of one name sharing a home number, neither imported by it: the first
    row takes the contact that has it; the second is another contact."""
    home = ["Tim", "Smith", "+1 303 555 0142", "", "tim@smith.test"]
    run(client, tmp_path, [home], name="day1", mapping=OFFICE_MP, header=OFFICE)
    made = by_name(team)["Tim Smith"]["id"]
    senior = ["Tim", "Smith", "+1 303 555 0142", "+1 720 555 0101", ""]
    junior = ["Tim", "Smith", "+1 303 555 0142", "+1 720 555 0102", ""]
    _, results = run(client, tmp_path, [senior, junior], name="day2", mapping=OFFICE_MP,
                     header=OFFICE, mode="upsert")  # fmt: skip
    assert [r["_status"] for r in results] == ["unchanged", "created"]  # it holds 0142
    assert results[0]["_contact_id"] == made != results[1]["_contact_id"]
    assert sorted(c["number"] for c in all_contacts(team)) == ["+13035550142", "+17205550102"]


def test_a_name_is_the_same_person_in_either_unicode_form() -> None:
    """`Zoë` typed composed and stored decomposed (as some exports write it) is one name;
    another name, or another email, is not the row's person."""
    from bulk_sync.client.models import Contact
    from bulk_sync.importer.keys import same_person

    stored = Contact(id="c1", first_name="Zoe\u0308", last_name=" Patel", email="ZP@x.test")
    assert same_person(stored, "Zo\u00eb", "PATEL", ("zp@x.test",))
    assert not same_person(stored, "Zoey", "Patel", ("zp@x.test",))
    assert not same_person(stored, "Zo\u00eb", "Patel", ("other@x.test",))
