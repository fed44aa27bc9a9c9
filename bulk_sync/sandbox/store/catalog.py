"""A team's reference data (tags, boards, users, stages, field schemas) for checking writes."""

from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass

from ..models import DEFAULT_TAG_COLOR, CustomFieldSchema


@dataclass
class Catalog:
    """What a contact write may refer to; loaded once per write transaction."""

    owner_id: str
    tag_ids: set[str]
    tags_by_key: dict[str, str]  # casefolded name -> id
    board_ids: set[str]
    user_ids: set[str]
    stage_ids: set[str]
    schemas: dict[str, CustomFieldSchema]


def load_catalog(conn: sqlite3.Connection, team_id: str) -> Catalog:
    tags = conn.execute("SELECT id, name_key FROM tags WHERE team_id = ?", (team_id,)).fetchall()
    owner = conn.execute("SELECT owner_id FROM teams WHERE id = ?", (team_id,)).fetchone()

    def ids(table: str) -> set[str]:
        rows = conn.execute(f"SELECT id FROM {table} WHERE team_id = ?", (team_id,))
        return {r[0] for r in rows}

    return Catalog(
        owner_id=owner[0],
        tag_ids={t["id"] for t in tags},
        tags_by_key={t["name_key"]: t["id"] for t in tags},
        board_ids=ids("boards"),
        user_ids=ids("users"),
        stage_ids=ids("crm_stages"),
        schemas={s.name: s for s in read_custom_fields(conn, team_id)},
    )


def tag_for_name(
    conn: sqlite3.Connection, now: str, team_id: str, catalog: Catalog, name: str
) -> str:
    """The id of the team's tag with this name (any case), creating the tag if needed."""
    key = name.casefold()
    if key not in catalog.tags_by_key:
        tag_id = str(uuid.uuid4())
        conn.execute(
            "INSERT INTO tags (id, team_id, name, name_key, color, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (tag_id, team_id, name, key, DEFAULT_TAG_COLOR, now, now),
        )
        catalog.tags_by_key[key] = tag_id
        catalog.tag_ids.add(tag_id)
    return catalog.tags_by_key[key]


def read_custom_fields(conn: sqlite3.Connection, team_id: str) -> list[CustomFieldSchema]:
    rows = conn.execute(
        "SELECT id, name, label, type, required, placeholder, help_text, options, ord"
        " FROM custom_field_schemas WHERE team_id = ? ORDER BY ord",
        (team_id,),
    ).fetchall()
    return [
        CustomFieldSchema(
            r["id"],
            r["name"],
            r["label"],
            r["type"],
            bool(r["required"]),
            r["placeholder"],
            r["help_text"],
            None if r["options"] is None else json.loads(r["options"]),
            r["ord"],
        )
        for r in rows
    ]
