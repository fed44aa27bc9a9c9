"""XLSX written as a stream, row by row: the least of the format a spreadsheet needs.

openpyxl's write-only mode builds a cell object and an XML element for every cell, a
few microseconds each: at 100,000 contacts that took longer than reading them from a
server without rate limits. Here a row is one string (`row_xml`), made while the pages are read, and
a sheet is its rows between a head and a tail written when the columns are known:
a header bold, frozen and filtered, widths per column. Every cell is an inline
string (`t="inlineStr"`): text, never a number or a formula, and no table of
shared strings that would grow with the team. A row shorter than the header simply
has no cell in the columns added after it was written (an empty cell).

Values are escaped for XML here; characters XML 1.0 cannot hold (control
characters, lone surrogates, U+FFFE/U+FFFF) become U+FFFD, and a carriage return
is kept as `&#13;` so that it reads back as written.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from xml.sax.saxutils import quoteattr

# Deflate level: 1 is four times faster than the default (6) on sheet XML, for a
# file about a fifth larger.
COMPRESS_LEVEL = 1
ZIP64_FROM = 1 << 31  # bytes of sheet XML (a zip entry without ZIP64 holds up to 4 GiB)
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

_SPECIAL = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_letters: list[str] = []
_BOLD = ' s="1"'  # the header's cell format (see _STYLES)


def column_letter(index: int) -> str:
    """`A` for 0, `Z` for 25, `AA` for 26..."""
    while len(_letters) <= index:
        n, name = len(_letters) + 1, ""
        while n:
            n, rest = divmod(n - 1, 26)
            name = chr(65 + rest) + name
        _letters.append(name)
    return _letters[index]


def _escape(value: str) -> str:
    value = _ILLEGAL.sub("\ufffd", value)
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return value.replace("\r", "&#13;")


def row_xml(number: int, cells: list[str], style: str = "") -> str:
    """Row `number` (1 is the header) as sheet XML; empty cells are left out."""
    column_letter(len(cells))
    n = str(number)
    texts = cells
    if _SPECIAL.search("".join(cells)) is not None:
        texts = [_escape(v) for v in cells]
    if list(map(str.strip, cells)) == cells:  # no cell starts or ends in a space
        parts = [
            f'<c r="{letter}{n}"{style} t="inlineStr"><is><t>{t}</t></is></c>'
            for letter, t in zip(_letters, texts, strict=False)
            if t
        ]
    else:
        parts = [
            f'<c r="{letter}{n}"{style} t="inlineStr"><is><t{_preserve(v)}>{t}</t></is></c>'
            for letter, v, t in zip(_letters, cells, texts, strict=False)
            if t
        ]
    return f'<row r="{n}">{"".join(parts)}</row>'


def _preserve(value: str) -> str:
    """Tells a reader to keep the spaces at the ends of this value."""
    return ' xml:space="preserve"' if value != value.strip() else ""


@dataclass(frozen=True)
class Sheet:
    """A sheet's name, columns and column widths, and its data rows as XML: one
    `row_xml` string a row numbered from 2 (`count` None: counted here), or chunks
    of such rows as UTF-8 bytes holding `count` rows in all; `size`, their bytes if
    known."""

    title: str
    columns: list[str]
    widths: list[float]
    rows: Iterable[str | bytes]
    count: int | None = None
    size: int = 0


def numbered(rows: Iterable[list[str]]) -> Iterator[str]:
    """Rows of cells as `row_xml` strings, numbered from 2 (below the header)."""
    for number, cells in enumerate(rows, start=2):
        yield row_xml(number, cells)


def write_xlsx(target: Path, sheets: Sequence[Sheet]) -> None:
    """The workbook, sheet by sheet; memory holds one row or chunk at a time."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL) as book:
        filters = []
        for number, sheet in enumerate(sheets, start=1):
            # ZIP64 only where it is needed: some readers stumble on it
            large = sheet.size > ZIP64_FROM
            with book.open(f"xl/worksheets/sheet{number}.xml", "w", force_zip64=large) as raw:
                filters.append(_write_sheet(raw, sheet))
        book.writestr("[Content_Types].xml", _content_types(len(sheets)))
        book.writestr("_rels/.rels", _ROOT_RELS)
        book.writestr("xl/workbook.xml", _workbook(sheets, filters))
        book.writestr("xl/_rels/workbook.xml.rels", _workbook_rels(len(sheets)))
        book.writestr("xl/styles.xml", _STYLES)


def _write_sheet(raw: IO[bytes], sheet: Sheet) -> str:
    """The sheet's XML; returns the range its filter covers (`A1:N101`)."""
    cols = "".join(
        f'<col min="{i}" max="{i}" width="{w:g}" customWidth="1"/>'
        for i, w in enumerate(sheet.widths, start=1)
    )
    head = (
        f'{_DECL}<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">'
        '<sheetViews><sheetView workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
        "</sheetView></sheetViews>"
        '<sheetFormatPr defaultRowHeight="15"/>'
        + (f"<cols>{cols}</cols>" if cols else "")
        + "<sheetData>"
        + row_xml(1, sheet.columns, _BOLD)
    )
    raw.write(head.encode())
    chunks = 0
    for chunks, chunk in enumerate(sheet.rows, start=1):  # noqa: B007 - counted
        raw.write(chunk.encode() if isinstance(chunk, str) else chunk)
    count = chunks if sheet.count is None else sheet.count
    ref = f"A1:{column_letter(max(len(sheet.columns), 1) - 1)}{count + 1}"
    raw.write(f'</sheetData><autoFilter ref="{ref}"/></worksheet>'.encode())
    return ref


def _content_types(count: int) -> str:
    sheet = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{sheet}"/>'
        for i in range(1, count + 1)
    )
    return (
        f'{_DECL}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        f"{overrides}</Types>"
    )


_ROOT_RELS = (
    f'{_DECL}<Relationships xmlns="{_PKG_REL}">'
    '<Relationship Id="rId1" Target="xl/workbook.xml" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>'
    "</Relationships>"
)


def _workbook(sheets: Sequence[Sheet], filters: Sequence[str]) -> str:
    entries = "".join(
        f'<sheet name={quoteattr(s.title)} sheetId="{i}" r:id="rId{i}"/>'
        for i, s in enumerate(sheets, start=1)
    )
    # Excel keeps each sheet's filter range under this hidden name too
    names = "".join(
        f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
        f"{_quoted_range(s.title, ref)}</definedName>"
        for i, (s, ref) in enumerate(zip(sheets, filters, strict=True))
    )
    return (
        f'{_DECL}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
        f'<bookViews><workbookView activeTab="0"/></bookViews><sheets>{entries}</sheets>'
        f"<definedNames>{names}</definedNames></workbook>"
    )


def _quoted_range(title: str, ref: str) -> str:
    first, last = ref.split(":")
    absolute = ":".join(re.sub(r"([A-Z]+)(\d+)", r"$\1$\2", c) for c in (first, last))
    return _escape("'" + title.replace("'", "''") + "'!" + absolute)


def _workbook_rels(count: int) -> str:
    kind = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    sheets = "".join(
        f'<Relationship Id="rId{i}" Type="{kind}/worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, count + 1)
    )
    styles = f'<Relationship Id="rId{count + 1}" Type="{kind}/styles" Target="styles.xml"/>'
    return f'{_DECL}<Relationships xmlns="{_PKG_REL}">{sheets}{styles}</Relationships>'


# Two cell formats: 0 plain, 1 bold (the header).
_STYLES = (
    f'{_DECL}<styleSheet xmlns="{_MAIN}">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
