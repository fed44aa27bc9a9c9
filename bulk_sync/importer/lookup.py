"""Which rows are already in the team: the cheapest way for this file and this team.

Reading the team costs GETs (100 a minute, 100 contacts a page); searching costs the
search class (30 a minute, one search per key). `plan_lookup` compares the two for
this run and says which, why, and what it costs:
- `index`: the team's key index in the state directory (team.py), brought up to
  date by reading what is new since the last run (or the whole team, the first
  time); contacts come back with their data, for updates;
- `search`: each row's key searched for (a few rows into a large team, with no
  index yet);
- `none`: `--allow-duplicates`, nothing looked up.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from ..client.models import Contact
from ..config import RateLimits
from .api import ContactsApi
from .keys import Key, Keys, contact_keys, search_text
from .team import ALL_KEYS, TeamIndex


@dataclass
class Found:
    """Row → ids of the team's contacts it matches (rows with any), and the rows
    matched by their alternates only (see keys.py)."""

    ids: dict[int, list[str]] = field(default_factory=dict)
    by_alternates: set[int] = field(default_factory=set)


def find_rows(
    keys: Mapping[int, Keys],
    alternates: Mapping[int, Keys],
    ids_by_key: Callable[[Iterable[Key]], Mapping[Key, list[str]]],
) -> Found:
    """Each row's contacts: those that share one of its keys; for a row whose keys match
    none, those that share one of its alternates. `ids_by_key` is asked twice at most:
    for the keys, then for the alternates of the rows still unmatched."""
    found = Found(_rows(keys, ids_by_key(_unique(keys))))
    rest = {row: more for row, more in alternates.items() if row not in found.ids and more}
    if rest:
        more = _rows(rest, ids_by_key(_unique(rest)))
        found.ids |= more
        found.by_alternates = set(more)
    return found


def _unique(keys: Mapping[int, Keys]) -> list[Key]:
    return list(dict.fromkeys(key for row_keys in keys.values() for key in row_keys))


def _rows(keys: Mapping[int, Keys], ids: Mapping[Key, list[str]]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for row, row_keys in keys.items():
        if matched := list(dict.fromkeys(c for key in row_keys for c in ids.get(key, ()))):
            found[row] = matched
    return found


class Lookup(Protocol):
    def find(self, keys: Mapping[int, Keys], alternates: Mapping[int, Keys]) -> Found:
        """The rows' contacts in the team: see `find_rows`."""
        ...

    def contact(self, contact_id: str) -> tuple[Contact | None, bool]:
        """The contact as last read (None: not at hand), and whether it was read in this
        run (its tags can then be merged without reading it again)."""
        ...


@dataclass(frozen=True)
class LookupPlan:
    kind: str  # index, search, none
    reason: str
    requests: dict[str, int]  # rate class → requests, as far as known before reading
    minutes: float  # at least, under echowin's limits

    def describe(self) -> str:
        calls = ", ".join(f"{n} {k.upper()}" for k, n in self.requests.items() if n) or "no"
        text = f"{self.kind}: {self.reason} ({calls} requests, at least {self.minutes:.1f} min)"
        if self.kind != "none":
            text += (
                "; --allow-duplicates would save these, but then every row is created, "
                "even one already in echowin"
            )
        return text


def plan_lookup(
    *,
    team_count: int,
    known: int | None,
    rows: int,
    match: tuple[str, ...],
    allow_duplicates: bool,
    whole: bool,
    limits: RateLimits,
    keys_per_row: int | None = None,
) -> LookupPlan:
    """The cheapest lookup: `team_count` contacts in the team, `known` of them in an
    index taken up (None: no index for this team yet), about `rows` rows to look up,
    each by up to `keys_per_row` keys (default: one a match field; more where a field
    has several columns, each an alternate searched when the row's key finds nothing)."""
    per_min = limits.window_s / 60
    if allow_duplicates:
        return LookupPlan("none", "--allow-duplicates: every row is created", {}, 0.0)
    if known is not None and not whole:
        pages = max(1, math.ceil(abs(team_count - known) / 100) + 1)
        return LookupPlan(
            "index",
            f"the team's index knows {known} of its {team_count} contacts; reading what is new",
            {"get": pages},
            pages / limits.get * per_min,
        )
    pages = max(1, math.ceil(team_count / 100))
    read_min = pages / limits.get * per_min
    searches = rows * (keys_per_row or len(match))
    search_min = searches / limits.search * per_min
    if not whole and searches < pages and search_min < read_min:
        return LookupPlan(
            "search",
            f"{rows} rows into a team of {team_count}: searching each key is cheaper than "
            "reading the team",
            {"search": searches},
            search_min,
        )
    why = (
        f"the whole team read again ({team_count} contacts), as asked"
        if whole
        else f"reading the team's {team_count} contacts once"
    )
    return LookupPlan("index", why, {"get": pages}, read_min)


class IndexLookup:
    def __init__(self, index: TeamIndex) -> None:
        self._index = index

    def find(self, keys: Mapping[int, Keys], alternates: Mapping[int, Keys]) -> Found:
        return find_rows(keys, alternates, self._index.ids_by_key)

    def contact(self, contact_id: str) -> tuple[Contact | None, bool]:
        return self._index.contact(contact_id)


class SearchLookup:
    """One search per key; the contacts found are kept for the chunk that asked."""

    def __init__(self, client: ContactsApi, match: tuple[str, ...], region: str) -> None:
        self._client = client
        self._match = match
        self._region = region
        self._found: dict[str, Contact] = {}
        self.searches = 0

    def find(self, keys: Mapping[int, Keys], alternates: Mapping[int, Keys]) -> Found:
        self._found = {}  # alternates are searched only for rows their keys did not find
        return find_rows(keys, alternates, lambda wanted: {k: self._search(k) for k in wanted})

    def _search(self, key: Key) -> list[str]:
        """Ids of the contacts with `key`."""
        matched = []
        pager = self._client.iter_contacts(search=search_text(key, self._region))
        for contact in pager:
            if key in contact_keys(contact, ALL_KEYS, self._region):
                matched.append(contact.id)
                self._found[contact.id] = contact
        self.searches += pager.pages_read
        return matched

    def contact(self, contact_id: str) -> tuple[Contact | None, bool]:
        return self._found.get(contact_id), contact_id in self._found


class NoLookup:
    def find(self, keys: Mapping[int, Keys], alternates: Mapping[int, Keys]) -> Found:
        return Found()

    def contact(self, contact_id: str) -> tuple[Contact | None, bool]:
        return None, False
