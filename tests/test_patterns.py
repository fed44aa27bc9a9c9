"""Mapping regexes: Python's syntax and results, RE2's linear time, refusals named."""

from __future__ import annotations

import pickle
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bulk_sync.patterns import CellRegex, RegexRefused


def python_first_group(pattern: str, cell: str) -> str:
    """What the `regex` transform kept when it ran on Python's re."""
    match = re.search(pattern, cell)
    if match is None:
        return ""
    found = match.group(1) if match.re.groups else match.group(0)
    return found or ""


@pytest.mark.parametrize(
    ("pattern", "cell"),
    [
        (r"^(\w+)", "Renée Lee"),  # \w, \d, \s keep Python's Unicode meaning
        (r"(\d+)", "x ٣٤ 12"),
        (r"(\s+)", "a\u3000\xa0b"),
        (r"(\S+)", "\u3000ab\xa0"),
        (r"(\W+)", "é--x"),
        (r"([\w-]+)", "  --éa"),
        (r"[\d.]+", "v1.2"),
        (r"(\D+)", "\u0661\u0662ab"),
        (r"a{,3}", "aaaa"),  # RE2 reads {,3} as text
        (r"(a+)\Z", "caa"),  # RE2 spells it \z
        (r"\u00e9|\U0001F600", "x😀"),
        (r"\N{DIGIT ONE}(.)", "01a"),
        (r"[\b]", "\b"),
        (r"\é", "é"),
        (r"(?#a comment)b", "ab"),
        (r"[]a]+", "x]a]"),
        (r"[^]a]+", "]xy"),
        (r"(?i)strasse", "STRASSE"),
        (r"(?P<zip>\d{5})(?:-\d{4})?", "MA 02134-1234"),
        (r"(x)?\d", "12"),  # a group that took no part: empty
        (r"(a|ab)(c|bcd)(d*)", "abcd"),  # leftmost-first, as Perl and Python
        (r"(a|b)*", "abab"),  # a repeated group keeps its last
        (r"\\d", r"\d"),
        (r"x{1,2", "x{1,2"),
    ],
)
def test_results_are_pythons(pattern: str, cell: str) -> None:
    assert CellRegex(pattern).first_group(cell) == python_first_group(pattern, cell)


_ATOMS = st.sampled_from(
    ["a", "b", "1", " ", "é", ".", r"\d", r"\w", r"\s", r"\D", r"\W", r"\S", "[ab]", "[^a]",
     r"[\w-]", r"[\d ]", "^", "$", "[é-ê]"]
)  # fmt: skip


def _patterns() -> st.SearchStrategy[str]:
    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(inner, inner).map("".join),
            st.tuples(inner, inner).map("|".join),
            inner.map("({})".format),
            inner.map("(?:{})".format),
            st.tuples(inner, st.sampled_from(["*", "+", "?", "{0,2}", "*?", "+?", "{2}"])).map(
                "".join
            ),
        )

    return st.recursive(_ATOMS, extend, max_leaves=8)


@settings(derandomize=True, max_examples=400, deadline=None)
@given(pattern=_patterns(), cell=st.text(alphabet="ab1 é٣_\t-\u3000", max_size=12))
def test_random_patterns_give_pythons_results(pattern: str, cell: str) -> None:
    try:
        python = python_first_group(pattern, cell)
    except re.error:  # `^*`: nothing to repeat; refused by both
        with pytest.raises(RegexRefused, match="does not compile"):
            CellRegex(pattern)
        return
    assert CellRegex(pattern).first_group(cell) == python


@pytest.mark.parametrize(
    ("pattern", "cell", "found"),
    [
        ("^(a+)+$", "a" * 40 + "!", ""),  # forever on Python's re
        ("^(a+)+$", "a" * 100_000, "a" * 100_000),
        ("(a|aa)+$", "a" * 50_000 + "b", ""),
        (r"^(\w+\s?)*$", "word " * 20_000 + "!", ""),
        ("(x+x+)+y", "x" * 50_000, ""),
    ],
)
def test_catastrophic_patterns_run_in_linear_time(pattern: str, cell: str, found: str) -> None:
    assert CellRegex(pattern).first_group(cell) == found  # pytest-timeout bounds the time


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        (r"(a)\1", r"regex '(a)\\1' uses a backreference, which bulk-sync does not support"),
        (r"(?P<n>a)(?P=n)", "uses a backreference"),
        (r"a(?=b)", "uses a lookahead"),
        (r"a(?!b)", "uses a lookahead"),
        (r"(?<=a)b", "uses a lookbehind"),
        (r"(?<!a)b", "uses a lookbehind"),
        (r"(?>a+)b", "uses an atomic group"),
        (r"a++", "uses a possessive repeat"),
        (r"(a)?(?(1)b|c)", "uses a conditional group"),
        (r"(?x) a b", "uses a flag other than i, m, s"),
        (r"a{1001}", "uses a repeat count over 1000"),
        (r"\w{1000}", "is too large for the regex engine"),
        (r"[\W\d]", r"uses \W inside [...]"),
        (r"[[:alpha:]]", "is ambiguous (Possible nested set"),
        (r"(unclosed", "does not compile: missing ), unterminated subpattern at position 0"),
        (r"a**", "does not compile: multiple repeat"),
    ],
)
def test_what_cannot_run_in_linear_time_is_refused_by_name(pattern: str, message: str) -> None:
    with pytest.raises(RegexRefused) as caught:
        CellRegex(pattern)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_compiled_regex_crosses_to_a_worker_process() -> None:
    regex = CellRegex(r"(\d+)")
    again = pickle.loads(pickle.dumps(regex))
    assert again == regex and again.first_group("ab 12") == "12"
    assert CellRegex("a") != CellRegex("b")
