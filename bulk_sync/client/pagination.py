"""Paging through every contact: a small object that knows when it is finished."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ..errors import PaginationError
from .models import Contact, ContactPage


class ContactPager:
    """Iterates contacts page by page; `total_count` is known after the first page.

    Stops on an empty page or after the last page the server announced, and refuses a
    page whose contacts are exactly the previous page's (a server ignoring `page`
    would otherwise loop forever).
    """

    def __init__(self, fetch: Callable[[int], ContactPage]) -> None:
        self._fetch = fetch
        self.total_count: int | None = None
        self.pages_read = 0

    def __iter__(self) -> Iterator[Contact]:
        page, previous = 1, None
        while True:
            result = self._fetch(page)
            self.pages_read += 1
            if self.total_count is None:
                self.total_count = result.pagination.total_count
            ids = [c.id for c in result.data]
            if not ids:
                return
            if ids == previous:
                raise PaginationError(
                    f"page {page} repeats page {page - 1}", method="GET", path="/api/v1/contacts"
                )
            yield from result.data
            if page >= result.pagination.total_pages:
                return
            previous, page = ids, page + 1
