"""The one exception tree of bulk-sync, split by what the caller can do about it.

    BulkSyncError
    ├── ConfigError            settings are wrong (no key, plain http to a remote host)
    ├── InputError             the source file cannot be read as a table; nothing was sent
    │   └── MappingError           the mapping file is wrong; `line` says where
    └── ApiError               talking to echowin went wrong
        ├── RetryableError     trying again may work; the client does, within its policy
        │   ├── RateLimited        429; `retry_after_s` says how long to wait, if known
        │   ├── ServerError        500, 502, 503, 504
        │   └── TransportError     no answer, and the request surely did not take effect
        │                          (not sent, or a read that is safe to repeat)
        ├── FatalApiError      trying again will not help
        │   ├── AuthRefused        401 or 403: the key is missing, wrong or revoked
        │   ├── NotFound           404
        │   ├── ValidationFailed   400; `details` lists every bad field
        │   │   └── TagRefused         a tag a row names cannot be created
        │   └── PaginationError    the server served a page that repeats the last one
        └── OutcomeUnknown     a write (POST, bulk) may have reached the server, but its
                               answer never came: never resent blindly; reconcile first

Third-party exceptions (httpx) are translated in one place, `client.http`, with
`raise ... from exc`. No message here ever holds the API key.
"""

from __future__ import annotations

from dataclasses import dataclass


class BulkSyncError(Exception):
    """Base of every error bulk-sync raises on purpose."""


class ConfigError(BulkSyncError):
    """A setting is missing or not allowed; nothing was sent."""


class InputError(BulkSyncError):
    """The source file cannot be used as it is; nothing was sent (exit 2)."""


class MappingError(InputError):
    """The mapping is wrong: unreadable YAML, an unknown key, a column the file lacks."""

    def __init__(self, message: str, *, source: str = "", line: int | None = None) -> None:
        where = f"{source}: " if source else ""
        where += f"line {line}: " if line else ""
        super().__init__(where + message)
        self.line = line


class ApiError(BulkSyncError):
    """A request to the echowin API failed; `method` and `path` say which."""

    def __init__(self, message: str, *, method: str = "", path: str = "") -> None:
        where = f"{method} {path}: " if method else ""
        super().__init__(where + message)
        self.method = method
        self.path = path


class RetryableError(ApiError):
    """The request failed in a way that trying again may fix."""


class RateLimited(RetryableError):
    """`retry_after_s`: from `Retry-After`, else `X-RateLimit-Reset`; None when the 429
    said neither (the client then backs off exponentially, up to the limit's window)."""

    def __init__(
        self, message: str, *, retry_after_s: float | None, method: str = "", path: str = ""
    ) -> None:
        super().__init__(message, method=method, path=path)
        self.retry_after_s = retry_after_s


class ServerError(RetryableError):
    def __init__(self, message: str, *, status: int, method: str = "", path: str = "") -> None:
        super().__init__(message, method=method, path=path)
        self.status = status


class TransportError(RetryableError):
    """No response, and the request cannot have taken effect (or was a safe read)."""


class FatalApiError(ApiError):
    """Trying again would fail the same way; `status` is the HTTP status, if one came."""

    def __init__(
        self, message: str, *, status: int | None = None, method: str = "", path: str = ""
    ) -> None:
        super().__init__(message, method=method, path=path)
        self.status = status


class AuthRefused(FatalApiError):
    pass


class NotFound(FatalApiError):
    pass


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str


class ValidationFailed(FatalApiError):
    def __init__(
        self,
        message: str,
        *,
        details: list[FieldProblem],
        status: int | None = 400,
        method: str = "",
        path: str = "",
    ) -> None:
        shown = "; ".join(f"{d.field}: {d.message}" for d in details)
        text = f"{message} ({shown})" if shown else message
        super().__init__(text, status=status, method=method, path=path)
        self.details = details


class TagRefused(ValidationFailed):
    """echowin refused to create a tag a row names: that row is rejected, not the run."""


class PaginationError(FatalApiError):
    pass


class OutcomeUnknown(ApiError):
    """A non-idempotent write whose response was lost: it may or may not have committed."""


class Interrupted(BulkSyncError):
    """The run was asked to stop (SIGINT, SIGTERM) and did, between two batches (exit 3)."""
