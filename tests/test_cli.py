"""The command line: help with examples everywhere, and `sandbox serve` for real."""

from __future__ import annotations

import os
import re
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
