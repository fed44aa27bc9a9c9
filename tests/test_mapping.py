"""Mapping files: validated with line numbers, bound to headers, applied with transforms."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from bulk_sync.errors import MappingError
from bulk_sync.importer.dedupe import SeenKeys
from bulk_sync.mapper import apply_transform, map_chunk
from bulk_sync.mapping import Transform, json_schema, json_schema_text, load_mapping, parse_mapping
from bulk_sync.sources import Chunk
from bulk_sync.suggest import suggest_mapping

ROOT = Path(__file__).parents[1]
CONTRACT_EXAMPLE = """\
version: 1
source:
  sheet: Leads
  header_row: 1
defaults:
  region: US
fields:
  firstName: First Name
  lastName: [Last Name, Surname]
  email: {column: [Email, E-mail Address], transform: [strip, lower]}
  number: {column: [Phone, Mobile, Cell]}
  carrier: Carrier
name: Full Name
customFields:
  company: Company
  role: {column: Title, transform: title}
tags:
  - {column: Tags, split: ";"}
  - {value: Imported 2026}
note: {column: Notes, type: INFO}
assignUserIds: {value: [user-id-1]}
boardIds: {column: Boards, split: ","}
match: [number]
"""


def test_the_contract_example_loads_and_round_trips() -> None:
    mapping = parse_mapping(CONTRACT_EXAMPLE)
    assert mapping.fields.last_name is not None
    assert mapping.fields.last_name.column == ("Last Name", "Surname")
    assert mapping.tags[1].value == "Imported 2026"
    assert mapping.note is not None and mapping.note.type == "INFO"
    assert parse_mapping(mapping.to_yaml()) == mapping


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fields:\n  number: Phone\n  emial: Email\n", "line 3: fields.emial: unknown key"),
        (
            "fields:\n  number:\n    column: Phone\n    transform: [strip, lowercase]\n",
            "line 4: fields.number.transform: unknown transform 'lowercase'",
        ),
        ("fields:\n  email: Email\n", "`fields.number` is missing"),
        (
            "fields: {number: P}\ndefaults: {region: XX}\n",
            "line 2: defaults.region: unknown region 'XX'",
        ),
        ("fields: {number: {column: P, value: x}}\n", "give either `column` or `value`"),
        ("fields: {number: P}\nmatch: [phone]\n", "line 2: match[0]"),
        ("fields: {number: P}\nnote: {column: N, type: URGENT}\n", "line 2: note.type"),
        ("fields: {number: P}\nsource: {header_row: 0}\n", "line 2: source.header_row"),
        ("fields: [\n", "not valid YAML"),
        ("- a\n- b\n", "a mapping is a YAML object"),
        (
            "fields:\n  number:\n    column: P\n    transform: [{regex: '(unclosed'}]\n",
            "line 4: fields.number.transform: regex '(unclosed' does not compile: missing )",
        ),
        (
            "fields:\n  number: {column: P, transform: {regex: '(a)\\1'}}\n",
            "line 2: fields.number.transform: regex '(a)\\\\1' uses a backreference, which "
            "bulk-sync does not support",
        ),
        # what a mapping never needs: refused as met, before anything is built
        ("a: &a [x, x]\nb: [*a, *a]\n", "line 2: YAML aliases (*name) are not allowed"),
        ("base: &b {column: P}\nfields:\n  number:\n    <<: *b\n", "line 4: YAML aliases"),
        ("fields: {number: !!python/object:os.system P}\n", "line 1: the YAML tag !!python/object"),
        ("fields:\n  number: !!python/name:os.system\n", "line 2: the YAML tag !!python/name"),
        ("fields:\n  number: !custom P\n", "line 2: the YAML tag !custom is not allowed"),
        ("fields:\n  number: P\n  number: Q\n", "line 3: 'number' is given twice"),
        ("fields: " + "[" * 40 + "\n", "line 1: the mapping nests deeper than 32 levels"),
        ("source: {header_row: " + "9" * 5000 + "}\n", "line 1: this number is too long"),
        ('fields: {number: P}\nx: "\x01"\n', "line 2: the mapping holds the control"),
        ("", "the mapping is empty"),
        ("# only a comment\n", "the mapping is empty"),
        ("fields: {number: P}\n---\nfields: {}\n", "line 2: not valid YAML: expected a single"),
        ("fields: {number: P}\nsource: {header_row: many}\n", "line 2: source.header_row"),
        ("fields: {number: P}\ntags: 7\n", "line 2: tags"),
        ("fields: {number: [P, 5]}\n", "line 1: fields.number"),
    ],
)
def test_mapping_errors_name_the_line_and_the_key(text: str, message: str) -> None:
    with pytest.raises(MappingError) as caught:
        parse_mapping(text, source="m.yaml")
    assert message in str(caught.value)
    assert str(caught.value).startswith("m.yaml")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("key", ["api_key", "apiKey", "ECHOWIN_API_KEY", "token"])
def test_a_mapping_holding_an_api_key_is_refused_without_showing_it(key: str) -> None:
    with pytest.raises(MappingError) as caught:
        parse_mapping(f"fields: {{number: P}}\n{key}: sk_live_Zq81kEY\n", source="m.yaml")
    message = str(caught.value)
    assert f"line 2: {key}: unknown key (an API key never goes in a mapping" in message
    assert "sk_live_Zq81kEY" not in message


def test_dates_stay_text_and_anchors_without_aliases_are_harmless() -> None:
    mapping = parse_mapping("fields:\n  number: &p Phone\ntags: [{value: 2024-01-02}]\n")
    assert mapping.tags[0].value == "2024-01-02"
    assert parse_mapping("tags: [{value: 2024-13-45}]\nfields: {number: P}\n").tags[0].value


def test_a_mapping_file_that_is_too_big_or_not_text_names_the_problem(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("w") as handle:  # a valid mapping, padded with a comment past the limit
        handle.write("fields: {number: P}\n" + "#" * (1 << 20) + "\n")
    with pytest.raises(MappingError, match="the mapping is over 1 MB"):
        load_mapping(big)
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"fields:\n  number: P\n\x89PNG\xff\xfe\n")
    with pytest.raises(MappingError, match=r"bin.yaml: line 3: the mapping is not UTF-8 text"):
        load_mapping(binary)
    with pytest.raises(MappingError, match="cannot read the mapping"):
        load_mapping(tmp_path)


def test_binding_matches_headers_loosely_and_warns_about_repeats() -> None:
    mapping = parse_mapping("fields: {number: [Phone, Mobile], email: ' e-mail '}\n")
    bound = mapping.bind([" PHONE ", "E-Mail", "Phone", "Mobile"])
    assert bound.columns["fields.number"] == (0, 3)
    assert bound.columns["fields.email"] == (1,)
    assert bound.warnings == [
        "column ' PHONE ' appears more than once; the mapping uses the first (column 1)"
    ]


def test_a_list_of_columns_takes_the_first_non_empty_per_row() -> None:
    mapping = parse_mapping(
        "fields:\n  number: [Phone, Mobile]\n  email: {column: Email, transform: [strip, lower]}\n"
        "tags:\n  - {column: Tags, split: ';'}\n  - {value: Imported}\n"
        "customFields:\n  role: {column: Role, transform: "
        "[{replace: {mgr: Manager}}, {default: Employee}]}\n"
    )
    bound = mapping.bind(["Phone", "Mobile", "Email", "Tags", "Role"])
    chunk = Chunk(
        [["555", "777", " A@B.CO ", "VIP; Lead;", "mgr"], ["", "777", "", "", ""]], [2, 3]
    )
    mapped = map_chunk(bound, chunk)
    assert list(mapped["number"]) == ["555", "777"]
    assert list(mapped["email"]) == ["a@b.co", ""]
    assert list(mapped["tags"]) == [["VIP", "Lead", "Imported"], ["Imported"]]
    assert list(mapped["cf.role"]) == ["Manager", "Employee"]
    assert list(mapped.index) == [2, 3]


@pytest.mark.parametrize(
    ("step", "values", "result"),
    [
        (Transform("strip"), [" a "], ["a"]),
        (Transform("upper"), ["ab"], ["AB"]),
        (Transform("title"), ["ann lee"], ["Ann Lee"]),
        (Transform("digits"), ["+1 (212) 555"], ["1212555"]),
        (Transform("none_if_empty"), ["  ", "x"], ["", "x"]),
        (Transform.parse({"default": 5}), ["", "x"], ["5", "x"]),
        (Transform.parse({"replace": {"Y": "Yes"}}), ["Y", "YY"], ["Yes", "YY"]),
        (Transform.parse({"regex": r"(\d+)"}), ["ab 12 c", "none"], ["12", ""]),
        (Transform.parse({"regex": r"\d+"}), ["ab 12 c", "none"], ["12", ""]),
        (Transform.parse({"regex": r"(x)?\d"}), ["ab 12"], [""]),
        (Transform.parse({"regex": r"^(\w+)"}), ["Renée Lee", "٣٤ b"], ["Renée", "٣٤"]),
    ],
)
def test_transforms(step: Transform, values: list[str], result: list[str]) -> None:
    assert list(apply_transform(step, pd.Series(values, dtype=object))) == result


def test_the_committed_json_schema_is_current_and_accepts_the_examples() -> None:
    assert (ROOT / "mappings" / "schema.json").read_text() == json_schema_text(), (
        "run: python -c 'from bulk_sync.mapping import json_schema_text as s; "
        'open("mappings/schema.json", "w").write(s())\''
    )
    jsonschema = pytest.importorskip("jsonschema")
    for text in (CONTRACT_EXAMPLE, (ROOT / "mappings" / "leads.yaml").read_text()):
        jsonschema.validate(yaml.safe_load(text), json_schema())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"fields": {"number": {"colum": "P"}}}, json_schema())
    json.loads((ROOT / "mappings" / "schema.json").read_text())


def test_every_shipped_mapping_loads() -> None:
    for path in (ROOT / "mappings").glob("*.yaml"):
        load_mapping(path)


def test_suggest_matches_common_export_headers() -> None:
    mapping = suggest_mapping(
        ["Index", "First Name", "Last Name", "Company", "Phone 1", "Phone 2", "Email", "Notes"]
    )
    assert mapping is not None
    assert mapping.fields.number is not None
    assert mapping.fields.number.column == ("Phone 1", "Phone 2")
    assert mapping.note is not None and mapping.note.column == ("Notes",)
    assert suggest_mapping(["Name", "City"]) is None


def test_seen_keys_point_duplicates_at_their_first_row() -> None:
    seen = SeenKeys()
    assert seen.first_rows({2: ("a",), 3: ("b",), 4: ("a",)}) == {4: 2}
    assert seen.first_rows({7: ("b",), 8: ("c",), 9: ("c",)}) == {7: 3, 9: 8}
    # two keys (number or email): a row repeats an earlier one when either key does
    assert seen.first_rows({10: (5551, "x@y"), 11: (5552, "x@y"), 12: (5552, "z@y")}) == {
        11: 10,
        12: 11,
    }
    seen.close()
