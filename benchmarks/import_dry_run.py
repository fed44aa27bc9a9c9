"""A dry run (`bulk-sync validate`) of large generated messy files: rows/s and peak RSS.

    python benchmarks/import_dry_run.py                 # CSV and XLSX, 100k and 1M rows
    python benchmarks/import_dry_run.py --rows 100000 --formats csv

Files come from `samples/generate.py` (`messy_rows`: a dozen phone shapes, foreign and
damaged numbers, duplicates, blank rows, custom fields, tags) and are cached in
`.bulk-sync/bench/`. Each case runs in its own process, against a sandbox without
rate limits serving from another process (as echowin would), so its peak RSS is its
own. Beside each figure: phonenumbers
alone (parse, is_valid_number, format E.164, one process) on the Phone column of the
same file, which is the floor the pipeline is compared with (`speed / floor`), and the
CPU seconds the run took in its main process (reading, sending; its imports too) and
in its workers (preparing rows): on a busy machine these move less than wall-clock
figures. The floor is measured just before and just after each run and their mean
taken: on a shared machine it swings by a third within a minute. With `--rounds N`
each case runs N times and the median ratio is printed last.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "samples"))
CACHE = ROOT / ".bulk-sync" / "bench"


def source_file(rows: int, fmt: str) -> Path:
    from generate import messy_rows, write_csv, write_xlsx  # type: ignore[import-not-found]

    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"messy-{rows}.{fmt}"
    if not path.exists():
        started = time.perf_counter()
        partial = path.with_name(f"partial-{path.name}")  # a killed run leaves no half file
        (write_csv if fmt == "csv" else write_xlsx)(partial, messy_rows(rows, seed=rows))
        partial.rename(path)
        print(f"  (generated {path.name} in {time.perf_counter() - started:.0f} s)", flush=True)
    return path


def run_case(path: Path, api_url: str) -> dict[str, float]:
    """In a child process: one dry run of `path`; prints its figures as JSON.

    The sandbox serves from another process, as echowin would: this one then has no
    thread but its own, and forks its workers (see importer.prepare.Workers).
    """
    from bulk_sync.client import EchowinClient
    from bulk_sync.config import ApiKey, ApiSettings
    from bulk_sync.importer import ImportOptions, import_file

    settings = ApiSettings(api_url, ApiKey("sandbox"))
    with EchowinClient(settings, limits=None) as client:
        started = time.perf_counter()
        result = import_file(
            ImportOptions(path, ROOT / "mappings" / "leads.yaml", dry_run=True,
                          report_dir=CACHE / "reports" / path.stem),
            client, env={},
        )  # fmt: skip
        seconds = time.perf_counter() - started
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    main, workers = (
        sum(getattr(resource.getrusage(who), f) for f in ("ru_utime", "ru_stime"))
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return {"rows": result.counts["rows"], "seconds": seconds, "rss_mb": rss_mb,
            "cpu_main_s": main, "cpu_workers_s": workers}  # fmt: skip


@contextmanager
def sandbox_process() -> Iterator[str]:
    """`bulk-sync sandbox serve` on a free port, rate limits off; yields its URL."""
    with tempfile.TemporaryDirectory() as tmp:
        server = subprocess.Popen(
            [sys.executable, "-m", "bulk_sync", "sandbox", "serve", "--port", "0",
             "--rate-limits", "off", "--db", str(Path(tmp) / "bench.db")],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        try:
            assert server.stdout is not None
            found = re.search(r"http://127\.0\.0\.1:\d+", server.stdout.readline())
            if found is None:
                raise RuntimeError("the sandbox did not start")
            yield found.group(0)
        finally:
            server.send_signal(signal.SIGINT)
            server.communicate(timeout=30)


def phonenumbers_floor(path: Path, limit: int = 200_000) -> float:
    """µs per number for phonenumbers alone, one process, on the file's Phone cells."""
    import phonenumbers

    from bulk_sync.sources import open_source

    numbers: list[str] = []
    source = open_source(path, sheet="Leads" if path.suffix == ".xlsx" else None)
    column = source.headers.index("Phone")
    for chunk in source.chunks():
        numbers += [row[column] or row[column + 1] for row in chunk.rows]
        if len(numbers) >= limit:
            break
    numbers = [n for n in numbers if n][:limit]
    started = time.perf_counter()
    for raw in numbers:
        try:
            parsed = phonenumbers.parse(raw, "US")
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return (time.perf_counter() - started) / len(numbers) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="*", default=None)
    parser.add_argument("--formats", nargs="*", default=None)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--api-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_case(args.child, args.api_url)))
        return
    cases = [(100_000, "csv"), (1_000_000, "csv"), (100_000, "xlsx"), (1_000_000, "xlsx")]
    if args.rows or args.formats:
        cases = [(n, f) for n in (args.rows or [100_000]) for f in (args.formats or ["csv"])]
    print(
        "case                   rows   seconds   rows/s   peak RSS   CPU s: main + workers"
        "   phonenumbers alone (before/after)        speed / floor"
    )
    for rows, fmt in cases:
        path = source_file(rows, fmt)
        ratios = []
        for _ in range(args.rounds):
            before = phonenumbers_floor(path)
            with sandbox_process() as api_url:
                child = subprocess.run(
                    [sys.executable, __file__, "--child", str(path), "--api-url", api_url],
                    capture_output=True, text=True, check=True,
                )  # fmt: skip
            after = phonenumbers_floor(path)
            figures = json.loads(child.stdout.strip().splitlines()[-1])
            floor_us = (before + after) / 2
            rate = figures["rows"] / figures["seconds"]
            ratios.append(rate * floor_us / 1e6)
            print(
                f"{path.name:<20} {figures['rows']:>8} {figures['seconds']:>8.1f} {rate:>8.0f}"
                f" {figures['rss_mb']:>7.0f} MB {figures['cpu_main_s']:>7.1f} +"
                f" {figures['cpu_workers_s']:>5.1f}       "
                f"   {before:.1f}/{after:.1f} µs/number = {1e6 / floor_us:.0f}/s"
                f"   {ratios[-1]:.2f}x",
                flush=True,
            )
        if args.rounds > 1:
            print(f"{path.name:<20} median of {args.rounds}: {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
