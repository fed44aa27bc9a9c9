"""Teams: made from the seed, found by API key, counted, wiped."""

from __future__ import annotations

import json
import secrets
import sqlite3
import uuid

from ..models import StageRef, StoreError, TeamInfo
from ..seed import Seed
from .db import Database, read_users

# Seeded rows (users, stages, fields, boards, tags) get uuid5 ids named under their
# team's id, so the default team's ids are the same after every restart and reset.
DEFAULT_TEAM_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "https://bulk-sync.invalid/sandbox/default"))


class Teams:
    def __init__(self, db: Database) -> None:
        self._db = db

    def ensure(self, seed: Seed, api_key: str) -> TeamInfo:
        """The team that owns `api_key`, created from `seed` if no team has it yet.

        The first team made this way is the default team, with stable ids.
        """
        with self._db.tx() as conn:
            row = conn.execute("SELECT id FROM teams WHERE api_key = ?", (api_key,)).fetchone()
            if row is None:
                taken = conn.execute("SELECT 1 FROM teams WHERE id = ?", (DEFAULT_TEAM_ID,))
                team_id = str(uuid.uuid4()) if taken.fetchone() else DEFAULT_TEAM_ID
                self._seed(conn, team_id, api_key, seed)
            else:
                team_id = row["id"]
            return self._info(conn, team_id, api_key)

    def create(self, seed: Seed, api_key: str | None = None) -> TeamInfo:
        """A new team seeded from `seed`, with a fresh key unless one is given."""
        api_key = api_key or "sbx_" + secrets.token_urlsafe(24)
        team_id = str(uuid.uuid4())
        with self._db.tx() as conn:
            if conn.execute("SELECT 1 FROM teams WHERE api_key = ?", (api_key,)).fetchone():
                raise StoreError("A team with this API key already exists")
            self._seed(conn, team_id, api_key, seed)
            return self._info(conn, team_id, api_key)

    def for_key(self, api_key: str) -> str | None:
        with self._db.read() as conn:
            row = conn.execute("SELECT id FROM teams WHERE api_key = ?", (api_key,)).fetchone()
        return None if row is None else str(row["id"])

    def delete_all(self) -> None:
        """Every team and all of its data."""
        with self._db.tx() as conn:
            conn.execute("DELETE FROM teams")
            conn.execute("DELETE FROM sqlite_sequence")

    def contact_counts(self) -> list[tuple[str, int]]:
        """(team id, number of contacts) for every team."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT t.id, COUNT(c.id) FROM teams t LEFT JOIN contacts c ON c.team_id = t.id"
                " GROUP BY t.id ORDER BY t.created_at, t.id"
            ).fetchall()
        return [(r[0], r[1]) for r in rows]

    def _info(self, conn: sqlite3.Connection, team_id: str, api_key: str) -> TeamInfo:
        stages = conn.execute(
            "SELECT id, name FROM crm_stages WHERE team_id = ? ORDER BY ord", (team_id,)
        )
        return TeamInfo(
            team_id, api_key, read_users(conn, team_id), [StageRef(r[0], r[1]) for r in stages]
        )

    def _seed(self, db: sqlite3.Connection, team_id: str, api_key: str, seed: Seed) -> None:
        now = self._db.now()
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
                (
                    derived("user", u.email),
                    team_id,
                    u.first_name,
                    u.last_name,
                    u.email,
                    u.picture,
                    i,
                )
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
                (
                    derived("field", f.name),
                    team_id,
                    f.name,
                    f.label,
                    f.type,
                    int(f.required),
                    f.placeholder,
                    f.help_text,
                    None if f.options is None else json.dumps(f.options),
                    i + 1,
                )
                for i, f in enumerate(seed.custom_fields)
            ],
        )
        db.executemany(
            "INSERT INTO boards (id, team_id, name, description, custom_field_schema,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    derived("board", b.name),
                    team_id,
                    b.name,
                    b.description,
                    None
                    if b.custom_field_schema is None
                    else json.dumps(
                        {"id": derived("board-schema", b.name), **b.custom_field_schema}
                    ),
                    now,
                    now,
                )
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
