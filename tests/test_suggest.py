"""`mapping suggest`: headers in many spellings and languages, columns by content, a
commented YAML that `import` takes as it is, and every column left out named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bulk_sync.client.models import CustomFieldSchema
from bulk_sync.mapping import parse_mapping
from bulk_sync.sources import open_source
from bulk_sync.suggest import sample_rows, suggest
from tests.test_cli import REALWORLD, run_cli

DATABLIST = REALWORLD / "datablist-sample-csv-files"


def targets(headers: list[str], rows: list[list[str]] = (), **kw: object) -> dict[str, object]:
    s = suggest(headers, rows, **kw)  # type: ignore[arg-type]
    return {c.target: c.columns if len(c.columns) > 1 else c.columns[0] for c in s.choices}


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (["Nombre", "Apellidos", "Correo electrónico", "Teléfono móvil"],
         {"firstName": "Nombre", "lastName": "Apellidos", "email": "Correo electrónico",
          "number": "Teléfono móvil"}),
        (["Prénom", "Nom", "Courriel", "Téléphone", "Portable"],
         {"firstName": "Prénom", "lastName": "Nom", "email": "Courriel",
          "number": ["Portable", "Téléphone"]}),
        (["Vorname", "Nachname", "E-Mail", "Handy", "Telefon"],
         {"firstName": "Vorname", "lastName": "Nachname", "email": "E-Mail",
          "number": ["Handy", "Telefon"]}),
        (["Given Name", "Family Name", "E-mail 1 - Value", "Phone 1 - Value", "Group Membership"],
         {"firstName": "Given Name", "lastName": "Family Name", "email": "E-mail 1 - Value",
          "number": "Phone 1 - Value", "tags": "Group Membership"}),
        (["First Name", "Last Name", "E-mail Address", "Business Phone", "Mobile Phone"],
         {"firstName": "First Name", "lastName": "Last Name", "email": "E-mail Address",
          "number": ["Mobile Phone", "Business Phone"]}),
    ],
)  # fmt: skip
def test_headers_in_many_spellings_and_languages(headers: list[str], expected: dict) -> None:
    assert targets(headers) == expected


def test_columns_no_header_names_are_matched_by_content() -> None:
    headers = ["Who", "Reach", "Contact", "Kind", "Level"]
    rows = [
        [f"Person {i}", f"(212) 555-01{i:02d}", f"p{i}@example.com",
         ["vip; lead", "lead", "vip", "cold; lead"][i % 4], ["Manager", "Employee"][i % 2]]
        for i in range(20)
    ]  # fmt: skip
    role = CustomFieldSchema(id="cf-role", name="role", label="Role", type="select",
                             options=["Manager", "Employee", "Executive"])  # fmt: skip
    found = suggest(headers, rows, [role])
    by = {c.target: c for c in found.choices}
    assert by["number"].columns == ["Reach"]
    assert by["number"].reason == "by content: 100% of 'Reach' are valid phone numbers"
    assert by["email"].columns == ["Contact"] and by["tags"].split == ";"
    assert by["customFields.role"].reason == (
        "by content: its values are the options of the team's select field 'role'"
    )
    assert [c.column for c in found.left_out] == ["Who"]


@pytest.mark.skipif(not DATABLIST.is_dir(), reason="../shared/realworld is not on this machine")
def test_leads_100_maps_the_contact_and_names_every_column_left_out() -> None:
    source = open_source(DATABLIST / "leads-100.csv")
    found = suggest(source.headers, sample_rows(source), source="leads-100.csv")
    text = found.yaml()
    mapping = parse_mapping(text)  # import takes it as it is
    mapping.bind(source.headers)
    assert mapping.fields.number.column == ("Phone 1", "Phone 2")
    assert mapping.fields.email.column == ("Email 1", "Email 2")
    assert mapping.fields.first_name.column == ("First Name",)
    for left_out in ("Deal Stage", "Source", "Website", "Lead Owner", "Company"):
        assert f": {left_out}  # " in text, left_out
    assert "  # deal_stage: Deal Stage  # 10 values repeat (" in text
    # uncommenting what was left out gives a mapping that still loads
    opened = text.replace("# customFields:", "customFields:").replace(
        "  # deal_stage", "  deal_stage"
    )
    assert parse_mapping(opened).custom_fields["deal_stage"].column == ("Deal Stage",)


@pytest.mark.skipif(not REALWORLD.is_dir(), reason="../shared/realworld is not on this machine")
@pytest.mark.parametrize("path", sorted(REALWORLD.glob("*/*.csv")), ids=lambda p: p.name)
def test_real_world_files_get_name_email_and_phone_right(path: Path) -> None:
    source = open_source(path)
    found = suggest(source.headers, sample_rows(source))
    by = {c.target: c.columns for c in found.choices}
    assert "number" in by, found.yaml()
    for target, columns in by.items():
        for column in columns:
            words = column.casefold()
            if target == "number":
                assert any(w in words for w in ("phone", "mobile", "tel", "handy")), column
            if target == "email":
                assert "mail" in words, column
    yaml.safe_load(found.yaml())


def test_the_cli_writes_a_mapping_that_validate_takes(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text("Name,Mobile,E-mail\nAda Lovelace,2125550100,a@b.co\n")
    code, output = run_cli(["mapping", "suggest", "in.csv", "-o", "m.yaml"], tmp_path)
    assert code == 0, output
    assert "number: Mobile  # header 'Mobile'" in (tmp_path / "m.yaml").read_text()
    code, output = run_cli(["validate", "in.csv", "--mapping", "m.yaml"], tmp_path)
    assert code == 0, output


@pytest.mark.parametrize(
    "preset", ["google-contacts", "outlook", "hubspot", "salesforce-leads", "mailchimp", "leads"]
)
def test_a_presets_sample_is_recognized_and_gets_the_preset(preset: str) -> None:
    from bulk_sync.mapping import load_mapping
    from bulk_sync.presets import resolve_mapping

    sample = Path(__file__).resolve().parents[1] / "samples" / f"{preset}.csv"
    source = open_source(sample)
    found = suggest(source.headers, sample_rows(source), source=sample.name)
    assert found.preset == preset
    assert found.mapping() == load_mapping(resolve_mapping(preset))
    text = found.yaml()
    assert f"looks like an export the preset {preset!r} reads" in text
    assert parse_mapping(text) == load_mapping(resolve_mapping(preset))


def test_a_file_like_no_preset_gets_its_own_mapping() -> None:
    assert suggest(["First Name", "Phone", "Email", "City"]).preset is None
