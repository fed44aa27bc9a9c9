"""When things go wrong part way: the reports never look whole, the exit code keeps its
promise, and one refused row or request never blocks the run (sandbox over HTTP)."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import httpx
import pytest
import yaml

from bulk_sync.importer import ImportOptions, import_file
from bulk_sync.importer.push import Pusher
from bulk_sync.sandbox import RunningSandbox, SandboxSettings, running_sandbox
from tests.client.conftest import client_for
from tests.conftest import Team, team_on
from tests.importer.conftest import all_contacts, read_report, write_csv

ROOT = Path(__file__).resolve().parents[2]


def _leads(path: Path, count: int, note: str = "") -> Path:
    rows = [["Phone", "Note"]] + [[f"+1212555{i:04d}", note] for i in range(count)]
    return write_csv(path / "leads.csv", rows)


def _mapping(path: Path, extra: str = "") -> Path:
    (path / "m.yaml").write_text(
        "version: 1\nfields:\n  number: Phone\nnote: Note\n" + extra, encoding="utf-8"
    )
    return path / "m.yaml"


def _options(tmp: Path, **more: object) -> ImportOptions:
    return ImportOptions(tmp / "leads.csv", tmp / "m.yaml", report_dir=tmp / "r",
                         state_dir=tmp / "state", **more)  # type: ignore[arg-type]  # fmt: skip


def test_an_unexpected_error_after_sending_leaves_partial_reports_a_summary_and_exit_3(
    sandbox: RunningSandbox, team: Team, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _leads(tmp_path, 250)
    _mapping(tmp_path)
    real_push, pushed = Pusher.push, []

    def push_then_disk_full(self: Pusher, batch: list[tuple[int, str]]) -> object:
        if pushed:
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "r"))
        pushed.append(batch)
        return real_push(self, batch)

    monkeypatch.setattr(Pusher, "push", push_then_disk_full)
    with client_for(sandbox, team) as client:
        result = import_file(_options(tmp_path), client, env={})
    assert result.exit_code == 3 and result.sent_anything
    assert result.error == f"No space left on device ({tmp_path / 'r'})"
    assert not (tmp_path / "r" / "results.csv").exists()  # never a false whole
    first = len(pushed[0])  # a first batch holds 69 to 100 rows (see rows.py)
    assert len(read_report(tmp_path / "r" / "results.csv.partial")) == first
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["finished"] is False and summary["exit_code"] == 3
    assert summary["error"] == result.error and summary["created"] == first
    monkeypatch.undo()
    with client_for(sandbox, team) as client:  # and the same command resumes
        again = import_file(_options(tmp_path), client, env={})
    assert again.exit_code == 0 and again.summary["confirmed_earlier"] == first
    assert len(all_contacts(team)) == 250


@pytest.fixture
def small_bodies() -> object:
    """A server refusing bodies over 64 KiB, as a gateway would (413)."""
    with running_sandbox(SandboxSettings(rate_limits=False, max_body_bytes=64 * 1024)) as server:
        yield server


def _statuses(server: RunningSandbox, route: str) -> dict[int, int]:
    stats = httpx.get(f"{server.url}/_sandbox/stats", headers=server.admin_headers).json()
    return {r["status"]: r["count"] for r in stats["requests"] if r["route"] == route}


def test_a_bulk_too_large_is_split_and_a_row_too_large_alone_is_rejected(
    small_bodies: RunningSandbox, tmp_path: Path
) -> None:
    note = "n" * 2000  # 100 rows: about 200 KB, over the server's 64 KiB
    _leads(tmp_path, 100, note)
    _mapping(tmp_path)
    with (tmp_path / "leads.csv").open("a", encoding="utf-8") as handle:
        handle.write(f"+12125559999,{'x' * 100_000}\n")  # 100 KB alone: too large however sent
    with team_on(small_bodies) as team, client_for(small_bodies, team) as client:
        result = import_file(_options(tmp_path), client, env={})
        contacts = all_contacts(team)
    assert result.exit_code == 1, result.error
    assert result.counts["created"] == 100 and result.counts["rejected"] == 1
    assert sorted(c["number"] for c in contacts) == [f"+1212555{i:04d}" for i in range(100)]
    (rejected,) = read_report(tmp_path / "r" / "rejected.csv")
    assert rejected["Phone"] == "+12125559999" and "413" in rejected["_error"]
    assert _statuses(small_bodies, "/api/v1/contacts/bulk").get(413, 0) >= 2  # split, twice


def test_a_team_without_boards_rejects_board_ids_before_sending(tmp_path: Path) -> None:
    seed = yaml.safe_load((ROOT / "samples" / "sandbox-seed.yaml").read_text(encoding="utf-8"))
    seed["boards"] = []
    (tmp_path / "seed.yaml").write_text(yaml.safe_dump(seed), encoding="utf-8")
    write_csv(tmp_path / "leads.csv", [["Phone", "Note", "Board"], ["+12125550100", "", "b-1"],
                                       ["+12125550101", "", ""]])  # fmt: skip
    _mapping(tmp_path, "boardIds: {column: Board}\n")
    settings = SandboxSettings(rate_limits=False, seed=tmp_path / "seed.yaml")
    with running_sandbox(settings) as server, team_on(server) as team:
        with client_for(server, team) as client:
            result = import_file(_options(tmp_path), client, env={})
        assert [c["number"] for c in all_contacts(team)] == ["+12125550101"]
    assert result.exit_code == 1 and result.counts["created"] == 1
    (rejected,) = read_report(tmp_path / "r" / "rejected.csv")
    assert "no board with id 'b-1' on this team" in rejected["_error"]


def test_a_fixed_rejected_csv_imports_again_without_repeating_the_report_columns(
    sandbox: RunningSandbox, team: Team, tmp_path: Path
) -> None:
    write_csv(tmp_path / "leads.csv", [["Phone", "Note"], ["+12125550100", ""], ["oops", "x"]])
    _mapping(tmp_path)
    with client_for(sandbox, team) as client:
        first = import_file(_options(tmp_path), client, env={})
        assert first.counts["rejected"] == 1
        rejected = tmp_path / "r" / "rejected.csv"
        fixed = rejected.read_text(encoding="utf-8-sig").replace("oops", "+12125550101")
        (tmp_path / "fixed.csv").write_text(fixed, encoding="utf-8")
        again = import_file(
            ImportOptions(tmp_path / "fixed.csv", tmp_path / "m.yaml", report_dir=tmp_path / "r2",
                          state_dir=tmp_path / "state"), client, env={},
        )  # fmt: skip
    assert again.exit_code == 0 and again.counts["created"] == 1
    assert any("come from an earlier report: left out" in w for w in again.warnings)
    with (tmp_path / "r2" / "results.csv").open(encoding="utf-8-sig") as handle:
        header = handle.readline().strip().split(",")
    assert header == ["Phone", "Note", "_row", "_status", "_contact_id", "_error"]
