"""Update an existing contact from a row, without destroying anything it holds.

`PUT /api/v1/contacts/:id` sends only the fields that change:
- a field the row leaves empty keeps its stored value (unless `overwrite_blanks`);
- custom fields are sent key by key (echowin merges them);
- `PUT` replaces tags, so the row's tags are merged with the contact's (unless the
  mapping says `tags_mode: replace`), from the contact as read in this run;
- a note is added unless the contact has the same one; assignees and boards are
  added (POST), never removed.
A row that would change nothing is `unchanged`, and nothing is sent.

The nightly case: the hash of the body last written to a contact (team.py) tells a
row that has not changed since without comparing it at all; `full_compare`
compares field by field instead.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from ..client.models import Contact, ContactChanges
from ..errors import NotFound, ValidationFailed
from .api import ContactsApi
from .keys import Keys, number_key
from .outcomes import RowOutcome
from .push import TagResolver

STANDARD_FIELDS = {
    "firstName": "first_name",
    "lastName": "last_name",
    "email": "email",
    "carrier": "carrier",
    "number": "number",
}


@dataclass(frozen=True)
class UpdateRules:
    mapped: frozenset[str]  # body fields the mapping fills (firstName, customFields.role...)
    overwrite_blanks: bool = False
    tags_mode: str = "merge"
    full_compare: bool = False

    def body_hash(self, body: dict[str, Any]) -> str:
        """Stands for what writing this body does under these rules."""
        text = json.dumps([body, self.tags_mode, self.overwrite_blanks], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Updated:
    outcome: RowOutcome
    contact: Contact | None = None  # as echowin has it now, when read or written
    written: str | None = None  # the body's hash, when the contact now holds the row


class Updater:
    def __init__(
        self, client: ContactsApi, tags: TagResolver, rules: UpdateRules, region: str
    ) -> None:
        self._client = client
        self._tags = tags
        self._rules = rules
        self._region = region

    def read(self, contact_id: str) -> Contact | None:
        """The contact as echowin has it now (None: deleted)."""
        try:
            return self._client.get_contact(contact_id).data
        except NotFound:
            return None

    def update(
        self,
        contact_id: str,
        body: dict[str, Any],
        *,
        written: str | None,
        stored: Contact | None,
        fresh: bool,
        alternates: Keys = (),
    ) -> Updated:
        """Bring the contact up to date with the row's `body` (as a create would send it).
        A stored number or email that is one of the row's `alternates` (its other valid
        values, see keys.py) is left as it is: the row holds it too."""
        digest = self._rules.body_hash(body)
        if not self._rules.full_compare and written == digest:
            return Updated(RowOutcome("unchanged", contact_id), written=digest)
        try:
            if stored is None:
                stored, fresh = self._client.get_contact(contact_id).data, True
            # fields differ from the contact as last read: the row changed them (an edit
            # made in echowin since to a field the row did not change is left alone)
            changes = self._changes(body, stored, alternates)
            if "tag_ids" in changes and not fresh:  # PUT replaces tags: merge with today's
                stored = self._client.get_contact(contact_id).data
                changes = self._changes(body, stored, alternates)
            extras = self._extras(contact_id, body) if _has_extras(body) else {}
            if not changes and not extras:
                return Updated(RowOutcome("unchanged", contact_id), stored, digest)
            if changes:
                stored = self._client.update_contact(contact_id, ContactChanges(**changes))
            self._add_extras(contact_id, extras)
        except ValidationFailed as exc:
            reasons = "; ".join(f"{d.field}: {d.message}" for d in exc.details)
            return Updated(RowOutcome("rejected", contact_id, f"echowin refused the update: "
                                      f"{reasons or exc}"))  # fmt: skip
        except NotFound:
            return Updated(RowOutcome("rejected", contact_id, "the contact was deleted in echowin "
                                      "meanwhile; re-run to create it"))  # fmt: skip
        return Updated(RowOutcome("updated", contact_id), stored, digest)

    def _changes(self, body: dict[str, Any], stored: Contact, alternates: Keys) -> dict[str, Any]:
        """ContactChanges' fields that differ, by the rules of the module docstring."""
        changes: dict[str, Any] = {}
        blanks = self._rules.overwrite_blanks
        for name, attribute in STANDARD_FIELDS.items():
            new, old = body.get(name), getattr(stored, attribute)
            if new:
                if not self._same(name, new, old) and not self._held(name, old, alternates):
                    changes[attribute] = new
            elif blanks and name != "number" and name in self._rules.mapped and old:
                changes[attribute] = ""
        stored_fields = stored.custom_fields
        custom = {
            k: v for k, v in (body.get("customFields") or {}).items() if stored_fields.get(k) != v
        }
        if blanks:
            for name in self._rules.mapped:
                key = name.removeprefix("customFields.")
                sent = body.get("customFields") or {}
                if key != name and key not in sent and stored_fields.get(key) not in (None, ""):
                    custom[key] = None  # null clears the key
        if custom:
            changes["custom_fields"] = custom
        tag_ids = self._tag_ids(body.get("tagNames") or [], stored)
        if tag_ids is not None:
            changes["tag_ids"] = tag_ids
        return changes

    def _held(self, name: str, old: str | None, alternates: Keys) -> bool:
        """Whether the stored number or email is one of the row's alternates."""
        if not old or not alternates:
            return False
        if name == "email":
            return old.strip().casefold() in alternates
        return name == "number" and number_key(old, self._region) in alternates

    def _same(self, name: str, new: str, old: str | None) -> bool:
        if old is None:
            return False
        if name == "email":
            return old.strip().casefold() == new.casefold()
        if name == "number":
            return number_key(old, self._region) == int(new[1:])
        return old == new

    def _tag_ids(self, names: list[str], stored: Contact) -> list[str] | None:
        """The contact's tags after the update, or None: they stay as they are."""
        have = {t.name.casefold(): t.id for t in stored.tags}
        if self._rules.tags_mode == "replace":
            if {n.casefold() for n in names} == set(have) or not (
                names or self._rules.overwrite_blanks
            ):
                return None
            return self._tags.ids(names)
        adding = [n for n in names if n.casefold() not in have]
        if not adding:
            return None
        return list(have.values()) + self._tags.ids(adding)

    def _extras(self, contact_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """The note, assignees and boards the row adds that the contact lacks."""
        extras: dict[str, Any] = {}
        if note := body.get("note"):
            notes = self._client.get_contact(contact_id).data.notes
            if all(n.note != note["note"] for n in notes):
                extras["note"] = note
        if users := body.get("assignUserIds"):
            have = {a.user_id for a in self._client.assignments(contact_id)}
            if missing := [u for u in users if u not in have]:
                extras["assignUserIds"] = missing
        if boards := body.get("boardIds"):
            have = {b.id for b in self._client.contact_boards(contact_id)}
            if missing := [b for b in boards if b not in have]:
                extras["boardIds"] = missing
        return extras

    def _add_extras(self, contact_id: str, extras: dict[str, Any]) -> None:
        if note := extras.get("note"):
            self._client.add_note(contact_id, note["note"], note.get("type"))
        if users := extras.get("assignUserIds"):
            self._client.assign_users(contact_id, users)
        if boards := extras.get("boardIds"):
            self._client.place_on_boards(contact_id, boards)


def _has_extras(body: dict[str, Any]) -> bool:
    return bool(body.get("note") or body.get("assignUserIds") or body.get("boardIds"))
