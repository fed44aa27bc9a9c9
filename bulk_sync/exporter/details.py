"""`--include notes,assignments,boards`: what a contact's listing does not hold.

One GET per contact and kind, at echowin's GET limit (100 a minute: 10,000 contacts
with all three kinds take 5 hours). What was fetched is kept in the state directory
(`export-details.sqlite3`, per account), so an export stopped by a cron timeout or a
Ctrl-C goes on where it stopped when it runs again (over several nights if it must);
a verified export forgets it, so that the next one reads afresh. The rows are
written beside the contacts: sheets `Notes`, `Assignments`, `Boards` in an XLSX,
sibling files `OUTPUT-notes.csv`... beside a CSV, each row keyed by the contact id.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..cells import neutralize_row
from ..client import EchowinClient
from ..errors import NotFound
from ..files import open_state_db

KINDS = ("notes", "assignments", "boards")
COLUMNS = {
    "notes": ["contactId", "noteId", "note", "type", "createdAt", "creator"],
    "assignments": ["contactId", "userId", "firstName", "lastName", "email", "assignedAt"],
    "boards": ["contactId", "boardId", "name"],
}
SHEETS = {"notes": "Notes", "assignments": "Assignments", "boards": "Boards"}
_SCHEMA = """
CREATE TABLE IF NOT EXISTS details (
    account TEXT NOT NULL,
    kind TEXT NOT NULL,
    contact TEXT NOT NULL,
    rows TEXT NOT NULL,             -- JSON: the contact's rows of this kind, as cells
    PRIMARY KEY (account, kind, contact)
) WITHOUT ROWID;
"""


def parse_include(text: str | None) -> tuple[str, ...]:
    """`notes,boards` → ("notes", "boards"); ValueError naming what is unknown."""
    kinds = tuple(dict.fromkeys(k.strip() for k in (text or "").split(",") if k.strip()))
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"--include: unknown {', '.join(unknown)}; choose from {', '.join(KINDS)}")
    return kinds


class DetailStore:
    """The details fetched so far for one account, on disk."""

    def __init__(self, state_dir: Path, account: str) -> None:
        path = state_dir / "export-details.sqlite3"
        self._db = open_state_db(path, _SCHEMA, what="export details", durable=False)
        self._account = account

    def close(self) -> None:
        self._db.close()

    def has(self, kind: str, contact_id: str) -> bool:
        found = self._db.execute(
            "SELECT 1 FROM details WHERE account = ? AND kind = ? AND contact = ?",
            (self._account, kind, contact_id),
        ).fetchone()
        return found is not None

    def count(self) -> int:
        """Details kept for this account (an estimate of what need not be read again)."""
        (n,) = self._db.execute(
            "SELECT count(*) FROM details WHERE account = ?", (self._account,)
        ).fetchone()
        return int(n)

    def put(self, kind: str, contact_id: str, rows: list[list[str]]) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO details VALUES (?, ?, ?, ?)",
            (self._account, kind, contact_id, json.dumps(rows, ensure_ascii=False)),
        )

    def rows(self, kind: str, contact_ids: Iterable[str]) -> Iterator[list[str]]:
        """Every row of this kind for these contacts, in their order."""
        for contact_id in contact_ids:
            found = self._db.execute(
                "SELECT rows FROM details WHERE account = ? AND kind = ? AND contact = ?",
                (self._account, kind, contact_id),
            ).fetchone()
            for cells in json.loads(found[0]) if found else []:
                yield neutralize_row(cells)

    def forget(self) -> None:
        """After a verified export: the next one reads afresh."""
        self._db.execute("DELETE FROM details WHERE account = ?", (self._account,))


def fetch(client: EchowinClient, kind: str, contact_id: str) -> list[list[str]]:
    """The contact's rows of this kind (none for a contact deleted meanwhile)."""
    try:
        if kind == "notes":
            return [
                [contact_id, n.id, n.note, n.type, n.created_at or "",
                 " ".join(p for p in (n.creator.first_name, n.creator.last_name) if p)
                 if n.creator else ""]
                for n in client.notes(contact_id)
            ]  # fmt: skip
        if kind == "assignments":
            return [
                [contact_id, a.user_id, (a.user.first_name or "") if a.user else "",
                 (a.user.last_name or "") if a.user else "",
                 (a.user.email or "") if a.user else "", a.assigned_at or ""]
                for a in client.assignments(contact_id)
            ]  # fmt: skip
        return [[contact_id, b.id, b.name] for b in client.contact_boards(contact_id)]
    except NotFound:
        return []
