"""Create contacts in batches of up to 100 and find out, row by row, what happened.

The bulk endpoint answers only with counts, and a lost answer says nothing at all.
So each batch goes through named steps:

1. `_catch_up`: the contacts made since this run last read the team (one page, when
   nobody else writes), and the team's count; the fence is the newest contact read
   before them. A row another import made meanwhile is not sent (copies.py).
2. `_send_bulk`: the request; echowin's count of what it created, or None when the
   answer was lost (a timeout, a dropped connection, a 5xx).
3. `_reconcile`: the contacts made since the fence, newest first, matched to the
   rows by match key (number as E.164 digits, email case-folded: echowin may store
   them otherwise than sent). After a lost answer it first waits a grace period (a
   server may still be committing after the client gave up), and reads twice.
4. Then, by what is left:
   - the answer was lost, and the team's count says nothing more was made:
     `_send_bulk` again, for the rows not found (up to `BULK_ATTEMPTS` times);
   - echowin counted more created than were found (stored otherwise than sent):
     those rows are `unconfirmed`, never sent again (that could duplicate them);
   - echowin created fewer than were sent: each row left goes alone (`_one`),
     for its 400 and echowin's reason.
5. `_found`: a row whose key another import created at the same moment has two
   copies: the run keeps its own only if it is the keeper, else deletes it (recorded
   in the journal first) and reports the row `skipped` with the keeper's id
   (copies.py says why no row is lost or doubled).

A row is never sent twice blindly: every resend follows a reconciliation, and with
a journal (`journal.Job`) every step is recorded before the next, so a run that
dies anywhere is reconciled the same way when it is run again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import itertools
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..client.models import Contact, NewContact, Tag
from ..client.pagination import ContactPager, created_before, reads_while_deleted
from ..errors import (
    AuthRefused,
    FatalApiError,
    NotFound,
    OutcomeUnknown,
    TagRefused,
    ValidationFailed,
)
from .api import ContactsApi
from .copies import order, order_of, own_stamps, settle
from .keys import Key, Keys, contact_keys, match_keys, number_key
from .outcomes import Fence, RowOutcome, SentBatch

if TYPE_CHECKING:
    from .journal import Job

BATCH_SIZE = 100
# A bulk body stays under this, whatever its rows (100 rows with long notes pass 1 MB,
# a common limit of servers and gateways); a 413 still splits the batch in two.
MAX_BULK_BYTES = 512 * 1024
BULK_ATTEMPTS = 4  # a batch whose answer is lost: reconciled, and its missing rows resent
SINGLE_ATTEMPTS = 4
RECONCILE_KEYS = ("number", "email")
ALL_MATCH_KEYS = ("number", "email")  # what `_recent` files contacts under


class TagResolver:
    """Tag names → ids: existing tags read once, missing ones created once, on first use."""

    def __init__(self, client: ContactsApi, existing: Iterable[Tag]) -> None:
        self._client = client
        self._ids = {tag.name.casefold(): tag.id for tag in existing}
        self._refused: dict[str, TagRefused] = {}  # asked once, refused for the run
        self.created: list[str] = []

    def missing(self, names: Iterable[str]) -> list[str]:
        return list(dict.fromkeys(n for n in names if n.casefold() not in self._ids))

    def ids(self, names: Sequence[str]) -> list[str]:
        """The tags' ids, creating missing ones; raises TagRefused naming a tag echowin
        refuses (the row that has it is rejected, not the run)."""
        for name in self.missing(names):
            if refusal := self._refused.get(name.casefold()):
                raise refusal
            try:
                tag = self._client.create_tag(name)
            except (ValidationFailed, OutcomeUnknown) as exc:
                # made meanwhile (or our lost answer did make it): read them all again
                self._ids.update({t.name.casefold(): t.id for t in self._client.tags()})
                if name.casefold() in self._ids:
                    continue
                if isinstance(exc, OutcomeUnknown):
                    raise
                refusal = TagRefused(
                    f"echowin refused the tag {name!r}", details=exc.details, status=exc.status
                )
                self._refused[name.casefold()] = refusal
                raise refusal from None
            self._ids[tag.name.casefold()] = tag.id
            self.created.append(tag.name)
        return [self._ids[n.casefold()] for n in names]


@dataclass(frozen=True)
class _Answer:
    """What came back from one bulk request."""

    fence: Fence
    created: int | None  # echowin's count; None: the answer was lost
    lost_at: float | None = None  # when this run gave up on the answer
    too_large: bool = False  # refused (413) before echowin read a row: split and send again
    meanwhile: Mapping[int, str] = dataclasses.field(default_factory=dict)  # row → a contact
    # with its key that another made since this run looked: the row was not sent


class Pusher:
    """Creates batches of contacts; see the module docstring.

    `region` reads stored numbers that lack a country code; `grace_s` is how long a
    lost answer is given to commit before the contacts are read (at least the
    client's read timeout); `sleep` waits, and may raise to stop (Ctrl-C).
    """

    def __init__(
        self,
        client: ContactsApi,
        tags: TagResolver,
        job: Job | None = None,
        *,
        region: str = "US",
        grace_s: float = 0.0,
        sleep: Callable[[float], None] = time.sleep,
        dedupe: bool = True,
        horizon: Fence | None = None,
        match: tuple[str, ...] = ("number",),
    ) -> None:
        self._client = client
        self._tags = tags
        self._job = job
        self._region = region
        self._grace_s = grace_s
        self._sleep = sleep
        self.stored: dict[int, Contact] = {}  # row → the contact made of it, when read
        # Concurrent importers (see copies.py); off with --allow-duplicates.
        self.dedupe = dedupe
        self._match = match  # the run's match key: a row and a contact sharing one are one
        self._horizon = horizon  # the newest contact this run has read the team down to
        self._recent: dict[Key, list[tuple[str | None, str]]] = {}  # made since: key →
        # (createdAt, id) of each contact with it, read before a bulk or after one
        self._copies: dict[int, list[Contact]] = {}  # row → its key's contacts since the fence
        self._listed: list[tuple[Contact, Keys]] = []  # every contact since the fence, keyed
        self.copies_deleted = 0  # this run's copies it deleted for another's (or identical)
        self.found_meanwhile = 0  # rows another made after this run looked: not sent
        self.rereads = 0  # ranges read again: others deleted contacts while they were read
        # a row found made by another, settled as the mode says (skip, or update it)
        self.on_existing: Callable[[int, str], RowOutcome] = _skipped

    def push(self, batch: Sequence[tuple[int, str]]) -> dict[int, RowOutcome]:
        """Create one batch (1..100 rows, each with its JSON body); every row of it comes
        back with an outcome. Raises OutcomeUnknown only when echowin stays silent
        `SINGLE_ATTEMPTS` times for a row: the journal then keeps the batch `sent`."""
        number = self._job.next_batch() if self._job else 0
        if self._job:
            self._job.plan(number, batch)
        contacts, refused = self._contacts(batch)
        self._record(number, refused)
        if not contacts:
            return self._done(number, refused)
        answer = self._send_bulk(number, contacts)
        if answer.too_large and len(contacts) > 1:  # nothing was made: in halves, anew
            meanwhile = self._existing(number, answer.meanwhile)
            self._done(number, refused)
            left = [(r, body) for r, body in batch if r in contacts and r not in meanwhile]
            half = len(left) // 2
            pushed = self.push(left[:half]) | self.push(left[half:]) if left else {}
            return refused | meanwhile | pushed
        return refused | self._settle(number, contacts, answer)

    def reconcile(self, sent: SentBatch) -> dict[int, RowOutcome]:
        """Settle a batch an earlier run sent without recording the answer."""
        contacts, refused = self._contacts(sent.rows)
        self._record(sent.number, refused)
        return refused | self._settle(sent.number, contacts, _Answer(sent.fence, None))

    # -- the steps --------------------------------------------------------------------

    def _settle(
        self, number: int, contacts: dict[int, NewContact], answer: _Answer
    ) -> dict[int, RowOutcome]:
        outcomes: dict[int, RowOutcome] = {}
        remaining = dict(contacts)
        for attempt in range(1, BULK_ATTEMPTS + 1):
            outcomes |= self._existing(number, answer.meanwhile)
            remaining = {row: c for row, c in remaining.items() if row not in answer.meanwhile}
            found = self._reconcile(remaining, answer)
            outcomes |= self._found(number, found, contacts, answer)
            remaining = {row: c for row, c in remaining.items() if row not in found}
            unseen = self._made_unseen(answer, len(found))
            if not remaining:
                break
            if unseen:  # made, by echowin's count, yet not found: resending duplicates
                unconfirmed = _unconfirmed(unseen, len(remaining))
                self._record(number, dict.fromkeys(remaining, unconfirmed))
                outcomes |= dict.fromkeys(remaining, unconfirmed)
                remaining = {}
                break
            if answer.created is not None or attempt == BULK_ATTEMPTS:
                break
            answer = self._send_bulk(number, remaining)  # lost, and surely not made: again
        for row, contact in remaining.items():  # refused by echowin, or never confirmed
            outcome = self._one(contact)
            self._record(number, {row: outcome})
            outcomes[row] = outcome
        return self._done(number, {row: outcomes[row] for row in contacts})

    def _found(
        self,
        number: int,
        found: Mapping[int, Contact],
        contacts: Mapping[int, NewContact],
        answer: _Answer,
    ) -> dict[int, RowOutcome]:
        """Rows whose key was found made since the fence: `created` where the contact
        found is this run's and the key's keeper; else this run's copies are deleted
        (recorded first: a re-run deletes them if this one dies) and the row goes as
        one another made (copies.py)."""
        if not self.dedupe:
            kept, others, doomed = dict(found), {}, []
        else:
            contested = {row: self._copies[row] for row in found if row in self._copies}
            batch_keys = {_row_keys(c) for c in contacts.values()}
            stamps, sure = own_stamps(self._listed, batch_keys, answer.created)
            settled = settle(contested, contacts, stamps, sure)
            kept = {row: settled.kept.get(row, c) for row, c in found.items()
                    if row not in settled.others}  # fmt: skip
            others, doomed = settled.others, settled.doomed
        created = {row: RowOutcome("created", c.id) for row, c in kept.items()}
        skipped = {row: _skipped(row, c.id) for row, c in others.items()}
        if self._job and (doomed or created or skipped):
            self._job.settle(number, created | skipped, done=False, doomed=doomed)
        self.stored |= kept
        self._delete(doomed)
        return created | self._existing(number, {row: c.id for row, c in others.items()})

    def _existing(self, number: int, rows: Mapping[int, str]) -> dict[int, RowOutcome]:
        """Rows whose key another made (row → its contact): settled as the mode says."""
        outcomes = {row: self.on_existing(row, contact_id) for row, contact_id in rows.items()}
        self._record(number, outcomes)
        return outcomes

    def _delete(self, ids: Sequence[str]) -> None:
        """Delete copies (a write each, paced like any), forgetting each once gone."""
        for contact_id in ids:
            delete_copy(self._client, contact_id)
            if self._job:
                self._job.deleted([contact_id])
            self.copies_deleted += 1
        gone = set(ids)
        if gone:
            for key, pairs in list(self._recent.items()):
                self._recent[key] = [p for p in pairs if p[1] not in gone]

    def _done(self, number: int, outcomes: dict[int, RowOutcome]) -> dict[int, RowOutcome]:
        if self._job:
            self._job.settle(number, {}, done=True)
        return outcomes

    def _send_bulk(self, number: int, contacts: Mapping[int, NewContact]) -> _Answer:
        fence = self._catch_up()
        meanwhile = self._made_meanwhile(contacts)
        if meanwhile:
            self.found_meanwhile += len(meanwhile)
            contacts = {row: c for row, c in contacts.items() if row not in meanwhile}
            if not contacts:
                return _Answer(fence, 0, meanwhile=meanwhile)

        def leaving() -> None:  # after any wait for the rate limit: the moment it goes
            nonlocal fence
            fence = dataclasses.replace(fence, sent_at=time.time())
            if self._job:
                self._job.sending(number, fence)

        try:
            summary = self._client.bulk_create(list(contacts.values()), before_send=leaving)
        except (AuthRefused, NotFound):
            raise
        except FatalApiError as exc:  # refused whole (400, 413, ...): nothing was made
            if exc.status == 413:
                return _Answer(fence, 0, too_large=True, meanwhile=meanwhile)
            return _Answer(fence, 0, meanwhile=meanwhile)  # each row on its own will say why
        except OutcomeUnknown:
            return _Answer(fence, None, lost_at=time.time(), meanwhile=meanwhile)
        return _Answer(fence, summary.created, meanwhile=meanwhile)

    def _catch_up(self) -> Fence:
        """The fence: the newest contact this run had read before now, with the count
        now. Every contact made since is read first: their keys are kept, and a row
        another made meanwhile is not sent (`_made_meanwhile`); the reconciliation
        reads them again (a contact that slipped past a page boundary in one read is
        seen in the other). Without dedupe, or before the run has read the team, the
        newest contact now."""
        if not self.dedupe or self._horizon is None:
            fence = self._fence()
            if self.dedupe:
                self._horizon = fence
            return fence
        since = self._horizon
        _, pager = self._read_since(since)
        return Fence(since.id, since.created_at, pager.last_total_count)

    def _made_meanwhile(self, contacts: Mapping[int, NewContact]) -> dict[int, str]:
        """Rows whose key a contact read since this run looked has: row → the keeper."""
        if not self.dedupe or not self._recent:
            return {}
        found: dict[int, str] = {}
        for row, contact in contacts.items():
            pairs = [p for key in self._match_keys(contact) for p in self._recent.get(key, ())]
            if pairs:
                found[row] = min(pairs, key=_pair_order)[1]
        return found

    def _match_keys(self, contact: NewContact) -> Keys:
        """A row's match keys (its number when it has none: see rows.py)."""
        return match_keys(contact.number, contact.email, self._match) or match_keys(
            contact.number, None, ("number",)
        )

    def _read_since(self, fence: Fence) -> tuple[list[tuple[Contact, Keys]], ContactPager[Contact]]:
        """Every contact made since the fence, newest first, with its keys: the range
        is read again while others' deletes shift its pages (`reads_while_deleted`),
        and all reads are kept together (the keeper of a key is never deleted, so what
        was deleted meanwhile changes no keeper). Kept in `_recent`; the newest read
        becomes the horizon."""
        seen: dict[str, Contact] = {}
        reads = reads_while_deleted(
            lambda: self._client.iter_contacts(
                sort_order="desc",
                stop=lambda c: c.id == fence.id or created_before(c.created_at, fence.created_at),
            )
        )
        for pager in reads:
            for contact in itertools.chain(pager, pager.reread_ties()):
                seen.setdefault(contact.id, contact)
            self.rereads += pager.shrank
        newest_first = sorted(seen.values(), key=order, reverse=True)
        listed = [(c, contact_keys(c, RECONCILE_KEYS, self._region)) for c in newest_first]
        if self.dedupe:
            for contact, _ in listed:
                for key in contact_keys(contact, ALL_MATCH_KEYS, self._region):
                    pairs = self._recent.setdefault(key, [])
                    if all(contact.id != i for _, i in pairs):
                        pairs.append((contact.created_at, contact.id))
            if listed and (
                self._horizon is None
                or not created_before(listed[0][0].created_at, self._horizon.created_at)
            ):
                newest = listed[0][0]
                self._horizon = Fence(newest.id, newest.created_at)
        return listed, pager

    def _reconcile(self, contacts: Mapping[int, NewContact], answer: _Answer) -> dict[int, Contact]:
        """Row → the contact made of it, among those made since the fence. After a lost
        answer, read twice before anything is sent again, each read after a grace
        period (a server may commit after the client gave up): counted from the loss
        in this run; for an earlier run's batch, from when it was sent (that run gave
        up at some moment after), so a batch sent long ago waits no more."""
        self._copies = {}
        if answer.created is not None:
            return self._find(contacts, answer.fence)
        since = answer.lost_at if answer.lost_at is not None else (answer.fence.sent_at or 0.0)
        found: dict[int, Contact] = {}
        for grace in (1, 2):
            self._sleep(max(0.0, min(self._grace_s, since + grace * self._grace_s - time.time())))
            found |= self._find({r: c for r, c in contacts.items() if r not in found}, answer.fence)
            if len(found) == len(contacts):
                break
        return found

    def _made_unseen(self, answer: _Answer, found: int) -> int:
        """How many contacts echowin made of this batch that were not found: its count,
        or, when the answer was lost, the growth of the team's count since the fence
        less the contacts others made meanwhile (an overestimate still when echowin
        garbles numbers: never an underestimate while nobody deletes)."""
        made = answer.created
        if made is None and answer.fence.total_count is not None and self._last_total is not None:
            grown = self._last_total - answer.fence.total_count
            # others' new contacts have numbers that read as numbers and match no row:
            # only one whose number cannot be read at all could be ours, stored otherwise
            made = min(grown, found + self._strangers)
        return max(0, (made or 0) - found)

    def _contacts(
        self, batch: Sequence[tuple[int, str]]
    ) -> tuple[dict[int, NewContact], dict[int, RowOutcome]]:
        """The rows as contacts to send, and the rows rejected for a tag echowin refuses."""
        contacts: dict[int, NewContact] = {}
        refused: dict[int, RowOutcome] = {}
        for row, body in batch:
            try:
                contacts[row] = self._with_tag_ids(NewContact.model_validate_json(body))
            except TagRefused as exc:
                refused[row] = RowOutcome("rejected", error=_reasons(exc))
        return contacts, refused

    def _record(self, number: int, outcomes: Mapping[int, RowOutcome]) -> None:
        if self._job and outcomes:
            self._job.settle(number, outcomes, done=False)

    def _with_tag_ids(self, contact: NewContact) -> NewContact:
        if not contact.tag_names:
            return contact
        ids = self._tags.ids(contact.tag_names)
        return contact.model_copy(update={"tag_names": None, "tag_ids": ids})

    def _fence(self) -> Fence:
        page = self._client.list_contacts(page=1, limit=1)
        newest = page.data
        total = page.pagination.total_count
        if not newest:
            return Fence(None, None, total)
        return Fence(newest[0].id, newest[0].created_at, total)

    _last_total: int | None = None  # the team's count as the last reconciliation read it
    _strangers = 0  # contacts made since the fence that match no row, numbers unreadable

    def _find(self, contacts: Mapping[int, NewContact], fence: Fence) -> dict[int, Contact]:
        """Row → the contact the server made from it.

        Reads every contact made since the fence (the newest one before the batch was
        sent), newest first: it stops at the first contact older than the fence, so an
        older contact with the same keys is never taken for one of this batch; the
        fence itself is passed over. Newest first, each matches the last unmatched row
        with the same keys; contacts someone else made meanwhile match none, unless
        they share a row's key: a row whose key alone it carries has all its copies
        kept in `_copies`, for `_found` to settle (copies.py).
        """
        waiting: dict[Keys, list[int]] = defaultdict(list)
        for row, contact in contacts.items():
            waiting[_row_keys(contact)].append(row)
        found: dict[int, Contact] = {}
        if not contacts:
            return found
        by_key: dict[Key, list[int]] = defaultdict(list)  # match key → rows (one, in-file
        for row, contact in contacts.items():  # duplicates aside)
            for key in self._match_keys(contact):
                by_key[key].append(row)
        alone = {key: rows[0] for key, rows in by_key.items() if len(rows) == 1}
        listed, pager = self._read_since(fence)
        strangers = 0
        copies: dict[int, list[Contact]] = defaultdict(list)
        for stored, keys in listed:
            queue = waiting.get(keys)
            for row in {alone[k] for k in contact_keys(stored, ALL_MATCH_KEYS, self._region)
                        if k in alone}:  # fmt: skip
                copies[row].append(stored)
            if queue:
                found[queue.pop()] = stored
            elif queue is None and number_key(stored.number or "", self._region) is None:
                strangers += 1
        self._copies |= copies
        self._listed = listed
        self._last_total, self._strangers = pager.last_total_count, strangers
        return found

    def _one(self, contact: NewContact) -> RowOutcome:
        """One contact on its own: created, or refused with echowin's reasons."""
        for _ in range(SINGLE_ATTEMPTS):
            fence = self._fence()
            try:
                made = self._client.create_contact(contact)
            except (AuthRefused, NotFound):
                raise
            except FatalApiError as exc:  # 400 with echowin's reasons, 413, 422, ...
                return RowOutcome("rejected", error=_reasons(exc))
            except OutcomeUnknown:
                lost = _Answer(fence, None, lost_at=time.time())
                found = self._reconcile({0: contact}, lost)
                if found:
                    return RowOutcome("created", found[0].id)
                if self._made_unseen(lost, 0):
                    return _unconfirmed(1, 1)
                continue
            return RowOutcome("created", made.id)
        raise OutcomeUnknown(
            f"echowin did not answer {SINGLE_ATTEMPTS} times whether it created a contact",
            method="POST",
            path="/api/v1/contacts",
        )


def delete_copy(client: ContactsApi, contact_id: str) -> None:
    """Delete a copy this run made of a contact another made at the same moment; one
    already gone (another run took it, or a re-run repeats it) is fine."""
    with contextlib.suppress(NotFound):
        client.delete_contact(contact_id)


def _row_keys(contact: NewContact) -> Keys:
    return match_keys(contact.number, contact.email, RECONCILE_KEYS)


def _pair_order(pair: tuple[str | None, str]) -> tuple[dt.datetime, str]:
    return order_of(*pair)


def _skipped(row: int, contact_id: str) -> RowOutcome:
    """A row whose key another importer made while this run was creating it."""
    return RowOutcome("skipped", contact_id, "already in echowin")


def _reasons(exc: FatalApiError) -> str:
    """Why echowin refused a row, in its words."""
    if isinstance(exc, TagRefused):
        return str(exc)  # "echowin refused the tag 'X' (name: ...)"
    if isinstance(exc, ValidationFailed) and exc.details:
        return "echowin refused it: " + "; ".join(f"{d.field}: {d.message}" for d in exc.details)
    return f"echowin refused it: {exc}"


def _unconfirmed(made: int, rows: int) -> RowOutcome:
    """Rows echowin made (by its count, all or some) that no stored contact matched by
    number or email: never sent again, since that could duplicate them."""
    if made >= rows:
        return RowOutcome("unconfirmed", error="echowin counted it created, but no contact "
                          "with its number or email was found: look it up")  # fmt: skip
    return RowOutcome("unconfirmed", error=f"echowin created {made} of {rows} such rows but "
                      "none could be matched to its contact: look it up before importing it "
                      "again")  # fmt: skip
