"""Export speed and memory: contacts/s and peak RSS, next to the sandbox's bare page rate.

    python benchmarks/export.py                    # 10k and 100k contacts, CSV and XLSX
    python benchmarks/export.py --sizes 20000 --paced-scale 60

Each size: a sandbox without rate limits in its own process (as echowin would be),
filled with that many contacts; then, in the same run, (1) a plain httpx loop reading
every page (the floor: nothing but the requests), (2) `export_contacts` to CSV and to
XLSX, each in a child process so that its peak RSS is its own. Goal: at least 0.8 of
the bare rate, and RSS flat from 10k to 100k.

Then, with echowin's limits on at a high time scale (`--paced-scale`), the share of
the GET ceiling an export reaches (goal: at least 97%) and the 429s it met (goal: 0).
"""

from __future__ import annotations

import argparse
import json
import resource
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


def bare_rate(url: str, key: str) -> float:
    """Contacts a second for a plain loop over every page: the requests alone."""
    started, count, page = time.perf_counter(), 0, 1
    with httpx.Client(base_url=url, headers={"X-API-Key": key}) as http:
        while True:
            body = http.get("/api/v1/contacts", params={"page": page, "limit": 100,
                                                       "sortOrder": "asc"}).json()  # fmt: skip
            count += len(body["data"])
            if page >= body["pagination"]["totalPages"]:
                break
            page += 1
    return count / (time.perf_counter() - started)


def child(url: str, output: Path) -> dict[str, float]:
    with EchowinClient(ApiSettings(url, ApiKey("sandbox")), limits=None) as client:
        started = time.perf_counter()
        result = export_contacts(ExportOptions(output), client)
        seconds = time.perf_counter() - started
    assert result.verified, result.reason
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"rows": result.rows, "seconds": seconds, "rss_mb": rss_mb}


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
            limited = c.stats.rate_limited
    ceiling = limits.get / limits.window_s  # pages a second
    share = result.pages / seconds / ceiling
    print(f"paced (time scale {scale:g}): {result.rows} contacts, {result.pages} pages in "
          f"{seconds:.2f} s = {share:.1%} of the GET ceiling, {limited} x 429")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--paced-scale", type=float, default=60.0)
    parser.add_argument("--paced-contacts", type=int, default=20_000)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], Path(args.child[1]))))
        return
    print("contacts  format   seconds  contacts/s  bare pages (contacts/s)  ratio  peak RSS")
    for size in args.sizes:
        with sandbox_process() as url, tempfile.TemporaryDirectory() as tmp:
            fill(url, "sandbox", 0, size)
            bare = bare_rate(url, "sandbox")
            for form in ("csv", "xlsx"):
                out = subprocess.run(
                    [sys.executable, __file__, "--child", url, str(Path(tmp) / f"out.{form}")],
                    capture_output=True, text=True, check=True,
                )  # fmt: skip
                figures = json.loads(out.stdout.strip().splitlines()[-1])
                rate = figures["rows"] / figures["seconds"]
                print(f"{size:>8}  {form:<6} {figures['seconds']:>8.1f} {rate:>11.0f}"
                      f" {bare:>24.0f} {rate / bare:>6.2f} {figures['rss_mb']:>6.0f} MB",
                      flush=True)  # fmt: skip
    paced(args.paced_contacts, args.paced_scale)


if __name__ == "__main__":
    main()
