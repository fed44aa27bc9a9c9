"""The sandbox's content rules as pure functions: number cleaning and field checks."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from bulk_sync.sandbox.models import CustomFieldSchema
from bulk_sync.sandbox.rules import check_custom_fields, check_email, clean_number


@given(st.text())
def test_clean_number_keeps_digits_and_one_leading_plus(raw: str) -> None:
    cleaned = clean_number(raw)
    assert re.fullmatch(r"(\+?[0-9]+)?", cleaned)
    assert cleaned.lstrip("+") == "".join(ch for ch in raw if ch in "0123456789")
    assert clean_number(cleaned) == cleaned  # idempotent


def test_clean_number_adds_nothing() -> None:
    assert clean_number("00 44 20 7946 0958") == "00442079460958"
    assert clean_number("+") == ""
    assert clean_number("٣٣٣ 12") == "12"  # only ASCII digits count


def test_email_check() -> None:
    assert check_email(None) is None and check_email("") is None
    assert check_email("a@b.co") is None
    assert check_email("a@b") is not None and check_email("a b@c.de") is not None


def test_custom_field_checks_by_type() -> None:
    schemas = {
        "role": CustomFieldSchema("1", "role", "Role", "select", True, options=["A", "B"]),
        "budget": CustomFieldSchema("2", "budget", "Budget", "number", False),
        "when": CustomFieldSchema("3", "when", "When", "date", False),
    }
    ok = {"role": "A", "budget": "12.5", "when": "2026-01-31", "free": "anything", "gone": None}
    assert check_custom_fields(ok, schemas) == []
    bad = {"role": "C", "budget": True, "when": "2026-1-31", "nested": {"a": 1},
           "inf": float("inf"), "broken": "\ud800"}  # fmt: skip
    fields = [e.field for e in check_custom_fields(bad, schemas)]
    assert fields == [f"customFields.{k}" for k in bad]
