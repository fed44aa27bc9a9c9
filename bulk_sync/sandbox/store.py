"""The sandbox's state: SQLite storage for teams and their contacts, tags, boards.

No HTTP here. Every public method takes the caller's team id first and sees only
that team's rows. One connection serves all threads behind one lock, and every
write is one transaction, so a bulk request of 100 contacts commits whole or not
at all, and concurrent requests never interleave inside each other.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from . import rules
from .models import (
    DEFAULT_TAG_COLOR,
    Assignment,
    Board,
    BoardChange,
    BoardRef,
    BulkSummary,
    Contact,
    ContactInput,
    ContactPage,
    CustomFieldSchema,
    FieldError,
    InvalidInput,
    Note,
    NotFound,
    StageRef,
    StoreError,
    Tag,
    TagRef,
    TeamInfo,
    User,
)
from .seed import Seed

SORT_COLUMNS = {
    "createdAt": "c.created_at",
    "firstName": "c.first_name COLLATE NOCASE",
    "lastName": "c.last_name COLLATE NOCASE",
    "email": "c.email COLLATE NOCASE",
    "number": "c.number",
}
_SCHEMA = resources.files(__package__).joinpath("schema.sql").read_text(encoding="utf-8")
# Derived ids (seeded users, tags, boards...) are uuid5 names under the team's id, so
# the default team's seeded ids are the same after every restart and reset.
_DEFAULT_TEAM_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "https://bulk-sync.invalid/sandbox/default"))


def utc_timestamp(now: datetime) -> str:
    """echowin's timestamp form: `2024-01-01T00:00:00.000Z`."""
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


@dataclass
class _Catalog:
    """One team's reference data, loaded once per write transaction."""

    owner_id: str
    tag_ids: set[str]
    tags_by_key: dict[str, str]
    board_ids: set[str]
    user_ids: set[str]
    stage_ids: set[str]
    schemas: dict[str, CustomFieldSchema]
    new_tags: dict[str, str] = field(default_factory=dict)


class Store:
    """SQLite-backed sandbox state. `path=None` keeps it in memory."""

    def __init__(
        self, path: str | Path | None = None, *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(
            ":memory:" if path is None else str(path),
            check_same_thread=False,
            isolation_level=None,  # transactions are explicit: see _tx()
        )
        self._conn.row_factory = sqlite3.Row
        if path is not None:
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- plumbing ---------------------------------------------------------------------

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._conn

    def _now(self) -> str:
        return utc_timestamp(self._clock())

    # -- teams ------------------------------------------------------------------------

    def ensure_team(self, seed: Seed, api_key: str) -> TeamInfo:
        """The team that owns `api_key`, created from `seed` if no team has it yet.

        The first team made this way is the default team, with stable ids.
        """
        with self._tx() as db:
            row = db.execute("SELECT id FROM teams WHERE api_key = ?", (api_key,)).fetchone()
            if row is None:
                taken = db.execute("SELECT 1 FROM teams WHERE id = ?", (_DEFAULT_TEAM_ID,))
                team_id = str(uuid.uuid4()) if taken.fetchone() else _DEFAULT_TEAM_ID
                self._seed_team(db, team_id, api_key, seed)
            else:
                team_id = row["id"]
            return self._team_info(db, team_id, api_key)

    def create_team(self, seed: Seed, api_key: str | None = None) -> TeamInfo:
        """A new team seeded from `seed`, with a fresh key unless one is given."""
        api_key = api_key or "sbx_" + secrets.token_urlsafe(24)
        team_id = str(uuid.uuid4())
        with self._tx() as db:
            if db.execute("SELECT 1 FROM teams WHERE api_key = ?", (api_key,)).fetchone():
                raise StoreError("A team with this API key already exists")
            self._seed_team(db, team_id, api_key, seed)
            return self._team_info(db, team_id, api_key)

    def team_for_key(self, api_key: str) -> str | None:
        with self._read() as db:
            row = db.execute("SELECT id FROM teams WHERE api_key = ?", (api_key,)).fetchone()
        return None if row is None else str(row["id"])

    def reset(self) -> None:
        """Delete every team and all their data."""
        with self._tx() as db:
            db.execute("DELETE FROM teams")
            db.execute("DELETE FROM sqlite_sequence")

    def contact_counts(self) -> list[tuple[str, int]]:
        """(team id, number of contacts) for every team."""
        with self._read() as db:
            rows = db.execute(
                "SELECT t.id, COUNT(c.id) FROM teams t LEFT JOIN contacts c ON c.team_id = t.id"
                " GROUP BY t.id ORDER BY t.created_at, t.id"
            ).fetchall()
        return [(r[0], r[1]) for r in rows]

    def _seed_team(self, db: sqlite3.Connection, team_id: str, api_key: str, seed: Seed) -> None:
        now = self._now()
        ns = uuid.UUID(team_id)

        def derived(kind: str, name: str) -> str:
            return str(uuid.uuid5(ns, f"{kind}:{name}"))

        owner_id = derived("user", seed.users[0].email)
        db.execute(
            "INSERT INTO teams (id, name, api_key, owner_id, created_at) VALUES (?, ?, ?, ?, ?)",
            (team_id, seed.team.name, api_key, owner_id, now),
        )
        db.executemany(
            "INSERT INTO users (id, team_id, first_name, last_name, email, picture, ord)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (derived("user", u.email), team_id, u.first_name, u.last_name, u.email,
                 u.picture, i)
                for i, u in enumerate(seed.users)
            ],
        )
        db.executemany(
            "INSERT INTO crm_stages (id, team_id, name, ord) VALUES (?, ?, ?, ?)",
            [(derived("stage", s), team_id, s, i) for i, s in enumerate(seed.crm_stages)],
        )
        db.executemany(
            "INSERT INTO custom_field_schemas (id, team_id, name, label, type, required,"
            " placeholder, help_text, options, ord) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (derived("field", f.name), team_id, f.name, f.label, f.type, int(f.required),
                 f.placeholder, f.help_text,
                 None if f.options is None else json.dumps(f.options), i + 1)
                for i, f in enumerate(seed.custom_fields)
            ],
        )
        db.executemany(
            "INSERT INTO boards (id, team_id, name, description, custom_field_schema,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (derived("board", b.name), team_id, b.name, b.description,
                 None if b.custom_field_schema is None else json.dumps(
                     {"id": derived("board-schema", b.name), **b.custom_field_schema}),
                 now, now)
                for b in seed.boards
            ],
        )
        db.executemany(
            "INSERT INTO tags (id, team_id, name, name_key, color, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (derived("tag", t.name), team_id, t.name, t.name.casefold(), t.color, now, now)
                for t in seed.tags
            ],
        )

    def _team_info(self, db: sqlite3.Connection, team_id: str, api_key: str) -> TeamInfo:
        stages = db.execute(
            "SELECT id, name FROM crm_stages WHERE team_id = ? ORDER BY ord", (team_id,)
        )
        return TeamInfo(team_id, api_key, self._users(db, team_id),
                        [StageRef(r[0], r[1]) for r in stages])

    def _users(self, db: sqlite3.Connection, team_id: str) -> list[User]:
        rows = db.execute(
            "SELECT id, first_name, last_name, email, picture FROM users"
            " WHERE team_id = ? ORDER BY ord",
            (team_id,),
        ).fetchall()
        return [_user(r) for r in rows]

    def _catalog(self, db: sqlite3.Connection, team_id: str) -> _Catalog:
        tags = db.execute("SELECT id, name_key FROM tags WHERE team_id = ?", (team_id,)).fetchall()
        owner = db.execute("SELECT owner_id FROM teams WHERE id = ?", (team_id,)).fetchone()

        def ids(table: str) -> set[str]:
            rows = db.execute(f"SELECT id FROM {table} WHERE team_id = ?", (team_id,))
            return {r[0] for r in rows}

        return _Catalog(
            owner_id=owner[0],
            tag_ids={t["id"] for t in tags},
            tags_by_key={t["name_key"]: t["id"] for t in tags},
            board_ids=ids("boards"),
            user_ids=ids("users"),
            stage_ids=ids("crm_stages"),
            schemas={s.name: s for s in self._custom_fields(db, team_id)},
        )

    # -- contacts: reading ------------------------------------------------------------

    def list_contacts(
        self,
        team_id: str,
        *,
        page: int = 1,
        limit: int = 20,
        search: str | None = None,
        sort_by: str = "createdAt",
        sort_order: str = "desc",
        tag_ids: Sequence[str] = (),
    ) -> ContactPage:
        """One page of the team's contacts; a page past the end is empty."""
        where = ["c.team_id = ?"]
        params: list[Any] = [team_id]
        if search:
            where.append("instr(c.search_text, ?) > 0")
            params.append(search.lower())
        if tag_ids:
            marks = ", ".join("?" * len(tag_ids))
            where.append(
                f"c.id IN (SELECT contact_id FROM contact_tags WHERE tag_id IN ({marks}))"
            )
            params.extend(tag_ids)
        clause = " AND ".join(where)
        direction = "ASC" if sort_order == "asc" else "DESC"
        order = f"{SORT_COLUMNS[sort_by]} {direction}, c.seq {direction}"
        offset = (page - 1) * limit
        with self._read() as db:
            total = db.execute(f"SELECT COUNT(*) FROM contacts c WHERE {clause}", params)
            total_count = int(total.fetchone()[0])
            if offset >= total_count:
                return ContactPage([], page, limit, total_count)
            rows = db.execute(
                f"{_CONTACT_SELECT} WHERE {clause} ORDER BY {order} LIMIT ? OFFSET ?",
                [*params, limit, offset],
            ).fetchall()
            contacts = self._contacts(db, rows)
        return ContactPage(contacts, page, limit, total_count)

    def get_contact(self, team_id: str, contact_id: str, *, with_notes: bool = False) -> Contact:
        with self._read() as db:
            return self._contact(db, team_id, contact_id, with_notes=with_notes)

    def _contact(
        self, db: sqlite3.Connection, team_id: str, contact_id: str, *, with_notes: bool = False
    ) -> Contact:
        row = db.execute(
            f"{_CONTACT_SELECT} WHERE c.id = ? AND c.team_id = ?", (contact_id, team_id)
        ).fetchone()
        if row is None:
            raise NotFound("Contact not found")
        (contact,) = self._contacts(db, [row])
        if with_notes:
            contact = _with_notes(contact, self._notes(db, contact_id))
        return contact

    def _contacts(self, db: sqlite3.Connection, rows: Sequence[sqlite3.Row]) -> list[Contact]:
        ids = [r["id"] for r in rows]
        tags: dict[str, list[TagRef]] = {cid: [] for cid in ids}
        marks = ", ".join("?" * len(ids))
        for t in db.execute(
            "SELECT ct.contact_id, t.id, t.name, t.color FROM contact_tags ct"
            f" JOIN tags t ON t.id = ct.tag_id WHERE ct.contact_id IN ({marks})"
            " ORDER BY t.name_key",
            ids,
        ):
            tags[t[0]].append(TagRef(t[1], t[2], t[3]))
        return [
            Contact(
                id=r["id"],
                first_name=r["first_name"],
                last_name=r["last_name"],
                email=r["email"],
                number=r["number"],
                carrier=r["carrier"],
                custom_fields=json.loads(r["custom_fields"]),
                tags=tags[r["id"]],
                crm_stage=None if r["stage_id"] is None else StageRef(r["stage_id"], r["stage"]),
                created_at=r["created_at"],
            )
            for r in rows
        ]

    def assert_contact(self, db: sqlite3.Connection, team_id: str, contact_id: str) -> None:
        row = db.execute(
            "SELECT 1 FROM contacts WHERE id = ? AND team_id = ?", (contact_id, team_id)
        ).fetchone()
        if row is None:
            raise NotFound("Contact not found")

    # -- contacts: writing ------------------------------------------------------------

    def create_contact(self, team_id: str, data: ContactInput) -> Contact:
        """Create one contact; raises InvalidInput listing every bad field."""
        with self._tx() as db:
            catalog = self._catalog(db, team_id)
            errors = self._check_contact(catalog, data, creating=True)
            if errors:
                raise InvalidInput(errors)
            contact_id = self._insert_contact(db, team_id, catalog, data)
            return self._contact(db, team_id, contact_id)

    def bulk_create(self, team_id: str, items: Sequence[ContactInput | None]) -> BulkSummary:
        """Create the valid contacts among `items` in one transaction.

        `None` stands for an item the caller already found malformed; it counts as an
        error. Like echowin, the summary only counts: it does not say which items failed.
        """
        created = 0
        with self._tx() as db:
            catalog = self._catalog(db, team_id)
            for data in items:
                if data is None or self._check_contact(catalog, data, creating=True):
                    continue
                self._insert_contact(db, team_id, catalog, data)
                created += 1
        return BulkSummary(requested=len(items), created=created, errors=len(items) - created)

    def update_contact(self, team_id: str, contact_id: str, data: ContactInput) -> Contact:
        """Change the fields the client sent; tags sent replace all tags."""
        sent = data.fields_set
        with self._tx() as db:
            self.assert_contact(db, team_id, contact_id)
            catalog = self._catalog(db, team_id)
            errors = self._check_contact(catalog, data, creating=False)
            if errors:
                raise InvalidInput(errors)
            row = db.execute(
                "SELECT first_name, last_name, email, number, carrier, custom_fields,"
                " crm_stage_id FROM contacts WHERE id = ?",
                (contact_id,),
            ).fetchone()
            values = dict(row)
            for column, name in _UPDATABLE.items():
                if name in sent:
                    values[column] = getattr(data, name)
            if "number" in sent:
                values["number"] = rules.clean_number(data.number or "")
            if "custom_fields" in sent and data.custom_fields is not None:
                merged = json.loads(row["custom_fields"])
                for key, value in data.custom_fields.items():
                    if value is None:
                        merged.pop(key, None)
                    else:
                        merged[key] = value
                values["custom_fields"] = json.dumps(merged)
            db.execute(
                "UPDATE contacts SET first_name = ?, last_name = ?, email = ?, number = ?,"
                " carrier = ?, custom_fields = ?, crm_stage_id = ?, search_text = ?,"
                " updated_at = ? WHERE id = ?",
                (
                    values["first_name"], values["last_name"], values["email"],
                    values["number"], values["carrier"], values["custom_fields"],
                    values["crm_stage_id"],
                    rules.search_text(values["first_name"], values["last_name"],
                                      values["email"], values["number"]),
                    self._now(), contact_id,
                ),
            )
            if {"tag_ids", "tag_names"} & sent:
                db.execute("DELETE FROM contact_tags WHERE contact_id = ?", (contact_id,))
                self._tag_contact(db, team_id, catalog, contact_id, data)
            return self._contact(db, team_id, contact_id)

    def delete_contact(self, team_id: str, contact_id: str) -> None:
        with self._tx() as db:
            gone = db.execute(
                "DELETE FROM contacts WHERE id = ? AND team_id = ?", (contact_id, team_id)
            )
            if gone.rowcount == 0:
                raise NotFound("Contact not found")

    def _check_contact(
        self, catalog: _Catalog, data: ContactInput, *, creating: bool
    ) -> list[FieldError]:
        sent = data.fields_set
        errors: list[FieldError] = []
        if creating or "number" in sent:
            _, problem = rules.check_number(data.number, required=True)
            if problem:
                errors.append(problem)
        if problem := rules.check_email(data.email):
            errors.append(problem)
        if data.custom_fields:
            errors.extend(rules.check_custom_fields(data.custom_fields, catalog.schemas))
        for name, known, label in (
            ("tagIds", catalog.tag_ids, "Tag"),
            ("boardIds", catalog.board_ids, "Board"),
        ):
            wanted = data.tag_ids if name == "tagIds" else data.board_ids
            errors.extend(
                FieldError(name, f"{label} not found: {x}") for x in wanted or () if x not in known
            )
        if data.tag_names and any(not n.strip() for n in data.tag_names):
            errors.append(FieldError("tagNames", "Tag names must not be empty"))
        if data.assign_user_ids and not set(data.assign_user_ids) <= catalog.user_ids:
            errors.append(FieldError("assignUserIds", "Some users are not members of this team"))
        if data.crm_stage_id is not None and data.crm_stage_id not in catalog.stage_ids:
            errors.append(FieldError("crmStageId", f"CRM stage not found: {data.crm_stage_id}"))
        if data.note is not None and not data.note.strip():
            errors.append(FieldError("note.note", "Note is required"))
        if problem := rules.check_note_type(data.note_type):
            errors.append(problem)
        return errors

    def _insert_contact(
        self, db: sqlite3.Connection, team_id: str, catalog: _Catalog, data: ContactInput
    ) -> str:
        contact_id = str(uuid.uuid4())
        now = self._now()
        number = rules.clean_number(data.number or "")
        custom = {k: v for k, v in (data.custom_fields or {}).items() if v is not None}
        db.execute(
            "INSERT INTO contacts (id, team_id, first_name, last_name, email, number, carrier,"
            " custom_fields, crm_stage_id, search_text, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                contact_id, team_id, data.first_name, data.last_name, data.email or None,
                number, data.carrier, json.dumps(custom), data.crm_stage_id,
                rules.search_text(data.first_name, data.last_name, data.email, number),
                now, now,
            ),
        )
        self._tag_contact(db, team_id, catalog, contact_id, data)
        if data.note is not None:
            self._insert_note(db, contact_id, data.note, data.note_type, catalog.owner_id)
        for user_id in dict.fromkeys(data.assign_user_ids or ()):
            db.execute(
                "INSERT INTO assignments (id, contact_id, user_id, assigned_at)"
                " VALUES (?, ?, ?, ?)",
                (str(uuid.uuid4()), contact_id, user_id, now),
            )
        db.executemany(
            "INSERT INTO board_contacts (board_id, contact_id, added_at) VALUES (?, ?, ?)",
            [(b, contact_id, now) for b in dict.fromkeys(data.board_ids or ())],
        )
        return contact_id

    def _tag_contact(
        self,
        db: sqlite3.Connection,
        team_id: str,
        catalog: _Catalog,
        contact_id: str,
        data: ContactInput,
    ) -> None:
        tag_ids = list(data.tag_ids or ())
        for name in data.tag_names or ():
            tag_ids.append(self._tag_for_name(db, team_id, catalog, name.strip()))
        db.executemany(
            "INSERT INTO contact_tags (contact_id, tag_id) VALUES (?, ?)",
            [(contact_id, t) for t in dict.fromkeys(tag_ids)],
        )

    def _tag_for_name(
        self, db: sqlite3.Connection, team_id: str, catalog: _Catalog, name: str
    ) -> str:
        key = name.casefold()
        if key not in catalog.tags_by_key:
            tag_id = str(uuid.uuid4())
            now = self._now()
            db.execute(
                "INSERT INTO tags (id, team_id, name, name_key, color, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (tag_id, team_id, name, key, DEFAULT_TAG_COLOR, now, now),
            )
            catalog.tags_by_key[key] = tag_id
            catalog.tag_ids.add(tag_id)
        return catalog.tags_by_key[key]

    # -- notes ------------------------------------------------------------------------

    def list_notes(self, team_id: str, contact_id: str) -> list[Note]:
        with self._read() as db:
            self.assert_contact(db, team_id, contact_id)
            return self._notes(db, contact_id)

    def add_note(self, team_id: str, contact_id: str, note: str, note_type: str | None) -> Note:
        errors = [] if note.strip() else [FieldError("note", "Note is required")]
        if problem := rules.check_note_type(note_type):
            errors.append(FieldError("type", problem.message))
        with self._tx() as db:
            self.assert_contact(db, team_id, contact_id)
            if errors:
                raise InvalidInput(errors)
            owner = db.execute("SELECT owner_id FROM teams WHERE id = ?", (team_id,)).fetchone()
            note_id = self._insert_note(db, contact_id, note, note_type, owner[0])
            return next(n for n in self._notes(db, contact_id) if n.id == note_id)

    def _insert_note(
        self, db: sqlite3.Connection, contact_id: str, note: str, note_type: str | None,
        creator_id: str,
    ) -> str:
        note_id = str(uuid.uuid4())
        db.execute(
            "INSERT INTO notes (id, contact_id, note, type, creator_id, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (note_id, contact_id, note, note_type or "GENERAL", creator_id, self._now()),
        )
        return note_id

    def _notes(self, db: sqlite3.Connection, contact_id: str) -> list[Note]:
        rows = db.execute(
            "SELECT n.id, n.note, n.type, n.created_at, u.id AS uid, u.first_name, u.last_name,"
            " u.email, u.picture FROM notes n JOIN users u ON u.id = n.creator_id"
            " WHERE n.contact_id = ? ORDER BY n.seq",
            (contact_id,),
        ).fetchall()
        return [
            Note(r["id"], r["note"], r["type"], r["created_at"],
                 User(r["uid"], r["first_name"], r["last_name"], r["email"], r["picture"]))
            for r in rows
        ]

    # -- assignments ------------------------------------------------------------------

    def list_assignments(self, team_id: str, contact_id: str) -> list[Assignment]:
        with self._read() as db:
            self.assert_contact(db, team_id, contact_id)
            return self._assignments(db, contact_id)

    def assign_users(
        self, team_id: str, contact_id: str, user_ids: Sequence[str], *, replace: bool
    ) -> list[Assignment]:
        """Add users (keeping others) or replace all; returns the added, or all after replace."""
        wanted = list(dict.fromkeys(user_ids))
        with self._tx() as db:
            self.assert_contact(db, team_id, contact_id)
            members = {u.id for u in self._users(db, team_id)}
            if not set(wanted) <= members:
                raise StoreError("Some users are not members of this team")
            if replace:
                db.execute("DELETE FROM assignments WHERE contact_id = ?", (contact_id,))
            now = self._now()
            added: list[str] = []
            for user_id in wanted:
                cur = db.execute(
                    "INSERT OR IGNORE INTO assignments (id, contact_id, user_id, assigned_at)"
                    " VALUES (?, ?, ?, ?)",
                    (str(uuid.uuid4()), contact_id, user_id, now),
                )
                if cur.rowcount:
                    added.append(user_id)
            every = self._assignments(db, contact_id)
        return every if replace else [a for a in every if a.user_id in added]

    def _assignments(self, db: sqlite3.Connection, contact_id: str) -> list[Assignment]:
        rows = db.execute(
            "SELECT a.id, a.contact_id, a.user_id, a.assigned_at, u.first_name, u.last_name,"
            " u.email, u.picture FROM assignments a JOIN users u ON u.id = a.user_id"
            " WHERE a.contact_id = ? ORDER BY a.seq",
            (contact_id,),
        ).fetchall()
        return [
            Assignment(r["id"], r["contact_id"], r["user_id"], r["assigned_at"],
                       User(r["user_id"], r["first_name"], r["last_name"], r["email"],
                            r["picture"]))
            for r in rows
        ]

    # -- boards -----------------------------------------------------------------------

    def list_boards(self, team_id: str, contact_id: str | None = None) -> list[Board]:
        """The team's boards, or only those the contact is on."""
        with self._read() as db:
            if contact_id is None:
                return self._boards(db, "b.team_id = ?", (team_id,))
            self.assert_contact(db, team_id, contact_id)
            return self._boards(
                db, "b.id IN (SELECT board_id FROM board_contacts WHERE contact_id = ?)",
                (contact_id,),
            )

    def set_contact_boards(
        self, team_id: str, contact_id: str, board_ids: Sequence[str] | None, *, replace: bool
    ) -> BoardChange:
        """Add the contact to boards, replace its boards, or (`board_ids=None`) clear them."""
        wanted = list(dict.fromkeys(board_ids or ()))
        with self._tx() as db:
            self.assert_contact(db, team_id, contact_id)
            names = {
                r["id"]: r["name"]
                for r in db.execute("SELECT id, name FROM boards WHERE team_id = ?", (team_id,))
            }
            unknown = [b for b in wanted if b not in names]
            if unknown:
                raise InvalidInput([FieldError("boardIds", f"Board not found: {b}")
                                    for b in unknown])
            before = {
                r[0]
                for r in db.execute(
                    "SELECT board_id FROM board_contacts WHERE contact_id = ?", (contact_id,)
                )
            }
            removed = before - set(wanted) if replace or board_ids is None else set()
            db.executemany(
                "DELETE FROM board_contacts WHERE contact_id = ? AND board_id = ?",
                [(contact_id, b) for b in removed],
            )
            now = self._now()
            db.executemany(
                "INSERT OR IGNORE INTO board_contacts (board_id, contact_id, added_at)"
                " VALUES (?, ?, ?)",
                [(b, contact_id, now) for b in wanted],
            )
        return BoardChange(
            boards=[BoardRef(b, names[b]) for b in wanted],
            removed_from=len(removed),
            added_to=len(set(wanted) - before),
        )

    def _boards(self, db: sqlite3.Connection, where: str, params: Sequence[Any]) -> list[Board]:
        rows = db.execute(
            "SELECT b.id, b.name, b.description, b.custom_field_schema, b.created_at,"
            " b.updated_at, (SELECT COUNT(*) FROM board_contacts bc WHERE bc.board_id = b.id)"
            f" AS contact_count FROM boards b WHERE {where} ORDER BY b.created_at, b.name",
            params,
        ).fetchall()
        return [
            Board(r["id"], r["name"], r["description"],
                  None if r["custom_field_schema"] is None else json.loads(r["custom_field_schema"]),
                  r["contact_count"], r["created_at"], r["updated_at"])
            for r in rows
        ]

    # -- tags and custom fields -------------------------------------------------------

    def list_tags(self, team_id: str) -> list[Tag]:
        with self._read() as db:
            rows = db.execute(
                "SELECT t.id, t.name, t.color, t.created_at, t.updated_at,"
                " (SELECT COUNT(*) FROM contact_tags ct WHERE ct.tag_id = t.id) AS n"
                " FROM tags t WHERE t.team_id = ? ORDER BY t.name_key",
                (team_id,),
            ).fetchall()
        return [Tag(r["id"], r["name"], r["color"], r["n"], r["created_at"], r["updated_at"])
                for r in rows]

    def create_tag(self, team_id: str, name: str, color: str | None) -> Tag:
        """A new tag; names are unique per team, case-insensitively."""
        name = name.strip()
        errors = [] if name else [FieldError("name", "Name is required")]
        if color is not None and (problem := rules.check_color(color)):
            errors.append(problem)
        if errors:
            raise InvalidInput(errors)
        tag_id, now = str(uuid.uuid4()), self._now()
        with self._tx() as db:
            try:
                db.execute(
                    "INSERT INTO tags (id, team_id, name, name_key, color, created_at,"
                    " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (tag_id, team_id, name, name.casefold(), color or DEFAULT_TAG_COLOR,
                     now, now),
                )
            except sqlite3.IntegrityError:
                raise StoreError("A tag with this name already exists") from None
        return Tag(tag_id, name, color or DEFAULT_TAG_COLOR, 0, now, now)

    def available_tags(self, team_id: str) -> list[TagRef]:
        with self._read() as db:
            rows = db.execute(
                "SELECT id, name, color FROM tags WHERE team_id = ? ORDER BY name_key",
                (team_id,),
            )
            return [TagRef(r[0], r[1], r[2]) for r in rows]

    def list_custom_fields(self, team_id: str) -> list[CustomFieldSchema]:
        with self._read() as db:
            return self._custom_fields(db, team_id)

    def _custom_fields(self, db: sqlite3.Connection, team_id: str) -> list[CustomFieldSchema]:
        rows = db.execute(
            "SELECT id, name, label, type, required, placeholder, help_text, options, ord"
            " FROM custom_field_schemas WHERE team_id = ? ORDER BY ord",
            (team_id,),
        ).fetchall()
        return [
            CustomFieldSchema(r["id"], r["name"], r["label"], r["type"], bool(r["required"]),
                              r["placeholder"], r["help_text"],
                              None if r["options"] is None else json.loads(r["options"]),
                              r["ord"])
            for r in rows
        ]


_CONTACT_SELECT = (
    "SELECT c.id, c.first_name, c.last_name, c.email, c.number, c.carrier, c.custom_fields,"
    " c.created_at, s.id AS stage_id, s.name AS stage"
    " FROM contacts c LEFT JOIN crm_stages s ON s.id = c.crm_stage_id"
)
# contacts column -> ContactInput attribute, for the fields an update copies as sent
_UPDATABLE = {
    "first_name": "first_name",
    "last_name": "last_name",
    "email": "email",
    "carrier": "carrier",
    "crm_stage_id": "crm_stage_id",
}


def _user(row: sqlite3.Row) -> User:
    return User(row["id"], row["first_name"], row["last_name"], row["email"], row["picture"])


def _with_notes(contact: Contact, notes: list[Note]) -> Contact:
    return replace(contact, notes=notes)
