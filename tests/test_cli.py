"""The command line: help with examples everywhere, and `sandbox serve` for real."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import httpx
import pytest
import typer
from typer.testing import CliRunner

from bulk_sync.cli import app
from bulk_sync.sandbox import RunningSandbox
from tests.conftest import Team

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def _command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in group.commands.items():
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from _command_paths(command, (*prefix, name))


COMMANDS = [(), *_command_paths(typer.main.get_group(app))]


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "bulk-sync")
def test_every_command_has_help_with_an_example(path: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Example" in result.output
    assert "bulk-sync " in result.output.split("Example", 1)[1]


def _serve(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bulk_sync", "sandbox", "serve", *args],
        cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_sandbox_serve_prints_url_and_key_serves_and_stops(tmp_path: Path, stop: int) -> None:
    proc = _serve("--port", "0", "--db", str(tmp_path / "s.db"), "--api-key", "k1",
                  "--admin-token", "adm", cwd=tmp_path)  # fmt: skip
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", first)
        assert match, first
        url = match.group(0)
        assert "k1" in proc.stdout.readline()
        response = httpx.post(f"{url}/api/v1/contacts", headers={"X-API-Key": "k1"},
                              json={"number": "5551234567"})  # fmt: skip
        assert response.status_code == 201
        stats = httpx.get(f"{url}/_sandbox/stats", headers={"X-Sandbox-Admin": "adm"})
        assert stats.json()["teams"][0]["contacts"] == 1
    finally:
        proc.send_signal(stop)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert (tmp_path / "s.db").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--faults", "boom=0.5"], "unknown fault kind 'boom'"),
        (["--faults", "500=3"], "between 0 and 1"),
        (["--time-scale", "0"], "time-scale"),
    ],
)
def test_sandbox_serve_refuses_bad_options_with_exit_2(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["sandbox", "serve", "--port", "0", *args],
                           env={"COLUMNS": "200"})  # fmt: skip
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_sandbox_serve_reports_a_taken_port(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = _serve("--port", str(port), cwd=tmp_path)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in err
    assert "Traceback" not in err


def test_sandbox_serve_reports_a_bad_seed(tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text("users: []\n")
    result = runner.invoke(app, ["sandbox", "serve", "--port", "0", "--seed", str(seed)])
    assert result.exit_code == 2
    assert "seed file" in result.output and "users" in result.output


# -- import / validate, end to end through the command line --------------------------------

REALWORLD = ROOT.parent / "shared" / "realworld"


def run_cli(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    """The CLI in `cwd`, where `--sandbox` keeps its database."""
    old = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(app, args, env=env or {"ECHOWIN_API_KEY": ""})
    finally:
        os.chdir(old)
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


def test_the_readme_quick_start_import_runs(tmp_path: Path) -> None:
    code, output = run_cli(
        ["import", str(ROOT / "samples/leads.xlsx"), "--mapping", str(ROOT / "mappings/leads.yaml"),
         "--sandbox"], tmp_path,
    )  # fmt: skip
    assert code == 1, output  # the sample holds rows that must be rejected
    assert re.search(r"finished 295 rows: created \d{3}, duplicates \d+, rejected \d+", output)
    assert re.search(r"223 +created now", output), output
    (reports,) = (tmp_path / "bulk-sync-reports").iterdir()
    assert reports.name.endswith("-import") and str(reports.resolve()) in output
    assert {p.name for p in reports.iterdir()} == {"results.csv", "rejected.csv", "summary.json",
                                                   "summary.html"}  # fmt: skip
    assert (tmp_path / ".bulk-sync" / "sandbox.db").is_file()


def test_validate_sends_nothing_and_prints_the_plan(tmp_path: Path) -> None:
    code, output = run_cli(
        ["validate", str(ROOT / "samples/leads.csv"), "-m", str(ROOT / "mappings/leads.yaml"),
         "--sandbox", "--report-dir", "r"], tmp_path,
    )  # fmt: skip
    assert code == 1
    assert re.search(
        r"a real run would create up to \d+ contacts and 4 new tags in \d+ GET, 4 WRITE, 3 BULK "
        r"requests, taking under a minute",
        output.replace("\n", " "),
    ), output
    assert re.search(r"223 +would be sent", output), output
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["dry_run"] is True and summary["created"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["import", "missing.csv", "--sandbox"], "missing.csv: no such file"),
        (
            ["import", "in.csv", "--mapping", "bad.yaml", "--sandbox"],
            "fields.number: no column 'Phone'",
        ),
        (
            ["import", "in.csv", "--mapping", "typo.yaml", "--sandbox"],
            "line 2: fields.numbr: unknown key",
        ),
        (["import", "in.csv", "--region", "XX", "--sandbox"], "--region: unknown region 'XX'"),
        (["import", "in.csv", "--match", "phone", "--sandbox"], "--match: expected number, email"),
        (["import", "in.csv"], "no API key: set ECHOWIN_API_KEY"),
        (
            ["import", "in.csv", "--sandbox", "--api-url", "http://127.0.0.1:1"],
            "leave out --api-url",
        ),
        (
            ["import", "in.csv", "--sandbox", "--state-dir", "in.csv/state"],
            "cannot use in.csv/state as the state directory",
        ),
        (
            ["import", "in.csv", "--sandbox", "--report-dir", "in.csv/r"],
            "cannot write reports in in.csv/r",
        ),
        (["import", "in.csv", "--sandbox", "--state-dir", "junk"], "cannot use the journal"),
    ],
)
def test_file_and_settings_problems_exit_2_with_one_sentence(
    args: list[str], message: str, tmp_path: Path
) -> None:
    (tmp_path / "in.csv").write_text("Mobile,Name\n2125550100,Ann\n")
    (tmp_path / "bad.yaml").write_text("fields: {number: Phone}\n")
    (tmp_path / "typo.yaml").write_text("fields:\n  numbr: Mobile\n")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "journal.sqlite3").write_text("not a database, " * 100)
    code, output = run_cli(args, tmp_path)
    assert code == 2, output
    assert output.startswith("error: ") and message in output
    assert not (tmp_path / "bulk-sync-reports").exists()


@pytest.mark.parametrize("command", ["import", "export"])
def test_a_key_refused_at_the_start_exits_2_saying_what_to_check(
    command: str, tmp_path: Path, sandbox: RunningSandbox
) -> None:
    (tmp_path / "in.csv").write_text("Mobile\n2125550100\n")
    (tmp_path / "key").write_text("wrong-key")
    (tmp_path / "key").chmod(0o600)
    code, output = run_cli(
        [command, "in.csv" if command == "import" else "out.csv", "--api-url", sandbox.url,
         "--api-key-file", "key"], tmp_path,
    )  # fmt: skip
    assert code == 2, output
    assert "echowin refused the API key (401): check ECHOWIN_API_KEY / --api-key-file" in output
    assert "resume" not in output and "wrong-key" not in output
    assert not (tmp_path / "out.csv").exists()


def test_an_unreachable_host_is_named_with_its_retries_and_nothing_sent(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text("Mobile\n2125550100\n")
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    code, output = run_cli(
        ["import", "in.csv", "--api-url", f"http://127.0.0.1:{port}", "--region", "US"],
        tmp_path, env={"ECHOWIN_API_KEY": "k", "BULK_SYNC_RETRIES": "2"},
    )  # fmt: skip
    assert code == 3, output
    assert "could not reach 127.0.0.1 (ConnectError)" in output
    assert "trying again in" in output  # each retry shown as it happens
    assert "nothing was sent: run the same command again" in output
    assert "resume" not in output


@pytest.mark.skipif(not REALWORLD.is_dir(), reason="../shared/realworld is not on this machine")
@pytest.mark.parametrize("name", sorted(p.name for p in REALWORLD.glob("*/*.csv")))
def test_real_world_files_validate_without_a_mapping(name: str, tmp_path: Path) -> None:
    (path,) = REALWORLD.glob(f"*/{name}")
    code, output = run_cli(["validate", str(path), "--sandbox", "--quiet"], tmp_path)
    assert code in (0, 1), output
    summary = json.loads(next((tmp_path / "bulk-sync-reports").glob("*/summary.json")).read_text())
    assert summary["rows"] == summary["skipped"] + summary["rejected"] + summary["duplicates"] > 0


def test_import_then_export_with_the_sandbox_sees_the_same_contacts(tmp_path: Path) -> None:
    code, _ = run_cli(
        ["import", str(ROOT / "samples/leads.csv"), "--mapping", str(ROOT / "mappings/leads.yaml"),
         "--sandbox", "-q"], tmp_path, env={"BULK_SYNC_STATE_DIR": str(tmp_path / "state")},
    )  # fmt: skip
    assert code == 1
    code, output = run_cli(["export", "backup-{date}.xlsx", "--sandbox", "--keep", "2"], tmp_path)
    assert code == 0, output
    exported = r"Exported 223 contacts in 3 pages, .*backup-\d{4}-\d\d-\d\d\.xlsx \(verified\)"
    assert re.search(exported, output.replace("\n", "")), output
    code, output = run_cli(["export", "vip.csv", "--sandbox", "--tag", "Nope"], tmp_path)
    assert code == 2 and "no tag named 'Nope'" in output


def test_an_unforeseen_error_is_one_sentence_and_exit_3_unless_debug(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The last resort in `main`: no traceback, a way to get one."""
    from bulk_sync import cli, importer

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug [bold]here[/]")

    monkeypatch.setattr(importer, "import_file", broken)
    monkeypatch.setattr(cli, "_DEBUG", [False])
    (tmp_path / "in.csv").write_text("Mobile\n2125550100\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ECHOWIN_API_KEY", "k")
    monkeypatch.setattr(
        sys, "argv", ["bulk-sync", "import", "in.csv", "--api-url", "http://127.0.0.1:1"]
    )
    with pytest.raises(SystemExit) as stopped:
        cli.main()
    assert stopped.value.code == 3
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "error: unexpected RuntimeError: a bug [bold]here[/]." in err  # never read as markup
    assert "--debug" in err
    monkeypatch.setattr(sys, "argv", ["bulk-sync", "--debug", "import", "in.csv",
                                      "--api-url", "http://127.0.0.1:1"])  # fmt: skip
    with pytest.raises(RuntimeError, match="a bug"):
        cli.main()


def test_validate_without_a_key_checks_the_files_own_rules(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text(
        "Phone,Role,Tags\n2125550100,Intern,VIP\nnope,Manager,\n2125550101,,VIP;Gold\n"
    )
    (tmp_path / "m.yaml").write_text("fields: {number: Phone}\ncustomFields: {role: Role}\n"
                                     "tags: {column: Tags, split: ';'}\n")  # fmt: skip
    code, output = run_cli(["validate", "in.csv", "--mapping", "m.yaml", "--report-dir", "r"],
                           tmp_path, env={"ECHOWIN_API_KEY": ""})  # fmt: skip
    assert code == 1, output
    text = " ".join(output.split())
    assert "No API key: the file was checked by its own rules only" in text
    assert "has no schema on echowin" not in text  # no team was read to compare with
    # honest about what it could not see: no requests counted, no tags "to create"
    assert "no request sent (offline: no API key)" in text and "3 requests" not in text
    assert "new tag" not in text and "finding rows already in echowin" not in text
    assert "a real run would create up to 2 contacts in at least " in text
    assert "nor which of the 2 tags the rows carry it lacks: VIP, Gold" in text
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["offline"] is True and summary["rejected"] == 1  # 'Intern' is no select here
    assert summary["requests"] == 0 and summary["lookup"] is None
    assert summary["plan"]["tags_to_create"] == [] and summary["plan"]["calls"]["write"] == 0
    assert summary["plan"]["tags_unchecked"] == ["VIP", "Gold"]


def test_a_misspelled_custom_field_key_is_refused_naming_the_one_meant(
    tmp_path: Path, sandbox: RunningSandbox, team: Team
) -> None:
    (tmp_path / "in.csv").write_text("Phone,Role,Industry\n2125550100,Manager,Retail\n")
    (tmp_path / "key").write_text(team.api_key)
    (tmp_path / "key").chmod(0o600)
    args = ["import", "in.csv", "--api-url", sandbox.url, "--api-key-file", "key", "--mapping",
            "m.yaml"]  # fmt: skip
    (tmp_path / "m.yaml").write_text("fields: {number: Phone}\ncustomFields: {rôle: Role}\n")
    code, output = run_cli(args, tmp_path)
    assert code == 2, output
    assert "echowin has no custom field 'rôle'; did you mean 'role'?" in output.replace("\n", "")
    assert team.http.get("/api/v1/contacts").json()["data"] == []  # nothing was sent
    # a key far from every schema is a new one: a warning, and the values go as text
    (tmp_path / "m.yaml").write_text(
        "fields: {number: Phone}\ncustomFields: {industry: Industry}\n"
    )
    code, output = run_cli(args, tmp_path)
    assert code == 0, output
    assert "custom field 'industry' has no schema on echowin" in output.replace("\n", "")


@pytest.mark.parametrize("command", [[], ["import"], ["validate"], ["export"], ["undo"],
                                     ["mapping", "suggest"], ["sandbox", "serve"]])  # fmt: skip
def test_help_shows_examples_environment_variables_and_no_bool_placeholders(
    command: list[str],
) -> None:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Example" in text
    assert "<bool>" not in text and "--no-" not in text
    # no click type names to decode: every value says what it is (FILE, PORT, N, KEY...)
    assert not re.search(r"<(str|int|float|text|integer)( range)?>", text), text
    if command in (["import"], ["validate"], ["export"]):
        names = ["ECHOWIN_API_URL", "ECHOWIN_API_KEY"]
        for name in names + (["BULK_SYNC_STATE_DIR"] if command != ["validate"] else []):
            assert f"[env: {name}" in text or f"env: {name}" in text, name
    if command in (["import"], ["validate"]):
        assert "[env: BULK_SYNC_REGION; default US]" in text


def test_cron_gets_dated_start_and_end_lines_and_json_logs_in_a_file(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text("Phone\n2125550100\nnope\n")
    code, output = run_cli(["import", "in.csv", "--sandbox", "--log-file", "run.log"], tmp_path)
    assert code == 1, output
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d"
    assert re.search(stamp + r" create: .*in\.csv into http://127\.0\.0\.1:\d+; match number; "
                     r"new job", output), output  # fmt: skip
    assert re.search(stamp + r" finished 2 rows: created 1, rejected 1", output), output
    assert len((tmp_path / "run.log").read_text().splitlines()) == 2
    code, output = run_cli(["validate", "in.csv", "--json-logs", "--log-file", "j.log"], tmp_path)
    start, end = (json.loads(line) for line in (tmp_path / "j.log").read_text().splitlines())
    assert start["event"] == "start" and start["mode"] == "dry run" and start["host"] == "offline"
    assert end["event"] == "end" and end["rejected"] == 1 and end["exit_code"] == 1
    assert re.fullmatch(stamp, start["time"])


def _json_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_export_and_undo_log_like_import_start_heartbeat_and_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One log for the three: a start line, a line every `EVERY_S` (0 here: each step),
    an end line; `--log-file` and `--json-logs` on export and undo too."""
    from bulk_sync import cli

    rows = "".join(f"212555{i:04d}\n" for i in range(150))
    (tmp_path / "in.csv").write_text("Phone\n" + rows)
    env = {"ECHOWIN_API_KEY": "", "BULK_SYNC_STATE_DIR": str(tmp_path / "state")}
    code, output = run_cli(["import", "in.csv", "--sandbox", "-q", "--report-dir", "r"],
                           tmp_path, env)  # fmt: skip
    assert code == 0, output
    monkeypatch.setattr(cli._Log, "EVERY_S", 0.0)
    code, output = run_cli(["export", "out.csv", "--sandbox", "--tag", "Nope", "--log-file",
                            "refused.log"], tmp_path, env)  # fmt: skip
    assert code == 2 and "stopped: no tag named 'Nope'" in (tmp_path / "refused.log").read_text()
    code, output = run_cli(["export", "out.csv", "--sandbox", "--json-logs", "--log-file",
                            "export.log"], tmp_path, env)  # fmt: skip
    assert code == 0, output
    start, *beats, end = _json_lines(tmp_path / "export.log")
    assert start["event"] == "start" and start["output"] == str((tmp_path / "out.csv").resolve())
    assert str(start["host"]).startswith("http://127.0.0.1:") and start["format"] == "csv"
    assert start["filters"] == {"tags": [], "search": None} and start["details_known"] == 0
    assert [b["rows"] for b in beats] == [100] and beats[0]["event"] == "progress"
    assert end["event"] == "end" and end["verified"] is True and end["exit_code"] == 0
    assert end["rows"] == 150 and end["pages"] == 2 and isinstance(end["seconds"], float)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", str(start["time"]))
    assert re.fullmatch(r"export: http://127\.0\.0\.1:\d+ into .*out\.csv \(csv\); 150 "
                        r"contacts, no filter; new job", str(start["message"]))  # fmt: skip
    assert re.fullmatch(
        r"exported 150 contacts in 2 pages, [\d.]+ s: verified", str(end["message"])
    )
    assert '"event": "end"' in output  # on stderr too (not a terminal)

    # undo: five contacts are enough to see each step (60 deletes a minute)
    (tmp_path / "five.csv").write_text("Phone\n" + rows.replace("2125550", "2125559")[:55])
    code, output = run_cli(["import", "five.csv", "--sandbox", "-q", "--report-dir", "r5"],
                           tmp_path, env)  # fmt: skip
    assert code == 0, output
    code, output = run_cli(["undo", "r5", "--yes", "--sandbox", "--json-logs", "--log-file",
                            "undo.log"], tmp_path, env)  # fmt: skip
    assert code == 0, output
    start, *beats, end = _json_lines(tmp_path / "undo.log")
    assert start["event"] == "start" and start["to_delete"] == 5 and start["settled"] == 0
    assert [b["done"] for b in beats] == [1, 2, 3, 4, 5]
    assert end["event"] == "end" and end["deleted"] == 5 and end["exit_code"] == 0


def test_undo_quiet_prints_the_summary_on_stdout_and_warnings_on_stderr(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text("Phone\n2125550100\n2125550101\n")
    env = {"ECHOWIN_API_KEY": "", "BULK_SYNC_STATE_DIR": str(tmp_path / "state")}
    code, output = run_cli(["import", "in.csv", "--sandbox", "-q", "--report-dir", "r"],
                           tmp_path, env)  # fmt: skip
    assert code == 0, output
    summary = tmp_path / "r" / "summary.json"  # as an import that stopped would say
    summary.write_text(summary.read_text().replace('"finished": true', '"finished": false'))
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        result = CliRunner().invoke(app, ["undo", "r", "--yes", "--sandbox", "--quiet"], env=env)
    finally:
        os.chdir(old)
    assert result.exit_code == 0, result.output
    (line,) = result.stdout.splitlines()
    assert line.startswith("Deleted 2 contacts; 0 were gone already; 0 refused. Report: ")
    (warning,) = " ".join(result.stderr.split()).split("warning: ")[1:]
    assert warning.startswith("the import did not finish"), result.stderr


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def run_in_terminal(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, list[str]]:
    """`bulk-sync ARGS` with a pseudo-terminal for stdin, stdout and stderr, as a person
    runs it: its exit code and each frame it drew (`\\r`-separated, colours taken out)."""
    import pty

    master, slave = pty.openpty()
    plain = {k: v for k, v in os.environ.items()
             if k not in ("FORCE_TERMINAL", "TTY_COMPATIBLE", "NO_COLOR", "CI")}  # fmt: skip
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bulk_sync", *args], cwd=cwd, stdin=slave, stdout=slave,
            stderr=slave, env={**plain, "TERM": "xterm-256color", "COLUMNS": "160", **env},
        )  # fmt: skip
    finally:
        os.close(slave)
    screen = []
    try:
        while select.select([master], [], [], 120)[0]:  # nothing for 2 min: a hang
            try:
                data = os.read(master, 1 << 16)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            screen.append(data)
        else:
            proc.kill()
    finally:
        os.close(master)
        code = proc.wait(timeout=60)
    text = _ANSI.sub("", b"".join(screen).decode("utf-8", "replace"))
    return code, [frame.strip() for frame in re.split(r"[\r\n]+", text) if frame.strip()]


def test_a_csv_on_a_terminal_shows_an_estimated_total_and_the_time_left(tmp_path: Path) -> None:
    """A CSV does not say how many rows it has: the bar estimates them from the bytes
    read (`~`), with the time left, and shows the exact count once read whole."""
    rows = "".join(f"2125{i:06d}\n" for i in range(15_000))  # 3 whole chunks
    (tmp_path / "big.csv").write_text("Phone\n" + rows)
    (tmp_path / "m.yaml").write_text("fields: {number: Phone}\n")
    code, frames = run_in_terminal(["validate", "big.csv", "-m", "m.yaml", "--report-dir", "r"],
                                   tmp_path, {"ECHOWIN_API_KEY": ""})  # fmt: skip
    assert code in (0, 1), frames
    bar = r"(\d+)/(~?)(\d+) \d+:\d\d:\d\d (\S+)$"  # done/total, elapsed, time left
    shown = [m.groups() for f in frames if (m := re.search(bar, f))]
    estimated = [(int(done), int(total), left) for done, tilde, total, left in shown if tilde]
    assert estimated, frames
    assert all(abs(total - 15_000) < 1_500 for _, total, _ in estimated), estimated
    assert any(re.fullmatch(r"\d+:\d\d:\d\d", left) for _, _, left in estimated), estimated
    # read whole: exact, though the last chunk was as full as the others
    assert shown[-1][:3] == ("15000", "", "15000"), shown


def test_a_rate_limit_wait_on_a_terminal_counts_down_then_the_table(tmp_path: Path) -> None:
    """A person watching sees why the run pauses: the bar names the wait and its class and
    counts it down, and the run ends with the table of counts. The team's bulk budget is
    spent before the import starts (echowin's limits, a 15 s window), so its first bulk
    is refused with a Retry-After of the window's rest: a wait of several seconds."""
    from bulk_sync.sandbox import SandboxSettings, running_sandbox
    from tests.conftest import team_on

    (tmp_path / "leads.csv").write_text("Phone\n" + "".join(f"21255{i:05d}\n" for i in range(150)))
    (tmp_path / "m.yaml").write_text("fields: {number: Phone}\n")
    with running_sandbox(SandboxSettings(time_scale=4)) as server, team_on(server) as team:
        for i in range(10):  # the bulk class's whole budget for this window
            spent = team.http.post("/api/v1/contacts/bulk",
                                   json={"contacts": [{"number": f"+1303555{i:04d}"}]})  # fmt: skip
            assert spent.status_code in (200, 201), spent.text
        code, frames = run_in_terminal(
            ["import", "leads.csv", "-m", "m.yaml", "--api-url", server.url, "--report-dir", "r"],
            tmp_path, {"ECHOWIN_API_KEY": team.api_key},
        )  # fmt: skip
    assert code == 0, frames
    waits = [int(m[1]) for f in frames if (m := re.search(r"waiting (\d+) s for the bulk rate", f))]
    assert len(set(waits)) >= 2, frames  # it counts down
    assert waits == sorted(waits, reverse=True), waits
    assert any(re.search(r"^150\s+created now", f) for f in frames), frames
    assert any("requests" in f and "waiting for rate limits" in f for f in frames), frames
