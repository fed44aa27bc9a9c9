"""Fuzzing, bounded and the same on every run: the mapping loader and the phone normalizer.

The loader, given any text or any YAML structure, returns a Mapping or raises
MappingError, never another exception; a Mapping it returns writes YAML that loads
back to itself. The normalizer, given any text and region, returns a Phone or raises
Invalid, and normalizing its E.164 again, in any region, gives the same number.
"""

from __future__ import annotations

from typing import Any

import phonenumbers
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bulk_sync.errors import MappingError
from bulk_sync.mapping import Mapping, parse_mapping
from bulk_sync.normalize import Invalid, normalize_number

FUZZ = settings(
    derandomize=True,  # the same examples on every run: CI never meets a new one by chance
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# -- the mapping loader ------------------------------------------------------------------

_YAML_BITS = [
    "fields", "number", "email", "firstName", "customFields", "tags", "note", "match",
    "source", "header_row", "defaults", "region", "transform", "regex", "column", "value",
    "split", "type", "version", "replace", "default", "Phone", "US", ":", ": ", "\n", "  ",
    "- ", "[", "]", "{", "}", ",", "&a ", "*a", "<<: ", "!!python/object ", "!!str ", "!x ",
    "'", '"', "#", "|", ">", "?", "---", "...", "%YAML 1.1", "\t", "\x00", "\x85", "\ufeff",
    "(a+)+$", r"(a)\1", "(", "999999999999", "1e400", "-1", ".inf", "~", "null", "yes",
    "2024-13-45", "é", "😀",
]  # fmt: skip


@FUZZ
@given(st.lists(st.sampled_from(_YAML_BITS) | st.text(max_size=4), max_size=40).map("".join))
def test_any_text_loads_or_is_a_mapping_error(text: str) -> None:
    _load(text)


_KEYS = st.sampled_from(
    ["fields", "number", "email", "firstName", "lastName", "customFields", "tags", "note",
     "match", "source", "sheet", "header_row", "defaults", "region", "transform", "regex",
     "column", "value", "split", "type", "version", "replace", "default", "extension",
     "otherColumns", "ignore", "tags_mode", "assignUserIds", "api_key", "x"]
)  # fmt: skip
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=True)
    | st.sampled_from(["Phone", "US", "INFO", "number,email", "strip", "merge", "(\\d+)", "(a"])
    | st.text(max_size=8)
)
_STRUCTURES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=10,
)
_COLUMNS = st.sampled_from(["Phone", "Mobile", " e-mail ", "Ünïcode"])
_TRANSFORMS = st.sampled_from(
    ["strip", "lower", "digits", {"default": 5}, {"replace": {"a": None}}, {"regex": r"(\d+)"},
     {"regex": r"^(a+)+$"}, {"regex": "(a)\\1"}, "title", {"regex": 7}]
)  # fmt: skip
_SPECS = (
    _COLUMNS
    | st.lists(_COLUMNS, min_size=1, max_size=3)
    | st.fixed_dictionaries(
        {"column": _COLUMNS | st.lists(_COLUMNS, max_size=2)},
        optional={"transform": _TRANSFORMS | st.lists(_TRANSFORMS, max_size=3), "x": _SCALARS},
    )
    | st.fixed_dictionaries({"value": _SCALARS | st.lists(st.text(max_size=3), max_size=2)})
    | _STRUCTURES
)
_NEAR_VALID = st.fixed_dictionaries(
    {"fields": st.fixed_dictionaries({"number": _SPECS}, optional={"email": _SPECS})},
    optional={
        "tags": st.lists(_SPECS, max_size=2),
        "customFields": st.dictionaries(st.text(min_size=1, max_size=5), _SPECS, max_size=2),
        "match": st.sampled_from(["number", "email", "number,email", ["email"], "phone"]),
        "defaults": st.fixed_dictionaries({"region": st.sampled_from(["US", "gb", "XX", 1])}),
        "source": st.fixed_dictionaries({"header_row": _SCALARS}),
        "note": _SPECS,
    },
)


@FUZZ
@given(st.dictionaries(_KEYS, _STRUCTURES, max_size=5) | _NEAR_VALID)
def test_any_structure_loads_or_is_a_mapping_error(data: dict[str, Any]) -> None:
    mapping = _load(yaml.safe_dump(data, allow_unicode=True))
    event("loaded" if mapping is not None else "refused")
    if mapping is not None:  # it loaded: what it writes loads back to the same
        assert parse_mapping(mapping.to_yaml()) == mapping


def _load(text: str) -> Mapping | None:
    try:
        return parse_mapping(text, source="fuzz.yaml")
    except MappingError as exc:
        assert str(exc).startswith("fuzz.yaml: ")
        assert "\n" not in str(exc)
        return None


# -- the phone normalizer ----------------------------------------------------------------

_REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
_COMMON = ("US", "GB", "FR", "DE", "JP", "BR", "IN", "AU", "IT", "MX")
_EXAMPLES = [
    str(n.national_number)
    for r in _COMMON
    if (n := phonenumbers.example_number_for_type(r, phonenumbers.PhoneNumberType.MOBILE))
]


@st.composite
def _phone_like(draw: st.DrawFn) -> str:
    digits = draw(st.sampled_from(_EXAMPLES))
    if draw(st.booleans()):  # a digit dropped, doubled or changed here and there
        digits = "".join(draw(st.sampled_from([d, d, d, d, "", d + d, "9"])) for d in digits)
    prefix = draw(st.sampled_from(["", "+", "+1 ", "+44 ", "00", "0", "(", "tel:", "1-"]))
    spacer = draw(st.sampled_from(["", " ", "-", ".", ") "]))
    cut = draw(st.integers(0, len(digits)))
    suffix = draw(st.sampled_from(["", " x12", " ext. 7", "#", ".0", "E+10", " ;"]))
    return prefix + digits[:cut] + spacer + digits[cut:] + suffix


_CELLS = (
    _phone_like()
    | st.text(alphabet="0123456789 +-().x#*,;:/\\eE\u0660\u0661\uff11", max_size=30)
    | st.text(max_size=30)
)


@FUZZ
@given(_CELLS, st.sampled_from(_REGIONS) | st.sampled_from(["XX", "", "us", "001"]))
def test_any_cell_and_region_is_a_phone_or_invalid(raw: str, region: str) -> None:
    try:
        phone = normalize_number(raw, region)
    except Invalid as exc:
        assert str(exc)
        return
    assert phone.e164.startswith("+") and phone.e164[1:].isdigit()


@FUZZ
@given(_phone_like(), st.sampled_from(_COMMON), st.sampled_from(_REGIONS))
def test_normalizing_e164_again_gives_it_back(raw: str, region: str, other: str) -> None:
    try:
        phone = normalize_number(raw, region)
    except Invalid:
        event("invalid")
        return
    event("valid")
    for again in (region, other):
        assert normalize_number(phone.e164, again) == type(phone)(phone.e164)
