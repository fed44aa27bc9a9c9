"""Send contacts in batches of up to 100 and find out, row by row, what happened.

The bulk endpoint answers only with counts. Before each batch the pusher notes the
newest contact (one GET of 1); after it, it reads the contacts made since (one GET
of up to 100) and matches them to the batch by what was sent (number, email,
names): matched rows are `created` with their id. Rows the
server did not create are sent once more on their own (`POST /api/v1/contacts`),
which either creates them or answers 400 with the reason, so every row ends with a
status and a reason.

A row is never sent twice blindly: a batch whose response was lost is reconciled
the same way, and only the rows that are not found are sent again.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..client import EchowinClient
from ..client.models import Contact, NewContact, Tag
from ..errors import OutcomeUnknown, ValidationFailed

BATCH_SIZE = 100
_MAX_SCAN = 300  # contacts read past the batch's own size when the fence is gone


@dataclass(frozen=True)
class RowOutcome:
    status: str  # created, updated, unchanged, duplicate, rejected, skipped
    contact_id: str = ""
    error: str = ""


Signature = tuple[str | None, str | None, str | None, str | None]


def signature(
    number: str | None, email: str | None, first: str | None, last: str | None
) -> Signature:
    return (number, (email or None) and email.lower(), first or None, last or None)


def sent_signature(contact: NewContact) -> Signature:
    return signature(contact.number, contact.email, contact.first_name, contact.last_name)


def stored_signature(contact: Contact) -> Signature:
    return signature(contact.number, contact.email, contact.first_name, contact.last_name)


class TagResolver:
    """Tag names → ids: existing tags read once, missing ones created once, on first use."""

    def __init__(self, client: EchowinClient, existing: Iterable[Tag]) -> None:
        self._client = client
        self._ids = {tag.name.casefold(): tag.id for tag in existing}
        self.created: list[str] = []

    def missing(self, names: Iterable[str]) -> list[str]:
        return list(dict.fromkeys(n for n in names if n.casefold() not in self._ids))

    def ids(self, names: Sequence[str]) -> list[str]:
        for name in self.missing(names):
            try:
                tag = self._client.create_tag(name)
            except (ValidationFailed, OutcomeUnknown):
                # made meanwhile (or our lost answer did make it): read them all again
                self._ids.update({t.name.casefold(): t.id for t in self._client.tags()})
                if name.casefold() not in self._ids:
                    raise
                continue
            self._ids[tag.name.casefold()] = tag.id
            self.created.append(tag.name)
        return [self._ids[n.casefold()] for n in names]


class Pusher:
    def __init__(self, client: EchowinClient, tags: TagResolver) -> None:
        self._client = client
        self._tags = tags

    def push(self, batch: Sequence[tuple[int, NewContact]]) -> dict[int, RowOutcome]:
        """Create one batch (1..100 rows); every row of it comes back with an outcome."""
        contacts = [self._with_tag_ids(contact) for _, contact in batch]
        fence = self._newest_id()
        with contextlib.suppress(OutcomeUnknown):  # committed or not, the newest contacts tell
            self._client.bulk_create(contacts)
        found = self._find(contacts, fence)
        outcomes: dict[int, RowOutcome] = {}
        for i, (row, _) in enumerate(batch):
            if i in found:
                outcomes[row] = RowOutcome("created", found[i])
            else:
                outcomes[row] = self._one(contacts[i])
        return outcomes

    def _with_tag_ids(self, contact: NewContact) -> NewContact:
        if not contact.tag_names:
            return contact
        ids = self._tags.ids(contact.tag_names)
        return contact.model_copy(update={"tag_names": None, "tag_ids": ids})

    def _newest_id(self) -> str | None:
        newest = self._client.list_contacts(page=1, limit=1).data
        return newest[0].id if newest else None

    def _find(self, contacts: list[NewContact], fence: str | None) -> dict[int, str]:
        """Batch position → id of the contact the server made from it.

        Reads the newest contacts down to `fence` (the newest one before the batch was
        sent), so an older contact with the same details is never taken for one of
        this batch. Newest first, each matches the last unmatched batch item with the
        same number, email and names; contacts someone else made meanwhile match none.
        """
        waiting: dict[Signature, list[int]] = defaultdict(list)
        for i, contact in enumerate(contacts):
            waiting[sent_signature(contact)].append(i)
        found: dict[int, str] = {}
        scanned, page = 0, 1
        while scanned < len(contacts) + _MAX_SCAN:
            listed = self._client.list_contacts(page=page, limit=BATCH_SIZE).data
            for stored in listed:
                if stored.id == fence:
                    return found
                scanned += 1
                queue = waiting.get(stored_signature(stored))
                if queue:
                    found[queue.pop()] = stored.id
            if len(listed) < BATCH_SIZE or len(found) == len(contacts):
                return found
            page += 1
        return found

    def _one(self, contact: NewContact) -> RowOutcome:
        try:
            return RowOutcome("created", self._client.create_contact(contact).id)
        except ValidationFailed as exc:
            reasons = "; ".join(f"{d.field}: {d.message}" for d in exc.details)
            return RowOutcome("rejected", error=f"echowin refused it: {reasons or exc}")
        except OutcomeUnknown:
            return RowOutcome(
                "rejected",
                error="echowin did not answer whether it created this contact; "
                "look it up before importing this row again",
            )
