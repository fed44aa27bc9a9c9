"""`export_contacts`: every contact of the team into one verified CSV or XLSX file.

pages → rows → spool → file → manifest. The team is read oldest first, 100 a page,
paced at the GET ceiling; each contact is written once (ids de-duplicated on disk).
Contacts others add meanwhile land at the end, so they shift no page; a deletion
shifts every later page back and may hide a contact at a page boundary, and so may
a tie split by a page boundary (a bulk's contacts share one `createdAt`, and a
database may order them afresh on every request). So a pass is complete when the
team's count never went down while it read and every split tie was seen whole;
otherwise the team is read again (the contacts already written are not written
twice), up to `PASSES` times. A file that cannot be shown complete keeps its
`.partial` name, its manifest says `verified: false` and why, and the run exits 3.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from collections.abc import Mapping as EnvMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..client import EchowinClient
from ..client.models import Listed
from ..client.pagination import PageMemory
from ..errors import ConfigError
from ..files import (
    PARTIAL,
    dated,
    file_sha256,
    finish,
    partial_path,
    rotate,
    write_atomically,
)
from ..mapping import load_mapping
from ..state import resolve_state_dir
from .details import COLUMNS, SHEETS, DetailStore, fetch
from .layout import Layout, MappedLayout
from .writers import Spool, sibling_path, write_output

PASSES = 3
READ_AHEAD = 2  # pages asked for while one is written (one while paced: client._ahead)
_WRITE_ERRORS = (OSError, sqlite3.Error)  # a file, or the SQLite files beside it
SUFFIXES = (".csv", ".xlsx")


@dataclass(frozen=True)
class ExportOptions:
    output: Path  # .csv or .xlsx; may hold {date} / {datetime}
    tags: tuple[str, ...] = ()  # only contacts with any of these tags (names)
    search: str | None = None  # only contacts whose names, email or number hold this
    keep: int | None = None  # then delete all but the newest N files of the pattern
    mapping: Path | None = None  # the layout of this mapping, in reverse
    include: tuple[str, ...] = ()  # notes, assignments, boards: one GET per contact and kind
    state_dir: Path | None = None  # where fetched details wait for the next run (--include)
    should_stop: Callable[[], bool] = field(default=lambda: False, compare=False)


@dataclass(frozen=True)
class ExportProgress:
    rows: int  # contacts written, or (details) contacts whose details were read
    total: int | None  # the team's count of contacts, as last read
    stage: str = "contacts"  # or "details"
    eta_min: float | None = None  # details: minutes left at echowin's GET limit


@dataclass
class ExportResult:
    path: Path  # the file written: OUTPUT, or OUTPUT.partial when not verified
    rows: int
    pages: int
    seconds: float
    verified: bool
    reason: str | None
    manifest: dict[str, Any]
    deleted: list[Path]  # older backups removed by --keep

    @property
    def exit_code(self) -> int:
        return 0 if self.verified else 3


def export_contacts(
    options: ExportOptions,
    client: EchowinClient,
    *,
    on_progress: Callable[[ExportProgress], None] | None = None,
    env: EnvMapping[str, str] | None = None,
    on_start: Callable[[dict[str, Any]], None] | None = None,
) -> ExportResult:
    """Export the team; see the module docstring. Raises ConfigError or MappingError
    (nothing read yet) for an OUTPUT that cannot be written, an unknown tag or a bad
    mapping; OSError when a file cannot be written on the way (a full disk), leaving
    no part of OUTPUT behind."""
    target = dated(options.output)
    _check_target(target)
    try:
        return _export(options, client, target, on_progress, env, on_start)
    except _WRITE_ERRORS as exc:  # a full disk, say
        partial = partial_path(target)
        for stale in [partial, *(sibling_path(partial, SHEETS[k]) for k in options.include)]:
            stale.unlink(missing_ok=True)  # a part of a file is no backup
        raise _not_written(exc, target) from None


def _not_written(exc: BaseException, target: Path) -> OSError:
    """A local write that failed, as the OSError the CLI shows in one sentence."""
    if isinstance(exc, OSError):
        return OSError(exc.errno, exc.strerror or str(exc), exc.filename or str(target))
    return OSError(errno.EIO, f"the disk may be full: {exc}", str(target))


def _export(
    options: ExportOptions,
    client: EchowinClient,
    target: Path,
    on_progress: Callable[[ExportProgress], None] | None,
    env: EnvMapping[str, str] | None,
    on_start: Callable[[dict[str, Any]], None] | None = None,
) -> ExportResult:
    started, started_at = time.monotonic(), _now()
    env = os.environ if env is None else env
    try:  # beside OUTPUT, so that the file is renamed, never copied, into place
        workspace = tempfile.TemporaryDirectory(dir=target.parent, prefix=".bulk-sync-")
    except OSError as exc:
        raise ConfigError(f"cannot write in {target.parent} ({exc.strerror or exc})") from None
    partial = partial_path(target)
    with workspace as work:
        tag_ids = _tag_ids(client, options.tags)
        layout: Layout | MappedLayout = (
            MappedLayout(load_mapping(options.mapping))
            if options.mapping is not None
            else Layout(client.custom_fields())
        )
        start_total = _count(client, options.search, tag_ids)
        if on_start is not None:
            on_start({
                "output": str(target.resolve()),
                "host": client.settings.url,
                "format": target.suffix.lower().lstrip("."),
                "filters": {"tags": list(options.tags), "search": options.search},
                "include": list(options.include),
                "contacts": start_total,
                "details_known": _details_known(client, options, env),
            })  # fmt: skip
        spool = Spool(Path(work) / "rows", target.suffix.lower())
        ids = _DiskIds(Path(work) / "ids.sqlite3")
        pages, verified = 0, False
        reason: str | None = "not read"
        try:
            for _ in range(PASSES):
                pager = client.iter_listed(
                    search=options.search, tag_ids=tag_ids, seen=ids, read_ahead=READ_AHEAD
                )
                for contact in _chain(pager, pager.reread_ties):
                    spool.add(layout.row(contact))
                    if spool.rows % 100 == 0:
                        if options.should_stop():
                            raise _Stopped
                        if on_progress is not None:
                            on_progress(ExportProgress(spool.rows, pager.last_total_count))
                pages += pager.pages_read
                verified, reason = _complete(pager.shrank, pager.complete)
                if verified and len(ids) < start_total:
                    verified, reason = False, f"{len(ids)} contacts read of {start_total}"
                if verified:
                    break
        except _Stopped:
            verified, reason = False, "interrupted; run it again for a complete backup"
        except BaseException:
            ids.close()
            raise
        finally:
            spool.close()
        try:
            end_total = _count(client, options.search, tag_ids)
            siblings = _write(client, options, env, spool, layout, ids, partial, target,
                              verified, on_progress)  # fmt: skip
            if siblings is None:
                verified, reason = False, _DETAILS_STOPPED
                siblings = []
        finally:
            ids.close()
    if verified:
        finish(partial, target)
        for sibling in siblings:  # written beside the file, as .partial too
            finish(sibling, sibling.with_name(sibling.name.removesuffix(PARTIAL)))
        siblings = [s.with_name(s.name.removesuffix(PARTIAL)) for s in siblings]
    path = target if verified else partial
    manifest = {
        "file": str(path.resolve()),
        "rows": spool.rows,
        "sha256": file_sha256(path),
        "api_url": client.settings.url,
        "started_at": started_at,
        "finished_at": _now(),
        "total_count_start": start_total,
        "total_count_end": end_total,
        "verified": verified,
        "reason": reason,
        "columns": layout.columns,
        "pages": pages,
        "filters": {"tags": list(options.tags), "search": options.search},
        "include": {
            kind: str(p.resolve()) for kind, p in zip(options.include, siblings, strict=False)
        },
    }
    write_atomically(
        target.with_name(target.name + ".manifest.json"), json.dumps(manifest, indent=2) + "\n"
    )
    deleted = rotate(options.output, options.keep, target) if verified and options.keep else []
    seconds = round(time.monotonic() - started, 3)
    return ExportResult(path, spool.rows, pages, seconds, verified, reason, manifest, deleted)


_DETAILS_STOPPED = (
    "stopped while reading the contacts' details; run it again: what was read is kept"
)


def _write(
    client: EchowinClient,
    options: ExportOptions,
    env: EnvMapping[str, str],
    spool: Spool,
    layout: Layout | MappedLayout,
    ids: _DiskIds,
    partial: Path,
    target: Path,
    verified: bool,
    on_progress: Callable[[ExportProgress], None] | None,
) -> list[Path] | None:
    """The file, with the details `--include` asks for; None when a stop request came
    while they were read (what was read is kept for the next run)."""
    form = target.suffix.lower()
    if not options.include or not verified:
        write_output(spool, layout.columns, partial, form)
        return []
    store = DetailStore(resolve_state_dir(options.state_dir, env), client.settings.identity)
    try:
        if not _read_details(client, options, store, ids, on_progress):
            write_output(spool, layout.columns, partial, form)
            return None
        tables = [(SHEETS[k], COLUMNS[k], store.rows(k, iter(ids))) for k in options.include]
        siblings = write_output(spool, layout.columns, partial, form, tables)
        store.forget()
        return siblings
    finally:
        store.close()


def _details_known(client: EchowinClient, options: ExportOptions, env: EnvMapping[str, str]) -> int:
    """Details an earlier, stopped run read and kept (`--include`): this run resumes it."""
    if not options.include:
        return 0
    store = DetailStore(resolve_state_dir(options.state_dir, env), client.settings.identity)
    try:
        return store.count()
    finally:
        store.close()


def _read_details(
    client: EchowinClient,
    options: ExportOptions,
    store: DetailStore,
    ids: _DiskIds,
    on_progress: Callable[[ExportProgress], None] | None,
) -> bool:
    """One GET per contact and kind not read before; False when asked to stop. The
    pairs left are walked, not listed: memory does not grow with the team."""
    todo = max(0, len(ids) * len(options.include) - store.count())
    per_min = (client.limits.get / client.limits.window_s * 60) if client.limits else None
    left = ((k, c) for k in options.include for c in ids if not store.has(k, c))
    for done, (kind, contact_id) in enumerate(left):
        if on_progress is not None and done % 25 == 0:
            eta = max(0, todo - done) / per_min if per_min else None
            on_progress(ExportProgress(done, todo, "details", eta))
        if options.should_stop():
            return False
        store.put(kind, contact_id, fetch(client, kind, contact_id))
    return True


def _chain(pager: Iterable[Listed], more: Callable[[], Iterator[Listed]]) -> Iterator[Listed]:
    yield from pager
    yield from more()


def _complete(shrank: bool, ties_whole: bool) -> tuple[bool, str | None]:
    if shrank:
        return False, "contacts were deleted while the team was read: a page may have shifted"
    if not ties_whole:
        return False, "contacts sharing one createdAt could not all be seen at a page boundary"
    return True, None


def _check_target(target: Path) -> None:
    if target.suffix.lower() not in SUFFIXES:
        raise ConfigError(f"{target.name}: the output must end in .csv or .xlsx")
    if not target.parent.is_dir():
        raise ConfigError(f"{target.parent} is not a folder: create it, or write elsewhere")
    if target.is_dir():
        raise ConfigError(f"{target} is a folder: name a file")


def _tag_ids(client: EchowinClient, names: tuple[str, ...]) -> list[str]:
    if not names:
        return []
    known = {tag.name.casefold(): tag.id for tag in client.tags()}
    missing = [n for n in names if n.casefold() not in known]
    if missing:
        raise ConfigError(f"no tag named {', '.join(map(repr, missing))} in this team")
    return [known[n.casefold()] for n in names]


def _count(client: EchowinClient, search: str | None, tag_ids: list[str]) -> int:
    page = client.list_contacts(page=1, limit=1, search=search, tag_ids=tag_ids)
    return page.pagination.total_count


class _Stopped(Exception):
    """Ctrl-C or SIGTERM asked the export to stop."""


class _DiskIds(PageMemory):
    """The ids written so far, on disk: memory does not grow with the team."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path)
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute("CREATE TABLE ids (id TEXT PRIMARY KEY) WITHOUT ROWID")
        self._count = 0

    def __contains__(self, item: object) -> bool:
        row = self._db.execute("SELECT 1 FROM ids WHERE id = ?", (item,)).fetchone()
        return row is not None

    def add(self, value: str) -> None:
        self._count += self._db.execute("INSERT OR IGNORE INTO ids VALUES (?)", (value,)).rowcount

    def add_new(self, ids: Sequence[str]) -> set[str]:
        """A page's ids in one statement, which answers with those it added."""
        if not ids:
            return set()
        rows = ",".join(["(?)"] * len(ids))
        sql = f"INSERT INTO ids VALUES {rows} ON CONFLICT DO NOTHING RETURNING id"
        new = {i for (i,) in self._db.execute(sql, ids).fetchall()}
        self._count += len(new)
        return new

    def discard(self, value: str) -> None:
        self._count -= self._db.execute("DELETE FROM ids WHERE id = ?", (value,)).rowcount

    def __iter__(self) -> Iterator[str]:
        return (i for (i,) in self._db.execute("SELECT id FROM ids"))

    def __len__(self) -> int:
        return self._count

    def close(self) -> None:
        self._db.close()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
