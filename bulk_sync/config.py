"""Settings as typed values, resolved in one place: flag, then environment, then default.

The API key is an `ApiKey`, whose repr and str never show it; only the HTTP layer
calls `reveal()`.
"""

from __future__ import annotations

import ipaddress
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .errors import ConfigError

DEFAULT_API_URL = "https://echo.win"
ENV_API_URL = "ECHOWIN_API_URL"
ENV_API_KEY = "ECHOWIN_API_KEY"
ENV_REGION = "BULK_SYNC_REGION"
DEFAULT_REGION = "US"


class ApiKey:
    """An API key that keeps itself out of logs, reprs, tracebacks and reports."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not value or value != value.strip():
            raise ConfigError("the API key is empty or has surrounding spaces")
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "ApiKey('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ApiKey) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[object, ...]:  # never pickled into a journal or a report
        raise TypeError("ApiKey cannot be pickled")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_api_url(url: str) -> str:
    """The base URL without a trailing slash; refuses plain http to a non-loopback host,
    and a URL that carries anything a key could hide in (never echoing it)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        raise ConfigError("the API URL cannot be read: it must look like https://host") from None
    if any(c in url for c in "@?#"):
        raise ConfigError(
            "the API URL must not carry credentials, a query or a fragment (it is not "
            "shown here in case it holds the key): give just https://host, and the key in "
            f"{ENV_API_KEY} or a --api-key-file"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        if parts.scheme and parts.hostname:
            raise ConfigError(f"the API URL must start with https://, not {parts.scheme}://")
        raise ConfigError(  # no scheme: it may be the key itself, set in the wrong place
            "the API URL must look like https://host (what was given is not shown, in case "
            "it is the key)"
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigError(
            f"refusing plain http:// to {parts.hostname}: the API key would cross the network "
            "unencrypted; use https://"
        )
    return url.rstrip("/")


def read_key_file(path: Path) -> str:
    """The key in `path`, which no one but its owner may read (as ssh asks of its keys)."""
    try:
        mode = path.stat().st_mode
        if os.name == "posix" and mode & 0o077:
            who = "readable" if mode & 0o044 else "writable"
            raise ConfigError(
                f"{path} is {who} by others (mode {stat.S_IMODE(mode):04o}): run chmod 600 {path}"
            )
        key = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"cannot read the API key file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"the API key file {path} is not text") from None
    if not key:
        raise ConfigError(f"the API key file {path} is empty")
    return key


@dataclass(frozen=True)
class ApiSettings:
    """Where the API is and the key that opens it."""

    url: str
    api_key: ApiKey
    # What the journal and the team index know this API by: its URL, or for the
    # in-process sandbox (a new port every run) its database file.
    account: str | None = None

    @property
    def identity(self) -> str:
        return self.account or self.url

    @classmethod
    def resolve(
        cls,
        *,
        api_url: str | None = None,
        api_key_file: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> ApiSettings:
        """Flags first (`--api-url`, `--api-key-file`), then the environment, then defaults."""
        env = os.environ if env is None else env
        url = check_api_url(api_url or env.get(ENV_API_URL) or DEFAULT_API_URL)
        if api_key_file is not None:
            key = read_key_file(api_key_file)
        else:
            key = env.get(ENV_API_KEY, "").strip()
            if not key:
                raise ConfigError(f"no API key: set {ENV_API_KEY} or pass --api-key-file FILE")
        return cls(url=url, api_key=ApiKey(key))


@dataclass(frozen=True)
class RetryPolicy:
    """How hard the client tries before giving up on a request."""

    max_attempts: int = 8
    max_total_s: float = 300.0  # across all attempts of one request, waits included
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    retry_after_floor_s: float = 0.05  # a 429 never retries at once, whatever it says
    retry_after_cap_s: float = 120.0  # a Retry-After beyond this is treated as this


@dataclass(frozen=True)
class RateLimits:
    """Requests per window for each class, as echowin documents them."""

    get: int = 100
    search: int = 30
    write: int = 60
    bulk: int = 10
    window_s: float = 60.0

    def scaled(self, time_scale: float) -> RateLimits:
        """The same limits in windows `time_scale` times shorter (the sandbox's --time-scale)."""
        return RateLimits(self.get, self.search, self.write, self.bulk, self.window_s / time_scale)


def resolve_region(flag: str | None, mapping_region: str | None, env: Mapping[str, str]) -> str:
    """The default region for numbers without a country code.

    `--region` first, then the mapping's `defaults.region` (it knows its file), then
    BULK_SYNC_REGION, then US.
    """
    import phonenumbers

    chosen = flag or mapping_region or env.get(ENV_REGION) or DEFAULT_REGION
    region = chosen.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        origin = "--region" if flag else (ENV_REGION if not mapping_region else "the mapping")
        raise ConfigError(
            f"{origin}: unknown region {chosen!r}: use a two-letter country code such as US or GB"
        )
    return region
