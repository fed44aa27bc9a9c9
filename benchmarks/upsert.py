"""What a nightly upsert costs: requests of each class and time, against a plan by hand.

    python benchmarks/upsert.py                      # team of 50,000, a minute lasts 0.1 s
    python benchmarks/upsert.py --team 20000 --scale 300

Night 1: a file of 5,000 rows goes into a team of 50,000 contacts with `--mode
upsert`: 4,900 of its numbers are in the team, 490 of those with a changed name,
and 100 are new. The cheapest plan by hand reads the team once (one GET a page of
100), sends one PUT per changed row and one bulk for the new rows; the figure next
to it is ours, per class and in all (goal: at most 1.1x).

Night 2: others made 300 contacts meanwhile; the same file has grown by 50 rows and
1% of its rows were edited. Goal: a few pages of reads, plus one write per changed or
new row, not the whole team again.

echowin's rate limits are on, time-scaled (`--scale 600`: a minute lasts 0.1 s), so
the seconds measured here are mostly the in-process sandbox's and the client's own
work; "at echowin's pace" is what these requests take under echowin's real limits
(per class, one after the other: reads, then writes). Both nights end with every
number exactly once, checked.
"""

from __future__ import annotations

import argparse
import csv
import math
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from bulk_sync.client import EchowinClient
from bulk_sync.config import ApiKey, ApiSettings, RateLimits
from bulk_sync.importer import ImportOptions, import_file
from bulk_sync.sandbox import SandboxSettings, running_sandbox
from bulk_sync.sandbox.models import ContactInput

MAPPING = "fields: {number: Phone, firstName: First, lastName: Last}\n"


AREA_CODES = (212, 646, 718, 917, 347, 929, 332, 516, 914, 631)  # 10,000 numbers each


def number(i: int) -> str:
    return f"+1{AREA_CODES[i // 10_000]}555{i % 10_000:04d}"


def write_file(path: Path, rows: list[tuple[str, str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Phone", "First", "Last"])
        writer.writerows(rows)


def classes(requests: list[dict[str, object]]) -> Counter[str]:
    """The sandbox's counts of answered requests, by echowin's rate class."""
    counts: Counter[str] = Counter()
    for r in requests:
        method, route = str(r["method"]), str(r["route"])
        if not route.startswith("/api/"):
            continue
        kind = "bulk" if route.endswith("/bulk") else ("get" if method == "GET" else "write")
        counts[kind] += int(str(r["count"]))
    return counts


LIMITS = RateLimits()


def pace_min(used: Counter[str] | dict[str, int]) -> float:
    """Minutes these requests take at echowin's limits, class after class."""
    per_min = {"get": LIMITS.get, "write": LIMITS.write, "bulk": LIMITS.bulk}
    return sum(n / per_min[k] for k, n in used.items())


def night(server: object, api_key: str, scale: float, work: Path, name: str) -> dict[str, object]:
    sandbox = server.sandbox  # type: ignore[attr-defined]
    before, _ = sandbox.stats.snapshot()
    client = EchowinClient(
        ApiSettings(server.url, ApiKey(api_key)),  # type: ignore[attr-defined]
        limits=RateLimits().scaled(scale),
        timeout=httpx.Timeout(5.0, read=30 / scale),
    )
    started = time.perf_counter()
    with client:
        options = ImportOptions(work / f"{name}.csv", work / "m.yaml", mode="upsert",
                                report_dir=work / name, state_dir=work / "state")  # fmt: skip
        result = import_file(options, client, env={})
    seconds = time.perf_counter() - started
    after, _ = sandbox.stats.snapshot()
    used = classes(after) - classes(before)
    return {"result": result, "seconds": seconds, "classes": used}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--team", type=int, default=50_000, help="contacts in the team")
    parser.add_argument("--rows", type=int, default=5_000, help="rows in the file")
    parser.add_argument("--scale", type=float, default=600.0, help="time scale of the limits")
    args = parser.parse_args()
    team_size, rows, scale = args.team, args.rows, args.scale
    new, changed = rows // 50, rows * 49 // 500  # 100 new, 490 changed at 5,000 rows
    settings = SandboxSettings(rate_limits=True, time_scale=scale)
    with tempfile.TemporaryDirectory() as tmp, running_sandbox(settings) as server:
        work = Path(tmp)
        (work / "m.yaml").write_text(MAPPING)
        made = httpx.post(f"{server.url}/_sandbox/teams", headers=server.admin_headers).json()
        store = server.sandbox.store
        for start in range(0, team_size, 1000):  # straight into the store: not counted
            store.contacts.bulk_create(made["teamId"], [
                ContactInput(number=number(i), first_name=f"First{i}", last_name="Lee")
                for i in range(start, min(team_size, start + 1000))])  # fmt: skip
        existing = rows - new
        file_rows = [
            (number(i), f"Changed{i}" if i < changed else f"First{i}", "Lee")
            for i in range(existing)
        ] + [(number(team_size + i), f"New{i}", "Lee") for i in range(new)]
        write_file(work / "night1.csv", file_rows)
        first = night(server, made["apiKey"], scale, work, "night1")

        # night 2: others made 300 contacts; the file grew by 50 rows, 1% edited
        store.contacts.bulk_create(made["teamId"], [
            ContactInput(number=number(team_size + 10_000 + i)) for i in range(300)])  # fmt: skip
        edited = rows // 100
        grown = [
            (p, f"Edited{i}", last) if i % (len(file_rows) // edited) == 0 else (p, f, last)
            for i, (p, f, last) in enumerate(file_rows)
        ] + [(number(team_size + 20_000 + i), f"Late{i}", "Lee") for i in range(50)]
        changed2 = sum(1 for a, b in zip(file_rows, grown, strict=False) if a != b)
        write_file(work / "night2.csv", grown)
        second = night(server, made["apiKey"], scale, work, "night2")

        contacts = store.contacts.page(made["teamId"], page=1, limit=1).total_count
        expected = team_size + new + 300 + 50
        assert contacts == expected, f"{contacts} contacts, expected {expected}"

    pages = math.ceil(team_size / 100)
    by_hand = {"get": pages, "write": changed, "bulk": math.ceil(new / 100)}
    ours = first["classes"]
    print(f"night 1: {rows:,} rows into a team of {team_size:,} ({changed} changed, {new} new)")
    for kind in ("get", "write", "bulk"):
        print(f"  {kind:5} {ours[kind]:6,}   by hand {by_hand[kind]:6,}")
    total, hand = sum(ours.values()), sum(by_hand.values())
    r1 = first["result"]
    print(f"  all   {total:6,}   by hand {hand:6,}   ratio {total / hand:.3f} (goal <= 1.1)")
    print(f"  counts {dict((k, v) for k, v in r1.counts.items() if v)}")  # type: ignore[attr-defined]
    print(
        f"  {first['seconds']:.1f} s here; at echowin's pace {pace_min(ours):.1f} min"
        f" (by hand {pace_min(by_hand):.1f} min)"
    )
    r2 = second["result"]
    ours2 = second["classes"]
    print(f"night 2: +300 made by others, +50 rows, {changed2} rows edited")
    print(
        f"  get {ours2['get']}, write {ours2['write']}, bulk {ours2['bulk']}"
        f"  (index pages read: {r2.summary['lookup']['pages_read']})"
    )  # type: ignore[attr-defined]
    print(f"  counts {dict((k, v) for k, v in r2.counts.items() if v)}")  # type: ignore[attr-defined]
    print(
        f"  {second['seconds']:.1f} s here; at echowin's pace {pace_min(ours2):.1f} min"
        f"  (reading the team whole again: {pages} GETs, {pages / LIMITS.get:.0f} min)"
    )


if __name__ == "__main__":
    main()
