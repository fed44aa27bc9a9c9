"""One running sandbox: its settings and the state its layers share."""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .faults import DEFAULT_LATE_COMMIT_DELAY_S, FaultInjector, FaultPlan
from .ratelimit import RateLimiter
from .seed import Seed, load_seed
from .store import Store
from .ties import UnstableTies

DEFAULT_API_KEY = "sandbox"


@dataclass(frozen=True)
class SandboxSettings:
    """How a sandbox runs; the CLI's `sandbox serve` flags map onto these one to one."""

    db: Path | None = None  # None: in memory
    api_key: str = DEFAULT_API_KEY
    admin_token: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    seed: Path | None = None  # None: the packaged samples/sandbox-seed.yaml
    rate_limits: bool = True
    time_scale: float = 1.0
    faults: FaultPlan = field(default_factory=FaultPlan)
    fault_seed: int = 0
    # How long a `timeout` fault holds the response (unless the client hangs up first).
    timeout_hold_s: float = 600.0
    # How long after the client gave up a `late_commit` request runs (its write commits).
    late_commit_delay_s: float = DEFAULT_LATE_COMMIT_DELAY_S
    # Contacts that tie on the sort key come back in a fresh order on every list request.
    unstable_ties: bool = False
    tie_seed: int = 0  # seed of the sequence of those orders
    # A request body longer than this is refused with 413 before it is read, as the
    # gateways in front of web APIs do.
    max_body_bytes: int = 1 << 20

    def __repr__(self) -> str:  # keys stay out of logs and tracebacks
        return (
            f"SandboxSettings(db={self.db!r}, rate_limits={self.rate_limits},"
            f" time_scale={self.time_scale}, faults={self.faults.as_dict()},"
            f" unstable_ties={self.unstable_ties})"
        )


class RequestStats:
    """Counts of answered requests by (method, route template, status) and of faults."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[tuple[str, str, int]] = Counter()
        self._faults: Counter[str] = Counter()

    def record(self, method: str, route: str, status: int) -> None:
        with self._lock:
            self._requests[(method, route, status)] += 1

    def fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] += 1

    def snapshot(self) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
        with self._lock:
            requests = [
                {"method": m, "route": r, "status": s, "count": n}
                for (m, r, s), n in sorted(self._requests.items())
            ]
            faults = [{"kind": k, "count": n} for k, n in sorted(self._faults.items())]
        return requests, faults

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._faults.clear()


class Sandbox:
    """The store, the seed, the limiter, the fault injector, the tie order and the counters
    of one server."""

    def __init__(self, settings: SandboxSettings) -> None:
        self.settings = settings
        self.seed: Seed = load_seed(settings.seed)
        self.store = Store(settings.db)
        self.limiter = RateLimiter(time_scale=settings.time_scale) if settings.rate_limits else None
        self.faults = FaultInjector(
            settings.faults, settings.fault_seed, late_commit_delay_s=settings.late_commit_delay_s
        )
        self.ties = UnstableTies(settings.unstable_ties, settings.tie_seed)
        self.stats = RequestStats()
        # Set (on the server's event loop) when the server starts to stop: held responses
        # end and pending late commits run at once, within uvicorn's graceful shutdown.
        self.stopping = asyncio.Event()
        self.default_team = self.store.teams.ensure(self.seed, settings.api_key)
        self._teams_by_key: dict[str, str] = {}

    def team_for_key(self, api_key: str) -> str | None:
        """The team an API key belongs to (keys never change team, so hits are cached)."""
        team_id = self._teams_by_key.get(api_key)
        if team_id is None:
            team_id = self.store.teams.for_key(api_key)
            if team_id is not None:
                self._teams_by_key[api_key] = team_id
        return team_id

    def reset(self) -> None:
        """All data back to the seed; counters, rate windows, the fault sequence and the
        tie orders restart."""
        self.store.teams.delete_all()
        self._teams_by_key.clear()
        self.default_team = self.store.teams.ensure(self.seed, self.settings.api_key)
        self.stats.reset()
        if self.limiter is not None:
            self.limiter.reset()
        self.faults.configure(self.faults.plan)
        self.ties.configure()

    def close(self) -> None:
        self.store.close()
