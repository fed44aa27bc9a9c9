"""The import's reports: `results.csv`, `rejected.csv`, `summary.json`, written as rows resolve.

Both CSVs are UTF-8 with a byte-order mark (Excel then shows names right) and
comma-delimited, whatever the source was. They start with the rows the source had
above its header, so `rejected.csv`, once fixed, imports again with the same mapping.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import errno
import io
import json
import os
import re
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..files import PARTIAL, write_atomically
from .html_report import Reasons, render
from .outcomes import STATUSES, RowOutcome

REPORT_COLUMNS = ("_row", "_status", "_contact_id", "_error")  # what a results line adds
SUMMARY_COUNTS = {  # summary key -> status
    "created": "created",
    "updated": "updated",
    "unchanged": "unchanged",
    "duplicates": "duplicate",
    "rejected": "rejected",
    "skipped": "skipped",
}


REPORTS_HOME = Path("bulk-sync-reports")
_REPORT_NAME = re.compile(r"^\d{8}T\d{6}Z-(import|validate)(-\d+)?$")


def default_report_dir(now: dt.datetime | None = None, *, kind: str = "import") -> Path:
    """`./bulk-sync-reports/<UTC timestamp>-import/` (`-validate/` for a dry run), made
    here: a run that shares the second (another process too) gets `-2`, `-3`..., never
    another run's folder."""
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    base = REPORTS_HOME / f"{stamp}-{kind}"
    path, n = base, 1
    try:
        base.parent.mkdir(parents=True, exist_ok=True)
        while True:
            try:
                path.mkdir()
                return path
            except FileExistsError:
                n += 1
                path = base.with_name(f"{base.name}-{n}")
    except OSError as exc:
        raise _unwritable(path, exc) from None


def check_report_dir(directory: Path, job_id: str | None) -> None:
    """Refuse (ConfigError, exit 2, before anything is sent) to write over the reports
    of an import that created contacts, unless this run goes on with that import's own
    job (`job_id`, a resume after exit 3): they are the only record `undo` has of what
    it created. A validate's reports, or an import's that created nothing, may go."""
    try:
        earlier = json.loads((directory / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if not isinstance(earlier, dict) or earlier.get("dry_run"):
        return
    created = int(earlier.get("created") or 0)
    if not created:
        return
    same = job_id is not None and earlier.get("job_id") in (job_id, None)  # None: older reports
    if same:
        return
    raise ConfigError(
        f"{directory} holds the reports of another import, which created {created} contacts "
        "(the record undo needs): give a new folder, or put {datetime} in it, as in "
        "--report-dir 'reports/{datetime}', for a folder of its own each run"
    )


def _unwritable(directory: Path, exc: OSError) -> ConfigError:
    why = exc.strerror or str(exc)
    if directory.is_file() or exc.errno == errno.ENOTDIR:
        why = "a file is in the way"
    return ConfigError(
        f"cannot write reports in {directory} ({why}); give a folder you can write with "
        "--report-dir"
    )


def prune_reports(keep: int, home: Path = REPORTS_HOME, *, spare: Path | None = None) -> list[Path]:
    """Delete all but the `keep` newest report folders bulk-sync made in `home`: those
    named as `default_report_dir` names them and holding a summary.json; never `spare`
    (this run's), never anything else. Returns the folders deleted."""
    if keep < 1 or not home.is_dir():
        return []
    ours = sorted(
        (p for p in home.iterdir() if p.is_dir() and _REPORT_NAME.match(p.name)
         and (p / "summary.json").is_file() and p != spare),
        key=lambda p: p.name,
    )  # fmt: skip
    doomed = ours[: max(0, len(ours) - (keep - (spare is not None)))]
    for folder in doomed:
        shutil.rmtree(folder, ignore_errors=True)
    return doomed


def row_lines(rows: list[list[str]], numbers: list[int]) -> list[str]:
    """Each row's cells and row number as the start of its results line (CSV, no line end).

    Done where the chunk is prepared (a worker, for large files), so the main
    process only appends each row's outcome.
    """
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)  # its line end decides which cells get quoted: keep it
    ends = []
    for cells, number in zip(rows, numbers, strict=True):
        writer.writerow([*cells, number])
        ends.append(buffer.tell())
    text = buffer.getvalue()
    return [text[start : end - 2] for start, end in zip([0, *ends], ends, strict=False)]


def csv_field(text: str) -> str:
    """`text` as one CSV field, quoted as the csv module quotes it (QUOTE_MINIMAL)."""
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


class ReportWriter:
    """Writes one results line per data row, in row order, and the rejected rows apart.

    Both files are written as `NAME.partial` and renamed when the run has finished,
    so a `results.csv` is always complete; a run that stops early leaves its
    `.partial` files, and a `summary.json` saying `finished: false`.

    Any write that fails (a full disk) marks the reports broken: they then keep their
    `.partial` names whatever `close` is told.
    """

    def __init__(self, directory: Path, headers: list[str], preamble: list[list[str]]) -> None:
        self.directory = directory
        self.counts = dict.fromkeys(STATUSES, 0)
        self._files: list[io.TextIOWrapper] = []
        self._broken = False
        try:
            directory.mkdir(parents=True, exist_ok=True)
            for name, extra in (
                ("results.csv", list(REPORT_COLUMNS)),
                ("rejected.csv", ["_row", "_error"]),
            ):
                handle = (directory / (name + PARTIAL)).open("w", encoding="utf-8", newline="")
                self._files.append(handle)
                handle.write("\ufeff")  # the BOM; "utf-8-sig" would encode each write in Python
                writer = csv.writer(handle)
                writer.writerows(preamble)
                writer.writerow([*headers, *extra])
        except OSError as exc:  # nothing has been sent yet
            for handle in self._files:
                handle.close()
                Path(handle.name).unlink(missing_ok=True)
            raise _unwritable(directory, exc) from None
        self._results, self._rejected = self._files
        self.reasons = Reasons()  # for summary.html

    def write(self, resolved: Iterable[tuple[int, str, RowOutcome]]) -> None:
        """Rows whose outcome is known, in row order, each with its `row_lines` line."""
        results, rejected = [], []
        counts = self.counts
        for row, line, outcome in resolved:
            counts[outcome.status] += 1
            error = csv_field(outcome.error)
            results.append(f"{line},{outcome.status},{outcome.contact_id},{error}\r\n")
            if outcome.status == "rejected":
                rejected.append(f"{line},{error}\r\n")
                self.reasons.add(row, outcome.error)
        handle = self._results
        try:
            self._results.write("".join(results))
            handle = self._rejected
            self._rejected.write("".join(rejected))
        except OSError as exc:  # a full disk: said with the file's name
            self._broken = True
            raise OSError(exc.errno, exc.strerror or str(exc), handle.name) from exc
        except BaseException:
            self._broken = True
            raise

    def close(self, *, finished: bool) -> None:
        """Close both files; only a finished run's files take their final names, and only
        when every line reached the disk: else OSError, the files left `.partial` (a run
        that failed already is not failed again: its files simply stay `.partial`)."""
        failed: OSError | None = None
        for handle in self._files:
            try:
                handle.flush()
                os.fsync(handle.fileno())
            except OSError as exc:
                failed = failed or exc
            finally:
                with contextlib.suppress(OSError):  # what flush could not write is lost
                    handle.close()
        if failed is not None:
            self._broken = True
            if finished:
                raise failed
        if finished and not self._broken:
            for handle in self._files:
                partial = Path(handle.name)
                os.replace(partial, partial.with_name(partial.name.removesuffix(PARTIAL)))

    def summary_counts(self) -> dict[str, int]:
        """The contract's counts (`rows` is their sum); `unconfirmed` rows, which echowin
        counted created but no contact could be matched to, are among the created."""
        counts = {key: self.counts[status] for key, status in SUMMARY_COUNTS.items()}
        counts["created"] += self.counts["unconfirmed"]
        return {"rows": sum(counts.values()), **counts, "unconfirmed": self.counts["unconfirmed"]}

    def write_summary(self, summary: dict[str, Any]) -> Path:
        """`summary.json`, and `summary.html` for a person (see html_report)."""
        path = self.directory / "summary.json"
        write_atomically(path, json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
        files = [
            name if (self.directory / name).exists() else name + PARTIAL
            for name in ("results.csv", "rejected.csv")
        ]
        page = render(summary, self.reasons, [*files, "summary.json"])
        write_atomically(self.directory / "summary.html", page)
        return path
