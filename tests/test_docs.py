"""The README's commands are real: they parse, and CI runs the same test command."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bulk_sync.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SHELL_BLOCKS = re.findall(r"```sh\n(.*?)```", README, flags=re.S)
INVOCATIONS = sorted({
    part.split("#")[0].strip()
    for block in SHELL_BLOCKS
    for line in block.splitlines()
    for part in line.split("&&")
    if part.strip().startswith("bulk-sync ")
})  # fmt: skip


def test_quick_start_is_two_commands_install_and_import_then_pytest() -> None:
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = [b.strip() for b in re.findall(r"```sh\n(.*?)```", quick, flags=re.S)]
    assert (
        blocks[0]
        == "pip install . && bulk-sync import samples/leads.xlsx --mapping leads --sandbox"
    )
    assert blocks[-1] == "pytest"


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = [ln.strip() for ln in ci.splitlines() if ln.strip() and not ln.startswith("#")]
    assert commands[-1] == "pytest"


@pytest.mark.parametrize("command", INVOCATIONS)
def test_readme_invocations_parse(command: str) -> None:
    args = shlex.split(command)[1:]
    result = CliRunner().invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output


def test_readme_names_every_fault_kind() -> None:
    from bulk_sync.sandbox import FAULT_KINDS

    for kind in FAULT_KINDS:
        assert f"`{kind}`" in README


def test_readme_client_example_names_real_things() -> None:
    from bulk_sync.client import EchowinClient, models
    from bulk_sync.config import ApiSettings

    assert hasattr(EchowinClient, "bulk_create") and hasattr(EchowinClient, "iter_contacts")
    assert models.NewContact(number="+15551234567", first_name="Ann").number
    assert callable(ApiSettings.resolve)


def test_every_import_flag_the_readme_names_exists() -> None:
    import typer.main

    command = typer.main.get_command(app).commands["import"]  # type: ignore[attr-defined]
    flags = {opt for param in command.params for opt in param.opts}
    named = set(re.findall(r"`(--[a-z][a-z-]+)", README.split("## Exporting a backup")[0]))
    assert named and named <= flags, named - flags


def test_the_readme_mapping_reference_is_a_mapping_the_loader_takes() -> None:
    from bulk_sync.mapping import parse_mapping

    section = README.split("### The mapping file, key by key", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    mapping = parse_mapping(example)
    assert mapping.fields.number is not None and mapping.fields.number.region_column == "Country"
    assert mapping.board_ids is not None and mapping.note is not None
