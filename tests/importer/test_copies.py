"""The rules by which runs that created the same rows at once settle their copies
(importer/copies.py), checked on every way the runs' bulks and reads can interleave."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from bulk_sync.client.models import Contact, ContactPage, NewContact, Pagination
from bulk_sync.client.pagination import ContactPager, reads_while_deleted
from bulk_sync.importer.copies import Settled, keeper, own_stamps, settle
from bulk_sync.importer.keys import Keys, match_keys

RACES = settings(derandomize=True, max_examples=200, deadline=None)


def stamp(ms: int) -> str:
    return f"2026-12-01T12:00:00.{ms:03d}Z"


def row(i: int, first: str = "Ann") -> NewContact:
    return NewContact(number=f"+1212555{i:04d}", first_name=first)


def keys(contact: NewContact) -> Keys:
    return match_keys(contact.number, contact.email, ("number", "email"))


@dataclass
class Bulk:
    """One run's bulk: the rows it sent, the contacts it made (sharing one stamp)."""

    run: int
    rows: dict[int, NewContact]
    made: list[Contact]


def bulks(sizes: list[int], ids: list[list[str]]) -> list[Bulk]:
    """Run i sends rows 0..sizes[i]-1 of one file; the bulks are stored in run order,
    each a millisecond after the last (as the sandbox stamps writes)."""
    made = []
    for run, size in enumerate(sizes):
        rows = {r: row(r) for r in range(size)}
        contacts = [
            Contact(id=ids[run][r], number=c.number, first_name=c.first_name, created_at=stamp(run))
            for r, c in rows.items()
        ]
        made.append(Bulk(run, rows, contacts))
    return made


def check(bulk: Bulk, visible: list[Bulk]) -> Settled:
    """What one run settles after its bulk, reading the bulks stored by then."""
    listed = [(c, keys(NewContact(number=c.number))) for b in visible for c in b.made]
    copies: dict[int, list[Contact]] = {}
    for r, contact in bulk.rows.items():
        found = [c for c, k in listed if k == keys(contact)]
        if found:
            copies[r] = found
    stamps, sure = own_stamps(listed, {keys(c) for c in bulk.rows.values()}, len(bulk.made))
    return settle(copies, bulk.rows, stamps, sure)


@st.composite
def races(draw: st.DrawFn) -> tuple[list[Bulk], list[int]]:
    """2..8 runs of one file, each first batch 1..6 rows (equal sizes allowed: then two
    runs cannot tell their copies apart), random ids; run i checks after bulks
    0..seen[i] were stored (at least its own: it reads after its answer)."""
    runs = draw(st.integers(2, 8))
    sizes = draw(st.lists(st.integers(1, 6), min_size=runs, max_size=runs))
    ids = [[draw(st.uuids()).hex for _ in range(size)] for size in sizes]
    seen = [draw(st.integers(i, runs - 1)) for i in range(runs)]
    return bulks(sizes, ids), seen


@RACES
@given(races())
def test_the_first_copy_of_a_row_survives_and_every_other_is_deleted(
    race: tuple[list[Bulk], list[int]],
) -> None:
    made, seen = race
    doomed: set[str] = set()
    settled = {b.run: check(b, made[: seen[b.run] + 1]) for b in made}
    for s in settled.values():
        doomed |= set(s.doomed)
    every = [c for b in made for c in b.made]
    for number in {c.number for c in every}:
        copies = [c for c in every if c.number == number]
        first = keeper(copies)
        assert first.id not in doomed  # never lost
        assert {c.id for c in copies} - doomed == {first.id}  # never doubled
    for run, s in settled.items():
        for r, contact in {**s.kept, **s.others}.items():  # each row points at the keeper
            same = [c for b in made for c in b.made if c.number == made[run].rows[r].number]
            assert contact.id == keeper(same).id
        mine = {c.id for c in made[run].made}
        assert all(c.id in mine for c in s.kept.values())  # created: only what it made


def test_two_runs_agree_on_the_keeper_and_each_deletes_only_its_own_copy() -> None:
    first, second = bulks([3, 2], [["a0", "a1", "a2"], ["b0", "b1"]])
    early = check(first, [first])  # read before the second bulk was stored
    late = check(second, [first, second])
    assert set(early.kept) == {0, 1, 2} and early.doomed == []
    assert late.doomed == ["b0", "b1"]
    assert {r: c.id for r, c in late.others.items()} == {0: "a0", 1: "a1"}


def test_the_keeper_is_the_earliest_copy_then_the_smallest_id() -> None:
    copies = [Contact(id="b", created_at=stamp(1)), Contact(id="c", created_at=stamp(0)),
              Contact(id="a", created_at=stamp(1))]  # fmt: skip
    assert keeper(copies).id == "c"
    assert keeper(copies[::2]).id == "a"


def test_a_run_that_cannot_tell_its_copy_deletes_only_copies_identical_to_its_row() -> None:
    """Two bulks of the same rows and size: either could be this run's. A copy someone
    typed meanwhile with another name is not deleted, though it is not the keeper."""
    mine, theirs = bulks([2, 2], [["a0", "a1"], ["b0", "b1"]])
    typed = Contact(id="p", number=row(0).number, first_name="Bob", created_at=stamp(5))
    listed = [(c, keys(NewContact(number=c.number))) for c in [*mine.made, *theirs.made, typed]]
    stamps, sure = own_stamps(listed, {keys(c) for c in mine.rows.values()}, 2)
    assert stamps == {stamp(0), stamp(1)} and not sure
    copies = {r: [c for c, k in listed if k == keys(mine.rows[r])] for r in mine.rows}
    settled = settle(copies, mine.rows, stamps, sure)
    assert sorted(settled.doomed) == ["b0", "b1"]  # the identical later copies, not "p"
    assert settled.kept == {} and {c.id for c in settled.others.values()} == {"a0", "a1"}


def test_a_copy_made_by_another_while_this_runs_bulk_made_nothing_is_not_claimed() -> None:
    """This run's rows 0-2 were refused; another's bulk made rows 0-3 meanwhile."""
    (other,) = bulks([4], [["o0", "o1", "o2", "o3"]])
    rows = {r: row(r) for r in range(3)}
    listed = [(c, keys(NewContact(number=c.number))) for c in other.made]
    stamps, sure = own_stamps(listed, {keys(c) for c in rows.values()}, 0)
    copies = {r: [c for c, k in listed if k == keys(rows[r])] for r in rows}
    settled = settle(copies, rows, stamps, sure)
    assert stamps == set() and sure and settled.doomed == [] and settled.kept == {}
    assert [c.id for c in settled.others.values()] == ["o0", "o1", "o2"]


@dataclass
class Listing:
    """A team listed newest first by offset, `size` a page, as echowin does; before the
    n-th page is served, `writes[n]` happen: ("make", k) stores a bulk of k contacts
    (one stamp), ("delete", i) deletes the i-th contact listed (modulo the count)."""

    contacts: list[Contact]
    writes: list[list[tuple[str, int]]]
    size: int = 5
    served: int = 0
    deleted: set[str] = field(default_factory=set)

    def page(self, number: int) -> ContactPage:
        for kind, n in self.writes[self.served] if self.served < len(self.writes) else ():
            if kind == "make":
                made = len(self.contacts) + len(self.deleted)
                self.contacts.append(Contact(id=f"new{made}", created_at=stamp(100 + made)))
                self.contacts += [Contact(id=f"new{made}-{i}", created_at=stamp(100 + made))
                                  for i in range(1, n)]  # fmt: skip
            elif self.contacts:
                gone = self.contacts.pop(len(self.contacts) - 1 - n % len(self.contacts))
                self.deleted.add(gone.id)
        self.served += 1
        newest_first = self.contacts[::-1]
        data = newest_first[(number - 1) * self.size : number * self.size]
        total = len(self.contacts)
        pages = -(-total // self.size)
        counts = Pagination(page=number, limit=self.size, total_count=total, total_pages=pages)
        return ContactPage(data=data, pagination=counts)


@st.composite
def busy_teams(draw: st.DrawFn) -> Listing:
    """A team of bulks (a stamp each) that others add bulks to and delete copies from
    while one run reads it: writes before any of the first six pages served."""
    contacts: list[Contact] = []
    for bulk in range(draw(st.integers(1, 6))):
        contacts += [Contact(id=f"c{bulk}-{i}", created_at=stamp(bulk))
                     for i in range(draw(st.integers(1, 8)))]  # fmt: skip
    write = st.tuples(st.sampled_from(["make", "delete"]), st.integers(0, 40))
    writes = draw(st.lists(st.lists(write, max_size=3), max_size=6))
    return Listing(contacts, writes)


@RACES
@given(busy_teams())
def test_a_read_of_the_team_while_others_make_and_delete_misses_no_contact_that_stayed(
    team: Listing,
) -> None:
    """What a run reads of the team before it sends (its index, its catch-up) holds
    every copy made before: else its row's earlier copy, the keeper, is unseen, and
    it keeps its own later copy as the only one (two copies stay). Others' deletes
    shift the pages under the read; new bulks push them down."""
    before = {c.id for c in team.contacts}
    seen: set[str] = set()
    for pager in reads_while_deleted(lambda: ContactPager(team.page)):
        seen |= {c.id for c in itertools.chain(pager, pager.reread_ties())}
    assert before - team.deleted <= seen
