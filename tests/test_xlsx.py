"""The streaming XLSX reader: cells as a person sees them, read as calamine read them,
in memory that does not depend on where the cells sit or what the file declares."""

from __future__ import annotations

import datetime as dt
import pickle
from pathlib import Path

import openpyxl
import pytest

from bulk_sync import xlsx
from bulk_sync.errors import InputError
from bulk_sync.sources import cell_text, open_source
from tests.corpus.xlsxparts import edited, num, row, text, workbook

ROOT = Path(__file__).resolve().parents[1]
REALWORLD = ROOT.parent / "shared" / "realworld"


def rows_of(path: Path, sheet: str | None = None) -> list[list[str]]:
    return [list(r) for r in xlsx.open_sheet(path, sheet).rows]


def calamine_rows(path: Path) -> list[list[str]]:
    """What the calamine reader (the one before this) made of the first sheet."""
    import python_calamine

    with python_calamine.CalamineWorkbook.from_path(str(path)) as book:
        found = book.get_sheet_by_index(0)
        start = found.start[0] if found.start else 0
        return [[] for _ in range(start)] + [[cell_text(v) for v in r] for r in found.iter_rows()]


def trimmed(rows: list[list[str]]) -> list[list[str]]:
    out = []
    for cells in rows:
        cells = list(cells)
        while cells and cells[-1] == "":
            cells.pop()
        out.append(cells)
    while out and not out[-1]:
        out.pop()
    return out


def formats_workbook(path: Path) -> Path:
    """Cells of every kind openpyxl writes, each with the number format a person would
    give it."""
    book = openpyxl.Workbook()
    sheet = book.active
    values = [
        ("Name", "General"),
        (15551234567, "General"),
        (0.1, "General"),
        (-1199.0, "General"),
        (1e20, "General"),
        (1.2345678901234567, "General"),
        (123456789012345678, "General"),
        (dt.date(2024, 1, 2), "yyyy-mm-dd"),
        (dt.datetime(2024, 3, 4, 5, 6, 7, 123456), "yyyy-mm-dd h:mm:ss"),
        (dt.time(13, 30), "h:mm"),
        (1.5, "[h]:mm"),
        (45293.0, "mm/dd/yy;@"),
        (45293.75, 'dd"d"'),
        (45293.0, "[$-409]mmmm d, yyyy"),
        (59.0, "yyyy-mm-dd"),
        (61.0, "yyyy-mm-dd"),
        (45293.999999999, "yyyy-mm-dd h:mm:ss"),
        (45293.0, '0 "days"'),
        (45293.0, "[Red]0"),
        (True, "General"),
        ("=not a formula", "@"),
        ("Zoë & <Co>", "General"),
    ]
    for number, (value, code) in enumerate(values, start=1):
        cell = sheet.cell(number, 1, value)
        cell.number_format = code
        sheet.cell(number, 3, f"row {number}")  # a gap at B
    book.save(path)
    return path


def test_cells_read_as_calamine_read_them(tmp_path: Path) -> None:
    path = formats_workbook(tmp_path / "formats.xlsx")
    assert trimmed(rows_of(path)) == trimmed(calamine_rows(path))


def xlsx_files() -> list[Path]:
    found = [*ROOT.glob("tests/data/**/*.xlsx"), ROOT / "samples" / "leads.xlsx"]
    if REALWORLD.is_dir():
        found += [*REALWORLD.glob("**/*.xlsx"), *REALWORLD.glob("**/*.xlsm")]
    return sorted(found)


@pytest.mark.parametrize("path", xlsx_files(), ids=lambda p: str(p.relative_to(p.parents[1])))
def test_every_known_workbook_reads_as_with_calamine(path: Path) -> None:
    assert trimmed(rows_of(path)) == trimmed(calamine_rows(path))


def test_what_differs_from_calamine_on_purpose(tmp_path: Path) -> None:
    """Error cells show the error (calamine: empty) and a zero-padded format pads
    (calamine: the bare number), as the spreadsheet shows them."""
    path = workbook(
        tmp_path / "w.xlsx",
        [("S", row(1, '<c r="A1" t="e"><v>#N/A</v></c>', num("B1", "2134", 1)))],
        formats={164: "00000"},
        xfs=[0, 164],
    )
    assert rows_of(path) == [["#N/A", "02134"]]
    assert calamine_rows(path) == [["", "2134"]]


def test_cells_read_as_the_spreadsheet_shows_them(tmp_path: Path) -> None:
    """ZIP codes with `00000`, serial dates, percent and fixed decimals read as a
    person sees them in the sheet (calamine gave 2134, 0.256, 12.5); text untouched."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Phone", "Zip", "Share", "Price", "Visit", "Code", "Total", "Rate"])
    sheet.append(["2125550100", 2134, 0.256, 12.5, dt.datetime(2025, 3, 4), "00123",
                  1234567.891, 0.5])  # fmt: skip
    for cell, code in (("B2", "00000"), ("C2", "0.0%"), ("D2", "0.00"), ("E2", "m/d/yyyy"),
                       ("G2", "#,##0.00"), ("H2", "0%")):  # fmt: skip
        sheet[cell].number_format = code
    book.save(tmp_path / "shown.xlsx")
    assert rows_of(tmp_path / "shown.xlsx") == [
        ["Phone", "Zip", "Share", "Price", "Visit", "Code", "Total", "Rate"],
        ["2125550100", "02134", "25.6%", "12.50", "2025-03-04", "00123", "1234567.89", "50%"],
    ]
    # and so they reach echowin: a text custom field takes the ZIP as shown
    from bulk_sync.importer.prepare import Preparer
    from bulk_sync.mapping import parse_mapping
    from bulk_sync.sources import open_source
    from bulk_sync.validation import TeamRules

    source = open_source(tmp_path / "shown.xlsx")
    mapping = parse_mapping("fields: {number: Phone}\ncustomFields: {zip: Zip, share: Share}\n")
    (chunk,) = source.chunks()
    out = Preparer(mapping.bind(source.headers), TeamRules(), "US").prepare(chunk)
    assert '"customFields": {"zip": "02134", "share": "25.6%"}' in out.bodies[2]


def test_strings_formulas_and_odd_cells(tmp_path: Path) -> None:
    cells = [
        '<c r="A1" t="s"><v>1</v></c>',  # shared, rich, with a phonetic guide
        '<c r="B1" t="str"><f>A1&amp;"x"</f><v>abc</v></c>',  # formula: its cached text
        '<c r="C1"><f>1+1</f></c>',  # formula never calculated: empty
        '<c r="D1" t="e"><f>#REF!+1</f><v>#REF!</v></c>',
        '<c r="E1" t="inlineStr"><is><r><t>a</t></r><r><t xml:space="preserve"> b</t></r>'
        "<rPh><t>PH</t></rPh></is></c>",
        '<c r="F1" t="b"><v>0</v></c>',
        '<c r="G1" t="d"><v>2024-01-02T03:04:05</v></c>',
        '<c r="H1" t="inlineStr"><is><t>line_x000D_break</t></is></c>',
        '<c t="n" r="I1" s="0"><v>1.0E+10</v></c>',  # attributes in another order
        "<c><v>7</v></c>",  # no reference: the next column
        '<c r="L1" t="inlineStr"><is><t><![CDATA[<b>&]]></t></is></c>',
    ]
    path = workbook(tmp_path / "w.xlsx", [("S", row(1, *cells))], shared=["zero", "x"])
    with edited(path) as parts:
        parts["xl/sharedStrings.xml"] = (
            f'<sst xmlns="{xlsx._MAIN}"><si><t>zero</t></si><si><r><t>ri</t></r><r><rPr><b/>'
            '</rPr><t>ch</t></r><rPh sb="0" eb="1"><t>PHON</t></rPh></si></sst>'
        ).encode()
    assert rows_of(path) == [
        ["rich", "abc", "", "#REF!", "a b", "FALSE", "2024-01-02 03:04:05", "line\rbreak",
         "10000000000", "7", "", "<b>&"]
    ]  # fmt: skip


def test_namespace_prefixes_and_missing_row_numbers(tmp_path: Path) -> None:
    path = tmp_path / "x.xlsx"
    workbook(path, [("S", "")])
    with edited(path) as parts:
        parts["xl/worksheets/sheet1.xml"] = (
            f'<x:worksheet xmlns:x="{xlsx._MAIN}"><x:sheetData>'
            '<x:row><x:c t="inlineStr"><x:is><x:t>Name</x:t></x:is></x:c></x:row>'
            '<x:row r="3"/><x:row><x:c r="B4"><x:v>5</x:v></x:c></x:row>'
            "</x:sheetData></x:worksheet>"
        ).encode()
    assert rows_of(path) == [["Name"], [], [], ["", "5"]]


def test_a_row_number_whose_quote_is_not_closed_reads_as_before(tmp_path: Path) -> None:
    # `<row r="12>`: the regex reads 12; the fast path must not read `1` (attrs[4:-1]) and
    # drop the row as a repeat of row 1
    path = tmp_path / "x.xlsx"
    workbook(path, [("S", "")])
    with edited(path) as parts:
        parts["xl/worksheets/sheet1.xml"] = (
            f'<worksheet xmlns="{xlsx._MAIN}"><sheetData>'
            '<row r="1"><c r="A1" t="inlineStr"><is><t>Name</t></is></c></row>'
            '<row r="12><c r="A12" t="inlineStr"><is><t>Ann</t></is></c></row>'
            "</sheetData></worksheet>"
        ).encode()
    assert rows_of(path)[-1] == ["Ann"]


def test_a_prefixed_sheet_holds_as_many_rows_as_it_says(tmp_path: Path) -> None:
    # `</x:row>` closes a row: it was counted as one more, and the bar showed twice the rows
    path = tmp_path / "x.xlsx"
    workbook(path, [("S", "")])
    with edited(path) as parts:
        rows = "".join(
            f'<x:row r="{n}"><x:c r="A{n}" t="inlineStr"><x:is><x:t>v{n}</x:t></x:is></x:c></x:row>'
            for n in range(1, 41)
        )
        parts["xl/worksheets/sheet1.xml"] = (
            f'<x:worksheet xmlns:x="{xlsx._MAIN}"><x:sheetData>{rows}</x:sheetData></x:worksheet>'
        ).encode()
    assert open_source(path).total_rows == 39


def test_rows_are_counted_whatever_the_prefix_of_sheet_data(tmp_path: Path) -> None:
    # rows without `r` are counted from <sheetData on; a long prefix puts that opening
    # across the boundary of the first block read (1 MiB): it must still be found
    path = tmp_path / "x.xlsx"
    workbook(path, [("S", "")])
    prefix = "p" * 200
    head = f'<{prefix}:worksheet xmlns:{prefix}="{xlsx._MAIN}">'
    pad = f"<!--{' ' * ((1 << 20) - len(head) - 100 - 7)}-->"
    rows = f"<{prefix}:row><{prefix}:c><{prefix}:v>1</{prefix}:v></{prefix}:c></{prefix}:row>"
    with edited(path) as parts:
        parts["xl/worksheets/sheet1.xml"] = (
            f"{head}{pad}<{prefix}:sheetData>{rows * 30}</{prefix}:sheetData></{prefix}:worksheet>"
        ).encode()
    assert open_source(path).total_rows == 29


def test_dates_in_a_1904_workbook(tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "w.xlsx", [("S", row(1, num("A1", "0.5", 1), num("B1", "1", 1)))],
        formats={164: "yyyy-mm-dd"}, xfs=[0, 164], date1904=True,
    )  # fmt: skip
    assert rows_of(path) == [["12:00:00", "1904-01-02"]]


def test_cells_far_apart_cost_nothing(tmp_path: Path) -> None:
    """A1 and XFD1048576: the calamine reader allocated 512 GB for these and aborted."""
    path = workbook(
        tmp_path / "far.xlsx",
        [("S", row(1, text("A1", "Phone")) + row(1048576, text("XFD1048576", "far")))],
    )
    source = open_source(path)
    assert source.headers == ["Phone"]
    assert source.total_rows == 1048575  # what the sheet really holds, blank rows too
    (chunk,) = list(source.chunks())
    assert chunk.row_numbers == [1048576]
    assert chunk.rows == [[""]]  # cut to the header's width...
    assert chunk.problems[1048576].startswith("row has 2 cells but the header has 1")  # ...refused


def test_the_declared_dimension_is_not_trusted(tmp_path: Path) -> None:
    path = tmp_path / "dim.xlsx"
    workbook(path, [("S", row(1, text("A1", "Phone")) + row(2, num("A2", "5551234567")))])
    with edited(path) as parts:
        sheet = parts["xl/worksheets/sheet1.xml"]
        parts["xl/worksheets/sheet1.xml"] = sheet.replace(
            b"<sheetData>", b'<dimension ref="A1:XFD1048576"/><sheetData>'
        )
    assert open_source(path).total_rows == 1


def test_sheets_by_name_hidden_sheets_said(tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "w.xlsx",
        [("Old", row(1, text("A1", "old"))), ("Leads", row(1, text("A1", "Phone")))],
        hidden=["Old"],
    )
    first = open_source(path)
    assert first.headers == ["old"]
    assert first.description == "sheet 'Old' (a hidden sheet)"
    assert "is hidden in Excel" in first.warnings[0]
    chosen = open_source(path, sheet=" leads ")
    assert (chosen.headers, chosen.description, chosen.warnings) == (["Phone"], "sheet 'Leads'", [])


def test_an_empty_sheet_says_so(tmp_path: Path) -> None:
    path = workbook(tmp_path / "w.xlsx", [("S", "")])
    with pytest.raises(InputError, match="no header on row 1: the sheet is empty"):
        open_source(path)


def _cfb(tmp_path: Path, name: str, encrypted: bool) -> Path:
    """The start of an OLE compound file, as Excel writes .xls and password-protected
    .xlsx files; the latter hold a stream named EncryptedPackage."""
    body = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    body += ("EncryptedPackage" if encrypted else "Workbook").encode("utf-16-le") + bytes(4000)
    (tmp_path / name).write_bytes(body)
    return tmp_path / name


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: _cfb(d, "p.xlsx", True),
         r"p.xlsx is password-protected: remove the password in Excel"),
        (lambda d: _cfb(d, "old.xlsx", False), "an Excel 97-2003 workbook with an .xlsx name"),
        (lambda d: d / "csv.xlsx", r"not an XLSX file \(not a ZIP archive\)"),
        (lambda d: d / "cut.xlsx", "the XLSX archive is damaged"),
        (lambda d: d / "crc.xlsx", "the XLSX archive is damaged"),
        (lambda d: d / "xfe.xlsx", "a cell lies in column 'XFE', past XFD"),
        (lambda d: d / "nosheet.xlsx", "sheet 'Leads' has no data in the archive"),
        (lambda d: d / "entities.xlsx", "declares XML entities"),
        (lambda d: d / "sst.xlsx", "its header cell B1 refers to a missing shared string; "
                                   "the file is damaged: save it again from Excel"),
    ],
    ids=["password", "xls-renamed", "not-zip", "truncated", "bad-crc", "past-xfd", "no-sheet",
         "entities", "shared-string"],
)  # fmt: skip
def test_broken_workbooks_are_one_sentence(tmp_path: Path, make: object, message: str) -> None:
    from tests.corpus import make as corpus

    corpus.broken_workbooks(tmp_path)
    path = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(InputError, match=message) as caught:
        source = open_source(path)
        for _ in source.chunks():
            pass
    assert "\n" not in str(caught.value)


def test_a_cell_whose_shared_string_is_missing_rejects_its_row_only(tmp_path: Path) -> None:
    from tests.corpus import make as corpus

    path = tmp_path / "lost.xlsx"
    corpus._lost_strings(path)
    raw = list(open_source(path).raw_chunks())
    (chunk,) = [pickle.loads(pickle.dumps(c)).cleaned() for c in raw]  # as workers get it
    tail = "refers to a missing shared string; the file is damaged: save it again from Excel"
    assert chunk.problems == {3: f"Phone: cell B3 {tail}", 4: f"Name: cell A4 {tail}"}
    assert chunk.rows == [["Ann", "+1 212 555 0100"], ["Ann", ""], ["", "+1 212 555 0102"],
                          ["Di", "+1 212 555 0103"]]  # fmt: skip
    # a column an earlier report added is left out: its damaged cell is no problem
    (chunk,) = [c.cleaned() for c in open_source(path).without(["Name"]).raw_chunks()]
    assert chunk.problems == {3: f"Phone: cell B3 {tail}"}


def test_the_shared_strings_table_is_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(xlsx, "MAX_SHARED_CHARS", 100)
    path = workbook(tmp_path / "w.xlsx", [("S", "")], shared=["x" * 60, "y" * 60])
    with pytest.raises(InputError, match="shared strings hold over"):
        open_source(path)


def test_a_row_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xlsx, "MAX_ROW_CHARS", 1000)
    monkeypatch.setattr(xlsx, "_BLOCK", 256)
    path = workbook(tmp_path / "w.xlsx", [("S", row(1, *(num(None, "1") for _ in range(300))))])
    with pytest.raises(InputError, match="holds one element of over"):
        list(open_source(path).chunks())


def test_packed_shared_strings_index_like_a_list() -> None:
    strings = xlsx._Strings()
    words = [f"w{i}" * (i % 3) for i in range(10_000)]
    for word in words:
        strings.add(word)
    strings.done()
    assert [strings[i] for i in (0, 1, 4095, 4096, 9999)] == [
        words[i] for i in (0, 1, 4095, 4096, 9999)
    ]
    with pytest.raises(IndexError):
        strings[10_000]


@pytest.mark.parametrize(
    ("sheet", "message"),
    [
        (row(1048577, text("A1048577", "x")), "it has a row 1,048,577, past row 1,048,576"),
        (row(1, text("A1", "Name")) + row(2, text("A2", "Ren\udce9e")), "is not UTF-8 text"),
    ],
    ids=["past-last-row", "not-utf8"],
)
def test_a_sheet_is_refused_before_its_first_row(tmp_path: Path, sheet: str, message: str) -> None:
    path = workbook(tmp_path / "w.xlsx", [("S", "")])
    with edited(path) as parts:
        parts["xl/worksheets/sheet1.xml"] = (
            f'<worksheet xmlns="{xlsx._MAIN}"><sheetData>{sheet}</sheetData></worksheet>'
        ).encode("utf-8", "surrogateescape")
    with pytest.raises(InputError, match=message):
        open_source(path)


def test_parts_are_found_by_their_relationships(tmp_path: Path) -> None:
    """Some writers name the shared strings xl/SharedStrings.xml: the workbook's
    relationships say where each part is."""
    path = workbook(tmp_path / "w.xlsx", [("S", row(1, '<c r="A1" t="s"><v>0</v></c>'))],
                    shared=["found"])  # fmt: skip
    with edited(path) as parts:
        parts["xl/SharedStrings.xml"] = parts.pop("xl/sharedStrings.xml")
        rels = parts["xl/_rels/workbook.xml.rels"].decode()
        parts["xl/_rels/workbook.xml.rels"] = rels.replace(
            "</Relationships>",
            f'<Relationship Id="rId9" Type="{xlsx._REL_NS[0]}/sharedStrings" '
            'Target="SharedStrings.xml"/></Relationships>',
        ).encode()
    assert rows_of(path) == [["found"]]


def test_a_row_with_empty_cells_at_its_end_is_as_wide_as_the_header(tmp_path: Path) -> None:
    """A spreadsheet leaves empty cells out: a short row is not a ragged one."""
    path = workbook(
        tmp_path / "w.xlsx",
        [("S", row(1, text("A1", "Name"), text("B1", "Phone"), text("C1", "Notes"))
          + row(2, text("A2", "Ann")) + row(3))],
    )  # fmt: skip
    (chunk,) = list(open_source(path).chunks())
    assert (chunk.rows, chunk.problems) == ([["Ann", "", ""]], {})
