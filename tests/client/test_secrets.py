"""The API key never shows: not in logs, exception messages, reprs or stats."""

from __future__ import annotations

import logging

import httpx
import pytest

from bulk_sync.client import EchowinClient
from bulk_sync.client import models as m
from bulk_sync.config import ApiKey, ApiSettings, RetryPolicy
from bulk_sync.errors import ApiError
from bulk_sync.sandbox import RunningSandbox

SECRET = "sbx_TOP-SECRET-KEY-0123456789"


def test_key_stays_out_of_logs_errors_and_reprs(
    sandbox: RunningSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    created = httpx.post(
        f"{sandbox.url}/_sandbox/teams", headers=sandbox.admin_headers, json={"apiKey": SECRET}
    )
    assert created.status_code == 201
    caplog.set_level(logging.DEBUG)
    policy = RetryPolicy(max_attempts=2, backoff_initial_s=0.01, backoff_max_s=0.01)
    texts: list[str] = []
    settings = ApiSettings(sandbox.url, ApiKey(SECRET))
    with EchowinClient(settings, limits=None, policy=policy) as client:
        client.create_contact(m.NewContact(number="5551234567"))
        for call in (
            lambda: client.get_contact("missing"),
            lambda: client.create_contact(m.NewContact(number="", email="bad")),
            lambda: client.bulk_create([m.NewContact(number="1")] * 101),
        ):
            with pytest.raises((ApiError, ValueError)) as caught:
                call()
            texts += [str(caught.value), repr(caught.value)]
        texts += [repr(client), repr(client.settings), str(client.stats), repr(client.pacer)]
    unreachable = ApiSettings("http://127.0.0.1:9", ApiKey(SECRET))
    with EchowinClient(unreachable, limits=None, policy=policy) as client:
        with pytest.raises(ApiError) as caught:
            client.tags()
        texts += [str(caught.value), repr(caught.value), repr(caught.value.__cause__)]
    assert caplog.records, "debug logging should have recorded the HTTP traffic"
    texts.append(caplog.text)
    for text in texts:
        assert SECRET not in text
