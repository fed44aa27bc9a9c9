"""The team's contacts by match key, kept on disk, and brought up to date cheaply.

`TeamIndex` lives in the state directory (`teams.sqlite3`): per team, every contact
id with its keys (see keys.py) and the contact as last read, plus a hash of the
body bulk-sync last wrote to it (for upserts that send only what changed). It is a
cache of the team, never trusted blindly:
- the team is recognized by its contacts: an index is taken up only where one of
  the contacts it knows exists (another team's contacts answer 404);
- each run first reads the contacts made since the index was last read (newest
  first, down to the newest one it had read), then checks the count it knows
  against echowin's `totalCount`: a difference (deletions, or a contact that slipped
  past a page boundary) and it reads the team again, whole.

What it can miss: a number or email edited in echowin's UI on a contact it already
knows (the index still has the old key). `--refresh-index` reads the team whole.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import islice
from pathlib import Path
from typing import Any

from ..client.models import Contact
from ..client.pagination import NO_MEMORY, ContactPager, created_before, reads_while_deleted
from ..files import open_state_db
from .api import ContactsApi, contact_exists
from .keys import Key, Keys, contact_keys

INDEX_NAME = "teams.sqlite3"
ALL_KEYS = ("number", "email")
RECOGNIZE_BY = 3  # known contacts asked for to recognize a team

_SCHEMA = """
CREATE TABLE IF NOT EXISTS teams (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,          -- the API's URL, or the sandbox's database
    region TEXT NOT NULL,           -- stored numbers without a country code read so
    read_down_to TEXT,              -- createdAt of the newest contact read from the team
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS contacts (
    team INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    created_at TEXT,
    data TEXT,                      -- the contact as last read (JSON), NULL if never read
    read_in INTEGER,                -- the run that read it (see TeamIndex.run)
    present INTEGER NOT NULL DEFAULT 1,  -- in the team as far as we know
    written TEXT,                   -- hash of the body bulk-sync last wrote to it
    PRIMARY KEY (team, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS keys (
    team INTEGER NOT NULL,
    key NOT NULL,                   -- an int (E.164 digits) or a text (email, case-folded)
    contact TEXT NOT NULL,
    PRIMARY KEY (team, key, contact)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS keys_by_contact ON keys (team, contact);
CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS unconfirmed (  -- keys of rows echowin counted created, unmatched
    team INTEGER NOT NULL,
    key NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (team, key)
) WITHOUT ROWID;
"""


class TeamIndex:
    """One team's contacts by key; see the module docstring."""

    def __init__(self, state_dir: Path, account: str, region: str) -> None:
        self.path = state_dir / INDEX_NAME
        # a cache of the team, checked every run: a write lost to a power cut is read again
        self._db = open_state_db(self.path, _SCHEMA, what="team index", durable=False)
        self.account = account
        self.region = region
        self.team: int | None = None
        self.run = int(
            self._db.execute("INSERT INTO runs (at) VALUES (?) RETURNING id", (_now(),)).fetchone()[
                0
            ]
        )
        self.pages_read = 0

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> TeamIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- finding the team, and bringing it up to date ---------------------------------

    def recognize(self, api: ContactsApi) -> bool:
        """Take up this account's index of the team `api` speaks for; False: none yet."""
        for team, region in self._db.execute(
            "SELECT id, region FROM teams WHERE account = ? ORDER BY id DESC", (self.account,)
        ).fetchall():
            known = [
                contact
                for (contact,) in self._db.execute(
                    "SELECT id FROM contacts WHERE team = ? AND present"
                    " ORDER BY created_at DESC LIMIT ?",
                    (team, RECOGNIZE_BY),
                )
            ]
            if known and any(contact_exists(api, contact) for contact in known):
                self.team = team
                if not self.region:  # "": whatever region the index was keyed with
                    self.region = region
                elif region != self.region:
                    self._rekey()
                return True
        return False

    def forget(self, ids: Iterable[str]) -> None:
        """Contacts deleted (by `bulk-sync undo`): no longer found by their keys."""
        pairs = [(self.team, contact_id) for contact_id in ids]
        self._db.execute("BEGIN")
        self._db.executemany("DELETE FROM keys WHERE team = ? AND contact = ?", pairs)
        self._db.executemany("DELETE FROM contacts WHERE team = ? AND id = ?", pairs)
        self._db.execute("COMMIT")

    def known_count(self) -> int:
        if self.team is None:
            return 0
        (n,) = self._db.execute(
            "SELECT count(*) FROM contacts WHERE team = ? AND present", (self.team,)
        ).fetchone()
        return int(n)

    def read_down_to(self) -> str | None:
        if self.team is None:
            return None
        row = self._db.execute("SELECT read_down_to FROM teams WHERE id = ?", (self.team,))
        found = row.fetchone()
        return None if found is None else found[0]

    def adopt(self) -> None:
        """Start an index for a team not recognized (nothing is read yet)."""
        if self.team is None:
            self.team = int(
                self._db.execute(
                    "INSERT INTO teams (account, region, created_at) VALUES (?, ?, ?) RETURNING id",
                    (self.account, self.region, _now()),
                ).fetchone()[0]
            )

    def refresh(self, api: ContactsApi, *, whole: bool = False, forget: bool = False) -> None:
        """Read what is new since the last run (or, `whole`, the whole team) and check
        the count against echowin's; read the team whole when it does not add up.
        `forget` (--refresh-index): also the rows left unconfirmed by earlier runs."""
        if forget and self.team is not None:
            self._db.execute("DELETE FROM unconfirmed WHERE team = ?", (self.team,))
        if self.team is None:
            self.adopt()
            whole = True
        cutoff = None if whole else self.read_down_to()
        if cutoff is None:
            whole = True
        if not whole and self._read(api, cutoff):
            return
        self._clear()
        # if this count does not add up either, others wrote while it read: what it has
        # is still a fair index, and no batch is ever reconciled by the index alone
        self._read(api, None)

    def _read(self, api: ContactsApi, cutoff: str | None) -> bool:
        """Contacts newest first down to `cutoff`, or (None) the whole team (see
        `_reads`). True when the count adds up: the contacts known up to the newest one
        when the read began are exactly as many as the team had then."""
        head = api.list_contacts(page=1, limit=1)  # the newest contact now, and the count
        self.pages_read += 1
        began_with = head.pagination.total_count
        boundary = head.data[0].created_at if head.data else None
        newest: str | None = None
        last_total = 0
        for pager in self._reads(api, cutoff, lambda: self._known_up_to(boundary) >= began_with):
            read = self._store(pager)
            if newest is None or created_before(newest, read):
                newest = read
            # a tie split at a page boundary may have hidden contacts: read it again
            self._store(pager.reread_ties(lambda: self._known_up_to(boundary) >= began_with))
            self.pages_read += pager.pages_read
            last_total = pager.last_total_count or 0
        if newest is not None:
            self._db.execute("UPDATE teams SET read_down_to = ? WHERE id = ?", (newest, self.team))
        return self._known_up_to(boundary) == began_with and self.known_count() <= last_total

    def _reads(
        self, api: ContactsApi, cutoff: str | None, adds_up: Callable[[], bool]
    ) -> Iterator[ContactPager[Contact]]:
        """The reads of one refresh, each read whole before the next is asked for.

        The whole team is read oldest first: contacts others add meanwhile land at the
        end, and the pages read do not shift. Others' deletes do shift them (importers
        racing in this team delete their copies: importer/copies.py), and a contact
        slips past a page boundary unseen; the count then does not add up (`adds_up`),
        and the team is read again newest first while contacts are deleted
        (`reads_while_deleted`), until every contact that lived through the reads is
        known. A contact missed here was made before the run looked: the run would
        create its row again and keep that later copy as the only one it sees."""

        def newest_first() -> ContactPager[Contact]:
            return api.iter_contacts(
                sort_order="desc",
                stop=None if cutoff is None else (lambda c: created_before(c.created_at, cutoff)),
                seen=NO_MEMORY,  # contacts are kept idempotently: memory stays flat
            )

        if cutoff is None:
            yield api.iter_contacts(sort_order="asc", seen=NO_MEMORY)
            if adds_up():
                return
        yield from reads_while_deleted(newest_first)

    def _known_up_to(self, created_at: str | None) -> int:
        """Contacts known to be in the team, made no later than `created_at`."""
        if created_at is None:
            return 0
        (n,) = self._db.execute(
            "SELECT count(*) FROM contacts WHERE team = ? AND present AND created_at <= ?",
            (self.team, created_at),
        ).fetchone()
        return int(n)

    def _store(self, contacts: Iterable[Contact]) -> str | None:
        """Keep contacts read from the team; the newest createdAt among them."""
        newest: str | None = None
        batch: list[Contact] = []
        for contact in contacts:
            if newest is None or created_before(newest, contact.created_at):
                newest = contact.created_at
            batch.append(contact)
            if len(batch) >= 100:  # a page: what is kept counts at once
                self._keep(batch)
                batch = []
        self._keep(batch)
        return newest

    def _keep(self, contacts: list[Contact]) -> None:
        if not contacts:
            return
        self._db.execute("BEGIN")
        self._db.executemany(
            "INSERT INTO contacts (team, id, created_at, data, read_in) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (team, id) DO UPDATE SET data = excluded.data, present = 1,"
            " read_in = excluded.read_in, created_at = excluded.created_at",
            [
                (self.team, c.id, c.created_at, c.model_dump_json(by_alias=True), self.run)
                for c in contacts
            ],
        )
        self._db.executemany(
            "DELETE FROM keys WHERE team = ? AND contact = ?", [(self.team, c.id) for c in contacts]
        )
        self._db.executemany(
            "INSERT OR IGNORE INTO keys (team, key, contact) VALUES (?, ?, ?)",
            [
                (self.team, key, c.id)
                for c in contacts
                for key in contact_keys(c, ALL_KEYS, self.region)
            ],
        )
        self._db.execute("COMMIT")

    def _clear(self) -> None:
        """Forget the contacts read before (not the hashes of what was written to them)."""
        self._db.execute("BEGIN")
        self._db.execute("DELETE FROM keys WHERE team = ?", (self.team,))
        self._db.execute("DELETE FROM contacts WHERE team = ? AND written IS NULL", (self.team,))
        self._db.execute(
            "UPDATE contacts SET data = NULL, read_in = NULL, present = 0 WHERE team = ?",
            (self.team,),
        )
        self._db.execute("COMMIT")

    def _rekey(self) -> None:
        """Stored numbers without a country code read with this run's region (500
        contacts at a time: memory does not grow with the team)."""
        self._db.execute("UPDATE teams SET region = ? WHERE id = ?", (self.region, self.team))
        after = ""
        while batch := self._db.execute(
            "SELECT id, data FROM contacts WHERE team = ? AND data IS NOT NULL AND id > ?"
            " ORDER BY id LIMIT 500",
            (self.team, after),
        ).fetchall():
            self._keep([Contact.model_validate_json(data) for _, data in batch])
            after = batch[-1][0]

    # -- asking it --------------------------------------------------------------------

    def ids_by_key(self, keys: Iterable[Key]) -> dict[Key, list[str]]:
        """Key → ids of the contacts that have it (only keys some contact has)."""
        ids: dict[Key, list[str]] = {}
        for key, contact in self._by_key("keys", "contact", set(keys)):
            ids.setdefault(key, []).append(contact)
        return ids

    def _by_key(self, table: str, column: str, keys: set[Key]) -> Iterator[Any]:
        """(key, column) of `table`'s rows of this team whose key is among `keys`."""
        items = iter(sorted(keys, key=str))
        while batch := list(islice(items, 500)):
            marks = ", ".join("?" * len(batch))
            yield from self._db.execute(
                f"SELECT key, {column} FROM {table} WHERE team = ? AND key IN ({marks})",
                [self.team, *batch],
            )

    def contact(self, contact_id: str) -> tuple[Contact | None, bool]:
        """The contact as last read, and whether this run read it (None: never read)."""
        row = self._db.execute(
            "SELECT data, read_in FROM contacts WHERE team = ? AND id = ?", (self.team, contact_id)
        ).fetchone()
        if row is None or row[0] is None:
            return None, False
        return Contact.model_validate_json(row[0]), row[1] == self.run

    def written(self, contact_id: str) -> str | None:
        row = self._db.execute(
            "SELECT written FROM contacts WHERE team = ? AND id = ?", (self.team, contact_id)
        ).fetchone()
        return None if row is None else row[0]

    def remember(self, contacts: Iterable[tuple[str, Keys, str | None, Contact | None]]) -> None:
        """Contacts this run wrote: id, keys, hash of the body written, and the contact
        as echowin now has it (when known: its keys are then read from it, replacing
        those it had, since an update may change a number or an email). The
        read-down-to point does not move: the next run still reads what others made
        meanwhile."""
        rows = list(contacts)
        if not rows:
            return
        self._db.execute("BEGIN")
        for contact_id, sent_keys, written, stored in rows:
            keys = sent_keys
            if stored is not None:
                keys = contact_keys(stored, ALL_KEYS, self.region)
                self._db.execute(
                    "DELETE FROM keys WHERE team = ? AND contact = ?", (self.team, contact_id)
                )
            data = None if stored is None else stored.model_dump_json(by_alias=True)
            self._db.execute(
                "INSERT INTO contacts (team, id, created_at, data, read_in, written)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (team, id) DO UPDATE SET"
                " written = coalesce(excluded.written, written), present = 1,"
                " data = coalesce(excluded.data, data),"
                " read_in = coalesce(excluded.read_in, read_in)",
                (
                    self.team,
                    contact_id,
                    None if stored is None else stored.created_at,
                    data,
                    None if stored is None else self.run,
                    written,
                ),
            )
            self._db.executemany(
                "INSERT OR IGNORE INTO keys (team, key, contact) VALUES (?, ?, ?)",
                [(self.team, key, contact_id) for key in keys],
            )
        # a team read while it was empty has no point to read down to: the oldest
        # contact this run made is one (the count check catches anything made before it)
        made = [s.created_at for _, _, _, s in rows if s is not None and s.created_at]
        if made:
            self._db.execute(
                "UPDATE teams SET read_down_to = ? WHERE id = ? AND read_down_to IS NULL",
                (min(made), self.team),
            )
        self._db.execute("COMMIT")

    def mark_unconfirmed(self, keys: Iterable[Keys]) -> None:
        """Rows echowin counted created that no contact matched: a later run does not send
        them again (it reports them `unconfirmed`) until the team is read whole."""
        pairs = [(self.team, key, _now()) for row_keys in keys for key in row_keys]
        if pairs:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO unconfirmed VALUES (?, ?, ?)", pairs)
            self._db.execute("COMMIT")

    def unconfirmed(self, keys: Mapping[int, Keys]) -> set[int]:
        """The rows among `keys` that an earlier run left unconfirmed (one query a chunk,
        none while the team has no such row)."""
        if not self._db.execute(
            "SELECT 1 FROM unconfirmed WHERE team = ? LIMIT 1", (self.team,)
        ).fetchone():
            return set()
        wanted = {key for row_keys in keys.values() for key in row_keys}
        marked = {key for key, _ in self._by_key("unconfirmed", "at", wanted)}
        return {row for row, row_keys in keys.items() if marked.intersection(row_keys)}


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
