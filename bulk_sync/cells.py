"""Spreadsheet cells that must not run as formulas, written so that they read back exactly.

A spreadsheet program runs a cell that starts with `=`, `+`, `-`, `@`, a tab or a
carriage return as a formula ("CSV injection"). An export writes such a value with
one `'` in front (Excel's own mark for "text"), and the importer takes exactly one
`'` off any value that starts with `'`s and then one of those characters: the two
are inverses, a value that already starts so included (it gets one more `'`).
Plain numbers (`+15551234567`, `-12.5`) are left alone: they are not formulas, and
a phone number keeps its `+`.
"""

from __future__ import annotations

import re

_RUNS = re.compile(r"'*[=+\-@\t\r]")
_LEADS = frozenset("'=+-@\t\r")  # the first characters _RUNS can match
_NEUTRALIZED = re.compile(r"'+[=+\-@\t\r]")
_PLAIN_NUMBER = re.compile(r"\+?[0-9]+|-?[0-9]+(\.[0-9]+)?")


def neutralize(value: str) -> str:
    """`value` as a cell that no spreadsheet runs as a formula (see the module docstring)."""
    if _RUNS.match(value) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def neutralize_row(cells: list[str]) -> list[str]:
    """`neutralize` on each cell; most cells start with none of the marks and are
    passed over on one look at their first character."""
    return [neutralize(c) if c[:1] in _LEADS else c for c in cells]


def restore(value: str) -> str:
    """The value `neutralize` was given."""
    return value[1:] if _NEUTRALIZED.match(value) else value
