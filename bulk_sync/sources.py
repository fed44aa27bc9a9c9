"""Spreadsheets in, rows of text out: CSV/TSV/TXT and XLSX/XLSM/XLS/ODS, read in chunks.

Every value comes out as the text a person sees in the cell: nothing is turned into
a number, a date or a missing value (`NA`, `null` and `0123` survive as written).
Rows are numbered as a spreadsheet program numbers them (the header row is
`header_row`; a CSV record with line breaks inside a quoted cell is one row), and
entirely blank rows are numbered but never yielded.

CSV goes through the standard `csv` module rather than `pandas.read_csv`: it streams
record by record, reports ragged rows one by one (the C parser of pandas either
fails the file or pads silently), and never infers a type. Spreadsheets go through
python-calamine, which reads the cached result of a formula, never the formula.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import datetime as dt
import math
import operator
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import IO, Any

import chardet
import pandas as pd

from .errors import InputError

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
SHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
DELIMITERS = (",", ";", "\t", "|")
CHUNK_ROWS = 5000
_SAMPLE_BYTES = 1 << 16
_BOMS = (  # UTF-32 first: its little-endian BOM begins with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass
class Chunk:
    """Up to `CHUNK_ROWS` data rows, each as wide as the header, with their row numbers.

    `problems` maps a row number to why the row cannot be read as it stands (it has
    more or fewer cells than the header); such a row is rejected, never guessed at.
    """

    rows: list[list[str]]
    row_numbers: list[int]
    problems: dict[int, str] = field(default_factory=dict)

    def frame(self) -> pd.DataFrame:
        """The rows as a frame of text: columns by position, index by row number."""
        width = len(self.rows[0]) if self.rows else 0
        return pd.DataFrame(
            self.rows, index=self.row_numbers, columns=range(width), dtype=object
        ).fillna("")


@dataclass
class Source:
    """An opened source: its headers, what came before them, and a way to read its rows."""

    path: Path
    headers: list[str]
    header_row: int
    preamble: list[list[str]]  # the rows above the header, kept for the reports
    description: str  # "UTF-16, ';'-delimited" or "sheet 'Leads'"
    warnings: list[str]
    _records: Iterator[list[Any]]
    total_rows: int | None = None  # data rows, blank ones included, where the format says
    typed: bool = False  # records hold a spreadsheet's values, made text by `cell_text`

    def chunks(self, size: int = CHUNK_ROWS) -> Iterator[Chunk]:
        """The data rows in order, `size` records at a time; blank rows are skipped but
        counted."""
        for raw in self.raw_chunks(size):
            chunk = raw.cleaned()
            if chunk.rows:
                yield chunk

    def without(self, columns: Collection[str]) -> Source:
        """This source without the columns of these names (those an earlier run's report
        added, say): they are neither read nor repeated in new reports."""
        drop = {i for i, h in enumerate(self.headers) if h.strip() in columns}
        if not drop:
            return self
        keep = [i for i in range(len(self.headers)) if i not in drop]
        width = len(self.headers)

        def records() -> Iterator[list[Any]]:
            for record in self._records:
                if len(record) == width:
                    yield [record[i] for i in keep]
                else:  # ragged: stays ragged, to be reported as it is
                    yield [v for i, v in enumerate(record) if i not in drop]

        return dataclasses.replace(
            self,
            headers=[self.headers[i] for i in keep],
            _records=records(),
            warnings=[*self.warnings, "columns " + ", ".join(
                repr(self.headers[i]) for i in sorted(drop)
            ) + " come from an earlier report: left out"],
        )  # fmt: skip

    def raw_chunks(self, size: int = CHUNK_ROWS) -> Iterator[RawChunk]:
        """The records as read, `size` at a time: what `chunks` cleans. Cheap to make,
        so a process that only reads can hand the cleaning to others."""
        records = iter(self._records)
        first = self.header_row + 1
        while batch := list(islice(records, size)):
            yield RawChunk(batch, first, len(self.headers), self.typed)
            first += len(batch)


@dataclass
class RawChunk:
    """Consecutive records of a source, the first being row `first_row`, as read."""

    records: list[list[Any]]
    first_row: int
    width: int  # cells in the header
    typed: bool = False  # spreadsheet values, not text yet (see `cell_text`)

    def cleaned(self) -> Chunk:
        """Blank rows left out (their numbers too); rows as wide as the header, or a problem."""
        chunk = Chunk([], [])
        width = self.width
        for number, record in enumerate(self.records, start=self.first_row):
            cells = [cell_text(v) for v in record] if self.typed else record
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != width:
                cells = _fit(cells, width, number, chunk.problems)
            chunk.rows.append(cells)
            chunk.row_numbers.append(number)
        return chunk


def open_source(path: Path, *, sheet: str | None = None, header_row: int = 1) -> Source:
    """Open a CSV-like or spreadsheet file and read up to its header row.

    Raises InputError with one clear sentence when the file cannot be used:
    missing, unknown type, undecodable, no such sheet, no header row.
    """
    if header_row < 1:
        raise InputError(f"the header row must be 1 or more, not {header_row}")
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    records: Iterator[list[Any]]
    if suffix in CSV_SUFFIXES:
        records, description, warnings = _csv_records(path)
        height, typed = None, False
    elif suffix in SHEET_SUFFIXES:
        records, description, height = _sheet_records(path, sheet)
        warnings, typed = [], True
    else:
        known = ", ".join(CSV_SUFFIXES + SHEET_SUFFIXES)
        raise InputError(f"{path}: unknown file type {suffix or '(none)'}; expected one of {known}")
    if sheet is not None and suffix in CSV_SUFFIXES:
        warnings.append(f"--sheet {sheet!r} ignored: {path.name} is not a spreadsheet")

    preamble = []
    for _ in range(header_row - 1):
        row = next(records, None)
        if row is None:
            break
        preamble.append([cell_text(v) for v in row] if typed else row)
    headers = next(records, None)
    if headers is not None and typed:
        headers = [cell_text(v) for v in headers]
    if headers is None or not any(h.strip() for h in headers):
        where = "the file is empty" if not preamble and headers is None else "it is blank"
        raise InputError(f"{path}: no header on row {header_row}: {where}")
    headers = _trim_trailing_blank(headers)
    if headers:
        headers[0] = headers[0].lstrip("\ufeff")
    total = None if height is None else max(0, height - header_row)
    return Source(path, headers, header_row, preamble, description, warnings, records, total, typed)


def _fit(cells: list[str], width: int, number: int, problems: dict[int, str]) -> list[str]:
    extra = cells[width:]
    if len(cells) > width and not any(c.strip() for c in extra):
        return cells[:width]  # a trailing delimiter, not data
    problems[number] = (
        f"row has {len(cells)} cells but the header has {width}: "
        "a delimiter or quote inside a cell may have shifted the columns"
    )
    return (cells + [""] * width)[:width]


def _trim_trailing_blank(headers: list[str]) -> list[str]:
    """Drops unnamed columns at the end of the header (a trailing delimiter)."""
    end = len(headers)
    while end > 0 and not headers[end - 1].strip():
        end -= 1
    return headers[:end]


# -- CSV ---------------------------------------------------------------------------------


def _csv_records(path: Path) -> tuple[Iterator[list[str]], str, list[str]]:
    encoding = detect_encoding(path)
    try:
        with path.open("r", encoding=encoding, errors="strict", newline="") as probe:
            sample = probe.read(_SAMPLE_BYTES)
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: not valid {_encoding_name(encoding)} at byte {exc.start}; "
            "save the file as UTF-8 and try again"
        ) from None
    delimiter = sniff_delimiter(sample, tab_first=path.suffix.lower() == ".tsv")
    warnings = ["NUL bytes in the file were removed"] if "\x00" in sample else []
    shown = {"\t": "tab"}.get(delimiter, repr(delimiter))
    description = f"{_encoding_name(encoding)}, {shown}-delimited"
    return _csv_rows(path, encoding, delimiter), description, warnings


def _csv_rows(path: Path, encoding: str, delimiter: str) -> Iterator[list[str]]:
    with path.open("r", encoding=encoding, errors="strict", newline="") as text:
        try:
            yield from csv.reader(map(_WITHOUT_NUL, text), delimiter=delimiter, strict=False)
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{path}: not valid {_encoding_name(encoding)} past byte {exc.start}; "
                "save the file as UTF-8 and try again"
            ) from None
        except csv.Error as exc:
            raise InputError(f"{path}: cannot be read as CSV: {exc}") from None


_WITHOUT_NUL = operator.methodcaller("replace", "\x00", "")  # each line; C speed, no frame


def detect_encoding(path: Path) -> str:
    """The file's text encoding: a BOM if any, else UTF-8 if it all decodes, else a guess.

    The UTF-8 check reads the whole file (fast: about 1 GB/s) because one stray
    cp1252 byte deep in the file would otherwise stop the import half way.
    """
    with path.open("rb") as raw:
        head = raw.read(_SAMPLE_BYTES)
        for bom, encoding in _BOMS:
            if head.startswith(bom):
                return encoding
        if utf16 := _bomless_utf16(head):
            return utf16
        if _all_utf8(head, raw):
            return "utf-8"
    # Spreadsheet programs write legacy files in the Windows/web code pages (cp1252,
    # Shift_JIS, ...); leaving out Mac, DOS and mainframe ones keeps short samples
    # from reading as MacTurkish or Korean.
    guess = chardet.detect(head, encoding_era=chardet.EncodingEra.MODERN_WEB)["encoding"]
    if guess is None:
        raise InputError(
            f"{path}: cannot tell the text encoding (is it a spreadsheet saved with a "
            ".csv name?); save it as UTF-8 CSV and try again"
        )
    return codecs.lookup(guess).name


def _bomless_utf16(head: bytes) -> str | None:
    """UTF-16 without a BOM shows as a NUL in every other byte of ASCII text."""
    if len(head) < 4:
        return None
    even, odd = head[0::2].count(0), head[1::2].count(0)
    half = len(head) // 2
    if odd > 0.4 * half and even < 0.05 * half:
        return "utf-16-le"
    if even > 0.4 * half and odd < 0.05 * half:
        return "utf-16-be"
    return None


def _all_utf8(head: bytes, rest: IO[bytes]) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    try:
        decoder.decode(head)
        while block := rest.read(1 << 20):
            decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _encoding_name(encoding: str) -> str:
    return {"utf-8-sig": "UTF-8 with BOM", "utf-8": "UTF-8"}.get(encoding, encoding.upper())


def sniff_delimiter(sample: str, *, tab_first: bool = False) -> str:
    """The delimiter among `, ; tab |` that splits the first records most consistently.

    Each candidate parses the sample; the one whose records most often have as many
    cells as its header (and the header more than one cell) wins. Ties go to the
    order of DELIMITERS (tab first for .tsv files). A file of one column is
    comma-delimited.
    """
    lines = sample.splitlines(keepends=True)
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        lines.pop()  # the sample cut the last line short
    candidates = ("\t", ",", ";", "|") if tab_first else DELIMITERS
    best, best_score = ",", (0, 0)
    for delimiter in candidates:
        records = [r for r in csv.reader(lines[:200], delimiter=delimiter) if r][:50]
        if not records or len(records[0]) < 2:
            continue
        width = len(records[0])
        consistent = sum(len(r) == width for r in records)
        score = (consistent, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


# -- spreadsheets --------------------------------------------------------------------------


def _sheet_records(path: Path, sheet: str | None) -> tuple[Iterator[list[Any]], str, int]:
    """The sheet's rows of values (see `cell_text`), its description and its height."""
    import python_calamine as calamine

    try:
        workbook = calamine.CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises a handful of unrelated types
        raise InputError(f"{path}: cannot be read as a spreadsheet: {exc}") from None
    names = list(workbook.sheet_names)
    if not names:
        raise InputError(f"{path}: the workbook has no sheets")
    if sheet is None:
        name = names[0]
    else:
        matches = [n for n in names if n.strip().casefold() == sheet.strip().casefold()]
        if not matches:
            raise InputError(f"{path}: no sheet named {sheet!r}; the sheets are {names}")
        name = matches[0]
    try:
        found = workbook.get_sheet_by_name(name)
        rows = found.iter_rows()
    except Exception as exc:
        raise InputError(f"{path}: cannot read sheet {name!r}: {exc}") from None
    # rows are counted from row 1 of the sheet, whatever its first used row
    height = found.end[0] + 1 if found.end is not None else 0
    return rows, f"sheet {name!r}", height


def cell_text(value: Any) -> str:
    """A spreadsheet cell as the text a person sees in it.

    Whole numbers lose the float's `.0` (a phone Excel stored as 15551234567 reads
    `15551234567`, never `1.5551234567E+10`); dates become ISO dates.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return format(value, ".15g")
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if value is None:
        return ""
    return str(value)
