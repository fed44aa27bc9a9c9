"""Serving a sandbox: in the foreground for `bulk-sync sandbox serve`, or in a thread.

`running_sandbox()` is what tests and `--sandbox` use: a real HTTP server on an
ephemeral loopback port, stopped when the `with` block ends.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from .app import create_app
from .runtime import Sandbox, SandboxSettings

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class RunningSandbox:
    """Where a started sandbox listens, and how to talk to it."""

    url: str
    sandbox: Sandbox

    @property
    def api_key(self) -> str:
        return self.sandbox.settings.api_key

    @property
    def admin_headers(self) -> dict[str, str]:
        return {"X-Sandbox-Admin": self.sandbox.settings.admin_token}

    def __repr__(self) -> str:
        return f"RunningSandbox(url={self.url!r})"


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket; raises OSError when the address is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class _Server(uvicorn.Server):
    """uvicorn, which tells the sandbox first when it starts to stop.

    Held responses (`timeout`, `late_commit`) then end at once, and pending late
    commits run without their delay, so that all of it is done within the graceful
    shutdown instead of being cancelled halfway.
    """

    def __init__(self, config: uvicorn.Config, sandbox: Sandbox) -> None:
        super().__init__(config)
        self.sandbox = sandbox

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.sandbox.stopping.set()
        await super().shutdown(sockets)


def _server(sandbox: Sandbox, *, access_log: bool) -> uvicorn.Server:
    config = uvicorn.Config(
        create_app(sandbox=sandbox),
        lifespan="off",
        log_level="info" if access_log else "warning",
        access_log=access_log,
        # nothing a fault holds may keep a stopping server alive
        timeout_graceful_shutdown=1,
    )
    return _Server(config, sandbox)


def serve(
    settings: SandboxSettings,
    *,
    host: str = LOOPBACK,
    port: int = 8765,
    access_log: bool = False,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Run a sandbox in the foreground until interrupted (Ctrl+C or SIGTERM)."""
    sandbox = Sandbox(settings)
    try:
        sock = bind(host, port)
    except OSError:
        sandbox.close()
        raise
    try:
        if on_ready:
            on_ready(_url(sock))
        _server(sandbox, access_log=access_log).run(sockets=[sock])
    finally:
        sandbox.close()
        sock.close()


@contextmanager
def running_sandbox(
    settings: SandboxSettings | None = None,
    *,
    host: str = LOOPBACK,
    port: int = 0,
    startup_timeout_s: float = 15.0,
) -> Iterator[RunningSandbox]:
    """Serve a sandbox from a background thread for the length of a `with` block."""
    sandbox = Sandbox(settings or SandboxSettings())
    try:
        sock = bind(host, port)
    except OSError:
        sandbox.close()
        raise
    server = _server(sandbox, access_log=False)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="bulk-sync-sandbox", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + startup_timeout_s
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the sandbox server did not start")
            time.sleep(0.005)
        yield RunningSandbox(url=_url(sock), sandbox=sandbox)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sandbox.close()
        sock.close()
