"""The sandbox under load: eight `bulk-sync import` processes at once, faults on.

Each process has a state directory of its own and talks real HTTP to one sandbox
(rate limits on, a minute lasting 0.1 s; 500s, 429s, lost answers, late commits).
A process that exits 3 is run again with the same command, as a cron job would,
until it exits 0 or 1. At the end every team is listed with its own key: each row of
each file is there exactly once, in its own team, and nowhere else.

Importers of one file into one team at once, each with its own state directory (the
lock is per state directory), do not see each other: both may create a row. Each then
deletes its own copy where another's came first (importer/copies.py), so the team
still holds each row once: see the last two tests.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bulk_sync.client import EchowinClient
from bulk_sync.config import ApiKey, ApiSettings, RetryPolicy
from bulk_sync.importer import ImportOptions, import_file
from bulk_sync.sandbox import FaultPlan, RunningSandbox, SandboxSettings, running_sandbox
from tests.conftest import Team, new_team
from tests.importer.conftest import all_contacts, read_report, write_csv

ROOT = Path(__file__).resolve().parents[2]
IMPORTERS = 8
ROWS = 150  # two batches each: a full one and a part
RERUNS = 4  # rounds of "run again what exited 3" before the test gives up
FAULTS = {"429": 0.04, "500": 0.04, "503": 0.03, "drop_before": 0.02, "drop_after": 0.03,
          "late_commit": 0.03}  # fmt: skip
FAULT_SEED = 12
QUICK_RETRIES = RetryPolicy(backoff_initial_s=0.02, backoff_max_s=0.2)  # in-process runs


@pytest.fixture
def loaded() -> Iterator[RunningSandbox]:
    """A sandbox of its own: rate limits on at 600 times the speed, faults off until
    `faults_on` (the teams are made without them)."""
    settings = SandboxSettings(
        rate_limits=True,
        time_scale=600,
        faults=FaultPlan.from_mapping(FAULTS),
        fault_seed=FAULT_SEED,
        timeout_hold_s=30,
        late_commit_delay_s=0.2,  # after the client gave up (1 s), within its grace
    )
    with running_sandbox(settings) as server:
        server.sandbox.faults.configure(FaultPlan())
        yield server


def faults_on(server: RunningSandbox) -> None:
    response = httpx.put(
        f"{server.url}/_sandbox/faults",
        headers=server.admin_headers,
        json={**FAULTS, "seed": FAULT_SEED},
    )
    assert response.status_code == 200, response.text


def faults_off(server: RunningSandbox) -> dict[str, int]:
    """Turn faults off; the faults injected so far, by kind."""
    admin = server.admin_headers
    stats = httpx.get(f"{server.url}/_sandbox/stats", headers=admin).json()
    assert httpx.put(f"{server.url}/_sandbox/faults", headers=admin, json={}).status_code == 200
    return {f["kind"]: f["count"] for f in stats["faults"]}


def number(owner: int, i: int) -> str:
    return f"+1212555{owner}{i:03d}"


def leads(path: Path, owner: int, first: str) -> dict[str, str]:
    """A file of ROWS leads with numbers of `owner`; number -> the first name it gives."""
    rows = {number(owner, i): f"{first}{i}" for i in range(ROWS)}
    write_csv(path, [["First", "Phone"], *([f, n] for n, f in rows.items())])
    return rows


def run_all(
    server: RunningSandbox, tmp: Path, jobs: list[tuple[Path, Team]]
) -> list[dict[str, Any]]:
    """Run one `bulk-sync import` process per (file, team), all at once; run again those
    that exit 3, as a cron job would, until each exits 0 or 1. Each one's last summary,
    with its `results.csv` rows under `results`."""
    (tmp / "m.yaml").write_text("fields: {number: Phone, firstName: First}\n")
    attempts = [0] * len(jobs)
    pending = list(range(len(jobs)))
    for _ in range(RERUNS):
        codes = _run_at_once(server, tmp, [(i, attempts[i], *jobs[i]) for i in pending])
        again = []
        for i, code in zip(pending, codes, strict=True):
            errors = (tmp / f"r{i}-{attempts[i]}.err").read_text()
            assert code in (0, 1, 3), errors
            assert "Traceback" not in errors
            if code == 3:
                assert "re-run the same command to resume" in errors
                attempts[i] += 1
                again.append(i)
        pending = again
        if not pending:
            break
    assert not pending, f"importers {pending} still exit 3 after {RERUNS} runs"
    summaries = []
    for i in range(len(jobs)):
        folder = tmp / f"r{i}-{attempts[i]}"
        summary = json.loads((folder / "summary.json").read_text())
        summaries.append({**summary, "results": read_report(folder / "results.csv")})
    return summaries


def _run_at_once(
    server: RunningSandbox, tmp: Path, runs: list[tuple[int, int, Path, Team]]
) -> list[int]:
    """Start the runs together (see forked_cli.py) and wait for all; their exit codes."""
    jobs = [
        {
            "args": [
                "import",
                str(source),
                "--mapping",
                str(tmp / "m.yaml"),
                "--quiet",
                "--state-dir",
                str(tmp / f"state{i}"),
                "--report-dir",
                str(tmp / f"r{i}-{attempt}"),
            ],
            "env": {
                "ECHOWIN_API_URL": server.url,
                "ECHOWIN_API_KEY": team.api_key,
                "BULK_SYNC_TIMEOUT": "1",  # a lost answer is given 1 s to commit, not 30
            },
            "cwd": str(tmp),
            "stderr": str(tmp / f"r{i}-{attempt}.err"),
        }
        for i, attempt, source, team in runs
    ]
    with subprocess.Popen(
        [sys.executable, "-m", "tests.importer.forked_cli"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        start_new_session=True,  # the runs with it: a hung one is killed with the group
    ) as launched:  # fmt: skip
        try:
            out, errors = launched.communicate(json.dumps(jobs), timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(launched.pid, signal.SIGKILL)
            launched.communicate()
            raise
    assert launched.returncode == 0, errors
    codes: list[int] = json.loads(out)
    return codes


def assert_holds_exactly(team: Team, expected: dict[str, str]) -> None:
    """The team lists each expected number once, with the first name its row gave,
    and nothing else."""
    contacts = all_contacts(team)
    per_number = Counter(c["number"] for c in contacts)
    doubled = {n: k for n, k in per_number.items() if k > 1}
    assert not doubled, f"{len(doubled)} numbers stored more than once, e.g. {list(doubled)[:3]}"
    assert {c["number"]: c["firstName"] for c in contacts} == expected


def test_eight_importers_into_one_team_lose_and_double_nothing(
    loaded: RunningSandbox, tmp_path: Path
) -> None:
    """Eight files of their own (no number in two files) into one team at once."""
    team, bystander = new_team(loaded), new_team(loaded)
    try:
        kept = bystander.create(firstName="Bystander", number=number(0, 0))  # a number of file 0
        expected: dict[str, str] = {}
        sources = []
        for i in range(IMPORTERS):
            expected |= leads(tmp_path / f"leads{i}.csv", i, f"F{i}-")
            sources.append(tmp_path / f"leads{i}.csv")
        faults_on(loaded)
        summaries = run_all(loaded, tmp_path, [(s, team) for s in sources])
        injected = faults_off(loaded)

        assert_holds_exactly(team, expected)
        assert [c["id"] for c in all_contacts(bystander)] == [kept["id"]]  # untouched
        for summary in summaries:
            assert summary["rows"] == ROWS and summary["rejected"] == 0, summary
            assert summary["finished"] and summary["exit_code"] == 0
        # the faults did happen, lost answers among them
        assert injected.get("drop_after", 0) + injected.get("late_commit", 0) > 0, injected
        assert sum(injected.values()) >= 10, injected
    finally:
        team.http.close()
        bystander.http.close()


def test_eight_importers_into_eight_teams_stay_apart(
    loaded: RunningSandbox, tmp_path: Path
) -> None:
    """The same numbers into eight teams at once, each team with names of its own: a
    team's contacts never count as "already in echowin" for another, nor show in it."""
    teams = [new_team(loaded) for _ in range(IMPORTERS)]
    try:
        expected = [leads(tmp_path / f"leads{i}.csv", 7, f"T{i}-") for i in range(IMPORTERS)]
        faults_on(loaded)
        jobs = [(tmp_path / f"leads{i}.csv", team) for i, team in enumerate(teams)]
        summaries = run_all(loaded, tmp_path, jobs)
        faults_off(loaded)

        for team, wanted, summary in zip(teams, expected, summaries, strict=True):
            assert_holds_exactly(team, wanted)
            assert summary["skipped"] == 0 and summary["rejected"] == 0, summary
        # the default team saw none of it
        default = httpx.get(f"{loaded.url}/api/v1/contacts", headers={"X-API-Key": "sandbox"})
        assert default.json()["pagination"]["totalCount"] == 0
    finally:
        for team in teams:
            team.http.close()


def assert_each_row_once(
    team: Team, expected: dict[str, str], runs: list[list[dict[str, Any]]], *, lost: bool = False
) -> None:
    """The team holds each number once; every row of every run's `results.csv` points at
    that contact, `created` by one run at most, else `skipped` (already in echowin).
    `lost`: answers were lost; a run whose bulk's answer was lost while another's
    identical bulk was made cannot tell whether its own was made: it may report
    `created` what the other made too (see importer/copies.py)."""
    assert_holds_exactly(team, expected)
    ids = {c["number"]: c["id"] for c in all_contacts(team)}
    created: Counter[str] = Counter()
    for results in runs:
        assert sorted(r["Phone"] for r in results) == sorted(expected)
        for row in results:
            assert row["_status"] in ("created", "skipped"), row
            assert row["_contact_id"] == ids[row["Phone"]], row
            created[row["Phone"]] += row["_status"] == "created"
    if not lost:
        assert max(created.values()) <= 1, created.most_common(3)


def test_eight_importers_of_one_file_into_one_team_create_each_contact_once(
    loaded: RunningSandbox, tmp_path: Path
) -> None:
    """One file, eight processes at once into one team, each with its own state
    directory, faults on. They start together; whether their bulks meet is up to the
    timing (the next test makes them meet): either way each contact ends up there
    once, and every run accounts for every row."""
    team = new_team(loaded)
    try:
        source = tmp_path / "leads.csv"
        expected = leads(source, 5, "Same-")
        faults_on(loaded)
        summaries = run_all(loaded, tmp_path, [(source, team)] * IMPORTERS)
        injected = faults_off(loaded)

        assert_each_row_once(team, expected, [s["results"] for s in summaries], lost=True)
        for summary in summaries:
            assert summary["rows"] == ROWS and summary["rejected"] == 0, summary
            assert summary["created"] + summary["skipped"] == ROWS
            assert summary["finished"] and summary["exit_code"] == 0
        assert injected.get("drop_after", 0) + injected.get("late_commit", 0) > 0, injected
    finally:
        team.http.close()


class HeldAtFirstBulk(httpx.BaseTransport):
    """Real HTTP, but a run's first bulk waits at `barrier` for the other runs' first
    bulks: every run has read the team (and found none of its rows) before any bulk
    arrives, so each creates its whole first batch. `dies_deleting`: the process "dies"
    as its first DELETE is about to leave."""

    def __init__(self, barrier: threading.Barrier, *, dies_deleting: bool = False) -> None:
        self._inner = httpx.HTTPTransport()
        self._barrier = barrier
        self.held = False
        self._dies_deleting = dies_deleting

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/contacts/bulk") and not self.held:
            self.held = True
            self._barrier.wait()
        if self._dies_deleting and request.method == "DELETE":
            raise SystemExit(137)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def import_at_once(
    server: RunningSandbox, team: Team, tmp: Path, runs: list[int], *, dies_deleting: bool = False
) -> dict[int, Any]:
    """Import tmp/leads.csv in a thread per run (state and report folders of its own),
    their first bulks held until all are ready; a run that exits 3 is run again (its
    bulks no longer held). Run → its last ImportResult, or the SystemExit it died of."""
    barrier = threading.Barrier(len(runs), timeout=60)
    results: dict[int, Any] = {}

    def importer(i: int) -> None:
        settings = ApiSettings(server.url, ApiKey(team.api_key))
        transport = HeldAtFirstBulk(barrier, dies_deleting=dies_deleting)
        for attempt in range(RERUNS):
            # a lost answer is given 1 s to commit, not 30 (as BULK_SYNC_TIMEOUT=1 above)
            with EchowinClient(
                settings, limits=None, transport=transport, timeout=httpx.Timeout(1.0),
                policy=QUICK_RETRIES,
            ) as client:  # fmt: skip
                options = ImportOptions(
                    tmp / "leads.csv", tmp / "m.yaml", report_dir=tmp / f"r{i}-{attempt}",
                    state_dir=tmp / f"state{i}",
                )  # fmt: skip
                try:
                    results[i] = import_file(options, client, env={})
                except SystemExit as died:
                    results[i] = died
                    return
            if results[i].exit_code != 3:
                return
            transport = HeldAtFirstBulk(barrier)
            transport.held = True

    threads = [threading.Thread(target=importer, args=(i,)) for i in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    return results


def reports(results: dict[int, Any]) -> list[list[dict[str, Any]]]:
    return [read_report(r.report_dir / "results.csv") for r in results.values()]


def test_eight_importers_whose_first_bulks_meet_keep_one_copy_of_each_row(
    loaded: RunningSandbox, tmp_path: Path
) -> None:
    """The race made certain for eight: each run's first bulk waits until all eight
    have read the empty team; faults on. Every row is created eight times over in the
    first batches; each run deletes its copies that came second."""
    team = new_team(loaded)
    try:
        expected = leads(tmp_path / "leads.csv", 6, "Met-")
        (tmp_path / "m.yaml").write_text("fields: {number: Phone, firstName: First}\n")
        faults_on(loaded)
        results = import_at_once(loaded, team, tmp_path, list(range(IMPORTERS)))
        injected = faults_off(loaded)

        assert [r.exit_code for r in results.values()] == [0] * IMPORTERS
        assert_each_row_once(team, expected, reports(results), lost=True)
        deleted = sum(r.summary["made_meanwhile"]["copies_deleted"] for r in results.values())
        assert deleted >= 69 * (IMPORTERS - 1)  # 69 rows at least in each first batch
        assert sum(injected.values()) >= 10, injected
    finally:
        team.http.close()


def test_two_importers_of_one_file_into_one_team_create_each_contact_once(
    sandbox: RunningSandbox, team: Team, tmp_path: Path
) -> None:
    """The race made certain: both runs have read the team (nothing there yet) when
    their first bulks arrive, so both create their first batch. Each keeps its copy
    only where it came first, and deletes it where the other's did."""
    expected = leads(tmp_path / "leads.csv", 3, "Same-")
    (tmp_path / "m.yaml").write_text("fields: {number: Phone, firstName: First}\n")
    results = import_at_once(sandbox, team, tmp_path, [0, 1])
    assert [r.exit_code for r in results.values()] == [0, 0]
    assert_each_row_once(team, expected, reports(results))
    deleted = [r.summary["made_meanwhile"]["copies_deleted"] for r in results.values()]
    assert sum(deleted) >= 69, deleted  # a first batch holds 69 rows at least: all doubled


def test_a_run_that_dies_before_deleting_its_copies_deletes_them_when_run_again(
    sandbox: RunningSandbox, team: Team, tmp_path: Path
) -> None:
    """The copies a run must delete are in its journal before the first DELETE leaves:
    killed there, the team holds both copies until the same command runs again, which
    deletes them first and reports each row as the dead run had settled it."""
    expected = leads(tmp_path / "leads.csv", 4, "Same-")
    (tmp_path / "m.yaml").write_text("fields: {number: Phone, firstName: First}\n")
    results = import_at_once(sandbox, team, tmp_path, [0, 1], dies_deleting=True)
    dead = [i for i, r in results.items() if isinstance(r, SystemExit)]
    assert dead, "neither run had a copy to delete"
    assert len(all_contacts(team)) > ROWS  # the copies are still there
    for i in dead:  # its batch is still `sent`: reconciled after a grace of 1 s, not 30
        settings = ApiSettings(sandbox.url, ApiKey(team.api_key))
        with EchowinClient(settings, limits=None, timeout=httpx.Timeout(1.0)) as client:
            options = ImportOptions(
                tmp_path / "leads.csv", tmp_path / "m.yaml", report_dir=tmp_path / f"again{i}",
                state_dir=tmp_path / f"state{i}",
            )  # fmt: skip
            results[i] = import_file(options, client, env={})
        assert results[i].exit_code == 0 and results[i].summary["resumed_job_of"] is not None
    assert_each_row_once(team, expected, reports(results))


class DeletesWhileReading(httpx.BaseTransport):
    """Real HTTP; before each page of the team past the first, another run deletes one
    of its copies (the next of `doomed`) through `team`."""

    def __init__(self, team: Team, doomed: list[str]) -> None:
        self._inner = httpx.HTTPTransport()
        self._team, self._doomed = team, doomed

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        listing = request.method == "GET" and request.url.path.endswith("/contacts")
        if listing and request.url.params.get("page", "1") != "1" and self._doomed:
            gone = self._team.http.delete(f"/api/v1/contacts/{self._doomed.pop(0)}")
            assert gone.status_code in (200, 204), gone.text
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def test_a_run_that_reads_the_team_while_others_delete_their_copies_misses_no_contact(
    sandbox: RunningSandbox, team: Team, tmp_path: Path
) -> None:
    """Two earlier runs raced: one made rows 0-59, the other every row, and is deleting
    its later copies of rows 0-59 while a third run reads the team (its index, whole):
    each delete shifts the pages up under the read. The third run finds every row
    there, and creates none (a contact missed there was made before it looked: its
    copy would be the later one, and the only one it sees)."""
    expected = leads(tmp_path / "leads.csv", 2, "Same-")
    (tmp_path / "m.yaml").write_text("fields: {number: Phone, firstName: First}\n")
    rows = [{"number": n, "firstName": f} for n, f in expected.items()]
    for bulk in (rows[:60], rows[:100], rows[100:]):
        assert team.http.post("/api/v1/contacts/bulk", json={"contacts": bulk}).is_success
    copies: dict[str, list[dict[str, Any]]] = {}
    for contact in all_contacts(team):
        copies.setdefault(contact["number"], []).append(contact)
    doomed = [max(c, key=lambda c: (c["createdAt"], c["id"]))["id"] for c in copies.values()
              if len(c) > 1]  # fmt: skip
    settings = ApiSettings(sandbox.url, ApiKey(team.api_key))
    transport = DeletesWhileReading(team, doomed)
    with EchowinClient(settings, limits=None, transport=transport) as client:
        options = ImportOptions(
            tmp_path / "leads.csv", tmp_path / "m.yaml", report_dir=tmp_path / "r",
            state_dir=tmp_path / "state",
        )  # fmt: skip
        result = import_file(options, client, env={})
    assert len(doomed) < 60  # some were deleted while the team was read
    for contact_id in doomed:  # the racing run finishes its deletes
        assert team.http.delete(f"/api/v1/contacts/{contact_id}").is_success
    assert_holds_exactly(team, expected)
    assert result.exit_code == 0 and result.summary["created"] == 0, result.summary
    assert result.summary["skipped"] == ROWS
