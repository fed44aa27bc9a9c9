"""One SQLite connection, its lock and its transactions, shared by the store's parts."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

from ..models import NotFound, User

_SCHEMA = resources.files(__package__).joinpath("schema.sql").read_text(encoding="utf-8")


def utc_timestamp(now: datetime) -> str:
    """echowin's timestamp form: `2024-01-01T00:00:00.000Z`."""
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


class Database:
    """SQLite behind one lock: every read and every transaction holds it whole.

    One connection serves all threads, so concurrent requests queue rather than
    interleave; a write is one transaction, committed whole or rolled back.
    """

    def __init__(self, path: str | Path | None, clock: Callable[[], datetime] | None) -> None:
        self._clock = clock or (lambda: datetime.now(UTC))
        self._last_stamp: datetime | None = None
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(
            ":memory:" if path is None else str(path),
            check_same_thread=False,
            isolation_level=None,  # transactions are explicit: see tx()
        )
        self._conn.row_factory = sqlite3.Row
        if path is not None:
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; an exception inside rolls it back."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._conn

    def now(self) -> str:
        return utc_timestamp(self._clock())

    def stamp(self) -> str:
        """`now()` for a write that creates contacts: always a later millisecond than the
        previous write's, so only the contacts of one write share a `createdAt`."""
        with self._lock:
            now = self._clock()
            now = now.replace(microsecond=now.microsecond // 1000 * 1000)
            if self._last_stamp is not None and now <= self._last_stamp:
                now = self._last_stamp + timedelta(milliseconds=1)
            self._last_stamp = now
            return utc_timestamp(now)


def require_contact(conn: sqlite3.Connection, team_id: str, contact_id: str) -> None:
    """Raise NotFound unless the team has this contact."""
    row = conn.execute(
        "SELECT 1 FROM contacts WHERE id = ? AND team_id = ?", (contact_id, team_id)
    ).fetchone()
    if row is None:
        raise NotFound("Contact not found")


def read_users(conn: sqlite3.Connection, team_id: str) -> list[User]:
    rows = conn.execute(
        "SELECT id, first_name, last_name, email, picture FROM users"
        " WHERE team_id = ? ORDER BY ord",
        (team_id,),
    ).fetchall()
    return [User(r["id"], r["first_name"], r["last_name"], r["email"], r["picture"]) for r in rows]
