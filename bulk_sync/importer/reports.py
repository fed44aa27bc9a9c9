"""The import's reports: `results.csv`, `rejected.csv`, `summary.json`, written as rows resolve.

Both CSVs are UTF-8 with a byte-order mark (Excel then shows names right) and
comma-delimited, whatever the source was. They start with the rows the source had
above its header, so `rejected.csv`, once fixed, imports again with the same mapping.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .push import RowOutcome

STATUSES = ("created", "updated", "unchanged", "duplicate", "rejected", "skipped")
SUMMARY_COUNTS = {  # summary key -> status
    "created": "created",
    "updated": "updated",
    "unchanged": "unchanged",
    "duplicates": "duplicate",
    "rejected": "rejected",
    "skipped": "skipped",
}


def default_report_dir(now: dt.datetime | None = None) -> Path:
    """`./bulk-sync-reports/<UTC timestamp>-import/`, made unique if a run shares the second."""
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    base = Path("bulk-sync-reports") / f"{stamp}-import"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


class ReportWriter:
    """Writes one results line per data row, in row order, and the rejected rows apart."""

    def __init__(self, directory: Path, headers: list[str], preamble: list[list[str]]) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.counts = dict.fromkeys(STATUSES, 0)
        self._files = []
        writers = []
        for name, extra in (
            ("results.csv", ["_row", "_status", "_contact_id", "_error"]),
            ("rejected.csv", ["_row", "_error"]),
        ):
            handle = (directory / name).open("w", encoding="utf-8-sig", newline="")
            self._files.append(handle)
            writer = csv.writer(handle)
            writer.writerows(preamble)
            writer.writerow([*headers, *extra])
            writers.append(writer)
        self._results, self._rejected = writers

    def write(self, resolved: Iterable[tuple[int, list[str], RowOutcome]]) -> None:
        """Rows whose outcome is known, in row order."""
        results, rejected = [], []
        counts = self.counts
        for row, cells, outcome in resolved:
            counts[outcome.status] += 1
            results.append([*cells, row, outcome.status, outcome.contact_id, outcome.error])
            if outcome.status == "rejected":
                rejected.append([*cells, row, outcome.error])
        self._results.writerows(results)
        self._rejected.writerows(rejected)

    def close(self) -> None:
        for handle in self._files:
            handle.close()

    def summary_counts(self) -> dict[str, int]:
        counts = {key: self.counts[status] for key, status in SUMMARY_COUNTS.items()}
        return {"rows": sum(counts.values()), **counts}

    def write_summary(self, summary: dict[str, Any]) -> Path:
        path = self.directory / "summary.json"
        path.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return path
