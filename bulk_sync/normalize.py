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
from typing import Any

import phonenumbers
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumberFormat, ValidationResult

EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
_EXCEL_ERROR = re.compile(r"^#(N/A|NULL!|DIV/0!|VALUE!|REF!|NAME\?|NUM!|ERROR!|SPILL!|CALC!)", re.I)
_SCIENTIFIC = re.compile(r"^[+-]?\d+(\.\d+)?E[+-]?\d+$", re.I)
_FORMULA_RESULT = re.compile(r"^-\d+$")
_DECIMAL = re.compile(r"^\+?\d+\.\d+$")
_MAYBE_DAMAGED = re.compile(r"^-|[#.Ee]")
_THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")
_DOTTED_THOUSANDS = re.compile(r"^-?[1-9]\d{0,2}(\.\d{3})+$")  # 1.200: 1200 or 1.2?
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


def _refuse_damaged(text: str) -> None:
    """Raises Invalid for what a spreadsheet did to a number, before anyone reads it."""
    if not _MAYBE_DAMAGED.search(text):  # each check below needs one of these
        return
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


def _read_number(raw: str, region: str, *, fast: bool = True) -> Phone:
    text = raw.strip()
    if not text:
        raise Invalid("number is empty")
    _refuse_damaged(text)
    read = _read_simple(text, region) if fast else None
    if read is not None:
        calling_code, nsn, extension = read
        if is_valid_nsn(calling_code, nsn):
            return Phone(f"+{calling_code}{nsn}", extension)
        parsed = _phone_number(calling_code, nsn)
    else:
        try:
            parsed = phonenumbers.parse(text, region)
        except NumberParseException as exc:
            reason = _PARSE_ERRORS.get(exc.error_type, "it cannot be read")
            raise Invalid(f"number {text!r} cannot be read as a phone number: {reason}") from None
        if is_valid_number(parsed):
            e164 = phonenumbers.format_number(parsed, PhoneNumberFormat.E164)
            return Phone(e164, parsed.extension or None)
    possible = phonenumbers.is_possible_number_with_reason(parsed)  # why it is not valid
    if possible in _POSSIBLE_ERRORS:
        why = f"number {text!r} is {_POSSIBLE_ERRORS[possible]} for a phone number"
    else:
        where = phonenumbers.region_code_for_country_code(parsed.country_code or 0)
        why = (
            f"number {text!r} is not a valid number in {where} (+{parsed.country_code}), "
            f"read with default region {region}"
        )
    raise Invalid(why + _fix(text, region))


# Where a number written the national way (a trunk 0 and no +) is looked for when it is
# not valid in the run's region: the countries whose numbers US files most often hold.
_ELSEWHERE = ("GB", "IE", "DE", "FR", "NL", "BE", "CH", "AT", "IT", "ES", "PT", "SE", "NO",
              "DK", "FI", "PL", "AU", "NZ", "IN", "ZA", "BR", "MX", "JP", "KR", "CN", "PH",
              "SG", "HK", "AE", "IL")  # fmt: skip
_DIAL_OUT = re.compile(r"\(?(00|011)[\s.\-)]*([1-9][\d\s().\-]{5,})")


def _fix(text: str, region: str) -> str:
    """How to make an invalid number valid, when one edit would: a 00 or 011 dialling
    prefix written where + belongs, or a national number of another country."""
    if "+" in text:
        return ""
    if prefixed := _DIAL_OUT.fullmatch(text):
        try:
            parsed = phonenumbers.parse("+" + prefixed[2], None)
        except NumberParseException:
            parsed = None
        if parsed is not None and is_valid_number(parsed):
            shown = phonenumbers.format_number(parsed, PhoneNumberFormat.INTERNATIONAL)
            return (
                f"; {prefixed[1]} is a prefix for dialling abroad: if it means {shown}, "
                "write it so, with +"
            )
    if sum(c.isdigit() for c in text) < 8:  # short numbers are valid somewhere: no guess
        return ""
    found = []
    for other in _ELSEWHERE:
        if other == region:
            continue
        try:
            parsed = phonenumbers.parse(text, other)
        except NumberParseException:
            continue
        if is_valid_number(parsed):
            found.append((other, parsed))
    if not found:
        return ""
    if len(found) > 1:  # national numbers of many countries look alike: no guess
        places = ", ".join(r for r, _ in found[:3]) + (
            f" and {len(found) - 3} more" if len(found) > 3 else ""
        )
        return (
            f"; it may be a number of another country written without its country code "
            f"(it would be valid in {places}): use --region, or write it with + and the "
            "country code"
        )
    other, parsed = found[0]
    shown = phonenumbers.format_number(parsed, PhoneNumberFormat.INTERNATIONAL)
    return (
        f"; it is a valid number in {other} ({shown}): use --region {other}, or write it "
        f"with +{parsed.country_code}"
    )


# -- the common shapes, read without phonenumbers.parse -----------------------------------
#
# `(212) 555-0123`, `1-212-555-0123`, `+1 212 555 0123`, `+44 20 7946 0958`, each maybe
# followed by ` x123`, ` #123` or ` ext. 123`: digits with spaces, dots, dashes and brackets,
# then perhaps an extension. For these phonenumbers.parse comes down to a few steps,
# done here directly at a fifth of its cost or less:
#
# - An extension: parse strips the leftmost match of its extension patterns that runs
#   to the end. In these shapes that is the label and the digits after it: nothing
#   before it can start one of its patterns (`,`, `;`, `~`, `int` never occur, and a
#   `#` only as the label). A label `x` or `#` takes at most 9 digits, `ext` 20; with
#   more, parse does not see an extension: those go to parse. What stays before the
#   label reads as it would alone (parse checks it is a number: it is).
# - A national number (no +) of the US or Canada: calling code 1 and the last ten
#   digits, when there are ten, or eleven starting with 1; +1 and ten digits likewise.
# - A number with +: the calling code is the first one to three digits that are a
#   calling code, the rest the national significant number, unless the calling code's
#   region strips a national prefix or carrier code from it (its national-prefix-for-
#   parsing pattern matches: `+44 (0)20...`, `+54 9 11...`): those go to parse, as do
#   unknown calling codes and too short or too long numbers (parse's own errors).
#
# tests/test_phone_fast_paths.py checks that both read the same from many generated
# numbers of every calling code and from real files; anything else goes to parse.

_SIMPLE = re.compile(r"\(?\+?[0-9][0-9 ().\-]*", re.ASCII)
_EXTENSION = re.compile(r"(.*[0-9]) *(?:([x#])|ext(?:n|ension)?)[.:]? *([0-9]+)", re.ASCII | re.I)
_EXTENSION_DIGITS = {True: 9, False: 20}  # parse's limits after `x` or `#`, and after `ext`
_MAX_INPUT = 250  # parse refuses longer text as too long
_FORMATTING = b" ().-+"
_NANP_LIKE_US = frozenset({"US", "CA"})  # national prefix 1, no local-dialling rewrite
# the shortest of a number's first one to three digits that is a calling code is its
# calling code (none starts with 0); as parse has it
_CALLING_CODES = {str(code): code for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE}


def _read_simple(text: str, region: str) -> tuple[int, str, str | None] | None:
    """(calling code, national significant number, extension) as phonenumbers.parse
    would read them from `text`, for the shapes above; None for any other."""
    if len(text) > _MAX_INPUT:
        return None
    extension = None
    if not _SIMPLE.fullmatch(text):
        split = _EXTENSION.fullmatch(text)
        if (
            split is None
            or len(split[3]) > _EXTENSION_DIGITS[split[2] is not None]
            or not _SIMPLE.fullmatch(split[1])
        ):
            return None
        text, extension = split[1], split[3]
    digits = text.encode().translate(None, _FORMATTING).decode()  # ASCII: bytes are faster
    international = "+" in text
    national = _north_american(digits, international, region)
    if national is not None:
        return 1, national, extension
    read = _international(digits, region) if international else None
    return None if read is None else (*read, extension)


def _north_american(digits: str, international: bool, region: str) -> str | None:
    """The ten national digits phonenumbers would read from these digits, written with
    + or not, when they are +1 and ten digits, or a US or Canadian national number (a
    shortcut: the commonest shapes, without the general steps for + numbers)."""
    if len(digits) == 11 and digits[0] == "1" and (international or region in _NANP_LIKE_US):
        national = digits[1:]
    elif len(digits) == 10 and not international and region in _NANP_LIKE_US:
        national = digits
    else:
        return None
    return None if national[0] in "01" else national


def _international(digits: str, region: str) -> tuple[int, str] | None:
    """(calling code, national significant number) of these digits written after +."""
    for code in (digits[:1], digits[:2], digits[:3]):
        calling_code = _CALLING_CODES.get(code)
        if calling_code is not None:
            break
    else:
        return None
    nsn = digits[len(code) :]
    if not 2 <= len(nsn) <= 17:  # parse's TOO_SHORT_NSN and TOO_LONG
        return None
    national_prefix = _national_prefix(calling_code, region)
    if national_prefix is not None and national_prefix.match(nsn):
        return None
    return calling_code, nsn


@functools.lru_cache(maxsize=1024)
def _national_prefix(calling_code: int, region: str) -> re.Pattern[str] | None:
    """The national-prefix-for-parsing pattern parse applies to a number of this
    calling code read with this default region (the metadata it picks)."""
    number_region = phonenumbers.region_code_for_country_code(calling_code)
    if number_region != region:
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(calling_code, number_region)
    else:
        metadata = PhoneMetadata.metadata_for_region(region.upper(), None)
    pattern = metadata.national_prefix_for_parsing if metadata is not None else None
    return re.compile(pattern) if pattern else None


def _phone_number(calling_code: int, nsn: str) -> phonenumbers.PhoneNumber:
    """The PhoneNumber parse makes of this national significant number (leading
    zeros kept as parse keeps them)."""
    number = phonenumbers.PhoneNumber(country_code=calling_code, national_number=int(nsn))
    zeros = len(nsn) - len(nsn.lstrip("0"))
    if zeros and len(nsn) > 1:
        number.italian_leading_zero = True
        number.number_of_leading_zeros = min(zeros, len(nsn) - 1)
    return number


# -- validity, as phonenumbers decides it, at a third of the cost ---------------------------
#
# `phonenumbers.is_valid_number` looks a number's region up (trying the calling
# code's regions in order), then classifies the number against that region's
# patterns (general, then premium rate ... fixed line, mobile), and every pattern is
# fetched through `re.compile` on every call. Below is the same decision on the
# same metadata, with the patterns compiled once and the classification done once.
# tests/test_phone_fast_paths.py checks that both agree on every calling code.

_TYPE_DESCS = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager",
               "uan", "voicemail")  # fmt: skip
_Desc = tuple[frozenset[int], re.Pattern[str]]


@dataclass(frozen=True, slots=True)
class _Region:
    leading_digits: re.Pattern[str] | None
    same_calling_code: bool  # is_valid_number_for_region's check
    general: _Desc | None
    types: tuple[_Desc, ...]  # any of them: a known type

    def knows(self, nsn: str) -> bool:
        """`_number_type_helper(nsn, metadata) != UNKNOWN`."""
        return _matches(nsn, self.general) and any(_matches(nsn, d) for d in self.types)


def _matches(nsn: str, desc: _Desc | None) -> bool:
    if desc is None:
        return False
    lengths, pattern = desc
    return (not lengths or len(nsn) in lengths) and pattern.fullmatch(nsn) is not None


def _desc(number_desc: Any) -> _Desc | None:
    if number_desc is None or not number_desc.national_number_pattern:
        return None  # no desc, or an empty pattern: matches nothing
    lengths = frozenset(number_desc.possible_length or ())
    return lengths, re.compile(number_desc.national_number_pattern)


def _region(metadata: Any, calling_code: int, region_code: str) -> _Region:
    # any of them will do, so the commonest go first: fixed line, then mobile
    types = [metadata.fixed_line]
    if not metadata.same_mobile_and_fixed_line_pattern:
        types.append(metadata.mobile)
    types += [getattr(metadata, name) for name in _TYPE_DESCS]
    same_code = region_code == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY or (
        phonenumbers.country_code_for_valid_region(region_code) == calling_code
    )
    leading = metadata.leading_digits
    return _Region(
        re.compile(leading) if leading is not None else None,
        same_code,
        _desc(metadata.general_desc),
        tuple(d for d in map(_desc, types) if d is not None),
    )


@functools.cache
def _regions(calling_code: int) -> tuple[bool, tuple[_Region, ...]]:
    """(one region only?, its regions in phonenumbers' order, those with metadata)."""
    codes = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(calling_code, ())
    regions = []
    for code in codes:
        if len(codes) == 1:
            metadata = PhoneMetadata.metadata_for_region_or_calling_code(calling_code, code.upper())
        else:
            metadata = PhoneMetadata.metadata_for_region(code.upper(), None)
        if metadata is not None:
            regions.append(_region(metadata, calling_code, code))
    return len(codes) == 1, tuple(regions)


def is_valid_number(number: phonenumbers.PhoneNumber) -> bool:
    """Exactly `phonenumbers.is_valid_number(number)`, about three times faster."""
    return is_valid_nsn(number.country_code or 0, phonenumbers.national_significant_number(number))


def is_valid_nsn(calling_code: int, nsn: str) -> bool:
    """`is_valid_number` of the number with this calling code and national significant
    number (its digits, leading zeros included)."""
    single, regions = _regions(calling_code)
    if single:
        return bool(regions) and regions[0].same_calling_code and regions[0].knows(nsn)
    for region in regions:
        if region.leading_digits is not None:
            if region.leading_digits.match(nsn):
                return region.same_calling_code and region.knows(nsn)
        elif region.knows(nsn):
            return region.same_calling_code
    return False


def normalize_email(raw: str) -> str:
    """Trimmed, lower-cased and syntax-checked; empty stays empty."""
    email = raw.strip().lower()
    if email and not is_email(email):
        raise Invalid(f"email {raw.strip()!r} is not an email address")
    return email


def is_email(raw: str) -> bool:
    """Whether `raw`, trimmed and lower-cased, reads as an email address: what
    `normalize_email` takes (an empty one aside), without raising."""
    return EMAIL.match(raw.strip().lower()) is not None


def normalize_name(raw: str) -> str:
    """Trimmed at both ends; the inside kept as typed (line breaks, runs of spaces).

    A value stored in echowin with two spaces or a line break must import back from a
    backup as it was, or a restore would alter it (and a tag would become a new tag).
    """
    return raw.strip()


def split_name(full: str) -> tuple[str, str]:
    """`Mary Ann Smith` → (`Mary Ann`, `Smith`); `Smith, Mary` → (`Mary`, `Smith`)."""
    full = " ".join(full.split())
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


def custom_number(raw: str, *, plain: bool = False) -> int | float:
    """`1200`, `-3.5`, `1,200.50` → a number; anything else is Invalid.

    `1.200` is Invalid too (1200 with a thousands dot, or 1.2?) unless `plain` says the
    text was written plainly (a `number` transform of the mapping read it).
    """
    text = raw.strip()
    if not plain and _DOTTED_THOUSANDS.match(text):
        grouped = text.lstrip("-")
        either = f" or {float(grouped):g}" if grouped.count(".") == 1 else ""
        raise Invalid(
            f"{text!r} could be {grouped.replace('.', '')} (a dot between thousands){either}: "
            "say which in the mapping with transform: {number: {decimal: ','}} or "
            "{number: {decimal: '.'}}"
        )
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


# Country names people write that ISO 3166 (pycountry) spells otherwise.
_COUNTRY_ALIASES = {
    "uk": "GB", "england": "GB", "scotland": "GB", "wales": "GB", "northern ireland": "GB",
    "great britain": "GB", "russia": "RU", "deutschland": "DE", "españa": "ES", "espana": "ES",
    "méxico": "MX", "brasil": "BR", "italia": "IT", "nederland": "NL", "holland": "NL",
    "schweiz": "CH", "suisse": "CH", "österreich": "AT", "belgique": "BE", "belgië": "BE",
    "türkiye": "TR", "turkey": "TR", "south korea": "KR", "korea": "KR", "uae": "AE",
    "usa": "US", "u.s.a.": "US", "u.s.": "US", "america": "US",
}  # fmt: skip


@functools.lru_cache(maxsize=4096)
def country_region(text: str) -> str | None:
    """The ISO region code of a country cell (`United Kingdom`, `UK`, `gb`, `GBR`), or
    None when it names no country phonenumbers knows."""
    import pycountry

    key = " ".join(text.split()).casefold()
    if not key:
        return None
    code = _COUNTRY_ALIASES.get(key)
    if code is None:
        try:
            code = pycountry.countries.lookup(key).alpha_2
        except LookupError:
            return None
    return code if code in phonenumbers.SUPPORTED_REGIONS else None
