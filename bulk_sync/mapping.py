"""The YAML mapping: which spreadsheet column fills which echowin field, tag, note.

`load_mapping` turns a file into a validated `Mapping`; every error names the file,
the line and the key. `Mapping.bind(headers)` then resolves column names against a
real file's headers (case-insensitively, surrounding spaces ignored) and fails with
the file's headers and the nearest match when a column is missing.

A spec in the YAML may be short: `Phone` (one column), `[Phone, Mobile]` (the first
of these columns that holds a value in that row), or long:
`{column: [...], transform: [...]}` or `{value: CONSTANT}`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import phonenumbers
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from .errors import MappingError
from .patterns import CellRegex
from .presets import resolve_mapping

CONTACT_FIELDS = ("firstName", "lastName", "email", "number", "carrier")
MATCH_KEYS = ("number", "email")
REGION = "fields.number.region_column"  # where a bound mapping keeps the region column
NOTE_TYPES = ("GENERAL", "INFO", "WARNING", "DANGER")
SIMPLE_TRANSFORMS = ("strip", "lower", "upper", "title", "digits", "none_if_empty")


def header_key(name: str) -> str:
    """How a column name is compared: case-insensitively, surrounding spaces ignored."""
    return name.strip().casefold()


# -- the model ---------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


@dataclass(frozen=True)
class Transform:
    """One step of a spec's `transform` list; `arg` holds `default`/`replace`/`regex`'s value."""

    name: str
    arg: Any = None

    def to_yaml(self) -> Any:
        if self.arg is None:
            return self.name
        if isinstance(self.arg, CellRegex):
            return {self.name: self.arg.pattern}
        if isinstance(self.arg, NumberFormat):
            return {self.name: {"decimal": self.arg.decimal, "strip": self.arg.strip}}
        if isinstance(self.arg, tuple):
            return {self.name: list(self.arg) if len(self.arg) > 1 else self.arg[0]}
        return {self.name: self.arg}

    @classmethod
    def parse(cls, raw: Any) -> Transform:
        if isinstance(raw, str) and raw in SIMPLE_TRANSFORMS:
            return cls(raw)
        if isinstance(raw, dict) and len(raw) == 1:
            ((name, arg),) = raw.items()
            if name == "default" and isinstance(arg, str | int | float):
                return cls(name, str(arg))
            if name == "replace" and isinstance(arg, dict) and arg:
                return cls(name, {str(k): "" if v is None else str(v) for k, v in arg.items()})
            if name == "regex" and isinstance(arg, str):
                return cls(name, CellRegex(arg))  # RegexRefused is a ValueError
            if name == "date":
                return cls(name, _date_formats(arg))
            if name == "number" and isinstance(arg, dict | None):
                return cls(name, NumberFormat.parse(arg or {}))
        known = ", ".join((*SIMPLE_TRANSFORMS, "default: VALUE", "replace: {from: to}", "regex: P",
                           "date: FORMAT", "number: {decimal: ',', strip: '$ '}"))  # fmt: skip
        raise ValueError(f"unknown transform {_shorten(repr(raw))}; expected one of: {known}")


@dataclass(frozen=True)
class NumberFormat:
    """How a column writes numbers: `number: {decimal: ",", strip: "€ "}` reads `1.200,50 €`
    as 1200.50. The other of `.` and `,` (and spaces) separate thousands."""

    decimal: str = "."
    strip: str = ""

    @classmethod
    def parse(cls, raw: dict[Any, Any]) -> NumberFormat:
        unknown = set(raw) - {"decimal", "strip"}
        if unknown:
            raise ValueError(f"number: unknown key {sorted(map(str, unknown))[0]!r}; "
                             "expected decimal and strip")  # fmt: skip
        decimal, strip = raw.get("decimal", "."), raw.get("strip", "")
        if decimal not in (".", ","):
            raise ValueError(f"number: decimal must be '.' or ',', not {decimal!r}")
        if not isinstance(strip, str):
            raise ValueError("number: strip must be text, the characters to drop ('$€£ ')")
        return cls(decimal, strip)

    def read(self, text: str) -> str:
        """`text` as a plain number (`1200.5`); raises ValueError saying why it is not one."""
        cleaned = "".join(c for c in text.strip() if c not in self.strip)
        thousands = "," if self.decimal == "." else "."
        cleaned = cleaned.replace(thousands, "").replace(" ", "").replace("\u00a0", "")
        if self.decimal == "," and cleaned.count(",") <= 1:
            cleaned = cleaned.replace(",", ".")
        try:
            value = float(cleaned)
        except ValueError:
            raise ValueError(
                f"{text.strip()!r} is not a number written with {self.decimal!r} for decimals"
            ) from None
        if not math.isfinite(value):
            raise ValueError(f"{text.strip()!r} is not a number")
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def _date_formats(raw: Any) -> tuple[str, ...]:
    formats = [raw] if isinstance(raw, str) else raw
    if (
        not isinstance(formats, list)
        or not formats
        or not all(isinstance(f, str) and "%" in f for f in formats)
    ):
        raise ValueError("date: give one strftime format or a list of them, e.g. date: '%d/%m/%Y'")
    return tuple(formats)


def read_date(text: str, formats: tuple[str, ...]) -> str:
    """`text` as an ISO date by the first format that reads it whole; raises ValueError
    when none does (a date is never guessed: 03/04 is March or April by the format)."""
    for fmt in formats:
        try:
            return dt.datetime.strptime(text.strip(), fmt).date().isoformat()
        except ValueError:
            continue
    shown = " or ".join(repr(f) for f in formats)
    raise ValueError(f"{text.strip()!r} is not a date written {shown}")


class ValueSpec(_Strict):
    """Where a value comes from: the first non-empty of `column`, or a constant `value`."""

    column: tuple[str, ...] = ()
    value: str | tuple[str, ...] | None = None
    transform: tuple[Annotated[Transform, PlainSerializer(lambda t: t.to_yaml())], ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, raw: Any) -> Any:
        if isinstance(raw, str | list):
            return {"column": raw}
        return raw

    @field_validator("column", mode="before")
    @classmethod
    def _columns(cls, raw: Any) -> Any:
        names = [raw] if isinstance(raw, str) else raw
        if isinstance(names, list) and not all(isinstance(n, str) and n.strip() for n in names):
            raise ValueError("column names must be non-empty text")
        return names

    @field_validator("value", mode="before")
    @classmethod
    def _constant(cls, raw: Any) -> Any:
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return str(raw)
        if isinstance(raw, list):
            return [str(v) for v in raw]
        return raw

    @field_validator("transform", mode="before")
    @classmethod
    def _transforms(cls, raw: Any) -> Any:
        items = raw if isinstance(raw, list) else [raw]
        return tuple(Transform.parse(item) for item in items)

    @model_serializer(mode="wrap")
    def _short(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = {
            k: v
            for k, v in handler(self).items()
            if v not in (None, [], ()) or (k == "value" and v is not None)  # `value: []` stays
        }
        if list(data) == ["column"]:  # the shorthand a person would write
            return data["column"][0] if len(data["column"]) == 1 else data["column"]
        return data

    @model_validator(mode="after")
    def _one_source(self) -> ValueSpec:
        if bool(self.column) == (self.value is not None):
            raise ValueError("give either `column` or `value`, not both or neither")
        return self


class NumberSpec(ValueSpec):
    extension: str | None = Field(
        None, description="Custom field that keeps the number's extension (default: dropped)."
    )
    region_column: str | None = Field(
        None,
        description="Column whose country (a name or ISO code) reads each row's number "
        "(default: the run's region for every row).",
    )


class ListSpec(ValueSpec):
    split: str | None = Field(None, description="Split a cell into several values at this text.")


class NoteSpec(ValueSpec):
    type: Literal["GENERAL", "INFO", "WARNING", "DANGER"] | None = None


class Fields(_Strict):
    first_name: ValueSpec | None = Field(None, alias="firstName")
    last_name: ValueSpec | None = Field(None, alias="lastName")
    email: ValueSpec | None = None
    number: NumberSpec | None = None
    carrier: ValueSpec | None = None


class SourceOptions(_Strict):
    sheet: str | None = None
    header_row: int = Field(1, ge=1)


class Defaults(_Strict):
    region: str | None = None

    @field_validator("region")
    @classmethod
    def _region(cls, raw: str | None) -> str | None:
        return None if raw is None else check_region(raw)


class Mapping(_Strict):
    """A validated mapping: where each contact field, custom field, tag and note comes from."""

    version: Literal[1] = 1
    source: SourceOptions = Field(default_factory=SourceOptions)
    defaults: Defaults = Field(default_factory=Defaults)
    fields: Fields = Field(default_factory=Fields)
    name: ValueSpec | None = None
    custom_fields: dict[str, ValueSpec] = Field(default_factory=dict, alias="customFields")
    tags: tuple[ListSpec, ...] = ()
    note: NoteSpec | None = None
    assign_user_ids: ListSpec | None = Field(None, alias="assignUserIds")
    board_ids: ListSpec | None = Field(None, alias="boardIds")
    match: tuple[Literal["number", "email"], ...] = ("number",)
    # on update: merge the row's tags with the contact's, or make them its only tags
    tags_mode: Literal["merge", "replace"] = "merge"
    # columns no spec names: left out, or each the custom field named by its header
    other_columns: Literal["ignore", "customFields"] = Field("ignore", alias="otherColumns")
    ignore: tuple[str, ...] = ()  # columns never taken as custom fields by otherColumns
    _implicit: frozenset[str] = PrivateAttr(default_factory=frozenset)

    @field_validator("match", mode="before")
    @classmethod
    def _match(cls, raw: Any) -> Any:
        return [k.strip() for k in raw.split(",")] if isinstance(raw, str) else raw

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, raw: Any) -> Any:
        return [raw] if isinstance(raw, dict | str) else raw

    @model_validator(mode="after")
    def _needs_a_number(self) -> Mapping:
        if self.fields.number is None:
            raise ValueError("`fields.number` is missing: echowin needs a number for every contact")
        if not self.match or len(set(self.match)) != len(self.match):
            raise ValueError("`match` lists number, email or both, each once")
        return self

    def specs(self) -> Iterator[tuple[str, ValueSpec]]:
        """Every spec with a readable name for messages: `fields.email`, `tags[0]`..."""
        for key in CONTACT_FIELDS:
            spec = getattr(self.fields, _attr(key))
            if spec is not None:
                yield f"fields.{key}", spec
        if self.name is not None:
            yield "name", self.name
        for key, spec in self.custom_fields.items():
            yield f"customFields.{key}", spec
        for i, spec in enumerate(self.tags):
            yield f"tags[{i}]", spec
        for key, spec in (("note", self.note), ("assignUserIds", self.assign_user_ids),
                          ("boardIds", self.board_ids)):  # fmt: skip
            if spec is not None:
                yield key, spec

    def bind(self, headers: list[str], *, source: str = "the file") -> BoundMapping:
        """Resolve every column name to its position in `headers`.

        Raises MappingError naming each missing column, the file's headers and the
        nearest one. A column name the header holds twice means its first place.
        """
        positions: dict[str, int] = {}
        for i, header in enumerate(headers):
            positions.setdefault(header_key(header), i)
        missing: list[str] = []
        columns: dict[str, tuple[int, ...]] = {}
        for where, spec in self.specs():
            found = tuple(
                positions[header_key(c)] for c in spec.column if header_key(c) in positions
            )
            if spec.column and not found:
                names = " or ".join(repr(c) for c in spec.column)
                hint = nearest(spec.column, headers)
                missing.append(
                    f"{where}: no column {names}" + (f" (nearest: {hint!r})" if hint else "")
                )
            columns[where] = found
        number = self.fields.number
        if number is not None and number.region_column is not None:
            if header_key(number.region_column) in positions:
                columns[REGION] = (positions[header_key(number.region_column)],)
            else:
                hint = nearest([number.region_column], headers)
                missing.append(f"fields.number.region_column: no column {number.region_column!r}"
                               + (f" (nearest: {hint!r})" if hint else ""))  # fmt: skip
        if missing:
            shown = ", ".join(repr(h) for h in headers)
            raise MappingError(f"{'; '.join(missing)}. The columns of {source} are: {shown}")
        used = {i for found in columns.values() for i in found}
        if self.other_columns == "customFields":
            return self._with_other_columns(headers, used).bind(headers, source=source)
        warnings = [
            f"column {headers[i]!r} appears more than once; the mapping uses the first "
            f"(column {i + 1})"
            for i in sorted(used)
            if sum(header_key(h) == header_key(headers[i]) for h in headers) > 1
        ]
        return BoundMapping(self, columns, warnings, [h.strip() for h in headers])

    def _with_other_columns(self, headers: list[str], used: set[int]) -> Mapping:
        """This mapping with each column it leaves out (but those in `ignore`) as the
        custom field its header names (a backup written by `bulk-sync export`)."""
        skip = {header_key(h) for h in self.ignore}
        seen: set[str] = set()
        extra: dict[str, ValueSpec] = {}
        for i, header in enumerate(headers):
            key = header_key(header)
            if i in used or not key or key in skip or key in seen:
                continue
            seen.add(key)
            extra.setdefault(header.strip(), ValueSpec(column=(header,)))
        expanded = self.model_copy(
            update={"custom_fields": {**extra, **self.custom_fields}, "other_columns": "ignore"}
        )
        expanded._implicit = frozenset(extra) - set(self.custom_fields)
        return expanded

    @property
    def implicit_custom_fields(self) -> frozenset[str]:
        """Custom fields taken from columns by `otherColumns`, not named by the mapping:
        a backup brings back what echowin held, so `required` is not enforced on them."""
        return self._implicit

    def to_yaml(self) -> str:
        """The mapping as YAML a person can save and edit (defaults left out)."""
        data = self.model_dump(mode="json", by_alias=True, exclude_defaults=True)
        return yaml.dump(
            {"version": 1, **data},
            Dumper=_Dumper,
            sort_keys=False,
            allow_unicode=True,
            width=1 << 16,
        )


class _Dumper(yaml.SafeDumper):
    """Lists of plain values on one line (`[Phone, Mobile]`), as a person writes them."""


_Dumper.add_representer(
    list,
    lambda dumper, data: dumper.represent_sequence(
        "tag:yaml.org,2002:seq", data, flow_style=all(isinstance(v, str) for v in data)
    ),
)


@dataclass(frozen=True)
class BoundMapping:
    """A mapping resolved against one file's headers: spec name -> column positions."""

    mapping: Mapping
    columns: dict[str, tuple[int, ...]]
    warnings: list[str]
    headers: list[str] = field(default_factory=list)

    def label(self, where: str) -> str:
        """The spreadsheet's words for a spec (`fields.number` → `Phone, Mobile`): its
        columns as the header spells them, else (a constant) the spec's name."""
        found = self.columns.get(where, ())
        if not found or not self.headers:
            return where.removeprefix("fields.")
        return ", ".join(self.headers[i] for i in found)


def _attr(key: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower()


def check_region(raw: str) -> str:
    region = raw.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown region {raw!r}: use a two-letter country code such as US or GB")
    return region


def nearest(wanted: tuple[str, ...] | list[str], headers: list[str]) -> str | None:
    """The header most like one of `wanted`: close in spelling, else containing it."""
    keys = {header_key(h): h for h in headers}
    for name in wanted:
        close = difflib.get_close_matches(header_key(name), list(keys), n=1, cutoff=0.75)
        if close:
            return keys[close[0]]
    for name in wanted:
        for key, header in keys.items():
            if header_key(name) in key or key in header_key(name):
                return header
    return None


# -- reading YAML ------------------------------------------------------------------------


MAX_MAPPING_BYTES = 1 << 20  # a mapping is a few KB; anything this big is the wrong file
MAX_NESTING = 32  # a mapping nests five levels deep; YAML's composer recurses per level
_API_KEY_LIKE = re.compile(r"api[-_ ]?key|token|secret|password|credential", re.IGNORECASE)


def load_mapping(path: Path) -> Mapping:
    """Read and validate a mapping file (or a preset, by name: presets.py); every problem
    names its line and key."""
    path = resolve_mapping(path)
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_MAPPING_BYTES + 1)
    except OSError as exc:
        raise MappingError(
            f"cannot read the mapping: {exc.strerror or exc}", source=str(path)
        ) from None
    if len(raw) > MAX_MAPPING_BYTES:
        raise MappingError(
            f"the mapping is over {MAX_MAPPING_BYTES >> 20} MB, where a mapping is a few KB "
            "of YAML: check that this is the right file",
            source=str(path),
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise MappingError(
            f"the mapping is not UTF-8 text (byte {exc.start + 1}): save it as UTF-8",
            source=str(path),
            line=line,
        ) from None
    return parse_mapping(text, source=str(path))


def parse_mapping(text: str, *, source: str = "mapping") -> Mapping:
    """Validate a mapping's YAML text; `source` names it in messages."""
    node, data = _read_yaml(text, source)
    if data is None:
        raise MappingError(
            "the mapping is empty: it needs at least `fields: {number: COLUMN}`", source=source
        )
    if not isinstance(data, dict):
        raise MappingError("a mapping is a YAML object with `fields:` in it", source=source, line=1)
    try:
        return Mapping.model_validate(data)
    except ValidationError as exc:
        lines = _key_lines(node)
        problems = []
        for error in exc.errors():
            path = tuple(error["loc"])
            while path and path not in lines:
                path = path[:-1]
            line = lines.get(path)
            shown = _dotted(tuple(error["loc"])) or "(top level)"
            message = str(error["msg"]).removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "unknown key"
                if _API_KEY_LIKE.search(str(error["loc"][-1])):
                    message += (
                        " (an API key never goes in a mapping: set ECHOWIN_API_KEY or pass "
                        "--api-key-file)"
                    )
            problems.append((f"line {line}: " if line else "") + f"{shown}: {message}")
        raise MappingError("; ".join(dict.fromkeys(problems)), source=source) from None


class _Refused(Exception):
    """YAML that parses, but that a mapping does not allow: why, and at which mark."""

    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(problem)
        self.problem = problem
        self.line: int = mark.line + 1


class _MappingLoader(yaml.SafeLoader):
    """PyYAML's SafeLoader without what a mapping never needs and an attacker would use.

    Aliases are refused as they are met, before anything is built: seven nested
    levels of `[*a, *a, ...]`, 300 bytes, expand to millions of nodes (gigabytes,
    minutes). So are tags other than YAML's own (`!!python/object`...), keys given
    twice in one block (YAML keeps the last in silence), nesting deeper than
    `MAX_NESTING` (the composer recurses), numbers too long for Python to read.
    Dates stay text: `value: 2024-01-02` is the tag it says, not a date object.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(
                problem="YAML aliases (*name) are not allowed in a mapping; write the value out",
                mark=event.start_mark,
            )
        tag = getattr(event, "tag", None)
        if tag not in (None, "!") and tag not in self.yaml_constructors:
            shown = tag.replace("tag:yaml.org,2002:", "!!")
            raise _Refused(
                problem=f"the YAML tag {_shorten(shown)} is not allowed in a mapping; remove it",
                mark=event.start_mark,
            )
        if self._depth >= MAX_NESTING:
            raise _Refused(
                problem=f"the mapping nests deeper than {MAX_NESTING} levels; a mapping needs "
                "five at most",
                mark=event.start_mark,
            )
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_mapping_node(self, anchor: Any) -> yaml.MappingNode:
        node: yaml.MappingNode = super().compose_mapping_node(anchor)
        seen: set[str] = set()
        for key, _ in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    raise _Refused(
                        problem=f"{_shorten(key.value)!r} is given twice in the same block; "
                        "keep one",
                        mark=key.start_mark,
                    )
                seen.add(key.value)
        return node

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        try:
            return super().construct_yaml_int(node)
        except ValueError:  # over sys.get_int_max_str_digits()
            raise _Refused(
                problem="this number is too long to read; quote it if it is text",
                mark=node.start_mark,
            ) from None


_MappingLoader.add_constructor("tag:yaml.org,2002:int", _MappingLoader.construct_yaml_int)
_MappingLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _read_yaml(text: str, source: str) -> tuple[yaml.Node | None, Any]:
    """The YAML's node tree (for line numbers) and its data, read once."""
    try:
        loader = _MappingLoader(text)  # checks that every character is printable
        try:
            node = loader.get_single_node()
            data = None if node is None else loader.construct_document(node)
        finally:
            loader.dispose()
    except _Refused as exc:
        raise MappingError(exc.problem, source=source, line=exc.line) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise MappingError(
            f"the mapping holds the control character U+{code:04X}, which YAML does not "
            "allow: check that this is the right file",
            source=source,
            line=line,
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        context = getattr(exc, "context", None)
        if context and problem.startswith("but "):  # "expected X" + "but found Y"
            problem = f"{context}, {problem}"
        raise MappingError(
            f"not valid YAML: {problem}", source=source, line=mark.line + 1 if mark else None
        ) from None
    return node, data


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _key_lines(node: yaml.Node | None, path: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], int]:
    """The 1-based line of every key and list item in the YAML, by its path."""
    lines: dict[tuple[Any, ...], int] = {}
    if node is None:
        return lines
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, key.value)
            lines |= _key_lines(value, child)
            lines[child] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            lines |= _key_lines(value, (*path, i))
    return lines


def _dotted(path: tuple[Any, ...]) -> str:
    """`fields.number.transform`, `tags[0]`; a key that is not plain text is quoted."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        key = str(part) if str(part).isprintable() and str(part).strip() else repr(part)
        out += f".{_shorten(key)}" if out else _shorten(key)
    return out


# -- JSON Schema for editors -------------------------------------------------------------

_SPEC_SHORTHAND = [
    {"type": "string", "description": "One column."},
    {"type": "array", "items": {"type": "string"}, "description": "First non-empty column."},
]
_CONSTANT = {"type": ["string", "number"]}
_TRANSFORM = {
    "anyOf": [
        {"enum": list(SIMPLE_TRANSFORMS)},
        {"type": "object", "properties": {"default": {"type": ["string", "number"]}},
         "required": ["default"], "additionalProperties": False},
        {"type": "object", "properties": {"replace": {"type": "object"}},
         "required": ["replace"], "additionalProperties": False},
        {"type": "object", "properties": {"regex": {"type": "string"}},
         "required": ["regex"], "additionalProperties": False},
        {"type": "object", "properties": {"date": {"anyOf": [
            {"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]}},
         "required": ["date"], "additionalProperties": False},
        {"type": "object", "properties": {"number": {"type": "object", "properties": {
            "decimal": {"enum": [".", ","]}, "strip": {"type": "string"}},
            "additionalProperties": False}},
         "required": ["number"], "additionalProperties": False},
    ]
}  # fmt: skip


def json_schema() -> dict[str, Any]:
    """The JSON Schema of mapping files (`mappings/schema.json`), shorthands included."""
    schema = Mapping.model_json_schema(by_alias=True, mode="validation")
    for name, definition in schema.get("$defs", {}).items():
        props = definition.get("properties", {})
        if "transform" in props:
            props["transform"] = {"anyOf": [_TRANSFORM, {"type": "array", "items": _TRANSFORM}]}
            props["column"] = {"anyOf": _SPEC_SHORTHAND}
            props["value"] = {"anyOf": [_CONSTANT, {"type": "array", "items": {"type": "string"}}]}
            schema["$defs"][name] = {"anyOf": [*_SPEC_SHORTHAND, definition]}
    schema["properties"]["match"] = {
        "anyOf": [
            {"type": "array", "items": {"enum": list(MATCH_KEYS)}},
            {"enum": ["number", "email", "number,email", "email,number"]},
        ]
    }
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "bulk-sync mapping"
    return schema


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
