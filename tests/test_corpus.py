"""Every broken file of the corpus (tests/corpus/make.py, tests/README.md) through the
CLI, into a sandbox team: file-level problems exit 2 with one sentence and nothing
sent; row-level ones land in rejected.csv; never a traceback; big ones in bounded
memory, measured in a child process."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bulk_sync.cli import app
from bulk_sync.sandbox import RunningSandbox
from tests.conftest import Team
from tests.corpus.make import BOMB, BOMB_ROWS, CASES, Case
from tests.importer.conftest import all_contacts

ROOT = Path(__file__).resolve().parents[1]
MAPPING = ROOT / "tests" / "corpus" / "mapping.yaml"


def _rows_rejected(report_dir: Path) -> list[int]:
    found = list(report_dir.glob("rejected.csv"))
    if not found:
        return []
    with found[0].open(encoding="utf-8-sig", newline="") as handle:
        return [int(line["_row"]) for line in csv.DictReader(handle)]


def cases(big: bool) -> list[object]:
    return [
        pytest.param(c, id=c.name, marks=pytest.mark.timeout(c.seconds))
        for c in CASES
        if bool(c.rss_mb) == big
    ]


@pytest.mark.parametrize("case", cases(big=False))
def test_a_broken_file_gets_its_one_outcome(
    case: Case, tmp_path: Path, sandbox: RunningSandbox, team: Team
) -> None:
    path = tmp_path / case.name
    case.make(path)
    reports = tmp_path / "reports"
    result = CliRunner().invoke(
        app,
        ["import", str(path), "--mapping", str(MAPPING), "--api-url", sandbox.url,
         "--report-dir", str(reports)],
        env={"ECHOWIN_API_KEY": team.api_key, "COLUMNS": "300"},
    )  # fmt: skip
    output = " ".join(result.output.split())  # the terminal wraps long lines
    assert "Traceback" not in result.output
    assert result.exit_code == case.exit, output
    assert case.says in output, output
    assert len(all_contacts(team)) == case.created
    if case.exit == 2:
        assert output.startswith("error: ") and output.count("error: ") == 1, output
        assert not reports.exists()
    else:
        assert sorted(_rows_rejected(reports)) == list(case.rejected)


def _child(args: list[str], env: dict[str, str]) -> tuple[int, str, float]:
    """`args` in a child process, through a parent that reports the child's peak RSS
    (RUSAGE_CHILDREN of a process with no other child)."""
    measure = (
        "import resource, subprocess, sys;"
        "done = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
        "sys.stderr.write(done.stdout + done.stderr);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss);"
        "sys.exit(done.returncode)"
    )
    done = subprocess.run(
        [sys.executable, "-c", measure, *args], capture_output=True, text=True, env=env,
        timeout=300,
    )  # fmt: skip
    return done.returncode, done.stderr, int(done.stdout.split()[-1]) / 1024


@pytest.mark.slow
@pytest.mark.parametrize("case", cases(big=True))
def test_a_big_broken_file_stays_in_bounds(
    case: Case, tmp_path: Path, sandbox: RunningSandbox, team: Team
) -> None:
    path = tmp_path / case.name
    case.make(path)
    reports = tmp_path / "reports"
    env = {**os.environ, "ECHOWIN_API_KEY": team.api_key, "COLUMNS": "300",
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    code, output, rss_mb = _child(
        [sys.executable, "-m", "bulk_sync", "import", str(path), "--mapping", str(MAPPING),
         "--api-url", sandbox.url, "--report-dir", str(reports)], env,
    )  # fmt: skip
    output = " ".join(output.split())
    assert "Traceback" not in output
    assert code == case.exit, output
    assert case.says in output, output
    assert rss_mb < case.rss_mb, f"{rss_mb:.0f} MB"
    assert len(all_contacts(team)) == case.created
    if case.exit != 2:
        assert sorted(_rows_rejected(reports)) == list(case.rejected)


@pytest.mark.slow
@pytest.mark.timeout(BOMB.seconds)
def test_a_zip_bomb_of_rows_is_read_as_a_stream(tmp_path: Path) -> None:
    """400,000 rows deflated to 63 KB: read whole, in bounded memory."""
    path = tmp_path / BOMB.name
    BOMB.make(path)
    assert path.stat().st_size < 100_000
    read = (
        "import json, sys; from pathlib import Path; from bulk_sync.sources import open_source;"
        "source = open_source(Path(sys.argv[1]));"
        "rows = sum(len(c.rows) for c in source.chunks());"
        "print(json.dumps({'rows': rows, 'total': source.total_rows}))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code, output, rss_mb = _child([sys.executable, "-c", read, str(path)], env)
    assert code == 0, output
    assert json.loads(output.strip().splitlines()[-1]) == {"rows": BOMB_ROWS, "total": BOMB_ROWS}
    assert rss_mb < BOMB.rss_mb, f"{rss_mb:.0f} MB"


def test_the_readme_table_lists_every_case() -> None:
    table = (ROOT / "tests" / "README.md").read_text(encoding="utf-8")
    for case in [*CASES, BOMB]:
        assert f"`{case.name}`" in table, case.name
