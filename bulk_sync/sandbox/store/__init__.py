"""The sandbox's state: SQLite storage for teams and their contacts, tags and boards.

No HTTP here. Every method takes the caller's team id first and sees only that
team's rows. One part per resource, all sharing one `Database` (one connection,
one lock, explicit transactions):

    store.teams          seeding, API keys, counts          teams.py
    store.contacts       list, get, create, bulk, update    contacts.py
    store.notes / .assignments / .boards                    relations.py
    store.tags / .custom_fields                             tags.py
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from .contacts import Contacts
from .db import Database
from .relations import Assignments, Boards, Notes
from .tags import CustomFields, Tags
from .teams import Teams

__all__ = ["Store"]


class Store:
    """SQLite-backed sandbox state; `path=None` keeps it in memory."""

    def __init__(
        self, path: str | Path | None = None, *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self._db = Database(path, clock)
        self.teams = Teams(self._db)
        self.contacts = Contacts(self._db)
        self.notes = Notes(self._db)
        self.assignments = Assignments(self._db)
        self.boards = Boards(self._db)
        self.tags = Tags(self._db)
        self.custom_fields = CustomFields(self._db)

    def close(self) -> None:
        self._db.close()
