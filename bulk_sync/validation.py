"""A pandera schema built from a mapping and the team's custom fields; every problem of
every row, with a reason.

The checks are the normalizers of `normalize.py`, registered with pandera under
names (`phone_number`, `email_address`, `iso_date`, ...): a value passes when its
normalizer accepts it, and the failure's reason is the normalizer's own sentence.
Validation is lazy: one pass reports all problems of a chunk, never the first only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pandas as pd
import pandera.pandas as pa
from pandera import extensions
from pandera.errors import SchemaErrors

from .client.models import CustomFieldSchema
from .mapping import Mapping
from .normalize import (
    Invalid,
    custom_date,
    custom_number,
    is_email,
    normalize_email,
    normalize_number,
    read_number,
    select_option,
)


@dataclass(frozen=True)
class TeamRules:
    """What the team on the server allows: its custom field schemas and board ids.

    `board_ids` is None when the mapping fills no boards (then nobody asked).
    """

    custom_fields: dict[str, CustomFieldSchema] = field(default_factory=dict)
    board_ids: frozenset[str] | None = None


def _blank(value: Any) -> bool:
    return isinstance(value, str) and not value.strip()


def _known_boards(value: list[str], *, board_ids: frozenset[str]) -> None:
    unknown = [b for b in value if b not in board_ids]
    if unknown:
        raise Invalid(f"no board with id {', '.join(map(repr, unknown))} on this team")


def _required(value: str) -> None:
    if _blank(value):
        raise Invalid("is empty, and it is required")


# name -> a reader that raises Invalid with the reason; blank values pass (see `required`)
_READERS: dict[str, Callable[..., object]] = {
    "phone_number": lambda v, *, region: normalize_number(v, region),
    "email_address": lambda v: normalize_email(v),
    "number_value": lambda v: custom_number(v),
    "iso_date": lambda v: custom_date(v),
    "select_option_check": lambda v, *, options: select_option(v, list(options)),
    "known_boards": _known_boards,
    "required": _required,
}


# the same verdicts as those readers, without raising: phones and emails fill most cells
_TESTS: dict[str, Callable[..., bool]] = {
    "phone_number": lambda v, *, region: not isinstance(read_number(v, region), str),
    "email_address": is_email,
}


def _passes(name: str, value: Any, **stats: Any) -> bool:
    if name != "required" and _blank(value):
        return True
    if name in _TESTS:
        return _TESTS[name](value, **stats)
    try:
        _READERS[name](value, **stats)
    except Invalid:
        return False
    return True


_Check = TypeVar("_Check", bound=Callable[..., Any])


def _vectorized_check(statistics: list[str] | None = None) -> Callable[[_Check], _Check]:
    register: Callable[[_Check], _Check] = extensions.register_check_method(
        statistics=statistics, check_type="vectorized"
    )
    return register


def _each_distinct(name: str, values: pd.Series, **stats: Any) -> pd.Series:
    """`_passes` once per distinct value: files repeat values, and phones are costly."""
    verdicts = {value: _passes(name, value, **stats) for value in values.unique()}
    return values.map(verdicts).astype(bool)


# pandera reads each check's signature, so every check is spelled out.
@_vectorized_check(["region"])
def phone_number(values: pd.Series, *, region: str) -> pd.Series:
    return _each_distinct("phone_number", values, region=region)


@_vectorized_check()
def email_address(values: pd.Series) -> pd.Series:
    return _each_distinct("email_address", values)


@_vectorized_check()
def number_value(values: pd.Series) -> pd.Series:
    return _each_distinct("number_value", values)


@_vectorized_check()
def iso_date(values: pd.Series) -> pd.Series:
    return _each_distinct("iso_date", values)


@_vectorized_check(["options"])
def select_option_check(values: pd.Series, *, options: tuple[str, ...]) -> pd.Series:
    return _each_distinct("select_option_check", values, options=options)


@_vectorized_check(["board_ids"])
def known_boards(values: pd.Series, *, board_ids: frozenset[str]) -> pd.Series:
    # lists cannot be dict keys: each row on its own (board lists are short and rare)
    return values.map(lambda v: _passes("known_boards", v, board_ids=board_ids)).astype(bool)


@_vectorized_check()
def required(values: pd.Series) -> pd.Series:
    return values.str.strip() != ""


def reads_numbers(mapping: Mapping, name: str) -> bool:
    """The custom field's spec has a `number` transform: its values are plain numbers."""
    spec = mapping.custom_fields.get(name)
    return spec is not None and any(t.name == "number" for t in spec.transform)


def build_schema(mapping: Mapping, team: TeamRules, region: str) -> pa.DataFrameSchema:
    """The schema of a mapped chunk (see `mapper.map_chunk`) for this mapping and team."""
    columns: dict[str, pa.Column] = {
        "number": pa.Column(checks=[pa.Check.required(), pa.Check.phone_number(region=region)]),
        "email": pa.Column(checks=[pa.Check.email_address()]),
    }
    for name in mapping.custom_fields:
        schema = team.custom_fields.get(name)
        checks = []
        if schema is not None:
            if schema.required and name not in mapping.implicit_custom_fields:
                checks.append(pa.Check.required())
            if schema.type == "number" and not reads_numbers(mapping, name):
                checks.append(pa.Check.number_value())  # else the transform checked them
            elif schema.type == "date":
                checks.append(pa.Check.iso_date())
            elif schema.type == "select" and schema.options:
                checks.append(pa.Check.select_option_check(options=tuple(schema.options)))
        columns["cf." + name] = pa.Column(checks=checks)
    if mapping.board_ids is not None and team.board_ids is not None:
        columns["boardIds"] = pa.Column(checks=[pa.Check.known_boards(board_ids=team.board_ids)])
    return pa.DataFrameSchema(columns, strict=False, coerce=False, name="contacts")


def row_problems(
    frame: pd.DataFrame, schema: pa.DataFrameSchema, labels: dict[str, str] | None = None
) -> dict[int, list[str]]:
    """Every failing check of every row, as sentences, by row number.

    With `labels` (a mapped column → the spreadsheet's column names, `Phone, Mobile`)
    each reason starts with the columns, then names the field:
    `Phone, Mobile: number is empty, and it is required`; without, with the field:
    `number: is empty, and it is required`.
    """
    try:
        schema.validate(frame, lazy=True, inplace=True)  # the frame is read, never changed
    except SchemaErrors as exc:
        return _reasons(exc.failure_cases, schema, labels)
    return {}


def _reasons(
    failures: pd.DataFrame, schema: pa.DataFrameSchema, labels: dict[str, str] | None
) -> dict[int, list[str]]:
    """Each failing row's reasons, in the schema's order of columns and checks."""
    order = {name: i for i, name in enumerate(schema.columns)}
    found: dict[int, list[tuple[int, int, str]]] = {}
    for column, number, value, row in failures[
        ["column", "check_number", "failure_case", "index"]
    ].itertuples(index=False):
        if row is None or pd.isna(row):
            raise AssertionError(f"pandera reported a failure without a row: {column} {number}")
        check = schema.columns[column].checks[int(number)]
        try:
            _READERS[check.name](value, **check.statistics)
            reason = f"fails {check.name}"
        except Invalid as exc:
            reason = str(exc)
        names_field = check.name in ("phone_number", "email_address")  # "number '1' is ..."
        if labels is not None and column in labels:
            field_name = column[3:] if column.startswith("cf.") else column
            reason = f"{labels[column]}: {reason if names_field else f'{field_name} {reason}'}"
        elif not names_field:
            where = "customFields." + column[3:] if column.startswith("cf.") else column
            reason = f"{where}: {reason}"
        found.setdefault(int(row), []).append((order[column], int(number), reason))
    return {row: [reason for *_, reason in sorted(reasons)] for row, reasons in found.items()}
