"""The API's JSON shapes: request bodies in, response envelopes out.

Field names are echowin's (camelCase), so these models double as the sandbox's
OpenAPI description. Request models check JSON types only; what a value means
(a valid email, an existing tag) is the store's business.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from . import models as m


def _encodable(text: str) -> str:
    # JSON may carry lone surrogates ("\ud800"), which no database can store.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("Text must be valid Unicode") from None
    return text


Text = Annotated[str, AfterValidator(_encodable)]


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore")


# Described in the OpenAPI document but checked by the store, in echowin's words.
_NOT_BLANK: JsonDict = {"pattern": r"\S"}
_EMAIL: JsonDict = {"pattern": r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$"}
_NUMBER: JsonDict = {"pattern": "[0-9]"}
_COLOR: JsonDict = {"pattern": "^#[0-9A-Fa-f]{6}$"}


class NoteIn(_In):
    note: Text = Field(json_schema_extra=_NOT_BLANK)
    type: Text | None = Field(default=None, json_schema_extra={"enum": [*m.NOTE_TYPES, None]})


class ContactIn(_In):
    # `number` is required, but a missing one is the store's to report, in its words.
    model_config = ConfigDict(extra="ignore", json_schema_extra={"required": ["number"]})

    firstName: Text | None = None
    lastName: Text | None = None
    email: Text | None = Field(default=None, json_schema_extra=_EMAIL)
    number: Text | None = Field(
        default=None,
        description="Cleaned to its digits and one leading +",
        json_schema_extra=_NUMBER,
    )
    carrier: Text | None = None
    customFields: dict[Text, Any] | None = None
    tagIds: list[Text] | None = None
    tagNames: list[Text] | None = None
    note: NoteIn | None = None
    assignUserIds: list[Text] | None = None
    boardIds: list[Text] | None = None

    def to_input(self) -> m.ContactInput:
        return m.ContactInput(
            first_name=self.firstName,
            last_name=self.lastName,
            email=self.email,
            number=self.number,
            carrier=self.carrier,
            custom_fields=self.customFields,
            tag_ids=self.tagIds,
            tag_names=self.tagNames,
            note=None if self.note is None else self.note.note,
            note_type=None if self.note is None else self.note.type,
            assign_user_ids=self.assignUserIds,
            board_ids=self.boardIds,
        )


class ContactUpdateIn(_In):
    firstName: Text | None = None
    lastName: Text | None = None
    email: Text | None = Field(default=None, json_schema_extra=_EMAIL)
    number: Text | None = Field(default=None, json_schema_extra=_NUMBER)
    carrier: Text | None = None
    customFields: dict[Text, Any] | None = None
    crmStageId: Text | None = None
    tagIds: list[Text] | None = None
    tagNames: list[Text] | None = None

    def to_input(self) -> m.ContactInput:
        sent = {_SNAKE[name] for name in self.model_fields_set}
        return m.ContactInput(
            first_name=self.firstName,
            last_name=self.lastName,
            email=self.email,
            number=self.number,
            carrier=self.carrier,
            custom_fields=self.customFields,
            crm_stage_id=self.crmStageId,
            tag_ids=self.tagIds,
            tag_names=self.tagNames,
            fields_set=frozenset(sent),
        )


_SNAKE = {
    "firstName": "first_name",
    "lastName": "last_name",
    "email": "email",
    "number": "number",
    "carrier": "carrier",
    "customFields": "custom_fields",
    "crmStageId": "crm_stage_id",
    "tagIds": "tag_ids",
    "tagNames": "tag_names",
}


class BulkIn(_In):
    # Items are checked one by one: a malformed item is counted as an error, not fatal,
    # so the description promises no more of an item than the server checks up front.
    contacts: list[Any] = Field(
        min_length=1,
        max_length=100,
        description="Contact objects as for POST /api/v1/contacts (ContactIn)",
    )


class UserIdsIn(_In):
    userIds: list[Text]


class BoardIdsIn(_In):
    boardIds: list[Text]


class TagIn(_In):
    name: Text = Field(json_schema_extra=_NOT_BLANK)
    color: Text | None = Field(default=None, json_schema_extra=_COLOR)


# -- responses ------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    field: str
    message: str


class ErrorOut(BaseModel):
    error: str
    details: list[ErrorDetail] | None = None


class MessageOut(BaseModel):
    message: str


class TagRefOut(BaseModel):
    id: str
    name: str
    color: str


class StageOut(BaseModel):
    id: str
    name: str


class UserOut(BaseModel):
    id: str
    firstName: str
    lastName: str
    email: str
    picture: str | None = None


class NoteOut(BaseModel):
    id: str
    note: str
    type: str
    createdAt: str
    creator: UserOut


class ContactOut(BaseModel):
    id: str
    firstName: str | None
    lastName: str | None
    email: str | None
    number: str
    carrier: str | None
    customFields: dict[str, Any]
    tags: list[TagRefOut]
    crmStage: StageOut | None
    createdAt: str


class ContactDetailOut(ContactOut):
    notes: list[NoteOut]


def _omit_none() -> Any:
    # optional keys are left out, as in echowin's examples, rather than sent as null
    return Field(default=None, exclude_if=lambda value: value is None)


class SchemaSummaryOut(BaseModel):
    id: str
    name: str
    label: str
    type: str
    required: bool
    options: list[str] | None = _omit_none()


class CustomFieldOut(BaseModel):
    id: str
    name: str
    label: str
    type: str
    required: bool
    placeholder: str | None = _omit_none()
    helpText: str | None = _omit_none()
    options: list[str] | None = _omit_none()
    order: int


class PaginationOut(BaseModel):
    page: int
    limit: int
    totalCount: int
    totalPages: int


class ContactListOut(BaseModel):
    data: list[ContactOut]
    pagination: PaginationOut
    customFieldSchemas: list[SchemaSummaryOut]
    availableTags: list[TagRefOut]


class ContactGetOut(BaseModel):
    data: ContactDetailOut
    customFieldSchemas: list[SchemaSummaryOut]
    availableTags: list[TagRefOut]


class ContactWriteOut(BaseModel):
    data: ContactOut
    message: str


class BulkSummaryOut(BaseModel):
    requested: int
    created: int
    errors: int


class BulkOut(BaseModel):
    message: str
    summary: BulkSummaryOut


class NotesOut(BaseModel):
    data: list[NoteOut]


class NoteCreatedOut(BaseModel):
    data: NoteOut
    message: str


class AssignmentOut(BaseModel):
    id: str
    contactId: str
    userId: str
    assignedAt: str
    user: UserOut


class AssignmentsOut(BaseModel):
    data: list[AssignmentOut]


class AssignmentsChangedOut(BaseModel):
    data: list[AssignmentOut]
    message: str


class BoardOut(BaseModel):
    id: str
    name: str
    description: str | None
    customFieldSchema: dict[str, Any] | None
    contactCount: int
    createdAt: str
    updatedAt: str


class BoardsOut(BaseModel):
    data: list[BoardOut]


class BoardRefOut(BaseModel):
    id: str
    name: str


class BoardChangeData(BaseModel):
    message: str
    boards: list[BoardRefOut] | None = _omit_none()
    removedFrom: int | None = _omit_none()
    addedTo: int | None = _omit_none()


class BoardChangeOut(BaseModel):
    data: BoardChangeData


class TagOut(BaseModel):
    id: str
    name: str
    color: str
    contactCount: int
    createdAt: str
    updatedAt: str


class TagsOut(BaseModel):
    data: list[TagOut]


class TagCreatedData(BaseModel):
    id: str
    name: str
    color: str
    createdAt: str
    updatedAt: str


class TagCreatedOut(BaseModel):
    data: TagCreatedData
    message: str


class CustomFieldsOut(BaseModel):
    data: list[CustomFieldOut]


# -- domain -> response ---------------------------------------------------------------


def user_out(u: m.User) -> UserOut:
    return UserOut(
        id=u.id, firstName=u.first_name, lastName=u.last_name, email=u.email, picture=u.picture
    )


def note_out(n: m.Note) -> NoteOut:
    return NoteOut(
        id=n.id, note=n.note, type=n.type, createdAt=n.created_at, creator=user_out(n.creator)
    )


def contact_out(c: m.Contact) -> ContactOut:
    return ContactOut(
        id=c.id,
        firstName=c.first_name,
        lastName=c.last_name,
        email=c.email,
        number=c.number,
        carrier=c.carrier,
        customFields=c.custom_fields,
        tags=[tag_ref_out(t) for t in c.tags],
        crmStage=None
        if c.crm_stage is None
        else StageOut(id=c.crm_stage.id, name=c.crm_stage.name),
        createdAt=c.created_at,
    )


def contact_detail_out(c: m.Contact) -> ContactDetailOut:
    return ContactDetailOut(
        **contact_out(c).model_dump(), notes=[note_out(n) for n in c.notes or ()]
    )


def tag_ref_out(t: m.TagRef) -> TagRefOut:
    return TagRefOut(id=t.id, name=t.name, color=t.color)


def schema_summary_out(s: m.CustomFieldSchema) -> SchemaSummaryOut:
    return SchemaSummaryOut(
        id=s.id, name=s.name, label=s.label, type=s.type, required=s.required, options=s.options
    )


def custom_field_out(s: m.CustomFieldSchema) -> CustomFieldOut:
    return CustomFieldOut(
        id=s.id,
        name=s.name,
        label=s.label,
        type=s.type,
        required=s.required,
        placeholder=s.placeholder,
        helpText=s.help_text,
        options=s.options,
        order=s.order,
    )


def assignment_out(a: m.Assignment) -> AssignmentOut:
    return AssignmentOut(
        id=a.id,
        contactId=a.contact_id,
        userId=a.user_id,
        assignedAt=a.assigned_at,
        user=user_out(a.user),
    )


def board_out(b: m.Board) -> BoardOut:
    return BoardOut(
        id=b.id,
        name=b.name,
        description=b.description,
        customFieldSchema=b.custom_field_schema,
        contactCount=b.contact_count,
        createdAt=b.created_at,
        updatedAt=b.updated_at,
    )


def board_ref_out(b: m.BoardRef) -> BoardRefOut:
    return BoardRefOut(id=b.id, name=b.name)


def tag_out(t: m.Tag) -> TagOut:
    return TagOut(
        id=t.id,
        name=t.name,
        color=t.color,
        contactCount=t.contact_count,
        createdAt=t.created_at,
        updatedAt=t.updated_at,
    )
