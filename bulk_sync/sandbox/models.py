"""The sandbox's domain objects and the errors its store raises.

Plain dataclasses: the store returns them, the routes turn them into JSON. Nothing
here knows about HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

NOTE_TYPES = ("GENERAL", "INFO", "WARNING", "DANGER")
DEFAULT_TAG_COLOR = "#3B82F6"


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class StoreError(Exception):
    """A request the store refuses; `message` is what the API shows the client."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(StoreError):
    """The named resource does not exist in the caller's team."""


class InvalidInput(StoreError):
    """One or more fields failed validation; every failing field is in `details`."""

    def __init__(self, details: list[FieldError]) -> None:
        super().__init__("Validation error")
        self.details = details


@dataclass(frozen=True)
class User:
    id: str
    first_name: str
    last_name: str
    email: str
    picture: str | None = None


@dataclass(frozen=True)
class TagRef:
    id: str
    name: str
    color: str


@dataclass(frozen=True)
class Tag:
    id: str
    name: str
    color: str
    contact_count: int
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class StageRef:
    id: str
    name: str


@dataclass(frozen=True)
class Note:
    id: str
    note: str
    type: str
    created_at: str
    creator: User


@dataclass(frozen=True)
class Contact:
    id: str
    first_name: str | None
    last_name: str | None
    email: str | None
    number: str
    carrier: str | None
    custom_fields: dict[str, Any]
    tags: list[TagRef]
    crm_stage: StageRef | None
    created_at: str
    notes: list[Note] | None = None


@dataclass(frozen=True)
class ContactPage:
    contacts: list[Contact]
    page: int
    limit: int
    total_count: int


@dataclass(frozen=True)
class Assignment:
    id: str
    contact_id: str
    user_id: str
    assigned_at: str
    user: User


@dataclass(frozen=True)
class BoardRef:
    id: str
    name: str


@dataclass(frozen=True)
class Board:
    id: str
    name: str
    description: str | None
    custom_field_schema: dict[str, Any] | None
    contact_count: int
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class CustomFieldSchema:
    id: str
    name: str
    label: str
    type: str
    required: bool
    placeholder: str | None = None
    help_text: str | None = None
    options: list[str] | None = None
    order: int = 0


@dataclass(frozen=True)
class BulkSummary:
    requested: int
    created: int
    errors: int


@dataclass(frozen=True)
class BoardChange:
    boards: list[BoardRef]
    removed_from: int = 0
    added_to: int = 0


@dataclass(frozen=True)
class TeamInfo:
    team_id: str
    api_key: str
    users: list[User]
    crm_stages: list[StageRef]


@dataclass
class ContactInput:
    """A contact as a client sent it, after JSON type checks, before content checks.

    `fields_set` names the fields the client sent (an update touches only those).
    """

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    number: str | None = None
    carrier: str | None = None
    custom_fields: dict[str, Any] | None = None
    crm_stage_id: str | None = None
    tag_ids: list[str] | None = None
    tag_names: list[str] | None = None
    note: str | None = None
    note_type: str | None = None
    assign_user_ids: list[str] | None = None
    board_ids: list[str] | None = None
    fields_set: frozenset[str] = field(default_factory=frozenset)
