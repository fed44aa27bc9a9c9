"""The corpus of broken input files: each made here (none is committed: some are large),
with the outcome a run must give it. tests/README.md has the same table for people;
tests/test_corpus.py runs every case through the CLI.

    python tests/corpus/make.py DIR      # writes every file into DIR, to try by hand
"""

from __future__ import annotations

import random
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.corpus.xlsxparts import edited, num, row, text, workbook

HEADER = "Name,Phone\n"
GOOD = "Ann,+1 212 555 0100\nBob,+1 212 555 0101\n"


def phone(i: int) -> str:
    return f"+1 212 555 {100 + i % 9000:04d}"


@dataclass(frozen=True)
class Case:
    name: str  # the file's name
    what: str
    make: Callable[[Path], object]  # writes the file at the path it is given
    exit: int  # what `bulk-sync import` exits with
    says: str  # in its output: the sentence (exit 2) or the warning
    rejected: tuple[int, ...] = ()  # rows in rejected.csv
    created: int = 0  # contacts echowin holds after the run
    rss_mb: int = 0  # peak RSS bound, measured in a child process, where set
    seconds: int = 60  # the time bound stated, and pytest's timeout for the case


def _write(data: str | bytes) -> Callable[[Path], object]:
    def make(path: Path) -> object:
        return path.write_bytes(data.encode() if isinstance(data, str) else data)

    return make


def _junk(path: Path) -> None:
    path.write_bytes(random.Random(7).randbytes(4096))


def _png(path: Path) -> None:
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00"
        b"\x00\x1f\xf3\xffa" + random.Random(8).randbytes(300) + b"\x00\x00\x00\x00IEND\xaeB`\x82"
    )


def _big_cell(path: Path) -> None:
    with path.open("w") as out:
        out.write(HEADER + GOOD)
        out.write('Carl,"' + "x" * (12 << 20) + '"\n')
        out.write("Dee,+1 212 555 0103\n")


def _wide(path: Path) -> None:
    names = ["Name", "Phone", *(f"Extra {i}" for i in range(19_998))]
    with path.open("w") as out:
        out.write(",".join(names) + "\n")
        for i in range(3):
            out.write(f"P{i},{phone(i)}" + ",x" * 19_998 + "\n")


def _late_legacy(byte: bytes) -> Callable[[Path], object]:
    """Row 2 with 70 KB of ASCII in a column the mapping leaves out, then row 3 holding
    `byte` (Renée in CP1252 for b'\\xe9'): past the first 64 KiB, where the encoding was
    once guessed from."""

    def make(path: Path) -> None:
        path.write_bytes(
            b"Name,Phone,Notes\nAnn,+1 212 555 0100," + b"x" * 70_000
            + b"\nRen" + byte + b"e,+1 212 555 0101,\n"
        )  # fmt: skip

    return make


def _bom_then_bad(path: Path) -> None:
    path.write_bytes(b"\xef\xbb\xbf" + (HEADER + GOOD * 200).encode() + b"Ren\xe9e,+1\n")


def xlsx_rows(path: Path, cells: Iterator[str] | str, **kwargs: object) -> Path:
    return workbook(path, [("Leads", cells)], **kwargs)  # type: ignore[arg-type]


def _xlsx_good(path: Path) -> Path:
    return xlsx_rows(
        path,
        row(1, text("A1", "Name"), text("B1", "Phone"))
        + row(2, text("A2", "Ann"), text("B2", "+1 212 555 0100")),
    )


def _far(path: Path) -> None:
    xlsx_rows(
        path,
        row(1, text("A1", "Name"), text("B1", "Phone"))
        + row(2, text("A2", "Ann"), text("B2", "+1 212 555 0100"))
        + row(1048576, text("XFD1048576", "far away")),
    )


BOMB_ROWS = 400_000


def _bomb(path: Path) -> None:
    """400,000 rows (21 MB of XML) that deflate to 63 KB: the same row again and again."""
    head = row(1, text("A1", "Name"), text("B1", "Phone"))
    same = row(None, '<c t="s"><v>0</v></c><c t="s"><v>1</v></c>')
    pieces = (same * 1000 for _ in range(BOMB_ROWS // 1000))
    xlsx_rows(path, _chain(head, pieces), shared=["Ann", "+1 212 555 0100"])


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def _formulas(path: Path) -> None:
    xlsx_rows(
        path,
        row(1, text("A1", "Name"), text("B1", "Phone"))
        + row(2, text("A2", "Ann"), '<c r="B2" t="str"><f>"+1 212 555 "&amp;"0100"</f>'
              "<v>+1 212 555 0100</v></c>")
        + row(3, text("A3", "Bob"), '<c r="B3" t="e"><f>VLOOKUP(A3,X!A:B,2,0)</f><v>#N/A</v></c>')
        + row(4, text("A4", "Cy"), '<c r="B4" t="e"><f>#REF!</f><v>#REF!</v></c>')
        + row(5, text("A5", "Di"), num("B5", "12125550103")),
    )  # fmt: skip


def _merged_header(path: Path) -> None:
    """A1:B1 merged over "Name" (Excel keeps the value in A1 only), C1 Phone."""
    xlsx_rows(
        path,
        row(1, text("A1", "Name"), text("C1", "Phone"))
        + row(2, text("A2", "Ann"), text("B2", "Lee"), text("C2", "+1 212 555 0100")),
    )
    with edited(path) as parts:
        parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"].replace(
            b"</sheetData>",
            b'</sheetData><mergeCells count="1"><mergeCell ref="A1:B1"/></mergeCells>',
        )


def _hidden(path: Path) -> None:
    workbook(
        path,
        [("Old", row(1, text("A1", "Name"), text("B1", "Phone"))
          + row(2, text("A2", "Ann"), text("B2", "not a phone"))),
         ("Leads", row(1, text("A1", "Name"), text("B1", "Phone"))
          + row(2, text("A2", "Bob"), text("B2", "+1 212 555 0101")))],
        hidden=["Old"],
    )  # fmt: skip


def _password(path: Path) -> None:
    """The start of an OLE compound file holding an EncryptedPackage stream: what Excel
    writes for a workbook with a password to open."""
    body = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    path.write_bytes(body + "EncryptedPackage".encode("utf-16-le") + bytes(4000))


def _cut(path: Path) -> None:
    _xlsx_good(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _crc(path: Path) -> None:
    """A stored (uncompressed) sheet with one byte changed: the ZIP's CRC says so."""
    xlsx_rows(
        path,
        row(1, text("A1", "Name"), text("B1", "Phone"))
        + row(2, text("A2", "Ann"), text("B2", "+1 212 555 0100")),
        compression=zipfile.ZIP_STORED,
    )
    data = bytearray(path.read_bytes())
    at = data.index(b"+1 212 555 0100")
    data[at + 14] = ord("9")
    path.write_bytes(bytes(data))


def _past_xfd(path: Path) -> None:
    xlsx_rows(path, row(1, text("A1", "Name"), text("XFE1", "Phone")))


def _no_sheet_part(path: Path) -> None:
    _xlsx_good(path)
    with edited(path) as parts:
        for name in [n for n in parts if "worksheets" in n]:
            del parts[name]


def _entities(path: Path) -> None:
    _xlsx_good(path)
    laughs = b'<!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    with edited(path) as parts:
        parts["xl/workbook.xml"] = laughs + parts["xl/workbook.xml"]


def _missing_shared(path: Path) -> None:
    xlsx_rows(path, row(1, text("A1", "Name"), '<c r="B1" t="s"><v>5</v></c>'), shared=["x"])


def _lost_strings(path: Path) -> None:
    """Rows 3 and 4 hold a cell whose shared string index lies past the table (one as
    spreadsheet programs write a cell, one otherwise: both ways of reading it)."""
    xlsx_rows(
        path,
        row(1, text("A1", "Name"), text("B1", "Phone"))
        + row(2, '<c r="A2" t="s"><v>0</v></c>', '<c r="B2" t="s"><v>1</v></c>')
        + row(3, '<c r="A3" t="s"><v>0</v></c>', '<c r="B3" t="s"><v>9</v></c>')
        + row(4, '<c t="s" r="A4"><v>12</v></c>', text("B4", "+1 212 555 0102"))
        + row(5, text("A5", "Di"), text("B5", "+1 212 555 0103")),
        shared=["Ann", "+1 212 555 0100"],
    )


def _far_ods(path: Path) -> None:
    """An .ods of 1.5 KB whose cells sit at A1 and XFD1048576, as repeats declare them."""
    content = (
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
        ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        '<office:body><office:spreadsheet><table:table table:name="S"><table:table-row>'
        '<table:table-cell office:value-type="string"><text:p>Phone</text:p></table:table-cell>'
        '</table:table-row><table:table-row table:number-rows-repeated="1048574">'
        "<table:table-cell/></table:table-row><table:table-row>"
        '<table:table-cell table:number-columns-repeated="16383"/>'
        '<table:table-cell office:value-type="string"><text:p>far</text:p></table:table-cell>'
        "</table:table-row></table:table></office:spreadsheet></office:body>"
        "</office:document-content>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", content)


def broken_workbooks(directory: Path) -> None:
    """The broken XLSX files tests/test_xlsx.py opens directly."""
    (directory / "csv.xlsx").write_text(HEADER + GOOD)
    _cut(directory / "cut.xlsx")
    _crc(directory / "crc.xlsx")
    _past_xfd(directory / "xfe.xlsx")
    _no_sheet_part(directory / "nosheet.xlsx")
    _entities(directory / "entities.xlsx")
    _missing_shared(directory / "sst.xlsx")


CASES = [
    # -- file-level: exit 2, one sentence, nothing sent
    Case(
        "empty.csv",
        "an empty file (0 bytes)",
        _write(b""),
        2,
        "no header on row 1: the file is empty",
    ),
    Case(
        "blank_lines.csv",
        "blank lines only",
        _write("\n\n  \n\r\n"),
        2,
        "no header on row 1: it is blank",
    ),
    Case("binary_junk.csv", "4 KB of random bytes", _junk, 2, "this is binary data, not text"),
    Case("image.csv", "a PNG image renamed .csv", _png, 2, "this is a PNG image"),
    Case(
        "unclosed_quote.csv",
        "a quote opened on row 4 and never closed",
        _write(HEADER + GOOD + 'Carl,"+1 212 555 0102\nDee,+1 212 555 0103\n'),
        2,
        "a quote opened on row 4 is never closed",
    ),
    Case(
        "cell_12mb.csv",
        "a 12 MB quoted cell on row 4",
        _big_cell,
        2,
        "row 4 holds a cell over 131,072 characters",
        rss_mb=400,
        seconds=120,
    ),
    Case(
        "late_undecodable.csv",
        "70 KB of ASCII, then byte 0x81 (neither UTF-8 nor CP1252)",
        _late_legacy(b"\x81"),
        2,
        "not valid UTF-8 at byte 70041, nor CP874 nor CP1252",
    ),
    Case(
        "bom_then_bad.csv",
        "a UTF-8 BOM, then a CP1252 byte 8 KB in",
        _bom_then_bad,
        2,
        "not valid UTF-8 with BOM at byte 8017",
    ),
    Case(
        "no_phone_column.csv",
        "no column the mapping names",
        _write("Name,Fax\nAnn,1\n"),
        2,
        "no column 'Phone'",
    ),
    Case(
        "password.xlsx",
        "a password-protected XLSX (an OLE file, not a ZIP)",
        _password,
        2,
        "is password-protected: remove the password in Excel",
    ),
    Case("corrupt.xlsx", "an XLSX cut in half", _cut, 2, "the XLSX archive is damaged"),
    Case(
        "bad_crc.xlsx",
        "an XLSX whose sheet fails its CRC",
        _crc,
        2,
        "the XLSX archive is damaged (Bad CRC-32",
    ),
    Case(
        "csv_named.xlsx",
        "a CSV renamed .xlsx",
        _write(HEADER + GOOD),
        2,
        "not an XLSX file (not a ZIP archive)",
    ),
    Case(
        "past_xfd.xlsx",
        "a cell at XFE1, past Excel's last column",
        _past_xfd,
        2,
        "a cell lies in column 'XFE', past XFD",
    ),
    Case(
        "no_rows.xlsx",
        "an XLSX whose sheet has no rows",
        lambda p: xlsx_rows(p, ""),
        2,
        "no header on row 1: the sheet is empty",
    ),
    Case(
        "entities.xlsx",
        "XML entity declarations (billion laughs) in workbook.xml",
        _entities,
        2,
        "declares XML entities",
    ),
    Case(
        "far_cells.ods",
        "an .ods of 1.5 KB with cells at A1 and XFD1048576",
        _far_ods,
        2,
        "its data spans 17,179,869,184 cells",
    ),
    # -- row-level: the run goes on; the rows land in rejected.csv
    Case("header_only.csv", "a header and no rows", _write(HEADER), 0, "0 rows nothing to do"),
    Case(
        "mixed_delimiters.csv",
        "rows 3 and 4 use ';' where the header uses ','",
        _write(HEADER + "Ann,+1 212 555 0100\nBob;+1 212 555 0101\nCy;+1 212 555 0102\n"),
        1,
        "rejected 2",
        rejected=(3, 4),
        created=1,
    ),
    Case(
        "stray_quote.csv",
        "a stray quote on row 3 joins rows 3-4 until the next quote",
        _write(
            HEADER + 'Ann,+1 212 555 0100\n"Bob,+1 212 555 0101\nCy,"+1 212 555 0102\n'
            "Di,+1 212 555 0103\n"
        ),
        1,
        "rejected 1",
        rejected=(3,),
        created=2,
    ),
    Case(
        "ragged.csv",
        "rows with too few and too many cells",
        _write(HEADER + "Ann\nBob,+1 212 555 0101,x\nCy,+1 212 555 0102,\n"),
        1,
        "rejected 2",
        rejected=(2, 3),
        created=1,
    ),
    Case(
        "wide_20000.csv",
        "20,000 columns",
        _wide,
        0,
        "created 3",
        created=3,
        rss_mb=400,
        seconds=120,
    ),
    Case(
        "duplicate_headers.csv",
        "two columns named Phone: the first is used",
        _write("Name,Phone,Phone\nAnn,+1 212 555 0100,+1 212 555 0199\n"),
        0,
        "column 'Phone' appears more than once; the mapping uses the first",
        created=1,
    ),
    Case(
        "nul_bytes.csv",
        "NUL bytes inside cells",
        _write(b"Name,Phone\nA\x00nn,+1 212 555 0100\n"),
        0,
        "NUL bytes in the file were removed",
        created=1,
    ),
    Case(
        "late_cp1252.csv",
        "70 KB of ASCII, then Ren\\xe9e (CP1252) on row 3",
        _late_legacy(b"\xe9"),
        0,
        "is not UTF-8 (byte 70041 is not): read as CP1252",
        created=2,
    ),
    Case(
        "far_cells.xlsx",
        "cells at A1..B2 and XFD1048576 (1.5 KB)",
        _far,
        1,
        "rejected 1",
        rejected=(1048576,),
        created=1,
        rss_mb=300,
    ),
    Case(
        "formulas_errors.xlsx",
        "formulas (cached values read) and #N/A, #REF! cells",
        _formulas,
        1,
        "rejected 2",
        rejected=(3, 4),
        created=2,
    ),
    Case(
        "lost_shared_strings.xlsx",
        "cells on rows 3 and 4 refer to shared strings past the table",
        _lost_strings,
        1,
        "rejected 2",
        rejected=(3, 4),
        created=2,
    ),
    Case(
        "merged_header.xlsx",
        "a merged header cell over A1:B1",
        _merged_header,
        0,
        "created 1",
        created=1,
    ),
    Case(
        "hidden_sheet.xlsx",
        "the first sheet hidden: read, and said",
        _hidden,
        1,
        "is hidden in Excel",
        rejected=(2,),
    ),
]

BOMB = Case(
    f"bomb_{BOMB_ROWS}.xlsx", f"{BOMB_ROWS:,} rows (21 MB of XML) that deflate to 63 KB",
    _bomb, 0, "", rss_mb=200, seconds=120,
)  # fmt: skip


def make_all(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for case in [*CASES, BOMB]:
        case.make(directory / case.name)


if __name__ == "__main__":
    make_all(Path(sys.argv[1]))
    print(f"wrote {len(CASES) + 1} files into {sys.argv[1]}")
