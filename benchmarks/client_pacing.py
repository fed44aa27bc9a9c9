"""How close the client runs to echowin's ceilings, and what it costs over bare httpx.

Starts the sandbox in its own process and prints:

  1. limits on, time scale 60: 30 bulk requests back to back -> share of the bulk
     ceiling reached in steady state, and 429s met;
  2. limits on, time scale 60: paging 20,000 contacts -> share of the GET ceiling;
  3. limits off: the client's bulk_create against a bare httpx loop posting the same
     prepared payloads -> the client's overhead.

Steady-state share: the first window's burst is free, so the share is the time the
later windows should take ((windows - 1) x window) over the time they did take.
Usage:  python benchmarks/client_pacing.py
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from bulk_sync.client import EchowinClient
from bulk_sync.client import models as m
from bulk_sync.config import ApiKey, ApiSettings, RateLimits

ADMIN = "bench-admin"
SCALE = 60.0


@contextmanager
def sandbox(*flags: str) -> Iterator[str]:
    args = [
        sys.executable,
        "-m",
        "bulk_sync",
        "sandbox",
        "serve",
        "--port",
        "0",
        "--admin-token",
        ADMIN,
        *flags,
    ]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    match = re.search(r"http://[\d.]+:\d+", proc.stdout.readline())
    try:
        if not match:
            raise SystemExit("the sandbox did not start")
        yield match.group(0)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def new_key(url: str) -> str:
    response = httpx.post(f"{url}/_sandbox/teams", headers={"X-Sandbox-Admin": ADMIN})
    return str(response.json()["apiKey"])


class TimedTransport(httpx.HTTPTransport):
    """Notes when each request leaves."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[float] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(time.perf_counter())
        return super().handle_request(request)


def batches(count: int, prefix: int) -> list[list[m.NewContact]]:
    return [
        [
            m.NewContact(
                number=f"+1{prefix:02d}{b:04d}{i:04d}",
                first_name=f"F{i}",
                last_name=f"L{b}",
                email=f"u{b}.{i}@example.com",
                tag_names=["Bench"],
            )
            for i in range(100)
        ]
        for b in range(count)
    ]


def steady_share(sent: list[float], per_window: int, window_s: float) -> float:
    windows = len(sent) // per_window
    took = sent[(windows - 1) * per_window] - sent[0]
    return (windows - 1) * window_s / took


def overhead(url: str, bodies: list[list[m.NewContact]], rounds: int) -> tuple[float, float]:
    """Median seconds for the same bulk requests, bare httpx vs the client, interleaved.

    Interleaving (each round a fresh team for each) keeps the server's growing database
    from favouring whichever runs first.
    """
    prepared = [json.dumps({"contacts": [c.body() for c in b]}).encode() for b in bodies]
    bare_runs, client_runs = [], []
    for _ in range(rounds):
        headers = {"X-API-Key": new_key(url), "Content-Type": "application/json"}
        with httpx.Client(base_url=url, headers=headers) as bare:
            bare.get("/api/v1/tags")
            started = time.perf_counter()
            for body in prepared:
                bare.post("/api/v1/contacts/bulk", content=body).raise_for_status()
            bare_runs.append(time.perf_counter() - started)
        with EchowinClient(ApiSettings(url, ApiKey(new_key(url))), limits=None) as client:
            client.tags()
            started = time.perf_counter()
            for batch in bodies:
                client.bulk_create(batch)
            client_runs.append(time.perf_counter() - started)
    return statistics.median(bare_runs), statistics.median(client_runs)


def main() -> None:
    limits = RateLimits().scaled(SCALE)
    with sandbox("--time-scale", str(SCALE)) as url:
        key = new_key(url)
        timed = TimedTransport()
        with EchowinClient(ApiSettings(url, ApiKey(key)), limits=limits, transport=timed) as c:
            c.tags()  # settle the connection; not a bulk request
            timed.sent.clear()
            for batch in batches(30, 1):
                c.bulk_create(batch)
            bulk_share = steady_share(timed.sent, limits.bulk, limits.window_s)
            bulk_429 = c.stats.rate_limited
        key2 = new_key(url)
        seed = EchowinClient(ApiSettings(url, ApiKey(key2)), limits=limits)
        with seed:
            for batch in batches(200, 2):
                seed.bulk_create(batch)
        timed = TimedTransport()
        with EchowinClient(ApiSettings(url, ApiKey(key2)), limits=limits, transport=timed) as c:
            started = time.perf_counter()
            count = sum(1 for _ in c.iter_contacts())
            paging_s = time.perf_counter() - started
            get_share = steady_share(timed.sent, limits.get, limits.window_s)
            get_429 = c.stats.rate_limited
    with sandbox("--rate-limits", "off") as url:
        bare_s, client_s = overhead(url, batches(50, 3), rounds=5)
    print(f"client pacing, sandbox at time scale {SCALE:g} (windows of {limits.window_s:g} s)")
    print(
        f"  bulk: 30 requests, steady-state share of the ceiling {bulk_share:6.1%}, "
        f"429s met: {bulk_429}"
    )
    print(
        f"  GET:  {count} contacts in {paging_s:.2f} s, steady-state share of the ceiling "
        f"{get_share:6.1%}, 429s met: {get_429}"
    )
    print(
        f"  limits off, 50 bulk requests, median of 5 interleaved rounds: bare httpx"
        f" {bare_s:.3f} s, client {client_s:.3f} s, overhead {client_s / bare_s - 1:+.1%}"
    )


if __name__ == "__main__":
    main()
