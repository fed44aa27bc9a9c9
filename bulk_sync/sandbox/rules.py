"""Content rules for contacts, as echowin applies them (pure functions, no storage).

Where the reference is silent the contract decides: numbers are cleaned to their
digits and one leading `+`, nothing is added; emails must look like `a@b.c`;
select custom fields take only their options; `required` is shown but not enforced.
"""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Any

from .models import NOTE_TYPES, CustomFieldSchema, FieldError

_NON_DIGITS = re.compile(r"[^0-9]")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HEX_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")


def clean_number(raw: str) -> str:
    """Keep the ASCII digits and one leading `+` if the number had one.

    `(555) 123-4567` -> `5551234567`; `+1 (555) 123-4567` -> `+15551234567`.
    A value without digits cleans to the empty string.
    """
    text = raw.strip()
    digits = _NON_DIGITS.sub("", text)
    if not digits:
        return ""
    return "+" + digits if text.startswith("+") else digits


def check_number(raw: str | None) -> FieldError | None:
    """The error to report for a contact's number, if any (the number is required)."""
    if raw is None or not raw.strip():
        return FieldError("number", "Number is required")
    if not clean_number(raw):
        return FieldError("number", "Invalid phone number")
    return None


def check_email(email: str | None) -> FieldError | None:
    if email is None or email == "" or _EMAIL.match(email):
        return None
    return FieldError("email", "Invalid email format")


def check_note_type(note_type: str | None) -> FieldError | None:
    if note_type is None or note_type in NOTE_TYPES:
        return None
    return FieldError("note.type", f"Note type must be one of {', '.join(NOTE_TYPES)}")


def check_color(color: str) -> FieldError | None:
    if _HEX_COLOR.match(color):
        return None
    return FieldError("color", "Color must be a hex color code like #3B82F6")


def check_custom_fields(
    values: dict[str, Any], schemas: dict[str, CustomFieldSchema]
) -> list[FieldError]:
    """Every problem with the custom field values; keys without a schema are kept as sent."""
    errors: list[FieldError] = []
    for key, value in values.items():
        where = f"customFields.{key}"
        if not key:
            errors.append(FieldError("customFields", "Custom field names must not be empty"))
            continue
        if value is None:
            continue
        if isinstance(value, float) and not math.isfinite(value):
            errors.append(FieldError(where, "Value must be a finite number"))
            continue
        if not isinstance(value, str | int | float | bool):
            errors.append(FieldError(where, "Value must be a string, number or boolean"))
            continue
        if isinstance(value, str) and not _is_unicode(value):
            errors.append(FieldError(where, "Text must be valid Unicode"))
            continue
        schema = schemas.get(key)
        if schema is not None:
            problem = _check_typed_value(schema, value)
            if problem:
                errors.append(FieldError(where, problem))
    return errors


def _check_typed_value(schema: CustomFieldSchema, value: str | int | float | bool) -> str | None:
    if schema.type == "select" and schema.options is not None and value not in schema.options:
        return f"Invalid option for {schema.label}: must be one of {', '.join(schema.options)}"
    if schema.type == "number" and (isinstance(value, bool) or not _is_number(value)):
        return f"{schema.label} must be a number"
    if schema.type == "date" and (not isinstance(value, str) or not _is_iso_date(value)):
        return f"{schema.label} must be a date (YYYY-MM-DD)"
    return None


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates, which JSON can carry
        return False
    return True


def _is_number(value: str | int | float) -> bool:
    if isinstance(value, int | float):
        return True
    try:
        return math.isfinite(float(value))
    except ValueError:
        return False


def _is_iso_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


def search_text(*parts: str | None) -> str:
    """The lower-cased text a contact is found by; NUL keeps a match inside one field."""
    return "\x00".join((p or "").lower() for p in parts)
