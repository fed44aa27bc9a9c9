"""XLSX and XLSM read as a stream: rows of cell text, in memory that does not grow with
the sheet.

A sheet's XML is scanned a block at a time (1 MiB of it inflated at once) by a few
regular expressions fitted to SpreadsheetML's `<row>`/`<c>` shape: five times the
speed of an XML parser calling back into Python for each element (see
benchmarks/import_dry_run.py), and nothing is built for an empty cell. What is
trusted of the file is bounded: the declared `dimension` is ignored, a row is at
most `MAX_ROW_CHARS` of XML, the shared strings table at most `MAX_SHARED_CHARS`
characters, and cells are placed by their own `r` reference (a cell at XFD1048576
costs what a cell at B2 costs). Before the first row is handed out the whole sheet is
inflated once (its CRC checked, its last row found), so that a damaged archive is
refused before anything is sent. A cell that refers to a shared string the workbook
lacks is found only as its row is read: the row comes as a `DamagedRow`, rejected
with the cell named, and the run goes on (the header's: refused, before anything is
sent).

Cells read as `sources.cell_text` shows a spreadsheet's values: shared and inline
strings as written (phonetic runs left out, `_x000D_` escapes undone), booleans as
TRUE/FALSE, error cells as the error (`#N/A`), formulas as their cached value (never
the formula), whole numbers without `.0`, numbers with a date format as ISO dates,
and numbers with a zero-padding format (`00000`) padded, as the spreadsheet shows
them.
"""

from __future__ import annotations

import codecs
import datetime as dt
import math
import posixpath
import re
import zipfile
import zlib
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import IO, Any
from xml.etree import ElementTree

from .errors import InputError

MAX_COLUMNS = 16_384  # XFD, Excel's last column
MAX_ROWS = 1_048_576
MAX_PART_BYTES = 32 << 20  # workbook.xml, its relationships, styles.xml
MAX_ROW_CHARS = 64 << 20  # one <row> element's XML
MAX_SHARED_CHARS = 256 << 20  # characters in the shared strings table
_BLOCK = 1 << 20

_CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_STRICT = "http://purl.oclc.org/ooxml/spreadsheetml/main"
_REL_NS = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "http://purl.oclc.org/ooxml/officeDocument/relationships",
)

_DATE_IDS = frozenset({14, 15, 16, 17, 18, 19, 20, 21, 22, 45, 47})
_DURATION_IDS = frozenset({46})
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
_EXCEL_EPOCH_EARLY = dt.datetime(1899, 12, 31)  # serials before 60: Excel's 1900-02-29
_EPOCH_1904 = dt.datetime(1904, 1, 1)
_MS_PER_DAY = 86_400_000

_ENTITY = re.compile(r"&(?:(amp|lt|gt|quot|apos)|#([0-9]+)|#x([0-9a-fA-F]+));")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")
_ATTR = re.compile(r"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_CELL_REF = re.compile(r"\s*([A-Za-z]*)")
_MARKUP = re.compile(r"<!--.*?-->|<!\[CDATA\[(.*?)\]\]>|<\?.*?\?>", re.S)
_ZEROS = re.compile(r"0+")


class DamagedRow(list[str]):
    """A row holding cells that refer to a shared string the workbook lacks: those cells
    are empty, and `damaged` says which (0-based column → the cell's reference, `C12`),
    for the row to be rejected (`sources.RawChunk.cleaned`), not the run ended."""

    damaged: dict[int, str]

    def __init__(self, cells: list[str], damaged: dict[int, str]) -> None:
        super().__init__(cells)
        self.damaged = damaged


def missing_strings(cells: list[str]) -> str:
    """Why cells (`Phone: cell C12`) that refer to missing shared strings cannot be read."""
    each = "; ".join(f"{cell} refers to a missing shared string" for cell in cells)
    return f"{each}; the file is damaged: save it again from Excel"


class _NoSuchString(Exception):
    """A cell's shared string index lies past the shared strings table."""


class _Damaged(str):
    """Stands in a row, while it is read, for a cell `_NoSuchString` was raised for: its
    text is the cell's reference."""


@dataclass
class Sheet:
    """An opened sheet: its rows (each a list of cell text) and what is known of it."""

    rows: Iterator[list[str]]
    name: str
    hidden: bool
    last_row: int  # the last row number the sheet holds (0 when it has none)
    names: list[str]  # every sheet of the workbook, in order
    _cells: _CellReader

    def limit_width(self, width: int) -> None:
        """From now on, rows are `width` cells wide (the header's), their empty cells at
        the end included, and hold no empty cells past it: a cell with data further
        right is kept next to the last one, so a row with a cell at column XFD costs
        what one at column B costs, and still has more cells than the header."""
        self._cells.width = width


def open_sheet(path: Path, sheet: str | None) -> Sheet:
    """The sheet named `sheet` (any case), else the workbook's first sheet, read as a
    stream. Raises InputError with one sentence when the file cannot be read."""
    _check_signature(path)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise _damaged(path, exc) from None
    try:
        return _open(path, archive, sheet)
    except InputError:
        archive.close()
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError,
            NotImplementedError, RuntimeError, ElementTree.ParseError) as exc:  # fmt: skip
        archive.close()
        raise _damaged(path, exc) from None


def _check_signature(path: Path) -> None:
    with path.open("rb") as raw:
        head = raw.read(8)
        if head == _CFB_MAGIC:
            if _holds(raw, _ENCRYPTED):
                raise InputError(
                    f"{path} is password-protected: remove the password in Excel "
                    "(File > Info > Protect Workbook) and try again"
                )
            raise InputError(
                f"{path} cannot be read as a spreadsheet: it is an Excel 97-2003 workbook "
                "with an .xlsx name; rename it to .xls (or save it as .xlsx) and try again"
            )
    if not head.startswith(b"PK"):
        raise InputError(
            f"{path} cannot be read as a spreadsheet: it is not an XLSX file (not a ZIP "
            "archive); open it in Excel, save it as .xlsx or .csv and try again"
        )


def _holds(raw: IO[bytes], needle: bytes) -> bool:
    tail = b""
    while block := raw.read(_BLOCK):
        if needle in tail + block:
            return True
        tail = block[-len(needle) :]
    return False


def _damaged(path: Path, exc: BaseException) -> InputError:
    detail = str(exc) or type(exc).__name__
    return InputError(
        f"{path} cannot be read as a spreadsheet: the XLSX archive is damaged ({detail}); "
        "open it in Excel, save it again and try again"
    )


def _open(path: Path, archive: zipfile.ZipFile, wanted: str | None) -> Sheet:
    names = set(archive.namelist())
    if "xl/workbook.xml" not in names:
        raise InputError(
            f"{path} cannot be read as a spreadsheet: the archive holds no workbook "
            "(xl/workbook.xml); save it from Excel as .xlsx and try again"
        )
    book = _xml(archive, "xl/workbook.xml", path)
    date1904 = any(
        el.get("date1904") in ("1", "true") for el in book.iter() if _local(el.tag) == "workbookPr"
    )
    sheets = [el for el in book.iter() if _local(el.tag) == "sheet"]
    if not sheets:
        raise InputError(f"{path}: the workbook has no sheets")
    listed = [el.get("name", "") for el in sheets]
    if wanted is None:
        chosen = sheets[0]
    else:
        key = wanted.strip().casefold()
        matches = [el for el in sheets if el.get("name", "").strip().casefold() == key]
        if not matches:
            raise InputError(f"{path}: no sheet named {wanted!r}; the sheets are {listed}")
        chosen = matches[0]
    name = chosen.get("name", "")
    rel_id = next((chosen.get(f"{{{ns}}}id") for ns in _REL_NS if chosen.get(f"{{{ns}}}id")), None)
    parts = _relations(archive, path, names)
    member = parts.get(rel_id or "")
    if member is None:
        raise InputError(
            f"{path} cannot be read as a spreadsheet: sheet {name!r} has no data in the "
            "archive; open it in Excel, save it again and try again"
        )
    styles_part = parts.get("type:styles", "xl/styles.xml")
    styles = _styles(archive, styles_part, path) if styles_part in names else []
    strings_part = parts.get("type:sharedStrings", "xl/sharedStrings.xml")
    shared = _shared_strings(archive, strings_part, path) if strings_part in names else _Strings()
    last_row = _verify(archive, member, path)
    cell = _CellReader(shared, styles, date1904, path)
    rows = _rows(archive, member, cell, path)
    hidden = chosen.get("state", "visible") != "visible"
    return Sheet(rows, name, hidden, last_row, listed, cell)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _read_part(archive: zipfile.ZipFile, member: str, path: Path) -> bytes:
    """A small part whole, never more than MAX_PART_BYTES whatever its header says."""
    with archive.open(member) as part:
        data = part.read(MAX_PART_BYTES + 1)
    if len(data) > MAX_PART_BYTES:
        raise InputError(
            f"{path} cannot be read as a spreadsheet: its {member} is over "
            f"{MAX_PART_BYTES >> 20} MB, which no workbook needs; save it again from Excel"
        )
    return data


def _xml(archive: zipfile.ZipFile, member: str, path: Path) -> ElementTree.Element:
    data = _read_part(archive, member, path)
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise InputError(
            f"{path} cannot be read as a spreadsheet: its {member} declares XML entities, "
            "which no spreadsheet program writes; save it again from Excel"
        )
    return ElementTree.fromstring(data)


def _relations(archive: zipfile.ZipFile, path: Path, names: set[str]) -> dict[str, str]:
    """The workbook's parts by relationship id, and by type (`styles`, `sharedStrings`):
    where they really are, whatever their names."""
    if "xl/_rels/workbook.xml.rels" not in names:
        return {}
    found: dict[str, str] = {}
    for rel in _xml(archive, "xl/_rels/workbook.xml.rels", path).iter():
        if _local(rel.tag) != "Relationship":
            continue
        target = rel.get("Target", "")
        if target.startswith("/"):
            member = target.lstrip("/")
        else:
            member = posixpath.normpath(posixpath.join("xl", target))
        if member in names:
            found[rel.get("Id", "")] = member
            found.setdefault("type:" + rel.get("Type", "").rsplit("/", 1)[-1], member)
    return found


# -- styles: which cells hold dates ------------------------------------------------------

_PLAIN, _DATE, _DURATION = 0, 1, 2  # a style's kind; a number > 2 pads to kind - 2 digits
# negative kinds: -(_PERCENT + d) shows a percent with d decimals, -(_FIXED + d) a number
# with exactly d decimals (`0.00`, `#,##0.00`: thousands separators are left out, so
# that the text still reads as a number)
_PERCENT, _FIXED = 10, 100
_BUILTIN_SHOWN = {2: -(_FIXED + 2), 4: -(_FIXED + 2), 9: -_PERCENT, 10: -(_PERCENT + 2)}
_PERCENT_CODE = re.compile(r"0(?:\.(0+))?%")
_FIXED_CODE = re.compile(r"(?:#,##)?0\.(0+)")


def _styles(archive: zipfile.ZipFile, member: str, path: Path) -> list[int]:
    """The kind of each cell style (`s="N"`): plain, date, duration or zero-padded."""
    root = _xml(archive, member, path)
    codes: dict[int, str] = {}
    kinds: list[int] = []
    for el in root.iter():
        tag = _local(el.tag)
        if tag == "numFmt":
            try:
                codes[int(el.get("numFmtId", ""))] = el.get("formatCode", "")
            except ValueError:
                continue
        elif tag == "cellXfs":
            for xf in el:
                try:
                    number = int(xf.get("numFmtId", "0"))
                except ValueError:
                    number = 0
                kinds.append(_format_kind(number, codes.get(number)))
    return kinds


def _format_kind(number: int, code: str | None) -> int:
    if code is None:
        if number in _DATE_IDS:
            return _DATE
        if number in _BUILTIN_SHOWN:
            return _BUILTIN_SHOWN[number]
        return _DURATION if number in _DURATION_IDS else _PLAIN
    if _ZEROS.fullmatch(code):
        return len(code) + 2
    if shown := _PERCENT_CODE.fullmatch(code):
        return -(_PERCENT + len(shown[1] or ""))
    if shown := _FIXED_CODE.fullmatch(code):
        return -(_FIXED + len(shown[1]))
    return _custom_kind(code)


def _custom_kind(code: str) -> int:
    """A format code's kind, by calamine's rules: a date/time letter outside quotes,
    brackets and escapes makes a date; `[h]`, `[m]`, `[s]` make a duration. Only the
    first section (before `;`) counts."""
    escaped = quoted = am = False
    brackets = 0
    prev = " "
    hms = False
    for ch in code:
        if escaped:
            escaped = False
        elif ch in "_\\":
            escaped = True
        elif quoted:
            quoted = ch != '"'
        elif ch == '"':
            quoted = True
        elif ch == ";":
            return _PLAIN
        elif ch == "[":
            brackets += 1
        elif ch == "]" and brackets == 1 and hms:
            return _DURATION
        elif ch == "]":
            brackets = max(0, brackets - 1)
        elif brackets == 0 and not am and ch in "aA":
            am = True
        elif brackets == 0 and ch in ("pmPM/" if am else "dmhysDMHYS"):
            return _DATE
        elif not (hms and ch.lower() == prev.lower()):
            hms = prev == "[" and ch in "mhsMHS"
        prev = ch
    return _PLAIN


# -- shared strings -------------------------------------------------------------------------


class _Strings:
    """The shared strings, packed: pages of joined text and where each string starts,
    about one byte a character and four an entry instead of a str object each."""

    PAGE = 4096

    def __init__(self) -> None:
        self._pages: list[str] = []
        self._starts: list[array[int]] = []
        self._pending: list[str] = []
        self.count = 0
        self.chars = 0

    def add(self, text: str) -> None:
        self._pending.append(text)
        self.count += 1
        self.chars += len(text)
        if len(self._pending) == self.PAGE:
            self._flush()

    def _flush(self) -> None:
        starts = array("I", [0])
        at = 0
        for text in self._pending:
            at += len(text)
            starts.append(at)
        self._pages.append("".join(self._pending))
        self._starts.append(starts)
        self._pending = []

    def done(self) -> None:
        if self._pending:
            self._flush()

    def __getitem__(self, index: int) -> str:
        page, at = divmod(index, self.PAGE)
        starts = self._starts[page]  # IndexError past the end, as a list would
        return self._pages[page][starts[at] : starts[at + 1]]


def _shared_strings(archive: zipfile.ZipFile, member: str, path: Path) -> _Strings:
    strings = _Strings()
    with archive.open(member) as part:
        for block in _elements(part, "si", _si_pattern, path, member):
            for body in block:
                strings.add(_text(body))
                if strings.chars > MAX_SHARED_CHARS:
                    raise InputError(
                        f"{path}: its shared strings hold over {MAX_SHARED_CHARS >> 20} million "
                        "characters, more than bulk-sync reads; save the sheet as CSV "
                        "and import that"
                    )
    strings.done()
    return strings


@cache
def _si_pattern(prefix: str) -> re.Pattern[str]:
    p = re.escape(prefix)
    return re.compile(rf"<{p}si(?:\s[^>]*?)?/>|<{p}si(?:\s[^>]*)?>(.*?)</{p}si>", re.S)


_T = re.compile(r"<(?:\w+:)?t(?:\s[^>]*)?>(.*?)</(?:\w+:)?t>|<(?:\w+:)?t\b[^>]*/>", re.S)
_PHONETIC = re.compile(r"<(?:\w+:)?rPh\b.*?</(?:\w+:)?rPh>", re.S)


def _text(body: str) -> str:
    """The text of an <si> or <is>: its <t> runs, phonetic guides left out."""
    if "<rPh" in body or ":rPh" in body:
        body = _PHONETIC.sub("", body)
    return _unescape("".join(_T.findall(body)))


def _unescape(text: str) -> str:
    if "&" in text:
        text = _ENTITY.sub(_entity, text)
    if "_x" in text:
        text = _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text)
    return text


def _entity(match: re.Match[str]) -> str:
    named, decimal, hexadecimal = match.groups()
    if named:
        return _NAMED[named]
    code = int(decimal) if decimal else int(hexadecimal, 16)
    return chr(code) if code < 0x110000 else "\ufffd"


# -- the sheet ----------------------------------------------------------------------------


def _elements(
    part: IO[bytes], tag: str, pattern: Callable[[str], re.Pattern[str]], path: Path, member: str
) -> Iterator[list[Any]]:
    """`pattern(prefix).findall` over whole `<tag>` elements of a part, a block of them at
    a time, `prefix` being the namespace prefix the part uses (`x:`, mostly none)."""
    find: re.Pattern[str] | None = None
    ends = partial(_element_end, tag)
    for prefix, body in _blocks(part, path, member, tag, ends):
        if find is None:
            find = pattern(prefix)
        if found_all := find.findall(body):
            yield found_all


def _element_end(tag: str, text: str, prefix: str) -> int:
    return _last_opening(text, f"<{prefix}{tag}")


def _blocks(
    part: IO[bytes], path: Path, member: str, first: str, end: Callable[[str, str], int]
) -> Iterator[tuple[str, str]]:
    """A part's XML as text, a block at a time (1 MiB of it inflated at once), each block
    cut where `end(text, prefix)` says its last whole element ends (0 or less: none yet,
    read on), with the namespace prefix of the first `<first>` element (`x:`, mostly
    none). Comments, CDATA and processing instructions are undone; an element of over
    `MAX_ROW_CHARS` is refused."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    carry = ""
    prefix: str | None = None
    while True:
        block = part.read(_BLOCK)
        try:
            text = carry + decoder.decode(block, final=not block)
        except UnicodeDecodeError:
            raise _not_utf8(path, member) from None
        if prefix is None:
            found = re.search(rf"<(\w+:)?{first}[\s/>]", text)
            if found is None and block:
                if len(text) > MAX_ROW_CHARS:
                    raise _too_big(path, member)
                carry = text
                continue
            prefix = (found.group(1) or "") if found else ""
        if block:
            cut = end(text, prefix)
            if cut <= 0:
                if len(text) > MAX_ROW_CHARS:
                    raise _too_big(path, member)
                carry = text
                continue
            body, carry = text[:cut], text[cut:]
        else:
            body = text
        if "<!" in body or "<?" in body:
            body = _MARKUP.sub(_markup, body)
        yield prefix, body
        if not block:
            return


def _last_opening(text: str, opening: str) -> int:
    """Where the last `<tag ...` (not `<tagName`) starts in `text`; -1 if none does."""
    end = len(text)
    while (at := text.rfind(opening, 0, end)) >= 0:
        after = text[at + len(opening) : at + len(opening) + 1]
        if after in (" ", ">", "/", "\t", "\n", "\r"):
            return at
        end = at
    return -1


def _markup(match: re.Match[str]) -> str:
    data = match.group(1)
    if data is None:
        return ""
    return data.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _not_utf8(path: Path, member: str) -> InputError:
    return InputError(
        f"{path} cannot be read as a spreadsheet: its {member} is not UTF-8 text; open it "
        "in Excel, save it again and try again"
    )


def _too_big(path: Path, member: str) -> InputError:
    return InputError(
        f"{path} cannot be read as a spreadsheet: its {member} holds one element of over "
        f"{MAX_ROW_CHARS >> 20} MB; save the sheet as CSV and import that"
    )


@cache
def _cell_pattern(prefix: str) -> re.Pattern[str]:
    """A cell: first as spreadsheet programs write most of them (groups: column letters,
    style, type, <v> text, inline text), else any other way (groups: attributes, inside)."""
    p = re.escape(prefix)
    return re.compile(
        rf'<{p}c r="([A-Za-z]{{1,3}})[0-9]*"(?: s="([0-9]+)")?(?: t="([a-zA-Z]+)")?>'
        rf'(?:<{p}v>([^<]*)</{p}v>|<{p}is><{p}t(?: xml:space="preserve")?>([^<]*)</{p}t></{p}is>)'
        rf"</{p}c>"
        rf"|<{p}c(?=[\s/>])([^>]*?)(?:/>|>(.*?)</{p}c>)",
        re.S,
    )


def _sheet_xml_rows(
    part: IO[bytes], path: Path, member: str
) -> Iterator[list[tuple[str, str, int]]]:
    """Each <row>'s attributes, and the text its inside starts in and where, a block of
    rows at a time (an empty row's inside starts at the text's end). Splitting at
    `</row>` runs at C speed, where a pattern for a whole row would try each character."""
    for prefix, body in _blocks(part, path, member, "sheetData", _rows_end):
        opening, closing = f"<{prefix}row", f"</{prefix}row>"
        usual = opening + " "  # `<row r="2">`: as rows are written, one after another
        rows: list[tuple[str, str, int]] = []
        for piece in body.split(closing):
            at = 0 if piece.startswith(usual) else _next_opening(piece, opening, 0)
            while at >= 0:
                close = piece.find(">", at)
                if close < 0:
                    break
                attrs = piece[at + len(opening) : close]
                if attrs.endswith("/"):
                    rows.append((attrs[:-1], "", 0))
                    at = _next_opening(piece, opening, close)
                else:
                    rows.append((attrs, piece, close + 1))
                    break
        if rows:
            yield rows


def _rows_end(text: str, prefix: str) -> int:
    """Where the last whole <row> of `text` ends: after its `</row>`, or (none closed)
    before the last `<row`, which may be a `<row/>` cut off."""
    closing = f"</{prefix}row>"
    end = text.rfind(closing)
    return end + len(closing) if end >= 0 else _last_opening(text, f"<{prefix}row")


def _next_opening(text: str, opening: str, start: int) -> int:
    """Where the next `<tag ...` (not `<tagName`) starts in `text` from `start`; -1 if none."""
    while (at := text.find(opening, start)) >= 0:
        if text[at + len(opening) : at + len(opening) + 1] in (" ", ">", "/", "\t", "\n", "\r"):
            return at
        start = at + 1
    return -1


_V = re.compile(r"<(?:\w+:)?v(?:\s[^>]*)?>(.*?)</(?:\w+:)?v>", re.S)
_IS = re.compile(r"<(?:\w+:)?is\b[^>]*>(.*?)</(?:\w+:)?is>", re.S)


def _verify(archive: zipfile.ZipFile, member: str, path: Path) -> int:
    """Inflates the whole sheet once (zipfile checks its CRC at the end) and returns its
    height: the number of its last row, or how many rows it has where they do not say
    their number. What the sheet declares (`dimension`) is not trusted."""
    last = counted = 0
    tail = b""
    openings: tuple[bytes, ...] = ()  # `<row ` and `<row>` once the sheet's prefix is known
    text = codecs.getincrementaldecoder("utf-8")("strict")
    with archive.open(member) as part:
        while block := part.read(_BLOCK):
            try:
                text.decode(block)
            except UnicodeDecodeError:
                raise _not_utf8(path, member) from None
            window = tail + block
            if not openings and (data := _SHEET_DATA.search(window)) is not None:
                prefix = data.group(1) or b""  # no row comes before <sheetData>
                openings = (b"<" + prefix + b"row ", b"<" + prefix + b"row>")
            counted += sum(window.count(opening) for opening in openings)
            end = len(window)
            while (at := window.rfind(b"row", 0, end)) > 0:
                end = at
                if window[at - 1 : at] not in (b"<", b":"):
                    continue
                found = _ROW_R.match(window, at + 3, at + 200)  # None for a tag cut off
                # at the block's end: the rows of the next block come after it anyway
                if found is not None:
                    last = max(last, _checked_row(int(found.group(1)), path))
                    break
            # too short to hold a whole opening counted again; before <sheetData is found,
            # long enough for it, whatever its prefix (nothing before it is counted)
            tail = window[-(len(openings[0]) - 1) :] if openings else window[-4096:]
    try:
        text.decode(b"", final=True)
    except UnicodeDecodeError:
        raise _not_utf8(path, member) from None
    return max(last, min(counted, MAX_ROWS))


_SHEET_DATA = re.compile(rb"<(\w+:)?sheetData[\s/>]")
_ROW_R = re.compile(rb"""[^>]*?\br\s*=\s*["']\s*([0-9]+)""")
_ROW_NUMBER = re.compile(r"""\br\s*=\s*["']\s*([0-9]+)""")


class _CellReader:
    """A cell's attributes and inside → its text."""

    def __init__(self, shared: _Strings, styles: list[int], date1904: bool, path: Path) -> None:
        self.shared = shared
        self.styles = styles
        self.epoch = _EPOCH_1904 if date1904 else None
        self.path = path
        self.columns: dict[str, int] = {}
        self.width: int | None = None  # the header's, once read: see Sheet.width

    def column(self, letters: str) -> int:
        """The 0-based column of a reference's letters (`C` of `C12`)."""
        index = 0
        for letter in letters.upper():
            index = index * 26 + ord(letter) - 64
        if not 0 < index <= MAX_COLUMNS:
            raise InputError(
                f"{self.path} cannot be read as a spreadsheet: a cell lies in column "
                f"{letters!r}, past XFD, Excel's last; save it again from Excel"
            )
        if len(self.columns) < MAX_COLUMNS:
            self.columns[letters] = index - 1
        return index - 1

    def text(self, kind: str | None, style: str | None, inside: str) -> str:
        if kind == "inlineStr":
            found = _IS.search(inside)
            return _text(found.group(1)) if found else ""
        found = _V.search(inside)
        return "" if found is None else self.value(kind, style, found.group(1))

    def style_kind(self, style: str | None) -> int:
        if not style or not self.styles:
            return _PLAIN
        try:
            return self.styles[int(style)]
        except (ValueError, IndexError):
            return _PLAIN

    def value(self, kind: str | None, style: str | None, value: str) -> str:
        """The text of a cell of type `kind` whose <v> holds `value`."""
        if not kind or kind == "n":
            return self.number(value, style)
        if kind == "s":
            try:
                return self.shared[int(value)]
            except (ValueError, IndexError):
                raise _NoSuchString from None
        if kind == "b":
            value = value.strip()
            return "TRUE" if value in ("1", "true") else ("FALSE" if value else "")
        if kind == "d":
            return _iso_date(_unescape(value).strip())
        return _unescape(value)  # str (a formula's text), e (an error: #N/A), anything else

    def number(self, value: str, style: str | None) -> str:
        kind = self.style_kind(style)
        if kind == _PLAIN and value.isdigit() and len(value) < 16 and value.isascii():
            return value if value[0] != "0" else str(int(value))
        value = value.strip()
        if not value:
            return ""
        try:
            number = float(value)
        except ValueError:
            return _unescape(value)
        if kind == _DATE:
            return _serial_date(number, self.epoch)
        if kind == _DURATION:
            return str(dt.timedelta(milliseconds=round(number * _MS_PER_DAY)))
        if kind <= -_FIXED and math.isfinite(number):  # 12.5 shown as 12.50
            return f"{number:.{-kind - _FIXED}f}"
        if kind < 0 and math.isfinite(number):  # 0.256 shown as 25.6%
            return f"{number * 100:.{-kind - _PERCENT}f}%"
        text = _number_text(number)
        if kind > _DURATION and number >= 0 and number.is_integer():
            return text.zfill(kind - 2)
        return text


def _number_text(number: float) -> str:
    # the same as sources.cell_text for a float, which this module cannot import
    if math.isfinite(number) and number.is_integer() and abs(number) < 1e16:
        return str(int(number))
    return format(number, ".15g")


def _serial_date(number: float, epoch: dt.datetime | None) -> str:
    """An Excel serial date as calamine gives it: a time of day below 1, else a date (a
    date and time when it has one), to the millisecond."""
    if not 0 <= number < 2_958_466:  # 10000-01-01
        return _number_text(number)
    ms = round(number * _MS_PER_DAY)
    if number < 1:
        moment = dt.datetime.min + dt.timedelta(milliseconds=ms % _MS_PER_DAY)
        return moment.time().isoformat()
    if epoch is None:
        epoch = _EXCEL_EPOCH if number >= 60 else _EXCEL_EPOCH_EARLY
    moment = epoch + dt.timedelta(milliseconds=ms)
    if moment.time() == dt.time(0):
        return moment.date().isoformat()
    return moment.isoformat(sep=" ")


def _iso_date(value: str) -> str:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.time() == dt.time(0) and "T" not in value:
        return moment.date().isoformat()
    return moment.isoformat(sep=" ")


def _attributes(text: str) -> dict[str, str]:
    """A tag's attributes by local name (`r`, `s`, `t`), values as written."""
    return {key.rsplit(":", 1)[-1]: double or single for key, double, single in _ATTR.findall(text)}


def _rows(
    archive: zipfile.ZipFile, member: str, cell: _CellReader, path: Path
) -> Iterator[list[str]]:
    """Every row from row 1 on, a blank one for each row the sheet leaves out."""
    try:
        with archive, archive.open(member) as part:
            yield from _sheet_rows(part, cell, path, member)
    except InputError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise _damaged(path, exc) from None


def _sheet_rows(part: IO[bytes], cell: _CellReader, path: Path, member: str) -> Iterator[list[str]]:
    # The hot loop: one findall a row gives each cell's usual attributes (r, s, t in the
    # order every spreadsheet program writes them) and its <v> or inline <t>; anything
    # else (other attributes, other orders, formulas, rich text) takes the slow path.
    number = 0  # the last row yielded
    columns = cell.columns
    plain = {str(i) for i, kind in enumerate(cell.styles) if kind == _PLAIN} | {""}
    value_text = cell.value
    shared = cell.shared
    unescaped: dict[str, str] = {}  # inline text with entities: names and places repeat
    cells_of: re.Pattern[str] | None = None
    for block in _sheet_xml_rows(part, path, member):
        for row_attrs, piece, start in block:
            here = _row_number(row_attrs, number, path)
            if here <= number:
                continue  # a row repeated or out of order: the first one stands
            while number < here - 1:
                number += 1
                yield []
            number = here
            cells: list[str] = []
            if start >= len(piece):
                yield cells
                continue
            if cells_of is None:
                cells_of = _cell_pattern(_prefix_of(piece, start))
            width = cell.width
            damaged = False
            for letters, style, kind, v, inline, attrs, body in cells_of.findall(piece, start):
                if not letters:
                    found = _attributes(attrs)
                    letters = _CELL_REF.match(found.get("r", "")).group(1)  # type: ignore[union-attr]
                    style, kind = found.get("s", ""), found.get("t", "")
                try:
                    if inline:
                        if "&" in inline or "_x" in inline:
                            text = unescaped.get(inline) or _unescape_kept(unescaped, inline)
                        else:
                            text = inline
                    elif v:
                        if not kind and style in plain and v.isdigit() and len(v) < 16:
                            text = v if v[0] != "0" else str(int(v))
                        elif kind == "s" and v.isdigit():
                            try:
                                text = shared[int(v)]
                            except IndexError:
                                raise _NoSuchString from None
                        else:
                            text = value_text(kind, style, v)
                    elif body:
                        text = cell.text(kind, style, body)
                    else:
                        continue
                except _NoSuchString:  # the row is rejected for it, not the run ended
                    text = _Damaged(f"{letters or _letters(len(cells))}{here}")
                    damaged = True
                if not text:
                    continue
                if letters:
                    at = columns.get(letters)
                    if at is None:
                        at = cell.column(letters)
                    if at != len(cells):
                        if at < len(cells):
                            continue  # a cell repeated or out of order: the first one stands
                        # past the header's width only cells with data are kept, side by side
                        fill = at - len(cells) if width is None else min(width, at) - len(cells)
                        if fill > 0:
                            cells.extend([""] * fill)
                cells.append(text)
            if width is not None and len(cells) < width:
                cells.extend([""] * (width - len(cells)))  # a spreadsheet's empty cells
            yield _damaged_row(cells) if damaged else cells


def _unescape_kept(kept: dict[str, str], text: str) -> str:
    """`_unescape(text)`, kept for the next cell with the same text (at most 65,536 kept)."""
    if len(kept) >= 1 << 16:
        kept.clear()
    kept[text] = done = _unescape(text)
    return done


def _damaged_row(cells: list[str]) -> DamagedRow:
    damaged = {i: str(text) for i, text in enumerate(cells) if isinstance(text, _Damaged)}
    return DamagedRow(["" if i in damaged else text for i, text in enumerate(cells)], damaged)


def _letters(column: int) -> str:
    """A 0-based column's letters (`C` for 2)."""
    letters = ""
    column += 1
    while column:
        column, left = divmod(column - 1, 26)
        letters = chr(65 + left) + letters
    return letters


def _prefix_of(text: str, start: int) -> str:
    """The namespace prefix (`x:`, mostly none) of the first tag in `text` from `start`."""
    found = _FIRST_TAG.match(text, start)
    return (found.group(1) or "") if found else ""


_FIRST_TAG = re.compile(r"\s*<(\w+:)?")


def _row_number(attrs: str, previous: int, path: Path) -> int:
    if attrs.startswith(' r="'):  # as spreadsheet programs write it: ` r="12" spans=...`
        end = attrs.find('"', 4)
        digits = attrs[4:end] if end > 0 else ""  # no closing quote: the slow way
        if digits.isdigit() and digits.isascii() and digits[0] != "0":
            return _checked_row(int(digits), path)
    found = _ROW_NUMBER.search(attrs)
    if found is None:
        return previous + 1
    number = int(found.group(1))
    return _checked_row(number, path) if number > 0 else previous + 1


def _checked_row(number: int, path: Path) -> int:
    if number > MAX_ROWS:
        raise InputError(
            f"{path} cannot be read as a spreadsheet: it has a row {number:,}, past row "
            f"{MAX_ROWS:,}, Excel's last; save it again from Excel"
        )
    return number
