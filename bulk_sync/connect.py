"""An API client for a command: the real echowin, or `--sandbox` started in-process.

The one module that knows both the client and the sandbox (they never import each
other): `--sandbox` serves `.bulk-sync/sandbox.db` of the current directory on a free
loopback port for the length of the command, so `import --sandbox` and a later
`export --sandbox` see the same data.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

from .client import EchowinClient
from .config import ENV_API_KEY, ApiKey, ApiSettings, RetryPolicy
from .errors import ConfigError

SANDBOX_DB = Path(".bulk-sync") / "sandbox.db"
ENV_TIMEOUT = "BULK_SYNC_TIMEOUT"
ENV_RETRIES = "BULK_SYNC_RETRIES"
DEFAULT_TIMEOUT_S = 30.0


def read_timeout(flag: float | None, env: Mapping[str, str]) -> httpx.Timeout:
    """How long a response is awaited (`--timeout`, then BULK_SYNC_TIMEOUT, then 30 s).
    A lost answer is also given this long to commit before it is looked for."""
    raw: object = flag if flag is not None else env.get(ENV_TIMEOUT) or DEFAULT_TIMEOUT_S
    try:
        seconds = float(raw)  # type: ignore[arg-type]
    except ValueError:
        raise ConfigError(f"{ENV_TIMEOUT}: expected seconds, not {raw!r}") from None
    if not 0 < seconds <= 3600:
        raise ConfigError(f"the timeout must be between 0 and 3600 seconds, not {seconds:g}")
    return httpx.Timeout(seconds, connect=min(10.0, seconds))


@contextmanager
def _offline(timeout: httpx.Timeout, policy: RetryPolicy) -> Iterator[EchowinClient]:
    from .sandbox import DEFAULT_API_KEY, SandboxSettings, running_sandbox

    with tempfile.TemporaryDirectory(prefix="bulk-sync-offline-") as tmp:
        seed = Path(tmp) / "seed.yaml"
        seed.write_text(_EMPTY_TEAM, encoding="utf-8")
        with running_sandbox(SandboxSettings(seed=seed, rate_limits=False)) as running:
            settings = ApiSettings(running.url, ApiKey(DEFAULT_API_KEY), account=OFFLINE)
            with EchowinClient(settings, limits=None, timeout=timeout, policy=policy) as client:
                yield client


def retry_policy(env: Mapping[str, str]) -> RetryPolicy:
    """How many times one request is tried (BULK_SYNC_RETRIES, default 8): fewer gives
    up sooner on an unreachable API (each wait backs off, to 30 s)."""
    raw = env.get(ENV_RETRIES) or str(RetryPolicy.max_attempts)
    if not raw.isdigit() or not 1 <= int(raw) <= 50:
        raise ConfigError(f"{ENV_RETRIES}: expected a number of attempts from 1 to 50, not {raw!r}")
    return RetryPolicy(max_attempts=int(raw))


OFFLINE = "offline"  # the account of a dry run without a key: the file's own rules only
_EMPTY_TEAM = "users: [{firstName: Offline, lastName: Check, email: offline@bulk-sync.invalid}]\n"


@contextmanager
def connect(
    *,
    api_url: str | None = None,
    api_key_file: Path | None = None,
    sandbox: bool = False,
    timeout_s: float | None = None,
    env: Mapping[str, str] | None = None,
    offline_ok: bool = False,
) -> Iterator[EchowinClient]:
    """A client for echowin, or for the sandbox (`sandbox`). With `offline_ok` (a dry
    run) and no key anywhere, a team of its own in memory, with no custom fields, tags
    or boards: the file is checked by its own rules only (`client.settings.account` is
    OFFLINE)."""
    env = os.environ if env is None else env
    timeout = read_timeout(timeout_s, env)
    policy = retry_policy(env)
    if offline_ok and not sandbox and api_key_file is None and not env.get(ENV_API_KEY, "").strip():
        with _offline(timeout, policy) as client:
            yield client
        return
    if not sandbox:
        settings = ApiSettings.resolve(api_url=api_url, api_key_file=api_key_file, env=env)
        with EchowinClient(settings, timeout=timeout, policy=policy) as client:
            yield client
        return
    if api_url or api_key_file:
        raise ConfigError("--sandbox runs its own server: leave out --api-url and --api-key-file")
    from .sandbox import DEFAULT_API_KEY, SandboxSettings, running_sandbox

    SANDBOX_DB.parent.mkdir(exist_ok=True)
    with running_sandbox(SandboxSettings(db=SANDBOX_DB)) as running:
        settings = ApiSettings(
            url=running.url,
            api_key=ApiKey(DEFAULT_API_KEY),
            account=f"sandbox:{SANDBOX_DB.resolve()}",
        )
        with EchowinClient(settings, timeout=timeout, policy=policy) as client:
            yield client
