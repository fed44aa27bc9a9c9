"""The presets: each imports its sample on a fresh sandbox team over HTTP, named by its
bare name (`--mapping google-contacts`), and the contacts are what the export meant."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bulk_sync.client import EchowinClient
from bulk_sync.errors import MappingError
from bulk_sync.importer import ImportOptions, import_file
from bulk_sync.mapping import load_mapping
from bulk_sync.presets import preset_names, presets_dir, resolve_mapping
from bulk_sync.sandbox import RunningSandbox
from tests.client.conftest import client_for
from tests.conftest import Team
from tests.importer.conftest import all_contacts, read_report
from tests.test_cli import run_cli

ROOT = Path(__file__).parents[1]
SAMPLES = ROOT / "samples"
DATA = Path(__file__).parent / "data" / "presets"


@pytest.fixture
def client(sandbox: RunningSandbox, team: Team) -> Iterator[EchowinClient]:
    with client_for(sandbox, team) as c:
        yield c


@dataclass
class Expected:
    """What a sample makes: how many contacts, and one contact looked up by its number."""

    created: int
    rejected: int
    number: str
    fields: dict[str, Any]
    tags: set[str] = field(default_factory=set)
    custom: dict[str, Any] = field(default_factory=dict)
    note: str | None = None


SAMPLE_RESULTS = {
    # Tanaka: two emails and two phones in one cell each (" ::: "), the first kept;
    # "* myContacts" is Google's own group, not a tag
    "google-contacts": Expected(
        12, 0, "+819012345678",
        {"firstName": "Aiko", "lastName": "Tanaka", "email": "aiko.tanaka@example.jp"},
        tags={"Clients", "VIP"},
    ),
    # Carter: the mobile wins over the business phone; categories split on ";"
    "outlook": Expected(
        11, 0, "+12125550102",
        {"firstName": "James", "lastName": "Carter", "email": "james@carterbuilders.example"},
        tags={"Clients", "VIP"}, custom={"company": "Carter Builders"},
        note="Prefers calls after 4pm.",
    ),
    # Johnson: Mobile Phone Number before Phone Number, the email trimmed and lower-cased
    "hubspot": Expected(
        10, 0, "+12125550124",
        {"firstName": "Maria", "lastName": "Johnson", "email": "maria.johnson@example.com"},
        tags={"Lead"},
    ),
    # Akers: Description (with a comma and a line break) is the note; Status a tag
    "salesforce-leads": Expected(
        10, 0, "+14345550131",
        {"firstName": "Kirsten", "lastName": "Akers", "email": "kakers@athenahome.example"},
        tags={"Working - Contacted"},
        custom={"company": "Aethna Home Products", "lead_source": "Partner Referral"},
        note="Wants a quote for 40 units,\nsend by Friday.",
    ),
    # Hamilton: a quoted tag with a comma inside stays whole; row 12 has no phone
    "mailchimp": Expected(
        10, 1, "+16175550107",
        {"firstName": "Margaret", "lastName": "Hamilton", "email": "margaret.hamilton@example.com"},
        tags={"Events, Boston", "Customer"},
    ),
}  # fmt: skip


def _import(source: Path, mapping: str, client: EchowinClient, tmp_path: Path) -> Any:
    options = ImportOptions(
        source, Path(mapping), report_dir=tmp_path / "report", state_dir=tmp_path / "state"
    )
    return import_file(options, client, env={})


def _by_number(team: Team) -> dict[str, dict[str, Any]]:
    return {c["number"]: c for c in all_contacts(team)}


def _notes(team: Team, contact_id: str) -> list[str]:
    response = team.http.get(f"/api/v1/contacts/{contact_id}/notes")
    assert response.status_code == 200, response.text
    return [n["note"] for n in response.json()["data"]]


@pytest.mark.parametrize("preset", sorted(SAMPLE_RESULTS))
def test_each_preset_imports_its_sample_by_bare_name(
    preset: str, client: EchowinClient, team: Team, tmp_path: Path
) -> None:
    expected = SAMPLE_RESULTS[preset]
    result = _import(SAMPLES / f"{preset}.csv", preset, client, tmp_path)

    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert (summary["created"], summary["rejected"]) == (expected.created, expected.rejected)
    assert result.exit_code == (1 if expected.rejected else 0)
    stored = _by_number(team)
    assert len(stored) == expected.created
    contact = stored[expected.number]
    assert {k: contact[k] for k in expected.fields} == expected.fields
    assert {t["name"] for t in contact["tags"]} == expected.tags
    assert not any(t["name"].startswith("*") for c in stored.values() for t in c["tags"])
    for key, value in expected.custom.items():
        assert contact["customFields"][key] == value
    assert _notes(team, contact["id"]) == ([expected.note] if expected.note else [])


def test_mailchimp_sample_rejects_only_the_row_without_a_phone(
    client: EchowinClient, team: Team, tmp_path: Path
) -> None:
    _import(SAMPLES / "mailchimp.csv", "mailchimp", client, tmp_path)
    rejected = read_report(tmp_path / "report" / "rejected.csv")
    assert [(r["_row"], r["Email Address"]) for r in rejected] == [("12", "no.phone@example.org")]


def test_google_contacts_reads_the_legacy_layout_too(
    client: EchowinClient, team: Team, tmp_path: Path
) -> None:
    """Given Name / Family Name / Group Membership / Organization 1 - Name: the same preset."""
    result = _import(DATA / "google-legacy.csv", "google-contacts", client, tmp_path)
    assert result.exit_code == 0
    stored = _by_number(team)
    park = stored["+14155550161"]
    assert (park["firstName"], park["lastName"], park["email"]) == (
        "Helen", "Park", "helen.park@example.com",
    )  # fmt: skip
    assert {t["name"] for t in park["tags"]} == {"Clients", "VIP"}
    assert park["customFields"]["company"] == "Park Properties"
    assert _notes(team, park["id"]) == ["Old Gmail export."]
    said = stored["+12125550177"]  # Phone 1 empty: Phone 2; only a Name: split in two
    assert (said["firstName"], said["lastName"], said["tags"]) == ("Omar", "Said", [])


# -- finding a preset by name -------------------------------------------------------------


def test_every_preset_named_in_the_issue_ships_and_loads() -> None:
    names = preset_names()
    assert {"google-contacts", "outlook", "hubspot", "salesforce-leads", "mailchimp",
            "leads", "echowin-backup"} <= set(names)  # fmt: skip
    for name in names:
        load_mapping(Path(name))  # each one is a valid mapping


@pytest.mark.parametrize("spelling", ["outlook", "outlook.yaml", "Outlook"])
def test_a_bare_name_finds_the_preset(spelling: str) -> None:
    assert resolve_mapping(spelling) == presets_dir() / "outlook.yaml"


def test_an_existing_file_wins_over_a_preset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("outlook.yaml").write_text("fields: {number: Cell}\n", encoding="utf-8")
    assert resolve_mapping("outlook.yaml") == Path("outlook.yaml")
    assert load_mapping(Path("outlook.yaml")).fields.number is not None
    assert resolve_mapping("outlook") == presets_dir() / "outlook.yaml"  # no such file here


@pytest.mark.parametrize("missing", ["no-such-preset", "maps/outlook", "x.yaml"])
def test_a_missing_mapping_lists_the_presets(missing: str) -> None:
    with pytest.raises(MappingError) as caught:
        load_mapping(Path(missing))
    message = str(caught.value)
    assert message.startswith(f"{missing}: mapping file not found; give the path of a mapping")
    assert message.endswith(", ".join(preset_names()))
    assert "google-contacts, hubspot, leads, mailchimp, outlook, salesforce-leads" in message


def test_the_cli_takes_a_preset_name(tmp_path: Path) -> None:
    """A preset by name imports; a misspelled one: exit 2, listing the presets."""
    code, output = run_cli(
        ["import", str(SAMPLES / "outlook.csv"), "-m", "outlook", "--sandbox"], tmp_path
    )
    assert code == 0 and "created 11" in output, output
    code, output = run_cli(
        ["import", str(SAMPLES / "outlook.csv"), "-m", "outlok", "--sandbox"], tmp_path
    )
    assert code == 2
    assert "outlok: mapping file not found" in output and "salesforce-leads" in output
