"""The backup file: rows spooled to disk as pages arrive, then written out whole.

Columns are known only at the end (a contact may bring a custom field key no schema
names), so rows go first to a spool (a CSV beside the output, each row as long as
the columns were then), and `write_output` turns the spool into the final file in
one streaming pass: CSV (UTF-8 with a BOM) or XLSX (openpyxl's write-only mode,
row by row: a header bold, frozen and filtered, sensible widths, every cell text).
Memory holds one row at a time either way.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from ..files import PARTIAL

WIDTHS = {"id": 38, "contactId": 38, "email": 30, "number": 16, "createdAt": 25, "tags": 24,
          "note": 40}  # fmt: skip


class Spool:
    """Rows on disk, in the order written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle = path.open("w", encoding="utf-8", newline="")
        self._writer = csv.writer(self._handle)
        self.rows = 0

    def add(self, cells: list[str]) -> None:
        self._writer.writerow(cells)
        self.rows += 1

    def close(self) -> None:
        self._handle.close()

    def read(self, width: int) -> Iterator[list[str]]:
        with self.path.open(encoding="utf-8", newline="") as handle:
            for cells in csv.reader(handle):
                yield cells + [""] * (width - len(cells))


Table = tuple[str, list[str], Iterator[list[str]]]  # a sheet's name, columns, rows


def write_output(
    spool: Spool, columns: list[str], target: Path, form: str, extra: Sequence[Table] = ()
) -> list[Path]:
    """The spool written to `target` as `form` (".csv" or ".xlsx"), with `extra` tables
    as sheets of the workbook, or as CSV files beside it (`NAME-notes.csv`...): the
    paths of those sibling files, each written under its final name."""
    tables: list[Table] = [("Contacts", columns, spool.read(len(columns))), *extra]
    if form == ".xlsx":
        _write_xlsx(tables, target)
        return []
    _write_csv(columns, tables[0][2], target)
    siblings = []
    for name, table_columns, rows in tables[1:]:
        sibling = sibling_path(target, name)
        _write_csv(table_columns, rows, sibling)
        siblings.append(sibling)
    return siblings


def sibling_path(target: Path, table: str) -> Path:
    """`backup.csv` → `backup-notes.csv`; `backup.csv.partial` → `backup-notes.csv.partial`."""
    name = target.name.removesuffix(PARTIAL)
    stem, _, suffix = name.rpartition(".")
    return target.with_name(f"{stem}-{table.lower()}.{suffix}{target.name[len(name) :]}")


def _write_csv(columns: list[str], rows: Iterator[list[str]], target: Path) -> None:
    with target.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(rows)


def _write_xlsx(tables: list[Table], target: Path) -> None:
    book = Workbook(write_only=True)
    bold = Font(bold=True)
    for title, columns, rows in tables:
        sheet = book.create_sheet(title)
        sheet.freeze_panes = "A2"
        for i, name in enumerate(columns, start=1):
            sheet.column_dimensions[get_column_letter(i)].width = WIDTHS.get(name, 16)
        header = []
        for name in columns:
            cell = WriteOnlyCell(sheet, value=name)
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        count = 0
        for cells in rows:
            sheet.append([_xlsx_text(value) for value in cells])
            count += 1
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{count + 1}"
    book.save(target)


def _xlsx_text(value: str) -> str:
    """A cell value openpyxl stores as text: neutralized values never start with `=`
    (its formula mark); control characters XML cannot hold become U+FFFD."""
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value) if value else value
