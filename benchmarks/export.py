"""Export speed and memory: contacts/s and peak RSS, next to the sandbox's bare page rate.

    python benchmarks/export.py                    # 10k and 100k contacts, CSV and XLSX
    python benchmarks/export.py --sizes 20000 --rounds 1 --paced-scale 10

Each size: a sandbox without rate limits in its own process (as echowin would be),
filled with that many contacts; then, in the same run, `--rounds` times: (1) a plain
httpx loop reading every page (the floor: nothing but the requests), (2)
`export_contacts` to CSV, (3) the loop again, (4) to XLSX; each export in a child
process so that its peak RSS is its own, and compared with the loop run just before
it (the machine's load changes from minute to minute; the medians are printed). Goal:
at least 0.8 of the bare rate, and RSS flat from 10k to 100k. The CPU seconds of the
client beside the loop's tell what the export costs on a machine with no core to spare.

Then, with echowin's limits on at `--paced-scale` (a minute is 60/scale seconds;
keep the scale low enough that the client is far from CPU-bound), an export of
`--paced-contacts`: the share of the GET ceiling it reaches (goal: at least 97%) and
the 429s it met (goal: 0). The limiter's windows are fixed and open at the first
request after the last one closed, so the fastest client sends 100 GETs at each
opening: G GETs then take at best (ceil(G/100) - 1) windows. The share is that best
time over the export's whole wall time (start to manifest); every GET the export sent
counts (schemas, counts, pages, any page read again), none is left out. Contacts per
echowin minute are printed beside the ceiling of 100 GETs x 100 contacts.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from import_dry_run import sandbox_process

from bulk_sync.client import EchowinClient
from bulk_sync.config import ApiKey, ApiSettings, RateLimits
from bulk_sync.exporter import ExportOptions, export_contacts
from bulk_sync.sandbox import SandboxSettings, running_sandbox

AREA_CODES = (212, 646, 718, 917, 347, 929, 332, 516, 914, 631)


def fill(url: str, key: str, start: int, stop: int) -> None:
    with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=60) as http:
        for first in range(start, stop, 100):
            contacts = [
                {"number": f"+1{AREA_CODES[i // 10_000 % 10]}555{i % 10_000:04d}",
                 "firstName": f"First{i}", "lastName": "Lee", "email": f"c{i}@example.com",
                 "tagNames": ["Imported"], "customFields": {"company": f"Co {i % 97}"}}
                for i in range(first, min(stop, first + 100))
            ]  # fmt: skip
            http.post("/api/v1/contacts/bulk", json={"contacts": contacts}).raise_for_status()


def bare_rate(url: str, key: str) -> tuple[float, float]:
    """Contacts a second for a plain loop over every page (the requests alone), and
    the CPU seconds this process spent on it."""
    started, cpu, count, page = time.perf_counter(), time.process_time(), 0, 1
    with httpx.Client(base_url=url, headers={"X-API-Key": key}) as http:
        while True:
            body = http.get("/api/v1/contacts", params={"page": page, "limit": 100,
                                                       "sortOrder": "asc"}).json()  # fmt: skip
            count += len(body["data"])
            if page >= body["pagination"]["totalPages"]:
                break
            page += 1
    return count / (time.perf_counter() - started), time.process_time() - cpu


def child(url: str, output: Path) -> dict[str, float]:
    with EchowinClient(ApiSettings(url, ApiKey("sandbox")), limits=None) as client:
        started, cpu = time.perf_counter(), time.process_time()
        result = export_contacts(ExportOptions(output), client)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert result.verified, result.reason
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"rows": result.rows, "seconds": seconds, "cpu_s": cpu, "rss_mb": rss_mb}


def export_in_child(url: str, output: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--child", url, str(output)],
                         capture_output=True, text=True, check=True)  # fmt: skip
    figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    output.unlink()
    return figures


def unlimited(sizes: list[int], rounds: int) -> None:
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("contacts  format  seconds  contacts/s  bare contacts/s  ratio (goal >= 0.8)"
          "  client CPU s (bare)  peak RSS")  # fmt: skip
    for size in sizes:
        with sandbox_process() as url, tempfile.TemporaryDirectory() as tmp:
            fill(url, "sandbox", 0, size)
            runs: dict[str, list[tuple[dict[str, float], float, float]]] = {"csv": [], "xlsx": []}
            for _ in range(rounds):
                for form in ("csv", "xlsx"):
                    bare, bare_cpu = bare_rate(url, "sandbox")
                    runs[form].append((export_in_child(url, Path(tmp) / f"out.{form}"), bare,
                                       bare_cpu))  # fmt: skip
            for form, results in runs.items():
                rates = [f["rows"] / f["seconds"] for f, _, _ in results]
                ratios = [rate / bare for rate, (_, bare, _) in zip(rates, results, strict=True)]
                bare = statistics.median(b for _, b, _ in results)
                cpu = statistics.median(f["cpu_s"] for f, _, _ in results)
                bare_cpu = statistics.median(c for _, _, c in results)
                rss = max(f["rss_mb"] for f, _, _ in results)
                each = " ".join(f"{r:.2f}" for r in ratios)
                print(f"{size:>8}  {form:<6} {size / statistics.median(rates):>8.1f}"
                      f" {statistics.median(rates):>11.0f} {bare:>16.0f}"
                      f" {statistics.median(ratios):>6.2f} ({each})"
                      f" {cpu:>10.2f} ({bare_cpu:.2f}) {rss:>9.0f} MB", flush=True)  # fmt: skip


def paced(contacts: int, scale: float) -> None:
    settings = SandboxSettings(rate_limits=True, time_scale=scale)
    with running_sandbox(settings) as server, tempfile.TemporaryDirectory() as tmp:
        limiter, server.sandbox.limiter = server.sandbox.limiter, None  # fill without limits
        fill(server.url, server.api_key, 0, contacts)
        server.sandbox.limiter = limiter
        limits = RateLimits().scaled(scale)
        with EchowinClient(ApiSettings(server.url, ApiKey(server.api_key)), limits=limits) as c:
            started = time.perf_counter()
            result = export_contacts(ExportOptions(Path(tmp) / "out.csv"), c)
            seconds = time.perf_counter() - started
            gets, limited = c.stats.requests, c.stats.rate_limited
    assert result.verified, result.reason
    windows = math.ceil(gets / limits.get) - 1  # the least the GETs can take, in windows
    share = windows * limits.window_s / seconds
    per_minute = result.rows / (seconds * scale / 60)  # contacts per echowin minute
    print(
        f"paced, time scale {scale:g} (a window of {limits.window_s:g} s): {result.rows}"
        f" contacts, {result.pages} pages, {gets} GETs in all, {seconds:.2f} s;"
        f" the least possible: {windows} windows = {windows * limits.window_s:.2f} s"
    )
    print(
        f"  share of the GET ceiling {share:.1%} (goal >= 97%), {limited} x 429 (goal 0);"
        f" {per_minute:,.0f} contacts per echowin minute of a ceiling of"
        f" {limits.get * 100:,} ({per_minute / (limits.get * 100):.1%})",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--paced-scale", type=float, default=10.0)
    parser.add_argument("--paced-contacts", type=int, default=60_000)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], Path(args.child[1]))))
        return
    unlimited(args.sizes, args.rounds)
    if args.paced_contacts:
        paced(args.paced_contacts, args.paced_scale)


if __name__ == "__main__":
    main()
