"""Tags (unique per team, case-insensitively) and the custom field schemas."""

from __future__ import annotations

import sqlite3
import uuid

from ..models import (
    DEFAULT_TAG_COLOR,
    CustomFieldSchema,
    FieldError,
    InvalidInput,
    StoreError,
    Tag,
    TagRef,
)
from ..rules import check_color
from .catalog import read_custom_fields
from .db import Database


class Tags:
    def __init__(self, db: Database) -> None:
        self._db = db

    def all(self, team_id: str) -> list[Tag]:
        """The team's tags by name, each with how many contacts carry it."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT t.id, t.name, t.color, t.created_at, t.updated_at,"
                " (SELECT COUNT(*) FROM contact_tags ct WHERE ct.tag_id = t.id) AS n"
                " FROM tags t WHERE t.team_id = ? ORDER BY t.name_key",
                (team_id,),
            ).fetchall()
        return [
            Tag(r["id"], r["name"], r["color"], r["n"], r["created_at"], r["updated_at"])
            for r in rows
        ]

    def refs(self, team_id: str) -> list[TagRef]:
        """Id, name and color of every tag: the `availableTags` of contact responses."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT id, name, color FROM tags WHERE team_id = ? ORDER BY name_key",
                (team_id,),
            )
            return [TagRef(r[0], r[1], r[2]) for r in rows]

    def create(self, team_id: str, name: str, color: str | None) -> Tag:
        """A new tag; refused if the team has one of that name in any case."""
        name = name.strip()
        errors = [] if name else [FieldError("name", "Name is required")]
        if color is not None and (problem := check_color(color)):
            errors.append(problem)
        if errors:
            raise InvalidInput(errors)
        color = color or DEFAULT_TAG_COLOR
        tag_id, now = str(uuid.uuid4()), self._db.now()
        with self._db.tx() as conn:
            try:
                conn.execute(
                    "INSERT INTO tags (id, team_id, name, name_key, color, created_at,"
                    " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (tag_id, team_id, name, name.casefold(), color, now, now),
                )
            except sqlite3.IntegrityError:
                raise StoreError("A tag with this name already exists") from None
        return Tag(tag_id, name, color, 0, now, now)


class CustomFields:
    def __init__(self, db: Database) -> None:
        self._db = db

    def all(self, team_id: str) -> list[CustomFieldSchema]:
        with self._db.read() as conn:
            return read_custom_fields(conn, team_id)
