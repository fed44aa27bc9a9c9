"""Imports that survive: faults, kills, signals and a second copy of themselves.

Every test ends the same way: the team holds each number of the file exactly once,
and the reports say so. The sandbox runs in this process; imports run either here
(`import_file`) or as real `bulk-sync import` processes that are killed.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bulk_sync.client import EchowinClient
from bulk_sync.config import ApiKey, ApiSettings, RateLimits, RetryPolicy
from bulk_sync.importer import ImportOptions, import_file
from bulk_sync.sandbox import FaultPlan, RunningSandbox, SandboxSettings, running_sandbox
from bulk_sync.state import HOLDER_NAME, Locked, run_lock
from tests.client.conftest import client_for
from tests.conftest import Team, team_on
from tests.importer.conftest import all_contacts, read_report, write_csv

ROOT = Path(__file__).resolve().parents[2]


def numbers_file(path: Path, count: int) -> Path:
    rows = [["Name", "Phone", "Email"]] + [
        [f"Lead {i}", f"+1212555{i:04d}", f"lead{i}@example.com"] for i in range(count)
    ]
    write_csv(path / "leads.csv", rows)
    (path / "m.yaml").write_text("fields: {number: Phone, email: Email}\nname: Name\n")
    return path / "leads.csv"


def assert_exactly_once(team: Team, count: int) -> list[dict[str, object]]:
    contacts = all_contacts(team)
    per_number = Counter(c["number"] for c in contacts)
    assert len(contacts) == count, f"{len(contacts)} contacts for {count} rows"
    assert set(per_number.values()) == {1}
    assert set(per_number) == {f"+1212555{i:04d}" for i in range(count)}
    return contacts


@pytest.mark.parametrize("mode", ["create", "upsert"])
def test_a_fault_matrix_gives_each_contact_exactly_once(mode: str, tmp_path: Path) -> None:
    """3,000 rows, a fifth of all requests faulted, lost answers and late commits among
    them, rate limits on (a minute is 0.1 s). In upsert mode a tenth of the numbers are
    in the team already, under other names: they are updated, the rest created."""
    count, scale = 3000, 600
    source = numbers_file(tmp_path, count)
    faults = {"429": 0.04, "500": 0.03, "503": 0.03, "drop_before": 0.03, "drop_after": 0.02,
              "timeout": 0.02, "late_commit": 0.02, "latency": 0.01}  # fmt: skip
    settings = SandboxSettings(
        rate_limits=True,
        time_scale=scale,
        faults=FaultPlan.from_mapping(faults, latency_ms=50),
        fault_seed=4,
        timeout_hold_s=30,
        late_commit_delay_s=0.2,  # after the client gave up (0.5 s), within its grace
    )
    policy = RetryPolicy(
        max_attempts=8, max_total_s=60, backoff_initial_s=0.01, backoff_max_s=0.1,
        retry_after_floor_s=0.0, retry_after_cap_s=1.0,
    )  # fmt: skip
    with running_sandbox(settings) as server, team_on(server) as team:
        existing = range(0, count, 10) if mode == "upsert" else range(0)
        for start in range(0, len(existing), 100):
            body = {"contacts": [{"number": f"+1212555{i:04d}", "firstName": "Old"}
                                 for i in existing[start : start + 100]]}  # fmt: skip
            server.sandbox.faults.configure(FaultPlan())
            assert team.http.post("/api/v1/contacts/bulk", json=body).status_code == 201
        server.sandbox.faults.configure(settings.faults, seed=settings.fault_seed)
        client = EchowinClient(
            ApiSettings(server.url, ApiKey(team.api_key)),
            limits=RateLimits().scaled(scale),
            policy=policy,
            timeout=httpx.Timeout(5.0, read=0.5),
        )
        with client:
            options = ImportOptions(
                source, tmp_path / "m.yaml", report_dir=tmp_path / "r",
                state_dir=tmp_path / "state", mode=mode,
            )  # fmt: skip
            result = import_file(options, client, env={})
        _, faults = server.sandbox.stats.snapshot()
        server.sandbox.faults.configure(FaultPlan())
        contacts = assert_exactly_once(team, count)
    injected = {str(f["kind"]): int(str(f["count"])) for f in faults}
    assert result.exit_code == 0, result.error
    assert result.summary["created"] == count - len(existing) and result.summary["finished"]
    assert result.summary["updated"] == len(existing)
    assert {c["firstName"] for c in contacts} == {"Lead"}  # from the name "Lead i"
    # a fifth of the requests drew a fault, lost answers and late commits among them
    assert sum(injected.values()) >= 0.1 * result.summary["requests"]
    assert injected.get("drop_after", 0) + injected.get("timeout", 0) > 0
    assert injected.get("late_commit", 0) > 0
    rows = read_report(tmp_path / "r" / "results.csv")
    assert {r["_contact_id"] for r in rows} == {c["id"] for c in contacts}


_STARTED: list[subprocess.Popen[str]] = []  # by `cli`, ended and closed after each test


@pytest.fixture(autouse=True)
def _no_process_outlives_its_test() -> Iterator[None]:
    """A test that fails half way leaves no run behind, nor its pipes open: their
    ResourceWarning would fail whichever later test the garbage collector runs in (the
    OpenAPI fuzz test, once, for a run this file had left)."""
    yield
    while _STARTED:
        run = _STARTED.pop()
        if run.poll() is None:
            run.kill()
        run.communicate()  # reaps it and closes its pipes


def cli(server: RunningSandbox, team: Team, tmp: Path, *args: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "ECHOWIN_API_URL": server.url,
        "ECHOWIN_API_KEY": team.api_key,
        "BULK_SYNC_STATE_DIR": str(tmp / "state"),
        "BULK_SYNC_TIMEOUT": "2",  # a lost answer is given 2 s to commit, not 30
    }
    run = subprocess.Popen(
        [sys.executable, "-m", "bulk_sync", "import", str(tmp / "leads.csv"),
         "--mapping", str(tmp / "m.yaml"), "--quiet", *args],
        env=env, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    _STARTED.append(run)
    return run


@pytest.fixture
def slow_server() -> object:
    """Every request takes 150 ms more: a run lasts seconds, long enough to be killed."""
    settings = SandboxSettings(
        rate_limits=False, faults=FaultPlan.from_mapping({"latency": 1.0}, latency_ms=150)
    )
    with running_sandbox(settings) as server:
        yield server


def test_killed_again_and_again_the_same_command_ends_exactly_once(
    slow_server: RunningSandbox, tmp_path: Path
) -> None:
    """Each run is SIGKILLed at a random moment after it has made some contacts:
    in a bulk request, in a reconciling read, between batches."""
    count = 1500  # 15 batches at 150 ms a request: about 9 s of sending
    numbers_file(tmp_path, count)
    rng = random.Random(5)
    with team_on(slow_server) as team:
        for kill in range(5):
            report_dir = tmp_path / f"r{kill}"
            before = stored(slow_server, team)
            mode = ("--mode", "upsert" if kill % 2 else "create")  # either resumes the job
            run = cli(slow_server, team, tmp_path, "--report-dir", str(report_dir), *mode)
            _wait_for(lambda b=before, r=run: stored(slow_server, team) > b or r.poll() is not None)
            time.sleep(rng.uniform(0.0, 0.5))
            run.send_signal(signal.SIGKILL)
            run.communicate()
            assert run.returncode == -signal.SIGKILL, "the run ended before it was killed"
            assert not (report_dir / "results.csv").exists()  # never a false whole
        assert 0 < stored(slow_server, team) < count
        report_dir = tmp_path / "last"
        run = cli(slow_server, team, tmp_path, "--report-dir", str(report_dir))
        _, errors = run.communicate(timeout=120)
        assert run.returncode == 0, errors
        contacts = assert_exactly_once(team, count)
    rows = read_report(report_dir / "results.csv")
    # the create job's rows come from its journal ("created"); those an upsert run made
    # (another job) are found in the team ("skipped"): each with its contact's id
    statuses = Counter(r["_status"] for r in rows)
    assert set(statuses) <= {"created", "skipped"} and statuses.total() == count
    assert {r["_contact_id"] for r in rows} == {str(c["id"]) for c in contacts}
    summary = json.loads((report_dir / "summary.json").read_text())
    assert summary["confirmed_earlier"] > 0


def control_stats(server: RunningSandbox) -> dict[str, Any]:
    """The sandbox's counters, from the control API (no latency, no rate limits)."""
    stats: dict[str, Any] = httpx.get(
        f"{server.url}/_sandbox/stats", headers=server.admin_headers
    ).json()
    return stats


def stored(server: RunningSandbox, team: Team) -> int:
    """The team's contacts."""
    teams = control_stats(server)["teams"]
    return next(int(t["contacts"]) for t in teams if t["teamId"] == team.id)


def test_sigterm_stops_between_batches_and_the_rerun_finishes(
    slow_server: RunningSandbox, tmp_path: Path
) -> None:
    count = 500
    numbers_file(tmp_path, count)
    with team_on(slow_server) as team:
        run = cli(slow_server, team, tmp_path, "--report-dir", str(tmp_path / "r1"))
        _wait_for(lambda: len(all_contacts(team)) > 0)
        run.send_signal(signal.SIGTERM)
        _, errors = run.communicate(timeout=60)
        assert run.returncode == 3
        assert "re-run the same command to resume" in errors
        summary = json.loads((tmp_path / "r1" / "summary.json").read_text())
        assert summary["finished"] is False and 0 < summary["created"] < count
        assert (tmp_path / "r1" / "results.csv.partial").exists()

        again = cli(slow_server, team, tmp_path, "--report-dir", str(tmp_path / "r2"))
        _, errors = again.communicate(timeout=120)
        assert again.returncode == 0, errors
        assert_exactly_once(team, count)


def test_a_second_ctrl_c_stops_at_once_and_the_reports_stay_partial(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    """A second Ctrl-C raises KeyboardInterrupt wherever the run is: here, deterministically,
    while the third bulk request is in flight (its answer unread)."""
    inner = httpx.HTTPTransport()

    class SecondCtrlC(httpx.BaseTransport):
        bulks = 0

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            response = inner.handle_request(request)
            if request.url.path.endswith("/contacts/bulk"):
                SecondCtrlC.bulks += 1
                if SecondCtrlC.bulks == 3:
                    response.read()
                    raise KeyboardInterrupt
            return response

        def close(self) -> None:
            inner.close()

    count = 500
    source = numbers_file(tmp_path, count)
    with team_on(sandbox) as team:
        settings = ApiSettings(sandbox.url, ApiKey(team.api_key))
        with EchowinClient(settings, limits=None, transport=SecondCtrlC()) as client:
            stopped = import_file(
                ImportOptions(source, tmp_path / "m.yaml", report_dir=tmp_path / "r1",
                              state_dir=tmp_path / "state"), client, env={},
            )  # fmt: skip
        assert stopped.exit_code == 3 and stopped.error == "stopped at once"
        assert not (tmp_path / "r1" / "results.csv").exists()  # was renamed, rows missing
        # two batches: the first of 69 to 100 rows (see importer/rows.py), then 100
        reported = len(read_report(tmp_path / "r1" / "results.csv.partial"))
        assert 169 <= reported <= 200
        summary = json.loads((tmp_path / "r1" / "summary.json").read_text())
        assert summary["finished"] is False and summary["error"] == "stopped at once"
        assert len(all_contacts(team)) == reported + 100  # the third made; its answer lost

        again = cli(sandbox, team, tmp_path, "--report-dir", str(tmp_path / "r2"))
        _, errors = again.communicate(timeout=120)
        assert again.returncode == 0, errors
        assert_exactly_once(team, count)


def _bulk_posts(server: RunningSandbox) -> int:
    requests = control_stats(server)["requests"]
    return sum(int(r["count"]) for r in requests if r["route"] == "/api/v1/contacts/bulk")


def test_ctrl_c_during_a_rate_limit_wait_sends_nothing_more(tmp_path: Path) -> None:
    """Ten bulks a window: the eleventh waits for the window. Ctrl-C then stops the
    wait, and the eleventh is never sent (it was, once the wait was over)."""
    numbers_file(tmp_path, 1500)
    # echowin's own pace: the window is a minute, so the wait outlasts any slow machine
    with running_sandbox(SandboxSettings()) as server, team_on(server) as team:
        run = cli(server, team, tmp_path, "--report-dir", str(tmp_path / "r"))
        _wait_for(lambda: _bulk_posts(server) >= 10 or run.poll() is not None)
        time.sleep(0.5)  # reconciled the tenth; now waiting for the window to reopen
        run.send_signal(signal.SIGINT)
        _, errors = run.communicate(timeout=60)
        assert run.returncode == 3, errors
        assert "re-run the same command to resume" in errors
        assert _bulk_posts(server) == 10
        assert 969 <= len(all_contacts(team)) <= 1000  # the first batch: 69 to 100 rows


def test_a_second_run_exits_4_naming_the_first(sandbox: RunningSandbox, tmp_path: Path) -> None:
    """The test holds the lock itself (no race with a first run that may finish early):
    the run exits 4 naming the holder, and sends nothing."""
    numbers_file(tmp_path, 30)
    with team_on(sandbox) as team, run_lock(tmp_path / "state", "bulk-sync import first.csv"):
        second = cli(sandbox, team, tmp_path, "--report-dir", str(tmp_path / "r2"))
        _, errors = second.communicate(timeout=60)
        assert second.returncode == 4
        assert f"pid {os.getpid()}" in errors and "holds the state directory" in errors
        assert "bulk-sync import first.csv" in errors
        assert all_contacts(team) == []


def test_a_lock_left_by_a_dead_process_is_free(tmp_path: Path) -> None:
    code = (
        "import sys, time; from pathlib import Path; from bulk_sync.state import run_lock\n"
        "with run_lock(Path(sys.argv[1]), 'holder'):\n"
        "    print('held', flush=True); time.sleep(60)"
    )
    with subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True
    ) as holder:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(Locked, match=f"pid {holder.pid}"), run_lock(tmp_path, "second"):
            pass
        holder.send_signal(signal.SIGKILL)
    assert (tmp_path / HOLDER_NAME).exists()  # what the dead run left
    with run_lock(tmp_path, "third"):
        info = json.loads((tmp_path / HOLDER_NAME).read_text())
        assert info["pid"] == os.getpid() and info["command"] == "third"


def test_worker_processes_end_with_a_killed_parent() -> None:
    code = (
        "from bulk_sync.importer.prepare import Workers\n"
        "workers = Workers(2)\n"
        "print(workers.start_method, *workers.pids, flush=True)\n"
        "import time; time.sleep(60)"
    )
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) as run:
        assert run.stdout is not None
        method, *pids = run.stdout.readline().split()
        assert method == "fork" and len(pids) == 2
        run.send_signal(signal.SIGKILL)
    _wait_for(lambda: not any(_alive(int(pid)) for pid in pids), timeout=10)


def _alive(pid: int) -> bool:
    """Running (a zombie nobody reaped yet has ended: it counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def test_a_finished_job_sends_nothing_again_and_fresh_starts_over(
    sandbox: RunningSandbox, team: Team, tmp_path: Path
) -> None:
    source = numbers_file(tmp_path, 120)
    options = ImportOptions(source, tmp_path / "m.yaml", report_dir=tmp_path / "r1",
                            state_dir=tmp_path / "state")  # fmt: skip
    with client_for(sandbox, team) as client:
        first = import_file(options, client, env={})
    posts = _posts(sandbox)
    with client_for(sandbox, team) as client:
        again = import_file(
            ImportOptions(source, tmp_path / "m.yaml", report_dir=tmp_path / "r2",
                          state_dir=tmp_path / "state"), client, env={},
        )  # fmt: skip
    assert _posts(sandbox) == posts  # not one write
    assert first.counts["created"] == again.counts["skipped"] == 120
    assert again.summary["resumed_job_of"] is None  # finished: nothing to resume
    ids = [r["_contact_id"] for r in read_report(tmp_path / "r1" / "results.csv")]
    assert [r["_contact_id"] for r in read_report(tmp_path / "r2" / "results.csv")] == ids
    assert_exactly_once(team, 120)

    with client_for(sandbox, team) as client:
        fresh = import_file(
            ImportOptions(source, tmp_path / "m.yaml", report_dir=tmp_path / "r3",
                          state_dir=tmp_path / "state", fresh=True), client, env={},
        )  # fmt: skip
    assert fresh.summary["confirmed_earlier"] == 0
    # the job was forgotten, yet the team still has every number: nothing is created
    assert fresh.counts["skipped"] == 120 and fresh.counts["created"] == 0
    assert_exactly_once(team, 120)

    with client_for(sandbox, team) as client:
        again = import_file(
            ImportOptions(source, tmp_path / "m.yaml", report_dir=tmp_path / "r4",
                          state_dir=tmp_path / "state", fresh=True, allow_duplicates=True),
            client, env={},
        )  # fmt: skip
    assert len(all_contacts(team)) == 240  # deliberately: every row sent again


def _posts(server: RunningSandbox) -> int:
    requests = control_stats(server)["requests"]
    return sum(int(r["count"]) for r in requests if r["method"] == "POST")


def test_the_same_file_into_another_team_is_another_job(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    source = numbers_file(tmp_path, 50)
    with team_on(sandbox) as one, team_on(sandbox) as two:
        for run, team in enumerate((one, two, one)):  # a report folder each: see test_cli
            with client_for(sandbox, team) as client:
                import_file(
                    ImportOptions(source, tmp_path / "m.yaml", report_dir=tmp_path / f"r{run}",
                                  state_dir=tmp_path / "state"), client, env={},
                )  # fmt: skip
        assert_exactly_once(one, 50)
        assert_exactly_once(two, 50)


def _wait_for(condition: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)
