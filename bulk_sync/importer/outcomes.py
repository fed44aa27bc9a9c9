"""What happened to a row, and what a batch left behind: types the importer's parts share.

A leaf: it imports nothing of the importer, so the journal, the pushers and the
planner can all use it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass

# A row's status in results.csv (the contract's, plus `unconfirmed`: echowin's count
# says it was created, yet no stored contact could be matched to it).
STATUSES = (
    "created",
    "updated",
    "unchanged",
    "duplicate",
    "rejected",
    "skipped",
    "unconfirmed",
)
# Statuses after which a later run never sends the row again (the journal records
# `skipped` only for a row another import created while this run was creating it).
SETTLED = frozenset({"created", "updated", "unchanged", "unconfirmed", "skipped"})


@dataclass(frozen=True)
class RowOutcome:
    status: str  # one of STATUSES
    contact_id: str = ""
    error: str = ""


@dataclass(frozen=True)
class Fence:
    """The newest contact before a send (None: the team had none), when it was made,
    and how many contacts the team had then (None: not known)."""

    id: str | None
    created_at: str | None
    total_count: int | None = None
    sent_at: float | None = None  # when the batch behind it left (Unix time), once it has


@dataclass(frozen=True)
class SentBatch:
    """A batch whose answer was never recorded: what was sent, and the fence before it."""

    number: int
    fence: Fence
    rows: list[tuple[int, str]]  # row, body (JSON)
