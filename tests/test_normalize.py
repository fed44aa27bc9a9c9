"""Normalizers: E.164 or a reason, never a guessed number."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bulk_sync.normalize import (
    Invalid,
    Phone,
    custom_date,
    custom_number,
    normalize_email,
    normalize_name,
    normalize_number,
    select_option,
    split_name,
    unique_tags,
)


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(212) 555-2671", "US", Phone("+12125552671")),
        ("212.555.2671", "US", Phone("+12125552671")),
        ("1-212-555-2671", "US", Phone("+12125552671")),
        ("+1 212 555 2671", "GB", Phone("+12125552671")),
        (" 2125552671 ", "US", Phone("+12125552671")),
        ("212-555-2671 x718", "US", Phone("+12125552671", "718")),
        ("212-555-2671 ext. 5", "US", Phone("+12125552671", "5")),
        ("020 7946 0958", "GB", Phone("+442079460958")),
        ("+33 6 12 34 56 78", "US", Phone("+33612345678")),
        ("15551234567", "US", None),  # 555 is not an area code: invalid, not "fixed"
    ],
)
def test_numbers(raw: str, region: str, expected: Phone | None) -> None:
    if expected is None:
        with pytest.raises(Invalid, match="not a valid number in US"):
            normalize_number(raw, region)
    else:
        assert normalize_number(raw, region) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "number is empty"),
        ("#ERROR!", "spreadsheet error value"),
        ("#N/A", "spreadsheet error value"),
        ("1.23E+10", "scientific notation"),
        ("1.5551234567E+10", "scientific notation"),
        ("-1199", "is negative"),
        ("14155552671.0", "has decimals"),
        ("555-1234", "not a valid number in US"),  # local only: no area code
        ("12345", "too short"),
        ("+999 123", "country code is not valid"),
        ("call me", "cannot be read as a phone number"),
        ("0044 20 7946 0958", "too long"),  # 00 is never rewritten to +
        ("+1 212 555 26711234567", "too long"),
    ],
)
def test_damaged_numbers_are_rejected_with_a_reason(raw: str, reason: str) -> None:
    with pytest.raises(Invalid, match=reason):
        normalize_number(raw, "US")


@given(st.sampled_from(["US", "GB", "FR", "DE", "JP", "BR", "IN", "AU"]), st.integers(0, 10**6))
def test_e164_is_a_fixed_point(region: str, seed: int) -> None:
    """Normalizing a normalized number gives it back, whatever the default region."""
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    national = str(example.national_number)
    digits = national[:-3] + f"{seed % 1000:03d}"
    number = phonenumbers.parse(f"+{example.country_code}{digits}")
    if not phonenumbers.is_valid_number(number):
        return
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    assert normalize_number(formatted, region).e164 == e164
    for other in ("US", "GB", region):
        assert normalize_number(e164, other).e164 == e164


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (" Ann@Example.COM ", "ann@example.com"),
        ("", ""),
        ("名無し@host.invalid", "名無し@host.invalid"),
    ],
)
def test_emails(raw: str, clean: str) -> None:
    assert normalize_email(raw) == clean


@pytest.mark.parametrize("raw", ["ann@", "not an email", "ann@example", "a@b@c.com", "a b@c.com"])
def test_bad_emails(raw: str) -> None:
    with pytest.raises(Invalid, match="is not an email address"):
        normalize_email(raw)


@pytest.mark.parametrize(
    ("full", "parts"),
    [
        ("Mary Ann  Smith", ("Mary Ann", "Smith")),
        ("Smith, Mary", ("Mary", "Smith")),
        ("Cher", ("Cher", "")),
        ("  ", ("", "")),
    ],
)
def test_split_name(full: str, parts: tuple[str, str]) -> None:
    assert split_name(full) == parts


def test_tags_are_trimmed_and_deduplicated_ignoring_case() -> None:
    # the inside is kept as typed: echowin holds "Open  House" and "Open House" apart,
    # and a restored backup must not turn one into the other
    assert unique_tags([" VIP", "vip", "", "Open  House", "Lead", "LEAD "]) == [
        "VIP",
        "Open  House",
        "Lead",
    ]


def test_names_keep_their_inside_as_typed() -> None:
    assert normalize_name("  Mary  Ann\nSmith \t") == "Mary  Ann\nSmith"


def test_custom_values() -> None:
    assert custom_number("1,200.50") == 1200.5
    assert custom_number(" 25000 ") == 25000
    assert custom_date("2024-03-04 05:06:07") == "2024-03-04"
    assert select_option(" manager", ["Manager", "Employee"]) == "Manager"
    for bad, call in (("lots", custom_number), ("03/04/2024", custom_date), ("nan", custom_number)):
        with pytest.raises(Invalid):
            call(bad)
    with pytest.raises(Invalid, match="is not one of Manager, Employee"):
        select_option("Intern", ["Manager", "Employee"])


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("001-808-617-6467", "number '001-808-617-6467' is too long for a phone number; 00 is a "
         "prefix for dialling abroad: if it means +1 808-617-6467, write it so, with +"),
        ("0044 20 7946 0958", "number '0044 20 7946 0958' is too long for a phone number; 00 is "
         "a prefix for dialling abroad: if it means +44 20 7946 0958, write it so, with +"),
        ("020 7946 0958", "number '020 7946 0958' is too long for a phone number; it may be a "
         "number of another country written without its country code (it would be valid in GB,"
         " IT, FI and 4 more): use --region, or write it with + and the country code"),
        ("555", "number '555' is too short for a phone number"),
    ],
)  # fmt: skip
def test_an_invalid_number_says_the_one_edit_that_would_make_it_valid(
    raw: str, reason: str
) -> None:
    with pytest.raises(Invalid) as refused:
        normalize_number(raw, "US")
    assert str(refused.value) == reason


def test_a_national_number_valid_in_one_other_country_names_it() -> None:
    with pytest.raises(Invalid) as refused:
        normalize_number("(11) 96123-4567", "US")  # a São Paulo mobile, written the Brazilian way
    assert str(refused.value).endswith(
        "; it is a valid number in BR (+55 11 96123-4567): use --region BR, or write it with +55"
    ), refused.value
