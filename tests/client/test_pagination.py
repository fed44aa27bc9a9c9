"""Paging every contact: counts, stopping, and refusing a page that repeats."""

from __future__ import annotations

import json

import httpx
import pytest

from bulk_sync.client import EchowinClient
from bulk_sync.config import ApiKey, ApiSettings, RateLimits
from bulk_sync.errors import FatalApiError, NotFound, PaginationError
from tests.conftest import Team


def test_every_contact_once_in_creation_order(client: EchowinClient, team: Team) -> None:
    numbers = [f"+1555{i:07d}" for i in range(250)]
    for start in range(0, 250, 100):
        team.http.post(
            "/api/v1/contacts/bulk",
            json={"contacts": [{"number": n} for n in numbers[start : start + 100]]},
        )
    pager = client.iter_contacts()
    seen = [c.number for c in pager]
    assert seen == numbers
    assert pager.total_count == 250 and pager.pages_read == 3


def test_an_empty_team_is_one_empty_page(client: EchowinClient) -> None:
    pager = client.iter_contacts()
    assert list(pager) == [] and pager.total_count == 0 and pager.pages_read == 1


def test_a_server_that_ignores_page_is_refused() -> None:
    """Unit test of one parse rule: a mock server answering page 1 to every request."""

    def same_page(request: httpx.Request) -> httpx.Response:
        body = {
            "data": [{"id": "a"}, {"id": "b"}],
            "pagination": {"page": 1, "limit": 2, "totalCount": 9, "totalPages": 5},
        }
        return httpx.Response(200, content=json.dumps(body).encode())

    settings = ApiSettings("http://127.0.0.1:1", ApiKey("k"))
    with EchowinClient(settings, limits=None, transport=httpx.MockTransport(same_page)) as c:
        pager = c.iter_contacts()
        with pytest.raises(PaginationError, match="page 2 repeats page 1"):
            list(pager)
        assert pager.pages_read == 2


def test_under_unstable_ties_the_pager_rereads_split_ties_until_each_is_whole() -> None:
    """Bulks of 100 share one createdAt and come back in a fresh order on every request;
    30 singles first make every bulk straddle a page boundary."""
    from bulk_sync.sandbox import SandboxSettings, running_sandbox
    from tests.client.conftest import client_for
    from tests.conftest import team_on

    settings = SandboxSettings(rate_limits=False, unstable_ties=True, tie_seed=5)
    with running_sandbox(settings) as server, team_on(server) as team:
        for i in range(30):
            team.create(number=f"+1555{i:07d}")
        for start in range(30, 1030, 100):
            team.http.post("/api/v1/contacts/bulk", json={"contacts": [
                {"number": f"+1555{i:07d}"} for i in range(start, start + 100)]})  # fmt: skip
        with client_for(server, team) as client:
            pager = client.iter_contacts()
            first_pass = [c.id for c in pager]
            assert len(first_pass) < 1030  # ties split at page boundaries hid some
            again = [c.id for c in pager.reread_ties()]
            assert pager.complete
            assert len(first_pass) + len(again) == len(set(first_pass + again)) == 1030


def test_reading_ahead_reads_the_same_pages_and_leaves_no_request_behind(
    client: EchowinClient, team: Team
) -> None:
    numbers = [f"+1555{i:07d}" for i in range(250)]
    for start in range(0, 250, 100):
        team.http.post(
            "/api/v1/contacts/bulk",
            json={"contacts": [{"number": n} for n in numbers[start : start + 100]]},
        )
    before = client.stats.requests
    pager = client.iter_contacts(read_ahead=True)
    assert [c.number for c in pager] == numbers
    assert pager.pages_read == 3 and client.stats.requests - before == 3  # none past the end

    before = client.stats.requests
    early = client.iter_contacts(read_ahead=True)
    for i, _ in enumerate(early):
        if i == 5:
            break  # the loop drops the generator: page 2, asked for meanwhile, is awaited
    assert early.pages_read == 2 and client.stats.requests - before == 2


def test_reading_two_ahead_never_asks_past_the_end_and_awaits_both_on_an_early_stop(
    client: EchowinClient, team: Team
) -> None:
    numbers = [f"+1555{i:07d}" for i in range(450)]
    for start in range(0, 450, 100):
        team.http.post(
            "/api/v1/contacts/bulk",
            json={"contacts": [{"number": n} for n in numbers[start : start + 100]]},
        )
    before = client.stats.requests
    pager = client.iter_contacts(read_ahead=2)
    assert [c.number for c in pager] == numbers
    assert pager.pages_read == 5 and client.stats.requests - before == 5  # none past the end

    before = client.stats.requests
    early = client.iter_contacts(read_ahead=2)
    for i, _ in enumerate(early):
        if i == 5:
            break  # pages 2 and 3, asked for meanwhile, are awaited
    assert early.pages_read == 3 and client.stats.requests - before == 3


def test_a_paced_client_reads_one_page_ahead_at_most() -> None:
    """Two requests in flight would have the pacer count one of them as unsent."""
    settings = ApiSettings("http://127.0.0.1:1", ApiKey("k"))
    with EchowinClient(settings, limits=RateLimits()) as paced:
        assert paced.iter_listed(read_ahead=2).read_ahead == 1
        assert paced.iter_contacts(read_ahead=2).read_ahead == 1
    with EchowinClient(settings, limits=None) as unpaced:
        assert unpaced.iter_listed(read_ahead=2).read_ahead == 2


def test_listed_contacts_are_the_contacts_as_sent(client: EchowinClient, team: Team) -> None:
    team.http.post(
        "/api/v1/contacts/bulk",
        json={"contacts": [{"number": f"+1555000{i:04d}", "firstName": f"A{i}",
                            "tagNames": ["VIP"], "customFields": {"company": "Co"}}
                           for i in range(150)]},
    )  # fmt: skip
    models = list(client.iter_contacts())
    listed = list(client.iter_listed(read_ahead=2))
    assert [c.id for c in listed] == [c.id for c in models]
    assert [c.created_at for c in listed] == [c.created_at for c in models]
    for contact, raw in zip(models, listed, strict=True):
        assert raw.fields["firstName"] == contact.first_name
        assert [t["name"] for t in raw.fields["tags"]] == [t.name for t in contact.tags]
        assert raw.fields["customFields"] == contact.custom_fields


@pytest.mark.parametrize(
    "data",
    [[{"firstName": "no id"}], [{"id": 7}], ["a string"], [{"id": "a", "createdAt": 5}],
     "not a list"],
)  # fmt: skip
def test_a_listed_page_that_is_not_one_is_refused_in_one_sentence(data: object) -> None:
    """Unit test of one rule: a mock server whose page breaks the reference's shape."""

    def page(request: httpx.Request) -> httpx.Response:
        pagination = {"page": 1, "limit": 100, "totalCount": 1, "totalPages": 1}
        return httpx.Response(200, json={"data": data, "pagination": pagination})

    settings = ApiSettings("http://127.0.0.1:1", ApiKey("k"))
    transport = httpx.MockTransport(page)
    with (
        EchowinClient(settings, limits=None, transport=transport) as c,
        pytest.raises(FatalApiError, match="unexpected response"),
    ):
        list(c.iter_listed())


def test_an_error_reading_ahead_reaches_the_caller_after_the_page_before() -> None:
    """Unit test of one rule: a mock server that has page 1 and refuses page 2."""

    def pages(request: httpx.Request) -> httpx.Response:
        if request.url.params["page"] != "1":
            return httpx.Response(404, json={"error": "Not found"})
        body = {
            "data": [{"id": "a"}, {"id": "b"}],
            "pagination": {"page": 1, "limit": 2, "totalCount": 4, "totalPages": 2},
        }
        return httpx.Response(200, json=body)

    settings = ApiSettings("http://127.0.0.1:1", ApiKey("k"))
    with EchowinClient(settings, limits=None, transport=httpx.MockTransport(pages)) as c:
        got = []
        with pytest.raises(NotFound):
            for contact in c.iter_contacts(read_ahead=True):
                got.append(contact.id)
        assert got == ["a", "b"]


def test_newest_first_a_page_pushed_down_by_others_new_contacts_is_not_an_error(
    client: EchowinClient, team: Team
) -> None:
    """Another importer adds a page of contacts while this one reads newest first:
    page 2 then repeats page 1, which the grown count explains; nothing is missed."""
    from bulk_sync.client.pagination import ContactPager

    def bulk(prefix: str) -> None:
        contacts = [{"number": f"+1{prefix}{i:07d}"} for i in range(100)]
        team.http.post("/api/v1/contacts/bulk", json={"contacts": contacts})

    bulk("555")
    bulk("556")

    def fetch(page: int) -> object:
        if page == 2:
            bulk("557")  # between this reader's pages 1 and 2
        return client.list_contacts(page=page, sort_order="desc")

    pager = ContactPager(fetch)  # type: ignore[arg-type]
    numbers = [c.number for c in pager]
    assert {n for n in numbers if not n.startswith("+1557")} == {
        f"+1{p}{i:07d}" for p in ("555", "556") for i in range(100)
    }
