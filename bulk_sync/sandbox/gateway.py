"""The gate every `/api/` request passes: faults, authentication, rate limits, counters.

A plain ASGI middleware rather than FastAPI dependencies, because faults need what a
route cannot do: close the connection before the request runs, or after it has
committed, with no response at all, or run it only once the client has given up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Coroutine, Sequence
from typing import Any
from urllib.parse import parse_qsl

from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .faults import REFUSALS
from .ratelimit import RateDecision, classify, format_seconds
from .runtime import Sandbox

_REFUSAL_BODIES = {
    "500": "Internal server error",
    "502": "Bad gateway",
    "503": "Service unavailable",
}


class Gateway:
    """Wraps the FastAPI app; everything outside `/api/` passes straight through."""

    def __init__(self, app: ASGIApp, sandbox: Sandbox, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.sandbox = sandbox
        self._routes = list(routes)  # the API's routes, to name each request by its template

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        sandbox = self.sandbox
        method: str = scope["method"]
        route = self._route_template(scope)
        fault = sandbox.faults.draw()
        if fault:
            sandbox.stats.fault(fault)
        if fault == "drop_before":
            await drop_connection(send)
            return

        key = _header(scope, b"x-api-key")
        team_id = sandbox.team_for_key(key) if key else None
        if team_id is None:
            error = "Invalid API key" if key else "Missing X-API-Key header"
            await _respond(send, 401, {"error": error})
            sandbox.stats.record(method, route, 401)
            return

        length = _header(scope, b"content-length")
        if length and length.isdigit() and int(length) > sandbox.settings.max_body_bytes:
            await _respond(send, 413, {"error": "Payload Too Large"})
            sandbox.stats.record(method, route, 413)
            return

        rate_headers: list[tuple[bytes, bytes]] = []
        limiter = sandbox.limiter
        if limiter is not None:
            query = dict(parse_qsl(scope["query_string"].decode("latin-1")))
            decision = limiter.hit(team_id, classify(method, route, query))
            rate_headers = decision.headers(limiter.time_scale)
            if not decision.allowed:
                await _respond(send, 429, _too_many(decision, limiter.time_scale), rate_headers)
                sandbox.stats.record(method, route, 429)
                return

        if fault in REFUSALS:
            status = int(fault)
            if status == 429:
                retry = format_seconds(
                    1.0 / (limiter.time_scale if limiter else 1.0),
                    whole=limiter is None or limiter.time_scale == 1,
                )
                body = {"error": f"Rate limit exceeded. Please retry after {retry} seconds."}
                extra = [*rate_headers, (b"retry-after", retry.encode())]
            else:
                body, extra = {"error": _REFUSAL_BODIES[str(fault)]}, rate_headers
            await _respond(send, status, body, extra)
            sandbox.stats.record(method, route, status)
            return
        if fault == "latency":
            await asyncio.sleep(sandbox.faults.plan.latency_ms / 1000)

        scope.setdefault("state", {})["team_id"] = team_id
        if fault == "late_commit":
            await self._late_commit(scope, receive, send, method, route)
            return
        swallow = fault in ("drop_after", "timeout")
        status_seen = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status_seen
            if message["type"] == "http.response.start":
                status_seen = message["status"]
                if rate_headers:
                    message = {**message, "headers": [*message.get("headers", []), *rate_headers]}
            if not swallow:
                await send(message)

        await self.app(scope, receive, send_with_headers)
        sandbox.stats.record(method, route, status_seen)
        if fault == "timeout":
            await _hold(receive, sandbox.settings.timeout_hold_s, sandbox.stopping)
        if swallow:
            await drop_connection(send)

    async def _late_commit(
        self, scope: Scope, receive: Receive, send: Send, method: str, route: str
    ) -> None:
        """Read the request, answer nothing until the client gives up, then run it.

        The request runs `late_commit_delay_s` after the client hung up (or after
        `timeout_hold_s`, when this closes the connection), against a copy of its body
        and with its response thrown away: its write commits when no one is waiting
        for it. A client that hangs up before it has sent the whole request commits
        nothing. When the server stops, held and waiting requests run at once.
        """
        sandbox = self.sandbox
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
        await _hold(receive, sandbox.settings.timeout_hold_s, sandbox.stopping)
        await drop_connection(send)

        loop = asyncio.get_running_loop()
        gave_up = loop.time()
        # The delay is read again while waiting: a change through the control API
        # applies to late commits already waiting.
        while not sandbox.stopping.is_set():
            left = gave_up + sandbox.faults.late_commit_delay_s - loop.time()
            if left <= 0:
                break
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(left, 0.05)):
                    await sandbox.stopping.wait()

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return {"type": "http.disconnect"}
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        status_seen = 500

        async def discard(message: Message) -> None:
            nonlocal status_seen
            if message["type"] == "http.response.start":
                status_seen = message["status"]

        await self.app(scope, replay, discard)
        sandbox.stats.record(method, route, status_seen)

    def _route_template(self, scope: Scope) -> str:
        for candidate in self._routes:
            match, _ = candidate.matches(scope)
            if match != Match.NONE and isinstance(candidate, Route | APIRoute):
                return candidate.path
        return "(unmatched)"


def _too_many(decision: RateDecision, time_scale: float) -> dict[str, str]:
    retry = format_seconds(decision.retry_after_s, whole=time_scale == 1)
    return {"error": f"Rate limit exceeded. Please retry after {retry} seconds."}


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def _respond(
    send: Send, status: int, body: dict[str, Any], headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


async def _hold(receive: Receive, seconds: float, stopping: asyncio.Event) -> None:
    """Wait until the client hangs up, or `seconds` pass, or the server stops."""

    async def hung_up() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    await _first_of(hung_up(), stopping.wait(), timeout=seconds)


async def _first_of(*waits: Coroutine[Any, Any, Any], timeout: float) -> None:
    """Wait until one of `waits` is done or `timeout` seconds pass; cancel the rest."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def drop_connection(send: Send) -> None:
    """Close the client's connection without a response.

    ASGI has no message for this, so it takes the transport from uvicorn's
    request cycle (the object `send` is bound to), closes it, and waits until uvicorn
    has noticed, so that it does not answer with a 500 of its own.
    """
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise RuntimeError("this server does not expose its connections: cannot drop one")
    transport.close()
    for _ in range(100):
        if getattr(cycle, "disconnected", True):
            return
        await asyncio.sleep(0)
