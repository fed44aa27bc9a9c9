"""The state directory: where imports keep their journal, and the lock that keeps runs apart.

One run at a time per state directory. The lock is an OS file lock (`filelock`), so
the kernel lets go of it when its process dies, however it dies: a lock left by a
killed run is simply free again. Beside it, `run.lock.json` says who holds it, for
the message a second run prints before it exits 4.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import filelock
import platformdirs

from .errors import BulkSyncError, ConfigError
from .files import private_dir, write_atomically

ENV_STATE_DIR = "BULK_SYNC_STATE_DIR"
LOCK_NAME = "run.lock"
HOLDER_NAME = "run.lock.json"


class Locked(BulkSyncError):
    """Another run holds the state directory's lock (exit 4)."""


def resolve_state_dir(flag: Path | None, env: Mapping[str, str]) -> Path:
    """`--state-dir`, else `BULK_SYNC_STATE_DIR`, else the user's state directory."""
    if flag is not None:
        return flag
    if env.get(ENV_STATE_DIR):
        return Path(env[ENV_STATE_DIR])
    return platformdirs.user_state_path("bulk-sync", appauthor=False)


@contextmanager
def run_lock(state_dir: Path, command: str) -> Iterator[None]:
    """Hold the state directory for this run, or raise Locked naming who holds it
    (ConfigError when the directory cannot be made or written)."""
    lock = filelock.FileLock(state_dir / LOCK_NAME, mode=0o600, blocking=False)
    try:
        private_dir(state_dir)
        lock.acquire()
    except filelock.Timeout:
        raise Locked(
            f"another bulk-sync run holds the state directory {state_dir} "
            f"({_holder(state_dir)}); wait for it to finish, or give this run its own "
            "--state-dir"
        ) from None
    except OSError as exc:  # after Timeout, which is an OSError too
        raise ConfigError(
            f"cannot use {state_dir} as the state directory ({exc.strerror or exc}); "
            f"give another with --state-dir or {ENV_STATE_DIR}"
        ) from None
    holder = state_dir / HOLDER_NAME
    try:
        write_atomically(
            holder,
            json.dumps(
                {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "command": command,
                }
            ),
        )
        yield
    finally:
        holder.unlink(missing_ok=True)
        lock.release()


def _holder(state_dir: Path) -> str:
    try:
        info = json.loads((state_dir / HOLDER_NAME).read_text(encoding="utf-8"))
        return f"pid {info['pid']} on {info['host']}, since {info['started_at']}: {info['command']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "holder unknown: it has just started, or it is stopping"


def command_line() -> str:
    """This process's command, for the lock holder's description (no secrets in argv)."""
    return " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])
