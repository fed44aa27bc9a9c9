"""The `bulk-sync` command line: parse options, call the library, print the outcome.

The only module that imports Typer or Rich. Exit codes are the contract's:
0 done, 1 rows rejected, 2 usage/config/input error, 3 could not finish, 4 locked.
"""

from __future__ import annotations

import dataclasses
import signal
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from . import __version__

EXIT_USAGE = 2

app = typer.Typer(
    name="bulk-sync",
    help="Move contacts between spreadsheets and the echowin CRM.",
    epilog="Example:  bulk-sync sandbox serve --db sandbox.db",
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)
sandbox_app = typer.Typer(
    help="A local emulator of the echowin Contacts API, for rehearsing imports safely.",
    no_args_is_help=True,
    epilog="Example:  bulk-sync sandbox serve --db sandbox.db",
)
app.add_typer(sandbox_app, name="sandbox")
err = Console(stderr=True, highlight=False)
out = Console(highlight=False)


def _fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        out.print(f"bulk-sync {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Move contacts between spreadsheets and the echowin CRM."""


class RateLimitsMode(StrEnum):
    echowin = "echowin"
    off = "off"


@sandbox_app.command(
    "serve",
    epilog=(
        "Examples:\n\n"
        "  bulk-sync sandbox serve\n\n"
        "  bulk-sync sandbox serve --db sandbox.db --port 9000\n\n"
        "  bulk-sync sandbox serve --time-scale 60 --faults 503=0.1,drop_after=0.05 --fault-seed 7"
    ),
)
def sandbox_serve(
    host: Annotated[
        str, typer.Option(help="Address to bind; only loopback unless you say so.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port; 0 picks a free one.")] = 8765,
    db: Annotated[
        Path | None,
        typer.Option(
            help="SQLite file that keeps the data across restarts (default: memory).",
            dir_okay=False,
        ),
    ] = None,
    api_key: Annotated[str, typer.Option(help="The default team's API key.")] = "sandbox",
    admin_token: Annotated[
        str | None, typer.Option(help="Token for the /_sandbox/ control API (default: random).")
    ] = None,
    seed: Annotated[
        Path | None,
        typer.Option(
            help="Seed YAML for new teams (default: samples/sandbox-seed.yaml).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    rate_limits: Annotated[
        RateLimitsMode, typer.Option(help="echowin's limits per team, or none.")
    ] = RateLimitsMode.echowin,
    time_scale: Annotated[
        float,
        typer.Option(
            min=0.001, help="Divide every rate-limit window by N (60: a minute is a second)."
        ),
    ] = 1.0,
    faults: Annotated[
        str | None,
        typer.Option(
            help="Comma list of kind=probability; kinds: 429, 500, 502, 503, latency, "
            "drop_before, drop_after, timeout."
        ),
    ] = None,
    fault_seed: Annotated[int, typer.Option(help="Seed of the fault sequence.")] = 0,
    latency_ms: Annotated[int, typer.Option(min=0, help="What a latency fault adds.")] = 500,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = False,
) -> None:
    """Serve a local, stateful echowin sandbox until Ctrl+C."""
    from .sandbox import FaultPlan, FaultSpecError, SandboxSettings, SeedError, serve

    try:
        plan = FaultPlan.parse(faults, latency_ms=latency_ms)
    except FaultSpecError as exc:
        raise _fail(f"--faults: {exc}") from None
    settings = SandboxSettings(
        db=db,
        api_key=api_key,
        seed=seed,
        rate_limits=rate_limits is RateLimitsMode.echowin,
        time_scale=time_scale,
        faults=plan,
        fault_seed=fault_seed,
    )
    if admin_token:
        settings = dataclasses.replace(settings, admin_token=admin_token)

    def ready(url: str) -> None:
        out.print(f"echowin sandbox listening on [bold]{url}[/]")
        out.print(f"  API key:      {settings.api_key}   (header X-API-Key)")
        out.print(f"  admin token:  {settings.admin_token}   (header X-Sandbox-Admin)")
        out.print(f"  data:         {db or 'in memory (lost on exit)'}")
        limits = "off" if not settings.rate_limits else f"echowin, time scale {time_scale:g}"
        out.print(f"  rate limits:  {limits}")
        if plan.probabilities:
            spec = ", ".join(f"{k}={v:g}" for k, v in plan.probabilities.items())
            out.print(f"  faults:       {spec} (seed {fault_seed})")
        out.print("Press Ctrl+C to stop.")

    # Ctrl+C and SIGTERM are the normal way to stop: exit 0, no traceback.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        serve(settings, host=host, port=port, access_log=access_log, on_ready=ready)
    except KeyboardInterrupt:
        pass
    except SeedError as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:
        raise _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def main() -> None:
    app()
