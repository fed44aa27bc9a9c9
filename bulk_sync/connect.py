"""An API client for a command: the real echowin, or `--sandbox` started in-process.

The one module that knows both the client and the sandbox (they never import each
other): `--sandbox` serves `.bulk-sync/sandbox.db` of the current directory on a free
loopback port for the length of the command, so `import --sandbox` and a later
`export --sandbox` see the same data.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from .client import EchowinClient
from .config import ApiKey, ApiSettings
from .errors import ConfigError

SANDBOX_DB = Path(".bulk-sync") / "sandbox.db"


@contextmanager
def connect(
    *,
    api_url: str | None = None,
    api_key_file: Path | None = None,
    sandbox: bool = False,
    env: Mapping[str, str] | None = None,
) -> Iterator[EchowinClient]:
    if not sandbox:
        settings = ApiSettings.resolve(
            api_url=api_url, api_key_file=api_key_file, env=os.environ if env is None else env
        )
        with EchowinClient(settings) as client:
            yield client
        return
    if api_url or api_key_file:
        raise ConfigError("--sandbox runs its own server: leave out --api-url and --api-key-file")
    from .sandbox import DEFAULT_API_KEY, SandboxSettings, running_sandbox

    SANDBOX_DB.parent.mkdir(exist_ok=True)
    with running_sandbox(SandboxSettings(db=SANDBOX_DB)) as running:
        settings = ApiSettings(url=running.url, api_key=ApiKey(DEFAULT_API_KEY))
        with EchowinClient(settings) as client:
            yield client
