"""Fuzzing the readers: whatever the bytes, a file reads as rows or is refused with an
InputError, never another exception. Derandomized and bounded: CI runs the same
examples every time, in a few seconds."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bulk_sync.errors import InputError
from bulk_sync.sources import open_source
from tests.corpus.xlsxparts import workbook

FUZZ = settings(
    derandomize=True,
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def read_all(path: Path, **kwargs: object) -> int:
    """Rows read, or -1 when the file is refused with an InputError."""
    try:
        source = open_source(path, **kwargs)  # type: ignore[arg-type]
        return sum(len(chunk.rows) for chunk in source.chunks(size=7))
    except InputError as exc:
        assert str(exc) and "\n" not in str(exc).strip()
        return -1


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".xlsx"])
@FUZZ
@given(data=st.binary(max_size=2000))
def test_random_bytes(tmp_path: Path, suffix: str, data: bytes) -> None:
    path = tmp_path / f"in{suffix}"
    path.write_bytes(data)
    read_all(path)


CELL = st.text(
    st.sampled_from(list("ab ,;|\t\"'\n\r\x00é€山=+-0123456789")) | st.characters(), max_size=12
)


@FUZZ
@given(
    rows=st.lists(st.lists(CELL, max_size=5), max_size=12),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252", "shift_jis"]),
    header_row=st.integers(1, 3),
)
def test_csv_like_text(
    tmp_path: Path, rows: list[list[str]], delimiter: str, encoding: str, header_row: int
) -> None:
    text = "\n".join(delimiter.join(cells) for cells in rows)
    path = tmp_path / "in.csv"
    path.write_bytes(text.encode(encoding, errors="replace"))
    read_all(path, header_row=header_row)


REF = st.one_of(
    st.none(),
    st.builds(lambda col, row: f"{col}{row}", st.sampled_from(["A", "B", "Z", "AA", "XFD", "XFE",
              "ZZZZ", "", "a", "1"]), st.sampled_from(["", "1", "2", "0", "1048576", "9" * 12])),
)  # fmt: skip
VALUE = st.sampled_from(["0", "1", "2", "-1", "1.5", "1e308", "1e999", "nan", "45293.5", "abc",
                         "", " ", "&amp;", "&#0;", "&#x110000;", "_x000D_", "9" * 30])  # fmt: skip
KIND = st.sampled_from([None, "n", "s", "b", "e", "str", "inlineStr", "d", "zz"])


@st.composite
def cell_xml(draw: st.DrawFn) -> str:
    ref, kind, value = draw(REF), draw(KIND), draw(VALUE)
    style = draw(st.sampled_from([None, "0", "1", "2", "99", "x"]))
    attrs = "".join(
        f' {name}="{v}"' for name, v in (("r", ref), ("s", style), ("t", kind)) if v is not None
    )
    if draw(st.booleans()):
        attrs = " " + " ".join(reversed(attrs.split()))
    body = draw(st.sampled_from([
        f"<v>{value}</v>", f"<is><t>{value}</t></is>", f"<f>1+1</f><v>{value}</v>", "",
        f"<is><r><t>{value}</t></r><rPh><t>x</t></rPh></is>", "<v/>", f"<v>{value}",
    ]))  # fmt: skip
    return f"<c{attrs}/>" if not body else f"<c{attrs}>{body}</c>"


@st.composite
def sheet_xml(draw: st.DrawFn) -> str:
    rows = []
    if draw(st.booleans()):  # a header row, so that the rows after it get read
        rows.append('<row r="1"><c t="inlineStr"><is><t>Name</t></is></c><c><v>2</v></c></row>')
    for _ in range(draw(st.integers(0, 6))):
        number = draw(st.sampled_from([None, "1", "2", "3", "7", "0", "-1", "1048576", "x"]))
        r = "" if number is None else f' r="{number}"'
        cells = "".join(draw(st.lists(cell_xml(), max_size=5)))
        rows.append(f"<row{r}/>" if not cells and draw(st.booleans()) else f"<row{r}>{cells}</row>")
    return "".join(rows) + draw(st.sampled_from(["", "<!-- c -->", "<row", "</row>", "&bad;"]))


@FUZZ
@given(
    sheet=sheet_xml(),
    shared=st.lists(st.text(max_size=5), max_size=3),
    formats=st.dictionaries(st.integers(0, 200), st.sampled_from(
        ["yyyy-mm-dd", "[h]:mm", "00000", "General", '"d"0', "", "[", "\\", ";;"]), max_size=2),
    flip=st.one_of(st.none(), st.tuples(st.integers(0, 10_000), st.integers(0, 255))),
    header_row=st.sampled_from([1, 1, 1, 2]),
)  # fmt: skip
def test_small_workbooks(
    tmp_path: Path,
    sheet: str,
    shared: list[str],
    formats: dict[int, str],
    flip: tuple[int, int] | None,
    header_row: int,
) -> None:
    path = workbook(
        tmp_path / "in.xlsx",
        [("S", sheet)],
        shared=shared,
        formats=formats,
        xfs=[0, *formats],
        compression=zipfile.ZIP_STORED if flip else zipfile.ZIP_DEFLATED,
    )
    if flip is not None:
        data = bytearray(path.read_bytes())
        at, byte = flip
        data[at % len(data)] = byte
        path.write_bytes(bytes(data))
    read_all(path, header_row=header_row)


def test_a_workbook_with_a_damaged_member_is_refused(tmp_path: Path) -> None:
    """The deflated sheet damaged in its middle: refused before any row, not half way."""
    path = workbook(tmp_path / "in.xlsx", [("S", "<row><c><v>1</v></c></row>" * 5000)])
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
    middle = info.header_offset + 30 + len(info.filename) + info.compress_size // 2
    data[middle] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match="the XLSX archive is damaged"):
        open_source(path)
