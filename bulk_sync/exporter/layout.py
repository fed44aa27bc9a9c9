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
from collections.abc import Iterable
from typing import Any

from ..cells import neutralize
from ..client.models import Contact, CustomFieldSchema

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
        for key in contact.custom_fields:
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
        cells += [_text(contact.custom_fields.get(name)) for name in self.custom]
        return [neutralize(cell) for cell in cells]


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
