"""The echowin Contacts API routes (`/api/v1`): parse, call the store, serialize.

Authentication and rate limits happen before a request gets here (see gateway.py),
which leaves the caller's team id in the request state.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, Security
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ValidationError

from . import schemas as s
from .models import ContactInput, FieldError, InvalidInput
from .store import Store
from .ties import TieOrder

MAX_LIMIT = 100

# Declared for the OpenAPI description; the gateway does the checking.
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False)


def _single_valued_query(request: Request) -> None:
    """Refuse a query parameter given twice: which one was meant is anyone's guess."""
    names = [name for name, _ in request.query_params.multi_items()]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InvalidInput([FieldError(n, "Give this parameter once") for n in repeated])


router = APIRouter(
    prefix="/api/v1", dependencies=[Security(_api_key), Depends(_single_valued_query)]
)


def _store(request: Request) -> Store:
    store: Store = request.app.state.sandbox.store
    return store


def _team(request: Request) -> str:
    team_id: str = request.state.team_id
    return team_id


def _tie_order(request: Request) -> TieOrder | None:
    """A fresh order for rows that tie, when the sandbox runs with unstable ties."""
    order: TieOrder | None = request.app.state.sandbox.ties.draw()
    return order


StoreDep = Annotated[Store, Depends(_store)]
TeamDep = Annotated[str, Depends(_team)]
TiesDep = Annotated[TieOrder | None, Depends(_tie_order)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": s.ErrorOut}}
INVALID: dict[int | str, dict[str, Any]] = {400: {"model": s.ErrorOut}}


def _json(model: BaseModel, status_code: int = 200) -> Response:
    """The response, serialized once; `response_model` on each route only documents it."""
    return Response(model.model_dump_json(), status_code=status_code, media_type="application/json")


def _schemas(store: Store, team: str) -> list[s.SchemaSummaryOut]:
    return [s.schema_summary_out(f) for f in store.custom_fields.all(team)]


def _tags(store: Store, team: str) -> list[s.TagRefOut]:
    return [s.tag_ref_out(t) for t in store.tags.refs(team)]


# -- contacts -------------------------------------------------------------------------


@router.get("/contacts", response_model=s.ContactListOut, responses=INVALID)
def list_contacts(
    store: StoreDep,
    team: TeamDep,
    ties: TiesDep,
    page: Annotated[int, Query(ge=1)] = 1,
    limit: Annotated[int, Query(ge=1, description="At most 100; more is read as 100")] = 20,
    search: str | None = None,
    sortBy: Literal["createdAt", "firstName", "lastName", "email", "number"] = "createdAt",
    sortOrder: Literal["asc", "desc"] = "desc",
    tagIds: Annotated[str | None, Query(description="Comma-separated; any of them")] = None,
) -> Response:
    """A page of the team's contacts."""
    limit = min(limit, MAX_LIMIT)
    tag_ids = [t.strip() for t in (tagIds or "").split(",") if t.strip()]
    result = store.contacts.page(
        team,
        page=page,
        limit=limit,
        search=search,
        sort_by=sortBy,
        sort_order=sortOrder,
        tag_ids=tag_ids,
        ties=ties,
    )
    return _json(
        s.ContactListOut(
            data=[s.contact_out(c) for c in result.contacts],
            pagination=s.PaginationOut(
                page=result.page,
                limit=result.limit,
                totalCount=result.total_count,
                totalPages=math.ceil(result.total_count / result.limit),
            ),
            customFieldSchemas=_schemas(store, team),
            availableTags=_tags(store, team),
        )
    )


@router.post("/contacts", status_code=201, response_model=s.ContactWriteOut, responses=INVALID)
def create_contact(body: s.ContactIn, store: StoreDep, team: TeamDep) -> Response:
    contact = store.contacts.create(team, body.to_input())
    return _json(
        s.ContactWriteOut(data=s.contact_out(contact), message="Contact created successfully"), 201
    )


@router.post("/contacts/bulk", status_code=201, response_model=s.BulkOut, responses=INVALID)
def bulk_create(body: s.BulkIn, store: StoreDep, team: TeamDep) -> Response:
    """Create up to 100 contacts; the summary counts the ones that failed, not which."""
    summary = store.contacts.bulk_create(team, [_bulk_item(item) for item in body.contacts])
    return _json(
        s.BulkOut(
            message="Bulk contact creation completed",
            summary=s.BulkSummaryOut(
                requested=summary.requested, created=summary.created, errors=summary.errors
            ),
        ),
        201,
    )


def _bulk_item(item: Any) -> ContactInput | None:
    try:
        return s.ContactIn.model_validate(item).to_input()
    except ValidationError:
        return None


@router.get("/contacts/custom-fields", response_model=s.CustomFieldsOut)
def custom_fields(store: StoreDep, team: TeamDep) -> Response:
    return _json(
        s.CustomFieldsOut(data=[s.custom_field_out(f) for f in store.custom_fields.all(team)])
    )


@router.get("/contacts/{contactId}", response_model=s.ContactGetOut, responses=NOT_FOUND)
def get_contact(contactId: str, store: StoreDep, team: TeamDep) -> Response:
    contact = store.contacts.get(team, contactId, with_notes=True)
    return _json(
        s.ContactGetOut(
            data=s.contact_detail_out(contact),
            customFieldSchemas=_schemas(store, team),
            availableTags=_tags(store, team),
        )
    )


@router.put(
    "/contacts/{contactId}", response_model=s.ContactWriteOut, responses={**NOT_FOUND, **INVALID}
)
def update_contact(
    contactId: str, body: s.ContactUpdateIn, store: StoreDep, team: TeamDep
) -> Response:
    contact = store.contacts.update(team, contactId, body.to_input())
    return _json(
        s.ContactWriteOut(data=s.contact_out(contact), message="Contact updated successfully")
    )


@router.delete("/contacts/{contactId}", response_model=s.MessageOut, responses=NOT_FOUND)
def delete_contact(contactId: str, store: StoreDep, team: TeamDep) -> Response:
    store.contacts.delete(team, contactId)
    return _json(s.MessageOut(message="Contact deleted successfully"))


# -- notes ----------------------------------------------------------------------------


@router.get("/contacts/{contactId}/notes", response_model=s.NotesOut, responses=NOT_FOUND)
def list_notes(contactId: str, store: StoreDep, team: TeamDep) -> Response:
    return _json(s.NotesOut(data=[s.note_out(n) for n in store.notes.for_contact(team, contactId)]))


@router.post(
    "/contacts/{contactId}/notes",
    status_code=201,
    response_model=s.NoteCreatedOut,
    responses={**NOT_FOUND, **INVALID},
)
def create_note(contactId: str, body: s.NoteIn, store: StoreDep, team: TeamDep) -> Response:
    note = store.notes.add(team, contactId, body.note, body.type)
    return _json(s.NoteCreatedOut(data=s.note_out(note), message="Note created successfully"), 201)


# -- assignments ----------------------------------------------------------------------


@router.get(
    "/contacts/{contactId}/assignments", response_model=s.AssignmentsOut, responses=NOT_FOUND
)
def list_assignments(contactId: str, store: StoreDep, team: TeamDep) -> Response:
    assigned = store.assignments.for_contact(team, contactId)
    return _json(s.AssignmentsOut(data=[s.assignment_out(a) for a in assigned]))


@router.post(
    "/contacts/{contactId}/assignments",
    status_code=201,
    response_model=s.AssignmentsChangedOut,
    responses={**NOT_FOUND, **INVALID},
)
def add_assignments(contactId: str, body: s.UserIdsIn, store: StoreDep, team: TeamDep) -> Response:
    added = store.assignments.assign(team, contactId, body.userIds, replace=False)
    return _json(
        s.AssignmentsChangedOut(
            data=[s.assignment_out(a) for a in added], message=f"Added {len(added)} assignment(s)"
        ),
        201,
    )


@router.put(
    "/contacts/{contactId}/assignments",
    response_model=s.AssignmentsChangedOut,
    responses={**NOT_FOUND, **INVALID},
)
def replace_assignments(
    contactId: str, body: s.UserIdsIn, store: StoreDep, team: TeamDep
) -> Response:
    every = store.assignments.assign(team, contactId, body.userIds, replace=True)
    return _json(
        s.AssignmentsChangedOut(
            data=[s.assignment_out(a) for a in every], message="Assignments updated successfully"
        )
    )


# -- boards ---------------------------------------------------------------------------


@router.get("/contacts/{contactId}/boards", response_model=s.BoardsOut, responses=NOT_FOUND)
def contact_boards(contactId: str, store: StoreDep, team: TeamDep) -> Response:
    return _json(
        s.BoardsOut(data=[s.board_out(b) for b in store.boards.for_contact(team, contactId)])
    )


@router.post(
    "/contacts/{contactId}/boards",
    response_model=s.BoardChangeOut,
    responses={**NOT_FOUND, **INVALID},
)
def add_boards(contactId: str, body: s.BoardIdsIn, store: StoreDep, team: TeamDep) -> Response:
    change = store.boards.place(team, contactId, body.boardIds, replace=False)
    return _json(
        s.BoardChangeOut(
            data=s.BoardChangeData(
                message=f"Contact assigned to {len(change.boards)} boards successfully",
                boards=[s.board_ref_out(b) for b in change.boards],
            )
        )
    )


@router.put(
    "/contacts/{contactId}/boards",
    response_model=s.BoardChangeOut,
    responses={**NOT_FOUND, **INVALID},
)
def replace_boards(contactId: str, body: s.BoardIdsIn, store: StoreDep, team: TeamDep) -> Response:
    change = store.boards.place(team, contactId, body.boardIds, replace=True)
    return _json(
        s.BoardChangeOut(
            data=s.BoardChangeData(
                message="Contact board assignments updated successfully",
                removedFrom=change.removed_from,
                addedTo=change.added_to,
                boards=[s.board_ref_out(b) for b in change.boards],
            )
        )
    )


@router.delete("/contacts/{contactId}/boards", response_model=s.BoardChangeOut, responses=NOT_FOUND)
def remove_boards(contactId: str, store: StoreDep, team: TeamDep) -> Response:
    change = store.boards.place(team, contactId, None, replace=True)
    return _json(
        s.BoardChangeOut(
            data=s.BoardChangeData(
                message="Contact removed from all boards successfully",
                removedFrom=change.removed_from,
            )
        )
    )


@router.get("/boards", response_model=s.BoardsOut)
def list_boards(store: StoreDep, team: TeamDep) -> Response:
    return _json(s.BoardsOut(data=[s.board_out(b) for b in store.boards.all(team)]))


# -- tags -----------------------------------------------------------------------------


@router.get("/tags", response_model=s.TagsOut)
def list_tags(store: StoreDep, team: TeamDep) -> Response:
    return _json(s.TagsOut(data=[s.tag_out(t) for t in store.tags.all(team)]))


@router.post("/tags", status_code=201, response_model=s.TagCreatedOut, responses=INVALID)
def create_tag(body: s.TagIn, store: StoreDep, team: TeamDep) -> Response:
    tag = store.tags.create(team, body.name, body.color)
    return _json(
        s.TagCreatedOut(
            data=s.TagCreatedData(
                id=tag.id,
                name=tag.name,
                color=tag.color,
                createdAt=tag.created_at,
                updatedAt=tag.updated_at,
            ),
            message="Tag created successfully",
        ),
        201,
    )
