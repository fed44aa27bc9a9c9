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
from collections.abc import Callable, Iterator

from ..errors import PaginationError
from .models import Contact, ContactPage

PAGE_SIZE = 100


class ContactPager:
    """Contacts page by page, each once; `total_count` is known after the first page.

    Stops on an empty page, after the last page the server announced,
    or at the first contact for which `stop` is true (that one is not yielded).
    Refuses a page whose contacts are exactly the previous page's (a server
    ignoring `page` would otherwise loop forever).
    """

    def __init__(
        self,
        fetch: Callable[[int], ContactPage],
        *,
        stop: Callable[[Contact], bool] | None = None,
    ) -> None:
        self._fetch = fetch
        self._stop = stop
        self.total_count: int | None = None  # as the first page said
        self.last_total_count: int | None = None  # as the latest page said
        self.pages_read = 0
        self.seen: set[str] = set()
        self._tied_pages: set[int] = set()  # pages on either side of a split tie

    def __iter__(self) -> Iterator[Contact]:
        page, previous, last_moment = 1, None, None
        while True:
            result = self._read(page)
            ids = [c.id for c in result.data]
            if not ids:
                return
            if ids == previous:
                raise PaginationError(
                    f"page {page} repeats page {page - 1}", method="GET", path="/api/v1/contacts"
                )
            if last_moment is not None and result.data[0].created_at == last_moment:
                self._tied_pages |= {page - 1, page}
            for contact in result.data:
                if self._stop is not None and self._stop(contact):
                    return
                if contact.id not in self.seen:
                    self.seen.add(contact.id)
                    yield contact
            if page >= result.pagination.total_pages:
                return
            previous, last_moment, page = ids, result.data[-1].created_at, page + 1

    def reread_ties(self, rounds: int = 3) -> Iterator[Contact]:
        """Contacts not seen yet on the pages around split ties, read again `rounds`
        times (each read may order a tie afresh); nothing when no tie was split."""
        for _ in range(rounds if self._tied_pages else 0):
            for page in sorted(self._tied_pages):
                for contact in self._read(page).data:
                    if self._stop is not None and self._stop(contact):
                        break
                    if contact.id not in self.seen:
                        self.seen.add(contact.id)
                        yield contact

    def _read(self, page: int) -> ContactPage:
        result = self._fetch(page)
        self.pages_read += 1
        if self.total_count is None:
            self.total_count = result.pagination.total_count
        self.last_total_count = result.pagination.total_count
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
