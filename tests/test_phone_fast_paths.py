"""The phone fast paths agree exactly with phonenumbers, on generated and real numbers.

`normalize.is_valid_number` re-implements `phonenumbers.is_valid_number` on the same
metadata; `normalize._read_simple` reads the common shapes (North American numbers,
numbers with + and a calling code, either with an extension) without
`phonenumbers.parse`. Neither may ever decide differently: each test below
compares them with phonenumbers itself, number by number.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator
from pathlib import Path

import phonenumbers
import pytest
from phonenumbers import PhoneNumberType

from bulk_sync.errors import InputError
from bulk_sync.normalize import Invalid, Phone, _read_number, _read_simple, is_valid_number
from bulk_sync.sources import open_source

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "samples"))
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


# Extensions: the forms the fast path reads, and near misses of every kind that must
# read as phonenumbers reads them (it takes some as extensions, some into the number,
# refuses others).
READ_FAST = [" x", "x", " X", " ext. ", " ext ", "ext.", " Ext.", " extn ", " extension "]
EXTENSION_LABELS = [" x", "x", " X", " x ", " x.", " ext", " ext.", " ext. ", "ext.", " Ext ",
                    " EXT.", " extn ", " extension ", " Extension: ", " ext:", " x:", " x-",
                    " ext-", " ext.-", " #", "#", " , x", ", ext ", "\tx", " - x", " -", " ",
                    ";ext=", " ;ext=", ",,", ",", " ~", " int ", " anexo ", " xt ", " ex ",
                    " e ", " ext..", " extensión ", " x x", "/x", " / x", " (x", ". x", ".x",
                    ")x", "- x", " xx", " ext ext "]  # fmt: skip


def with_extensions(numbers: Iterator[str], seed: int) -> Iterator[str]:
    """Each number with an extension after it, in the forms people write and their
    near misses: long extensions, letters, a # after it, two of them, odd separators."""
    rng = random.Random(seed)
    for number in numbers:
        digits = "".join(rng.choice("0123456789") for _ in range(rng.choice(
            [1, 2, 3, 3, 3, 4, 4, 5, 6, 7, 8, 9, 9, 10, 10, 15, 20, 21, 22])))  # fmt: skip
        extension = rng.choice(READ_FAST if rng.random() < 0.5 else EXTENSION_LABELS) + digits
        roll = rng.random()
        if roll < 0.05:
            extension += rng.choice(["#", " #", "a", " x", " ", ".", ")", "/x12", " x12"])
        elif roll < 0.08:
            extension = extension[:-1] + rng.choice("aoxX-.")  # a letter or sign inside
        yield number.rstrip() + extension


@pytest.mark.parametrize("region", [*NANPA, "GB", "DE", "MX", "ZZ"])
def test_north_american_shapes_with_extensions_read_as_phonenumbers_reads_them(
    region: str,
) -> None:
    from generate import us_number  # type: ignore[import-not-found]

    seed = sum(map(ord, region))
    rng = random.Random(seed)
    plain = [us_number(rng)[0] for _ in range(60)]  # the shapes of samples/generate.py
    numbers = [*plain, *north_american_shapes(60, seed=seed)]
    cells = list(with_extensions(iter(numbers), seed=seed))
    for raw in cells:
        assert read(raw, region, fast=True) == read(raw, region, fast=False), raw
    if region in ("US", "CA"):  # many are read fast: the fast path is what is tested
        assert sum(_read_simple(raw.strip(), region) is not None for raw in cells) > 30


def international_shapes(seed: int) -> Iterator[tuple[str, str]]:
    """(text, default region): the numbers of `near_valid_numbers`, valid and not, of
    every calling code, written with + in the ways people write them (grouped as
    phonenumbers groups them, with a national prefix or `(0)` kept, odd separators,
    an extension), each read with some region as the default."""
    rng = random.Random(seed)
    regions = ["US", "CA", "JM", "GB", "DE", "FR", "MX", "AR", "BR", "RU", "KZ", "IT", "ZZ"]
    for number in near_valid_numbers(per_example=4, seed=seed):
        nsn = phonenumbers.national_significant_number(number)
        own = phonenumbers.region_code_for_country_code(number.country_code)
        metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(
            number.country_code, own
        )
        prefix = (metadata.national_prefix if metadata is not None else None) or "0"
        shape = rng.randrange(6)
        if shape == 0:
            text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        elif shape == 1:
            text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        elif shape == 2:  # a national prefix or carrier code written after the code
            text = f"+{number.country_code} {rng.choice([prefix, f'({prefix})', '(0)', '0'])}{nsn}"
        else:
            text = f"+{number.country_code}"
            for digit in nsn:
                if rng.random() < 0.3:
                    text += rng.choice([" ", "-", ".", " (", ") ", "  ", "("])
                text += digit
            if rng.random() < 0.1:
                text = rng.choice(["(", "++", "+ ", "(+", "+0"]) + text[1:]
        if rng.random() < 0.2:
            text = next(with_extensions(iter([text]), seed=rng.randrange(1 << 30)))
        yield text, rng.choice([*regions, own])


def test_international_shapes_read_as_phonenumbers_reads_them() -> None:
    cells = list(international_shapes(seed=5))
    fast = 0
    for raw, region in cells:
        assert read(raw, region, fast=True) == read(raw, region, fast=False), (raw, region)
        fast += _read_simple(raw.strip(), region) is not None
    assert len(cells) > 5_000
    assert len(cells) / 2 < fast < len(cells)  # most read fast, some go to parse


EDGE_CELLS = ["+44 0", "+44 00", "+44 000", "+49 00 12", "+39 0", "+39 00", "+39 000000",
              "+39 06 6988 4567", "+39 06 6988 4567 x12", "+1 000 000 0000", "+1 (000) 123-4567",
              "+800 00", "+882 0000", "+7 000 00", "+0 212 555 0123", "+999 12345", "+2 12345",
              "+44 12", "+44 1", "+1 1", "+44 2079460958012345678", "+44 207946095801234567",
              "212-555-0123 x123456789", "212-555-0123 x1234567890", "212-555-0123 #123",
              "212-555-0123 ext: 5", "212-555-0123 x 0", "(212) 555-0123 ext." + "1" * 20,
              "(212) 555-0123 ext." + "1" * 21, "212 555 0123" + " " * 240,
              "(212)" + " " * 250 + "555-0123", "+44 20" + "-" * 250 + "7946 0958"]  # fmt: skip


@pytest.mark.parametrize("region", ["US", "CA", "GB", "IT", "ZZ"])
def test_edge_cells_read_as_phonenumbers_reads_them(region: str) -> None:
    """Leading zeros, unknown codes, parse's length limits, of NSNs, extensions, text."""
    for raw in EDGE_CELLS:
        assert read(raw, region, fast=True) == read(raw, region, fast=False), raw


def test_benchmark_cells_read_as_phonenumbers_reads_them() -> None:
    from generate import messy_rows  # type: ignore[import-not-found]

    cells = {str(cell) for row in messy_rows(4_000, seed=3) for cell in row[3:5] if cell}
    assert len(cells) > 2_000
    for raw in cells:
        assert read(raw, "US", fast=True) == read(raw, "US", fast=False), raw
