"""Whole imports against a real sandbox over HTTP: every row ends with a status and a reason."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx
import pytest

from bulk_sync.client import EchowinClient
from bulk_sync.errors import InputError, MappingError
from bulk_sync.importer import ImportOptions, import_file
from bulk_sync.sandbox import FaultPlan, RunningSandbox, SandboxSettings, running_sandbox
from tests.client.conftest import client_for
from tests.conftest import Team, team_on

from .conftest import all_contacts, read_report, write_csv

ROOT = Path(__file__).parents[2]
SAMPLES = ROOT / "samples"
LEADS_MAPPING = ROOT / "mappings" / "leads.yaml"


@pytest.mark.parametrize("sample", ["leads.csv", "leads.xlsx"])
def test_the_sample_imports_with_a_result_for_every_row(
    sample: str, client: EchowinClient, team: Team, tmp_path: Path
) -> None:
    options = ImportOptions(
        SAMPLES / sample, LEADS_MAPPING, report_dir=tmp_path, state_dir=tmp_path / "state"
    )
    result = import_file(options, client, env={})

    results = read_report(tmp_path / "results.csv")
    rejected = read_report(tmp_path / "rejected.csv")
    summary = json.loads((tmp_path / "summary.json").read_text())
    statuses = Counter(r["_status"] for r in results)
    assert summary["rows"] == len(results) == sum(result.counts[k] for k in (
        "created", "updated", "unchanged", "duplicates", "rejected", "skipped"))  # fmt: skip
    assert statuses["created"] == summary["created"] > 150
    assert statuses["duplicate"] == summary["duplicates"] > 0
    assert statuses["rejected"] == summary["rejected"] == len(rejected) > 0
    assert result.exit_code == summary["exit_code"] == 1
    assert all(r["_error"] for r in rejected)
    # rows are numbered as a spreadsheet shows them; blank rows are skipped, not renumbered
    numbers = [int(r["_row"]) for r in results]
    assert numbers == sorted(numbers) and numbers[0] >= 2 and len(set(numbers)) == len(numbers)

    stored = {c["id"]: c for c in all_contacts(team)}
    created = [r for r in results if r["_status"] == "created"]
    assert {r["_contact_id"] for r in created} == set(stored)  # each id real, none missing
    for row in created:
        contact = stored[row["_contact_id"]]
        assert contact["number"].startswith("+")
        assert contact["firstName"] == row["First Name"].strip()
    tags = {t["name"] for c in stored.values() for t in c["tags"]}
    assert {"Imported", "VIP", "Referral"} <= tags
    assert "lead" not in tags  # "lead" in a cell is the team's existing tag "Lead"
    for row in results:
        if row["_status"] == "duplicate":
            assert row["_error"].startswith("same number as row ")


def test_a_row_the_server_refuses_is_found_and_explained(
    client: EchowinClient, team: Team, tmp_path: Path
) -> None:
    """The bulk answer only counts failures: the pusher must find which row and why."""
    source = write_csv(tmp_path / "in.csv", [
        ["Phone", "Name", "Owner"],
        ["+1 212 555 0100", "Ann Lee", team.users[0]["id"]],
        ["+1 212 555 0101", "Bob Ray", "no-such-user"],
        ["+1 212 555 0102", "Cid Moe", team.users[1]["id"]],
    ])  # fmt: skip
    mapping = tmp_path / "m.yaml"
    mapping.write_text("fields: {number: Phone}\nname: Name\nassignUserIds: Owner\n")
    result = import_file(
        ImportOptions(source, mapping, report_dir=tmp_path / "r", state_dir=tmp_path / "state"),
        client,
        env={},
    )

    rows = {r["_row"]: r for r in read_report(tmp_path / "r" / "results.csv")}
    assert [rows[n]["_status"] for n in "234"] == ["created", "rejected", "created"]
    assert "assignUserIds" in rows["3"]["_error"] and "echowin refused it" in rows["3"]["_error"]
    stored = {c["id"]: c for c in all_contacts(team)}
    assert set(stored) == {rows["2"]["_contact_id"], rows["4"]["_contact_id"]}
    assert stored[rows["4"]["_contact_id"]]["lastName"] == "Moe"
    assert result.exit_code == 1


def test_older_contacts_with_the_same_details_are_not_taken_for_new_ones(
    client: EchowinClient, team: Team, tmp_path: Path
) -> None:
    team.create(number="+12125550100", firstName="Ann")
    source = write_csv(tmp_path / "in.csv", [["Phone", "First"], ["+12125550100", "Ann"]])
    mapping = tmp_path / "m.yaml"
    mapping.write_text("fields: {number: Phone, firstName: First}\n")
    options = ImportOptions(
        source, mapping, report_dir=tmp_path / "r", state_dir=tmp_path / "state",
        allow_duplicates=True,  # a second Ann on purpose: the fence keeps the first apart
    )  # fmt: skip
    import_file(options, client, env={})
    (row,) = read_report(tmp_path / "r" / "results.csv")
    contacts = all_contacts(team)
    assert len(contacts) == 2
    assert row["_status"] == "created" and row["_contact_id"] == contacts[0]["id"]  # the newest


def test_lost_responses_neither_lose_nor_duplicate_contacts(tmp_path: Path) -> None:
    """Every bulk answer is lost after the commit: reconciling finds each contact once."""
    rows = [["Phone", "Email"]] + [[f"+1212555{i:04d}", f"p{i}@example.com"] for i in range(250)]
    source = write_csv(tmp_path / "in.csv", rows)
    mapping = tmp_path / "m.yaml"
    mapping.write_text("fields: {number: Phone, email: Email}\n")
    settings = SandboxSettings(
        rate_limits=False, faults=FaultPlan.parse("drop_after=0.5"), fault_seed=3
    )
    with running_sandbox(settings) as server, team_on(server) as team:
        # a lost answer is given the read timeout to commit: 0.3 s here, not 30
        with client_for(server, team, timeout=httpx.Timeout(5.0, read=0.3)) as client:
            options = ImportOptions(
                source, mapping, report_dir=tmp_path / "r", state_dir=tmp_path / "state"
            )
            result = import_file(options, client, env={})
        httpx.put(f"{server.url}/_sandbox/faults", json={}, headers=server.admin_headers)
        stored = all_contacts(team)
        _, faults = server.sandbox.stats.snapshot()
    assert any(f["kind"] == "drop_after" and f["count"] >= 3 for f in faults), faults
    results = read_report(tmp_path / "r" / "results.csv")
    assert result.counts["created"] == 250 == len(stored)
    assert sorted(c["number"] for c in stored) == sorted(r[0] for r in rows[1:])
    assert {r["_contact_id"] for r in results} == {c["id"] for c in stored}


def test_a_dry_run_sends_nothing_and_plans_the_calls(
    client: EchowinClient, team: Team, tmp_path: Path
) -> None:
    options = ImportOptions(
        SAMPLES / "leads.csv",
        LEADS_MAPPING,
        dry_run=True,
        report_dir=tmp_path,
        state_dir=tmp_path / "state",
    )
    result = import_file(options, client, env={})
    assert all_contacts(team) == []
    assert result.plan is not None
    valid = result.counts["skipped"]
    assert result.plan.contacts == valid > 150
    assert result.plan.calls["bulk"] == -(-valid // 100)
    assert result.plan.lookup is not None and result.plan.lookup.kind == "index"
    lookup_gets = result.plan.lookup.requests["get"]  # the (empty) team, read once
    assert result.plan.calls["get"] == 2 + 2 * result.plan.calls["bulk"] + lookup_gets == 9
    assert set(result.plan.tags_to_create) == {"Imported", "Open House", "newsletter", "Referral"}
    assert result.plan.calls["write"] == 4
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["plan"]["contacts"] == valid and summary["created"] == 0
    # a dry run only reads: the team's fields, tags, and its count of contacts
    assert client.stats.requests == 3


def test_a_missing_column_is_a_file_error_before_anything_is_sent(
    client: EchowinClient, tmp_path: Path
) -> None:
    source = write_csv(
        tmp_path / "in.csv", [["Phone number", "E-mail"], ["+12125550100", "a@b.co"]]
    )
    mapping = tmp_path / "m.yaml"
    mapping.write_text("fields: {number: Phone, email: Email}\n")
    with pytest.raises(MappingError) as caught:
        import_file(
            ImportOptions(source, mapping, report_dir=tmp_path / "r", state_dir=tmp_path / "state"),
            client,
            env={},
        )
    message = str(caught.value)
    assert "fields.number: no column 'Phone' (nearest: 'Phone number')" in message
    assert "The columns of in.csv are: 'Phone number', 'E-mail'" in message
    assert client.stats.requests == 0
    assert not (tmp_path / "r").exists()


def test_without_a_mapping_the_headers_are_matched_and_the_mapping_shown(
    client: EchowinClient, tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "in.csv", [
        ["Given Name", "Family Name", "E-mail 1 - Value", "Phone 1 - Value", "Organization"],
        ["Ann", "Lee", "ANN@EXAMPLE.COM ", "(212) 555-0100", "Acme"],
    ])  # fmt: skip
    result = import_file(
        ImportOptions(source, report_dir=tmp_path / "r", state_dir=tmp_path / "state"),
        client,
        env={},
    )
    assert result.mapping_yaml is not None
    assert "number: Phone 1 - Value" in result.mapping_yaml
    assert "company: Organization" in result.mapping_yaml
    assert (tmp_path / "r" / "mapping-used.yaml").read_text() == result.mapping_yaml
    (row,) = read_report(tmp_path / "r" / "results.csv")
    assert row["_status"] == "created"


def test_a_file_without_a_phone_column_is_refused(client: EchowinClient, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "in.csv", [["Name", "City"], ["Ann", "Oslo"]])
    with pytest.raises(InputError, match="no column looks like a phone number"):
        import_file(
            ImportOptions(source, report_dir=tmp_path / "r", state_dir=tmp_path / "state"),
            client,
            env={},
        )


def test_worker_processes_give_the_same_results_as_one(
    client: EchowinClient, tmp_path: Path
) -> None:
    reports = {}
    for workers in (1, 2):
        options = ImportOptions(
            SAMPLES / "leads.csv", LEADS_MAPPING, dry_run=True,
            report_dir=tmp_path / str(workers), workers=workers,
        )  # fmt: skip
        import_file(options, client, env={})
        reports[workers] = (tmp_path / str(workers) / "results.csv").read_text(encoding="utf-8-sig")
    assert reports[1] == reports[2]
    assert reports[1].count("\n") > 250


FORKED_RUN = """
import sys
from pathlib import Path
from bulk_sync.client import EchowinClient
from bulk_sync.config import ApiKey, ApiSettings
from bulk_sync.importer import ImportOptions, import_file
from bulk_sync.importer.prepare import Workers

url, key, source, mapping, out = sys.argv[1:]
with Workers(2) as workers:
    print(workers.start_method)
with EchowinClient(ApiSettings(url, ApiKey(key)), limits=None) as client:
    options = ImportOptions(Path(source), Path(mapping), dry_run=True,
                            report_dir=Path(out), workers=2)
    import_file(options, client, env={})
"""


def test_a_process_with_no_other_thread_forks_its_workers_with_the_same_results(
    sandbox: RunningSandbox, team: Team, client: EchowinClient, tmp_path: Path
) -> None:
    """The path a CLI run against echowin takes (this test process has the sandbox's
    server thread, so here workers come from a fork server instead)."""
    forked = subprocess.run(
        [sys.executable, "-c", FORKED_RUN, sandbox.url, team.api_key,
         str(SAMPLES / "leads.csv"), str(LEADS_MAPPING), str(tmp_path / "forked")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert forked.returncode == 0, forked.stderr
    assert forked.stdout.split() == ["fork"]
    options = ImportOptions(SAMPLES / "leads.csv", LEADS_MAPPING, dry_run=True,
                            report_dir=tmp_path / "here", workers=1)  # fmt: skip
    import_file(options, client, env={})
    assert (tmp_path / "forked" / "results.csv").read_bytes() == (
        tmp_path / "here" / "results.csv"
    ).read_bytes()
