"""Paging through contacts: the one pager every reader of the team uses.

Listing is by offset over a sort that has ties (a bulk of 100 contacts shares one
`createdAt`), and others may add or delete contacts while we read. So the pager
- yields each contact once, by id, however pages overlap;
- stops at the end, or at the first contact its stop rule names (newest-first
  reads stop at the first contact older than a cutoff);
- remembers the pages whose boundary splits a tie (the same `createdAt` on both
  sides): a database without a tie-breaker may order a tie differently on every
  query, so a contact of it can slip past that boundary. `reread_ties()` reads
  those pages again, for the contacts not seen yet.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, MutableSet
from dataclasses import dataclass, field

from ..errors import PaginationError
from .models import Contact, ContactPage

PAGE_SIZE = 100


class _Forgetful(MutableSet[str]):
    """Remembers nothing: every contact is new to it."""

    def __contains__(self, item: object) -> bool:
        return False

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def add(self, value: str) -> None:
        pass

    def discard(self, value: str) -> None:
        pass


NO_MEMORY: MutableSet[str] = _Forgetful()


@dataclass
class _Tie:
    """Contacts sharing one `createdAt` across a page boundary: the pages they sit on,
    how many places they fill there (fixed while no one writes before them), and the
    ids seen so far. Complete when as many ids are seen as there are places."""

    pages: dict[int, int] = field(default_factory=dict)  # page → places the tie fills
    ids: set[str] = field(default_factory=set)

    @property
    def complete(self) -> bool:
        return len(self.ids) >= sum(self.pages.values())


class ContactPager:
    """Contacts page by page, each once; `total_count` is known after the first page.

    Stops on an empty page, after the last page the server announced,
    or at the first contact for which `stop` is true (that one is not yielded).
    Refuses a page whose contacts are exactly the previous page's (a server
    ignoring `page` would otherwise loop forever). `seen` keeps the ids yielded
    (a set by default); a caller that stores contacts idempotently on disk passes
    `seen=NO_MEMORY` so that memory does not grow with the team.
    """

    def __init__(
        self,
        fetch: Callable[[int], ContactPage],
        *,
        stop: Callable[[Contact], bool] | None = None,
        seen: MutableSet[str] | None = None,
    ) -> None:
        self._fetch = fetch
        self._stop = stop
        self.total_count: int | None = None  # as the first page said
        self.last_total_count: int | None = None  # as the latest page said
        self.pages_read = 0
        self.shrank = False  # the count went down while reading: contacts were deleted
        self.seen: MutableSet[str] = set() if seen is None else seen
        self._ties: dict[str, _Tie] = {}  # createdAt → a tie split by a page boundary

    def __iter__(self) -> Iterator[Contact]:
        page, previous = 1, None
        last: list[Contact] = []
        while True:
            result = self._read(page)
            ids = [c.id for c in result.data]
            if not ids:
                return
            if ids == previous:
                raise PaginationError(
                    f"page {page} repeats page {page - 1}", method="GET", path="/api/v1/contacts"
                )
            self._note_ties(page, last, result.data)
            for contact in result.data:
                if self._stop is not None and self._stop(contact):
                    return
                if contact.id not in self.seen:
                    self.seen.add(contact.id)
                    yield contact
            if page >= result.pagination.total_pages:
                return
            previous, last, page = ids, result.data, page + 1

    def _note_ties(self, page: int, before: list[Contact], now: list[Contact]) -> None:
        """A tie across the boundary between the page `before` and this one."""
        moment = now[0].created_at
        if not before or moment is None or before[-1].created_at != moment:
            return
        tie = self._ties.setdefault(moment, _Tie())
        for number, contacts in ((page - 1, before), (page, now)):
            tied = [c.id for c in contacts if c.created_at == moment]
            tie.pages[number] = len(tied)
            tie.ids.update(tied)

    def reread_ties(self, done: Callable[[], bool] = lambda: False,
                    rounds: int = 30) -> Iterator[Contact]:  # fmt: skip
        """Contacts of split ties not seen yet: the pages of each tie not complete are
        read again (each read may order a tie afresh) until every tie is complete or
        `done()` says enough, at most `rounds` times."""
        for _ in range(rounds):
            pending = [(m, t) for m, t in self._ties.items() if not t.complete]
            if not pending or done():
                return
            for moment, tie in pending:
                for page in sorted(tie.pages):
                    for contact in self._read(page).data:
                        if contact.created_at != moment or contact.id in tie.ids:
                            continue
                        tie.ids.add(contact.id)
                        if self._stop is not None and self._stop(contact):
                            continue
                        if contact.id not in self.seen:
                            self.seen.add(contact.id)
                            yield contact

    @property
    def complete(self) -> bool:
        """Every tie split by a page boundary was seen whole."""
        return all(tie.complete for tie in self._ties.values())

    def _read(self, page: int) -> ContactPage:
        result = self._fetch(page)
        self.pages_read += 1
        total = result.pagination.total_count
        if self.total_count is None:
            self.total_count = total
        if self.last_total_count is not None and total < self.last_total_count:
            self.shrank = True
        self.last_total_count = total
        return result


def created_before(created_at: str | None, cutoff: str | None) -> bool:
    """`created_at` is strictly older than `cutoff`; a timestamp that does not read as
    ISO 8601 (or is missing) tells nothing, so it is not."""
    mine, theirs = _moment(created_at), _moment(cutoff)
    return mine is not None and theirs is not None and mine < theirs


def _moment(text: str | None) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment
