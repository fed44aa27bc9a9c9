"""A local, stateful emulator of the echowin Contacts API.

Layers, outside in: `server` (uvicorn, in a thread or the foreground) -> `gateway`
(faults, API keys, rate limits, counters) -> `app`/`api`/`control` (routes) ->
`store` (SQLite, knows nothing of HTTP). The sandbox never imports the client.
"""

from .faults import FAULT_KINDS, FaultPlan, FaultSpecError
from .runtime import DEFAULT_API_KEY, Sandbox, SandboxSettings
from .seed import SeedError
from .server import RunningSandbox, running_sandbox, serve

__all__ = [
    "DEFAULT_API_KEY",
    "FAULT_KINDS",
    "FaultPlan",
    "FaultSpecError",
    "RunningSandbox",
    "Sandbox",
    "SandboxSettings",
    "SeedError",
    "running_sandbox",
    "serve",
]
