"""Typed echowin objects as the client returns them, and typed bodies it sends.

Built from the API reference (`../shared/reference/`), not from the sandbox's code:
the client and the sandbox must not share one reading of the contract. Unknown
fields in responses are ignored, so a richer server does not break the client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson
from pydantic import AliasGenerator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

_CAMEL = AliasGenerator(validation_alias=to_camel, serialization_alias=to_camel)


class ApiModel(BaseModel):
    """Read from camelCase JSON, written back as camelCase; frozen, extra keys ignored."""

    model_config = ConfigDict(
        alias_generator=_CAMEL, populate_by_name=True, extra="ignore", frozen=True
    )


class TagRef(ApiModel):
    id: str
    name: str
    color: str | None = None


class Tag(TagRef):
    contact_count: int = 0
    created_at: str | None = None
    updated_at: str | None = None


class Stage(ApiModel):
    id: str
    name: str


class User(ApiModel):
    id: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    picture: str | None = None


class Note(ApiModel):
    id: str
    note: str
    type: str = "GENERAL"
    created_at: str | None = None
    creator: User | None = None


class Contact(ApiModel):
    id: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    number: str | None = None
    carrier: str | None = None
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    tags: list[TagRef] = Field(default_factory=list)
    crm_stage: Stage | None = None
    created_at: str | None = None


class ContactDetail(Contact):
    notes: list[Note] = Field(default_factory=list)


class CustomFieldSchema(ApiModel):
    id: str
    name: str
    label: str | None = None
    type: str = "text"
    required: bool = False
    placeholder: str | None = None
    help_text: str | None = None
    options: list[str] | None = None
    order: int | None = None


class Pagination(ApiModel):
    page: int
    limit: int
    total_count: int
    total_pages: int


class ContactPage(ApiModel):
    """One page of `GET /api/v1/contacts`, with the team's schemas and tags."""

    data: list[Contact]
    pagination: Pagination
    custom_field_schemas: list[CustomFieldSchema] = Field(default_factory=list)
    available_tags: list[TagRef] = Field(default_factory=list)


class Listed(NamedTuple):
    """A contact as a page of the listing holds it, without a model built for it (the
    export's fast path: a model costs more than writing the row): `id` and
    `created_at`, which paging needs, are checked; `fields` is the JSON object as sent,
    which its reader checks as it reads."""

    id: str
    created_at: str | None
    fields: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ListedPage:
    """A page of `GET /api/v1/contacts` as `Listed` contacts."""

    data: list[Listed]
    pagination: Pagination


def listed_page(body: bytes) -> ListedPage:
    """A listing's body read as a `ListedPage`; ValueError when it is not one."""
    page = orjson.loads(body)
    if type(page) is not dict or type(page.get("data")) is not list:
        raise ValueError("no data list")
    pagination = Pagination.model_validate(page.get("pagination"))
    try:
        data = [Listed(c["id"], c.get("createdAt"), c) for c in page["data"]]
    except (KeyError, TypeError, AttributeError):
        raise ValueError("a contact that is not an object with an id") from None
    if not all(type(c.id) is str and type(c.created_at) in _TEXT_OR_NONE for c in data):
        raise ValueError("a contact whose id or createdAt is not text")
    return ListedPage(data, pagination)


_TEXT_OR_NONE = (str, type(None))


class ContactWithContext(ApiModel):
    """`GET /api/v1/contacts/{id}`: the contact, its notes, the team's schemas and tags."""

    data: ContactDetail
    custom_field_schemas: list[CustomFieldSchema] = Field(default_factory=list)
    available_tags: list[TagRef] = Field(default_factory=list)


class BulkSummary(ApiModel):
    requested: int
    created: int
    errors: int


class Assignment(ApiModel):
    id: str
    contact_id: str
    user_id: str
    assigned_at: str | None = None
    user: User | None = None


class BoardRef(ApiModel):
    id: str
    name: str


class Board(BoardRef):
    description: str | None = None
    custom_field_schema: dict[str, Any] | None = None
    contact_count: int = 0
    created_at: str | None = None
    updated_at: str | None = None


class BoardChange(ApiModel):
    message: str
    boards: list[BoardRef] = Field(default_factory=list)
    removed_from: int = 0
    added_to: int = 0


# -- request bodies -------------------------------------------------------------------


class NoteDraft(ApiModel):
    note: str
    type: str | None = None


class NewContact(ApiModel):
    """A contact to create (`POST /api/v1/contacts` or one item of a bulk request)."""

    number: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    carrier: str | None = None
    custom_fields: dict[str, Any] | None = None
    tag_ids: list[str] | None = None
    tag_names: list[str] | None = None
    note: NoteDraft | None = None
    assign_user_ids: list[str] | None = None
    board_ids: list[str] | None = None

    def body(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


class ContactChanges(ApiModel):
    """Fields to change on `PUT /api/v1/contacts/{id}`; only the fields set are sent."""

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    number: str | None = None
    carrier: str | None = None
    custom_fields: dict[str, Any] | None = None
    crm_stage_id: str | None = None
    tag_ids: list[str] | None = None
    tag_names: list[str] | None = None

    def body(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_unset=True)
