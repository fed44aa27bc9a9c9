"""Reading spreadsheets people really have: encodings, delimiters, ragged rows, Excel cells."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bulk_sync.errors import InputError
from bulk_sync.sources import cell_text, ods_cells, open_source, sniff_delimiter

DATA = Path(__file__).parent / "data" / "sources"
REALWORLD = Path(__file__).parents[2] / "shared" / "realworld"


def read(
    name: str, **kwargs: object
) -> tuple[list[str], list[tuple[int, list[str]]], dict[int, str]]:
    source = open_source(DATA / name, **kwargs)  # type: ignore[arg-type]
    rows: list[tuple[int, list[str]]] = []
    problems: dict[int, str] = {}
    for chunk in source.chunks(size=2):
        rows += list(zip(chunk.row_numbers, chunk.rows, strict=True))
        problems |= chunk.problems
    return source.headers, rows, problems


@pytest.mark.parametrize(
    ("name", "description", "headers", "first"),
    [
        (
            "utf8_bom_semicolon.csv",
            "UTF-8 with BOM, ';'-delimited",
            ["First Name", "Phone", "Country"],
            ["Zoë", "0612345678", "NA"],
        ),
        ("utf16_tab.tsv", "UTF-16, tab-delimited", ["Name", "Phone"], ["José", "(555) 123-4567"]),
        (
            "cp1252.csv",
            "CP1252, ','-delimited",
            ["Name", "City", "Phone"],
            ["Jürgen Müller", "Straße", "5551234567"],
        ),
        (
            "shiftjis_thunderbird.csv",
            "CP932, ','-delimited",
            None,
            ["権兵衛", "名無し", "名無しの権兵衛", "", "名無しの権兵衛@host.invalid"],
        ),
        (
            "pipe.txt",
            "UTF-8, '|'-delimited",
            ["Name", "Phone", "Tags"],
            ["Ann", "5551234567", "a;b"],
        ),
    ],
)
def test_encodings_and_delimiters_are_detected(
    name: str, description: str, headers: list[str] | None, first: list[str]
) -> None:
    source = open_source(DATA / name)
    assert source.description == description
    if headers is not None:
        assert source.headers == headers
    assert not source.headers[0].startswith("\ufeff")
    row = next(source.chunks()).rows[0]
    assert row[: len(first)] == first


def test_cp1252_punctuation_survives() -> None:
    _, rows, _ = read("cp1252.csv")
    assert rows[2][1][1] == "Orléans \u2013 \u201ccentre\u201d"


def test_a_quoted_cell_with_line_breaks_is_one_row() -> None:
    _, rows, _ = read("multiline_quoted.csv")
    assert [n for n, _ in rows] == [2, 3]
    assert rows[0][1][1] == "line one\nline two, with comma"
    assert rows[1][1][0] == 'Bob "The Builder"'


def test_ragged_rows_are_reported_one_by_one() -> None:
    _, rows, problems = read("ragged.csv")
    assert [n for n, _ in rows] == [2, 3, 4, 5]
    assert all(len(cells) == 3 for _, cells in rows)
    assert set(problems) == {3, 4}  # too few; too many with data. Row 5's extra cell is empty.
    assert problems[3].startswith("row has 2 cells but the header has 3")
    assert problems[4].startswith("row has 4 cells but the header has 3")


def test_nul_bytes_are_removed_with_a_warning() -> None:
    source = open_source(DATA / "nul_bytes.csv")
    assert source.warnings == ["NUL bytes in the file were removed"]
    assert next(source.chunks()).rows == [["Ann", "5551234567"], ["Bob", "5551234568"]]


def test_a_header_only_file_has_no_rows() -> None:
    headers, rows, _ = read("header_only.csv")
    assert headers == ["Name", "Phone", "Email"]
    assert rows == []


def test_an_empty_file_is_a_clear_error() -> None:
    with pytest.raises(InputError, match="no header on row 1: the file is empty"):
        open_source(DATA / "empty.csv")


def test_values_are_never_retyped_or_made_missing() -> None:
    _, rows, _ = read("na_values.csv")
    assert [cells for _, cells in rows] == [
        ["Null", "None", "NA", "0123"],
        ["n/a", "NULL", "null", "#N/A"],
    ]
    frame = next(open_source(DATA / "na_values.csv").chunks()).frame()
    assert frame.notna().all().all()
    assert frame.loc[2, 3] == "0123"


def test_blank_rows_are_skipped_but_numbered() -> None:
    _, rows, _ = read("blank_rows.csv")
    assert [(n, cells[0]) for n, cells in rows] == [(3, "Ann"), (6, "Bob")]


def test_a_sheet_is_chosen_by_name_and_its_cells_read_as_a_person_sees_them() -> None:
    source = open_source(DATA / "workbook.xlsx", sheet="leads", header_row=3)
    assert source.description == "sheet 'Leads'"
    assert source.preamble[0][0] == "Leads export, November"
    assert source.headers == ["Name", "Phone", "Joined", "Score", "Zip", "VIP"]
    chunk = next(source.chunks())
    assert chunk.row_numbers == [4, 6]
    assert chunk.rows == [
        ["Ann", "15551234567", "2024-01-02", "0.1", "02134", "TRUE"],
        ["Bob", "15551234568", "2024-03-04 05:06:07", "12.5", "2134", "FALSE"],
    ]


def test_the_first_sheet_is_the_default() -> None:
    assert open_source(DATA / "workbook.xlsx").headers == ["not the data"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sheet": "Contacts"}, r"no sheet named 'Contacts'; the sheets are \['Notes', 'Leads'\]"),
        ({"sheet": "Leads", "header_row": 40}, "no header on row 40"),
    ],
)
def test_sheet_problems_are_clear_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        open_source(DATA / "workbook.xlsx", **kwargs)  # type: ignore[arg-type]


def test_files_that_are_not_tables_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        open_source(tmp_path / "missing.csv")
    (tmp_path / "contacts.vcf").write_text("BEGIN:VCARD")
    with pytest.raises(InputError, match=r"unknown file type \.vcf"):
        open_source(tmp_path / "contacts.vcf")
    (tmp_path / "fake.xlsx").write_text("Name,Phone\n")
    with pytest.raises(InputError, match="cannot be read as a spreadsheet"):
        open_source(tmp_path / "fake.xlsx")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (15551234567.0, "15551234567"),
        (1.5551234567e10, "15551234567"),
        (0.1, "0.1"),
        (-1199.0, "-1199"),
        (12, "12"),
        (True, "TRUE"),
        (dt.date(2024, 1, 2), "2024-01-02"),
        (dt.datetime(2024, 1, 2), "2024-01-02"),
        (dt.datetime(2024, 1, 2, 3, 4), "2024-01-02 03:04:00"),
        (None, ""),
        ("0123", "0123"),
    ],
)
def test_cell_text(value: object, text: str) -> None:
    assert cell_text(value) == text


@pytest.mark.parametrize(
    ("sample", "delimiter"),
    [
        ("a,b,c\n1,2,3\n", ","),
        ("a;b;c\n1;2,5;3\n", ";"),
        ("a\tb\n1\t2\n", "\t"),
        ("a|b\n1|2\n", "|"),
        ('name,notes\n"x","a;b;c;d"\n', ","),
        ("only\none\n", ","),
    ],
)
def test_sniff_delimiter(sample: str, delimiter: str) -> None:
    assert sniff_delimiter(sample) == delimiter


@pytest.mark.skipif(not REALWORLD.is_dir(), reason="../shared/realworld is not on this machine")
@pytest.mark.parametrize(
    ("name", "rows", "headers"),
    [
        ("datablist-sample-csv-files/customers-100.csv", 100, 12),
        ("datablist-sample-csv-files/leads-100.csv", 100, 14),
        ("odoo/res.partner.csv", 6, 17),
        ("roundcube-csv2vcard/gmail.csv", 1, 81),
        ("thunderbird-comm-central/utf16_addressbook.csv", 1, 37),
    ],
)
def test_real_world_files_read_whole(name: str, rows: int, headers: int) -> None:
    source = open_source(REALWORLD / name)
    chunks = list(source.chunks())
    assert len(source.headers) == headers
    assert sum(len(c.rows) for c in chunks) == rows
    assert not any(c.problems for c in chunks)


def _late(tmp_path: Path, name: str, tail: bytes, head: bytes = b"") -> Path:
    """A file whose first 70 KB are ASCII (a long cell on row 2), then `tail`."""
    path = tmp_path / name
    path.write_bytes(head + b"Name,Phone,Notes\nAnn,5551234567," + b"x" * 70_000 + b"\n" + tail)
    return path


def test_a_legacy_byte_past_the_first_64_kib_settles_the_encoding_first(tmp_path: Path) -> None:
    path = _late(tmp_path, "late.csv", "Renée,5551234568,\n".encode("cp1252"))
    source = open_source(path)
    assert source.description == "CP1252, ','-delimited"
    assert source.warnings == [
        "late.csv is not UTF-8 (byte 70036 is not): read as CP1252; check that accented "
        "letters look right in the reports, or save the file as CSV UTF-8 to be sure"
    ]
    assert path.read_bytes()[70036:70037] == b"\xe9"
    rows = [r for chunk in source.chunks() for r in chunk.rows]
    assert rows[1][:2] == ["Renée", "5551234568"]


def test_a_late_shift_jis_name_is_guessed_from_where_it_is(tmp_path: Path) -> None:
    path = _late(tmp_path, "late.csv", "山田太郎,5551234568,\n".encode("shift_jis"))
    source = open_source(path)
    assert source.description == "CP932, ','-delimited"
    assert [r for c in source.chunks() for r in c.rows][1][0] == "山田太郎"


@pytest.mark.parametrize(
    ("head", "tail", "message"),
    [
        (b"\xef\xbb\xbf", b"Ren\xe9e,1,\n", "not valid UTF-8 with BOM at byte 70039, though"),
        (b"", b"Ren\x81e,1,\n", r"not valid UTF-8 at byte 70036, nor .*CP1252; save the file"),
    ],
    ids=["bom", "neither"],
)
def test_an_undecodable_byte_anywhere_is_refused_before_any_row(
    tmp_path: Path, head: bytes, tail: bytes, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        open_source(_late(tmp_path, "bad.csv", tail, head))


def test_utf16_is_checked_to_the_end(tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    path.write_bytes(b"\xff\xfe" + "Name,Phone\nAnn,1\n".encode("utf-16-le") + b"\x00\xd8")
    with pytest.raises(InputError, match="not valid UTF-16 at byte 36"):
        open_source(path)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "this is a PNG image, not delimited text"),
        (b"PK\x03\x04" + bytes(100), r"this is a ZIP archive \(an .xlsx workbook\?\)"),
        (bytes(range(256)) * 4, "this is binary data, not text"),
        (b'Name,Phone\nAnn,"5551234567\nBob,5551234568\n', "a quote opened on row 2 is never"),
        (b'Name,Phone\nAnn,"' + b"x" * 200_000 + b'"\n', "row 2 holds a cell over 131,072"),
    ],
    ids=["png", "zip", "binary", "unclosed-quote", "huge-cell"],
)
def test_files_that_would_fail_half_way_fail_at_once(
    tmp_path: Path, data: bytes, message: str
) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(data)
    with pytest.raises(InputError, match=message):
        open_source(path)


def test_a_chunk_of_blank_rows_keeps_the_header_width(tmp_path: Path) -> None:
    path = tmp_path / "blanks.csv"
    path.write_text("Name,Phone\n" + ",\n" * 6000 + "Ann,5551234567\n")
    chunks = [raw.cleaned() for raw in open_source(path).raw_chunks()]
    assert chunks[0].rows == [] and chunks[0].frame().shape == (0, 2)
    assert chunks[-1].rows == [["Ann", "5551234567"]]


def _ods(path: Path, rows: str) -> Path:
    import zipfile

    content = (
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
        ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f'<office:body><office:spreadsheet><table:table table:name="S">{rows}'
        "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", content)
        z.writestr(
            "META-INF/manifest.xml",
            "<manifest:manifest"
            ' xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
            '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
            "</manifest:manifest>",
        )
    return path


def _ods_text(value: str) -> str:
    return (
        f'<table:table-cell office:value-type="string"><text:p>{value}</text:p></table:table-cell>'
    )


def test_an_ods_is_measured_before_calamine_holds_it(tmp_path: Path) -> None:
    trailing = '<table:table-cell table:number-columns-repeated="1020"/>'  # as LibreOffice writes
    normal = _ods(
        tmp_path / "ok.ods",
        f"<table:table-row>{_ods_text('Name')}{_ods_text('Phone')}{trailing}</table:table-row>"
        f"<table:table-row>{_ods_text('Ann')}{_ods_text('5551234567')}{trailing}</table:table-row>"
        '<table:table-row table:number-rows-repeated="1048574">'
        f"{trailing}</table:table-row>",
    )
    assert ods_cells(normal) == 4
    source = open_source(normal)
    assert (source.headers, next(source.chunks()).rows) == (
        ["Name", "Phone"],
        [["Ann", "5551234567"]],
    )
    far = _ods(
        tmp_path / "far.ods",
        f"<table:table-row>{_ods_text('Name')}</table:table-row>"
        '<table:table-row table:number-rows-repeated="1048574"><table:table-cell/>'
        "</table:table-row><table:table-row>"
        '<table:table-cell table:number-columns-repeated="16383"/>'
        f"{_ods_text('far')}</table:table-row>",
    )
    assert ods_cells(far) == 1048576 * 16384
    with pytest.raises(InputError, match="its data spans 17,179,869,184 cells"):
        open_source(far)
