"""Where runs write: state and report folders made safely; a folder that is a file,
one that cannot be written, or a full disk met with one sentence, the right exit
code, and no part of a file under its final name.

A full disk is a file size limit (RLIMIT_FSIZE) set in the process that runs the
command: a write past it fails with EFBIG as on a full disk, whoever runs the tests
(a tmpfs would need root).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bulk_sync.files import write_atomically
from bulk_sync.importer import ImportOptions, import_file
from bulk_sync.importer.reports import default_report_dir
from bulk_sync.sandbox import RunningSandbox
from tests.client.conftest import client_for
from tests.conftest import Team, team_on
from tests.importer.conftest import all_contacts, write_csv
from tests.test_cli import run_cli

ROOT = Path(__file__).resolve().parents[1]
# The CLI, with a size limit on every file it writes (argv[1], in bytes).
LIMITED = (
    "import resource, runpy, sys\n"
    "limit = int(sys.argv[1])\n"
    "resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))\n"
    "sys.argv = ['bulk-sync', *sys.argv[2:]]\n"
    "runpy.run_module('bulk_sync', run_name='__main__')\n"
)


def bulk_sync(
    server: RunningSandbox, team: Team, cwd: Path, *args: str, limit: int | None = None
) -> subprocess.CompletedProcess[str]:
    """`bulk-sync ARGS` in `cwd` against `team`, as a process of its own, its files
    limited to `limit` bytes."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ECHOWIN_API_URL": server.url,
        "ECHOWIN_API_KEY": team.api_key,
        "BULK_SYNC_STATE_DIR": str(cwd / "state"),
    }
    command = ["-m", "bulk_sync"] if limit is None else ["-c", LIMITED, str(limit)]
    return subprocess.run(
        [sys.executable, *command, *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def in_process(server: RunningSandbox, team: Team, cwd: Path, *args: str) -> tuple[int, str]:
    """`bulk-sync ARGS` in this process (faster): its exit code and what it printed."""
    env = {"ECHOWIN_API_URL": server.url, "ECHOWIN_API_KEY": team.api_key}
    return run_cli(list(args), cwd, env)


def one_sentence(stderr: str) -> str:
    """The error line of a run that failed cleanly: no traceback, nothing else said."""
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, stderr
    return lines[0]


def leads(directory: Path, count: int, pad: int = 0) -> Path:
    """A CSV of `count` leads; `pad` characters of an unmapped column make each row (and
    its results line) long, not what is sent."""
    directory.mkdir(parents=True, exist_ok=True)
    write_csv(directory / "leads.csv", [["Name", "Phone", "Remarks"]] + [
        [f"Lead {i}", f"+1212555{i:04d}", "x" * pad] for i in range(count)
    ])  # fmt: skip
    (directory / "m.yaml").write_text("fields: {number: Phone}\nname: Name\n")
    return directory / "leads.csv"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- folders made safely ------------------------------------------------------------------


def test_a_new_state_folder_is_private_and_its_parents_are_made(
    sandbox: RunningSandbox, team: Team, tmp_path: Path
) -> None:
    source = leads(tmp_path, 30)
    state, reports = tmp_path / "deep" / "er" / "state", tmp_path / "r" / "s" / "reports"
    with client_for(sandbox, team) as client:
        options = ImportOptions(source, tmp_path / "m.yaml", report_dir=reports, state_dir=state)
        assert import_file(options, client, env={}).exit_code == 0
    assert mode(state) == 0o700  # it holds contacts: its owner's alone
    files = list(state.iterdir())
    assert {"journal.sqlite3", "teams.sqlite3"} <= {p.name for p in files}
    assert all(mode(p) & 0o077 == 0 for p in files), {p.name: oct(mode(p)) for p in files}
    assert {"results.csv", "rejected.csv", "summary.json"} <= {p.name for p in reports.iterdir()}


def test_a_state_folder_that_exists_is_left_as_it_is_its_files_private(
    sandbox: RunningSandbox, team: Team, tmp_path: Path
) -> None:
    """A folder the user gave (`--state-dir .`, say) keeps its mode; the files with
    contacts in it are made readable by their owner only."""
    source = leads(tmp_path, 10)
    state = tmp_path / "mine"
    state.mkdir()
    state.chmod(0o755)
    with client_for(sandbox, team) as client:
        options = ImportOptions(source, tmp_path / "m.yaml", report_dir=tmp_path / "r",
                                state_dir=state)  # fmt: skip
        assert import_file(options, client, env={}).exit_code == 0
    assert mode(state) == 0o755
    assert mode(state / "journal.sqlite3") == 0o600 and mode(state / "teams.sqlite3") == 0o600


def test_runs_in_the_same_second_get_report_folders_of_their_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The folder is made when named: a run that starts in the same second (another
    process) never writes into the first one's reports."""
    monkeypatch.chdir(tmp_path)
    now = dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)
    first, second = default_report_dir(now), default_report_dir(now)
    assert first != second and first.is_dir() and second.is_dir()
    assert second.name == first.name + "-2"


# --- a folder that is a file, or cannot be written: exit 2, nothing sent --------------------


def test_a_report_folder_that_is_a_file_is_one_sentence_and_nothing_is_sent(
    sandbox: RunningSandbox, team: Team, tmp_path: Path
) -> None:
    leads(tmp_path, 10)
    (tmp_path / "taken").write_text("a file, not a folder\n")
    code, output = in_process(sandbox, team, tmp_path, "import", "leads.csv", "--mapping", "m.yaml",
                              "--report-dir", "taken")  # fmt: skip
    assert code == 2
    message = one_sentence(output)
    assert "taken" in message and "--report-dir" in message
    assert (tmp_path / "taken").read_text() == "a file, not a folder\n"
    assert all_contacts(team) == []
    assert not list(tmp_path.rglob("results.csv*"))


def test_an_unwritable_report_folder_is_one_sentence_and_nothing_is_sent(
    sandbox: RunningSandbox, team: Team, tmp_path: Path
) -> None:
    leads(tmp_path, 10)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        try:
            (locked / "probe").mkdir()
        except PermissionError:
            pass
        else:
            pytest.skip("this user writes in any folder (root): chmod 500 refuses it nothing")
        run = in_process(sandbox, team, tmp_path, "import", "leads.csv", "--mapping", "m.yaml",
                         "--report-dir", "locked/r")  # fmt: skip
        export = in_process(sandbox, team, tmp_path, "export", "locked/out.csv")
    finally:
        locked.chmod(0o700)
    assert run[0] == 2 and "--report-dir" in one_sentence(run[1])
    assert export[0] == 2 and "locked" in one_sentence(export[1])
    assert all_contacts(team) == []
    assert list(locked.iterdir()) == []


def test_an_export_output_whose_folder_is_a_file_is_one_sentence(
    sandbox: RunningSandbox, team: Team, tmp_path: Path
) -> None:
    (tmp_path / "taken").write_text("x")
    code, output = in_process(sandbox, team, tmp_path, "export", "taken/out.csv")
    assert code == 2 and "is not a folder" in one_sentence(output)


# --- a full disk ---------------------------------------------------------------------------


def test_a_failed_atomic_write_leaves_neither_a_part_nor_its_partial(tmp_path: Path) -> None:
    code = (
        "import resource, sys; from pathlib import Path\n"
        "from bulk_sync.files import write_atomically\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))\n"
        "try:\n"
        "    write_atomically(Path(sys.argv[1]), 'x' * 5000)\n"
        "except OSError as exc:\n"
        "    print(exc.errno)\n"
    )
    target = tmp_path / "summary.json"
    write_atomically(target, "old\n")
    run = subprocess.run([sys.executable, "-c", code, str(target)], capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    assert run.stdout.strip() == "27", run.stderr  # EFBIG
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


@pytest.fixture(scope="module")
def full_disk_import(
    sandbox: RunningSandbox, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[subprocess.CompletedProcess[str], Path, int]]:
    """An import whose results.csv outgrows the disk after 4 of 6 batches were sent: the
    run, its report folder, the contacts made."""
    tmp = tmp_path_factory.mktemp("full")
    leads(tmp, 600, pad=4000)  # a results line is 4 KB, a contact sent some 60 bytes
    with team_on(sandbox) as team:
        run = bulk_sync(sandbox, team, tmp, "import", "leads.csv", "--mapping", "m.yaml",
                        "--report-dir", "r", limit=1_500_000)  # fmt: skip
        yield run, tmp / "r", len(all_contacts(team))


def test_a_full_disk_mid_import_leaves_no_report_under_its_final_name(
    full_disk_import: tuple[subprocess.CompletedProcess[str], Path, int],
) -> None:
    run, reports, made = full_disk_import
    assert 0 < made < 600, run.stderr  # it failed after sending
    assert not (reports / "results.csv").exists() and not (reports / "rejected.csv").exists()
    assert (reports / "results.csv.partial").exists()


def test_a_full_disk_mid_import_is_one_error_exit_3_and_a_summary(
    full_disk_import: tuple[subprocess.CompletedProcess[str], Path, int],
) -> None:
    run, reports, _ = full_disk_import
    assert run.returncode == 3, run.stderr
    assert "results.csv.partial" in one_sentence(run.stderr)  # which file could not grow
    assert "re-run the same command to resume" in run.stderr
    summary = json.loads((reports / "summary.json").read_text())
    assert summary["finished"] is False and "File too large" in summary["error"]


@pytest.fixture(scope="module")
def six_hundred(sandbox: RunningSandbox) -> Iterator[Team]:
    """A team of 600 contacts of some 100 bytes each, to export (never changed)."""
    with team_on(sandbox) as team:
        for start in range(0, 600, 100):
            body = {"contacts": [{"number": f"+1212555{i:04d}", "firstName": "Lead"}
                                 for i in range(start, start + 100)]}  # fmt: skip
            assert team.http.post("/api/v1/contacts/bulk", json=body).status_code == 201
        yield team


@pytest.mark.parametrize(
    ("output", "limit"),
    [
        ("out.csv", 20_000),  # the workspace's spool outgrows the disk
        ("out.xlsx", 75_000),  # the spool fits; the sheet openpyxl streams does not
        ("details.csv", 75_000),  # the spool fits; the details store (--include) does not
    ],
)
def test_a_full_disk_during_an_export_is_one_sentence_and_leaves_no_file(
    sandbox: RunningSandbox, six_hundred: Team, tmp_path: Path, output: str, limit: int
) -> None:
    include = ["--include", "notes"] if output == "details.csv" else []
    run = bulk_sync(sandbox, six_hundred, tmp_path, "export", output, *include, limit=limit)
    assert run.returncode == 3, run.stderr
    message = one_sentence(run.stderr)
    assert f"cannot write {output}" in message and "free some space" in message
    left = {p.name for p in tmp_path.iterdir()} - {"state"}
    assert left == set(), left  # no OUTPUT, no OUTPUT.partial, no workspace


def test_with_room_enough_the_same_exports_are_whole(
    sandbox: RunningSandbox, six_hundred: Team, tmp_path: Path
) -> None:
    """The floor of the test above: it is the size limit that fails them."""
    run = bulk_sync(sandbox, six_hundred, tmp_path, "export", "out.xlsx", limit=5_000_000)
    assert run.returncode == 0, run.stderr
    assert json.loads((tmp_path / "out.xlsx.manifest.json").read_text())["rows"] == 600
