"""Broken mapping files (tests/corpus/mappings/) through `bulk-sync validate --sandbox`.

Every case runs in one child process, so that its time and memory are measured away
from pytest: each must end with its expected exit code and one sentence, no
traceback, within `SECONDS` and with the child's peak RSS under `PEAK_RSS_MB` (the
alias bomb used to take 2.5 GB and 46 s; the catastrophic regex never finished).
The table of tests/README.md lists the same cases.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

CORPUS = Path(__file__).parent / "corpus" / "mappings"
SECONDS = 30.0  # per case; each takes well under a second
PEAK_RSS_MB = (
    1024  # the child runs every case (sandbox included): its peak so far, not one case alone
)
BIG_MB = 50  # generated, not committed

# file -> (exit code, what the one line must say)
EXPECTED: dict[str, tuple[int, str]] = {
    "alias-bomb.yaml": (2, "line 2: YAML aliases (*name) are not allowed in a mapping"),
    "python-object-tag.yaml": (2, "line 3: the YAML tag !!python/object/apply:os.system is not"),
    "custom-tag.yaml": (2, "line 2: the YAML tag !env is not allowed in a mapping"),
    "unknown-keys.yaml": (2, "line 4: fields.phone_type: unknown key; line 5: columns: unknown"),
    "wrong-types.yaml": (2, "line 4: source.header_row: Input should be a valid integer"),
    "missing-number.yaml": (2, "`fields.number` is missing"),
    "unclosed-regex.yaml": (2, "line 6: customFields.code.transform: regex '(\\\\d+' does not"),
    "backreference-regex.yaml": (2, "line 6: customFields.code.transform: regex '(a)\\\\1' uses a"),
    "lookbehind-regex.yaml": (2, "line 5: fields.firstName.transform: regex '(?<=x)a' uses a look"),
    "catastrophic-regex.yaml": (0, "a real run would create up to 1 contact in"),
    "a-list.yaml": (2, "line 1: a mapping is a YAML object with `fields:` in it"),
    "a-scalar.yaml": (2, "line 1: a mapping is a YAML object with `fields:` in it"),
    "empty.yaml": (2, "the mapping is empty: it needs at least `fields: {number: COLUMN}`"),
    "comments-only.yaml": (2, "the mapping is empty"),
    "duplicate-keys.yaml": (2, "line 4: 'number' is given twice in the same block; keep one"),
    "deep-nesting.yaml": (2, "line 1: the mapping nests deeper than 32 levels"),
    "api-key.yaml": (2, "line 1: api_key: unknown key (an API key never goes in a mapping"),
    "tab-indented.yaml": (2, "line 2: not valid YAML: found character '\\t' that cannot start"),
    "two-documents.yaml": (2, "line 2: not valid YAML: expected a single document in the stream"),
    "huge-number.yaml": (2, "line 3: this number is too long to read; quote it if it is text"),
    "nul-bytes.yaml": (2, "line 2: the mapping holds the control character U+0000"),
    "binary-junk.yaml": (2, "line 2: the mapping is not UTF-8 text (byte 129): save it as UTF-8"),
    "utf16.yaml": (2, "line 1: the mapping is not UTF-8 text (byte 1)"),
    f"{BIG_MB}mb.yaml": (2, "the mapping is over 1 MB, where a mapping is a few KB of YAML"),
}
NEVER_SHOWN = ["sk_live_CORPUS51gn4l", "echo pwned"]


def _child(workdir: str) -> None:
    """Run every case through the CLI in this process; print one JSON line per case."""
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))  # a runaway fails, alone
    from typer.testing import CliRunner

    from bulk_sync.cli import app

    big = Path(workdir) / f"{BIG_MB}mb.yaml"
    with big.open("w") as handle:  # a valid mapping, then 50 MB of comment
        handle.write("fields: {number: Phone}\n")
        for _ in range(BIG_MB):
            handle.write(("#" * 1023 + "\n") * 1024)
    os.chdir(workdir)
    for name in EXPECTED:
        path = big if name == big.name else CORPUS / name
        started = time.perf_counter()
        result = CliRunner().invoke(
            app,
            ["validate", str(CORPUS / "input.csv"), "--mapping", str(path), "--sandbox", "-q"],
            env={"ECHOWIN_API_KEY": "", "COLUMNS": "100000"},
        )
        seconds = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"name": name, "exit": result.exit_code, "output": result.output,
                          "seconds": seconds, "peak_mb": peak_mb}), flush=True)  # fmt: skip


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    workdir = tmp_path_factory.mktemp("corpus")
    root = Path(__file__).parents[1]
    code = f"from tests.test_mapping_corpus import _child; _child({str(workdir)!r})"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root, capture_output=True, text=True, timeout=SECONDS * len(EXPECTED),
        env={**os.environ, "PYTHONPATH": str(root)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    cases = [json.loads(line) for line in done.stdout.splitlines()]
    return {case["name"]: case for case in cases}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_a_broken_mapping_gets_one_sentence_in_bounded_time_and_memory(
    name: str, outcomes: dict[str, dict[str, object]]
) -> None:
    case = outcomes[name]
    code, message = EXPECTED[name]
    output = str(case["output"])
    assert case["exit"] == code, output
    assert message in output, output
    assert "Traceback" not in output
    if code == 2:
        assert output.startswith("error: ") and output.count("\n") == 1, output
    for secret in NEVER_SHOWN:
        assert secret not in output
    assert float(case["seconds"]) < SECONDS, case  # type: ignore[arg-type]
    assert float(case["peak_mb"]) < PEAK_RSS_MB, case  # type: ignore[arg-type]


def test_every_corpus_file_has_an_expected_outcome() -> None:
    files = {p.name for p in CORPUS.iterdir()} - {"input.csv"}
    assert files == set(EXPECTED) - {f"{BIG_MB}mb.yaml"}
