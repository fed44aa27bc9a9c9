"""The sandbox's own ceiling, with rate limits off.

Starts `bulk-sync sandbox serve --rate-limits off` in its own process (so client and
server do not share a GIL), then measures:

  1. bulk requests/s and contacts/s, 100-contact batches, one client;
  2. the same from 4 concurrent client processes;
  3. list pages/s (limit 100) over the contacts written in 1.

Usage:  python benchmarks/sandbox_ceiling.py [--requests 300] [--db FILE]
Prints the figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ADMIN = "bench-admin"


def start_server(db: Path | None) -> tuple[subprocess.Popen[str], str]:
    args = [sys.executable, "-m", "bulk_sync", "sandbox", "serve", "--port", "0",
            "--rate-limits", "off", "--admin-token", ADMIN]  # fmt: skip
    if db:
        args += ["--db", str(db)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    match = re.search(r"http://[\d.]+:\d+", proc.stdout.readline())
    if not match:
        proc.kill()
        raise SystemExit(
            "the sandbox did not start: " + (proc.stderr.read() if proc.stderr else "")
        )
    return proc, match.group(0)


def new_key(url: str) -> str:
    response = httpx.post(f"{url}/_sandbox/teams", headers={"X-Sandbox-Admin": ADMIN})
    response.raise_for_status()
    return str(response.json()["apiKey"])


def payloads(count: int, prefix: int) -> list[bytes]:
    """Prepared request bodies: 100 contacts each, unique numbers, a tag, a custom field."""
    return [
        json.dumps({"contacts": [
            {"firstName": f"F{b}", "lastName": f"L{i}", "email": f"u{prefix}.{b}.{i}@example.com",
             "number": f"+1{prefix:02d}{b:04d}{i:04d}", "tagNames": ["Bench"],
             "customFields": {"company": "Acme"}}
            for i in range(100)
        ]}).encode()
        for b in range(count)
    ]  # fmt: skip


def send_all(url: str, key: str, bodies: list[bytes]) -> float:
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
        http.get("/api/v1/tags")  # open the connection before the clock starts
        started = time.perf_counter()
        for body in bodies:
            response = http.post("/api/v1/contacts/bulk", content=body)
            if response.json()["summary"]["created"] != 100:
                raise SystemExit(f"bulk request did not create 100: {response.text}")
        return time.perf_counter() - started


def _worker(url: str, key: str, count: int, prefix: int, start: mp.Barrier, out: mp.Queue) -> None:  # type: ignore[type-arg]
    bodies = payloads(count, prefix)
    start.wait()
    out.put(send_all(url, key, bodies))


def concurrent(url: str, key: str, clients: int, count: int) -> float:
    ctx = mp.get_context("spawn")
    start, out = ctx.Barrier(clients + 1), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(url, key, count, 10 + c, start, out))
             for c in range(clients)]  # fmt: skip
    for p in procs:
        p.start()
    start.wait()
    began = time.perf_counter()
    for _ in procs:
        out.get()
    wall = time.perf_counter() - began
    for p in procs:
        p.join()
    return wall


def list_pages(url: str, key: str, pages: int) -> float:
    with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=30) as http:
        http.get("/api/v1/tags")
        started = time.perf_counter()
        for page in range(1, pages + 1):
            response = http.get("/api/v1/contacts", params={"page": page, "limit": 100})
            if len(response.json()["data"]) != 100:
                raise SystemExit(f"page {page} was not full")
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="bulk requests per phase")
    parser.add_argument("--db", type=Path, help="SQLite file (default: a temporary file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_server(args.db or Path(tmp) / "bench.db")
        try:
            n = args.requests
            one_key = new_key(url)
            t1 = send_all(url, one_key, payloads(n, 1))
            t4 = concurrent(url, new_key(url), 4, n // 4)
            pages = n  # the contacts written in phase 1, 100 a page
            tl = list_pages(url, one_key, pages)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"sandbox ceiling, rate limits off, SQLite file, {n} requests a phase")
    print(f"  bulk, 1 client:   {n / t1:8.1f} requests/s  {100 * n / t1:9.0f} contacts/s")
    q = 4 * (n // 4)
    print(f"  bulk, 4 clients:  {q / t4:8.1f} requests/s  {100 * q / t4:9.0f} contacts/s")
    print(f"  list, 1 client:   {pages / tl:8.1f} pages/s     {100 * pages / tl:9.0f} contacts/s")


if __name__ == "__main__":
    main()
