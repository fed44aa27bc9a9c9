"""`bulk-sync undo`: exactly the contacts an import created are deleted, whatever else
the team holds, after a partial import, after a re-run, and twice (sandbox over HTTP)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bulk_sync.client import EchowinClient
from bulk_sync.importer import ImportOptions, import_file
from bulk_sync.sandbox import RunningSandbox
from bulk_sync.undo import UndoOptions, plan_undo, undo_import
from tests.client.conftest import client_for
from tests.conftest import Team
from tests.importer.conftest import all_contacts, write_csv
from tests.test_cli import run_cli


def leads(tmp: Path, count: int) -> Path:
    rows = [["Phone", "Name"]] + [[f"+1212555{i:04d}", f"Lead {i}"] for i in range(count)]
    write_csv(tmp / "leads.csv", rows)
    (tmp / "m.yaml").write_text("fields: {number: Phone, firstName: Name}\n")
    return tmp / "leads.csv"


def run_import(client: EchowinClient, tmp: Path, report: str, **more: object) -> object:
    options = ImportOptions(tmp / "leads.csv", tmp / "m.yaml", report_dir=tmp / report,
                            state_dir=tmp / "state", **more)  # type: ignore[arg-type]  # fmt: skip
    return import_file(options, client, env={})


def undo(client: EchowinClient, tmp: Path, report: str) -> object:
    options = UndoOptions(tmp / report, tmp / "state")
    return undo_import(options, client, env={})


def test_undo_of_a_partial_import_then_of_its_rerun_deletes_only_what_they_made(
    sandbox: RunningSandbox, team: Team, tmp_path: Path
) -> None:
    theirs = team.create(number="+12125550150", firstName="Already here")  # row 152 matches it
    leads(tmp_path, 300)
    with client_for(sandbox, team) as client:
        partial = run_import(client, tmp_path, "r1", should_stop=lambda: client.stats.writes >= 2)
        assert partial.exit_code == 3 and 0 < partial.counts["created"] < 299
        made_first = partial.counts["created"]
        assert (tmp_path / "r1" / "results.csv.partial").exists()
        plan = plan_undo(UndoOptions(tmp_path / "r1", tmp_path / "state"))
        assert len(plan.to_delete) == made_first and not plan.import_finished

        rerun = run_import(client, tmp_path, "r2")  # the same job goes on
        assert rerun.exit_code == 0 and rerun.counts["created"] == 299
        assert rerun.counts["skipped"] == 1  # the contact that was there before

        first = undo(client, tmp_path, "r1")  # the partial report: its own rows only
        assert first.counts == {"deleted": made_first, "already_gone": 0, "failed": 0}
        assert len(all_contacts(team)) == 300 - made_first

        second = undo(client, tmp_path, "r2")  # lists every created row, the first run's too
        assert second.counts == {"deleted": 299 - made_first, "already_gone": made_first,
                                 "failed": 0}  # fmt: skip
        assert [c["id"] for c in all_contacts(team)] == [theirs["id"]]

        before = client.stats.requests
        again = undo(client, tmp_path, "r2")  # twice: nothing left, nothing sent
        assert again.exit_code == 0 and client.stats.requests == before
        assert again.counts["deleted"] == 299 - made_first

        recreated = run_import(client, tmp_path, "r3", fresh=True)  # the index forgot them
        assert recreated.counts["created"] == 299 and recreated.counts["skipped"] == 1
    assert len(all_contacts(team)) == 300


def test_an_upsert_imports_updated_rows_are_never_deleted(
    sandbox: RunningSandbox, team: Team, tmp_path: Path
) -> None:
    existing = team.create(number="+12125550000", firstName="Old name")
    leads(tmp_path, 3)
    with client_for(sandbox, team) as client:
        result = run_import(client, tmp_path, "r", mode="upsert")
        assert result.counts["updated"] == 1 and result.counts["created"] == 2
        done = undo(client, tmp_path, "r")
    assert done.counts["deleted"] == 2
    (left,) = all_contacts(team)
    assert left["id"] == existing["id"] and left["firstName"] == "Lead 0"  # updated, kept


def test_the_cli_shows_the_plan_asks_or_needs_yes_and_refuses_a_validate_report(
    sandbox: RunningSandbox, team: Team, tmp_path: Path
) -> None:
    leads(tmp_path, 5)
    (tmp_path / "key").write_text(team.api_key)
    (tmp_path / "key").chmod(0o600)
    api = ["--api-url", sandbox.url, "--api-key-file", "key", "--state-dir", "state"]
    code, output = run_cli(["import", "leads.csv", "-m", "m.yaml", "--report-dir", "r", *api],
                           tmp_path)  # fmt: skip
    assert code == 0, output
    code, output = run_cli(["undo", "r", "--dry-run", *api], tmp_path)
    assert code == 0 and "Undo deletes the 5 contacts the import of" in output.replace("\n", "")
    assert len(all_contacts(team)) == 5
    code, output = run_cli(["undo", "r", *api], tmp_path)  # not a terminal, no --yes
    assert code == 2 and "add --yes to delete without asking" in output
    code, output = run_cli(["undo", "r", "--yes", *api], tmp_path)
    assert code == 0 and "Deleted 5 contacts" in output, output
    assert all_contacts(team) == []
    page = (tmp_path / "r" / "undo" / "summary.html").read_text()  # its own page, beside
    assert '<div class="tile" data-count="deleted"><b>5</b>deleted</div>' in page
    assert '<div class="tile" data-count="failed"><b>0</b>refused</div>' in page
    assert "Every contact was deleted, or gone already." in page
    assert '<a href="results.csv">results.csv</a>' in page and "<dd>finished</dd>" in page
    code, output = run_cli(["validate", "leads.csv", "-m", "m.yaml", "--report-dir", "v",
                            *api[:4]], tmp_path)  # fmt: skip
    assert code == 0, output
    code, output = run_cli(["undo", "v", "--yes", *api], tmp_path)
    assert code == 2 and "a dry run" in output


def test_undo_with_another_teams_key_deletes_nothing_and_records_nothing(
    sandbox: RunningSandbox, team: Team, tmp_path: Path
) -> None:
    from bulk_sync.errors import InputError
    from tests.conftest import team_on

    leads(tmp_path, 3)
    with client_for(sandbox, team) as client:
        run_import(client, tmp_path, "r")
    with team_on(sandbox) as other, client_for(sandbox, other) as wrong:
        try:
            undo(wrong, tmp_path, "r")
        except InputError as exc:
            assert "none of the 3 contacts looked up of those this import created" in str(exc)
        else:
            raise AssertionError("an undo with another team's key went ahead")
    assert not (tmp_path / "r" / "undo").exists()  # nothing recorded: the right key still works
    with client_for(sandbox, team) as client:
        assert undo(client, tmp_path, "r").counts["deleted"] == 3
    assert all_contacts(team) == []


def test_a_report_folder_of_an_import_is_only_reused_by_its_own_job(
    sandbox: RunningSandbox, team: Team, tmp_path: Path
) -> None:
    """A second import into a folder whose import created contacts would overwrite the
    only record undo has of them: refused (exit 2, nothing sent); the same job resuming
    there (after exit 3) goes on; `{date}`/`{datetime}` in --report-dir give new folders."""
    from bulk_sync.errors import ConfigError

    leads(tmp_path, 300)
    with client_for(sandbox, team) as client:
        stopped = run_import(client, tmp_path, "r", should_stop=lambda: client.stats.writes >= 2)
        assert stopped.exit_code == 3
        resumed = run_import(client, tmp_path, "r")  # the same job: its own folder
        assert resumed.exit_code == 0 and resumed.counts["created"] == 300
        before = (tmp_path / "r" / "results.csv").read_text()
        sent = client.stats.writes
        with pytest.raises(ConfigError, match=r"holds the reports of another import, which "
                           r"created 300 contacts .*\{datetime\}"):  # fmt: skip
            run_import(client, tmp_path, "r")  # a finished job's file again: a new job
        assert client.stats.writes == sent
    assert (tmp_path / "r" / "results.csv").read_text() == before
    (tmp_path / "key").write_text(team.api_key)
    (tmp_path / "key").chmod(0o600)
    api = ["--api-url", sandbox.url, "--api-key-file", "key"]
    write_csv(tmp_path / "more.csv", [["Phone", "Name"], ["+12125559000", "More"]])
    for command in (["import", "more.csv", "--state-dir", "state"], ["validate", "more.csv"]):
        code, output = run_cli([*command, "-m", "m.yaml", "--report-dir", "r", *api], tmp_path)
        assert code == 2 and "put {datetime} in it" in output.replace("\n", ""), output
    assert len(all_contacts(team)) == 300
    code, output = run_cli(["import", "more.csv", "-m", "m.yaml", "--state-dir", "state",
                            "--report-dir", "reports/{date}/more-{datetime}", *api],
                           tmp_path)  # fmt: skip
    assert code == 0, output
    (made,) = (tmp_path / "reports").glob("*/more-*")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", made.parent.name), made
    assert re.fullmatch(r"more-\d{4}-\d\d-\d\dT\d{6}Z", made.name), made
    assert str(made.resolve()) in output.replace("\n", "")
    code, output = run_cli(["undo", str(made), "--yes", *api, "--state-dir", "state"], tmp_path)
    assert code == 0 and "Deleted 1 contact;" in output, output


def test_a_stopped_undo_finished_later_leaves_one_summary_and_counts_the_whole_undo(
    sandbox: RunningSandbox, team: Team, tmp_path: Path
) -> None:
    leads(tmp_path, 5)
    with client_for(sandbox, team) as client:
        assert run_import(client, tmp_path, "r").counts["created"] == 5
        stop_at = client.stats.writes + 2
        options = UndoOptions(tmp_path / "r", tmp_path / "state",
                              should_stop=lambda: client.stats.writes >= stop_at)  # fmt: skip
        stopped = undo_import(options, client, env={})
        assert stopped.exit_code == 3 and stopped.counts["deleted"] == 2
        assert (tmp_path / "r" / "undo" / "summary.partial.json").exists()

        plan = plan_undo(UndoOptions(tmp_path / "r", tmp_path / "state"))
        assert plan.settled == 2 and len(plan.to_delete) == 3
        seen: list[tuple[int, int]] = []
        undo_import(UndoOptions(tmp_path / "r", tmp_path / "state"), client, plan=plan,
                    env={}, on_progress=lambda done, total: seen.append((done, total)))  # fmt: skip
    assert [n for n in (tmp_path / "r" / "undo").iterdir() if "summary" in n.name and
            n.suffix == ".json"] == [tmp_path / "r" / "undo" / "summary.json"]  # fmt: skip
    assert seen[-1] == (3, 3)  # this run's part; the CLI adds the settled ones
    assert all_contacts(team) == []


def test_undo_of_an_import_that_created_nothing_says_so(
    tmp_path: Path, team: Team, sandbox: RunningSandbox
) -> None:
    write_csv(tmp_path / "bad.csv", [["Phone", "Name"], ["not a number", "Nobody"]])
    (tmp_path / "m.yaml").write_text("fields: {number: Phone, firstName: Name}\n")
    env = {"ECHOWIN_API_KEY": team.api_key, "ECHOWIN_API_URL": sandbox.url}
    code, _ = run_cli(["import", "bad.csv", "-m", "m.yaml", "--report-dir", "r"], tmp_path, env)
    assert code == 1
    code, output = run_cli(["undo", "r", "--yes", "--quiet"], tmp_path, env)
    assert code == 0 and "created no contact that is still to delete: nothing to undo" in (
        output.replace("\n", " ")
    )
    assert "0 contacts" not in output
