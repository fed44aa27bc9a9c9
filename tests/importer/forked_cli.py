"""Run several `bulk-sync` commands at once, each a forked copy of this process.

Eight fresh interpreters each importing bulk-sync (pandas, pandera, phonenumbers)
cost over 10 s of CPU on two cores before the first request; forked from one
process that has paid that once, each command starts at once. Each child is a
process of its own, running the console script's `main()` with its own arguments,
environment, working directory and stderr file, to its own exit code.

    python -m tests.importer.forked_cli < jobs.json

stdin: a JSON list of `{"args": [...], "env": {...}, "cwd": DIR, "stderr": FILE}`;
stdout: a JSON list of the exit codes, in the same order.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import Any

import bulk_sync.cli
import bulk_sync.connect  # what the commands import late: imported once, before the forks
import bulk_sync.importer


def _child(job: dict[str, Any]) -> int:
    os.environ.update(job["env"])
    os.chdir(job["cwd"])
    err = os.open(job["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    out = os.open(os.devnull, os.O_WRONLY)
    os.dup2(err, 2)
    os.dup2(out, 1)
    sys.argv = ["bulk-sync", *job["args"]]
    try:
        bulk_sync.cli.main()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    except BaseException:
        traceback.print_exc()
        return 70
    return 0


def main() -> None:
    jobs = json.load(sys.stdin)
    pids = []
    for job in jobs:
        pid = os.fork()
        if pid == 0:
            code = 70
            try:
                code = _child(job)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        pids.append(pid)
    codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]
    json.dump(codes, sys.stdout)


if __name__ == "__main__":
    main()
