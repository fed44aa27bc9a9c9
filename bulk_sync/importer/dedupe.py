"""In-file duplicates: the first row to carry a match key wins; later ones point at it.

The keys seen so far live in a private temporary SQLite database on disk, not in a
Python set, so memory stays flat however many rows the file has (8 MB of cached
pages at most). Keys go in sorted, which keeps the B-tree's pages warm. A key is
an int (the digits of an E.164 number, when the number alone is the match key:
twice as fast as text) or text.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from itertools import islice

Key = int | str


class SeenKeys:
    def __init__(self) -> None:
        self._db = sqlite3.connect("")  # "": a temporary file, deleted on close
        self._db.execute("PRAGMA cache_size = -8000")  # KiB: 8 MB of pages, bounded
        self._db.execute("CREATE TABLE seen_int (key INTEGER PRIMARY KEY, row INTEGER)")
        self._db.execute("CREATE TABLE seen_text (key TEXT PRIMARY KEY, row INTEGER) WITHOUT ROWID")

    def first_rows(self, keys: Mapping[int, Key]) -> dict[int, int]:
        """For each row (given in file order) that repeats an earlier key: the first row."""
        numbers = {row: key for row, key in keys.items() if isinstance(key, int)}
        texts = {row: key for row, key in keys.items() if isinstance(key, str)}
        return self._first_rows("seen_int", numbers) | self._first_rows("seen_text", texts)

    def _first_rows(self, table: str, keys: Mapping[int, Key]) -> dict[int, int]:
        if not keys:
            return {}
        self._db.executemany(
            f"INSERT OR IGNORE INTO {table} (key, row) VALUES (?, ?)",
            sorted((key, row) for row, key in keys.items()),
        )
        first: dict[Key, int] = {}
        items = iter(sorted(set(keys.values())))
        while batch := list(islice(items, 500)):
            marks = ", ".join("?" * len(batch))
            query = f"SELECT key, row FROM {table} WHERE key IN ({marks})"
            first.update(self._db.execute(query, batch).fetchall())
        return {row: first[key] for row, key in keys.items() if first[key] != row}

    def close(self) -> None:
        self._db.close()
