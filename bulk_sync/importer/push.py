"""Send contacts in batches of up to 100 and find out, row by row, what happened.

The bulk endpoint answers only with counts, and a lost answer says nothing at all.
So before each batch the pusher notes the fence, the newest contact (one GET of
1); after it, whether answered or not, it reads the contacts made since, newest
first down to the fence, and matches them to the batch by what was sent (number,
email, names): matched rows are `created` with their id. Rows not found are sent
again as a batch when the answer was lost (it may never have arrived), up to
`BULK_ATTEMPTS` times; when the server answered, they are the ones it refused, and
each is sent on its own (`POST /api/v1/contacts`) to get its 400 and the reason.

A row is never sent twice blindly: every resend follows a reconciliation, and with
a journal (`journal.Job`) every step is recorded before the next, so a run that
dies anywhere is reconciled the same way when it is run again.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..client import EchowinClient
from ..client.models import Contact, NewContact, Tag
from ..errors import OutcomeUnknown, ValidationFailed

if TYPE_CHECKING:
    from .journal import Job, SentBatch

BATCH_SIZE = 100
BULK_ATTEMPTS = 4  # a batch whose answer is lost: reconciled, and its missing rows resent
SINGLE_ATTEMPTS = 4


@dataclass(frozen=True)
class RowOutcome:
    status: str  # created, updated, unchanged, duplicate, rejected, skipped
    contact_id: str = ""
    error: str = ""


@dataclass(frozen=True)
class Fence:
    """The newest contact before a send (None: the team had none), and when it was made."""

    id: str | None
    created_at: str | None


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
    def __init__(self, client: EchowinClient, tags: TagResolver, job: Job | None = None) -> None:
        self._client = client
        self._tags = tags
        self._job = job

    def push(self, batch: Sequence[tuple[int, str]]) -> dict[int, RowOutcome]:
        """Create one batch (1..100 rows, each with its JSON body); every row of it comes
        back with an outcome. Raises OutcomeUnknown only when echowin stays silent
        `SINGLE_ATTEMPTS` times for a row: the journal then keeps the batch `sent`."""
        number = self._job.next_batch() if self._job else 0
        if self._job:
            self._job.plan(number, batch)
        return self._send(number, batch, Fence(None, None), answered=None)

    def reconcile(self, sent: SentBatch) -> dict[int, RowOutcome]:
        """Settle a batch an earlier run sent without recording the answer."""
        return self._send(sent.number, sent.rows, sent.fence, answered=False)

    def _send(
        self,
        number: int,
        batch: Sequence[tuple[int, str]],
        fence: Fence,
        *,
        answered: bool | None,  # None: not sent yet; False: sent, answer lost
    ) -> dict[int, RowOutcome]:
        rows = [row for row, _ in batch]
        contacts = {row: self._with_tag_ids(NewContact.model_validate_json(b)) for row, b in batch}
        outcomes: dict[int, RowOutcome] = {}
        remaining = list(rows)
        created_unseen = 0  # made, by echowin's count, yet not found
        for _ in range(BULK_ATTEMPTS):
            created = 0
            if answered is None:  # send (again) what has not arrived
                fence = self._fence()
                if self._job:
                    self._job.sending(number, fence)
                answered = True
                try:
                    created = self._client.bulk_create([contacts[row] for row in remaining]).created
                except ValidationFailed:
                    pass  # refused whole: each row on its own below will say why
                except OutcomeUnknown:
                    answered = False
            found = self._find([(row, contacts[row]) for row in remaining], fence)
            settled = {row: RowOutcome("created", found[row]) for row in found}
            if self._job and settled:
                self._job.settle(number, settled, done=False)
            outcomes |= settled
            remaining = [row for row in remaining if row not in found]
            created_unseen = max(0, created - len(found))
            if answered or not remaining:
                break
            answered = None
        if created_unseen:  # echowin stored them otherwise than sent: resending duplicates
            unmatched = _unmatched(created_unseen, len(remaining))
            outcomes |= {row: unmatched for row in remaining}
            if self._job:
                self._job.settle(number, dict.fromkeys(remaining, unmatched), done=True)
            return {row: outcomes[row] for row in rows}
        for row in remaining:  # refused by the server, or never confirmed
            outcome = self._one(contacts[row])
            if self._job:
                self._job.settle(number, {row: outcome}, done=False)
            outcomes[row] = outcome
        if self._job:
            self._job.settle(number, {}, done=True)
        return {row: outcomes[row] for row in rows}

    def _with_tag_ids(self, contact: NewContact) -> NewContact:
        if not contact.tag_names:
            return contact
        ids = self._tags.ids(contact.tag_names)
        return contact.model_copy(update={"tag_names": None, "tag_ids": ids})

    def _fence(self) -> Fence:
        newest = self._client.list_contacts(page=1, limit=1).data
        return Fence(newest[0].id, newest[0].created_at) if newest else Fence(None, None)

    def _find(self, batch: list[tuple[int, NewContact]], fence: Fence) -> dict[int, str]:
        """Row → id of the contact the server made from it.

        Reads the newest contacts down to `fence` (the newest one before the batch was
        sent; or, were it deleted since, the first older than it), so an older
        contact with the same details is never taken for one of this batch. Newest
        first, each matches the last unmatched row with the same number, email and
        names; contacts someone else made meanwhile match none.
        """
        waiting: dict[Signature, list[int]] = defaultdict(list)
        for row, contact in batch:
            waiting[sent_signature(contact)].append(row)
        found: dict[int, str] = {}
        seen: set[str] = set()  # contacts made meanwhile push the list down: pages overlap
        page = 1
        while len(found) < len(batch):
            listed = self._client.list_contacts(page=page, limit=BATCH_SIZE).data
            for stored in listed:
                if stored.id == fence.id or _older(stored, fence):
                    return found
                if stored.id in seen:
                    continue
                seen.add(stored.id)
                queue = waiting.get(stored_signature(stored))
                if queue:
                    found[queue.pop()] = stored.id
            if len(listed) < BATCH_SIZE:
                break
            page += 1
        return found

    def _one(self, contact: NewContact) -> RowOutcome:
        """One contact on its own: created, or refused with echowin's reasons."""
        for _ in range(SINGLE_ATTEMPTS):
            fence = self._fence()
            try:
                return RowOutcome("created", self._client.create_contact(contact).id)
            except ValidationFailed as exc:
                reasons = "; ".join(f"{d.field}: {d.message}" for d in exc.details)
                return RowOutcome("rejected", error=f"echowin refused it: {reasons or exc}")
            except OutcomeUnknown:
                found = self._find([(0, contact)], fence)
                if found:
                    return RowOutcome("created", found[0])
        raise OutcomeUnknown(
            f"echowin did not answer {SINGLE_ATTEMPTS} times whether it created a contact",
            method="POST",
            path="/api/v1/contacts",
        )


def _unmatched(created: int, rows: int) -> RowOutcome:
    """Rows echowin's count says it created (all, or some) that no stored contact matched
    by number, email and names: never sent again, since that could duplicate them."""
    if created >= rows:
        return RowOutcome("created", error="echowin counted it created, but no contact with "
                          "its number, email and names was found: look it up")  # fmt: skip
    return RowOutcome("rejected", error=f"echowin created {created} of {rows} such rows but "
                      "none could be matched to its contact: look it up before importing it "
                      "again")  # fmt: skip


def _older(stored: Contact, fence: Fence) -> bool:
    """Made before the fence; a timestamp that does not read as ISO 8601 tells nothing."""
    mine, theirs = _moment(stored.created_at), _moment(fence.created_at)
    return mine is not None and theirs is not None and mine < theirs


def _moment(text: str | None) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment
