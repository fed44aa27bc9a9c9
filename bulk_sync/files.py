"""File helpers that import and export share: atomic replacement, dated names, rotation.

A file under its final name is always whole: it is written beside it as
`NAME.partial` and renamed when complete. Nightly names carry `{date}` or
`{datetime}` (UTC); `rotate` keeps the newest N files of such a pattern and never
touches a file the pattern does not match.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import sqlite3
from pathlib import Path

from .errors import ConfigError

PARTIAL = ".partial"  # the suffix of a file still being written
_PLACEHOLDERS = {"{date}": ("%Y-%m-%d", r"\d{4}-\d{2}-\d{2}"),
                 "{datetime}": ("%Y-%m-%dT%H%M%SZ", r"\d{4}-\d{2}-\d{2}T\d{6}Z")}  # fmt: skip


def write_atomically(path: Path, text: str) -> None:
    """`path` holds either its old content or all of `text`, never a part of it; a write
    that fails (a full disk) leaves neither a part nor its `.partial` behind."""
    partial = partial_path(path)
    try:
        with partial.open("w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def partial_path(path: Path) -> Path:
    return path.with_name(path.name + PARTIAL)


def finish(partial: Path, path: Path) -> None:
    """Make a completely written `partial` file `path`, durably."""
    with partial.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(partial, path)


def dated(path: Path, now: dt.datetime | None = None) -> Path:
    """`path` with `{date}` / `{datetime}` filled in (UTC), in its name or any folder."""
    moment = now or dt.datetime.now(dt.UTC)
    text = str(path)
    for placeholder, (form, _) in _PLACEHOLDERS.items():
        text = text.replace(placeholder, moment.strftime(form))
    return Path(text)


def is_pattern(path: Path) -> bool:
    return any(p in path.name for p in _PLACEHOLDERS)


def rotate(pattern: Path, keep: int, written: Path) -> list[Path]:
    """Delete all but the newest `keep` backups of `pattern` (by the date in their name),
    `written` (just made) always among those kept; the files deleted. Only files that
    match the pattern and have a manifest beside them (bulk-sync made them) are ever
    deleted; a pattern without a placeholder matches one file only: nothing is."""
    if not is_pattern(pattern) or not pattern.parent.is_dir():
        return []
    regex = re.escape(pattern.name)
    for placeholder, (_, digits) in _PLACEHOLDERS.items():
        regex = regex.replace(re.escape(placeholder), digits)
    others = sorted(
        (
            p
            for p in pattern.parent.iterdir()
            if p.is_file()
            and re.fullmatch(regex, p.name)
            and p.name != written.name
            and _manifest(p).is_file()
        ),
        key=lambda p: p.name,
    )
    doomed = others[: max(0, len(others) - (keep - 1))]
    for path in doomed:
        for sibling in _siblings(path):  # the files --include wrote beside it
            sibling.unlink(missing_ok=True)
        path.unlink()
        _manifest(path).unlink()
    return doomed


def _siblings(path: Path) -> list[Path]:
    """The files a backup's manifest lists beside it (`NAME-notes.csv`...)."""
    try:
        listed = json.loads(_manifest(path).read_text(encoding="utf-8")).get("include") or {}
    except (OSError, ValueError, AttributeError):
        return []
    stem = path.name.rsplit(".", 1)[0] + "-"
    found = [path.with_name(Path(str(p)).name) for p in listed.values()]
    return [p for p in found if p.name.startswith(stem)]


def _manifest(path: Path) -> Path:
    return path.with_name(path.name + ".manifest.json")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def private_dir(path: Path) -> None:
    """Make `path` and its missing parents; a directory made here is its owner's alone
    (0700: the state directory holds contacts). One that exists is left as it is."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)


def open_state_db(path: Path, schema: str, *, what: str, durable: bool) -> sqlite3.Connection:
    """A SQLite file of the state directory, in WAL mode, its schema made; `durable`: every
    commit is on disk when it returns (a journal), else a crash may lose the last one (a
    cache). The file is made readable by its owner only (SQLite gives its -wal and -shm
    files the same mode). One sentence (ConfigError) when it cannot be used."""
    try:
        private_dir(path.parent)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        db = sqlite3.connect(path, isolation_level=None)  # transactions by hand
        db.execute("PRAGMA journal_mode = WAL")
        db.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
        db.execute("PRAGMA foreign_keys = ON")
        db.executescript(schema)
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError(
            f"cannot use the {what} {path} ({exc}); move it away to start afresh"
        ) from None
    return db
