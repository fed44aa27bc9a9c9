"""The backup file: rows spooled to disk as pages arrive, then written out whole.

Columns are known only at the end (a contact may bring a custom field key no schema
names), so rows go first to a spool beside the output, each row as long as the
columns were then, and `write_output` puts the header in front when the columns are
known. CSV (UTF-8 with a BOM): the spool is CSV already, copied as it is when every
row has every column, else read back and padded. XLSX (xlsx.py): the spool holds
the sheet's rows as XML, made while the next page is on its way; the workbook wraps
it in a header bold, frozen and filtered, with sensible widths, every cell text.
Memory holds one row (or one copy buffer) at a time either way.
"""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

from ..files import PARTIAL
from .xlsx import Sheet, numbered, row_xml, write_xlsx

WIDTHS = {"id": 38, "contactId": 38, "email": 30, "number": 16, "createdAt": 25, "tags": 24,
          "note": 40}  # fmt: skip
DEFAULT_WIDTH = 16
_CHUNK = 1 << 20


class Spool:
    """Rows on disk, in the order written, in the form of the output (".csv" or
    ".xlsx"); `narrowest` is the fewest cells a row had."""

    def __init__(self, path: Path, form: str = ".csv") -> None:
        self.path = path
        self.form = form
        self._handle = path.open("w", encoding="utf-8", newline="")
        self._writer = csv.writer(self._handle)
        self._sheet: list[str] = []  # XLSX rows not yet written, one write per page
        self.rows = 0
        self.narrowest: int | None = None

    def add(self, cells: list[str]) -> None:
        if self.form == ".xlsx":
            self._sheet.append(row_xml(self.rows + 2, cells))
            if len(self._sheet) >= 100:
                self._flush()
        else:
            self._writer.writerow(cells)
        self.rows += 1
        if self.narrowest is None or len(cells) < self.narrowest:
            self.narrowest = len(cells)

    def _flush(self) -> None:
        self._handle.write("".join(self._sheet))
        self._sheet.clear()

    def close(self) -> None:
        if self._sheet:
            self._flush()
        self._handle.close()

    def read(self, width: int) -> Iterator[list[str]]:
        """A CSV spool's rows, each padded to `width` cells."""
        with self.path.open(encoding="utf-8", newline="") as handle:
            for cells in csv.reader(handle):
                yield cells + [""] * (width - len(cells))

    def chunks(self) -> Iterator[bytes]:
        """The spool's UTF-8 bytes as written, a chunk at a time (not decoded: they go
        into the file as they are)."""
        with self.path.open("rb") as handle:
            yield from iter(lambda: handle.read(_CHUNK), b"")


Table = tuple[str, list[str], Iterator[list[str]]]  # a sheet's name, columns, rows


def write_output(
    spool: Spool, columns: list[str], target: Path, form: str, extra: Sequence[Table] = ()
) -> list[Path]:
    """The spool written to `target` as `form` (".csv" or ".xlsx", the spool's own),
    with `extra` tables as sheets of the workbook, or as CSV files beside it
    (`NAME-notes.csv`...): the paths of those sibling files, each written under its
    final name."""
    if form != spool.form:
        raise ValueError(f"a {spool.form} spool cannot be written as {form}")
    if form == ".xlsx":
        size = spool.path.stat().st_size
        sheets = [Sheet("Contacts", columns, _widths(columns), spool.chunks(), spool.rows, size)]
        sheets += [Sheet(name, cols, _widths(cols), numbered(rows)) for name, cols, rows in extra]
        write_xlsx(target, sheets)
        return []
    if spool.narrowest is None or spool.narrowest >= len(columns):
        _copy_csv(columns, spool.path, target)
    else:
        _write_csv(columns, spool.read(len(columns)), target)
    siblings = []
    for name, table_columns, rows in extra:
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


def _copy_csv(columns: list[str], spool: Path, target: Path) -> None:
    """The header, then the spool's bytes: what `_write_csv` would write, when no row
    needs padding."""
    header = io.StringIO()
    csv.writer(header).writerow(columns)
    with target.open("wb") as out, spool.open("rb") as rows:
        out.write(header.getvalue().encode("utf-8-sig"))
        shutil.copyfileobj(rows, out, _CHUNK)


def _widths(columns: list[str]) -> list[float]:
    return [WIDTHS.get(name, DEFAULT_WIDTH) for name in columns]
