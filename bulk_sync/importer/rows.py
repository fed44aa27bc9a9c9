"""Each row's fate, in file order: the planner between the prepared rows and the team.

A row is, in this order: done by an earlier run of this job (its journal), rejected,
an in-file duplicate, or looked for in the team by its match key (lookup.py), and,
where that finds nothing, by its alternates (its other valid numbers or emails, see
keys.py; a contact found only so counts when it is plausibly the row's person and no
earlier row of the run resolved to it): found once, it is skipped (create) or brought
up to date (update.py); found several times, rejected as ambiguous; left unconfirmed
by an earlier run, unconfirmed again; not found, skipped (update) or created in a
batch (push.py). Rows are written to the reports in file order once their outcome is
known; at most one chunk and one batch wait in memory.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ..client.models import Contact, NewContact
from ..client.pagination import created_before, moment
from ..errors import Interrupted
from .copies import keeper, same_row
from .dedupe import SeenKeys
from .journal import Job
from .keys import Keys, match_keys, same_person
from .lookup import Found, Lookup
from .outcomes import RowOutcome
from .prepare import PreparedChunk
from .push import BATCH_SIZE, MAX_BULK_BYTES, Pusher, TagResolver
from .reports import ReportWriter
from .team import ALL_KEYS, TeamIndex
from .update import Updater, UpdateRules


@dataclass(frozen=True)
class Progress:
    rows: int
    created: int
    rejected: int
    duplicates: int
    total: int | None  # data rows in the file: as a spreadsheet says, or a CSV's estimate
    estimated: bool = False  # total is a CSV's, estimated from the bytes read so far


@dataclass
class Identity:
    """How rows meet the team: the mode, the lookup, and the updater."""

    mode: str
    lookup: Lookup
    updater: Updater
    rules: UpdateRules
    index: TeamIndex | None  # remembers what this run wrote (None: no lookup at all)


_NOT_SENT = RowOutcome("skipped", error="dry run: not sent")
# A run's first batch holds up to this many rows fewer than a full one, at random: two
# runs of one file started together then send bulks of different rows, and each can
# tell its own contacts from the other's (copies.py).
FIRST_BATCH_SPREAD = 32
# Copies of a row made this long before a job began, or since, may be another import's
# race still being settled (its runs delete all but the keeper): not an ambiguous match.
RACE_WINDOW = dt.timedelta(minutes=10)
_STILL_UNCONFIRMED = RowOutcome(
    "unconfirmed",
    error="an earlier run sent this row and echowin counted it created, but no contact with "
    "its number or email was found: look it up (--refresh-index reads the team again)",
)


def _all_keys(body: str | dict[str, Any]) -> Keys:
    """A body's keys, number first: what the team index files a contact under."""
    contact = json.loads(body) if isinstance(body, str) else body
    return match_keys(contact.get("number"), contact.get("email"), ALL_KEYS)


class RowRun:
    """Rows in file order, each written once its outcome is known."""

    def __init__(
        self,
        writer: ReportWriter,
        pusher: Pusher,
        tags: TagResolver,
        dry_run: bool,
        on_progress: Callable[[Progress], None] | None,
        total: Callable[[], tuple[int | None, bool]],  # the file's rows, and if estimated
        match: tuple[str, ...],
        job: Job | None,
        should_stop: Callable[[], bool],
        identity: Identity,
    ) -> None:
        self._writer = writer
        self._identity = identity
        self._sending: dict[int, str] = {}  # row → body, while its batch is out
        self._touched: dict[str, Contact] = {}  # contacts this chunk updated, as they are now
        self._read: dict[str, Contact] = {}  # contacts this chunk read to weigh an alternate
        self._written: list[tuple[str, Keys, str, Contact | None]] = []  # for the index
        self._job = job
        self._should_stop = should_stop
        self.confirmed_earlier = 0  # rows an earlier run created (from the journal)
        self._pusher = pusher
        pusher.on_existing = self._made_by_another
        self._batch_size = BATCH_SIZE
        if pusher.dedupe and not dry_run:
            self._batch_size -= random.randrange(FIRST_BATCH_SPREAD)
        self._tags = tags
        self._dry_run = dry_run
        self._on_progress = on_progress
        self._total = total
        self._key_name = " and ".join(match)
        self._match = match
        self._seen = SeenKeys()
        self._waiting: list[tuple[int, str, RowOutcome | None]] = []  # row, line, outcome
        self._batch: list[tuple[int, str]] = []  # row, JSON body
        self._batch_bytes = 0  # the bodies' UTF-8 bytes: about the bulk request's size
        self._outcomes: dict[int, RowOutcome] = {}
        self.to_create = 0
        self.new_tags: dict[str, str] = {}  # casefold -> first spelling, for the plan
        self._planned_tags: set[tuple[str, ...]] = set()  # tag lists already planned

    def all(self, chunks: Iterator[PreparedChunk]) -> None:
        try:
            for prepared in chunks:
                self._chunk(prepared)
            self._send()
            self._flush()
            self._report()  # the file read whole: its total is exact now
        finally:
            self._seen.close()

    def _chunk(self, prepared: PreparedChunk) -> None:
        if self._should_stop():
            raise Interrupted("stopped when asked")
        self._report()  # a chunk read: its rows count towards the total before it is sent
        first_rows = self._seen.first_rows(prepared.keys)
        rejected, bodies = prepared.rejected, prepared.bodies
        done = self._done_earlier(prepared.row_numbers)
        settled = set(done) | set(rejected) | set(first_rows)
        self._touched, self._read = {}, {}  # the lookup answers for this chunk afresh
        wanted: dict[int, Keys] = {}  # row → what to look for in the team
        if not self._dry_run:
            for row, body in bodies.items():
                if row not in settled:
                    # a row without its match key (no email, say) is still a person
                    # with a number: looked for by it, never created twice
                    wanted[row] = prepared.keys.get(row) or _all_keys(body)[:1]
        alternates = self._alternates(prepared.alternates, wanted)
        found = self._identity.lookup.find(wanted, alternates) if wanted else Found()
        existing = found.ids
        index = self._identity.index
        unfound = {
            r: k if r in existing else k + alternates.get(r, ())
            for r, k in wanted.items()
            if r not in existing or r in found.by_alternates  # its alternate may not count
        }
        left_unconfirmed = index.unconfirmed(unfound) if index is not None else set()
        for row, line in zip(prepared.row_numbers, prepared.lines, strict=True):
            outcome: RowOutcome | None = None
            if row in done:  # created by an earlier run: never sent twice
                outcome = done[row]
                self.confirmed_earlier += 1
            elif row in rejected:
                outcome = RowOutcome("rejected", error=rejected[row])
            elif row in first_rows:
                outcome = RowOutcome(
                    "duplicate", error=f"same {self._key_name} as row {first_rows[row]}"
                )
            elif self._dry_run:
                self._plan(prepared.tags.get(row))
                outcome = _NOT_SENT
            elif ids := self._contacts(row, found, bodies, prepared.alternates):
                outcome = self._existing(
                    ids,
                    bodies[row],
                    prepared.alternates.get(row, ()),
                    by_alternates=row in found.by_alternates,
                )
            elif row in left_unconfirmed:
                outcome = _STILL_UNCONFIRMED
            elif self._identity.mode == "update":
                outcome = RowOutcome("skipped", error=f"not found: no contact in echowin has "
                                     f"this {self._key_name}")  # fmt: skip
            else:
                size = len(bodies[row].encode())
                if self._batch_bytes + size > MAX_BULK_BYTES:
                    self._send()  # long notes: fewer rows to a request
                self._batch.append((row, bodies[row]))
                self._batch_bytes += size
                self._sending[row] = bodies[row]
            self._waiting.append((row, line, outcome))
            if len(self._batch) >= self._batch_size:
                self._send()
        self._remember()
        self._flush()

    def _alternates(self, alternates: dict[int, Keys], wanted: dict[int, Keys]) -> dict[int, Keys]:
        """The alternates (keys.py) to look rows up by: an alternate that an earlier row of
        the file has as its key is that row's contact's, not this row's (so the outcome
        does not depend on whether that row's contact was made in an earlier chunk)."""
        kinds = tuple(kind for name, kind in (("number", int), ("email", str))
                      if name in self._match)  # fmt: skip
        rows = {
            row: matched
            for row, more in alternates.items()
            if row in wanted and (matched := tuple(k for k in more if isinstance(k, kinds)))
        }
        if not rows:
            return {}
        first = self._seen.first_of(key for more in rows.values() for key in more)
        kept = {
            row: tuple(key for key in more if first.get(key, row) >= row)
            for row, more in rows.items()
        }
        return {row: more for row, more in kept.items() if more}

    def _contacts(
        self, row: int, found: Found, bodies: dict[int, str], alternates: dict[int, Keys]
    ) -> list[str]:
        """The contacts the row resolves to: those with its key; or, found only through its
        alternates, those plausibly its person (keys.same_person) that no earlier row of
        this run resolved to (a colleague's office number, or another row's contact, is
        not enough to make a contact this row's)."""
        ids = found.ids.get(row, [])
        if row not in found.by_alternates:
            return ids
        row_body = json.loads(bodies[row])
        emails = tuple(k for k in (row_body.get("email"), *alternates.get(row, ()))
                       if isinstance(k, str))  # fmt: skip
        first, last = row_body.get("firstName"), row_body.get("lastName")
        return [
            i
            for i in ids
            if not self._seen.claimed(i)
            and (stored := self._stored(i)) is not None
            and same_person(stored, first, last, tuple(e.casefold() for e in emails))
        ]

    def _stored(self, contact_id: str) -> Contact | None:
        """The contact as last read, or read now (None: deleted in echowin meanwhile)."""
        stored = self._identity.lookup.contact(contact_id)[0] or self._read.get(contact_id)
        if stored is None and (stored := self._identity.updater.read(contact_id)) is not None:
            self._read[contact_id] = stored
        return stored

    def _existing(
        self, ids: list[str], body: str, alternates: Keys, *, by_alternates: bool
    ) -> RowOutcome:
        """A row whose key (or, none matching, an alternate) the team already has:
        skipped, updated, or ambiguous."""
        if len(ids) > 1:
            ids = self._racing_copies(ids, body)
        if len(ids) > 1:
            shown = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
            what = f"this {self._key_name}"
            if by_alternates:
                what = "the row's other " + " or ".join(f"{name}s" for name in self._match)
            return RowOutcome("rejected", error=f"ambiguous match: {len(ids)} contacts in "
                              f"echowin have {what} (ids {shown})")  # fmt: skip
        (contact_id,) = ids
        self._seen.claim(contact_id)
        identity = self._identity
        if identity.mode == "create":
            return RowOutcome("skipped", contact_id, "already in echowin")
        index = identity.index
        stored, fresh = identity.lookup.contact(contact_id)
        if contact_id in self._touched:  # another row of this chunk updated it already
            stored, fresh = self._touched[contact_id], True
        elif stored is None and contact_id in self._read:
            stored, fresh = self._read[contact_id], True
        updated = identity.updater.update(
            contact_id,
            json.loads(body),
            written=index.written(contact_id) if index is not None else None,
            stored=stored,
            fresh=fresh,
            alternates=alternates,
        )
        if updated.contact is not None:
            self._touched[contact_id] = updated.contact
        if updated.written is not None:
            self._written.append((contact_id, (), updated.written, updated.contact))
        return updated.outcome

    def _racing_copies(self, ids: list[str], body: str) -> list[str]:
        """Several contacts with the row's key, each what the row would create (names,
        email), made since shortly before this job began: copies that importers racing
        with it made at once, whose runs are deleting all but the keeper (copies.py):
        the keeper alone. Otherwise, as they are (an ambiguous match)."""
        if self._job is None:
            return ids
        began = moment(self._job.created_at)
        stored = [self._identity.lookup.contact(i)[0] for i in ids]
        known = [c for c in stored if c is not None]
        if began is None or len(known) < len(ids):
            return ids
        since = (began - RACE_WINDOW).isoformat()
        row = NewContact.model_validate_json(body)
        if all(
            c.created_at and not created_before(c.created_at, since) and same_row(c, row)
            for c in known
        ):
            return [keeper(known).id]
        return ids

    def _made_by_another(self, row: int, contact_id: str) -> RowOutcome:
        """A row of a batch whose key another import made since this run looked (before
        the bulk, or at the same moment: this run's copy is deleted): as if found."""
        return self._existing([contact_id], self._sending[row], (), by_alternates=False)

    def _plan(self, tag_names: list[str] | None) -> None:
        """A dry run's row that would be created, with the tags it would need made."""
        self.to_create += 1
        if tag_names and (names := tuple(tag_names)) not in self._planned_tags:
            self._planned_tags.add(names)
            for tag in self._tags.missing(names):
                self.new_tags.setdefault(tag.casefold(), tag)

    def _done_earlier(self, rows: list[int]) -> dict[int, RowOutcome]:
        """Rows of these that an earlier run of this job created (rejected ones go again)."""
        if self._job is None or not rows:
            return {}
        return self._job.created(rows[0], rows[-1])

    def _send(self) -> None:
        if self._batch:
            if self._should_stop():  # between batches: nothing is in flight
                raise Interrupted("stopped when asked")
            outcomes = self._pusher.push(self._batch)
            self._outcomes.update(outcomes)
            self._made(outcomes)
            self._batch, self._batch_bytes, self._batch_size = [], 0, BATCH_SIZE
            self._flush()

    def _made(self, outcomes: dict[int, RowOutcome]) -> None:
        """What this batch made, in the team's index (the next run need not read it),
        and the keys of rows left unconfirmed (the next run does not send them again)."""
        stored = self._pusher.stored
        unconfirmed = []
        for row, outcome in outcomes.items():
            body = json.loads(self._sending.pop(row))
            if outcome.contact_id:
                self._seen.claim(outcome.contact_id)  # created, or found (skipped)
            if outcome.status == "created" and outcome.contact_id:
                digest = self._identity.rules.body_hash(body)
                made = (outcome.contact_id, _all_keys(body), digest, stored.pop(row, None))
                self._written.append(made)
            elif outcome.status == "unconfirmed":
                unconfirmed.append(_all_keys(body))
        self._remember()
        if unconfirmed and self._identity.index is not None:
            self._identity.index.mark_unconfirmed(unconfirmed)

    def _remember(self) -> None:
        """What this run wrote (or found as the row says), in the team's index at once."""
        if self._identity.index is not None and self._written:
            self._identity.index.remember(self._written)
        self._written = []

    def _flush(self) -> None:
        done = 0
        for row, _, outcome in self._waiting:
            if outcome is None and row not in self._outcomes:
                break
            done += 1
        if not done:
            return
        self._writer.write(
            (row, line, outcome or self._outcomes.pop(row))
            for row, line, outcome in self._waiting[:done]
        )
        del self._waiting[:done]
        self._report()

    def _report(self) -> None:
        """Tell the rows written so far, and the total as far as it is known."""
        if self._on_progress is not None:
            counts = self._writer.counts
            total, estimated = self._total()
            self._on_progress(
                Progress(
                    sum(counts.values()),
                    counts["created"],
                    counts["rejected"],
                    counts["duplicate"],
                    total,
                    estimated,
                )
            )
