"""Contacts: listing, reading, and the writes that check every field first."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from .. import rules
from ..models import (
    BulkSummary,
    Contact,
    ContactInput,
    ContactPage,
    FieldError,
    InvalidInput,
    NotFound,
    StageRef,
    TagRef,
)
from ..ties import TieOrder
from .catalog import Catalog, load_catalog, tag_for_name
from .db import Database, require_contact
from .relations import insert_notes, read_notes

SORT_COLUMNS = {
    "createdAt": "c.created_at",
    "firstName": "c.first_name COLLATE NOCASE",
    "lastName": "c.last_name COLLATE NOCASE",
    "email": "c.email COLLATE NOCASE",
    "number": "c.number",
}
_SELECT = (
    "SELECT c.id, c.first_name, c.last_name, c.email, c.number, c.carrier, c.custom_fields,"
    " c.created_at, s.id AS stage_id, s.name AS stage"
    " FROM contacts c LEFT JOIN crm_stages s ON s.id = c.crm_stage_id"
)
# ContactInput attributes an update copies into the column of the same name, as sent
_COPIED = ("first_name", "last_name", "email", "carrier", "crm_stage_id")


class Contacts:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- reading ----------------------------------------------------------------------

    def page(
        self,
        team_id: str,
        *,
        page: int = 1,
        limit: int = 20,
        search: str | None = None,
        sort_by: str = "createdAt",
        sort_order: str = "desc",
        tag_ids: Sequence[str] = (),
        ties: TieOrder | None = None,
    ) -> ContactPage:
        """One page of the team's contacts; a page past the end is empty.

        Rows that tie on the sort key come in creation order (reversed for `desc`), or,
        given `ties`, in that request's random order.
        """
        where = ["c.team_id = ?"]
        params: list[Any] = [team_id]
        if search:
            where.append("instr(c.search_text, ?) > 0")
            params.append(search.lower())
        if tag_ids:
            marks = ", ".join("?" * len(tag_ids))
            where.append(f"c.id IN (SELECT contact_id FROM contact_tags WHERE tag_id IN ({marks}))")
            params.extend(tag_ids)
        clause = " AND ".join(where)
        direction = "ASC" if sort_order == "asc" else "DESC"
        # seq breaks ties, so a page boundary never splits or repeats rows; with unstable
        # ties, a key drawn for this request does, so the next request may split them anew
        breaker = f"c.seq {direction}" if ties is None else ties.sql()
        order = f"{SORT_COLUMNS[sort_by]} {direction}, {breaker}"
        offset = (page - 1) * limit
        with self._db.read() as conn:
            total = conn.execute(f"SELECT COUNT(*) FROM contacts c WHERE {clause}", params)
            total_count = int(total.fetchone()[0])
            if offset >= total_count:
                return ContactPage([], page, limit, total_count)
            # Skip the offset inside the index (seq is the rowid), not over whole rows:
            # deep pages of a large team stay cheap.
            rows = conn.execute(
                f"{_SELECT} WHERE c.seq IN (SELECT c.seq FROM contacts c WHERE {clause}"
                f" ORDER BY {order} LIMIT ? OFFSET ?) ORDER BY {order}",
                [*params, limit, offset],
            ).fetchall()
            return ContactPage(_contacts(conn, rows), page, limit, total_count)

    def get(self, team_id: str, contact_id: str, *, with_notes: bool = False) -> Contact:
        with self._db.read() as conn:
            contact = _contact(conn, team_id, contact_id)
            return replace(contact, notes=read_notes(conn, contact_id)) if with_notes else contact

    # -- writing ----------------------------------------------------------------------

    def create(self, team_id: str, data: ContactInput) -> Contact:
        """Create one contact; raises InvalidInput listing every bad field."""
        with self._db.tx() as conn:
            catalog = load_catalog(conn, team_id)
            errors = check_contact(catalog, data, creating=True)
            if errors:
                raise InvalidInput(errors)
            (contact_id,) = self._insert(conn, team_id, catalog, [data])
            return _contact(conn, team_id, contact_id)

    def bulk_create(self, team_id: str, items: Sequence[ContactInput | None]) -> BulkSummary:
        """Create the valid contacts among `items` in one transaction.

        `None` stands for an item the caller already found malformed; it counts as an
        error. Like echowin, the summary only counts: it does not say which items failed.
        """
        with self._db.tx() as conn:
            catalog = load_catalog(conn, team_id)
            valid = [
                data
                for data in items
                if data is not None and not check_contact(catalog, data, creating=True)
            ]
            created = len(self._insert(conn, team_id, catalog, valid))
        return BulkSummary(requested=len(items), created=created, errors=len(items) - created)

    def update(self, team_id: str, contact_id: str, data: ContactInput) -> Contact:
        """Change the fields the client sent; tags sent replace all tags."""
        sent = data.fields_set
        with self._db.tx() as conn:
            require_contact(conn, team_id, contact_id)
            catalog = load_catalog(conn, team_id)
            errors = check_contact(catalog, data, creating=False)
            if errors:
                raise InvalidInput(errors)
            row = conn.execute(
                "SELECT first_name, last_name, email, number, carrier, custom_fields,"
                " crm_stage_id FROM contacts WHERE id = ?",
                (contact_id,),
            ).fetchone()
            values = dict(row)
            values.update({name: getattr(data, name) for name in _COPIED if name in sent})
            values["email"] = values["email"] or None  # "" clears, as on create
            if "number" in sent:
                values["number"] = rules.clean_number(data.number or "")
            if data.custom_fields is not None:
                merged = json.loads(row["custom_fields"]) | data.custom_fields
                values["custom_fields"] = json.dumps(
                    {k: v for k, v in merged.items() if v is not None}  # null removes a key
                )
            search = rules.search_text(
                values["first_name"], values["last_name"], values["email"], values["number"]
            )
            conn.execute(
                "UPDATE contacts SET first_name = :first_name, last_name = :last_name,"
                " email = :email, number = :number, carrier = :carrier,"
                " custom_fields = :custom_fields, crm_stage_id = :crm_stage_id,"
                " search_text = :search, updated_at = :now WHERE id = :id",
                {**values, "search": search, "now": self._db.now(), "id": contact_id},
            )
            if {"tag_ids", "tag_names"} & sent:
                conn.execute("DELETE FROM contact_tags WHERE contact_id = ?", (contact_id,))
                conn.executemany(
                    "INSERT INTO contact_tags (contact_id, tag_id) VALUES (?, ?)",
                    self._tag_rows(conn, self._db.now(), team_id, catalog, contact_id, data),
                )
            return _contact(conn, team_id, contact_id)

    def delete(self, team_id: str, contact_id: str) -> None:
        with self._db.tx() as conn:
            gone = conn.execute(
                "DELETE FROM contacts WHERE id = ? AND team_id = ?", (contact_id, team_id)
            )
            if gone.rowcount == 0:
                raise NotFound("Contact not found")

    def _insert(
        self,
        conn: sqlite3.Connection,
        team_id: str,
        catalog: Catalog,
        items: Sequence[ContactInput],
    ) -> list[str]:
        """Insert checked contacts with their tags, notes, assignees and boards.

        Rows are gathered first and written with one statement per table: a bulk of
        100 contacts is a handful of statements, not hundreds.
        """
        now = self._db.stamp()
        contacts: list[tuple[Any, ...]] = []
        tags: list[tuple[str, str]] = []
        notes: list[tuple[str, ...]] = []
        assignments: list[tuple[str, ...]] = []
        boards: list[tuple[str, ...]] = []
        for data in items:
            contact_id = str(uuid.uuid4())
            number = rules.clean_number(data.number or "")
            custom = {k: v for k, v in (data.custom_fields or {}).items() if v is not None}
            contacts.append(
                (
                    contact_id,
                    team_id,
                    data.first_name,
                    data.last_name,
                    data.email or None,
                    number,
                    data.carrier,
                    json.dumps(custom),
                    data.crm_stage_id,
                    rules.search_text(data.first_name, data.last_name, data.email, number),
                    now,
                    now,
                )
            )
            tags += self._tag_rows(conn, now, team_id, catalog, contact_id, data)
            if data.note is not None:
                note_type = data.note_type or "GENERAL"
                notes.append(
                    (str(uuid.uuid4()), contact_id, data.note, note_type, catalog.owner_id, now)
                )
            assignments += [
                (str(uuid.uuid4()), contact_id, u, now)
                for u in dict.fromkeys(data.assign_user_ids or ())
            ]
            boards += [(b, contact_id, now) for b in dict.fromkeys(data.board_ids or ())]
        conn.executemany(
            "INSERT INTO contacts (id, team_id, first_name, last_name, email, number, carrier,"
            " custom_fields, crm_stage_id, search_text, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            contacts,
        )
        conn.executemany("INSERT INTO contact_tags (contact_id, tag_id) VALUES (?, ?)", tags)
        insert_notes(conn, notes)
        conn.executemany(
            "INSERT INTO assignments (id, contact_id, user_id, assigned_at) VALUES (?, ?, ?, ?)",
            assignments,
        )
        conn.executemany(
            "INSERT INTO board_contacts (board_id, contact_id, added_at) VALUES (?, ?, ?)", boards
        )
        return [row[0] for row in contacts]

    @staticmethod
    def _tag_rows(
        conn: sqlite3.Connection,
        now: str,
        team_id: str,
        catalog: Catalog,
        contact_id: str,
        data: ContactInput,
    ) -> list[tuple[str, str]]:
        """(contact, tag) pairs for the tags sent by id or name; missing names are created."""
        tag_ids = list(data.tag_ids or ())
        tag_ids += [
            tag_for_name(conn, now, team_id, catalog, name.strip()) for name in data.tag_names or ()
        ]
        return [(contact_id, t) for t in dict.fromkeys(tag_ids)]


def check_contact(catalog: Catalog, data: ContactInput, *, creating: bool) -> list[FieldError]:
    """Every problem with a contact write, each as the field and a message."""
    errors: list[FieldError] = []
    if (creating or "number" in data.fields_set) and (problem := rules.check_number(data.number)):
        errors.append(problem)
    if problem := rules.check_email(data.email):
        errors.append(problem)
    if data.custom_fields:
        errors += rules.check_custom_fields(data.custom_fields, catalog.schemas)
    errors += [
        FieldError("tagIds", f"Tag not found: {t}")
        for t in data.tag_ids or ()
        if t not in catalog.tag_ids
    ]
    errors += [
        FieldError("boardIds", f"Board not found: {b}")
        for b in data.board_ids or ()
        if b not in catalog.board_ids
    ]
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


def _contact(conn: sqlite3.Connection, team_id: str, contact_id: str) -> Contact:
    row = conn.execute(
        f"{_SELECT} WHERE c.id = ? AND c.team_id = ?", (contact_id, team_id)
    ).fetchone()
    if row is None:
        raise NotFound("Contact not found")
    return _contacts(conn, [row])[0]


def _contacts(conn: sqlite3.Connection, rows: Sequence[sqlite3.Row]) -> list[Contact]:
    ids = [r["id"] for r in rows]
    tags: dict[str, list[TagRef]] = {cid: [] for cid in ids}
    marks = ", ".join("?" * len(ids))
    for t in conn.execute(
        "SELECT ct.contact_id, t.id, t.name, t.color FROM contact_tags ct"
        f" JOIN tags t ON t.id = ct.tag_id WHERE ct.contact_id IN ({marks}) ORDER BY t.name_key",
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
