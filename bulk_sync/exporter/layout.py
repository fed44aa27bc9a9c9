"""The backup's columns, and each contact as a row of text cells.

Columns (the contract's "Export layout"): `id, firstName, lastName, email, number,
carrier, crmStage, tags, createdAt`, then one column per custom field schema in
schema order (named by the field's `name`), then any other custom field key found
on contacts, in the order first met. Tags are names joined by `;`. Every cell is
text, neutralized against formulas (cells.py); a number or a list in a custom field
is written as JSON would write it.

Contacts come as the page sent them (`Listed`: no model is built, which cost more than
the row), so a row checks what it reads: a field of the wrong type is an unexpected
response (FatalApiError), never a crash or a wrong cell.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from ..cells import neutralize_row
from ..client.models import CustomFieldSchema, Listed
from ..errors import FatalApiError
from ..mapping import Mapping, ValueSpec

STANDARD = ["id", "firstName", "lastName", "email", "number", "carrier", "crmStage", "tags",
            "createdAt"]  # fmt: skip
TAG_SEPARATOR = ";"


class Layout:
    """The columns, growing as contacts bring custom field keys no schema names."""

    def __init__(self, schemas: Iterable[CustomFieldSchema]) -> None:
        ordered = sorted(schemas, key=lambda s: (s.order is None, s.order or 0))
        self.custom = [s.name for s in ordered]
        self._known = set(self.custom)

    @property
    def columns(self) -> list[str]:
        return [*STANDARD, *self.custom]

    def row(self, contact: Listed) -> list[str]:
        """The contact's cells, in `columns` order (after adding any new custom key)."""
        fields = contact.fields
        get = fields.get
        custom = get("customFields") or {}
        if type(custom) is not dict:
            raise _not_a_contact(contact, "customFields")
        if not self._known.issuperset(custom):
            for key in custom:
                if key not in self._known:
                    self._known.add(key)
                    self.custom.append(key)
        try:
            stage = get("crmStage")
            standard = (
                contact.id, get("firstName"), get("lastName"), get("email"), get("number"),
                get("carrier"), stage["name"] if stage else "",
                TAG_SEPARATOR.join([t["name"] for t in get("tags") or ()]), contact.created_at,
            )  # fmt: skip
        except (TypeError, KeyError):
            raise _not_a_contact(contact, "crmStage or tags") from None
        cells = [v if type(v) is str else _plain(v, contact) for v in standard]
        cells += [v if type(v) is str else _text(v) for v in map(custom.get, self.custom)]
        return neutralize_row(cells)


def _plain(value: Any, contact: Listed) -> str:
    """A text field that is not a string: empty when null, else the page is refused."""
    if value is None:
        return ""
    raise _not_a_contact(contact, "a text field")


def _not_a_contact(contact: Listed, what: str) -> FatalApiError:
    return FatalApiError(
        f"unexpected response (contact {contact.id}: {what} is not as the API describes it)",
        method="GET",
        path="/api/v1/contacts",
    )


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    return json.dumps(value, ensure_ascii=False)


class MappedLayout:
    """The columns of a mapping, run in reverse (`export --mapping`): each field to the
    first column its spec names, tags joined with the mapping's split (`;` without one),
    constants and transforms left out, the note, assignee and board columns empty. The
    file imports back with the same mapping."""

    def __init__(self, mapping: Mapping) -> None:
        self._cells: list[tuple[str, Callable[[Listed], str]]] = []
        fields = mapping.fields
        standard: list[tuple[ValueSpec | None, Callable[[Listed], str]]] = [
            (fields.first_name, _first_name),
            (fields.last_name, _last_name),
            (fields.email, _field("email")),
            (fields.number, _field("number")),
            (fields.carrier, _field("carrier")),
            (mapping.name, _full_name),
        ]
        for spec, read in standard:
            self._add(spec, read)
        for key, spec in mapping.custom_fields.items():
            self._add(spec, _custom(key))
        tag_specs = [s for s in mapping.tags if s.column]
        if tag_specs:
            self._add(tag_specs[0], _tags(tag_specs[0].split or TAG_SEPARATOR))
        # not in a contact's listing (notes, assignees, boards): the columns stay empty,
        # so that the file still binds to the mapping
        for spec in (mapping.note, mapping.assign_user_ids, mapping.board_ids):
            self._add(spec, lambda c: "")

    def _add(self, spec: ValueSpec | None, read: Callable[[Listed], str]) -> None:
        taken = {name for name, _ in self._cells}
        if spec is not None and spec.column and spec.column[0] not in taken:
            self._cells.append((spec.column[0], read))

    @property
    def columns(self) -> list[str]:
        return [name for name, _ in self._cells]

    def row(self, contact: Listed) -> list[str]:
        return neutralize_row([read(contact) for _, read in self._cells])


def _field(name: str) -> Callable[[Listed], str]:
    def read(contact: Listed) -> str:
        value = contact.fields.get(name)
        return value if type(value) is str else _plain(value, contact)

    return read


_first_name, _last_name = _field("firstName"), _field("lastName")


def _full_name(contact: Listed) -> str:
    return " ".join(p for p in (_first_name(contact), _last_name(contact)) if p)


def _tags(joiner: str) -> Callable[[Listed], str]:
    def read(contact: Listed) -> str:
        try:
            text = joiner.join([t["name"] for t in contact.fields.get("tags") or ()])
        except (TypeError, KeyError):
            raise _not_a_contact(contact, "tags") from None
        return text

    return read


def _custom(key: str) -> Callable[[Listed], str]:
    def read(contact: Listed) -> str:
        custom = contact.fields.get("customFields") or {}
        if type(custom) is not dict:
            raise _not_a_contact(contact, "customFields")
        return _text(custom.get(key))

    return read
