"""Importer fixtures: an EchowinClient on a fresh sandbox team, and file helpers."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bulk_sync.client import EchowinClient
from bulk_sync.sandbox import RunningSandbox
from tests.client.conftest import client_for
from tests.conftest import Team


@pytest.fixture
def client(sandbox: RunningSandbox, team: Team) -> Iterator[EchowinClient]:
    with client_for(sandbox, team) as c:
        yield c


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def read_report(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def all_contacts(team: Team) -> list[dict[str, Any]]:
    contacts: list[dict[str, Any]] = []
    page = 1
    while True:
        response = team.http.get("/api/v1/contacts", params={"page": page, "limit": 100})
        data = response.json()["data"]
        contacts += data
        if len(data) < 100:
            return contacts
        page += 1
