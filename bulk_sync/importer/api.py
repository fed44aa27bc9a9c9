"""`ContactsApi`: the calls the importer makes, so a stand-in server's client is typed too.

`client.EchowinClient` is the real one; tests may pass anything with these methods.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, MutableSet, Sequence
from typing import Protocol

from ..client.models import (
    Assignment,
    Board,
    BoardChange,
    BulkSummary,
    Contact,
    ContactChanges,
    ContactPage,
    ContactWithContext,
    NewContact,
    Note,
    Tag,
)
from ..client.pagination import ContactPager
from ..errors import NotFound


class ContactsApi(Protocol):
    def list_contacts(
        self,
        *,
        page: int = 1,
        limit: int = 100,
        search: str | None = None,
        sort_by: str = "createdAt",
        sort_order: str = "desc",
        tag_ids: Sequence[str] = (),
    ) -> ContactPage: ...

    def iter_contacts(
        self,
        *,
        search: str | None = None,
        tag_ids: Sequence[str] = (),
        sort_by: str = "createdAt",
        sort_order: str = "asc",
        stop: Callable[[Contact], bool] | None = None,
        seen: MutableSet[str] | None = None,
    ) -> ContactPager[Contact]: ...

    def get_contact(self, contact_id: str) -> ContactWithContext: ...

    def create_contact(
        self, contact: NewContact, *, before_send: Callable[[], None] | None = None
    ) -> Contact: ...

    def bulk_create(
        self, contacts: Sequence[NewContact], *, before_send: Callable[[], None] | None = None
    ) -> BulkSummary: ...

    def update_contact(self, contact_id: str, changes: ContactChanges) -> Contact: ...

    def delete_contact(self, contact_id: str) -> None: ...

    def add_note(self, contact_id: str, note: str, note_type: str | None = None) -> Note: ...

    def assign_users(
        self, contact_id: str, user_ids: Iterable[str], *, replace: bool = False
    ) -> list[Assignment]: ...

    def assignments(self, contact_id: str) -> list[Assignment]: ...

    def contact_boards(self, contact_id: str) -> list[Board]: ...

    def place_on_boards(
        self, contact_id: str, board_ids: Iterable[str], *, replace: bool = False
    ) -> BoardChange: ...

    def tags(self) -> list[Tag]: ...

    def create_tag(self, name: str, color: str | None = None) -> Tag: ...


def contact_exists(api: ContactsApi, contact_id: str) -> bool:
    """The team `api` speaks for has this contact (another team's answers 404)."""
    try:
        api.get_contact(contact_id)
    except NotFound:
        return False
    return True
