"""Guess a mapping from a file's headers: the matcher behind runs without `--mapping`.

Headers are compared with case, spaces and punctuation removed (`E-mail 1 - Value`
→ `email1value`) against names that contact exports commonly use (Google, Outlook,
Thunderbird, Odoo, CRM exports). Where several columns fit one field (`Phone 1`,
`Phone 2`), all are listed in file order: each row takes the first that holds a
value. Custom fields match the team's field names and labels.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .client.models import CustomFieldSchema
from .mapping import Mapping

_SYNONYMS: dict[str, tuple[str, ...]] = {
    "firstName": ("firstname", "givenname", "fname", "first", "forename"),
    "lastName": ("lastname", "familyname", "surname", "lname", "last"),
    "email": ("mail", "primaryemail", "secondaryemail", "workemail", "homeemail"),
    "number": (
        "number", "mobile", "mobilenumber", "mobilephone", "cell", "cellphone", "telephone",
        "tel", "primaryphone", "businessphone", "workphone", "homephone", "contactnumber",
    ),
    "carrier": ("carrier",),
    "name": ("name", "fullname", "displayname", "contactname"),
    "tags": ("tags", "tag", "labels"),
    "note": ("notes", "note", "comments", "comment"),
}  # fmt: skip
# numbered columns as Google, Outlook and datablist write them: Phone 2, E-mail 1 - Value
_NUMBERED = {
    "email": re.compile(r"^e?mail(address)?\d*(value)?$"),
    "number": re.compile(r"^(phone(number)?|mobile|cell)\d*(value)?$"),
}
_CUSTOM_SYNONYMS = {
    "company": ("organization", "organisation", "companyname", "organization1name"),
}


def squash(header: str) -> str:
    return re.sub(r"[\W_]+", "", header.casefold())


def suggest_mapping(
    headers: list[str], custom_fields: Iterable[CustomFieldSchema] = ()
) -> Mapping | None:
    """A mapping for `headers`, or None when no column looks like a phone number."""
    squashed = [squash(h) for h in headers]
    taken: set[int] = set()

    def columns(names: Iterable[str], pattern: re.Pattern[str] | None = None) -> list[str]:
        wanted = set(names)
        found = [
            i
            for i, s in enumerate(squashed)
            if (s in wanted or (pattern is not None and pattern.match(s))) and i not in taken
        ]
        taken.update(found)
        return [headers[i].strip() for i in found]

    fields = {key: cols for key in ("number", "email", "firstName", "lastName", "carrier")
              if (cols := columns(_SYNONYMS[key], _NUMBERED.get(key)))}  # fmt: skip
    if "number" not in fields:
        return None
    data: dict[str, object] = {"version": 1, "fields": fields}
    if name := columns(_SYNONYMS["name"]):
        data["name"] = name
    custom = {}
    for schema in custom_fields:
        names = {
            squash(schema.name),
            squash(schema.label or ""),
            *_CUSTOM_SYNONYMS.get(schema.name, ()),
        }
        if cols := columns(names - {""}):
            custom[schema.name] = cols
    if custom:
        data["customFields"] = custom
    if tags := columns(_SYNONYMS["tags"]):
        data["tags"] = [{"column": tags, "split": ";"}]
    if note := columns(_SYNONYMS["note"]):
        data["note"] = note
    return Mapping.model_validate(data)
