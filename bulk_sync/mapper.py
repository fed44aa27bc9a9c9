"""Apply a bound mapping to a chunk of rows: one text column per target, transforms done.

The result is a frame indexed by row number with a column per target the mapping
fills: `firstName`, `lastName`, `email`, `number`, `carrier`, `name`, `note`,
`cf.<name>` for custom fields (text), and `tags`, `assignUserIds`, `boardIds`
(lists of text). An empty cell is `""`, never NaN.

Where `number` or `email` lists several columns, each one's values come too, as
`number@0`, `number@1`, ...: the first *valid* one is the row's (see
`importer.prepare`), which only the region and the rules can tell.
"""

from __future__ import annotations

import pandas as pd

from .cells import restore
from .mapping import (
    CONTACT_FIELDS,
    REGION,
    BoundMapping,
    ListSpec,
    Transform,
    ValueSpec,
    read_date,
)
from .sources import Chunk


def map_chunk(bound: BoundMapping, chunk: Chunk) -> pd.DataFrame:
    """The mapped values of every row of `chunk`, indexed by row number."""
    frame = chunk.frame()
    mapping = bound.mapping
    out = pd.DataFrame(index=frame.index)
    refused: list[pd.Series] = []  # what `date`/`number` transforms could not read
    for where, spec in mapping.specs():
        values = _values(frame, spec, bound.columns[where], refused, bound.label(where))
        if where.startswith("fields."):
            out[where.removeprefix("fields.")] = values
            if where in CANDIDATES and spec.value is None and len(bound.columns[where]) > 1:
                for i, column in enumerate(bound.columns[where]):
                    out[f"{where.removeprefix('fields.')}@{i}"] = _values(frame, spec, (column,))
        elif where.startswith("customFields."):
            out["cf." + where.removeprefix("customFields.")] = values
        elif where in ("name", "note"):
            out[where] = values
    out["tags"] = _lists(frame, bound, [(f"tags[{i}]", s) for i, s in enumerate(mapping.tags)])
    for target, list_spec in (
        ("assignUserIds", mapping.assign_user_ids),
        ("boardIds", mapping.board_ids),
    ):
        if list_spec is not None:
            out[target] = _lists(frame, bound, [(target, list_spec)])
    for key in CONTACT_FIELDS:
        if key not in out:
            out[key] = ""
    if REGION in bound.columns:  # each row's country: see importer.prepare
        out[REGION] = frame[bound.columns[REGION][0]]
    out[PROBLEMS] = _joined(refused, frame.index)
    return out


PROBLEMS = "_problems"  # per row: why a transform could not read a cell ("" when none)


def _joined(refused: list[pd.Series], index: pd.Index) -> pd.Series:
    if not refused:
        return pd.Series("", index=index, dtype=object)
    frame = pd.concat(refused, axis=1)
    return frame.apply(lambda row: "; ".join(r for r in row if r), axis=1).astype(object)


CANDIDATES = ("fields.number", "fields.email")  # several columns: the first valid one wins


def _values(
    frame: pd.DataFrame,
    spec: ValueSpec,
    columns: tuple[int, ...],
    refused: list[pd.Series] | None = None,
    label: str = "",
) -> pd.Series:
    if spec.value is not None:
        constant = spec.value if isinstance(spec.value, str) else ",".join(spec.value)
        values = pd.Series(constant, index=frame.index, dtype=object)
    else:
        values = frame[columns[0]].copy()
        for column in columns[1:]:  # each row: the first listed column that holds a value
            empty = values.str.strip() == ""
            if not empty.any():
                break
            values = values.where(~empty, frame[column])
        # written by an export (cells.py); one look at the whole column (a line break
        # in a cell may make it look so: restore leaves such values as they are)
        if "\n'" in "\n" + "\n".join(values.tolist()):
            values = values.map(restore)
    for step in spec.transform:
        if step.name in READERS and refused is not None:
            values, why = read_values(step, values)
            if why.str.len().any():
                refused.append(why.map(lambda r: f"{label}: {r}" if r else ""))
        else:
            values = apply_transform(step, values)
    return values


READERS = ("date", "number")  # transforms that can refuse a cell: the row is rejected


def read_values(step: Transform, values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """A `date` or `number` transform over a column: the values read (ISO dates, plain
    numbers; empty where refused) and, for each refused cell, why."""
    read: dict[str, tuple[str, str]] = {}
    for text in values.unique():
        if not text.strip():
            read[text] = (text, "")
            continue
        try:
            done = read_date(text, step.arg) if step.name == "date" else step.arg.read(text)
            read[text] = (done, "")
        except ValueError as exc:
            read[text] = ("", str(exc))
    return values.map(lambda v: read[v][0]), values.map(lambda v: read[v][1])


def _lists(
    frame: pd.DataFrame, bound: BoundMapping, specs: list[tuple[str, ListSpec]]
) -> pd.Series:
    """Each row's values from several list specs, split, trimmed, blanks dropped."""
    parts: list[list[list[str]]] = []  # each spec's items, row by row
    for where, spec in specs:
        if spec.value is not None and not isinstance(spec.value, str):
            parts.append([list(spec.value)] * len(frame))
            continue
        values = _values(frame, spec, bound.columns[where])
        if spec.split:
            parts.append([v.split(spec.split) for v in values.tolist()])
        else:
            parts.append([[v] for v in values.tolist()])
    rows = zip(*parts, strict=True) if parts else ([] for _ in range(len(frame)))
    joined = [[s for items in row for v in items if (s := v.strip())] for row in rows]
    return pd.Series(joined, index=frame.index, dtype=object)


def apply_transform(step: Transform, values: pd.Series) -> pd.Series:
    """One transform over a column of text; see the README for what each one does."""
    name, arg = step.name, step.arg
    if name == "strip":
        return values.str.strip()
    if name == "lower":
        return values.str.lower()
    if name == "upper":
        return values.str.upper()
    if name == "title":
        return values.str.title()
    if name == "digits":
        return values.str.replace(r"\D+", "", regex=True)
    if name == "none_if_empty":
        return values.where(values.str.strip() != "", "")
    if name == "default":
        return values.where(values.str.strip() != "", arg)
    if name == "replace":  # whole cell, like pandas' Series.replace({from: to})
        return values.map(lambda v: arg.get(v, v))
    if name == "regex":  # the first group where the pattern is found, else empty
        return values.map(arg.first_group)
    raise AssertionError(f"transform {name!r} has no implementation")
