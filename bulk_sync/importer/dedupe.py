"""In-file duplicates: the first row to carry a match key wins; later ones point at it.

A row may have two keys (`match: [number, email]`): it repeats an earlier row when
either key does. A row's alternates (keys.py) play no part here, except that two rows
never resolve to one contact through them: the contacts the run's rows resolved to
are kept too (`claim`).

The keys seen so far (and the contacts claimed) live in a private temporary SQLite
database on disk, not in a Python set, so memory stays flat however many rows the
file has (8 MB of cached pages at most). Keys go in sorted, which keeps the B-tree's
pages warm. A key is an int (the digits of an E.164 number, when the number alone is
the match key: twice as fast as text) or text.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from itertools import islice

from .keys import Key, Keys


class SeenKeys:
    def __init__(self) -> None:
        self._db = sqlite3.connect("")  # "": a temporary file, deleted on close
        self._db.execute("PRAGMA cache_size = -8000")  # KiB: 8 MB of pages, bounded
        self._db.execute("CREATE TABLE seen_int (key INTEGER PRIMARY KEY, row INTEGER)")
        self._db.execute("CREATE TABLE seen_text (key TEXT PRIMARY KEY, row INTEGER) WITHOUT ROWID")
        self._db.execute("CREATE TABLE claimed (id TEXT PRIMARY KEY) WITHOUT ROWID")

    def first_rows(self, keys: Mapping[int, Keys]) -> dict[int, int]:
        """For each row (given in file order) that repeats an earlier key: the first row."""
        pairs = [(row, key) for row, row_keys in keys.items() for key in row_keys]
        numbers = [(row, key) for row, key in pairs if isinstance(key, int)]
        texts = [(row, key) for row, key in pairs if isinstance(key, str)]
        first = self._first_rows("seen_int", numbers) | self._first_rows("seen_text", texts)
        repeats: dict[int, int] = {}
        for row, key in pairs:
            if first[key] != row:
                repeats[row] = min(first[key], repeats.get(row, row))
        return repeats

    def first_of(self, keys: Iterable[Key]) -> dict[Key, int]:
        """The first row seen with each of these keys (keys no row had left out)."""
        wanted = set(keys)
        numbers: set[Key] = {key for key in wanted if isinstance(key, int)}
        return self._first("seen_int", numbers) | self._first("seen_text", wanted - numbers)

    def _first_rows(self, table: str, pairs: Sequence[tuple[int, Key]]) -> dict[Key, int]:
        if not pairs:
            return {}
        self._db.executemany(
            f"INSERT OR IGNORE INTO {table} (key, row) VALUES (?, ?)",
            sorted((key, row) for row, key in pairs),
        )
        return self._first(table, {key for _, key in pairs})

    def _first(self, table: str, keys: set[Key]) -> dict[Key, int]:
        first: dict[Key, int] = {}
        items = iter(sorted(keys))  # one table: all int, or all str
        while batch := list(islice(items, 500)):
            marks = ", ".join("?" * len(batch))
            query = f"SELECT key, row FROM {table} WHERE key IN ({marks})"
            first.update(self._db.execute(query, batch).fetchall())
        return first

    def claim(self, contact_id: str) -> None:
        """A row of this run resolved to this contact (found, or created)."""
        self._db.execute("INSERT OR IGNORE INTO claimed (id) VALUES (?)", (contact_id,))

    def claimed(self, contact_id: str) -> bool:
        """Whether a row of this run resolved to this contact so far."""
        query = "SELECT 1 FROM claimed WHERE id = ?"
        return self._db.execute(query, (contact_id,)).fetchone() is not None

    def close(self) -> None:
        self._db.close()
