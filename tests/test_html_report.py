"""`summary.html` rendered in headless Chromium: the key figures are in the DOM, the
reasons are grouped with example rows, and the page is not blank."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from bulk_sync.importer.html_report import Reasons, render, render_undo
from tests.test_cli import run_cli

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium(tmp: Path, *args: str) -> str:
    assert CHROMIUM is not None
    done = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp / 'profile'}", *args],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def png_colours(path: Path) -> int:
    """Distinct byte values in a PNG's pixel data: a blank page has one or two."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    return len(set(zlib.decompress(idat)))


def test_reasons_are_grouped_with_a_few_examples_and_escaped() -> None:
    reasons = Reasons()
    for row in range(2, 12):
        reasons.add(row, f"Phone: number '{row}<b>' is too short for a phone number")
    reasons.add(20, "Role: role is empty, and it is required; Email: email 'x@' is not an email")
    page = render({"source": "a.csv", "rejected": 11, "finished": True}, reasons, ["results.csv"])
    assert "Phone: number … is too short for a phone number" in page
    assert page.count("<li>row ") == 3 + 1  # three examples of the ten; the other row whole
    assert ">10</td>" in page and ">1</td>" in page  # groups add up to the 11 rows
    assert "<b>'" not in page and "&lt;b&gt;" in page


def test_an_undo_page_has_its_own_counts_and_groups_why_contacts_were_refused() -> None:
    reasons = Reasons()
    for row in (4, 9):
        reasons.add(row, f"echowin refused (403): contact {row} is locked")
    summary = {"source": "a.csv", "deleted": 7, "already_gone": 1, "failed": 2,
               "finished": False, "error": "stopped when asked", "exit_code": 3}  # fmt: skip
    page = render_undo(summary, reasons, ["results.csv.partial", "summary.partial.json"])
    assert "<title>bulk-sync undo: a.csv</title>" in page
    assert '<div class="tile" data-count="deleted"><b>7</b>deleted</div>' in page
    assert '<div class="tile" data-count="failed"><b>2</b>refused</div>' in page
    assert "Why contacts were not deleted" in page and ">2</td>" in page
    assert "<li>row 9: echowin refused (403): contact 9 is locked</li>" in page
    assert "<dd>stopped: stopped when asked</dd>" in page and '"created"' not in page


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (.ci/run installs it)")
def test_summary_html_shows_the_figures_in_a_real_browser(tmp_path: Path) -> None:
    lines = ["Phone,Role", "2125550100,Manager", "call me,Manager", "2125550101,Intern",
             "2125550100,Manager"]  # fmt: skip
    (tmp_path / "in.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "m.yaml").write_text("fields: {number: Phone}\ncustomFields: {role: Role}\n")
    code, output = run_cli(["import", "in.csv", "-m", "m.yaml", "--sandbox", "--report-dir", "r"],
                           tmp_path)  # fmt: skip
    assert code == 1, output
    page = (tmp_path / "r" / "summary.html").resolve()
    dom = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert '<div class="tile" data-count="created"><b>1</b>created</div>' in dom
    assert '<div class="tile" data-count="rejected"><b>2</b>rejected</div>' in dom
    assert '<div class="tile" data-count="duplicates"><b>1</b>in-file duplicates</div>' in dom
    assert "row 3: Phone: number 'call me' cannot be read as a phone number" in dom
    assert "row 4: Role: role 'Intern' is not one of Manager, Employee, Executive" in dom
    assert '<a href="results.csv">results.csv</a>' in dom
    chromium(tmp_path, f"--screenshot={tmp_path / 'shot.png'}", "--window-size=1000,700",
             page.as_uri())  # fmt: skip
    assert png_colours(tmp_path / "shot.png") > 20
