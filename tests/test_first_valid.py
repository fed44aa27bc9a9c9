"""`number: [Phone 1, Phone 2]` takes, row by row, the first column whose number is
valid (not the first that holds a value), and a row with none names each column."""

from __future__ import annotations

import sys
from pathlib import Path

import phonenumbers
import pytest

from bulk_sync.importer.prepare import Preparer
from bulk_sync.mapping import load_mapping, parse_mapping
from bulk_sync.sources import open_source
from bulk_sync.validation import TeamRules

ROOT = Path(__file__).resolve().parents[1]
DATABLIST = ROOT.parent / "shared" / "realworld" / "datablist-sample-csv-files"


def prepared(path: Path, mapping_text: str, region: str = "US") -> tuple[dict[int, str], ...]:
    source = open_source(path)
    bound = parse_mapping(mapping_text).bind(source.headers, source=path.name)
    preparer = Preparer(bound, TeamRules(), region)
    numbers: dict[int, str] = {}
    rejected: dict[int, str] = {}
    for chunk in source.chunks():
        out = preparer.prepare(chunk)
        rejected |= out.rejected
        numbers |= {row: body.split('"number": "')[1].split('"')[0] for row, body in
                    out.bodies.items()}  # fmt: skip
    return numbers, rejected


def oracle(values: list[str], region: str) -> str | None:
    """phonenumbers alone: the first value it calls a valid number, as E.164."""
    for value in values:
        try:
            parsed = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return None


@pytest.mark.skipif(not DATABLIST.is_dir(), reason="../shared/realworld is not on this machine")
@pytest.mark.parametrize("name", ["customers-100.csv", "leads-100.csv"])
def test_the_first_valid_phone_wins_as_phonenumbers_says_row_by_row(name: str) -> None:
    path = DATABLIST / name
    numbers, rejected = prepared(path, "fields: {number: [Phone 1, Phone 2]}\n")
    source = open_source(path)
    phone1, phone2 = source.headers.index("Phone 1"), source.headers.index("Phone 2")
    expected = {}
    for chunk in source.chunks():
        for row, cells in zip(chunk.row_numbers, chunk.rows, strict=True):
            expected[row] = oracle([cells[phone1], cells[phone2]], "US")
    assert {row: numbers.get(row) for row in expected} == expected
    accepted = sum(v is not None for v in expected.values())
    assert len(numbers) == accepted and len(rejected) == len(expected) - accepted
    # more than the first filled column alone would give
    first_only, _ = prepared(path, "fields: {number: Phone 1}\n")
    assert len(numbers) > len(first_only)


def test_a_row_with_no_valid_column_names_each_one(tmp_path: Path) -> None:
    lines = ["Phone,Mobile,Email,Email 2", "call me,555,x@,y@example.com",
             "n/a,+1 212 555 0100,,", ",,a@b,"]  # fmt: skip
    (tmp_path / "in.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    text = "fields: {number: [Phone, Mobile], email: [Email, Email 2]}\n"
    numbers, rejected = prepared(tmp_path / "in.csv", text)
    assert numbers == {3: "+12125550100"}
    assert rejected[2] == (
        "Phone: number 'call me' cannot be read as a phone number: too few digits, or letters "
        "in it; Mobile: number '555' is too short for a phone number"
    )
    assert rejected[4] == (
        "Phone, Mobile: number is empty, and it is required; "
        "Email, Email 2: email 'a@b' is not an email address"
    )


def test_date_and_number_transforms_read_values_as_the_sheet_means_them(tmp_path: Path) -> None:
    from bulk_sync.client.models import CustomFieldSchema

    lines = ["Phone,Visit,Budget", '2125550100,03/04/2025,"1.200,50 €"',
             "2125550101,4 March 2025,12", "2125550102,2025-04-03,abc",
             "2125550103,04/03/25,"]  # fmt: skip
    (tmp_path / "in.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    text = (
        "fields: {number: Phone}\n"
        "customFields:\n"
        "  next_visit: {column: Visit, transform: {date: ['%d/%m/%Y', '%d %B %Y']}}\n"
        "  budget: {column: Budget, transform: {number: {decimal: ',', strip: '€ '}}}\n"
    )
    source = open_source(tmp_path / "in.csv")
    team = TeamRules({
        "next_visit": CustomFieldSchema(id="1", name="next_visit", type="date"),
        "budget": CustomFieldSchema(id="2", name="budget", type="number"),
    })  # fmt: skip
    preparer = Preparer(parse_mapping(text).bind(source.headers), team, "US")
    (chunk,) = source.chunks()
    out = preparer.prepare(chunk)
    assert '"customFields": {"next_visit": "2025-04-03", "budget": 1200.5}' in out.bodies[2]
    assert '"customFields": {"next_visit": "2025-03-04", "budget": 12}' in out.bodies[3]
    assert out.rejected == {
        4: "Visit: '2025-04-03' is not a date written '%d/%m/%Y' or '%d %B %Y'; "
        "Budget: 'abc' is not a number written with ',' for decimals",
        5: "Visit: '04/03/25' is not a date written '%d/%m/%Y' or '%d %B %Y'",
    }


def test_a_number_with_a_thousands_dot_is_never_read_silently(tmp_path: Path) -> None:
    from bulk_sync.client.models import CustomFieldSchema

    (tmp_path / "in.csv").write_text("Phone,Budget\n2125550100,1.200\n", encoding="utf-8")
    source = open_source(tmp_path / "in.csv")
    team = TeamRules({"budget": CustomFieldSchema(id="2", name="budget", type="number")})
    mapping = parse_mapping("fields: {number: Phone}\ncustomFields: {budget: Budget}\n")
    (chunk,) = source.chunks()
    out = Preparer(mapping.bind(source.headers), team, "US").prepare(chunk)
    assert out.rejected[2] == (
        "Budget: budget '1.200' could be 1200 (a dot between thousands) or 1.2: say which in "
        "the mapping with transform: {number: {decimal: ','}} or {number: {decimal: '.'}}"
    )


def test_a_country_column_reads_each_rows_number_with_its_own_region(tmp_path: Path) -> None:
    lines = ["Phone,Country", "020 7946 0958,United Kingdom", "030 1234567,DE",
             "(212) 555-0100,", "+33 1 23 45 67 89,US", "0151 12345678,Narnia"]  # fmt: skip
    (tmp_path / "in.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    numbers, rejected = prepared(
        tmp_path / "in.csv", "fields: {number: {column: Phone, region_column: Country}}\n"
    )
    assert numbers == {2: "+442079460958", 3: "+49301234567", 4: "+12125550100",
                       5: "+33123456789"}  # fmt: skip
    assert rejected[6].startswith("Country: 'Narnia' is not a country name or ISO code")


def test_without_a_country_column_no_row_is_read_with_another_region(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text("Phone,Country\n020 7946 0958,United Kingdom\n")
    numbers, rejected = prepared(tmp_path / "in.csv", "fields: {number: Phone}\n")
    assert numbers == {} and "too long" in rejected[2]  # read as a US number, as asked


def test_a_dry_run_prepares_rows_as_an_import_does(tmp_path: Path) -> None:
    # a dry run stops at each row's first valid number (it looks nothing up, so it needs no
    # alternates): the verdicts, reasons, keys and tags must still be an import's
    sys.path.insert(0, str(ROOT / "samples"))
    from generate import messy_rows, write_csv  # type: ignore[import-not-found]

    path = tmp_path / "messy.csv"
    write_csv(path, messy_rows(3_000, seed=12))
    source = open_source(path)
    bound = load_mapping(ROOT / "mappings" / "leads.yaml").bind(source.headers)
    full, dry = Preparer(bound, TeamRules(), "US"), Preparer(bound, TeamRules(), "US", bodies=False)
    alternates = 0
    for chunk in source.chunks():
        sent, checked = full.prepare(chunk), dry.prepare(chunk)
        assert checked.rejected == sent.rejected
        assert checked.keys == sent.keys
        assert checked.tags == sent.tags
        assert checked.lines == sent.lines
        assert (checked.bodies, checked.alternates) == ({}, {})
        alternates += len(sent.alternates)
    assert alternates > 100  # rows with two valid numbers are there to be told apart
