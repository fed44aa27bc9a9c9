"""`EchowinClient`: every endpoint of the echowin Contacts API, paced and retried.

A plain synchronous `httpx.Client` with keep-alive: at echowin's limits (10 bulk
requests a minute) it is never the bottleneck, and it is the fastest httpx client per
request. httpx's exceptions are translated here and nowhere else.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableSet, Sequence
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from .. import __version__
from ..config import ApiSettings, RateLimits, RetryPolicy
from ..errors import (
    ApiError,
    AuthRefused,
    FatalApiError,
    FieldProblem,
    Interrupted,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    ServerError,
    TransportError,
    ValidationFailed,
)
from . import models as m
from .pacing import Pacer, RateClass
from .pagination import PAGE_SIZE, ContactPager
from .retry import ClientStats, run_with_retries

M = TypeVar("M", bound=BaseModel)
RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})
# httpx errors raised before a single byte of the request left this machine
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
ECHOWIN_LIMITS = RateLimits()
_NEW_CONTACTS = TypeAdapter(list[m.NewContact])  # a bulk body, serialized in one pass
DEFAULT_POLICY = RetryPolicy()


class EchowinClient:
    """The echowin Contacts API as typed calls. Use as a context manager, or close()."""

    def __init__(
        self,
        settings: ApiSettings,
        *,
        limits: RateLimits | None = ECHOWIN_LIMITS,
        policy: RetryPolicy = DEFAULT_POLICY,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """`limits=None` turns pacing off (for a server without limits)."""
        self.settings = settings
        self.limits = limits
        self.policy = policy
        self.stats = ClientStats()
        self._counting = threading.Lock()  # stats are counted from read-ahead threads too
        self.should_stop: Callable[[], bool] = lambda: False  # checked during every wait
        self.on_retry: Callable[[str], None] | None = None  # hears of each retry
        self.on_wait: Callable[[str, float], None] | None = None  # a rate-limit wait begins
        self.on_tick: Callable[[], None] | None = None  # called often during every wait
        self.pacer = (
            Pacer(limits, sleep=self._sleep, on_wait=self._waiting) if limits is not None else None
        )
        self._host = httpx.URL(settings.url).host or settings.url
        self._http = httpx.Client(
            base_url=settings.url,
            headers={
                "X-API-Key": settings.api_key.reveal(),
                "User-Agent": f"bulk-sync/{__version__}",
                "Accept": "application/json",
            },
            timeout=timeout,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"EchowinClient(url={self.settings.url!r})"

    @property
    def read_timeout_s(self) -> float:
        """How long a response is awaited before the client gives up on it."""
        return float(self._http.timeout.read or 0.0)

    def __enter__(self) -> EchowinClient:
        return self

    @contextlib.contextmanager
    def stopping_when(self, should_stop: Callable[[], bool]) -> Iterator[None]:
        """While inside: a stop request also ends the waits (rate limit, retries) at
        once, and no write leaves after it."""
        before, self.should_stop = self.should_stop, should_stop
        try:
            yield
        finally:
            self.should_stop = before

    def _waiting(self, rate_class: RateClass, seconds: float) -> None:
        if self.on_wait is not None:
            self.on_wait(rate_class.value, seconds)

    def _sleep(self, seconds: float) -> None:
        """Wait for the rate limit or a retry; a stop request ends the wait at once,
        before anything more is sent."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self.should_stop():
                raise Interrupted("stopped while waiting to send; nothing more was sent")
            if self.on_tick is not None:
                self.on_tick()
            time.sleep(min(left, 0.1))

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- contacts ---------------------------------------------------------------------

    def list_contacts(
        self,
        *,
        page: int = 1,
        limit: int = 100,
        search: str | None = None,
        sort_by: str = "createdAt",
        sort_order: str = "desc",
        tag_ids: Sequence[str] = (),
    ) -> m.ContactPage:
        """One page of contacts (`limit` at most 100), with schemas and available tags."""
        params, rate_class = _listing(page, limit, search, sort_by, sort_order, tag_ids)
        return self._call(m.ContactPage, "GET", "/api/v1/contacts", rate_class, params=params)

    def list_listed(
        self,
        *,
        page: int = 1,
        limit: int = 100,
        search: str | None = None,
        sort_by: str = "createdAt",
        sort_order: str = "desc",
        tag_ids: Sequence[str] = (),
    ) -> m.ListedPage:
        """`list_contacts`, its contacts left as sent (`Listed`): the export's page."""
        params, rate_class = _listing(page, limit, search, sort_by, sort_order, tag_ids)
        response = self._request("GET", "/api/v1/contacts", rate_class, params=params)
        try:
            return m.listed_page(response.content)
        except (ValueError, ValidationError) as exc:
            raise _unexpected(response, f"not a page of contacts: {exc}") from None

    def iter_contacts(
        self,
        *,
        search: str | None = None,
        tag_ids: Sequence[str] = (),
        sort_by: str = "createdAt",
        sort_order: str = "asc",
        stop: Callable[[m.Contact], bool] | None = None,
        seen: MutableSet[str] | None = None,
        read_ahead: int = 0,
    ) -> ContactPager[m.Contact]:
        """Every contact, 100 a page, each once (oldest first by default; `sort_order="desc"`
        with a `stop` rule reads the newest down to a point). `read_ahead` asks for the
        next pages while the caller works on this one (see pagination.py)."""
        return ContactPager(
            lambda page: self.list_contacts(
                page=page,
                limit=PAGE_SIZE,
                search=search,
                sort_by=sort_by,
                sort_order=sort_order,
                tag_ids=tag_ids,
            ),
            stop=stop,
            seen=seen,
            read_ahead=self._ahead(read_ahead),
        )

    def iter_listed(
        self,
        *,
        search: str | None = None,
        tag_ids: Sequence[str] = (),
        seen: MutableSet[str] | None = None,
        read_ahead: int = 0,
    ) -> ContactPager[m.Listed]:
        """`iter_contacts` oldest first, its contacts left as sent (`Listed`): the export's
        pager, the same one. `read_ahead` is one page at most while pacing (`_ahead`)."""
        return ContactPager(
            lambda page: self.list_listed(
                page=page, limit=PAGE_SIZE, search=search, sort_order="asc", tag_ids=tag_ids
            ),
            seen=seen,
            read_ahead=self._ahead(read_ahead),
        )

    def _ahead(self, pages: int) -> int:
        """Pages a pager may ask for ahead: one at most while pacing, since the pacer
        takes the server's count from each answer, and an answer that left before
        another request arrived would have it count that request as unsent (a 429 at
        the end of a window, measured)."""
        return min(pages, 1) if self.pacer is not None else pages

    def get_contact(self, contact_id: str) -> m.ContactWithContext:
        return self._call(m.ContactWithContext, "GET", _contact(contact_id), RateClass.GET)

    def create_contact(
        self, contact: m.NewContact, *, before_send: Callable[[], None] | None = None
    ) -> m.Contact:
        """Create one contact. A lost response raises OutcomeUnknown: reconcile, don't resend.
        `before_send` runs just before the request leaves (after any wait for the rate
        limit), each time it does."""
        return self._data(
            m.Contact, "POST", "/api/v1/contacts", RateClass.WRITE, body=contact.body(),
            before_send=before_send,
        )  # fmt: skip

    def bulk_create(
        self, contacts: Sequence[m.NewContact], *, before_send: Callable[[], None] | None = None
    ) -> m.BulkSummary:
        """Create up to 100 contacts; the answer counts failures but does not name them.

        Not idempotent: a lost response raises OutcomeUnknown and is never resent here.
        `before_send` runs just before the request leaves (after any wait for the rate
        limit), each time it does: a journal records the moment there.
        """
        if not 1 <= len(contacts) <= 100:
            raise ValueError("a bulk request holds 1 to 100 contacts")
        response = self._request(
            "POST",
            "/api/v1/contacts/bulk",
            RateClass.BULK,
            body=b'{"contacts":'
            + _NEW_CONTACTS.dump_json(list(contacts), by_alias=True, exclude_none=True)
            + b"}",
            before_send=before_send,
        )
        return _parse(m.BulkSummary, _json(response).get("summary"), response)

    def update_contact(self, contact_id: str, changes: m.ContactChanges) -> m.Contact:
        return self._data(
            m.Contact,
            "PUT",
            _contact(contact_id),
            RateClass.WRITE,
            body=changes.body(),
            idempotent=True,
        )

    def delete_contact(self, contact_id: str) -> None:
        self._request("DELETE", _contact(contact_id), RateClass.WRITE, idempotent=True)

    def custom_fields(self) -> list[m.CustomFieldSchema]:
        return self._list(
            m.CustomFieldSchema, "GET", "/api/v1/contacts/custom-fields", RateClass.GET
        )

    # -- notes, assignments, boards, tags ---------------------------------------------

    def notes(self, contact_id: str) -> list[m.Note]:
        return self._list(m.Note, "GET", f"{_contact(contact_id)}/notes", RateClass.GET)

    def add_note(self, contact_id: str, note: str, note_type: str | None = None) -> m.Note:
        body = m.NoteDraft(note=note, type=note_type).model_dump(exclude_none=True)
        return self._data(
            m.Note, "POST", f"{_contact(contact_id)}/notes", RateClass.WRITE, body=body
        )

    def assignments(self, contact_id: str) -> list[m.Assignment]:
        return self._list(m.Assignment, "GET", f"{_contact(contact_id)}/assignments", RateClass.GET)

    def assign_users(
        self, contact_id: str, user_ids: Iterable[str], *, replace: bool = False
    ) -> list[m.Assignment]:
        """Add users (keeping the others), or with `replace` make them the only ones."""
        return self._list(
            m.Assignment,
            "PUT" if replace else "POST",
            f"{_contact(contact_id)}/assignments",
            RateClass.WRITE,
            body={"userIds": list(user_ids)},
            idempotent=True,
        )

    def contact_boards(self, contact_id: str) -> list[m.Board]:
        return self._list(m.Board, "GET", f"{_contact(contact_id)}/boards", RateClass.GET)

    def place_on_boards(
        self, contact_id: str, board_ids: Iterable[str], *, replace: bool = False
    ) -> m.BoardChange:
        """Add the contact to boards, or with `replace` make them its only boards."""
        return self._data(
            m.BoardChange,
            "PUT" if replace else "POST",
            f"{_contact(contact_id)}/boards",
            RateClass.WRITE,
            body={"boardIds": list(board_ids)},
            idempotent=True,
        )

    def remove_from_boards(self, contact_id: str) -> m.BoardChange:
        return self._data(
            m.BoardChange,
            "DELETE",
            f"{_contact(contact_id)}/boards",
            RateClass.WRITE,
            idempotent=True,
        )

    def boards(self) -> list[m.Board]:
        return self._list(m.Board, "GET", "/api/v1/boards", RateClass.GET)

    def tags(self) -> list[m.Tag]:
        return self._list(m.Tag, "GET", "/api/v1/tags", RateClass.GET)

    def create_tag(self, name: str, color: str | None = None) -> m.Tag:
        """A new tag. A lost response raises OutcomeUnknown: list the tags to find out."""
        body = {"name": name} if color is None else {"name": name, "color": color}
        return self._data(m.Tag, "POST", "/api/v1/tags", RateClass.WRITE, body=body)

    # -- plumbing ---------------------------------------------------------------------

    def _call(
        self, model: type[M], method: str, path: str, rate_class: RateClass, **options: Any
    ) -> M:
        response = self._request(method, path, rate_class, **options)
        try:  # parsed and checked in one pass (a page of contacts: a fifth less time)
            return model.model_validate_json(response.content)
        except ValidationError:  # read again the slow way, for the message
            return _parse(model, _json(response), response)

    def _data(
        self, model: type[M], method: str, path: str, rate_class: RateClass, **options: Any
    ) -> M:
        response = self._request(method, path, rate_class, **options)
        return _parse(model, _json(response).get("data"), response)

    def _list(
        self, model: type[M], method: str, path: str, rate_class: RateClass, **options: Any
    ) -> list[M]:
        response = self._request(method, path, rate_class, **options)
        items = _json(response).get("data")
        if not isinstance(items, list):
            raise _unexpected(response, "no data list")
        return [_parse(model, item, response) for item in items]

    def _request(
        self,
        method: str,
        path: str,
        rate_class: RateClass,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        idempotent: bool | None = None,
        before_send: Callable[[], None] | None = None,
    ) -> httpx.Response:
        """Send with pacing and retries; return a 2xx response or raise an ApiError."""
        safe = method == "GET" if idempotent is None else idempotent
        content = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if content is not None else None

        def attempt() -> httpx.Response:
            if self.pacer is not None:
                started = time.monotonic()
                try:
                    self.stats.rate_limit_wait_s += self.pacer.acquire(rate_class)
                except Interrupted:  # a wait cut short still took its time
                    self.stats.rate_limit_wait_s += time.monotonic() - started
                    raise
            if self.should_stop() and not safe:
                raise Interrupted("stopped before sending; nothing more was sent")
            if before_send is not None:
                before_send()
            with self._counting:  # pages read ahead are sent from threads
                self.stats.requests += 1
                self.stats.writes += method != "GET"
            try:
                response = self._http.request(
                    method, path, params=params, content=content, headers=headers
                )
            except httpx.HTTPError as exc:
                if self.pacer is not None:
                    self.pacer.observe(rate_class, {})
                raise _transport_error(exc, method, path, safe=safe, host=self._host) from exc
            with self._counting:
                by_status = self.stats.by_status
                by_status[response.status_code] = by_status.get(response.status_code, 0) + 1
            error = _status_error(response, method, path)
            if isinstance(error, ServerError) and not safe:
                # The server had the request: it may have applied it before failing.
                error = OutcomeUnknown(
                    f"HTTP {error.status} after the request arrived; it may have been applied",
                    method=method,
                    path=path,
                )
            if self.pacer is not None:
                if isinstance(error, RateLimited):
                    self.pacer.refused(rate_class, error.retry_after_s or 0.0)
                else:
                    self.pacer.observe(rate_class, response.headers)
            if isinstance(error, RateLimited):
                with self._counting:
                    self.stats.rate_limited += 1
            if error is not None:
                raise error
            return response

        return run_with_retries(
            self.policy,
            self.stats,
            attempt,
            window_s=(self.limits or ECHOWIN_LIMITS).window_s,
            sleep=self._sleep,
            on_retry=self.on_retry,
            on_rate_wait=lambda seconds: self._waiting(rate_class, seconds),
        )


def _listing(
    page: int, limit: int, search: str | None, sort_by: str, sort_order: str,
    tag_ids: Sequence[str],
) -> tuple[dict[str, Any], RateClass]:  # fmt: skip
    """The query of a page of the listing, and its rate class (a filter is a search)."""
    params: dict[str, Any] = {"page": page, "limit": limit, "sortBy": sort_by,
                              "sortOrder": sort_order}  # fmt: skip
    if search:
        params["search"] = search
    if tag_ids:
        params["tagIds"] = ",".join(tag_ids)
    return params, RateClass.SEARCH if search or tag_ids else RateClass.GET


def _contact(contact_id: str) -> str:
    # Every byte but letters and digits escaped, dots included: an id like "../tags"
    # must stay one path segment, never climb to another endpoint.
    return f"/api/v1/contacts/{quote(contact_id, safe='').replace('.', '%2E')}"


def _transport_error(
    exc: httpx.HTTPError, method: str, path: str, *, safe: bool, host: str
) -> ApiError:
    kind = type(exc).__name__
    if isinstance(exc, _NOT_SENT):
        return TransportError(f"could not reach {host} ({kind})", method=method, path=path)
    if safe:
        return TransportError(f"no response ({kind})", method=method, path=path)
    return OutcomeUnknown(
        f"the request was sent but no response came ({kind}); it may have been applied",
        method=method,
        path=path,
    )


def _status_error(response: httpx.Response, method: str, path: str) -> ApiError | None:
    status = response.status_code
    if status < 400:
        return None
    body = _json(response, strict=False)
    message = str(body.get("error") or response.reason_phrase or f"HTTP {status}")
    where = {"method": method, "path": path}
    if status == 429:
        return RateLimited(message, retry_after_s=_retry_after(response), **where)
    if status in RETRYABLE_STATUSES:
        return ServerError(message, status=status, **where)
    if status in (401, 403):
        return AuthRefused(message, status=status, **where)
    if status == 404:
        return NotFound(message, status=status, **where)
    if status == 400:
        raw = body.get("details")
        details = [
            FieldProblem(str(d.get("field", "")), str(d.get("message", "")))
            for d in (raw if isinstance(raw, list) else [])
            if isinstance(d, dict)
        ]
        return ValidationFailed(message, details=details, status=status, **where)
    return FatalApiError(f"HTTP {status}: {message}", status=status, **where)


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds from `Retry-After` (a number; the sandbox may send fractions), else until
    `X-RateLimit-Reset` (Unix seconds), else None: the 429 did not say."""
    headers = response.headers
    try:
        return max(0.0, float(headers.get("retry-after", "")))
    except ValueError:
        pass
    try:
        return max(0.0, float(headers.get("x-ratelimit-reset", "")) - time.time())
    except ValueError:
        return None


def _json(response: httpx.Response, *, strict: bool = True) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        if not strict:
            return {}
        raise _unexpected(response, "not JSON") from None
    if not isinstance(body, dict):
        if not strict:
            return {}
        raise _unexpected(response, "not a JSON object")
    return body


def _parse(model: type[M], value: Any, response: httpx.Response) -> M:
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise _unexpected(
            response, f"not a {model.__name__}: {exc.error_count()} problems"
        ) from None


def _unexpected(response: httpx.Response, what: str) -> FatalApiError:
    request = response.request
    return FatalApiError(
        f"unexpected response ({what})", method=request.method, path=request.url.path
    )
