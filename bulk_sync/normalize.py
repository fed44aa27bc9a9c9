"""Pure functions that turn one cell's text into what echowin should store, or say why not.

Phone numbers go to E.164 with phonenumbers and nothing else: the tool never
rewrites digits on its own (no `00` → `+`, no `.0` trimmed), never folds an
extension into the number, and rejects what Excel visibly damaged instead of
guessing. Each function returns the clean value or raises `Invalid` with a reason
a person can act on.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
_EXCEL_ERROR = re.compile(r"^#(N/A|NULL!|DIV/0!|VALUE!|REF!|NAME\?|NUM!|ERROR!|SPILL!|CALC!)", re.I)
_SCIENTIFIC = re.compile(r"^[+-]?\d+(\.\d+)?E[+-]?\d+$", re.I)
_FORMULA_RESULT = re.compile(r"^-\d+$")
_DECIMAL = re.compile(r"^\+?\d+\.\d+$")
_THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")
_PARSE_ERRORS = {
    NumberParseException.INVALID_COUNTRY_CODE: "its country code is not valid",
    NumberParseException.NOT_A_NUMBER: "too few digits, or letters in it",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short after the international prefix",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}
_POSSIBLE_ERRORS = {
    ValidationResult.INVALID_COUNTRY_CODE: "its country code is not valid",
    ValidationResult.TOO_SHORT: "too short",
    ValidationResult.TOO_LONG: "too long",
    ValidationResult.INVALID_LENGTH: "the wrong length",
}


class Invalid(ValueError):
    """A value that cannot be stored; the message says why, for the reject file."""


@dataclass(frozen=True, slots=True)
class Phone:
    e164: str
    extension: str | None = None


def normalize_number(raw: str, region: str) -> Phone:
    """`raw` as E.164, the extension apart; raises Invalid saying why it is not a number.

    Valid means: phonenumbers, parsing with `region` as the default, says so.
    """
    result = read_number(raw, region)
    if isinstance(result, str):
        raise Invalid(result)
    return result


@functools.lru_cache(maxsize=1 << 16)
def read_number(raw: str, region: str) -> Phone | str:
    """The Phone, or why `raw` is not one. Cached (bounded), failures included: files
    repeat numbers, and parsing is the costly part of an import."""
    try:
        return _read_number(raw, region)
    except Invalid as exc:
        return str(exc)


def _read_number(raw: str, region: str) -> Phone:
    text = raw.strip()
    if not text:
        raise Invalid("number is empty")
    if _EXCEL_ERROR.match(text):
        raise Invalid(f"number {text!r} is a spreadsheet error value, not a phone number")
    if _SCIENTIFIC.match(text):
        raise Invalid(
            f"number {text!r} is in scientific notation, so its last digits are lost; "
            "format the column as text in the spreadsheet and export it again"
        )
    if _FORMULA_RESULT.match(text):
        raise Invalid(
            f"number {text!r} is negative: a spreadsheet computed it (555-1234 typed into "
            "Excel becomes -679); type the number as text"
        )
    if _DECIMAL.match(text):
        raise Invalid(
            f"number {text!r} has decimals: it was stored as a number; "
            "format the column as text in the spreadsheet and export it again"
        )
    try:
        parsed = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        reason = _PARSE_ERRORS.get(exc.error_type, "it cannot be read")
        raise Invalid(f"number {text!r} cannot be read as a phone number: {reason}") from None
    if phonenumbers.is_valid_number(parsed):
        e164 = phonenumbers.format_number(parsed, PhoneNumberFormat.E164)
        return Phone(e164, parsed.extension or None)
    possible = phonenumbers.is_possible_number_with_reason(parsed)  # why it is not valid
    if possible in _POSSIBLE_ERRORS:
        raise Invalid(f"number {text!r} is {_POSSIBLE_ERRORS[possible]} for a phone number")
    where = phonenumbers.region_code_for_country_code(parsed.country_code or 0)
    raise Invalid(
        f"number {text!r} is not a valid number in {where} (+{parsed.country_code}), "
        f"read with default region {region}"
    )


def normalize_email(raw: str) -> str:
    """Trimmed, lower-cased and syntax-checked; empty stays empty."""
    email = raw.strip().lower()
    if email and not EMAIL.match(email):
        raise Invalid(f"email {raw.strip()!r} is not an email address")
    return email


def normalize_name(raw: str) -> str:
    """Trimmed, inner runs of spaces made one."""
    return " ".join(raw.split())


def split_name(full: str) -> tuple[str, str]:
    """`Mary Ann Smith` → (`Mary Ann`, `Smith`); `Smith, Mary` → (`Mary`, `Smith`)."""
    full = normalize_name(full)
    if "," in full:
        last, _, first = full.partition(",")
        return first.strip(), last.strip()
    first, _, last = full.rpartition(" ")
    return (first, last) if first else (last, "")


def unique_tags(names: list[str]) -> list[str]:
    """Trimmed, empty ones dropped, repeats (ignoring case) dropped; first spelling kept."""
    seen: dict[str, str] = {}
    for name in names:
        clean = normalize_name(name)
        if clean:
            seen.setdefault(clean.casefold(), clean)
    return list(seen.values())


def custom_number(raw: str) -> int | float:
    """`1200`, `-3.5`, `1,200.50` → a number; anything else is Invalid."""
    text = raw.strip()
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    try:
        value = float(text)
    except ValueError:
        raise Invalid(f"{raw.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise Invalid(f"{raw.strip()!r} is not a number")
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def custom_date(raw: str) -> str:
    """An ISO date (`2024-01-02`; a time after it is dropped); other formats are Invalid.

    `03/04/2024` is refused, not guessed: it is March in one country and April in another.
    """
    text = raw.strip()
    try:
        return dt.date.fromisoformat(text[:10]).isoformat() if _iso_prefix(text) else _bad_date(raw)
    except ValueError:
        return _bad_date(raw)


def _iso_prefix(text: str) -> bool:
    return len(text) == 10 or (len(text) > 10 and text[10] in " T")


def _bad_date(raw: str) -> str:
    raise Invalid(f"{raw.strip()!r} is not a date written YYYY-MM-DD")


def select_option(raw: str, options: list[str]) -> str:
    """The option `raw` names, compared ignoring case and surrounding spaces."""
    wanted = raw.strip().casefold()
    for option in options:
        if option.casefold() == wanted:
            return option
    raise Invalid(f"{raw.strip()!r} is not one of {', '.join(options)}")
