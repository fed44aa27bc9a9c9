"""Hand-made XLSX files: the parts written as XML text, so a test can make any shape
a spreadsheet program might write (or a broken one might), cell by cell."""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
SHEET_TYPE = RELS + "/worksheet"
_CONTENT_TYPES = (
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/></Types>'
)


def workbook(
    path: Path,
    sheets: Iterable[tuple[str, str | Iterable[str]]],
    *,
    shared: list[str] | None = None,
    formats: dict[int, str] | None = None,
    xfs: list[int] | None = None,
    hidden: Iterable[str] = (),
    date1904: bool = False,
    compression: int = zipfile.ZIP_DEFLATED,
) -> Path:
    """An XLSX at `path`: each sheet is (name, the XML inside <sheetData>), the XML as
    one string or as pieces (streamed into the ZIP, so a huge sheet costs little);
    `shared` the shared strings; `formats` custom number formats by id and `xfs` the
    numFmtId of each cell style (s="0", s="1", ...)."""
    hidden = set(hidden)
    sheets = list(sheets)
    with zipfile.ZipFile(path, "w", compression) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        z.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" '
            f'Type="{RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        entries = "".join(
            f'<sheet name={quoteattr(name)} sheetId="{i}" r:id="rId{i}"'
            + (' state="hidden"' if name in hidden else "")
            + "/>"
            for i, (name, _) in enumerate(sheets, start=1)
        )
        pr = '<workbookPr date1904="1"/>' if date1904 else "<workbookPr/>"
        z.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{MAIN}" xmlns:r="{RELS}">{pr}<sheets>{entries}</sheets></workbook>',
        )
        rels = "".join(
            f'<Relationship Id="rId{i}" Type="{SHEET_TYPE}" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, len(sheets) + 1)
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels", f'<Relationships xmlns="{PKG}">{rels}</Relationships>'
        )
        if shared is not None:
            items = "".join(f"<si><t>{escape(s)}</t></si>" for s in shared)
            z.writestr("xl/sharedStrings.xml", f'<sst xmlns="{MAIN}">{items}</sst>')
        if formats or xfs:
            fmts = "".join(
                f"<numFmt numFmtId={quoteattr(str(k))} formatCode={quoteattr(v)}/>"
                for k, v in (formats or {}).items()
            )
            cells = "".join(f'<xf numFmtId="{n}"/>' for n in (xfs or [0]))
            z.writestr(
                "xl/styles.xml",
                f'<styleSheet xmlns="{MAIN}"><numFmts>{fmts}</numFmts>'
                f"<cellXfs>{cells}</cellXfs></styleSheet>",
            )
        for i, (_, data) in enumerate(sheets, start=1):
            with z.open(f"xl/worksheets/sheet{i}.xml", "w", force_zip64=True) as out:
                out.write(f'<worksheet xmlns="{MAIN}"><sheetData>'.encode())
                for piece in [data] if isinstance(data, str) else data:
                    out.write(piece.encode())
                out.write(b"</sheetData></worksheet>")
    return path


@contextmanager
def edited(path: Path) -> Iterator[dict[str, bytes]]:
    """The parts of the XLSX at `path` by name, to change, add or delete: written back
    (deflated) as they are when the block ends."""
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    yield parts
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)


def row(number: int | None, *cells: str) -> str:
    """<row> holding `cells` (each already a <c> element)."""
    r = "" if number is None else f' r="{number}"'
    return f"<row{r}>{''.join(cells)}</row>"


def text(ref: str | None, value: str) -> str:
    r = "" if ref is None else f' r="{ref}"'
    return f'<c{r} t="inlineStr"><is><t>{escape(value)}</t></is></c>'


def num(ref: str | None, value: str, style: int | None = None) -> str:
    r = "" if ref is None else f' r="{ref}"'
    s = "" if style is None else f' s="{style}"'
    return f"<c{r}{s}><v>{value}</v></c>"
