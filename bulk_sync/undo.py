"""Undo an import: delete exactly the contacts it created, and nothing else.

The import's report says which: the rows of its `results.csv` (or, for a run that
stopped, `results.csv.partial`) whose status is `created`, each with its contact's id.
Rows it skipped, updated, left unchanged or rejected are never touched; `unconfirmed`
rows have no id and are listed, not deleted.

Deleting is paced at echowin's write limit (60 a minute) and resumable: each contact
deleted is written to `REPORT_DIR/undo/results.csv.partial` at once, so a stopped undo
goes on where it stopped; one already gone (404) counts as such. When every contact is
settled the report takes its final name, with a `summary.json` and a `summary.html`
(the import's page, html_report, with the undo's counts); an undo run again then
says so and sends nothing. The team's index in the state directory forgets the
contacts deleted, so the next import creates those rows again rather than finding them.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .client import EchowinClient
from .errors import ApiError, AuthRefused, FatalApiError, InputError, Interrupted, NotFound
from .files import PARTIAL, write_atomically
from .importer.api import contact_exists
from .importer.html_report import Reasons, render_undo
from .importer.reports import REPORT_COLUMNS
from .importer.team import INDEX_NAME, TeamIndex
from .state import command_line, resolve_state_dir, run_lock

UNDO_DIR = "undo"
_FIELDS = ["contact_id", "_row", "status", "error"]


@dataclass(frozen=True)
class UndoOptions:
    report_dir: Path
    state_dir: Path | None = None
    should_stop: Callable[[], bool] = field(default=lambda: False, compare=False)


@dataclass
class UndoPlan:
    """What an undo would do, before anything is sent."""

    report_dir: Path
    source: str  # the file the import read
    to_delete: list[tuple[str, str]]  # (contact id, spreadsheet row), not yet settled
    settled: int  # deleted (or found gone) by an earlier, stopped undo
    unconfirmed: int  # created by echowin's count, but no id to delete by
    import_finished: bool
    done_before: dict[str, Any] | None = None  # the summary of an undo that finished

    @property
    def minutes(self) -> float:
        """At echowin's write limit: 60 deletes a minute."""
        return len(self.to_delete) / 60


@dataclass
class UndoResult:
    counts: dict[str, int]  # deleted, already_gone, failed (this run and before)
    report_dir: Path  # REPORT_DIR/undo
    exit_code: int
    error: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)


def plan_undo(options: UndoOptions) -> UndoPlan:
    """Read an import's report; InputError (exit 2) when it is not one that created
    anything this can delete."""
    report_dir = options.report_dir
    summary = _read_json(report_dir / "summary.json")
    if summary is None:
        raise InputError(
            f"{report_dir}: no summary.json here; give the folder of an import's reports"
        )
    if summary.get("dry_run"):
        raise InputError(
            f"{report_dir}: these are the reports of a validate (a dry run): it created nothing"
        )
    results = report_dir / "results.csv"
    if not results.exists():
        results = report_dir / ("results.csv" + PARTIAL)
    if not results.exists():
        raise InputError(
            f"{report_dir}: no results.csv here; give the folder of an import's reports"
        )
    undo = report_dir / UNDO_DIR
    done_before = _read_json(undo / "summary.json")
    settled = {row["contact_id"] for row in _undo_rows(undo / ("results.csv" + PARTIAL))}
    created, unconfirmed = [], 0
    for row in _created(results):
        if row["_status"] == "unconfirmed":
            unconfirmed += 1
        elif row["_contact_id"] not in settled:
            created.append((row["_contact_id"], row["_row"]))
    return UndoPlan(
        report_dir,
        str(summary.get("source", "")),
        [] if done_before else created,
        len(settled),
        unconfirmed,
        bool(summary.get("finished")),
        done_before,
    )


def undo_import(
    options: UndoOptions,
    client: EchowinClient,
    *,
    plan: UndoPlan | None = None,
    env: Mapping[str, str] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> UndoResult:
    """Delete the contacts the import of `options.report_dir` created (as `plan_undo`
    planned them, unless `plan` is given), paced, each recorded as it goes."""
    plan = plan_undo(options) if plan is None else plan
    undo = plan.report_dir / UNDO_DIR
    if plan.done_before is not None:  # finished before: nothing left, nothing is sent
        counts = {k: int(plan.done_before.get(k, 0)) for k in ("deleted", "already_gone", "failed")}
        return UndoResult(counts, undo, 0, None, plan.done_before)
    env = os.environ if env is None else env
    started = time.monotonic()
    _check_team(plan, client)
    undo.mkdir(exist_ok=True)
    partial = undo / ("results.csv" + PARTIAL)
    earlier = list(_undo_rows(partial))
    counts = {"deleted": 0, "already_gone": 0, "failed": 0}
    for row in earlier:
        counts[row["status"]] += 1
    gone: list[str] = []
    error = None
    state_dir = resolve_state_dir(options.state_dir, env)
    with (
        run_lock(state_dir, command_line()),
        client.stopping_when(options.should_stop),
        _team_index(state_dir, client) as index,  # recognized while its contacts exist
    ):
        new = not partial.exists()
        with partial.open("a", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            if new:
                handle.write("\ufeff")
                writer.writerow(_FIELDS)
            try:
                for done, (contact_id, row_number) in enumerate(plan.to_delete, start=1):
                    if options.should_stop():
                        raise Interrupted("stopped when asked")
                    status, why = _delete(client, contact_id)
                    writer.writerow([contact_id, row_number, status, why])
                    handle.flush()
                    os.fsync(handle.fileno())
                    counts[status] += 1
                    if status != "failed":
                        gone.append(contact_id)
                    if on_progress is not None:
                        on_progress(done, len(plan.to_delete))
            except (ApiError, Interrupted) as exc:
                error = str(exc)
            except KeyboardInterrupt:
                error = "stopped at once"
        if index is not None:
            index.forget([*gone, *(r["contact_id"] for r in earlier)])
    finished = error is None
    if finished:
        os.replace(partial, undo / "results.csv")
    exit_code = 3 if error else (1 if counts["failed"] else 0)
    summary = {
        "report_dir": str(plan.report_dir.resolve()),
        "source": plan.source,
        **counts,
        "unconfirmed_not_deleted": plan.unconfirmed,
        "requests": client.stats.requests,
        "duration_s": round(time.monotonic() - started, 3),
        "finished": finished,
        "error": error,
        "exit_code": exit_code,
    }
    name = "summary.json" if finished else "summary.partial.json"
    write_atomically(undo / name, json.dumps(summary, indent=2) + "\n")
    if finished:  # a stopped run's summary is history now: the final one says it all
        (undo / "summary.partial.json").unlink(missing_ok=True)
    refused = Reasons()  # this run's and an earlier, stopped one's
    for row in _undo_rows(undo / "results.csv" if finished else partial):
        if row["status"] == "failed":
            refused.add(int(row["_row"]) if row["_row"].isdigit() else 0, row["error"])
    results = "results.csv" if finished else "results.csv" + PARTIAL
    write_atomically(undo / "summary.html", render_undo(summary, refused, [results, name]))
    return UndoResult(counts, undo, exit_code, error, summary)


def _check_team(plan: UndoPlan, client: EchowinClient, sample: int = 3) -> None:
    """The first contacts to delete are in the team of this key; when none of them is
    (another account's key, or all deleted already), nothing is sent or recorded."""
    if not plan.to_delete:
        return
    every = plan.to_delete
    spread = {0, len(every) // 2, len(every) - 1}  # the first, the middle, the last
    ids = [every[i][0] for i in sorted(spread)][:sample]
    if not any(contact_exists(client, contact_id) for contact_id in ids):
        raise InputError(
            f"none of the {len(ids)} contacts looked up of those this import created is in "
            "the team of "
            "this key: check --api-key-file / ECHOWIN_API_KEY and --api-url (or they were "
            "deleted already); nothing was deleted"
        )


def _delete(client: EchowinClient, contact_id: str) -> tuple[str, str]:
    """Deleted, already gone (404), or refused for a reason of its own (failed); an API
    that cannot be reached, or a key refused, stops the undo (it resumes)."""
    try:
        client.delete_contact(contact_id)
    except NotFound:
        return "already_gone", "not in this team: deleted already, or another account's"
    except AuthRefused:
        raise
    except FatalApiError as exc:
        return "failed", str(exc)
    return "deleted", ""


@contextlib.contextmanager
def _team_index(state_dir: Path, client: EchowinClient) -> Iterator[TeamIndex | None]:
    """The team's index in this state directory, if it has one for this team."""
    if not (state_dir / INDEX_NAME).exists():
        yield None
        return
    with TeamIndex(state_dir, client.settings.identity, region="") as index:
        yield index if index.recognize(client) else None


def _created(results: Path) -> Iterator[dict[str, str]]:
    """The rows of an import's results file whose status is created or unconfirmed (the
    rows above the header, copied from the source, are passed over)."""
    with results.open(encoding="utf-8-sig", newline="") as handle:
        rows = csv.reader(handle)
        for header in rows:
            if tuple(header[-len(REPORT_COLUMNS) :]) == REPORT_COLUMNS:
                break
        else:
            raise InputError(
                f"{results}: not an import's results file (no {REPORT_COLUMNS[0]} column)"
            )
        width = len(header)
        for cells in rows:
            if len(cells) != width:
                continue
            row = dict(zip(REPORT_COLUMNS, cells[-len(REPORT_COLUMNS) :], strict=True))
            if row["_status"] in ("created", "unconfirmed") and (
                row["_contact_id"] or row["_status"] == "unconfirmed"
            ):
                yield row


def _undo_rows(path: Path) -> Iterator[dict[str, str]]:
    if not path.exists():
        return
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            if row.get("status") in ("deleted", "already_gone", "failed") and row["contact_id"]:
                yield row


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def describe(plan: UndoPlan) -> str:
    """What the plan would do, in a sentence or two, before asking."""
    if plan.done_before is not None:
        return (f"This import was undone already: {plan.done_before.get('deleted', 0)} contacts "
                "deleted; nothing is left to delete.")  # fmt: skip
    if not plan.to_delete and not plan.settled:
        text = (f"The import of {plan.source or 'a file'} ({plan.report_dir}) created no contact "
                "that is still to delete: nothing to undo.")  # fmt: skip
        for warning in plan_warnings(plan):
            text += f" {warning[0].upper()}{warning[1:]}."
        return text
    took = f"about {math.ceil(plan.minutes)} min" if plan.minutes >= 1 else "under a minute"
    text = (
        f"Undo deletes the {len(plan.to_delete)} contacts the import of {plan.source or 'a file'} "
        f"created (rows 'created' in {plan.report_dir}), {took} at echowin's write limit "
        "(60 a minute)."
    )
    if plan.settled:
        text += f" {plan.settled} were settled by an undo that stopped; they are not sent again."
    for warning in plan_warnings(plan):
        text += f" {warning[0].upper()}{warning[1:]}."
    return text


def plan_warnings(plan: UndoPlan) -> list[str]:
    """What the undo leaves undone, each a sentence without its end (quiet runs show
    these alone, on stderr)."""
    warnings = []
    if plan.unconfirmed:
        warnings.append(
            f"{plan.unconfirmed} rows are 'unconfirmed' (echowin counted them created, no "
            "contact was matched): they have no id and are left alone"
        )
    if not plan.import_finished:
        warnings.append(
            "the import did not finish: a batch in flight when it stopped is not in its "
            "report; run the import again to settle it, then undo its new report"
        )
    return warnings
