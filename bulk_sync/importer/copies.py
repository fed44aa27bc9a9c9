"""Copies of one row that importers made at the same moment, each unaware of the other.

Two runs with different state directories may both find a key missing from the team
and both create it. Each run settles that alone, after a bulk, from what it reads of
the team since its fence; no run talks to another, yet all of them settle the same:

- **the keeper** of a key is its copy that comes first by `createdAt`, then by id: a
  property of the contacts themselves, so every run that sees two copies names the
  same one. A run keeps its own copy only if it is the keeper; otherwise it deletes
  it and reports the row `skipped` with the keeper's id.
- **No key is lost.** A run deletes a copy only when it sees an earlier one; the
  earliest copy of all has none before it, so no run ever deletes it.
- **No key stays doubled**, as long as a contact made later never shows an earlier
  `createdAt` (what the fence already relies on: contacts made after it are read
  down to its `createdAt`): the owner of any later copy reads the keeper when it
  checks, since the keeper was stored before its own copy, and deletes its copy.
  A run that saw only its own copy thus holds the keeper, and no run reports a
  deleted copy as `created`.

Which copy is this run's own? The bulk endpoint answers with counts, not ids. A bulk
is stored in one write, its contacts sharing one `createdAt` (the stamp); this run's
stamp is the one whose contacts all carry keys of this batch and are as many as
echowin counted created (a run's first batch holds a random number of rows, so two
runs of one file do not send identical bulks). When two stamps fit, the run cannot
tell its copy, and treats the copies that are identical to its row (number, email,
names) as interchangeable: it deletes each that is not the keeper (another run may
delete it too: the second delete finds it gone). A copy that is not identical to the
row (a person typed the number meanwhile) is never deleted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ..client.models import Contact, NewContact
from ..client.pagination import moment
from .keys import Keys

_LONG_AGO = dt.datetime.min.replace(tzinfo=dt.UTC)


def order(contact: Contact) -> tuple[dt.datetime, str]:
    """The keeper comes first: earliest `createdAt` (unreadable: first), then smallest id."""
    return order_of(contact.created_at, contact.id)


def order_of(created_at: str | None, contact_id: str) -> tuple[dt.datetime, str]:
    return moment(created_at) or _LONG_AGO, contact_id


def keeper(copies: Iterable[Contact]) -> Contact:
    return min(copies, key=order)


def own_stamps(
    listed: Sequence[tuple[Contact, Keys]], batch_keys: set[Keys], made: int | None
) -> tuple[set[str], bool]:
    """The stamps (`createdAt`) that may be this bulk's: every contact with that stamp
    has a key of the batch, and there are as many as echowin counted created (when it
    said). And whether this run is sure which is its own: one stamp fits, and either
    echowin said how many it made, or no other stamp holds a key of the batch (an
    answer lost: this bulk may have made nothing, and another's fit in its place).
    Echowin saying it made nothing: sure that no copy is this run's."""
    if made == 0:
        return set(), True
    by_stamp: dict[str, list[Keys]] = {}
    for contact, keys in listed:
        if contact.created_at:
            by_stamp.setdefault(contact.created_at, []).append(keys)
    stamps = {
        stamp
        for stamp, keys in by_stamp.items()
        if all(k in batch_keys for k in keys) and (made is None or len(keys) == made)
    }
    alone = not any(
        stamp not in stamps and any(k in batch_keys for k in keys)
        for stamp, keys in by_stamp.items()
    )
    return stamps, len(stamps) == 1 and (made is not None or alone)


@dataclass
class Settled:
    """A batch's rows, with copies of their keys settled: the contact each row stands
    for, whether this run made it, and the copies this run must delete."""

    kept: dict[int, Contact] = field(default_factory=dict)  # row → the keeper this run made
    others: dict[int, Contact] = field(default_factory=dict)  # row → a copy not this run's
    doomed: list[str] = field(default_factory=list)  # this run's copies that are not keepers


def settle(
    copies: Mapping[int, list[Contact]],
    rows: Mapping[int, NewContact],
    stamps: set[str],
    sure: bool,
) -> Settled:
    """Each row's copies (its key's contacts made since the fence) → what it stands for;
    `stamps`, `sure`: see `own_stamps`. See the module docstring."""
    settled = Settled()
    for row, found in copies.items():
        first = keeper(found)
        if sure:  # this run's copy is known (or known not to exist)
            mine = [c for c in found if c.created_at in stamps]
            if mine == [first]:
                settled.kept[row] = first
                continue
        elif len(found) == 1:  # nothing else made it: the copy found is this run's
            settled.kept[row] = first
            continue
        else:  # this run's copy cannot be told: identical ones are alike; and any of
            # them may be another's: the row is reported as made by another
            mine = [
                c
                for c in found
                if (not stamps or c.created_at in stamps) and same_row(c, rows[row])
            ]
        settled.others[row] = first
        settled.doomed += [c.id for c in mine if c.id != first.id]
    return settled


def same_row(stored: Contact, row: NewContact) -> bool:
    """The copy holds what the row sends: names, and email (case aside). Its number
    shares the row's key already."""
    email = (stored.email or "").strip().casefold()
    return (
        (stored.first_name or "") == (row.first_name or "")
        and (stored.last_name or "") == (row.last_name or "")
        and email == (row.email or "").casefold()
    )
