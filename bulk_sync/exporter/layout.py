"""The backup's columns, and each contact as a row of text cells.

Columns (the contract's "Export layout"): `id, firstName, lastName, email, number,
carrier, crmStage, tags, createdAt`, then one column per custom field schema in
schema order (named by the field's `name`), then any other custom field key found
on contacts, in the order first met. Tags are names joined by `;`. Every cell is
text, neutralized against formulas (cells.py); a number or a list in a custom field
is written as JSON would write it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from ..cells import neutralize_row
from ..client.models import Contact, CustomFieldSchema
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

    def row(self, contact: Contact) -> list[str]:
        """The contact's cells, in `columns` order (after adding any new custom key)."""
        custom = contact.custom_fields
        for key in custom:
            if key not in self._known:
                self._known.add(key)
                self.custom.append(key)
        cells = [
            contact.id,
            contact.first_name or "",
            contact.last_name or "",
            contact.email or "",
            contact.number or "",
            contact.carrier or "",
            contact.crm_stage.name if contact.crm_stage else "",
            TAG_SEPARATOR.join(t.name for t in contact.tags),
            contact.created_at or "",
        ]
        cells += [v if type(v) is str else _text(v) for v in map(custom.get, self.custom)]
        return neutralize_row(cells)


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
        self._cells: list[tuple[str, Callable[[Contact], str]]] = []
        fields = mapping.fields
        standard: list[tuple[ValueSpec | None, Callable[[Contact], str]]] = [
            (fields.first_name, lambda c: c.first_name or ""),
            (fields.last_name, lambda c: c.last_name or ""),
            (fields.email, lambda c: c.email or ""),
            (fields.number, lambda c: c.number or ""),
            (fields.carrier, lambda c: c.carrier or ""),
            (mapping.name, lambda c: " ".join(p for p in (c.first_name, c.last_name) if p)),
        ]
        for spec, read in standard:
            self._add(spec, read)
        for key, spec in mapping.custom_fields.items():
            self._add(spec, _custom(key))
        tag_specs = [s for s in mapping.tags if s.column]
        if tag_specs:
            joiner = tag_specs[0].split or TAG_SEPARATOR
            self._add(tag_specs[0], lambda c: joiner.join(t.name for t in c.tags))
        # not in a contact's listing (notes, assignees, boards): the columns stay empty,
        # so that the file still binds to the mapping
        for spec in (mapping.note, mapping.assign_user_ids, mapping.board_ids):
            self._add(spec, lambda c: "")

    def _add(self, spec: ValueSpec | None, read: Callable[[Contact], str]) -> None:
        taken = {name for name, _ in self._cells}
        if spec is not None and spec.column and spec.column[0] not in taken:
            self._cells.append((spec.column[0], read))

    @property
    def columns(self) -> list[str]:
        return [name for name, _ in self._cells]

    def row(self, contact: Contact) -> list[str]:
        return neutralize_row([read(contact) for _, read in self._cells])


def _custom(key: str) -> Callable[[Contact], str]:
    return lambda contact: _text(contact.custom_fields.get(key))
