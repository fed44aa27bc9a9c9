"""Row identity: an import never creates a contact twice, whatever changed; upsert and update.

Every test runs against a real sandbox over HTTP, each on a team of its own.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from bulk_sync.client import EchowinClient
from bulk_sync.config import ApiKey, ApiSettings
from bulk_sync.errors import ConfigError
from bulk_sync.importer import ImportOptions, ImportResult, import_file
from bulk_sync.sandbox import RunningSandbox, SandboxSettings, running_sandbox
from tests.client.conftest import client_for
from tests.conftest import Team, team_on

from .conftest import all_contacts, read_report, write_csv

HEADER = ["First", "Last", "Phone", "Email", "Tags", "Company"]
MAPPING = """\
fields: {firstName: First, lastName: Last, number: Phone, email: Email}
tags: {column: Tags, split: ";"}
customFields: {company: Company}
"""


def lead(i: int, **changes: str) -> list[str]:
    row = {"First": f"Ann{i}", "Last": "Lee", "Phone": f"+1212555{i:04d}",
           "Email": f"ann{i}@example.com", "Tags": "lead", "Company": f"Acme {i}"}  # fmt: skip
    row.update(changes)
    return [row[h] for h in HEADER]


def run(
    client: EchowinClient,
    tmp: Path,
    rows: list[list[str]],
    *,
    name: str,
    mapping: str = MAPPING,
    state: str = "state",
    **options: Any,
) -> tuple[ImportResult, list[dict[str, Any]]]:
    source = write_csv(tmp / f"{name}.csv", [HEADER, *rows])
    (tmp / f"{name}.yaml").write_text(mapping)
    result = import_file(
        ImportOptions(source, tmp / f"{name}.yaml", report_dir=tmp / name,
                      state_dir=tmp / state, **options),
        client,
        env={},
    )  # fmt: skip
    assert result.error is None, result.error
    return result, read_report(tmp / name / "results.csv")


def numbers(team: Team) -> Counter[str]:
    return Counter(c["number"] for c in all_contacts(team))


def test_nothing_that_changes_between_runs_creates_a_contact_twice(
    client: EchowinClient, team: Team, tmp_path: Path
) -> None:
    rows = [lead(i) for i in range(30)]
    first, _ = run(client, tmp_path, rows, name="first")
    assert first.counts["created"] == 30

    # a changed mapping (a new job): every row is found in the team and skipped
    remapped = MAPPING.replace("firstName: First", "firstName: {column: First, transform: upper}")
    again, results = run(client, tmp_path, rows, name="remapped", mapping=remapped)
    assert again.counts["skipped"] == 30 and again.counts["created"] == 0
    stored = {c["number"]: c["id"] for c in all_contacts(team)}
    assert all(r["_error"] == "already in echowin" for r in results)
    assert {r["_contact_id"] for r in results} == set(stored.values())

    # another region (these numbers carry their country code), another match key,
    # a new state directory (no index, no journal)
    region, _ = run(client, tmp_path, rows, name="region", region="GB")
    email, _ = run(client, tmp_path, rows, name="email", match=("email",))
    elsewhere, _ = run(client, tmp_path, rows, name="elsewhere", state="other-state")
    for result in (region, email, elsewhere):
        assert result.counts["skipped"] == 30 and result.counts["created"] == 0

    # the file grew: only the new rows are created
    grown, results = run(client, tmp_path, [*rows, *(lead(i) for i in range(30, 45))], name="grown")
    assert grown.counts["created"] == 15 and grown.counts["skipped"] == 30
    assert set(numbers(team).values()) == {1} and len(numbers(team)) == 45


def test_contacts_typed_without_a_country_code_are_found(
    client: EchowinClient, team: Team, tmp_path: Path
) -> None:
    """echowin keeps a number as typed in its UI (cleaned of punctuation, nothing added)."""
    typed = team.create(number="(212) 555-0007", firstName="Typed")
    result, results = run(client, tmp_path, [lead(7), lead(8)], name="in")
    assert result.counts == {**result.counts, "created": 1, "skipped": 1}
    assert results[0]["_status"] == "skipped" and results[0]["_contact_id"] == typed["id"]


def test_a_key_shared_by_several_contacts_is_rejected_never_guessed(
    client: EchowinClient, team: Team, tmp_path: Path
) -> None:
    a = team.create(number="+12125550001")
    b = team.create(number="+12125550001")
    for mode in ("create", "upsert"):
        result, (row,) = run(client, tmp_path, [lead(1)], name=mode, mode=mode)
        assert row["_status"] == "rejected"
        assert row["_error"] == (
            f"ambiguous match: 2 contacts in echowin have this number (ids {b['id']}, {a['id']})"
        ) or row["_error"] == (
            f"ambiguous match: 2 contacts in echowin have this number (ids {a['id']}, {b['id']})"
        )
        assert result.exit_code == 1
    assert len(all_contacts(team)) == 2


def test_upsert_updates_what_changed_merges_tags_and_keeps_blanks(
    client: EchowinClient, team: Team, tmp_path: Path
) -> None:
    run(client, tmp_path, [lead(i) for i in range(4)], name="first")
    by_number = {c["number"]: c for c in all_contacts(team)}
    # someone tags a contact in echowin's UI
    vip = by_number["+12125550001"]
    team.http.put(f"/api/v1/contacts/{vip['id']}", json={"tagNames": ["lead", "VIP"]})

    edited = [
        lead(0),  # the same
        lead(1, Tags="customer"),  # a new tag: merged with lead and VIP
        lead(2, First="Annie", Company=""),  # a new name; an empty company cell
        lead(3, Email=""),  # an empty email cell
        lead(4),  # new
    ]
    result, results = run(client, tmp_path, edited, name="upsert", mode="upsert")
    statuses = [r["_status"] for r in results]
    assert statuses == ["unchanged", "updated", "updated", "unchanged", "created"]
    after = {c["number"]: c for c in all_contacts(team)}
    assert len(after) == 5
    assert sorted(t["name"] for t in after["+12125550001"]["tags"]) == [
        "Customer",
        "Lead",
        "VIP",
    ]  # the team spells them so
    assert after["+12125550002"]["firstName"] == "Annie"
    assert after["+12125550002"]["customFields"] == {"company": "Acme 2"}  # blank kept
    assert after["+12125550003"]["email"] == "ann3@example.com"  # blank kept
    assert result.summary["updated"] == 2 and result.summary["unchanged"] == 2

    # --overwrite-blanks: the empty cells clear what they map to
    again, _ = run(client, tmp_path, edited, name="blanks", mode="upsert", overwrite_blanks=True)
    after = {c["number"]: c for c in all_contacts(team)}
    assert after["+12125550002"]["customFields"] == {}
    assert after["+12125550003"]["email"] is None
    assert again.counts["updated"] == 2


def test_an_identical_upsert_sends_no_writes_and_update_mode_creates_nothing(
    sandbox: RunningSandbox, team: Team, tmp_path: Path
) -> None:
    rows = [lead(i) for i in range(20)]
    with client_for(sandbox, team) as client:
        run(client, tmp_path, rows, name="first")
    with client_for(sandbox, team) as client:
        result, _ = run(client, tmp_path, rows, name="same", mode="upsert")
        assert result.counts["unchanged"] == 20
        assert client.stats.by_status.keys() == {200}  # reads only: no 201, no PUT
        methods = result.summary["requests"]
        assert methods <= 10
    with client_for(sandbox, team) as client:
        changed = [lead(i, First=f"Bo{i}") for i in range(20, 25)] + [lead(3, First="Cy")]
        result, results = run(client, tmp_path, changed, name="update", mode="update")
    assert [r["_status"] for r in results] == ["skipped"] * 5 + ["updated"]
    assert results[0]["_error"] == "not found: no contact in echowin has this number"
    assert len(all_contacts(team)) == 20
    assert {c["firstName"] for c in all_contacts(team)} >= {"Cy"}


def test_a_nightly_upsert_sends_only_the_changed_rows(
    client: EchowinClient, team: Team, tmp_path: Path
) -> None:
    """The hash of what was written last tells an unchanged row without a comparison."""
    rows = [lead(i) for i in range(50)]
    run(client, tmp_path, rows, name="night1", mode="upsert")
    rows[7] = lead(7, Company="Globex")
    before = client.stats.requests
    result, _ = run(client, tmp_path, [*rows, lead(50)], name="night2", mode="upsert")
    assert result.counts["created"] == 1 and result.counts["updated"] == 1
    assert result.counts["unchanged"] == 49
    # the index read only what is new; one GET for the changed contact, one PUT, one bulk
    assert client.stats.requests - before < 15
    assert {c["customFields"]["company"] for c in all_contacts(team)} >= {"Globex"}


def test_full_compare_reads_the_team_and_catches_an_edit_made_in_echowin(
    client: EchowinClient, team: Team, tmp_path: Path
) -> None:
    rows = [lead(i) for i in range(5)]
    run(client, tmp_path, rows, name="first", mode="upsert")
    contact = next(c for c in all_contacts(team) if c["number"] == "+12125550002")
    team.http.put(f"/api/v1/contacts/{contact['id']}", json={"firstName": "Edited"})
    trusting, _ = run(client, tmp_path, rows, name="trusting", mode="upsert")
    assert trusting.counts["unchanged"] == 5  # what we wrote has not changed: left alone
    compared, _ = run(client, tmp_path, rows, name="compared", mode="upsert", full_compare=True)
    assert compared.counts["updated"] == 1 and compared.counts["unchanged"] == 4
    assert {c["firstName"] for c in all_contacts(team)} == {f"Ann{i}" for i in range(5)}


def test_tags_mode_replace_makes_the_rows_tags_the_only_ones(
    client: EchowinClient, team: Team, tmp_path: Path
) -> None:
    run(client, tmp_path, [lead(1, Tags="lead;old")], name="first")
    replace = MAPPING + "tags_mode: replace\n"
    run(client, tmp_path, [lead(1, Tags="new")], name="again", mapping=replace, mode="upsert")
    (contact,) = all_contacts(team)
    assert [t["name"] for t in contact["tags"]] == ["new"]


def test_a_small_file_into_a_large_team_searches_instead_of_reading_it(
    client: EchowinClient, team: Team, tmp_path: Path
) -> None:
    for start in range(0, 3000, 100):
        team.http.post("/api/v1/contacts/bulk", json={"contacts": [
            {"number": f"+1646555{i:04d}"} for i in range(start, start + 100)]})  # fmt: skip
    team.create(number="+12125550001")
    result, results = run(client, tmp_path, [lead(1), lead(2)], name="in")
    assert result.summary["lookup"]["kind"] == "search"
    assert [r["_status"] for r in results] == ["skipped", "created"]
    assert result.summary["lookup"]["pages_read"] == 0


def test_allow_duplicates_creates_every_row_and_only_in_create_mode(
    client: EchowinClient, team: Team, tmp_path: Path
) -> None:
    run(client, tmp_path, [lead(1)], name="first")
    result, _ = run(client, tmp_path, [lead(1)], name="again", allow_duplicates=True)
    assert result.counts["created"] == 1 and result.summary["lookup"]["kind"] == "none"
    assert numbers(team)["+12125550001"] == 2
    with pytest.raises(ConfigError, match=r"--allow-duplicates .* --mode create only"):
        run(client, tmp_path, [lead(1)], name="bad", allow_duplicates=True, mode="upsert")


def cli_in(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BULK_SYNC_STATE_DIR": str(folder / "state")}
    return subprocess.run(
        [sys.executable, "-m", "bulk_sync", "import", *args, "--sandbox", "--quiet"],
        cwd=folder, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_the_sandbox_twice_in_one_folder_never_doubles(tmp_path: Path) -> None:
    """The in-process sandbox takes a new port every run: the job is its database."""
    root = Path(__file__).parents[2]
    args = [str(root / "samples" / "leads.csv"), "--mapping", str(root / "mappings/leads.yaml")]
    first = cli_in(tmp_path, *args)
    assert first.returncode == 1, first.stderr  # the sample has rejected rows
    (tmp_path / "state").rename(tmp_path / "old-state")  # even with the journal gone
    second = cli_in(tmp_path, *args)
    assert second.returncode == 1, second.stderr
    with sqlite3.connect(tmp_path / ".bulk-sync" / "sandbox.db") as db:
        total, distinct = db.execute(
            "SELECT count(*), count(DISTINCT number) FROM contacts"
        ).fetchone()
    assert total == distinct == 223


def test_reconciling_matches_numbers_echowin_stored_otherwise_and_lost_answers(
    sandbox: RunningSandbox, team: Team, tmp_path: Path
) -> None:
    """A stand-in in front of the sandbox: it sends each number as a national number
    (echowin may store numbers "cleaned" otherwise than sent) and loses the answer of
    every other bulk request after the sandbox committed it."""
    inner = httpx.HTTPTransport()

    class Garbling(httpx.BaseTransport):
        bulks = 0

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/contacts/bulk"):
                body = request.read().replace(b'"+1', b'"')  # +12125550001 -> 2125550001
                request = httpx.Request(request.method, request.url, headers=request.headers,
                                        content=body)  # fmt: skip
                request.headers["content-length"] = str(len(body))
                Garbling.bulks += 1
                if Garbling.bulks % 2:
                    inner.handle_request(request).read()
                    raise httpx.ReadTimeout("answer lost", request=request)
            return inner.handle_request(request)

        def close(self) -> None:
            inner.close()

    rows = [lead(i) for i in range(250)]
    settings = ApiSettings(sandbox.url, ApiKey(team.api_key))
    timeout = httpx.Timeout(5.0, read=0.2)  # a lost answer is given 0.2 s to commit
    with EchowinClient(settings, limits=None, transport=Garbling(), timeout=timeout) as client:
        result, results = run(client, tmp_path, rows, name="in")
    stored = numbers(team)
    assert len(stored) == 250 and set(stored.values()) == {1}
    assert result.counts["created"] == 250
    assert {r["_contact_id"] for r in results} == {c["id"] for c in all_contacts(team)}


def test_under_unstable_ties_and_a_busy_team_every_row_is_found_exactly_once(
    tmp_path: Path,
) -> None:
    """A database without a tie-breaker orders a bulk's contacts afresh on every list
    request, and pages split those ties; meanwhile someone else keeps creating contacts.
    The index still finds every existing contact, and every batch is reconciled exactly."""
    settings = SandboxSettings(rate_limits=False, unstable_ties=True, tie_seed=11)
    with running_sandbox(settings) as server, team_on(server) as team:
        for i in range(50):  # singles first: the bulks after them straddle page boundaries
            team.create(number=f"+1646555{i:04d}")
        for start in range(50, 2550, 100):
            response = team.http.post("/api/v1/contacts/bulk", json={"contacts": [
                {"number": f"+1646555{i:04d}"} for i in range(start, start + 100)]})  # fmt: skip
            assert response.json()["summary"]["created"] == 100
        existing = [f"+1646555{i:04d}" for i in range(0, 2550, 17)]  # 150, across every tie
        rows = [lead(i, Phone=number) for i, number in enumerate(existing)]
        rows += [lead(i) for i in range(1000, 1250)]  # 250 new
        stop = threading.Event()

        def someone_else() -> None:
            with httpx.Client(base_url=server.url, headers={"X-API-Key": team.api_key}) as other:
                n = 0
                while not stop.is_set():
                    other.post("/api/v1/contacts", json={"number": f"+1718555{n:04d}"})
                    stop.wait(0.02)
                    n += 1

        thread = threading.Thread(target=someone_else)
        thread.start()
        try:
            with client_for(server, team) as client:
                result, results = run(client, tmp_path, rows, name="in")
        finally:
            stop.set()
            thread.join()
        # stable ties again, so that the test's own paging sees each contact once
        calm = httpx.put(f"{server.url}/_sandbox/settings", json={"unstable_ties": False},
                         headers=server.admin_headers)  # fmt: skip
        assert calm.status_code == 200, calm.text
        assert result.counts["skipped"] == 150 and result.counts["created"] == 250
        stored = numbers(team)
        assert [n for n, k in stored.items() if k > 1] == []
        # 26 pages, and the pages of each tie split by a page boundary read again until it
        # is seen whole (each read orders a tie afresh: about 6 reads a tie here)
        assert result.summary["lookup"]["pages_read"] < 400
        by_number = {c["number"]: c["id"] for c in all_contacts(team)}
        assert all(r["_contact_id"] == by_number[r["Phone"]] for r in results)


def test_an_update_adds_the_note_assignees_and_boards_and_removes_none(
    client: EchowinClient, team: Team, tmp_path: Path
) -> None:
    boards = team.http.get("/api/v1/boards").json()["data"]
    users = [u["id"] for u in team.users]
    contact = team.create(number="+12125550001", firstName="Ann", assignUserIds=[users[0]],
                          boardIds=[boards[0]["id"]])  # fmt: skip
    mapping = MAPPING + "note: {column: Note}\nassignUserIds: {column: Users}\n"
    mapping += "boardIds: {column: Boards}\n"
    header = [*HEADER, "Note", "Users", "Boards"]
    source = write_csv(tmp_path / "in.csv", [header, [*lead(1), "Called back", users[1],
                                                      boards[1]["id"]]])  # fmt: skip
    (tmp_path / "m.yaml").write_text(mapping)
    for name in ("first", "again"):
        result = import_file(
            ImportOptions(source, tmp_path / "m.yaml", report_dir=tmp_path / name,
                          state_dir=tmp_path / "state", mode="upsert", full_compare=True),
            client, env={},
        )  # fmt: skip
        (row,) = read_report(tmp_path / name / "results.csv")
        assert row["_status"] == ("updated" if name == "first" else "unchanged"), row
    path = f"/api/v1/contacts/{contact['id']}"
    notes = team.http.get(path).json()["data"]["notes"]
    assert [n["note"] for n in notes] == ["Called back"]  # once, though compared twice
    assigned = {a["userId"] for a in team.http.get(f"{path}/assignments").json()["data"]}
    assert assigned == {users[0], users[1]}
    on = {b["id"] for b in team.http.get(f"{path}/boards").json()["data"]}
    assert on == {boards[0]["id"], boards[1]["id"]}
    assert result.exit_code == 0


def test_rows_without_their_match_key_are_looked_for_by_number(
    client: EchowinClient, team: Team, tmp_path: Path
) -> None:
    rows = [lead(1), lead(2, Email="")]  # row 2 has no email, the match key
    first, _ = run(client, tmp_path, rows, name="first", match=("email",))
    again, _results = run(client, tmp_path, rows, name="again", match=("email",))
    assert first.counts["created"] == 2 and again.counts["skipped"] == 2
    assert len(all_contacts(team)) == 2


def test_a_number_changed_by_an_update_is_known_by_its_new_number(
    client: EchowinClient, team: Team, tmp_path: Path
) -> None:
    """The index files a contact under what echowin has after the update, not before."""
    run(client, tmp_path, [lead(1)], name="first")
    moved = lead(1, Phone="+12125550099")
    run(client, tmp_path, [moved], name="moved", mode="upsert", match=("email",))
    _again, (row,) = run(client, tmp_path, [moved], name="again")  # create, by number
    assert row["_status"] == "skipped"
    _old, (row,) = run(client, tmp_path, [lead(1, Email="new@example.com")], name="old")
    assert row["_status"] == "created"  # nobody has the old number any more
    assert sorted(numbers(team)) == ["+12125550001", "+12125550099"]


@pytest.mark.parametrize("small_file", [True, False])
def test_two_rows_of_one_contact_in_one_chunk_merge_their_tags(
    client: EchowinClient, team: Team, tmp_path: Path, small_file: bool
) -> None:
    bulk_numbers = [f"+1646555{i:04d}" for i in range(2000)]  # 20 pages: 4 searches are less
    for start in range(0, 2000, 100):
        team.http.post("/api/v1/contacts/bulk", json={"contacts": [
            {"number": n} for n in bulk_numbers[start : start + 100]]})  # fmt: skip
    team.create(number="+12125550701", email="x7@example.com")
    rows = [lead(701, Email="", Tags="alpha"), lead(799, Email="x7@example.com", Tags="beta")]
    rows = [[*r[:2], r[2] if i == 0 else "+12125550799", *r[3:]] for i, r in enumerate(rows)]
    result, results = run(client, tmp_path, rows, name="in", mode="upsert",
                          match=("number", "email"), refresh_index=not small_file)  # fmt: skip
    assert result.summary["lookup"]["kind"] == ("search" if small_file else "index")
    assert [r["_status"] for r in results] == ["updated", "updated"]
    contact = next(c for c in all_contacts(team) if c["email"] == "x7@example.com")
    assert sorted(t["name"] for t in contact["tags"]) == ["alpha", "beta"]


def test_an_update_run_never_resumes_a_create_runs_batch(
    sandbox: RunningSandbox, team: Team, tmp_path: Path
) -> None:
    """A create run dies just after its bulk left; then the same file in update mode."""
    inner = httpx.HTTPTransport()

    class Dying(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            response = inner.handle_request(request)
            if request.url.path.endswith("/contacts/bulk"):
                response.read()
                raise SystemExit(137)  # the process "dies" with the answer unread
            return response

        def close(self) -> None:
            inner.close()

    rows = [lead(i) for i in range(5)]
    settings = ApiSettings(sandbox.url, ApiKey(team.api_key))
    with (
        EchowinClient(settings, limits=None, transport=Dying()) as client,
        pytest.raises(SystemExit),
    ):
        run(client, tmp_path, rows, name="dies")
    bulks_before = _bulk_posts(sandbox)
    with client_for(sandbox, team) as client:
        result, _results = run(client, tmp_path, rows, name="update", mode="update")
    assert _bulk_posts(sandbox) == bulks_before  # nothing created, nothing resent
    assert result.counts["unchanged"] == 5 and result.summary["confirmed_earlier"] == 0
    assert len(all_contacts(team)) == 5


def _bulk_posts(server: RunningSandbox) -> int:
    stats = httpx.get(f"{server.url}/_sandbox/stats", headers=server.admin_headers).json()
    return sum(r["count"] for r in stats["requests"] if r["route"] == "/api/v1/contacts/bulk")


def test_rows_left_unconfirmed_are_never_sent_again_until_refresh_index(
    client: EchowinClient, team: Team, tmp_path: Path
) -> None:
    from bulk_sync.importer.team import TeamIndex

    run(client, tmp_path, [lead(1)], name="first")  # the index now knows this team
    with TeamIndex(tmp_path / "state", client.settings.identity, "US") as index:
        assert index.recognize(client)
        index.mark_unconfirmed([(12125550002, "ann2@example.com")])  # as a lost bulk would
        assert index.unconfirmed({7: (12125550002,), 8: (12125550003,)}) == {7}
    again, results = run(client, tmp_path, [lead(1), lead(2), lead(3)], name="again")
    assert [r["_status"] for r in results] == ["skipped", "unconfirmed", "created"]
    assert "an earlier run sent this row" in results[1]["_error"]
    assert again.counts["created"] == 2 and again.counts["unconfirmed"] == 1  # among created
    _, results = run(client, tmp_path, [lead(2)], name="refreshed", refresh_index=True)
    assert [r["_status"] for r in results] == ["created"]  # --refresh-index forgot the mark
