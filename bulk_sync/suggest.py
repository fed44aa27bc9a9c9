"""Guess a mapping from a file's headers and a sample of its values.

The matcher behind `bulk-sync mapping suggest` and behind runs without `--mapping`
(their `mapping-used.yaml` is written by the same `Suggestion.yaml`). Each choice
keeps its reason, so the YAML says why a column went where, which alternatives there
were, and which columns were left out.

By header: names are compared with case, accents, spaces and punctuation removed
(`E-mail 1 - Value` → `email1value`, `Téléphone` → `telephone`) against the names
contact exports use (Google, Outlook, HubSpot, Salesforce, Mailchimp, Thunderbird,
Odoo, datablist) in English, Spanish, French, German, Portuguese, Italian and Dutch.
By content, for columns no header claimed: mostly valid phone numbers → `number`;
mostly emails → `email`; short words separated by `;` or `,` that repeat → tags. A
column of a few repeated values, or of dates, is named as a candidate custom field.
With the team's custom fields, a column matches one by its name or label, or when its
values are that select field's options.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .client.models import CustomFieldSchema
from .errors import InputError
from .mapping import Mapping, load_mapping
from .normalize import EMAIL, read_number
from .presets import preset_names, resolve_mapping
from .sources import Source

SAMPLE_ROWS = 200
_MOSTLY = 0.6  # the share of a column's non-empty sample values that decides its kind

_SYNONYMS: dict[str, tuple[str, ...]] = {
    "firstName": (
        "firstname", "givenname", "fname", "first", "forename", "nombre", "prenom", "vorname",
        "nome", "primeironome", "voornaam", "name1",
    ),
    "lastName": (
        "lastname", "familyname", "surname", "lname", "last", "apellido", "apellidos", "nom",
        "nomdefamille", "nachname", "familienname", "sobrenome", "cognome", "achternaam",
    ),
    "email": (
        "email", "mail", "emailaddress", "primaryemail", "secondaryemail", "workemail",
        "homeemail", "correo", "correoelectronico", "courriel", "adressemail", "adresseemail",
        "emailadresse", "indirizzoemail", "emailadres",
    ),
    "number": (
        "number", "phone", "phonenumber", "mobile", "mobilenumber", "mobilephone",
        "mobilephonenumber", "cell", "cellphone", "telephone", "tel", "primaryphone",
        "businessphone", "workphone", "homephone", "contactnumber", "telefono", "movil",
        "celular", "portable", "telephoneportable", "telefon", "handy", "mobil",
        "telefonnummer", "handynummer", "telefone", "cellulare", "telefoon", "mobiel",
        "whatsapp", "telefonomovil", "telefonocelular", "numerodetelefono", "numerotelephone",
        "numerodetelephone", "mobiltelefon", "mobilnummer", "numerodecelular", "telemovel",
        "numerodetelefone", "telefonocellulare", "mobielnummer", "telefoonnummer",
    ),
    "carrier": ("carrier",),
    "name": (
        "name", "fullname", "displayname", "contactname", "nombrecompleto", "nomcomplet",
        "vollstandigername", "nomecompleto",
    ),
    "tags": ("tags", "tag", "labels", "groupmembership", "etiquetas", "etiquettes", "schlagworte"),
    "note": ("notes", "note", "comments", "comment", "notas", "remarques", "notizen", "opmerkingen",
             "description"),
}  # fmt: skip
# numbered columns as Google, Outlook and datablist write them: Phone 2, E-mail 1 - Value
_NUMBERED = {
    "email": re.compile(r"^e?mail(address)?\d*(value|address)?$|^email\d+address$"),
    "number": re.compile(r"^(phone(number)?|mobile|cell|telephone)\d*(value)?$"),
}
_CUSTOM_SYNONYMS = {
    "company": ("organization", "organisation", "companyname", "organization1name", "empresa",
                "societe", "entreprise", "firma", "unternehmen", "azienda", "bedrijf"),
}  # fmt: skip
_MOBILE_FIRST = re.compile(r"mobile|cell|movil|celular|portable|handy|mobil|cellulare|whatsapp")
_EMPTY = "empty in the rows read"
_ID = re.compile(r"^(index|id|(customer|account|contact|lead|record|user)id)$")  # not data
_WORD = re.compile(r"^[\w .&'/+-]{1,30}$")
_NUMBER = re.compile(r"^[-+]?[$€£]?\s?\d{1,3}([,.\s]?\d{3})*([.,]\d+)?\s?%?$")
_DATE = re.compile(
    r"^(\d{4}-\d\d-\d\d([ T].*)?|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}"
    r"|\d{1,2} \w+ \d{4}|\w+ \d{1,2}, \d{4})$"
)


def squash(header: str) -> str:
    """A header as it is compared: case, accents, spaces and punctuation gone."""
    decomposed = unicodedata.normalize("NFKD", header.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[\W_]+", "", plain)


@dataclass
class Choice:
    """Where some columns go in the mapping, and why."""

    target: str  # firstName ... carrier, name, note, tags, or customFields.<name>
    columns: list[str]
    reason: str
    split: str | None = None  # tags only


@dataclass
class Candidate:
    """A column left out, and what it might be."""

    column: str
    key: str  # the custom field key it would take
    hint: str


@dataclass
class Suggestion:
    """A mapping for a file, with the reason for each choice and what was left out."""

    source: str
    choices: list[Choice]
    left_out: list[Candidate]
    sampled: int
    notes: list[str] = field(default_factory=list)
    match: tuple[str, ...] | None = None  # --match, over the default (or the preset's)
    preset: str | None = None  # the file looks like this preset's export: it is the mapping

    @property
    def has_number(self) -> bool:
        return self.preset is not None or any(c.target == "number" for c in self.choices)

    def mapping(self) -> Mapping | None:
        """The mapping, or None when no column looks like a phone number."""
        if self.preset is not None:
            found = load_mapping(resolve_mapping(self.preset))
            return found.model_copy(update={"match": self.match}) if self.match else found
        if not self.has_number:
            return None
        return Mapping.model_validate(self._data())

    def _data(self) -> dict[str, object]:
        fields: dict[str, object] = {}
        data: dict[str, object] = {"version": 1, "fields": fields}
        custom: dict[str, object] = {}
        for choice in self.choices:
            value: object = choice.columns[0] if len(choice.columns) == 1 else choice.columns
            if choice.target == "tags":
                data["tags"] = [{"column": value, "split": choice.split or ";"}]
            elif choice.target in ("name", "note"):
                data[choice.target] = value
            elif choice.target.startswith("customFields."):
                custom[choice.target.removeprefix("customFields.")] = value
            else:
                fields[choice.target] = value
        if custom:
            data["customFields"] = custom
        data["match"] = list(self.match or ("number",))
        return data

    def yaml(self) -> str:
        """The mapping as YAML that `import` takes as it is, each choice commented with
        its reason, and every column left out listed, commented out, as a custom field
        it could become."""
        lines = [f"# Mapping suggested by bulk-sync for {self.source} ({self.sampled} rows read)"]
        lines += [f"# {note}" for note in self.notes]
        if self.preset is not None:
            lines.append(f"# It looks like an export the preset {self.preset!r} reads: here it is "
                         f"(`--mapping {self.preset}` takes it as well).")  # fmt: skip
            text = resolve_mapping(self.preset).read_text(encoding="utf-8")
            return "\n".join(lines) + "\n\n" + text
        lines += ["# Check each choice; then: bulk-sync validate FILE --mapping THIS.yaml", ""]
        lines += ["version: 1", "fields:"]
        by_target = {c.target: c for c in self.choices}
        for key in ("firstName", "lastName", "email", "number", "carrier"):
            if choice := by_target.get(key):
                lines.append(_line(f"  {key}: {_flow(choice.columns)}", choice.reason))
        for key in ("name", "note"):
            if choice := by_target.get(key):
                lines.append(_line(f"{key}: {_flow(choice.columns)}", choice.reason))
        if tags := by_target.get("tags"):
            split = _flow([tags.split or ";"])
            lines.append("tags:")
            entry = f"  - {{column: {_flow(tags.columns)}, split: {split}}}"
            lines.append(_line(entry, tags.reason))
        custom = [c for c in self.choices if c.target.startswith("customFields.")]
        if custom or self.left_out:
            lines.append("customFields:" if custom else "# customFields:")
        for choice in custom:
            key = choice.target.removeprefix("customFields.")
            lines.append(_line(f"  {_key(key)}: {_flow(choice.columns)}", choice.reason))
        if self.left_out:
            lines.append("  # Left out (uncomment a line to keep the column as that custom field;")
            lines.append("  # echowin stores a key it has no field for as text):")
        empty = [c.column for c in self.left_out if c.hint == _EMPTY]
        for candidate in self.left_out:
            if candidate.hint != _EMPTY:
                entry = f"  # {_key(candidate.key)}: {_flow([candidate.column])}"
                lines.append(_line(entry, candidate.hint))
        if empty:
            lines.append(f"  # Empty in the rows read: {', '.join(empty)}")
        lines.append(f"match: [{', '.join(self.match or ('number',))}]")
        return "\n".join(lines) + "\n"


def suggest(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]] = (),
    custom_fields: Iterable[CustomFieldSchema] = (),
    *,
    region: str = "US",
    source: str = "the file",
) -> Suggestion:
    """Match `headers` (and a sample of `rows`) to contact fields; see the module doc."""
    headers = [h.strip() for h in headers]
    sample = [list(r) for _, r in zip(range(SAMPLE_ROWS), rows, strict=False)]
    columns = [[r[i].strip() for r in sample if i < len(r) and r[i].strip()]
               for i in range(len(headers))]  # fmt: skip
    squashed = [squash(h) for h in headers]
    taken: set[int] = set()
    choices: list[Choice] = []

    def by_header(names: Iterable[str], pattern: re.Pattern[str] | None = None) -> list[int]:
        wanted = set(names)
        found = [
            i
            for i, s in enumerate(squashed)
            if i not in taken and s and (s in wanted or bool(pattern and pattern.match(s)))
        ]
        taken.update(found)
        return found

    def shown(found: list[int]) -> str:
        return ", ".join(repr(headers[i]) for i in found)

    for key in ("number", "email", "firstName", "lastName", "carrier"):
        found = by_header(_SYNONYMS[key], _NUMBERED.get(key))
        moved = False
        if key == "number":  # a mobile first: the number a receptionist can text
            ordered = sorted(found, key=lambda i: _MOBILE_FIRST.search(squashed[i]) is None)
            moved, found = ordered != found, ordered
        if found:
            reason = _header_reason(key, len(found), shown(found), mobile_first=moved)
            choices.append(Choice(key, [headers[i] for i in found], reason))
    by_content = {"number": _phone_share, "email": _email_share}
    for key, share in by_content.items():
        if any(c.target == key for c in choices):
            continue
        found = [
            i
            for i in range(len(headers))
            if i not in taken and share(columns[i], region) >= _MOSTLY
        ]
        if found:
            taken.update(found)
            percent = ", ".join(f"{share(columns[i], region):.0%} of {headers[i]!r}" for i in found)
            what = "valid phone numbers" if key == "number" else "email addresses"
            reason = f"by content: {percent} are {what}"
            if len(found) > 1:
                reason += "; each row takes the first valid one"
            choices.append(Choice(key, [headers[i] for i in found], reason))
    if found := by_header(_SYNONYMS["name"]):
        choices.append(Choice("name", [headers[i] for i in found],
                              f"header {shown(found)}: a full name, split where first and last "
                              "names are empty"))  # fmt: skip
    for schema in custom_fields:
        names = {squash(schema.name), squash(schema.label or ""),
                 *_CUSTOM_SYNONYMS.get(schema.name, ())} - {""}  # fmt: skip
        if found := by_header(names):
            label = f" ({schema.label})" if schema.label else ""
            choices.append(Choice(f"customFields.{schema.name}", [headers[found[0]]],
                                  f"the team's field {schema.name!r}{label}"))  # fmt: skip
    for schema in custom_fields:  # by its options: a column of `Manager`, `Employee`...
        if (
            schema.type != "select"
            or not schema.options
            or any(c.target == f"customFields.{schema.name}" for c in choices)
        ):
            continue
        options = {o.casefold() for o in schema.options}
        for i in range(len(headers)):
            values = columns[i]
            known = sum(v.casefold() in options for v in values)
            if i not in taken and values and known >= 0.8 * len(values):
                taken.add(i)
                choices.append(Choice(f"customFields.{schema.name}", [headers[i]],
                                      f"by content: its values are the options of the team's "
                                      f"select field {schema.name!r}"))  # fmt: skip
                break
    if found := by_header(_SYNONYMS["tags"]):
        split = " ::: " if squashed[found[0]] == "groupmembership" else ";"
        choices.append(Choice("tags", [headers[found[0]]], f"header {shown(found[:1])}",
                              split=split))  # fmt: skip
        taken.update(found)
    else:
        for i in range(len(headers)):
            if i not in taken and (by := _tag_split(columns[i])):
                taken.add(i)
                reason = f"by content: short words separated by {by!r} that repeat"
                choices.append(Choice("tags", [headers[i]], reason, split=by))
                break
    if found := by_header(_SYNONYMS["note"]):
        choices.append(Choice("note", [headers[found[0]]], f"header {shown(found[:1])}"))
        taken.update(found)
    left_out = [
        Candidate(
            headers[i],
            _field_key(headers[i]),
            "an id of the file's own: echowin makes its own"
            if _ID.match(squashed[i])
            else _hint(columns[i]),
        )
        for i in range(len(headers))
        if i not in taken and headers[i]
    ]
    return Suggestion(source, choices, left_out, len(sample), preset=looks_like(headers))


def looks_like(headers: Sequence[str]) -> str | None:
    """The preset whose export this is: every column it reads is in the file (at least
    four of them), the one reading the most when several do."""
    best: tuple[int, str] | None = None
    for name in preset_names():
        try:
            bound = load_mapping(resolve_mapping(name)).bind(list(headers))
        except InputError:
            continue
        used = len({i for found in bound.columns.values() for i in found})
        if used >= 4 and (best is None or used > best[0]):
            best = (used, name)
    return best[1] if best else None


def sample_rows(source: Source, count: int = SAMPLE_ROWS) -> list[list[str]]:
    """The first `count` data rows of an opened source (read apart from the run's pass)."""
    for chunk in source.chunks(count):
        return chunk.rows
    return []


def suggest_mapping(
    headers: list[str], custom_fields: Iterable[CustomFieldSchema] = ()
) -> Mapping | None:
    """A mapping for `headers` alone, or None when no column looks like a phone number."""
    return suggest(headers, (), custom_fields).mapping()


def _header_reason(key: str, count: int, names: str, *, mobile_first: bool = False) -> str:
    if count > 1 and key in ("number", "email"):
        first = "the mobile first; " if mobile_first else ""
        return f"headers {names}: {first}each row takes the first valid one"
    if count > 1:
        return f"headers {names}: each row takes the first that holds a value"
    return f"header {names}"


def _phone_share(values: list[str], region: str) -> float:
    if not values:
        return 0.0
    return sum(not isinstance(read_number(v, region), str) for v in values) / len(values)


def _email_share(values: list[str], region: str) -> float:
    if not values:
        return 0.0
    return sum(EMAIL.match(v.casefold()) is not None for v in values) / len(values)


def _tag_split(values: list[str]) -> str | None:
    """`;` or `,` when the values are lists of short words that repeat across rows."""
    for split in (";", ","):
        lists = [[w.strip() for w in v.split(split) if w.strip()] for v in values]
        words = [w for items in lists for w in items]
        if (
            len(values) >= 5
            and sum(len(items) > 1 for items in lists) >= 0.2 * len(values)
            and all(_WORD.match(w) for w in words)
            and len(set(w.casefold() for w in words)) <= 0.3 * len(words)
        ):
            return split
    return None


def _hint(values: list[str]) -> str:
    """What a left-out column looks like: a select (few values), dates, or text."""
    if not values:
        return _EMPTY
    distinct = Counter(values)
    if sum(bool(_DATE.match(v)) for v in values) >= 0.8 * len(values):
        return "dates: a date field (echowin takes YYYY-MM-DD)"
    if sum(bool(_NUMBER.match(v)) for v in values) >= 0.8 * len(values):
        return "numbers: a number field"
    if len(values) >= 10 and len(distinct) <= min(12, len(values) // 3):
        top = ", ".join(v for v, _ in distinct.most_common(4))
        more = ", ..." if len(distinct) > 4 else ""
        return f"{len(distinct)} values repeat ({top}{more}): a select field?"
    return f"e.g. {values[0][:40]!r}"


def _field_key(header: str) -> str:
    """A custom field key from a header: `Deal Stage` → `deal_stage`."""
    decomposed = unicodedata.normalize("NFKD", header.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"\W+", "_", plain).strip("_") or "field"


def _flow(columns: list[str]) -> str:
    """Column names as YAML flow: `Phone` or `[Phone 1, Phone 2]`, quoted where needed."""
    quoted = [_scalar(c) for c in columns]
    return quoted[0] if len(quoted) == 1 else "[" + ", ".join(quoted) + "]"


def _scalar(text: str) -> str:
    import yaml

    dumped = yaml.safe_dump(text, default_flow_style=True, allow_unicode=True, width=1 << 16)
    return dumped.removesuffix("\n...\n").strip()


def _key(key: str) -> str:
    return _scalar(key)


def _line(entry: str, reason: str) -> str:
    return f"{entry}  # {reason}".replace("\n", " ")
