"""What faults cost an import: requests and time, fault matrix against a clean run.

    python benchmarks/import_faults.py                  # 3,000 rows, a minute lasts 1 s
    python benchmarks/import_faults.py --rows 10000 --scale 120

The same file goes twice into a fresh sandbox team, with echowin's rate limits on
(time-scaled: `--scale 60` makes a minute last a second): once without faults, once
with a fifth of all requests faulted (429, 500, 503, drop_before, drop_after,
timeout, latency). Both must end with every number exactly once. Printed: requests
sent, retries, faults met, seconds, and the seconds at echowin's real pace.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from bulk_sync.client import EchowinClient
from bulk_sync.config import ApiKey, ApiSettings, RateLimits, RetryPolicy
from bulk_sync.importer import ImportOptions, import_file
from bulk_sync.sandbox import FaultPlan, SandboxSettings, running_sandbox

MATRIX = {"429": 0.04, "500": 0.03, "503": 0.03, "drop_before": 0.03,
          "drop_after": 0.03, "timeout": 0.02, "latency": 0.02}  # fmt: skip


def run(rows: int, scale: float, faults: dict[str, float], work: Path) -> dict[str, float]:
    settings = SandboxSettings(
        rate_limits=True,
        time_scale=scale,
        faults=FaultPlan.from_mapping(faults, latency_ms=int(2000 / scale)),
        fault_seed=4,
        timeout_hold_s=60,
    )
    read_timeout = 30 / scale  # the client's 30 s, time-scaled
    with running_sandbox(settings) as server:
        team = httpx.post(f"{server.url}/_sandbox/teams", headers=server.admin_headers).json()
        client = EchowinClient(
            ApiSettings(server.url, ApiKey(team["apiKey"])),
            limits=RateLimits().scaled(scale),
            policy=RetryPolicy(  # the default policy, time-scaled like the limits
                max_attempts=8,
                max_total_s=300 / scale,
                backoff_initial_s=0.5 / scale,
                backoff_max_s=30 / scale,
                retry_after_floor_s=0.05 / scale,
                retry_after_cap_s=120 / scale,
            ),
            timeout=httpx.Timeout(5.0, read=read_timeout),
        )
        started = time.perf_counter()
        with client:
            result = import_file(
                ImportOptions(work / "leads.csv", work / "m.yaml",
                              report_dir=work / f"r-{len(faults)}",
                              state_dir=work / f"state-{len(faults)}"),
                client, env={},
            )  # fmt: skip
        seconds = time.perf_counter() - started
        server.sandbox.faults.configure(FaultPlan())
        _, injected = server.sandbox.stats.snapshot()
        numbers: Counter[str] = Counter()
        headers = {"X-API-Key": team["apiKey"]}
        page = 1
        while True:
            data = httpx.get(
                f"{server.url}/api/v1/contacts", params={"page": page, "limit": 100},
                headers=headers,
            ).json()["data"]  # fmt: skip
            numbers.update(c["number"] for c in data)
            if len(data) < 100:
                break
            page += 1
    exact = len(numbers) == rows and set(numbers.values()) == {1}
    return {
        "created": result.counts["created"],
        "exactly_once": exact,
        "requests": client.stats.requests,
        "retries": client.stats.retries,
        "faults": sum(int(str(f["count"])) for f in injected),
        "seconds": seconds,
        "real_s": seconds * scale,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--scale", type=float, default=60.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with (work / "leads.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["Name", "Phone", "Email"])
            for i in range(args.rows):
                writer.writerow([f"Lead {i}", f"+1{2125550000 + i}", f"lead{i}@example.com"])
        (work / "m.yaml").write_text("fields: {number: Phone, email: Email}\nname: Name\n")
        print(f"{args.rows} rows, rate limits on, a minute lasts {60 / args.scale:g} s")
        print("run            created  once  requests  retries  faults  seconds  at echowin's pace")
        clean = run(args.rows, args.scale, {}, work)
        faulty = run(args.rows, args.scale, MATRIX, work)
        for name, figures in (("no faults", clean), ("20% faulted", faulty)):
            once = "yes" if figures["exactly_once"] else "NO"
            print(
                f"{name:<14} {figures['created']:>7}  {once:>4}"
                f"  {figures['requests']:>8}  {figures['retries']:>7}  {figures['faults']:>6}"
                f"  {figures['seconds']:>7.1f}  {figures['real_s'] / 60:>6.1f} min"
            )
        print(
            f"cost of the faults: {faulty['requests'] / clean['requests']:.2f}x the requests,"
            f" {faulty['seconds'] / clean['seconds']:.2f}x the time"
        )


if __name__ == "__main__":
    main()
