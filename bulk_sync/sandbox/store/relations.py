"""What hangs off a contact: its notes, its assigned users, its boards."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Sequence
from typing import Any

from ..models import (
    Assignment,
    Board,
    BoardChange,
    BoardRef,
    FieldError,
    InvalidInput,
    Note,
    StoreError,
    User,
)
from ..rules import check_note_type
from .db import Database, read_users, require_contact


def insert_notes(conn: sqlite3.Connection, rows: Sequence[tuple[str, ...]]) -> None:
    """Rows of (id, contact id, note, type, creator id, created at)."""
    conn.executemany(
        "INSERT INTO notes (id, contact_id, note, type, creator_id, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )


def read_notes(conn: sqlite3.Connection, contact_id: str) -> list[Note]:
    """A contact's notes, oldest first, each with the user who wrote it."""
    rows = conn.execute(
        "SELECT n.id, n.note, n.type, n.created_at, u.id AS uid, u.first_name, u.last_name,"
        " u.email, u.picture FROM notes n JOIN users u ON u.id = n.creator_id"
        " WHERE n.contact_id = ? ORDER BY n.seq",
        (contact_id,),
    ).fetchall()
    return [
        Note(
            r["id"],
            r["note"],
            r["type"],
            r["created_at"],
            User(r["uid"], r["first_name"], r["last_name"], r["email"], r["picture"]),
        )
        for r in rows
    ]


class Notes:
    def __init__(self, db: Database) -> None:
        self._db = db

    def for_contact(self, team_id: str, contact_id: str) -> list[Note]:
        with self._db.read() as conn:
            require_contact(conn, team_id, contact_id)
            return read_notes(conn, contact_id)

    def add(self, team_id: str, contact_id: str, note: str, note_type: str | None) -> Note:
        """A note credited to the team's owner: an API key acts for the team, not a person."""
        errors = [] if note.strip() else [FieldError("note", "Note is required")]
        if problem := check_note_type(note_type):
            errors.append(FieldError("type", problem.message))
        with self._db.tx() as conn:
            require_contact(conn, team_id, contact_id)
            if errors:
                raise InvalidInput(errors)
            owner = conn.execute("SELECT owner_id FROM teams WHERE id = ?", (team_id,)).fetchone()
            note_id = str(uuid.uuid4())
            insert_notes(
                conn,
                [(note_id, contact_id, note, note_type or "GENERAL", owner[0], self._db.now())],
            )
            return next(n for n in read_notes(conn, contact_id) if n.id == note_id)


class Assignments:
    def __init__(self, db: Database) -> None:
        self._db = db

    def for_contact(self, team_id: str, contact_id: str) -> list[Assignment]:
        with self._db.read() as conn:
            require_contact(conn, team_id, contact_id)
            return _assignments(conn, contact_id)

    def assign(
        self, team_id: str, contact_id: str, user_ids: Sequence[str], *, replace: bool
    ) -> list[Assignment]:
        """Add users (keeping others) or replace all; returns the added, or all after replace."""
        wanted = list(dict.fromkeys(user_ids))
        with self._db.tx() as conn:
            require_contact(conn, team_id, contact_id)
            if not set(wanted) <= {u.id for u in read_users(conn, team_id)}:
                raise StoreError("Some users are not members of this team")
            if replace:
                conn.execute("DELETE FROM assignments WHERE contact_id = ?", (contact_id,))
            now = self._db.now()
            added = {
                user_id
                for user_id in wanted
                if conn.execute(
                    "INSERT OR IGNORE INTO assignments (id, contact_id, user_id, assigned_at)"
                    " VALUES (?, ?, ?, ?)",
                    (str(uuid.uuid4()), contact_id, user_id, now),
                ).rowcount
            }
            every = _assignments(conn, contact_id)
        return every if replace else [a for a in every if a.user_id in added]


def _assignments(conn: sqlite3.Connection, contact_id: str) -> list[Assignment]:
    rows = conn.execute(
        "SELECT a.id, a.contact_id, a.user_id, a.assigned_at, u.first_name, u.last_name,"
        " u.email, u.picture FROM assignments a JOIN users u ON u.id = a.user_id"
        " WHERE a.contact_id = ? ORDER BY a.seq",
        (contact_id,),
    ).fetchall()
    return [
        Assignment(
            r["id"],
            r["contact_id"],
            r["user_id"],
            r["assigned_at"],
            User(r["user_id"], r["first_name"], r["last_name"], r["email"], r["picture"]),
        )
        for r in rows
    ]


class Boards:
    def __init__(self, db: Database) -> None:
        self._db = db

    def all(self, team_id: str) -> list[Board]:
        with self._db.read() as conn:
            return _boards(conn, "b.team_id = ?", (team_id,))

    def for_contact(self, team_id: str, contact_id: str) -> list[Board]:
        with self._db.read() as conn:
            require_contact(conn, team_id, contact_id)
            return _boards(
                conn,
                "b.id IN (SELECT board_id FROM board_contacts WHERE contact_id = ?)",
                (contact_id,),
            )

    def place(
        self, team_id: str, contact_id: str, board_ids: Sequence[str] | None, *, replace: bool
    ) -> BoardChange:
        """Add the contact to boards, replace its boards, or (`board_ids=None`) clear them."""
        wanted = list(dict.fromkeys(board_ids or ()))
        with self._db.tx() as conn:
            require_contact(conn, team_id, contact_id)
            rows = conn.execute("SELECT id, name FROM boards WHERE team_id = ?", (team_id,))
            names = {r["id"]: r["name"] for r in rows}
            unknown = [b for b in wanted if b not in names]
            if unknown:
                raise InvalidInput(
                    [FieldError("boardIds", f"Board not found: {b}") for b in unknown]
                )
            on = conn.execute(
                "SELECT board_id FROM board_contacts WHERE contact_id = ?", (contact_id,)
            )
            before = {r[0] for r in on}
            removed = before - set(wanted) if replace else set()
            conn.executemany(
                "DELETE FROM board_contacts WHERE contact_id = ? AND board_id = ?",
                [(contact_id, b) for b in removed],
            )
            now = self._db.now()
            conn.executemany(
                "INSERT OR IGNORE INTO board_contacts (board_id, contact_id, added_at)"
                " VALUES (?, ?, ?)",
                [(b, contact_id, now) for b in wanted],
            )
        return BoardChange(
            boards=[BoardRef(b, names[b]) for b in wanted],
            removed_from=len(removed),
            added_to=len(set(wanted) - before),
        )


def _boards(conn: sqlite3.Connection, where: str, params: Sequence[Any]) -> list[Board]:
    rows = conn.execute(
        "SELECT b.id, b.name, b.description, b.custom_field_schema, b.created_at,"
        " b.updated_at, (SELECT COUNT(*) FROM board_contacts bc WHERE bc.board_id = b.id)"
        f" AS contact_count FROM boards b WHERE {where} ORDER BY b.created_at, b.name",
        params,
    ).fetchall()
    return [
        Board(
            r["id"],
            r["name"],
            r["description"],
            None if r["custom_field_schema"] is None else json.loads(r["custom_field_schema"]),
            r["contact_count"],
            r["created_at"],
            r["updated_at"],
        )
        for r in rows
    ]
