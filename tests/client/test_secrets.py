"""The API key never shows: not in logs, messages, reprs, stats, nor in any file a run writes."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from bulk_sync.client import EchowinClient
from bulk_sync.client import models as m
from bulk_sync.config import ApiKey, ApiSettings, RetryPolicy
from bulk_sync.errors import ApiError
from bulk_sync.sandbox import RunningSandbox
from tests.test_cli import ROOT, run_cli

SECRET = "sbx_TOP-SECRET-KEY-0123456789"


def test_key_stays_out_of_logs_errors_and_reprs(
    sandbox: RunningSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    created = httpx.post(
        f"{sandbox.url}/_sandbox/teams", headers=sandbox.admin_headers, json={"apiKey": SECRET}
    )
    assert created.status_code == 201
    caplog.set_level(logging.DEBUG)
    policy = RetryPolicy(max_attempts=2, backoff_initial_s=0.01, backoff_max_s=0.01)
    texts: list[str] = []
    settings = ApiSettings(sandbox.url, ApiKey(SECRET))
    with EchowinClient(settings, limits=None, policy=policy) as client:
        client.create_contact(m.NewContact(number="5551234567"))
        for call in (
            lambda: client.get_contact("missing"),
            lambda: client.create_contact(m.NewContact(number="", email="bad")),
            lambda: client.bulk_create([m.NewContact(number="1")] * 101),
        ):
            with pytest.raises((ApiError, ValueError)) as caught:
                call()
            texts += [str(caught.value), repr(caught.value)]
        texts += [repr(client), repr(client.settings), str(client.stats), repr(client.pacer)]
    unreachable = ApiSettings("http://127.0.0.1:9", ApiKey(SECRET))
    with EchowinClient(unreachable, limits=None, policy=policy) as client:
        with pytest.raises(ApiError) as caught:
            client.tags()
        texts += [str(caught.value), repr(caught.value), repr(caught.value.__cause__)]
    assert caplog.records, "debug logging should have recorded the HTTP traffic"
    texts.append(caplog.text)
    for text in texts:
        assert SECRET not in text


# -- everything a run writes or prints, for real runs through the command line ------------

RUN_KEY = "sbx_RUN-SECRET-7f3a9c1e5b"


def _all_files(*roots: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for root in roots for p in sorted(root.rglob("*")) if p.is_file()}


def test_nothing_a_run_writes_or_prints_holds_the_key(
    sandbox: RunningSandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An import with rejections (every report), an export with its manifest, a run
    whose key is refused: their reports, summary, journal and lock (SQLite read as
    bytes), manifest, output and logs hold no trace of the key."""
    created = httpx.post(
        f"{sandbox.url}/_sandbox/teams", headers=sandbox.admin_headers, json={"apiKey": RUN_KEY}
    )
    assert created.status_code == 201
    caplog.set_level(logging.DEBUG)
    state = tmp_path / "state"
    key_file = tmp_path / "work" / "key.txt"
    key_file.parent.mkdir()
    key_file.write_text(RUN_KEY + "\n")
    key_file.chmod(0o600)
    env = {"ECHOWIN_API_KEY": RUN_KEY, "BULK_SYNC_STATE_DIR": str(state), "COLUMNS": "200"}
    api = ["--api-url", sandbox.url]
    outputs = []
    code, output = run_cli(
        ["import", str(ROOT / "samples/leads.csv"), "--mapping", str(ROOT / "mappings/leads.yaml"),
         *api], key_file.parent, env,
    )  # fmt: skip
    assert code == 1, output  # rows rejected: results, rejected and summary all written
    outputs.append(output)
    code, output = run_cli(
        ["export", "backup.csv", "--api-key-file", str(key_file), *api],
        key_file.parent, {**env, "ECHOWIN_API_KEY": ""},
    )  # fmt: skip
    assert code == 0, output
    outputs.append(output)
    code, output = run_cli(
        ["import", str(ROOT / "samples/leads.csv"), *api], key_file.parent,
        {**env, "ECHOWIN_API_KEY": RUN_KEY + "-revoked"},
    )  # fmt: skip
    assert code != 0, output
    outputs.append(output)

    written = _all_files(tmp_path / "work", state)
    names = {p.name for p in written}
    assert {"results.csv", "rejected.csv", "summary.json", "backup.csv"} <= names, names
    assert any(n.endswith(".sqlite3") for n in names) and any("lock" in n for n in names), names
    assert any("manifest" in n for n in names), names
    del written[key_file]  # the one file that should hold it
    for path, content in written.items():
        assert RUN_KEY.encode() not in content, path
    for text in [*outputs, caplog.text]:
        assert RUN_KEY not in text
    assert caplog.records, "debug logging should have recorded the HTTP traffic"


@pytest.mark.parametrize(
    "url",
    [f"https://{SECRET}@echo.win", f"https://echo.win/api?api_key={SECRET}", SECRET],
)
@pytest.mark.parametrize("how", ["--api-url", "ECHOWIN_API_URL"])
def test_a_key_in_the_api_url_is_refused_without_echoing_it(
    url: str, how: str, tmp_path: Path
) -> None:
    (tmp_path / "in.csv").write_text("Mobile\n2125550100\n")
    flag = ["--api-url", url] if how == "--api-url" else []
    env = {"ECHOWIN_API_KEY": "k", "ECHOWIN_API_URL": url if how != "--api-url" else ""}
    code, output = run_cli(["import", "in.csv", *flag], tmp_path, env)
    assert code == 2, output
    assert output.startswith("error: the API URL") and output.count("\n") == 1, output
    assert SECRET not in output


def test_a_key_file_readable_by_others_is_refused_like_ssh(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text("Mobile\n2125550100\n")
    (tmp_path / "key.txt").write_text(SECRET)
    (tmp_path / "key.txt").chmod(0o644)
    code, output = run_cli(["import", "in.csv", "--api-key-file", "key.txt"], tmp_path)
    assert code == 2, output
    assert output == "error: key.txt is readable by others (mode 0644): run chmod 600 key.txt\n"
