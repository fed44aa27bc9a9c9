"""Settings as typed values, resolved in one place: flag, then environment, then default.

The API key is an `ApiKey`, whose repr and str never show it; only the HTTP layer
calls `reveal()`.
"""

from __future__ import annotations

import ipaddress
import os
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
    """The base URL without a trailing slash; refuses plain http to a non-loopback host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"the API URL must look like https://host, not {url!r}")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigError(
            f"refusing plain http:// to {parts.hostname}: the API key would cross the network "
            "unencrypted; use https://"
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigError("the API URL must not carry a query, a fragment or credentials")
    return url.rstrip("/")


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
            try:
                key = api_key_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(
                    f"cannot read the API key file {api_key_file}: {exc.strerror or exc}"
                ) from None
            if not key:
                raise ConfigError(f"the API key file {api_key_file} is empty")
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
