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

With `read_ahead=N`, the next N pages are asked for in threads while the caller works
on the one before: the wait for the server then overlaps the caller's work (the GIL is
released while a socket waits), and with N = 2 the server always has the next request
at hand while the client reads the last answer. Pages are still handed over one at a
time and in order, and a page past the last one the server announced is never asked
for. (A shrinking count is still seen: page k + N is asked for only after page k
came back, so answers can only swap with their neighbours.)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import queue
import threading
from abc import abstractmethod
from collections import deque
from collections.abc import Callable, Iterator, MutableSet, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from ..errors import PaginationError
from .models import Pagination


class Item(Protocol):
    """What the pager reads of a contact: `Contact`, or `Listed` (the export's)."""

    @property
    def id(self) -> str: ...

    @property
    def created_at(self) -> str | None: ...


C = TypeVar("C", bound=Item)
C_co = TypeVar("C_co", bound=Item, covariant=True)


class Page(Protocol[C_co]):
    """A page of the listing: `ContactPage`, or `ListedPage`."""

    @property
    def data(self) -> Sequence[C_co]: ...

    @property
    def pagination(self) -> Pagination: ...


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


class PageMemory(MutableSet[str]):
    """A `seen` set that takes a page's ids in one call (one round trip to disk)."""

    @abstractmethod
    def add_new(self, ids: Sequence[str]) -> set[str]:
        """Add `ids`; return those that were not in the set before."""


def _add_new(seen: MutableSet[str], ids: Sequence[str]) -> set[str]:
    """`ids` added to `seen`: those that were not in it before."""
    if isinstance(seen, PageMemory):
        return seen.add_new(ids)
    new = {i for i in ids if i not in seen}
    for i in new:
        seen.add(i)
    return new


class _Ahead(Generic[C]):
    """One page asked for ahead; `result()` waits for it (and raises what the read
    raised)."""

    def __init__(self, page: int) -> None:
        self.page = page
        self._result: Page[C] | None = None
        self._error: BaseException | None = None
        self._done = threading.Event()

    def read(self, fetch: Callable[[int], Page[C]]) -> None:
        try:
            self._result = fetch(self.page)
        except BaseException as exc:  # handed to the caller by result()
            self._error = exc
        finally:
            self._done.set()

    def result(self) -> Page[C]:
        self._done.wait()
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result


class _Readers(Generic[C]):
    """`count` threads that read the pages asked for ahead, started at the first one
    and kept for the walk (a thread a page cost more than a tenth of a millisecond of
    CPU, and held the caller up while it started). Daemon threads: an interrupted
    process does not wait for them."""

    def __init__(self, fetch: Callable[[int], Page[C]], count: int) -> None:
        self._fetch, self._count = fetch, count
        self._asked: queue.SimpleQueue[_Ahead[C] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []

    def ask(self, page: int) -> _Ahead[C]:
        if not self._threads:
            self._threads = [
                threading.Thread(target=self._work, name=f"bulk-sync-pages-{i}", daemon=True)
                for i in range(self._count)
            ]
            for thread in self._threads:
                thread.start()
        ahead: _Ahead[C] = _Ahead(page)
        self._asked.put(ahead)
        return ahead

    def _work(self) -> None:
        while (ahead := self._asked.get()) is not None:
            ahead.read(self._fetch)

    def close(self) -> None:
        for _ in self._threads:
            self._asked.put(None)
        self._threads = []


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


class ContactPager(Generic[C]):
    """Contacts page by page, each once; `total_count` is known after the first page.

    Stops on an empty page, after the last page the server announced,
    or at the first contact for which `stop` is true (that one is not yielded).
    Refuses a page whose contacts are exactly the previous page's while the count did
    not grow (a server ignoring `page` would otherwise loop forever; newest first, a
    page of others' new contacts pushes the last page read down into the next).
    `seen` keeps the ids yielded (a set by default; a `PageMemory` takes a page's ids
    at once), each page's new ids as the page is handed over; a caller that stores
    contacts idempotently on disk passes `seen=NO_MEMORY` so that memory does not grow
    with the team.
    `read_ahead`: see the module docstring (a reader that stops early has then
    read up to that many pages more than it used).
    """

    def __init__(
        self,
        fetch: Callable[[int], Page[C]],
        *,
        stop: Callable[[C], bool] | None = None,
        seen: MutableSet[str] | None = None,
        read_ahead: int = 0,
    ) -> None:
        self._fetch = fetch
        self._stop = stop
        self.read_ahead = read_ahead  # pages asked for ahead
        self.total_count: int | None = None  # as the first page said
        self.last_total_count: int | None = None  # as the latest page said
        self.pages_read = 0
        self.shrank = False  # the count went down while reading: contacts were deleted
        self.seen: MutableSet[str] = set() if seen is None else seen
        self._ties: dict[str, _Tie] = {}  # createdAt → a tie split by a page boundary

    def __iter__(self) -> Iterator[C]:
        page, previous, previous_total = 1, None, None
        last: Sequence[C] = ()
        ahead: deque[_Ahead[C]] = deque()  # pages asked for, in order
        readers: _Readers[C] = _Readers(self._fetch, self.read_ahead)
        asked = 0  # the last page asked for
        try:
            while True:
                if ahead:
                    result = self._counted(ahead.popleft().result())
                else:
                    result, asked = self._read(page), page
                ids = [c.id for c in result.data]
                if not ids:
                    return
                grew = (previous_total or 0) < result.pagination.total_count
                if ids == previous and not grew:  # else others' new contacts pushed it down
                    raise PaginationError(
                        f"page {page} repeats page {page - 1}",
                        method="GET",
                        path="/api/v1/contacts",
                    )
                more = page < result.pagination.total_pages
                if more:  # ask for up to `read_ahead` pages past this one
                    upto = min(page + self.read_ahead, result.pagination.total_pages)
                    while asked < upto:
                        asked += 1
                        ahead.append(readers.ask(asked))
                self._note_ties(page, last, result.data)
                contacts, cut_short = result.data, False
                if self._stop is not None:
                    stop = self._stop
                    cut = next((i for i, c in enumerate(contacts) if stop(c)), None)
                    if cut is not None:
                        contacts, more, cut_short = contacts[:cut], False, True
                new = _add_new(self.seen, [c.id for c in contacts] if cut_short else ids)
                yield from (c for c in contacts if c.id in new)
                if not more:
                    return
                previous, last, page = ids, result.data, page + 1
                previous_total = result.pagination.total_count
        finally:
            while ahead:  # the caller stopped early: no request left behind
                with contextlib.suppress(Exception):  # a page nobody will read
                    self._counted(ahead.popleft().result())
            readers.close()

    def _note_ties(self, page: int, before: Sequence[C], now: Sequence[C]) -> None:
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
                    rounds: int = 30) -> Iterator[C]:  # fmt: skip
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

    def _read(self, page: int) -> Page[C]:
        return self._counted(self._fetch(page))

    def _counted(self, result: Page[C]) -> Page[C]:
        self.pages_read += 1
        total = result.pagination.total_count
        if self.total_count is None:
            self.total_count = total
        if self.last_total_count is not None and total < self.last_total_count:
            self.shrank = True
        self.last_total_count = total
        return result


READS_WHILE_DELETED = 8  # reads of one range at most while others' deletes shift its pages


def reads_while_deleted(
    pager_for: Callable[[], ContactPager[C]], rounds: int = READS_WHILE_DELETED
) -> Iterator[ContactPager[C]]:
    """Fresh pagers over one range, each to be read whole before the next is asked
    for, until one was read while no contact was deleted (`rounds` at most).

    The pages are offsets: a contact deleted above the one read last shifts the rest
    up, and one slips past a page boundary unseen. Newest first (`sort_order="desc"`),
    that always shows: new contacts land above and push the pages down, so the rest
    moves up only when more were deleted above than made, and the count falls
    between two pages (`shrank`). Oldest first, new contacts land at the end and hide
    a delete from the count: read a range that others may delete in newest first.
    Together the reads see every contact that lived through them (each is missed
    only by a read that shrank, and the last read did not)."""
    for _ in range(rounds):
        pager = pager_for()
        yield pager
        if not pager.shrank:
            return


def created_before(created_at: str | None, cutoff: str | None) -> bool:
    """`created_at` is strictly older than `cutoff`; a timestamp that does not read as
    ISO 8601 (or is missing) tells nothing, so it is not."""
    mine, theirs = moment(created_at), moment(cutoff)
    return mine is not None and theirs is not None and mine < theirs


def moment(text: str | None) -> dt.datetime | None:
    """A `createdAt` as a time (UTC when it names no zone); None when it does not read."""
    try:
        when = dt.datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when
