"""One chunk of source rows → rejected rows with reasons, and contacts ready to send.

Pure and picklable: `Preparer` holds only the bound mapping, the team's rules and
the region, so a worker process can run it on chunks while the main process sends.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pandera.pandas as pa

from ..client.models import NewContact, NoteDraft
from ..mapper import map_chunk
from ..mapping import BoundMapping
from ..normalize import (
    custom_date,
    custom_number,
    normalize_email,
    normalize_name,
    normalize_number,
    select_option,
    split_name,
    unique_tags,
)
from ..sources import Chunk
from ..validation import TeamRules, build_schema, row_problems


@dataclass
class PreparedChunk:
    """A chunk after validation: every row is either rejected or has a contact."""

    rows: list[list[str]]
    row_numbers: list[int]
    rejected: dict[int, str] = field(default_factory=dict)
    contacts: dict[int, NewContact] = field(default_factory=dict)
    keys: dict[int, str] = field(default_factory=dict)  # in-file dedupe key, where there is one


@dataclass
class Preparer:
    bound: BoundMapping
    team: TeamRules
    region: str
    _schema: pa.DataFrameSchema | None = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_schema": None}  # rebuilt where it is used

    @property
    def schema(self) -> pa.DataFrameSchema:
        if self._schema is None:
            self._schema = build_schema(self.bound.mapping, self.team, self.region)
        return self._schema

    def prepare(self, chunk: Chunk) -> PreparedChunk:
        out = PreparedChunk(chunk.rows, chunk.row_numbers, rejected=dict(chunk.problems))
        mapped = map_chunk(self.bound, chunk)
        for row, reasons in row_problems(mapped, self.schema).items():
            if row not in out.rejected:  # a misaligned row's values mean nothing
                out.rejected[row] = "; ".join(reasons)
        good = mapped[~mapped.index.isin(list(out.rejected))]
        for row, values in zip(good.index, good.to_dict("records"), strict=True):
            contact = self._contact({str(k): v for k, v in values.items()})
            out.contacts[row] = contact
            key = self._key(contact)
            if key is not None:
                out.keys[row] = key
        return out

    def _contact(self, values: dict[str, Any]) -> NewContact:
        """A valid row's values, normalized (its checks passed, so nothing raises here)."""
        mapping = self.bound.mapping
        phone = normalize_number(values["number"], self.region)
        first, last = normalize_name(values["firstName"]), normalize_name(values["lastName"])
        if "name" in values and not (first and last):
            split_first, split_last = split_name(values["name"])
            first, last = first or split_first, last or split_last
        custom: dict[str, Any] = {}
        for name in mapping.custom_fields:
            text = values["cf." + name].strip()
            if text:
                custom[name] = self._custom_value(name, text)
        number_spec = mapping.fields.number
        if number_spec is not None and number_spec.extension and phone.extension:
            custom[number_spec.extension] = phone.extension
        note = None
        if mapping.note is not None and values["note"].strip():
            note = NoteDraft(note=values["note"].strip(), type=mapping.note.type)
        return NewContact(
            number=phone.e164,
            first_name=first or None,
            last_name=last or None,
            email=normalize_email(values["email"]) or None,
            carrier=values["carrier"].strip() or None,
            custom_fields=custom or None,
            tag_names=unique_tags(values["tags"]) or None,
            note=note,
            assign_user_ids=list(dict.fromkeys(values["assignUserIds"])) or None
            if "assignUserIds" in values
            else None,
            board_ids=list(dict.fromkeys(values["boardIds"])) or None
            if "boardIds" in values
            else None,
        )

    def _custom_value(self, name: str, text: str) -> Any:
        schema = self.team.custom_fields.get(name)
        if schema is None or schema.type == "text":
            return text
        if schema.type == "number":
            return custom_number(text)
        if schema.type == "date":
            return custom_date(text)
        if schema.type == "select" and schema.options:
            return select_option(text, schema.options)
        return text

    def _key(self, contact: NewContact) -> str | None:
        parts = [
            contact.number if k == "number" else contact.email for k in self.bound.mapping.match
        ]
        if any(p is None for p in parts):
            return None  # a row without its match key is never an in-file duplicate
        return "\x1f".join(p for p in parts if p is not None)


_WORKER: Preparer | None = None
PARALLEL_FROM_BYTES = 2 << 20  # smaller files are done before worker processes start


def prepared_chunks(
    preparer: Preparer, chunks: Iterator[Chunk], workers: int
) -> Iterator[PreparedChunk]:
    """`preparer.prepare` over `chunks`, in order, on `workers` processes when above one.

    The main process keeps reading, deduping and sending while workers validate;
    at most two chunks per worker are in flight, so memory stays flat. Workers are
    started by a fork server: forking this process (threads: the sandbox, httpx)
    would not be safe.
    """
    if workers <= 1:
        for chunk in chunks:
            yield preparer.prepare(chunk)
        return
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])  # pandas and pandera imported once, then forked
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start_worker, initargs=(preparer,)
    ) as pool:
        pending: deque[Future[PreparedChunk]] = deque()
        try:
            for chunk in chunks:
                pending.append(pool.submit(_prepare_in_worker, chunk))
                if len(pending) >= 2 * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


def _start_worker(preparer: Preparer) -> None:
    global _WORKER
    _WORKER = preparer


def _prepare_in_worker(chunk: Chunk) -> PreparedChunk:
    if _WORKER is None:
        raise RuntimeError("worker started without a preparer")
    return _WORKER.prepare(chunk)
