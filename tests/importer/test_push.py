"""One rule of the pusher's reconciliation, on a stand-in for the listing endpoint."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from bulk_sync.client.models import Contact, NewContact
from bulk_sync.errors import FieldProblem, ValidationFailed
from bulk_sync.importer.push import Fence, Pusher


class ShiftingList:
    """Newest first; between two pages, someone creates contacts, so page 2 starts
    with what page 1 ended with."""

    def __init__(self, pages: list[list[Contact]]) -> None:
        self.pages = pages

    def list_contacts(self, *, page: int, limit: int) -> Any:
        return SimpleNamespace(data=self.pages[page - 1])


def test_a_contact_seen_twice_across_shifting_pages_is_matched_once() -> None:
    same = {"number": "+12125550100", "first_name": "Ann"}
    a, b = Contact(id="a", **same), Contact(id="b", **same)
    others = [Contact(id=f"x{i}", number=f"+1212555{i:04d}") for i in range(200, 298)]
    fence = Contact(id="fence", number="+12125559999")
    pages = [[a, *others, others[-1]], [others[-1], a, b, fence]]  # 100, then shifted
    pusher = Pusher(ShiftingList(pages), tags=None)  # type: ignore[arg-type]
    batch = [(2, NewContact(**same)), (3, NewContact(**same))]
    found = pusher._find(batch, Fence("fence", None))
    assert sorted(found.values()) == ["a", "b"]


class RefusingServer(ShiftingList):
    """Refuses a bulk request whole (400), and then each contact with its reason."""

    def __init__(self) -> None:
        super().__init__([[]])
        self.singles = 0

    def bulk_create(self, contacts: list[NewContact]) -> None:
        raise ValidationFailed("Validation error", details=[], method="POST", path="/bulk")

    def create_contact(self, contact: NewContact) -> None:
        self.singles += 1
        problem = FieldProblem("email", "Invalid email")
        raise ValidationFailed("Validation error", details=[problem], method="POST", path="/")


def test_a_bulk_refused_whole_sends_each_row_alone_for_its_reason() -> None:
    server = RefusingServer()
    pusher = Pusher(server, tags=None)  # type: ignore[arg-type]
    body = NewContact(number="+12125550100", email="a@b.co").model_dump_json(by_alias=True)
    outcomes = pusher.push([(2, body), (3, body)])
    assert server.singles == 2
    assert {o.status for o in outcomes.values()} == {"rejected"}
    assert outcomes[2].error == "echowin refused it: email: Invalid email"


class NormalizingServer(RefusingServer):
    """Creates every contact but stores its names upper-cased: none matches as sent."""

    def bulk_create(self, contacts: list[NewContact]) -> Any:
        self.pages = [
            [Contact(id=f"c{i}", number=c.number, first_name=(c.first_name or "").upper())
             for i, c in enumerate(contacts)]
        ]  # fmt: skip
        return SimpleNamespace(created=len(contacts))


def test_contacts_echowin_counts_created_but_stored_otherwise_are_never_resent() -> None:
    server = NormalizingServer()
    pusher = Pusher(server, tags=None)  # type: ignore[arg-type]
    bodies = [
        (row, NewContact(number=f"+1212555010{row}", first_name="Ann").model_dump_json())
        for row in (2, 3)
    ]
    outcomes = pusher.push(bodies)
    assert server.singles == 0  # sending them alone would have made each a second time
    assert {o.status for o in outcomes.values()} == {"created"}
    assert "look it up" in outcomes[2].error
