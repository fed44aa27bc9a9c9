"""A mapping's `regex: P`, run in linear time: Python's syntax, RE2's engine.

Python's `re` backtracks: `^(a+)+$` on forty `a`s and a `!` never finishes. RE2
(google-re2) runs every pattern in time linear in the cell, so one cell cannot hang
a run. A pattern must compile in Python's `re` (the syntax a user knows, and its
error messages); it is then rewritten into RE2's dialect so that it means the same:
`\\d`, `\\w`, `\\s` keep Python's Unicode meaning (RE2's are ASCII), `\\Z`, `\\uXXXX`,
`\\N{NAME}`, `{,n}` and `(?#...)` are spelled RE2's way. What RE2 cannot run
(backreferences, lookarounds, possessive and atomic groups, conditionals) is
refused when the mapping loads, with a sentence saying which feature it is.

Two differences remain, both only at the edges of a cell: `$` matches only at the
very end of the cell (Python's also before a final newline), and `\\b` counts only
ASCII letters, digits and `_` as word characters.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from typing import Any

import re2

# Python's classes for str patterns, spelled for RE2 (outside, inside a [...] set)
_SPACE = "".join(f"\\x{{{ord(c):x}}}" for c in map(chr, range(0x3001)) if c.isspace())
_CLASSES = {
    "d": (r"\p{Nd}", r"\p{Nd}"),
    "D": (r"\P{Nd}", r"\P{Nd}"),
    "w": (r"[\p{L}\p{N}_]", r"\p{L}\p{N}_"),
    "W": (r"[^\p{L}\p{N}_]", None),
    "s": (f"[{_SPACE}]", _SPACE),
    "S": (f"[^{_SPACE}]", None),
}
_REPEAT_FROM_ZERO = re.compile(r"\{,(\d+)\}")

# what RE2's compile error names -> the feature, for the message
_UNSUPPORTED = (
    (re.compile(r"invalid escape sequence: \\[1-9]"), "a backreference"),
    (re.compile(r"invalid perl operator: \(\?P"), "a backreference"),  # (?P<name> is fine
    (re.compile(r"invalid perl operator: \(\?[=!]"), "a lookahead"),
    (re.compile(r"invalid perl operator: \(\?<[=!]"), "a lookbehind"),
    (re.compile(r"invalid perl operator: \(\?>"), "an atomic group"),
    (re.compile(r"bad repetition operator: [*+?}]\+"), "a possessive repeat"),
    (re.compile(r"invalid perl operator: \(\?\("), "a conditional group"),
    (re.compile(r"invalid perl operator: \(\?[a-zA-Z-]"), "a flag other than i, m, s"),
    (re.compile(r"invalid repetition size"), "a repeat count over 1000"),
)


class RegexRefused(ValueError):
    """The pattern does not compile, or needs what a linear-time engine cannot do."""


class CellRegex:
    """A compiled mapping regex; `first_group(cell)` is what the `regex` transform keeps."""

    __slots__ = ("_groups", "_re2", "pattern")

    def __init__(self, pattern: str) -> None:
        python = _check_python_syntax(pattern)
        options = re2.Options()
        options.log_errors = False  # RE2 would print every refused pattern to stderr
        try:
            compiled = re2.compile(to_re2_syntax(pattern).encode("utf-8"), options)
        except re2.error as exc:
            raise RegexRefused(_refusal(pattern, _text(exc))) from None
        self.pattern = pattern
        self._re2: Any = compiled._regexp  # the pybind RE2 object: bytes in, byte spans out
        self._groups = min(python.groups, 1)

    def first_group(self, cell: str) -> str:
        """The first group where the pattern is found (the whole match if it has no
        group); "" when it is not found or the group took no part."""
        text = cell.encode("utf-8", "surrogatepass")
        spans = self._re2.Match(_UNANCHORED, text, 0, len(text))
        start, end = spans[self._groups]
        if start < 0:
            return ""
        return text[start:end].decode("utf-8", "replace")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CellRegex) and other.pattern == self.pattern

    def __hash__(self) -> int:
        return hash(self.pattern)

    def __repr__(self) -> str:
        return f"CellRegex({self.pattern!r})"

    def __reduce__(self) -> tuple[Any, ...]:  # worker processes compile their own
        return (CellRegex, (self.pattern,))


_UNANCHORED = re2._Anchor.UNANCHORED


def _check_python_syntax(pattern: str) -> re.Pattern[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # `[[:alpha:]]`: Python and RE2 read it differently
        try:
            return re.compile(pattern)
        except re.error as exc:
            raise RegexRefused(f"regex {pattern!r} does not compile: {exc}") from None
        except (FutureWarning, DeprecationWarning) as warning:
            raise RegexRefused(f"regex {pattern!r} is ambiguous ({warning}); escape it") from None


def to_re2_syntax(pattern: str) -> str:
    """`pattern` (valid for Python's re) in RE2's syntax, with the same meaning."""
    out: list[str] = []
    i, n = 0, len(pattern)
    in_set = False
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            i, piece = _escape(pattern, i, in_set)
            out.append(piece)
            continue
        if in_set:
            in_set = c != "]"
        elif c == "[":
            in_set = True
            j = i + 1
            j += pattern.startswith("^", j)
            j += pattern.startswith("]", j)  # `[]a]`: a first `]` is a member
            out.append(pattern[i:j].replace("]", r"\]") if j > i + 1 else c)
            i = j
            continue
        elif pattern.startswith("(?#", i):  # a comment: up to the first `)`
            i = pattern.index(")", i) + 1
            continue
        elif c == "{" and (repeat := _REPEAT_FROM_ZERO.match(pattern, i)):
            out.append(f"{{0,{repeat.group(1)}}}")
            i = repeat.end()
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _escape(pattern: str, i: int, in_set: bool) -> tuple[int, str]:
    """The escape at `pattern[i]` (a backslash) in RE2's syntax, and where it ends."""
    e = pattern[i + 1]
    if e in _CLASSES:
        piece = _CLASSES[e][in_set]
        if piece is None:
            raise RegexRefused(
                f"regex {pattern!r} uses \\{e} inside [...], which bulk-sync does not "
                f"support; use [^...] with the characters to leave out"
            )
        return i + 2, piece
    if e == "Z" and not in_set:
        return i + 2, r"\z"
    if e == "b" and in_set:
        return i + 2, r"\x{8}"
    if e in "uU":
        width = 4 if e == "u" else 8
        return i + 2 + width, f"\\x{{{pattern[i + 2 : i + 2 + width]}}}"
    if e == "N":  # \N{NAME}: Python has checked the name
        end = pattern.index("}", i)
        return end + 1, f"\\x{{{ord(unicodedata.lookup(pattern[i + 3 : end])):x}}}"
    if not e.isascii():  # `\é` is `é` to Python; RE2 refuses the escape
        return i + 2, f"\\x{{{ord(e):x}}}"
    return i + 2, pattern[i : i + 2]


def _refusal(pattern: str, problem: str) -> str:
    for known, feature in _UNSUPPORTED:
        if known.search(problem):
            return (
                f"regex {pattern!r} uses {feature}, which bulk-sync does not support "
                "(its regexes run in linear time, without backtracking); rewrite the "
                "pattern without it"
            )
    if "pattern too large" in problem:
        return (
            f"regex {pattern!r} is too large for the regex engine (over 8 MB compiled); "
            "use smaller repeat counts"
        )
    return f"regex {pattern!r} cannot run on bulk-sync's linear-time engine (RE2: {problem})"


def _text(exc: BaseException) -> str:
    arg = exc.args[0] if exc.args else exc
    return arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)
