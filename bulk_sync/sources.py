"""Spreadsheets in, rows of text out: CSV/TSV/TXT and XLSX/XLSM/XLS/ODS, read in chunks.

Every value comes out as the text a person sees in the cell: nothing is turned into
a number, a date or a missing value (`NA`, `null` and `0123` survive as written).
Rows are numbered as a spreadsheet program numbers them (the header row is
`header_row`; a CSV record with line breaks inside a quoted cell is one row), and
entirely blank rows are numbered but never yielded.

CSV goes through the standard `csv` module rather than `pandas.read_csv`: it streams
record by record, reports ragged rows one by one (the C parser of pandas either
fails the file or pads silently), and never infers a type. XLSX/XLSM are read as a
stream by `xlsx` (memory does not grow with the sheet); XLS and ODS go through
python-calamine, which holds a sheet whole (bounded: see `_sheet_records`). Both read
the cached result of a formula, never the formula.

Whatever would stop an import half way is found before the first row is handed out:
the whole file's encoding, a damaged archive, a cell too big, a quote never closed.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import datetime as dt
import io
import math
import operator
import re
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import IO, Any

import chardet
import pandas as pd

from .errors import InputError
from .xlsx import DamagedRow, Sheet, missing_strings, open_sheet

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
XLSX_SUFFIXES = (".xlsx", ".xlsm")
SHEET_SUFFIXES = (*XLSX_SUFFIXES, ".xls", ".ods")
DELIMITERS = (",", ";", "\t", "|")
CHUNK_ROWS = 5000
_SAMPLE_BYTES = 1 << 16
_BOMS = (  # UTF-32 first: its little-endian BOM begins with UTF-16's. The codec reads
    # what follows the BOM (the encoding, the whole file).
    (codecs.BOM_UTF32_LE, "utf-32", "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32", "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig", "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16", "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16", "utf-16-be"),
)


@dataclass
class Chunk:
    """Up to `CHUNK_ROWS` data rows, each as wide as the header, with their row numbers.

    `problems` maps a row number to why the row cannot be read as it stands (it has
    more or fewer cells than the header, or an XLSX cell of it is damaged); such a row
    is rejected, never guessed at.
    """

    rows: list[list[str]]
    row_numbers: list[int]
    problems: dict[int, str] = field(default_factory=dict)
    width: int = 0  # the header's: a chunk of blank rows only has no row to tell it

    def frame(self) -> pd.DataFrame:
        """The rows as a frame of text: columns by position, index by row number."""
        width = len(self.rows[0]) if self.rows else self.width
        frame = pd.DataFrame(self.rows, index=self.row_numbers, columns=range(width), dtype=object)
        if any(len(row) != width for row in self.rows):  # cells missing: None, made ""
            frame = frame.fillna("")
        return frame


@dataclass
class ReadMeter:
    """How far a CSV has been read, in bytes and data records: an estimate of its rows
    (a CSV does not say how many it has) that a progress bar can show before the end."""

    size: int  # the file's bytes
    position: Callable[[], int] = lambda: 0  # bytes the reader has taken so far
    records: int = 0  # data records handed out (blank ones too)
    done: bool = False  # read to the end: `records` is the count

    def estimate(self) -> int | None:
        """The data records: exact once read to the end, else those so far scaled by
        the file's size over the bytes read (refined at each chunk); None before any."""
        if self.done:
            return self.records
        read = self.position()
        if not self.records or read <= 0:
            return None
        return max(self.records, round(self.records * self.size / read))


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
    meter: ReadMeter | None = None  # a CSV's: how far it has been read

    def rows_total(self) -> tuple[int | None, bool]:
        """The data rows (blank ones too) and whether that is an estimate: as the
        spreadsheet says; a CSV's from the bytes read so far, exact once read whole."""
        if self.total_rows is not None or self.meter is None:
            return self.total_rows, False
        return self.meter.estimate(), not self.meter.done

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
                if isinstance(record, DamagedRow):  # its damaged cells kept with their columns
                    kept = [i for i in range(len(record)) if i not in drop]
                    at = {old: new for new, old in enumerate(kept)}
                    damaged = {at[i]: ref for i, ref in record.damaged.items() if i in at}
                    cells = [record[i] for i in kept]
                    yield DamagedRow(cells, damaged) if damaged else cells
                elif len(record) == width:
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
        meter = self.meter
        while batch := list(islice(records, size)):
            if meter is not None:
                meter.records += len(batch)
                meter.done = len(batch) < size  # islice stopped at the end
            yield RawChunk(batch, first, len(self.headers), self.typed, tuple(self.headers))
            first += len(batch)
        if meter is not None:
            meter.done = True


@dataclass
class RawChunk:
    """Consecutive records of a source, the first being row `first_row`, as read."""

    records: list[list[Any]]
    first_row: int
    width: int  # cells in the header
    typed: bool = False  # spreadsheet values, not text yet (see `cell_text`)
    headers: tuple[str, ...] = ()  # to name the column of a damaged cell

    def cleaned(self) -> Chunk:
        """Blank rows left out (their numbers too); rows as wide as the header, or a problem
        (a damaged XLSX cell is one too: see `xlsx.DamagedRow`)."""
        width = self.width
        chunk = Chunk([], [], width=width)
        for number, record in enumerate(self.records, start=self.first_row):
            cells = [cell_text(v) for v in record] if self.typed else record
            if isinstance(cells, DamagedRow):
                chunk.problems[number] = _damaged(cells, self.headers)
            elif not any(c.strip() for c in cells):
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
    stream: Sheet | None = None
    meter = None
    if suffix in CSV_SUFFIXES:
        meter = ReadMeter(path.stat().st_size)
        records, description, warnings = _csv_records(path, meter)
        height, typed = None, False
    elif suffix in XLSX_SUFFIXES:
        stream = open_sheet(path, sheet)
        records, height, typed = stream.rows, stream.last_row, False
        description = f"sheet {stream.name!r}" + (" (a hidden sheet)" if stream.hidden else "")
        warnings = []
        if stream.hidden and sheet is None:
            warnings.append(
                f"sheet {stream.name!r}, the workbook's first, is hidden in Excel: it was read "
                f"all the same; pass --sheet to read another (the sheets are {stream.names})"
            )
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
    if isinstance(headers, DamagedRow):
        cells = [f"header cell {ref}" for ref in headers.damaged.values()]
        if stream is not None:
            stream.rows.close()  # type: ignore[attr-defined]  # a generator: the archive with it
        raise InputError(f"{path}: its {missing_strings(cells)}")
    if headers is not None and typed:
        headers = [cell_text(v) for v in headers]
    if headers is None or not any(h.strip() for h in headers):
        empty = "the sheet is empty" if suffix in SHEET_SUFFIXES else "the file is empty"
        where = empty if not preamble and headers is None else "it is blank"
        raise InputError(f"{path}: no header on row {header_row}: {where}")
    headers = _trim_trailing_blank(headers)
    if headers:
        headers[0] = headers[0].lstrip("\ufeff")
    if stream is not None:
        stream.limit_width(len(headers))
    total = None if height is None else max(0, height - header_row)
    return Source(
        path, headers, header_row, preamble, description, warnings, records, total, typed, meter
    )


def _fit(cells: list[str], width: int, number: int, problems: dict[int, str]) -> list[str]:
    extra = cells[width:]
    if len(cells) > width and not any(c.strip() for c in extra):
        return cells[:width]  # a trailing delimiter, not data
    ragged = (
        f"row has {len(cells)} cells but the header has {width}: "
        "a delimiter or quote inside a cell may have shifted the columns"
    )
    problems[number] = f"{problems[number]}; {ragged}" if number in problems else ragged
    return (cells + [""] * width)[:width]


def _damaged(row: DamagedRow, headers: Sequence[str]) -> str:
    """Why a row with damaged cells is rejected, each cell under its column's header."""
    return missing_strings([
        f"{headers[i].strip()}: cell {ref}" if i < len(headers) and headers[i].strip()
        else f"cell {ref}"
        for i, ref in sorted(row.damaged.items())
    ])  # fmt: skip


def _trim_trailing_blank(headers: list[str]) -> list[str]:
    """Drops unnamed columns at the end of the header (a trailing delimiter)."""
    end = len(headers)
    while end > 0 and not headers[end - 1].strip():
        end -= 1
    return headers[:end]


# -- CSV ---------------------------------------------------------------------------------


def _csv_records(path: Path, meter: ReadMeter) -> tuple[Iterator[list[str]], str, list[str]]:
    encoding, warnings = detect_encoding(path)
    with path.open("r", encoding=encoding, errors="strict", newline="") as probe:
        sample = probe.read(_SAMPLE_BYTES)
    delimiter = sniff_delimiter(sample, tab_first=path.suffix.lower() == ".tsv")
    _check_records(path, encoding, delimiter)
    if "\x00" in sample:
        warnings.append("NUL bytes in the file were removed")
    shown = {"\t": "tab"}.get(delimiter, repr(delimiter))
    description = f"{_encoding_name(encoding)}, {shown}-delimited"
    return _csv_rows(path, encoding, delimiter, meter), description, warnings


def _csv_rows(path: Path, encoding: str, delimiter: str, meter: ReadMeter) -> Iterator[list[str]]:
    with (
        path.open("rb") as raw,
        io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="") as text,
    ):
        meter.position = raw.tell  # what the text layer took: ahead by 8 KiB at most
        try:
            yield from csv.reader(map(_WITHOUT_NUL, text), delimiter=delimiter, strict=False)
        except UnicodeDecodeError:  # the file changed since open_source read it whole
            raise InputError(
                f"{path}: no longer valid {_encoding_name(encoding)}: was it changed "
                "during the import? Save it again and re-run the same command"
            ) from None
        except csv.Error as exc:
            raise InputError(f"{path}: cannot be read as CSV: {exc}") from None
        finally:
            meter.position = lambda: meter.size  # the file is closed: read, or given up


_WITHOUT_NUL = operator.methodcaller("replace", "\x00", "")  # each line; C speed, no frame


def _check_records(path: Path, encoding: str, delimiter: str) -> None:
    """Reads every record once, so that what would stop the import half way stops it
    before anything is sent: a cell too long for the csv module (mostly a quote left
    open, which makes the rest of the file one cell) and a quote never closed."""
    row = lines = span = 0  # records read, lines read, lines of the last record
    last: list[str] = []
    with path.open("r", encoding=encoding, errors="strict", newline="") as text:
        reader = csv.reader(map(_WITHOUT_NUL, text), delimiter=delimiter, strict=False)
        try:
            for record in reader:
                row += 1
                span, lines = reader.line_num - lines, reader.line_num
                last = record
        except csv.Error as exc:
            if "field limit" in str(exc):
                raise InputError(
                    f"{path}: row {row + 1} holds a cell over {csv.field_size_limit():,} "
                    "characters, which is no contact's (mostly a quote left open, which "
                    "joins the rows after it into one cell); fix that row and try again"
                ) from None
            raise InputError(f"{path}: row {row + 1} cannot be read as CSV: {exc}") from None
    if span > 1 and last and last[-1].endswith(("\n", "\r")):
        raise InputError(
            f"{path}: a quote opened on row {row} is never closed, so every line after it "
            "would be one cell; close (or remove) that quote and try again"
        )


def detect_encoding(path: Path) -> tuple[str, list[str]]:
    """The whole file's text encoding, checked to the last byte, and a warning when it
    is a guess: a BOM's encoding, else UTF-8 if it all decodes, else a guess from its
    non-ASCII bytes (wherever in the file they are), else CP1252 if it all decodes so.

    Reading the file once more costs about a second for 100 MB (see tests/README.md),
    nothing next to the API's 1,000 contacts a minute, and one stray byte deep in the
    file would otherwise stop the import half way, after rows were sent.
    """
    with path.open("rb") as raw:
        head = raw.read(_SAMPLE_BYTES)
        for bom, encoding, codec in _BOMS:
            if head.startswith(bom):
                _verify_whole(path, raw, codec, len(bom), encoding)
                return encoding, []
        if utf16 := _bomless_utf16(head):
            _verify_whole(path, raw, utf16, 0, utf16)
            return utf16, []
        _refuse_binary(path, head)
        raw.seek(0)
        bad = _first_undecodable(raw, "utf-8", 0)
        if bad is None:
            return "utf-8", []
        raw.seek(0)
        sample = _non_ascii_lines(raw)
    # Spreadsheet programs write legacy files in the Windows/web code pages (cp1252,
    # Shift_JIS, ...); leaving out Mac, DOS and mainframe ones keeps short samples
    # from reading as MacTurkish or Korean. An ISO or national code page is read as
    # the Windows one that extends it, as browsers do (Latin-1 as CP1252).
    guess = chardet.detect(sample, encoding_era=chardet.EncodingEra.MODERN_WEB)["encoding"]
    tried = []
    for candidate in ([guess] if guess else []) + ["cp1252"]:
        name = codecs.lookup(candidate).name
        name = _WINDOWS_SUPERSET.get(name, name)
        if name in tried or name == "utf-8":
            continue
        tried.append(name)
        with path.open("rb") as raw:
            if _first_undecodable(raw, name, 0) is None:
                return name, [
                    f"{path.name} is not UTF-8 (byte {bad} is not): read as "
                    f"{_encoding_name(name)}; check that accented letters look right in "
                    "the reports, or save the file as CSV UTF-8 to be sure"
                ]
    raise InputError(
        f"{path}: not valid UTF-8 at byte {bad}, nor {' nor '.join(map(_encoding_name, tried))}; "
        "save the file as CSV UTF-8 and try again"
    )


_WINDOWS_SUPERSET = {
    "ascii": "cp1252",
    "latin-1": "cp1252",
    "iso8859-1": "cp1252",
    "iso8859-9": "cp1254",
    "iso8859-11": "cp874",
    "tis-620": "cp874",
    "gb2312": "gbk",
    "euc_kr": "cp949",
    "shift_jis": "cp932",
}
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"PK\x03\x04", "a ZIP archive (an .xlsx workbook?)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Office document (an .xls workbook?)"),
    (b"%PDF-", "a PDF document"),
    (b"GIF8", "a GIF image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x1f\x8b", "a gzip archive"),
)
_CONTROL = bytes(range(32)).translate(None, b"\x00\t\n\r\x0c\x1a\x1b")


def _refuse_binary(path: Path, head: bytes) -> None:
    """Refuses a file that is no text at all: a known binary format, or bytes where
    control characters (NUL aside) are common or NUL is everywhere."""
    for signature, what in _SIGNATURES:
        if head.startswith(signature):
            raise InputError(
                f"{path}: this is {what}, not delimited text; save the data as CSV "
                "(or give the file its own name) and try again"
            )
    controls = len(head) - len(head.translate(None, _CONTROL))
    if controls > max(4, len(head) // 100) or head.count(0) > len(head) * 0.3:
        raise InputError(
            f"{path}: this is binary data, not text (is it a spreadsheet or another "
            "program's file with a .csv name?); save the data as CSV UTF-8 and try again"
        )


def _verify_whole(path: Path, raw: IO[bytes], codec: str, start: int, encoding: str) -> None:
    raw.seek(start)
    bad = _first_undecodable(raw, codec, start)
    if bad is not None:
        raise InputError(
            f"{path}: not valid {_encoding_name(encoding)} at byte {bad}, though it begins "
            "as such; save the file as CSV UTF-8 and try again"
        )


def _first_undecodable(raw: IO[bytes], codec: str, start: int) -> int | None:
    """The offset in the file of the first byte from `raw`'s position on that `codec`
    cannot decode (`start` being that position), or None when all decodes."""
    decoder = codecs.getincrementaldecoder(codec)("strict")
    at = start
    while True:
        block = raw.read(1 << 20)
        pending = len(decoder.getstate()[0])
        try:
            decoder.decode(block, final=not block)
        except UnicodeDecodeError as exc:
            return at - pending + exc.start
        if not block:
            return None
        at += len(block)


_NON_ASCII = re.compile(rb"[\x80-\xff]")


def _non_ascii_lines(raw: IO[bytes]) -> bytes:
    """Up to 64 KiB of the file's lines that hold non-ASCII bytes, wherever they are:
    what tells one legacy encoding from another."""
    found: list[bytes] = []
    size = 0
    while size < _SAMPLE_BYTES and (block := raw.read(1 << 20)):
        if block.isascii():
            continue
        at = 0
        while size < _SAMPLE_BYTES and (hit := _NON_ASCII.search(block, at)):
            start = block.rfind(b"\n", 0, hit.start()) + 1
            end = block.find(b"\n", hit.start())
            end = len(block) if end < 0 else end
            found.append(block[start:end])
            size += end - start + 1
            at = end + 1
    return b"\n".join(found)[:_SAMPLE_BYTES]


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
    """The sheet's rows of values (see `cell_text`), its description and its height.

    .xls and .ods go through python-calamine, which holds a sheet whole, every cell of
    the rectangle from A1 to the last one with data (about 32 bytes each). An .xls
    sheet has at most 65,536 x 256 cells (0.5 GB at worst); an .ods is measured first
    (`ods_cells`) and refused above that same count.
    """
    import python_calamine as calamine

    if path.suffix.lower() == ".ods" and (cells := ods_cells(path)) > MAX_CALAMINE_CELLS:
        raise InputError(
            f"{path}: its data spans {cells:,} cells (from A1 to the last cell that holds "
            f"anything), more than the {MAX_CALAMINE_CELLS:,} bulk-sync reads from an .ods; "
            "delete the far-away cells or save the sheet as .xlsx or CSV and try again"
        )
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


MAX_CALAMINE_CELLS = 65_536 * 256
_ODS_TOKEN = re.compile(
    r"<table:table(?=[\s>])|<table:table-row\b([^>]*)>|</table:table-row>"
    r"|<table:(?:covered-)?table-cell\b([^>]*?)(/?)>"
)
_REPEAT = re.compile(r'number-(?:rows|columns)-repeated="([0-9]+)"')
_HAS_VALUE = re.compile(r"value-type=")


def ods_cells(path: Path) -> int:
    """How many cells calamine would hold for the largest sheet of an .ods: its height
    to the last row with data times its width to the last column with data, repeated
    rows and cells counted as the file declares them. Read as a stream."""
    import zipfile

    largest = rows = width = row = column = 0
    row_repeat = 1
    row_has_data = False
    try:
        with zipfile.ZipFile(path) as archive, archive.open("content.xml") as part:
            decoder = codecs.getincrementaldecoder("utf-8")("replace")
            carry = ""
            while True:
                block = part.read(1 << 20)
                text = carry + decoder.decode(block, final=not block)
                end = text.rfind(">") + 1 if block else len(text)
                text, carry = text[:end], text[end:]
                for found in _ODS_TOKEN.finditer(text):
                    token = found.group(0)
                    if token == "<table:table":  # a sheet begins
                        largest = max(largest, rows * width)
                        rows = width = row = 0
                    elif token.startswith("<table:table-row"):
                        repeat = _REPEAT.search(found.group(1) or "")
                        row_repeat = int(repeat.group(1)) if repeat else 1
                        column, row_has_data = 0, False
                    elif token == "</table:table-row>":
                        row += row_repeat
                        if row_has_data:
                            rows = row
                    else:
                        attrs = found.group(2) or ""
                        repeat = _REPEAT.search(attrs)
                        column += int(repeat.group(1)) if repeat else 1
                        if _HAS_VALUE.search(attrs) or not found.group(3):
                            row_has_data = True
                            width = max(width, column)
                if not block:
                    break
    except (zipfile.BadZipFile, KeyError, OSError, EOFError, ValueError) as exc:
        raise InputError(f"{path}: cannot be read as a spreadsheet: {exc}") from None
    return max(largest, rows * width)


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
