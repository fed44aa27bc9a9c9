"""Export against a real sandbox over HTTP: complete, verified, streamed, never a formula."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook

from bulk_sync.cells import neutralize, restore
from bulk_sync.client import EchowinClient
from bulk_sync.client.models import Listed
from bulk_sync.errors import ConfigError, FatalApiError
from bulk_sync.exporter import ExportOptions, export_contacts
from bulk_sync.exporter.layout import Layout, MappedLayout
from bulk_sync.files import dated, rotate
from bulk_sync.mapping import load_mapping
from bulk_sync.sandbox import RunningSandbox, SandboxSettings, running_sandbox
from tests.client.conftest import client_for
from tests.conftest import Team, team_on

LEADS = Path(__file__).resolve().parents[1] / "mappings" / "leads.yaml"


@pytest.fixture
def client(sandbox: RunningSandbox, team: Team) -> Iterator[EchowinClient]:
    with client_for(sandbox, team) as c:
        yield c


def bulk(team: Team, numbers: list[str], **fields: object) -> None:
    for start in range(0, len(numbers), 100):
        contacts = [{"number": n, **fields} for n in numbers[start : start + 100]]
        response = team.http.post("/api/v1/contacts/bulk", json={"contacts": contacts})
        assert response.json()["summary"]["created"] == len(contacts), response.text


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize(
    "value",
    ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx", "'=x", "''+y", "'plain", "plain",
     "+15551234567", "-12.5", "", "=", "'"],
)  # fmt: skip
def test_neutralized_cells_read_back_exactly(value: str) -> None:
    written = neutralize(value)
    assert restore(written) == value
    assert not written.startswith(("=", "@", "\t", "\r")) or written == value == ""
    if value in ("+15551234567", "-12.5"):
        assert written == value  # a phone keeps its +


@pytest.mark.parametrize(
    "fields",
    [{"firstName": 5}, {"email": ["a@b.c"]}, {"tags": [{"id": "t"}]}, {"tags": "VIP"},
     {"crmStage": {"name": 3}}, {"crmStage": "Lead"}, {"customFields": ["x"]}],
)  # fmt: skip
def test_a_listed_contact_not_as_the_api_describes_is_refused(fields: dict[str, object]) -> None:
    """The export reads contacts as sent, without a model: a field of the wrong type is
    an unexpected response (exit 3, one sentence), never a crash or a wrong cell."""
    contact = Listed("c1", None, {"id": "c1", **fields})
    with pytest.raises(FatalApiError, match="unexpected response"):
        Layout([]).row(contact)
    if "crmStage" not in fields:  # a mapping's columns hold no stage
        with pytest.raises(FatalApiError, match="unexpected response"):
            MappedLayout(load_mapping(LEADS)).row(contact)
    assert Layout([]).row(Listed("c2", None, {"id": "c2", "firstName": None})) == [
        "c2", "", "", "", "", "", "", "", ""]  # fmt: skip


def test_every_contact_once_under_unstable_ties(tmp_path: Path) -> None:
    """2,500 contacts in bulks of 100 behind 30 singles: every bulk straddles a page
    boundary and comes back in a fresh order on every request."""
    settings = SandboxSettings(rate_limits=False, unstable_ties=True, tie_seed=3)
    with running_sandbox(settings) as server, team_on(server) as team:
        for i in range(30):
            team.create(number=f"+1646555{i:04d}")
        bulk(team, [f"+1646555{i:04d}" for i in range(30, 2500)], firstName="Bo")
        with client_for(server, team) as client:
            result = export_contacts(ExportOptions(tmp_path / "all.csv"), client)
    assert result.verified and result.exit_code == 0
    rows = read_csv(tmp_path / "all.csv")
    assert len(rows) == len({r["id"] for r in rows}) == 2500
    assert {r["number"] for r in rows} == {f"+1646555{i:04d}" for i in range(2500)}
    manifest = json.loads((tmp_path / "all.csv.manifest.json").read_text())
    assert manifest["rows"] == manifest["total_count_start"] == 2500 and manifest["verified"]
    assert "key" not in json.dumps(manifest).lower() or team.api_key not in json.dumps(manifest)


def test_contacts_added_and_deleted_meanwhile_leave_every_stable_one_once_or_exit_3(
    tmp_path: Path,
) -> None:
    settings = SandboxSettings(rate_limits=False, unstable_ties=True, tie_seed=4)
    with running_sandbox(settings) as server, team_on(server) as team:
        bulk(team, [f"+1646555{i:04d}" for i in range(2000)])
        newest = team.http.get("/api/v1/contacts?limit=100").json()["data"]
        doomed = [c["id"] for c in newest]
        stable = {f"+1646555{i:04d}" for i in range(2000)} - {c["number"] for c in newest}
        stop = threading.Event()

        def meddle() -> None:
            with httpx.Client(base_url=server.url, headers={"X-API-Key": team.api_key}) as other:
                n = 0
                while not stop.is_set() and n < 300:
                    other.post("/api/v1/contacts", json={"number": f"+1718555{n:04d}"})
                    if n < len(doomed):
                        other.delete(f"/api/v1/contacts/{doomed[n]}")
                    n += 1
                    stop.wait(0.002)

        thread = threading.Thread(target=meddle)
        thread.start()
        try:
            with client_for(server, team) as client:
                result = export_contacts(ExportOptions(tmp_path / "all.csv"), client)
        finally:
            stop.set()
            thread.join()
    if not result.verified:
        assert result.exit_code == 3 and result.reason
        assert result.path.name == "all.csv.partial" and not (tmp_path / "all.csv").exists()
        return
    rows = read_csv(tmp_path / "all.csv")
    assert len(rows) == len({r["id"] for r in rows})
    assert stable <= {r["number"] for r in rows}  # every contact that stayed, once


def test_xlsx_cells_are_text_never_formulas(
    client: EchowinClient, team: Team, tmp_path: Path
) -> None:
    names = ['=HYPERLINK("http://x")', "+1+1", "@SUM(1)", 'Zoë, "Q"\nline', "-3"]
    for i, name in enumerate(names):
        team.create(number=f"+1212555{i:04d}", firstName=name, lastName="Lee")
    result = export_contacts(ExportOptions(tmp_path / "out.xlsx"), client)
    assert result.verified
    sheet = load_workbook(tmp_path / "out.xlsx")["Contacts"]
    header, *rows = list(sheet.iter_rows())
    assert header[0].font.bold and sheet.freeze_panes == "A2" and sheet.auto_filter.ref
    cells = [cell for row in rows for cell in row if cell.value is not None]
    assert all(cell.data_type == "s" for cell in cells)
    first = [row[1].value for row in rows]
    assert sorted(restore(v) for v in first) == sorted(names)


TRICKY = [" lead", "trail ", "a & b <c>", "x\ry", "two\nlines", "=1+1", "+1+1", "@x", "12",
          "007", "-3.5", "TRUE", "Zoë 😀", "\u00a0nbsp\u00a0", 'q "x"', "tab\tin",
          "'=x"]  # fmt: skip


def test_a_many_row_xlsx_reads_back_cell_for_cell_as_the_csv(
    client: EchowinClient, team: Team, tmp_path: Path
) -> None:
    """1,050 contacts, 11 pages: every cell of the XLSX, read back by openpyxl and by
    calamine (the importer's reader), equals the CSV's; the last contacts bring a
    custom field no schema names, so that column appears mid-export (the rows before
    it are padded in the CSV, and have no cell there in the XLSX)."""
    for start in range(0, 1050, 100):
        contacts = [
            {"number": f"+1212555{i:04d}", "firstName": TRICKY[i % len(TRICKY)],
             "lastName": TRICKY[(i * 7) % len(TRICKY)], "tagNames": ["VIP", "a & b"][: i % 3],
             "customFields": {"company": TRICKY[(i * 3) % len(TRICKY)], "budget": i * 2.5,
                              **({"legacy_id": f" L{i}"} if i >= 1000 else {})}}
            for i in range(start, min(start + 100, 1050))
        ]  # fmt: skip
        response = team.http.post("/api/v1/contacts/bulk", json={"contacts": contacts})
        assert response.json()["summary"]["created"] == len(contacts), response.text
    assert export_contacts(ExportOptions(tmp_path / "all.csv"), client).verified
    result = export_contacts(ExportOptions(tmp_path / "all.xlsx"), client)
    assert result.verified and result.rows == 1050
    with (tmp_path / "all.csv").open(encoding="utf-8-sig", newline="") as handle:
        expected = list(csv.reader(handle))
    columns = expected[0]
    assert columns[-1] == "legacy_id" and {len(row) for row in expected} == {len(columns)}
    assert sum(row[-1] != "" for row in expected[1:]) == 50

    book = load_workbook(tmp_path / "all.xlsx")
    sheet = book["Contacts"]
    rows = list(sheet.iter_rows())
    assert [[c.value or "" for c in r] + [""] * (len(columns) - len(r)) for r in rows] == expected
    assert all(c.font.bold for c in rows[0]) and not rows[1][0].font.bold
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:O1051"
    assert sheet.column_dimensions["A"].width == 38 and sheet.column_dimensions["B"].width == 16
    assert all(c.data_type == "s" for r in rows for c in r if c.value is not None)
    book.close()

    import python_calamine

    calamine = python_calamine.CalamineWorkbook.from_path(str(tmp_path / "all.xlsx"))
    assert calamine.get_sheet_by_name("Contacts").to_python() == expected


def test_xlsx_cells_xml_cannot_hold_become_a_replacement_character(tmp_path: Path) -> None:
    from bulk_sync.exporter.xlsx import Sheet, numbered, write_xlsx

    cells = ["nul\x00bel\x07", "lone \ud800 surrogate", "\ufffe", "ok"]
    write_xlsx(tmp_path / "t.xlsx", [Sheet("T", ["a", "b", "c", "d"], [9] * 4, numbered([cells]))])
    book = load_workbook(tmp_path / "t.xlsx")
    assert [c.value for c in book["T"][2]] == ["nul\ufffdbel\ufffd", "lone \ufffd surrogate",
                                               "\ufffd", "ok"]  # fmt: skip
    book.close()


def test_keep_deletes_only_older_backups_of_the_pattern(tmp_path: Path) -> None:
    pattern = tmp_path / "contacts-{date}.csv"
    for day in range(1, 6):
        path = dated(pattern, dt.datetime(2026, 11, day, tzinfo=dt.UTC))
        path.write_text("x")
        path.with_name(path.name + ".manifest.json").write_text("{}")
    (tmp_path / "contacts-notes.csv").write_text("mine")
    (tmp_path / "other-2026-11-01.csv").write_text("mine")
    (tmp_path / "contacts-2027-01-01.csv").write_text("a copy made by hand: no manifest")
    written = tmp_path / "contacts-2026-11-05.csv"
    deleted = rotate(pattern, keep=2, written=written)
    assert sorted(p.name for p in deleted) == [f"contacts-2026-11-0{d}.csv" for d in (1, 2, 3)]
    assert sorted(p.name for p in tmp_path.iterdir() if "manifest" not in p.name) == [
        "contacts-2026-11-04.csv", "contacts-2026-11-05.csv", "contacts-2027-01-01.csv",
        "contacts-notes.csv", "other-2026-11-01.csv",
    ]  # fmt: skip
    # the backup just written is kept, whatever dates other names carry
    (tmp_path / "contacts-2027-02-02.csv").write_text("x")
    (tmp_path / "contacts-2027-02-02.csv.manifest.json").write_text("{}")
    assert written not in rotate(pattern, keep=1, written=written) and written.exists()
    assert not (tmp_path / "contacts-2027-02-02.csv").exists()
    assert rotate(tmp_path / "fixed.csv", keep=1, written=tmp_path / "fixed.csv") == []


def test_a_nightly_export_with_keep_keeps_the_new_backup(
    client: EchowinClient, team: Team, tmp_path: Path
) -> None:
    team.create(number="+12125550001")
    old = tmp_path / "b-2020-01-01.csv"
    old.write_text("old")
    old.with_name(old.name + ".manifest.json").write_text("{}")
    result = export_contacts(ExportOptions(tmp_path / "b-{date}.csv", keep=1), client)
    assert result.verified and result.path.exists() and result.deleted == [old]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        result.path.name,
        result.path.name + ".manifest.json",
    ]


def test_a_bad_output_or_tag_is_one_sentence_before_anything_is_read(
    client: EchowinClient, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=r"must end in \.csv or \.xlsx"):
        export_contacts(ExportOptions(tmp_path / "out.json"), client)
    with pytest.raises(ConfigError, match="is not a folder"):
        export_contacts(ExportOptions(tmp_path / "no" / "out.csv"), client)
    with pytest.raises(ConfigError, match="no tag named 'Nope'"):
        export_contacts(ExportOptions(tmp_path / "o.csv", tags=("Nope",)), client)


def test_an_unwritable_folder_is_one_sentence_before_anything_is_read(
    client: EchowinClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(As root every folder is writable: the refusal is staged.)"""
    import tempfile

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "TemporaryDirectory", refuse)
    before = client.stats.requests
    with pytest.raises(ConfigError, match=r"cannot write in .* \(Permission denied\)"):
        export_contacts(ExportOptions(tmp_path / "out.csv"), client)
    assert client.stats.requests == before


def test_an_export_in_a_mappings_columns_imports_back_with_it(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    from bulk_sync.importer import ImportOptions, import_file

    mapping = LEADS
    sample = Path(__file__).resolve().parents[1] / "samples" / "leads.csv"
    with team_on(sandbox) as a, team_on(sandbox) as b:
        with client_for(sandbox, a) as client:
            import_file(ImportOptions(sample, mapping, report_dir=tmp_path / "r1",
                                      state_dir=tmp_path / "s"), client, env={})  # fmt: skip
            result = export_contacts(ExportOptions(tmp_path / "a.csv", mapping=mapping), client)
        assert result.verified and result.rows == 223
        header = read_csv(tmp_path / "a.csv")[0].keys()
        assert list(header) == ["First Name", "Last Name", "Email", "Phone", "Company", "Role",
                                "Budget", "Tags", "Notes"]  # fmt: skip
        with client_for(sandbox, b) as client:
            options = ImportOptions(tmp_path / "a.csv", mapping, report_dir=tmp_path / "r2",
                                    state_dir=tmp_path / "s2")  # fmt: skip
            again = import_file(options, client, env={})
            assert again.counts["created"] == 223 and again.counts["rejected"] == 0
            export_contacts(ExportOptions(tmp_path / "b.csv"), client)
        with client_for(sandbox, a) as client:
            export_contacts(ExportOptions(tmp_path / "a-full.csv"), client)

    def content(path: Path) -> list[tuple[str, ...]]:
        return sorted(tuple(v for k, v in r.items() if k not in ("id", "createdAt"))
                      for r in read_csv(path))  # fmt: skip

    assert content(tmp_path / "b.csv") == content(tmp_path / "a-full.csv")


def test_include_adds_notes_assignments_and_boards_and_a_stopped_export_goes_on(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    with team_on(sandbox) as team:
        boards = team.http.get("/api/v1/boards").json()["data"]
        users = [u["id"] for u in team.users]
        for i in range(30):
            team.create(number=f"+1212555{i:04d}", note={"note": f"note {i}", "type": "INFO"},
                        assignUserIds=[users[i % 2]], boardIds=[boards[0]["id"]])  # fmt: skip
        include = ("notes", "assignments", "boards")
        with client_for(sandbox, team) as client:
            asked = iter(range(10**6))  # stops after 40 detail requests of the 90
            stopping = ExportOptions(tmp_path / "b.xlsx", include=include,
                                     state_dir=tmp_path / "state",
                                     should_stop=lambda: next(asked) >= 40)  # fmt: skip
            first = export_contacts(stopping, client)
            assert (
                not first.verified
                and first.exit_code == 3
                and "run it again" in (first.reason or "")
            )
            assert not (tmp_path / "b.xlsx").exists()
            before = client.stats.requests
            going_on = ExportOptions(
                tmp_path / "b.xlsx", include=include, state_dir=tmp_path / "state"
            )
            second = export_contacts(going_on, client)
            assert second.verified
            details_read = client.stats.requests - before - 5  # less fields, pages, counts
            assert 40 <= details_read <= 55  # what the first run read is not read again
            book = load_workbook(tmp_path / "b.xlsx")
            assert book.sheetnames == ["Contacts", "Notes", "Assignments", "Boards"]
            notes = list(book["Notes"].iter_rows(values_only=True))[1:]
            assert sorted(n[2] for n in notes) == sorted(f"note {i}" for i in range(30))
            assert len(list(book["Assignments"].iter_rows())) == 31
            assert {row[2] for row in list(book["Boards"].iter_rows(values_only=True))[1:]} == {
                boards[0]["name"]
            }
            notes_only = ExportOptions(tmp_path / "c.csv", include=("notes",),
                                       state_dir=tmp_path / "state")  # fmt: skip
            third = export_contacts(notes_only, client)
        assert third.verified
        assert len(read_csv(tmp_path / "c-notes.csv")) == 30
        assert third.manifest["include"] == {"notes": str((tmp_path / "c-notes.csv").resolve())}


def _note_reads(server: RunningSandbox) -> int:
    stats = httpx.get(f"{server.url}/_sandbox/stats", headers=server.admin_headers).json()
    return sum(int(r["count"]) for r in stats["requests"] if r["route"].endswith("/notes"))


def test_a_killed_include_export_goes_on_where_it_stopped(tmp_path: Path) -> None:
    """SIGKILL, not a polite stop: what the killed run read is not read again."""
    settings = SandboxSettings(rate_limits=False)
    with running_sandbox(settings) as server, team_on(server) as team:
        for i in range(40):
            team.create(number=f"+1212555{i:04d}", note={"note": f"note {i}", "type": "INFO"})
        slow = {"latency": 1.0, "latency_ms": 150}  # 40 note reads: 6 s, long enough to kill
        httpx.put(f"{server.url}/_sandbox/faults", json=slow, headers=server.admin_headers)
        env = {**os.environ, "ECHOWIN_API_URL": server.url, "ECHOWIN_API_KEY": team.api_key,
               "BULK_SYNC_STATE_DIR": str(tmp_path / "state")}  # fmt: skip
        command = [sys.executable, "-m", "bulk_sync", "export", str(tmp_path / "b.csv"),
                   "--include", "notes"]  # fmt: skip
        with subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) as run:  # fmt: skip
            deadline = time.monotonic() + 60
            while _note_reads(server) < 15 and run.poll() is None:
                assert time.monotonic() < deadline, "the export never read a note"
                time.sleep(0.05)
            run.send_signal(signal.SIGKILL)
        assert run.returncode == -signal.SIGKILL, "the export ended before it was killed"
        assert not (tmp_path / "b.csv").exists() and not (tmp_path / "b-notes.csv").exists()
        killed_after = _note_reads(server)
        again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert again.returncode == 0, again.stderr
        # reads are one at a time: only the one in flight when it was killed comes again
        assert _note_reads(server) - killed_after <= 40 - killed_after + 1
    notes = read_csv(tmp_path / "b-notes.csv")
    assert sorted(n["note"] for n in notes) == sorted(f"note {i}" for i in range(40))
    assert len(read_csv(tmp_path / "b.csv")) == 40
