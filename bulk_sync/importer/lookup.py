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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from ..client.models import Contact
from ..config import RateLimits
from .api import ContactsApi
from .keys import Key, Keys, contact_keys, search_text
from .team import ALL_KEYS, TeamIndex


class Lookup(Protocol):
    def find(self, keys: Mapping[int, Keys]) -> dict[int, list[str]]:
        """Row → ids of the team's contacts that share one of its keys (rows with any)."""
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
) -> LookupPlan:
    """The cheapest lookup: `team_count` contacts in the team, `known` of them in an
    index taken up (None: no index for this team yet), about `rows` rows to look up."""
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
    searches = rows * len(match)
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

    def find(self, keys: Mapping[int, Keys]) -> dict[int, list[str]]:
        return self._index.lookup(keys)

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

    def find(self, keys: Mapping[int, Keys]) -> dict[int, list[str]]:
        self._found = {}
        by_key: dict[Key, list[str]] = {}
        for key in dict.fromkeys(k for row_keys in keys.values() for k in row_keys):
            by_key[key] = [c.id for c in self._search(key)]
        found: dict[int, list[str]] = {}
        for row, row_keys in keys.items():
            ids = list(dict.fromkeys(i for key in row_keys for i in by_key[key]))
            if ids:
                found[row] = ids
        return found

    def _search(self, key: Key) -> list[Contact]:
        matched = []
        pager = self._client.iter_contacts(search=search_text(key, self._region))
        for contact in pager:
            if key in contact_keys(contact, ALL_KEYS, self._region):
                matched.append(contact)
                self._found[contact.id] = contact
        self.searches += pager.pages_read
        return matched

    def contact(self, contact_id: str) -> tuple[Contact | None, bool]:
        return self._found.get(contact_id), contact_id in self._found


class NoLookup:
    def find(self, keys: Mapping[int, Keys]) -> dict[int, list[str]]:
        return {}

    def contact(self, contact_id: str) -> tuple[Contact | None, bool]:
        return None, False
