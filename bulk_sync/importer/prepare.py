"""One chunk of source rows → rejected rows with reasons, and contacts ready to send.

Pure and picklable: `Preparer` holds only the bound mapping, the team's rules and
the region, so a worker process can run it on chunks while the main process sends.
"""

from __future__ import annotations

import contextlib
import gc
import json
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pandera.pandas as pa

from ..mapper import PROBLEMS, map_chunk
from ..mapping import REGION, BoundMapping
from ..normalize import (
    Invalid,
    Phone,
    country_region,
    custom_date,
    custom_number,
    normalize_email,
    normalize_name,
    normalize_number,
    read_number,
    select_option,
    split_name,
    unique_tags,
)
from ..sources import Chunk, RawChunk
from ..validation import TeamRules, build_schema, reads_numbers, row_problems
from .keys import Keys, alternate_keys, match_keys
from .reports import row_lines

Body = dict[str, Any]  # one contact as echowin's API takes it (camelCase), see NewContact


@dataclass
class PreparedChunk:
    """A chunk's verdicts: every row is either rejected (with the reason) or has a body.

    Only strings, so it crosses from a worker process cheaply: each body is its
    JSON, read again only when it is sent (a dry run never reads it).
    """

    row_numbers: list[int]  # the chunk's rows that are not blank
    lines: list[str]  # each row's start of its results line: see reports.row_lines
    rejected: dict[int, str] = field(default_factory=dict)
    bodies: dict[int, str] = field(default_factory=dict)  # JSON of a NewContact
    keys: dict[int, Keys] = field(default_factory=dict)  # match keys, where there are any
    alternates: dict[int, Keys] = field(default_factory=dict)  # see keys.alternate_keys
    tags: dict[int, list[str]] = field(default_factory=dict)  # tag names, where there are any


def _valid_number(value: str, region: str) -> str | None:
    """None for a valid phone number, else why not."""
    found = read_number(value, region)
    return found if isinstance(found, str) else None


def _valid_email(value: str, region: str) -> str | None:
    try:
        normalize_email(value)
    except Invalid as exc:
        return str(exc)
    return None


@dataclass
class Preparer:
    bound: BoundMapping
    team: TeamRules
    region: str
    bodies: bool = True  # False (a dry run): verdicts, keys and tags only (no alternates)
    _schema: pa.DataFrameSchema | None = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_schema": None}  # rebuilt where it is used

    @property
    def labels(self) -> dict[str, str]:
        """Each mapped column (`number`, `cf.role`) in the spreadsheet's words."""
        return {
            where.removeprefix("fields.").replace("customFields.", "cf."): self.bound.label(where)
            for where, _ in self.bound.mapping.specs()
            if where.startswith(("fields.", "customFields.")) or where == "boardIds"
        }

    @property
    def schema(self) -> pa.DataFrameSchema:
        if self._schema is None:
            self._schema = build_schema(self.bound.mapping, self.team, self.region)
        return self._schema

    def prepare(self, chunk: Chunk) -> PreparedChunk:
        out = PreparedChunk(
            chunk.row_numbers, row_lines(chunk.rows, chunk.row_numbers), dict(chunk.problems)
        )
        mapped = map_chunk(self.bound, chunk)
        unread: dict[int, str] = {  # cells a date or number transform could not read
            row: why for row, why in zip(mapped.index, mapped[PROBLEMS], strict=True) if why
        }
        for row, country in self._by_country(mapped).items():
            unread[row] = f"{unread[row]}; {country}" if row in unread else country
        tried, others = {}, {}  # why a row has no valid one; its other valid ones
        for key in ("number", "email"):
            tried[key], others[key] = self._first_valid(mapped, key)
        problems = row_problems(mapped, self.schema, self.labels)
        for row in sorted(unread.keys() | problems.keys()):
            if row in out.rejected:  # a misaligned row's values mean nothing
                continue
            reasons = problems.get(row, [])
            for key, each in tried.items():  # every column tried, not the first only
                if row in each:
                    start = f"{self.labels[key]}: {key}"
                    reasons = [each[row] if r.startswith(start) else r for r in reasons]
            out.rejected[row] = "; ".join([unread[row], *reasons] if row in unread else reasons)
        good = mapped[~mapped.index.isin(list(out.rejected))]
        rows = good.index.tolist()
        # normalized once, for the dedupe keys, the plan's tags and the bodies
        phones = {raw: normalize_number(raw, self.region) for raw in good["number"].unique()}
        numbers = [phones[raw] for raw in good["number"].tolist()]
        match = self.bound.mapping.match
        if self.bodies or "email" in match:
            emails = [normalize_email(v) for v in good["email"].tolist()]
        else:  # a dry run matching by number alone: its emails were checked, and go nowhere
            emails = [""] * len(rows)
        tag_lists: dict[tuple[str, ...], list[str]] = {}  # one list for rows alike: the
        # same few tag cells fill most rows, and they cross back from a worker once
        tags = [tag_lists.get(names := tuple(v)) or tag_lists.setdefault(names, unique_tags(v))
                for v in good["tags"].tolist()]  # fmt: skip
        for i, row in enumerate(rows):
            if keys := match_keys(numbers[i].e164, emails[i], match):
                out.keys[row] = keys  # a row without its match key is never a duplicate
            if row in others["number"] or row in others["email"]:
                more = self._alternates(others["number"].get(row, []),
                                        others["email"].get(row, []), keys)  # fmt: skip
                if more:
                    out.alternates[row] = more
            if tags[i]:
                out.tags[row] = tags[i]
        if self.bodies:  # a dry run sends nothing: it has no use for them
            for row, body in zip(rows, self._bodies(good, numbers, emails, tags), strict=True):
                out.bodies[row] = json.dumps(body, ensure_ascii=False)
        return out

    def _by_country(self, mapped: pd.DataFrame) -> dict[int, str]:
        """With `region_column`: each row's numbers read with its own country's region
        (made E.164 where valid there; the run's region reads the rest), and why a
        country cell names no country."""
        if REGION not in mapped:
            return {}
        columns = [c for c in mapped.columns if c == "number" or str(c).startswith("number@")]
        numbers = {c: list(mapped[c]) for c in columns}
        label, why = self.bound.label(REGION), {}
        for i, (row, country) in enumerate(zip(mapped.index, mapped[REGION], strict=True)):
            if not country.strip():
                continue
            region = country_region(country)
            if region is None:
                why[row] = f"{label}: {country.strip()!r} is not a country name or ISO code"
                continue
            for column in columns:
                value = numbers[column][i]
                if value.strip() and not isinstance(found := read_number(value, region), str):
                    ext = f" ext. {found.extension}" if found.extension else ""
                    numbers[column][i] = found.e164 + ext
        for column in columns:
            mapped[column] = numbers[column]
        del mapped[REGION]
        return why

    def _alternates(self, numbers: list[str], emails: list[str], keys: Keys) -> Keys:
        """The keys of a row's other valid numbers and emails (see keys.py), whatever the
        match key: an update leaves a stored one alone (the lookup takes its match's)."""
        e164 = [normalize_number(n, self.region).e164 for n in numbers]
        folded = [normalize_email(e) for e in emails]
        return alternate_keys(e164, folded, keys)

    def _first_valid(
        self, mapped: pd.DataFrame, key: str
    ) -> tuple[dict[int, str], dict[int, list[str]]]:
        """Where `key` (number or email) comes from several columns: each row takes the
        first column whose value is valid (Phone 1 `n/a`, Phone 2 valid: Phone 2), in
        place; rows with none are told why, column by column; and the rows with more
        than one valid value, their other ones (the row's alternates: see keys.py)."""
        candidates = [c for c in mapped.columns if str(c).startswith(f"{key}@")]
        if not candidates:
            return {}, {}
        columns = self.bound.columns[f"fields.{key}"]
        names = [self.bound.headers[i] for i in columns] if self.bound.headers else candidates
        check = _valid_number if key == "number" else _valid_email
        region = self.region
        chosen, why, others = [], {}, {}
        rows = zip(*(mapped[c].tolist() for c in candidates), strict=True)
        for row, values in zip(mapped.index, rows, strict=True):
            if not self.bodies:  # a dry run looks nothing up: the first valid one will do
                first = next((v for v in values if v.strip() and check(v, region) is None), None)
                if first is not None:
                    chosen.append(first)
                    continue
            held = [(n, v, check(v, region)) for n, v in zip(names, values, strict=True)
                    if v.strip()]  # fmt: skip
            valid = [v for _, v, problem in held if problem is None]
            chosen.append(valid[0] if valid else (held[0][1] if held else ""))
            if not valid and len(held) > 1:
                why[row] = "; ".join(f"{n}: {problem}" for n, _, problem in held)
            elif len(valid) > 1:
                others[row] = valid[1:]
        mapped[key] = chosen
        for column in candidates:
            del mapped[column]
        return why, others

    def _bodies(
        self, good: pd.DataFrame, numbers: list[Phone], emails: list[str], tags: list[list[str]]
    ) -> Iterator[Body]:
        """The valid rows' values, normalized column by column (their checks passed, so
        nothing raises here), then put together row by row, empty fields left out."""
        mapping = self.bound.mapping
        columns: dict[str, list[Any]] = {"number": [phone.e164 for phone in numbers]}
        number_spec = mapping.fields.number
        if number_spec is not None and number_spec.extension:
            extension_field = number_spec.extension
            extensions = [phone.extension for phone in numbers]
        else:
            extension_field, extensions = "", []
        first = [normalize_name(v) for v in good["firstName"].tolist()]
        last = [normalize_name(v) for v in good["lastName"].tolist()]
        if "name" in good:
            for i, full in enumerate(good["name"]):
                if not (first[i] and last[i]) and full.strip():
                    split_first, split_last = split_name(full)
                    first[i], last[i] = first[i] or split_first, last[i] or split_last
        columns |= {
            "firstName": first,
            "lastName": last,
            "email": emails,
            "carrier": [v.strip() for v in good["carrier"].tolist()],
            "tagNames": tags,
        }
        if mapping.note is not None:
            note_type = mapping.note.type
            columns["note"] = [
                {"note": text, "type": note_type} if (text := v.strip()) else None
                for v in good["note"]
            ]
        for target in ("assignUserIds", "boardIds"):
            if target in good:
                columns[target] = [list(dict.fromkeys(v)) for v in good[target]]
        custom = {
            name: [self._custom_value(name, v) for v in good["cf." + name]]
            for name in mapping.custom_fields
        }
        names = list(columns)
        for i, values in enumerate(zip(*columns.values(), strict=True)):
            body: Body = {k: v for k, v in zip(names, values, strict=True) if v}
            fields = {name: column[i] for name, column in custom.items() if column[i] is not None}
            if extensions and extensions[i]:
                fields[extension_field] = extensions[i]
            if fields:
                body["customFields"] = fields
            yield body

    def _custom_value(self, name: str, raw: str) -> Any:
        text = raw.strip()
        if not text:
            return None
        schema = self.team.custom_fields.get(name)
        if schema is None or schema.type == "text":
            return text
        if schema.type == "number":
            return custom_number(text, plain=reads_numbers(self.bound.mapping, name))
        if schema.type == "date":
            return custom_date(text)
        if schema.type == "select" and schema.options:
            return select_option(text, schema.options)
        return text


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Collect garbage less often while an import runs.

    An import makes millions of short-lived objects beside a large long-lived heap
    (pandas, the phone cache); with the default thresholds, every few thousand
    allocations rescan that heap: 30% of a run's time, measured. What exists now
    is frozen out of collections, and the youngest generation waits longer.
    """
    before = gc.get_threshold()
    _collect_less()
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def _collect_less() -> None:
    gc.freeze()
    gc.set_threshold(10_000, 20, 100)


def _start_worker() -> None:
    """A worker leaves Ctrl-C and SIGTERM to the main process, which stops between
    batches and then shuts the workers down itself; and it ends with its parent,
    however that ends (a killed parent would otherwise leave it waiting forever)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    threading.Thread(target=_end_with, args=(os.getppid(),), daemon=True).start()
    _collect_less()


def _end_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


PARALLEL_FROM_BYTES = 2 << 20  # smaller files are done before worker processes start
# Rows a chunk holds when workers prepare it: each chunk costs a fixed ~40 ms (pandas'
# frames, pandera's failure cases) and crosses to a worker and back; twice the rows of
# a chunk read in one process (sources.CHUNK_ROWS, where the bar moves more often) take
# an eighth less CPU a row (benchmarks/import_dry_run.py).
PARALLEL_CHUNK_ROWS = 10_000


class Workers:
    """Processes that prepare chunks, started as soon as this is made.

    A process with no other thread forks them: they start at once, pandas already
    imported. Otherwise (the in-process sandbox's server thread, say) forking
    could copy a lock some thread holds, so a fork server starts them (spawn where
    there is none): that takes half a second (it imports pandas) and blocks, so a
    thread does it while the caller goes on reading, asking the server, and
    preparing the first chunks itself.
    """

    def __init__(self, count: int) -> None:
        methods = multiprocessing.get_all_start_methods()
        if threading.active_count() == 1 and "fork" in methods:
            method = "fork"
        else:
            method = "forkserver" if "forkserver" in methods else "spawn"
        context = multiprocessing.get_context(method)
        if method == "forkserver":
            context.set_forkserver_preload([__name__])  # pandas, pandera: imported once
        self.count = count
        self.start_method = method
        self._pool = ProcessPoolExecutor(count, mp_context=context, initializer=_start_worker)
        self._starting = threading.Thread(target=self._start, daemon=True)
        if method == "fork":
            self._start()  # milliseconds, and forking must happen before any thread
        else:
            self._starting.start()

    def _start(self) -> None:
        for future in [self._pool.submit(_started) for _ in range(self.count)]:
            future.exception()  # up, or broken: submit will tell

    @property
    def ready(self) -> bool:
        return not self._starting.is_alive()

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self._pool._processes.values() if process.pid]

    def submit(self, preparer: Preparer, chunk: RawChunk) -> Future[PreparedChunk]:
        return self._pool.submit(_prepare_in_worker, preparer, chunk)

    def close(self) -> None:
        if self._starting.is_alive():
            self._starting.join()
        self._pool.shutdown(cancel_futures=True)

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def prepared_chunks(
    preparer: Preparer, chunks: Iterator[RawChunk], workers: Workers | None
) -> Iterator[PreparedChunk]:
    """`preparer.prepare` of each chunk, cleaned, in order; on `workers` when given.

    Until the workers are up, chunks are prepared here. Then the main process
    keeps reading, deduping and sending while workers validate, at most two
    chunks per worker in flight, so memory stays flat.
    """
    pending: deque[Future[PreparedChunk]] = deque()
    try:
        for chunk in chunks:
            if workers is None or (not pending and not workers.ready):
                yield preparer.prepare(chunk.cleaned())
                continue
            pending.append(workers.submit(preparer, chunk))
            if len(pending) >= 2 * workers.count:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()


def _started() -> None:
    """Runs in a worker once it is up; returning is the point."""


_LAST: Preparer | None = None  # in a worker: the preparer of the chunk before


def _prepare_in_worker(preparer: Preparer, chunk: RawChunk) -> PreparedChunk:
    """`preparer` comes with every chunk (a few kB); its pandera schema is kept."""
    global _LAST
    if preparer != _LAST:
        _LAST = preparer
    return _LAST.prepare(chunk.cleaned())
