"""The match key: how a row and a stored contact are known to be the same person.

One definition for the in-file dedupe, the team's key index, the lookup by search
and the reconciliation after a bulk. A key is
- a number: the digits of its E.164 form, as an int (E.164 has no leading zero),
  stored numbers parsed with the run's region (a contact typed into echowin's UI
  may lack its country code);
- an email: case-folded, as a str (it holds an `@`, so it never looks like a number).

With `match: [number, email]` a row has up to two keys, and it matches a contact
that shares either.

Where a matched field comes from several columns (`number: [Phone, Mobile]`), the
row's key is the value it is imported with (the first valid one), and its other
valid values are its *alternates*: a row whose keys match no contact is looked for by
its alternates too (any of them), so reordering the columns or fixing a cell that was
invalid does not make it another contact. An alternate alone is never enough to make
someone else's contact the row's (an office number shared by colleagues, a home
number by a family): a contact found only through one is the row's when it is
plausibly the same person (`same_person`), and no other row of the run has claimed it
(rows.py); otherwise the row is not found. Alternates are for the team only: in-file
duplicates are told by the keys alone, as the contract says, and an alternate that an
earlier row of the file has as its key is that row's (rows.py).
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Sequence

import phonenumbers

from ..client.models import Contact

Key = int | str
Keys = tuple[Key, ...]


def match_keys(number: str | None, email: str | None, match: Sequence[str]) -> Keys:
    """A row's keys from its normalized number (E.164) and email; () when it has none."""
    keys: list[Key] = []
    if "number" in match and number:
        keys.append(int(number[1:]))
    if "email" in match and email:
        keys.append(email.casefold())
    return tuple(keys)


def alternate_keys(numbers: Sequence[str], emails: Sequence[str], keys: Keys) -> Keys:
    """A row's alternates: the keys of its other valid numbers (E.164) and emails (of
    both, whatever the match: the lookup takes the match's kinds), its keys left out."""
    found = [int(n[1:]) for n in numbers] + [e.casefold() for e in emails]
    return tuple(k for k in dict.fromkeys(found) if k not in keys)


def same_person(stored: Contact, first: str | None, last: str | None, emails: Keys) -> bool:
    """Whether a contact found only through a row's alternate is plausibly the row's
    person: the same first and last name (case, Unicode form and outer spaces aside), and no other
    email (where both have one, the contact's is one of the row's `emails`, case-folded).
    A row and a contact with no name at all also need an email in common, or neither
    one: nothing else tells them apart."""
    names = [_name(a) for a in (stored.first_name, stored.last_name)]
    if names != [_name(b) for b in (first, last)]:
        return False
    email = (stored.email or "").strip().casefold()
    if email and emails:
        return email in emails
    return any(names) or not (email or emails)


def _name(text: str | None) -> str:
    """A name as compared: one Unicode form (a decomposed `ë` is the same letter), case
    and outer spaces aside."""
    return unicodedata.normalize("NFC", (text or "").strip()).casefold()


def contact_keys(contact: Contact, match: Sequence[str], region: str) -> Keys:
    """A stored contact's keys, normalized as a row's are."""
    keys: list[Key] = []
    if "number" in match and contact.number and (digits := number_key(contact.number, region)):
        keys.append(digits)
    if "email" in match and contact.email and contact.email.strip():
        keys.append(contact.email.strip().casefold())
    return tuple(keys)


@functools.lru_cache(maxsize=1 << 14)
def number_key(stored: str, region: str) -> int | None:
    """A stored number's E.164 digits, read with `region` when it has no country code;
    None when it cannot be read as a number at all (it then matches no row)."""
    try:
        parsed = phonenumbers.parse(stored, region)
    except phonenumbers.NumberParseException:
        return None
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return int(e164[1:]) if e164[1:].isdigit() else None


def search_text(key: Key, region: str) -> str:
    """What to search echowin for to find contacts with `key`: an email as it is; a
    number by its national digits, which echowin's stored form (with or without a
    country code, cleaned of punctuation) contains."""
    if isinstance(key, str):
        return key
    parsed = phonenumbers.parse(f"+{key}")
    return str(parsed.national_number)
