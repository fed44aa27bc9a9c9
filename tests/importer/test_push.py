"""Rules of the pusher's reconciliation, on stand-ins for the listing endpoint.

Each stand-in is a `ContactsApi` (typed: no `type: ignore`); the methods a test does
not need raise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, MutableSet, Sequence
from pathlib import Path

import pytest

from bulk_sync.client.models import (
    Assignment,
    Board,
    BoardChange,
    BulkSummary,
    Contact,
    ContactChanges,
    ContactPage,
    ContactWithContext,
    NewContact,
    Note,
    Pagination,
    Tag,
)
from bulk_sync.client.pagination import ContactPager
from bulk_sync.errors import FatalApiError, FieldProblem, OutcomeUnknown, ValidationFailed
from bulk_sync.importer.outcomes import Fence, RowOutcome
from bulk_sync.importer.push import Pusher, TagResolver
from bulk_sync.importer.reports import ReportWriter


class StandIn:
    """A ContactsApi whose contacts are `pages` (newest first), served as they are."""

    def __init__(self, pages: list[list[Contact]]) -> None:
        self.pages = pages
        self.singles = 0

    def list_contacts(
        self,
        *,
        page: int = 1,
        limit: int = 100,
        search: str | None = None,
        sort_by: str = "createdAt",
        sort_order: str = "desc",
        tag_ids: Sequence[str] = (),
    ) -> ContactPage:
        data = self.pages[page - 1] if page <= len(self.pages) else []
        if limit == 1:
            data = data[:1]
        total = sum(len(p) for p in self.pages)
        pagination = Pagination(page=page, limit=limit, total_count=total,
                                total_pages=len(self.pages))  # fmt: skip
        return ContactPage(data=data, pagination=pagination)

    def iter_contacts(
        self,
        *,
        search: str | None = None,
        tag_ids: Sequence[str] = (),
        sort_by: str = "createdAt",
        sort_order: str = "asc",
        stop: Callable[[Contact], bool] | None = None,
        seen: MutableSet[str] | None = None,
    ) -> ContactPager:
        return ContactPager(lambda page: self.list_contacts(page=page), stop=stop, seen=seen)

    def get_contact(self, contact_id: str) -> ContactWithContext:
        raise NotImplementedError

    def create_contact(
        self, contact: NewContact, *, before_send: Callable[[], None] | None = None
    ) -> Contact:
        raise NotImplementedError

    def bulk_create(
        self, contacts: Sequence[NewContact], *, before_send: Callable[[], None] | None = None
    ) -> BulkSummary:
        raise NotImplementedError

    def update_contact(self, contact_id: str, changes: ContactChanges) -> Contact:
        raise NotImplementedError

    def delete_contact(self, contact_id: str) -> None:
        raise NotImplementedError

    def add_note(self, contact_id: str, note: str, note_type: str | None = None) -> Note:
        raise NotImplementedError

    def assignments(self, contact_id: str) -> list[Assignment]:
        raise NotImplementedError

    def contact_boards(self, contact_id: str) -> list[Board]:
        raise NotImplementedError

    def assign_users(
        self, contact_id: str, user_ids: Iterable[str], *, replace: bool = False
    ) -> list[Assignment]:
        raise NotImplementedError

    def place_on_boards(
        self, contact_id: str, board_ids: Iterable[str], *, replace: bool = False
    ) -> BoardChange:
        raise NotImplementedError

    def tags(self) -> list[Tag]:
        return []

    def create_tag(self, name: str, color: str | None = None) -> Tag:
        raise NotImplementedError


def pusher_for(server: StandIn) -> Pusher:
    return Pusher(server, TagResolver(server, []))


def test_a_contact_seen_twice_across_shifting_pages_is_matched_once() -> None:
    """Newest first; between two pages, someone creates contacts, so page 2 starts
    with what page 1 ended with."""
    same = {"number": "+12125550100", "first_name": "Ann"}
    a, b = Contact(id="a", **same), Contact(id="b", **same)
    others = [Contact(id=f"x{i}", number=f"+1212555{i:04d}") for i in range(200, 298)]
    fence = Contact(id="fence", number="+12125559999")
    pages = [[a, *others, others[-1]], [others[-1], a, b, fence]]  # 100, then shifted
    batch = {2: NewContact(**same), 3: NewContact(**same)}
    found = pusher_for(StandIn(pages))._find(batch, Fence("fence", None))
    assert sorted(c.id for c in found.values()) == ["a", "b"]


def test_contacts_are_matched_by_normalized_keys_not_as_sent() -> None:
    """echowin stored the number without its country code and the email in capitals."""
    stored = Contact(id="c", number="(212) 555-0100", email="ANN@Example.com", first_name="ANN")
    batch = {2: NewContact(number="+12125550100", email="ann@example.com", first_name="Ann")}
    found = pusher_for(StandIn([[stored]]))._find(batch, Fence(None, None))
    assert found[2].id == "c"


class RefusingServer(StandIn):
    """Refuses a bulk request whole (400), and then each contact with its reason."""

    def __init__(self) -> None:
        super().__init__([[]])

    def bulk_create(
        self, contacts: Sequence[NewContact], *, before_send: Callable[[], None] | None = None
    ) -> BulkSummary:
        raise ValidationFailed("Validation error", details=[], method="POST", path="/bulk")

    def create_contact(
        self, contact: NewContact, *, before_send: Callable[[], None] | None = None
    ) -> Contact:
        self.singles += 1
        problem = FieldProblem("email", "Invalid email")
        raise ValidationFailed("Validation error", details=[problem], method="POST", path="/")


def test_a_bulk_refused_whole_sends_each_row_alone_for_its_reason() -> None:
    server = RefusingServer()
    body = NewContact(number="+12125550100", email="a@b.co").model_dump_json(by_alias=True)
    outcomes = pusher_for(server).push([(2, body), (3, body)])
    assert server.singles == 2
    assert {o.status for o in outcomes.values()} == {"rejected"}
    assert outcomes[2].error == "echowin refused it: email: Invalid email"


class GarblingServer(StandIn):
    """Creates every contact but stores its number garbled: none matches as sent."""

    def __init__(self) -> None:
        super().__init__([[]])

    def bulk_create(
        self, contacts: Sequence[NewContact], *, before_send: Callable[[], None] | None = None
    ) -> BulkSummary:
        self.pages = [[Contact(id=f"c{i}", number=f"garbled {i}") for i in range(len(contacts))]]
        return BulkSummary(requested=len(contacts), created=len(contacts), errors=0)

    def create_contact(
        self, contact: NewContact, *, before_send: Callable[[], None] | None = None
    ) -> Contact:
        self.singles += 1
        raise NotImplementedError


def test_contacts_echowin_counts_created_but_stored_otherwise_are_never_resent() -> None:
    server = GarblingServer()
    bodies = [
        (row, NewContact(number=f"+1212555010{row}", first_name="Ann").model_dump_json())
        for row in (2, 3)
    ]
    outcomes = pusher_for(server).push(bodies)
    assert server.singles == 0  # sending them alone would have made each a second time
    assert {o.status for o in outcomes.values()} == {"unconfirmed"}
    assert outcomes[2].error == (
        "echowin counted it created, but no contact with its number or email was found: look it up"
    )


class LosingServer(StandIn):
    """Loses the answer of the first bulk (nothing made); meanwhile someone else made
    3 contacts with ordinary numbers. The second bulk is answered and made."""

    def __init__(self) -> None:
        super().__init__([[]])
        self.bulks = 0
        self.before_send_calls = 0

    def bulk_create(
        self, contacts: Sequence[NewContact], *, before_send: Callable[[], None] | None = None
    ) -> BulkSummary:
        self.bulks += 1
        if before_send is not None:
            before_send()
            self.before_send_calls += 1
        others = [Contact(id=f"o{i}", number=f"+1718555000{i}") for i in range(3)]
        if self.bulks == 1:
            self.pages = [others]
            raise OutcomeUnknown("lost", method="POST", path="/api/v1/contacts/bulk")
        made = [Contact(id=f"c{i}", number=c.number) for i, c in enumerate(contacts)]
        self.pages = [[*made, *others]]
        return BulkSummary(requested=len(contacts), created=len(contacts), errors=0)


def test_a_lost_answer_waits_its_grace_from_the_loss_and_others_contacts_are_not_ours() -> None:
    server = LosingServer()
    waits: list[float] = []
    pusher = Pusher(server, TagResolver(server, []), grace_s=2.0, sleep=waits.append)
    body = NewContact(number="+12125550100").model_dump_json(by_alias=True)
    outcomes = pusher.push([(2, body)])
    # two reads, each after a full grace counted from the loss (not from before the wait
    # for the rate limit), then, the team's growth being others' contacts: sent again
    assert waits[:2] == [pytest.approx(2.0, abs=0.05)] * 2
    assert server.bulks == 2 and server.before_send_calls == 2
    assert outcomes[2] == RowOutcome("created", "c0")


def test_unconfirmed_rows_count_among_the_created_and_rows_add_up(tmp_path: Path) -> None:
    writer = ReportWriter(tmp_path, ["Phone"], [])
    outcomes = [RowOutcome("created", "a"), RowOutcome("unconfirmed", error="look it up"),
                RowOutcome("rejected", error="bad")]  # fmt: skip
    writer.write((row, "x", o) for row, o in enumerate(outcomes, start=2))
    writer.close(finished=True)
    counts = writer.summary_counts()
    assert counts["created"] == 2 and counts["unconfirmed"] == 1
    assert (
        counts["rows"]
        == sum(
            counts[k]
            for k in ("created", "updated", "unchanged", "duplicates", "rejected", "skipped")
        )
        == 3
    )


class StoringServer(StandIn):
    """Creates what it is sent, alone or in bulk, unless `refuse_bulk` says otherwise;
    refuses to create tags longer than 10 characters."""

    def __init__(self, refuse_bulk: int | None = None) -> None:
        super().__init__([[]])
        self.refuse_bulk = refuse_bulk
        self.tag_requests: list[str] = []
        self.bulk_sizes: list[int] = []

    def _store(self, contact: NewContact) -> Contact:
        made = Contact(id=f"c{len(self.pages[0])}", number=contact.number,
                       created_at=f"2026-01-01T00:00:{len(self.pages[0]):02d}.000Z")  # fmt: skip
        self.pages[0].insert(0, made)  # newest first
        return made

    def bulk_create(
        self, contacts: Sequence[NewContact], *, before_send: Callable[[], None] | None = None
    ) -> BulkSummary:
        self.bulk_sizes.append(len(contacts))
        if self.refuse_bulk == 413 and len(contacts) > 30:
            raise FatalApiError("HTTP 413: Payload Too Large", status=413)
        if self.refuse_bulk == 422:
            raise FatalApiError("HTTP 422: Unprocessable", status=422)
        for contact in contacts:
            self._store(contact)
        return BulkSummary(requested=len(contacts), created=len(contacts), errors=0)

    def create_contact(
        self, contact: NewContact, *, before_send: Callable[[], None] | None = None
    ) -> Contact:
        self.singles += 1
        return self._store(contact)

    def create_tag(self, name: str, color: str | None = None) -> Tag:
        self.tag_requests.append(name)
        if len(name) > 10:
            problem = FieldProblem("name", "at most 10 characters")
            raise ValidationFailed("Validation error", details=[problem], method="POST", path="/")
        return Tag(id=f"t-{name}", name=name)


def _bodies(count: int, **fields: object) -> list[tuple[int, str]]:
    return [
        (i + 2, NewContact(number=f"+1212555{i:04d}", **fields).model_dump_json(by_alias=True))
        for i in range(count)
    ]  # type: ignore[arg-type]


def test_a_tag_echowin_refuses_rejects_only_the_rows_that_have_it() -> None:
    server = StoringServer()
    pusher = pusher_for(server)
    batch = _bodies(2, tag_names=["VIP"]) + [
        (row + 2, body) for row, body in _bodies(2, tag_names=["a-much-too-long-tag"])
    ]
    outcomes = pusher.push(batch)
    assert [outcomes[r].status for r in (2, 3, 4, 5)] == ["created", "created", "rejected",
                                                         "rejected"]  # fmt: skip
    assert outcomes[4].error == (
        "echowin refused the tag 'a-much-too-long-tag' (name: at most 10 characters)"
    )
    again = pusher.push([(9, batch[2][1])])  # asked once per run, not once per row
    assert again[9].status == "rejected"
    assert server.tag_requests == ["VIP", "a-much-too-long-tag"]


def test_a_bulk_too_large_is_split_in_halves_until_it_passes() -> None:
    server = StoringServer(refuse_bulk=413)
    outcomes = pusher_for(server).push(_bodies(100))
    assert {o.status for o in outcomes.values()} == {"created"} and len(outcomes) == 100
    assert server.bulk_sizes == [100, 50, 25, 25, 50, 25, 25] and server.singles == 0
    assert len({o.contact_id for o in outcomes.values()}) == 100


def test_a_bulk_refused_whole_for_another_reason_goes_row_by_row() -> None:
    server = StoringServer(refuse_bulk=422)
    outcomes = pusher_for(server).push(_bodies(3))
    assert {o.status for o in outcomes.values()} == {"created"}
    assert server.singles == 3
