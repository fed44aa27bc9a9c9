"""The phone fast paths agree exactly with phonenumbers, on generated and real numbers.

`normalize.is_valid_number` re-implements `phonenumbers.is_valid_number` on the same
metadata; `normalize._north_american` reads the common North American shapes
without `phonenumbers.parse`. Neither may ever decide differently: each test below
compares them with phonenumbers itself, number by number.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import phonenumbers
import pytest
from phonenumbers import PhoneNumberType

from bulk_sync.errors import InputError
from bulk_sync.normalize import Invalid, Phone, _read_number, is_valid_number
from bulk_sync.sources import open_source

ROOT = Path(__file__).resolve().parents[1]
NANPA = phonenumbers.COUNTRY_CODE_TO_REGION_CODE[1]
TYPES = [t for t in vars(PhoneNumberType).values() if isinstance(t, int) and t >= 0]


def near_valid_numbers(per_example: int, seed: int) -> Iterator[phonenumbers.PhoneNumber]:
    """Every region's example number of every type, with its last digits changed,
    one digit more or less, some with an Italian leading zero: valid and invalid ones."""
    rng = random.Random(seed)
    examples = [
        phonenumbers.example_number_for_type(region, kind)
        for region in sorted(phonenumbers.SUPPORTED_REGIONS)
        for kind in TYPES
    ] + [
        phonenumbers.example_number_for_non_geo_entity(code)
        for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS)
    ]
    for example in examples:
        if example is None:
            continue
        nsn = phonenumbers.national_significant_number(example)
        for _ in range(per_example):
            k = rng.randint(1, min(4, len(nsn)))
            digits = nsn[:-k] + "".join(rng.choice("0123456789") for _ in range(k))
            digits += rng.choice(["", "", "", rng.choice("0123456789")])
            number = phonenumbers.PhoneNumber(
                country_code=example.country_code, national_number=int(digits)
            )
            if digits.startswith("0") or rng.random() < 0.05:
                number.italian_leading_zero = True
                number.number_of_leading_zeros = len(digits) - len(digits.lstrip("0")) or 1
            yield number


def test_validity_agrees_with_phonenumbers_on_every_region_and_type() -> None:
    numbers = list(near_valid_numbers(per_example=12, seed=7))
    verdicts = [(is_valid_number(n), phonenumbers.is_valid_number(n)) for n in numbers]
    pairs = zip(numbers, verdicts, strict=True)
    wrong = [(n, ours) for n, (ours, theirs) in pairs if ours != theirs]
    assert len(numbers) > 10_000
    assert sum(theirs for _, theirs in verdicts) > 3_000  # valid ones are well represented
    assert not wrong


def test_validity_agrees_on_arbitrary_digits_for_every_calling_code() -> None:
    rng = random.Random(11)
    for code in [*sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE), 0, 999]:
        for _ in range(40):
            length = rng.randint(1, 15)
            number = phonenumbers.PhoneNumber(
                country_code=code, national_number=rng.randrange(10 ** (length - 1), 10**length)
            )
            assert is_valid_number(number) == phonenumbers.is_valid_number(number), number


def read(raw: str, region: str, *, fast: bool) -> Phone | str:
    try:
        return _read_number(raw, region, fast=fast)
    except Invalid as exc:
        return str(exc)


def north_american_shapes(count: int, seed: int) -> Iterator[str]:
    """Ten and eleven digits (and near misses) in the shapes people type and export."""
    rng = random.Random(seed)
    separators = ["", " ", "-", ".", "(", ")", " (", ") ", "  "]
    for _ in range(count):
        digits = rng.choice(["", "", "1", "1", "0", "01", "11", "011"])
        digits += rng.choice("23456789" if rng.random() < 0.8 else "01")
        digits += "".join(rng.choice("0123456789") for _ in range(rng.choice([9, 9, 9, 8, 10, 6])))
        text = ""
        for digit in digits:
            text += digit
            if rng.random() < 0.2:
                text += rng.choice(separators)
        if rng.random() < 0.4:
            text = "+" + text
        if rng.random() < 0.15:
            text = "(" + text
        if rng.random() < 0.1:
            text = f" {text} "
        yield text


@pytest.mark.parametrize("region", [*NANPA, "GB", "DE", "MX", "JP", "IN", "ZZ"])
def test_north_american_shapes_read_as_phonenumbers_reads_them(region: str) -> None:
    for raw in north_american_shapes(1_500, seed=sum(map(ord, region))):
        assert read(raw, region, fast=True) == read(raw, region, fast=False), raw


def real_cells() -> Iterator[str]:
    """Every cell with three digits or more of the contact files this project has."""
    files = [
        *sorted((ROOT / "tests" / "data" / "sources").glob("*.csv")),
        ROOT / "samples" / "leads.csv",
        *sorted((ROOT.parent / "shared" / "realworld").glob("*/*.csv")),
    ]
    for path in files:
        try:
            source = open_source(path)
        except InputError:
            continue  # the unreadable ones of tests/data, on purpose
        for chunk in source.chunks():
            for row in chunk.rows:
                yield from (cell for cell in row if sum(c.isdigit() for c in cell) >= 3)


@pytest.mark.parametrize("region", ["US", "CA", "GB", "DE"])
def test_real_cells_read_as_phonenumbers_reads_them(region: str) -> None:
    cells = list(real_cells())
    assert len(cells) > 500
    for raw in cells:
        assert read(raw, region, fast=True) == read(raw, region, fast=False), raw
