"""The journal: what an import sent and what came of it, so a re-run never sends twice.

SQLite in the state directory (`journal.sqlite3`). A job is one source file (by
content), one mapping (as used) and one API URL; which team it went to is told by
the contacts it made (`markers`): a job is taken up again only where one of its
contacts exists. The key never enters the journal.

Every batch moves `planned` → `sent` → `done`, in its own committed transaction
before the next step: its rows are `planned`, then `sent` (the fence, the newest
contact before sending, recorded with them), then `created` with their contact id
or `rejected` with echowin's reason. A run that dies leaves at most one batch
`sent`; the next run reconciles it first (`push.Pusher.reconcile`) and sends only
the rows that did not arrive.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..files import open_state_db
from .outcomes import SETTLED, Fence, RowOutcome, SentBatch

JOURNAL_NAME = "journal.sqlite3"
MARKERS = 3  # contacts kept per job to recognize its team

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,              -- source, mapping and API URL (see JobKey)
    source TEXT NOT NULL,
    api_url TEXT NOT NULL,
    markers TEXT NOT NULL DEFAULT '[]',  -- ids of contacts the job made, JSON
    created_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_key ON jobs (key);
CREATE TABLE IF NOT EXISTS batches (
    job INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    batch INTEGER NOT NULL,
    state TEXT NOT NULL,            -- planned, sent, done
    fence_id TEXT,                  -- the newest contact before the batch was sent
    fence_created_at TEXT,
    fence_total INTEGER,            -- the team's count of contacts then
    sent_at REAL,                   -- when the batch left (Unix time)
    PRIMARY KEY (job, batch)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rows (
    job INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    row INTEGER NOT NULL,
    batch INTEGER NOT NULL,
    status TEXT NOT NULL,           -- planned, sent, created, unconfirmed, rejected
    body TEXT NOT NULL,             -- the contact as sent (JSON), until its batch is done
    contact_id TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (job, row)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS doomed (  -- copies to delete: another import made the keeper
    job INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    contact_id TEXT NOT NULL,
    PRIMARY KEY (job, contact_id)
) WITHOUT ROWID;
"""


@dataclass(frozen=True)
class JobKey:
    source_sha256: str
    mapping_sha256: str
    api_url: str

    @property
    def text(self) -> str:
        return f"{self.source_sha256}:{self.mapping_sha256}:{self.api_url}"


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Journal:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / JOURNAL_NAME
        # durable: a committed step survives a crash
        self._db = open_state_db(self.path, _SCHEMA, what="journal", durable=True)
        columns = {c[1] for c in self._db.execute("PRAGMA table_info(batches)")}
        for column in ("fence_total INTEGER", "sent_at REAL"):  # an older journal
            if column.split()[0] not in columns:
                self._db.execute(f"ALTER TABLE batches ADD COLUMN {column}")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def transaction(self, work: Callable[[sqlite3.Connection], object]) -> None:
        """`work` whole, or not at all; committed (on disk) when this returns."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            work(self._db)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def candidates(self, key: JobKey) -> list[Job]:
        """Earlier jobs of this source, mapping and URL, newest first (any team)."""
        found = self._db.execute(
            "SELECT id, markers, created_at, finished_at FROM jobs WHERE key = ? ORDER BY id DESC",
            (key.text,),
        ).fetchall()
        return [Job(self, i, json.loads(m), c, f) for i, m, c, f in found]

    def new_job(self, key: JobKey, source: str) -> Job:
        now = _now()
        cursor = self._db.execute(
            "INSERT INTO jobs (key, source, api_url, created_at) VALUES (?, ?, ?, ?)",
            (key.text, source, key.api_url, now),
        )
        assert cursor.lastrowid is not None
        return Job(self, cursor.lastrowid, [], now, None)

    def forget(self, job: Job) -> None:
        self.transaction(lambda db: db.execute("DELETE FROM jobs WHERE id = ?", (job.id,)))


@dataclass
class Job:
    journal: Journal
    id: int
    markers: list[str]
    created_at: str
    finished_at: str | None

    @property
    def _db(self) -> sqlite3.Connection:
        return self.journal._db

    def created(self, first: int, last: int) -> dict[int, RowOutcome]:
        """Rows from `first` to `last` that echowin created (or counted created), with
        their contact ids: a later run never sends them again."""
        marks = ", ".join("?" * len(SETTLED))
        found = self._db.execute(
            "SELECT row, status, contact_id, error FROM rows WHERE job = ? AND row BETWEEN ? AND ?"
            f" AND status IN ({marks})",
            (self.id, first, last, *sorted(SETTLED)),
        )
        return {row: RowOutcome(status, cid, error) for row, status, cid, error in found}

    def known_rows(self) -> int:
        """Rows an earlier run of this job settled as created: not sent again."""
        marks = ", ".join("?" * len(SETTLED))
        (count,) = self._db.execute(
            f"SELECT count(*) FROM rows WHERE job = ? AND status IN ({marks})",
            (self.id, *sorted(SETTLED)),
        ).fetchone()
        return int(count)

    def unsettled(self) -> Iterator[SentBatch]:
        """Batches sent (or about to be) whose outcome was never recorded, oldest first."""
        batches = self._db.execute(
            "SELECT batch, state, fence_id, fence_created_at, fence_total, sent_at FROM batches"
            " WHERE job = ? AND state != 'done' ORDER BY batch",
            (self.id,),
        ).fetchall()
        for number, state, fence_id, fence_created_at, fence_total, sent_at in batches:
            rows = self._db.execute(
                "SELECT row, body FROM rows WHERE job = ? AND batch = ? AND status IN"
                " ('planned', 'sent') ORDER BY row",
                (self.id, number),
            ).fetchall()
            if state == "planned":  # never sent: its rows go out again with the others
                self.journal.transaction(functools.partial(_drop_batch, job=self.id, batch=number))
                continue
            fence = Fence(fence_id, fence_created_at, fence_total, sent_at)
            yield SentBatch(number, fence, rows)

    def fence_ids(self) -> list[str]:
        """Contacts that were the newest of the team when this job sent a batch."""
        found = self._db.execute(
            "SELECT DISTINCT fence_id FROM batches WHERE job = ? AND fence_id IS NOT NULL"
            " ORDER BY batch DESC LIMIT ?",
            (self.id, MARKERS),
        )
        return [fence_id for (fence_id,) in found]

    def next_batch(self) -> int:
        (last,) = self._db.execute(
            "SELECT coalesce(max(batch), 0) FROM batches WHERE job = ?", (self.id,)
        ).fetchone()
        return int(last) + 1

    def plan(self, batch: int, rows: Iterable[tuple[int, str]]) -> None:
        def work(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO batches (job, batch, state) VALUES (?, ?, 'planned')", (self.id, batch)
            )
            db.executemany(
                "INSERT OR REPLACE INTO rows (job, row, batch, status, body)"
                " VALUES (?, ?, ?, 'planned', ?)",
                ((self.id, row, batch, body) for row, body in rows),
            )

        self.journal.transaction(work)

    def sending(self, batch: int, fence: Fence) -> None:
        """Recorded, and committed, before the batch leaves this machine."""

        def work(db: sqlite3.Connection) -> None:
            db.execute(
                "UPDATE batches SET state = 'sent', fence_id = ?, fence_created_at = ?,"
                " fence_total = ?, sent_at = ? WHERE job = ? AND batch = ?",
                (fence.id, fence.created_at, fence.total_count, fence.sent_at, self.id, batch),
            )
            db.execute(
                "UPDATE rows SET status = 'sent'"
                " WHERE job = ? AND batch = ? AND status = 'planned'",
                (self.id, batch),
            )

        self.journal.transaction(work)

    def settle(
        self,
        batch: int,
        outcomes: Mapping[int, RowOutcome],
        *,
        done: bool,
        doomed: Iterable[str] = (),
    ) -> None:
        """The rows the server settled, with their ids or reasons; `done`: the whole batch.
        `doomed`: this run's copies of contacts another import made at the same moment,
        recorded with the rows that now point at the other's, before they are deleted."""
        doomed = list(doomed)
        created = [o.contact_id for o in outcomes.values() if o.contact_id]
        markers = (self.markers + created)[:MARKERS]

        def work(db: sqlite3.Connection) -> None:
            db.executemany(
                "UPDATE rows SET status = ?, contact_id = ?, error = ? WHERE job = ? AND row = ?",
                ((o.status, o.contact_id, o.error, self.id, row) for row, o in outcomes.items()),
            )
            db.executemany(
                "INSERT OR IGNORE INTO doomed (job, contact_id) VALUES (?, ?)",
                ((self.id, contact_id) for contact_id in doomed),
            )
            if done:  # its bodies were kept to reconcile it: no longer needed
                db.execute(
                    "UPDATE batches SET state = 'done' WHERE job = ? AND batch = ?",
                    (self.id, batch),
                )
                db.execute(
                    "UPDATE rows SET body = '' WHERE job = ? AND batch = ?", (self.id, batch)
                )
            if markers != self.markers:
                db.execute(
                    "UPDATE jobs SET markers = ? WHERE id = ?", (json.dumps(markers), self.id)
                )

        self.journal.transaction(work)
        self.markers = markers

    def doomed(self) -> list[str]:
        """Copies recorded for deletion and not yet known gone (a run died between)."""
        found = self._db.execute("SELECT contact_id FROM doomed WHERE job = ?", (self.id,))
        return [contact_id for (contact_id,) in found]

    def deleted(self, ids: Iterable[str]) -> None:
        """Doomed copies now gone."""
        pairs = [(self.id, contact_id) for contact_id in ids]
        self.journal.transaction(
            lambda db: db.executemany("DELETE FROM doomed WHERE job = ? AND contact_id = ?", pairs)
        )

    def finish(self) -> None:
        self.finished_at = _now()
        self._db.execute(
            "UPDATE jobs SET finished_at = ? WHERE id = ?", (self.finished_at, self.id)
        )


def _drop_batch(db: sqlite3.Connection, job: int, batch: int) -> None:
    db.execute("DELETE FROM rows WHERE job = ? AND batch = ? AND status = 'planned'", (job, batch))
    db.execute("DELETE FROM batches WHERE job = ? AND batch = ?", (job, batch))


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
