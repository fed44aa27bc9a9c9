"""The `bulk-sync` command line: parse options, call the library, print the outcome.

The only module that imports Typer or Rich. Exit codes are the contract's:
0 done, 1 rows rejected, 2 usage/config/input error, 3 could not finish, 4 locked.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from . import __version__
from .presets import preset_names

if TYPE_CHECKING:
    from .client import EchowinClient
    from .importer import ImportResult
    from .importer import Progress as ImportProgress

EXIT_USAGE = 2

app = typer.Typer(
    name="bulk-sync",
    help="Move contacts between spreadsheets and the echowin CRM.",
    epilog=(
        "Examples:\n\n"
        "  bulk-sync validate leads.csv --mapping leads.yaml   # check a file, send nothing\n\n"
        "  bulk-sync import leads.csv --mapping leads.yaml --api-key-file ~/.echowin-key\n\n"
        "  bulk-sync export backup-{date}.xlsx --keep 14      # a nightly verified backup\n\n"
        "  bulk-sync import leads.csv --sandbox               # rehearse on a local sandbox"
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
sandbox_app = typer.Typer(
    help="A local emulator of the echowin Contacts API, for rehearsing imports safely.",
    no_args_is_help=True,
    epilog="Example:  bulk-sync sandbox serve --db sandbox.db",
)
app.add_typer(sandbox_app, name="sandbox")
mapping_app = typer.Typer(
    help="Mappings: YAML files that say which column goes where.",
    no_args_is_help=True,
    epilog="Example:  bulk-sync mapping suggest leads.csv -o leads.yaml",
)
app.add_typer(mapping_app, name="mapping")
err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)


def _fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    _error(message)
    return typer.Exit(code)


def _error(message: str) -> None:
    """`error: ...` on stderr; the message is never read as Rich markup."""
    err.print(Text.assemble(("error:", "bold red"), " ", message))


def _version(value: bool) -> None:
    if value:
        out.print(f"bulk-sync {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug", envvar="BULK_SYNC_DEBUG", help="Show the traceback of an unexpected error."
        ),
    ] = False,
) -> None:
    """Move contacts between spreadsheets and the echowin CRM."""
    _DEBUG[0] = debug


_DEBUG = [False]  # --debug, set by the root callback before any command runs


@contextlib.contextmanager
def _connected(
    api_url: str | None,
    api_key_file: Path | None,
    sandbox: bool,
    timeout: float | None,
    *,
    offline_ok: bool = False,
) -> Iterator[EchowinClient]:
    """The client a command uses; each retry is told on stderr as it happens. With
    `offline_ok` (validate) and no key, the file's own rules only."""
    from .connect import connect

    with connect(
        api_url=api_url,
        api_key_file=api_key_file,
        sandbox=sandbox,
        timeout_s=timeout,
        offline_ok=offline_ok,
    ) as client:
        client.on_retry = lambda message: err.print(f"{_now()} {message}", markup=False)
        yield client


def _now() -> str:
    """A log line's time: ISO 8601 with the date and the UTC offset."""
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def _api_failure(
    exc: Exception, *, sent: bool, fail: Callable[[str, int], typer.Exit] | None = None
) -> typer.Exit:
    """An API error that ended a command, with what to do next (through `fail`: a
    run's `_Log.fail` logs it as the end line too)."""
    from .errors import AuthRefused, Interrupted

    fail = fail or _fail
    if isinstance(exc, AuthRefused) and not sent:
        return fail(
            f"echowin refused the API key ({exc.status}): check ECHOWIN_API_KEY / --api-key-file",
            EXIT_USAGE,
        )
    if isinstance(exc, Interrupted) and not sent:
        return fail("stopped before anything was sent", 3)
    if sent:
        return fail(f"{exc}; re-run the same command to resume", 3)
    return fail(f"{exc}; nothing was sent: run the same command again", 3)


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
        str,
        typer.Option(metavar="ADDRESS", help="Address to bind; only loopback unless you say so."),
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, metavar="PORT", help="Port; 0 picks a free one.")
    ] = 8765,
    db: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="SQLite file that keeps the data across restarts (default: memory).",
            dir_okay=False,
        ),
    ] = None,
    api_key: Annotated[
        str, typer.Option(metavar="KEY", help="The default team's API key.")
    ] = "sandbox",
    admin_token: Annotated[
        str | None,
        typer.Option(
            metavar="TOKEN", help="Token for the /_sandbox/ control API (default: random)."
        ),
    ] = None,
    seed: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Seed YAML for new teams (default: samples/sandbox-seed.yaml).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    rate_limits: Annotated[
        RateLimitsMode,
        typer.Option(metavar="echowin|off", help="echowin's limits per team, or none (off)."),
    ] = RateLimitsMode.echowin,
    time_scale: Annotated[
        float,
        typer.Option(
            min=0.001,
            metavar="N",
            help="Divide every rate-limit window by N (60: a minute is a second).",
        ),
    ] = 1.0,
    faults: Annotated[
        str | None,
        typer.Option(
            metavar="KIND=P,...",
            help="Comma list of kind=probability; kinds: 429, 500, 502, 503, latency, "
            "drop_before, drop_after, timeout, late_commit.",
        ),
    ] = None,
    fault_seed: Annotated[int, typer.Option(metavar="N", help="Seed of the fault sequence.")] = 0,
    latency_ms: Annotated[
        int, typer.Option(min=0, metavar="MS", help="Milliseconds a latency fault adds.")
    ] = 500,
    unstable_ties: Annotated[
        bool,
        typer.Option(
            "--unstable-ties", help="Contacts that tie on the sort key: a fresh order per request."
        ),
    ] = False,
    access_log: Annotated[bool, typer.Option("--access-log", help="Log every request.")] = False,
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
        unstable_ties=unstable_ties,
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


# -- import / validate -------------------------------------------------------------------

SourceArg = Annotated[
    Path,
    typer.Argument(
        metavar="SOURCE",
        help="The spreadsheet: .csv .tsv .txt .xlsx .xlsm .xls .ods",
        dir_okay=False,
        show_default=False,
    ),
]
MappingOpt = Annotated[
    Path | None,
    typer.Option(
        "--mapping",
        "-m",
        metavar="FILE|PRESET",
        help=f"Mapping YAML, or a preset's name: {', '.join(preset_names())} "
        "(default: guessed from the headers, and shown).",
    ),
]
SheetOpt = Annotated[
    str | None, typer.Option(metavar="NAME", help="Sheet of a workbook (default: the first).")
]
RegionOpt = Annotated[
    str | None,
    typer.Option(
        metavar="CC",
        help="Default region for numbers without +country code, e.g. US or GB "
        "[env: BULK_SYNC_REGION; default US].",
    ),
]
MatchOpt = Annotated[
    str | None,
    typer.Option(
        metavar="KEYS",
        help="What makes a row the same contact, in the file and in echowin: number, email, "
        "or number,email (either) (default: the mapping's match, else number).",
    ),
]


class ImportMode(StrEnum):
    create = "create"
    upsert = "upsert"
    update = "update"


ModeOpt = Annotated[
    ImportMode,
    typer.Option(
        help="create: new contacts only, rows already in echowin are skipped; upsert: also "
        "update the existing ones; update: only update existing ones."
    ),
]
TimeoutOpt = Annotated[
    float | None,
    typer.Option(
        metavar="SECONDS",
        help="Seconds to wait for an answer; a lost answer is given as long to commit "
        "[env: BULK_SYNC_TIMEOUT; default 30].",
        min=0.1,
    ),
]
ReportDirOpt = Annotated[
    Path | None,
    typer.Option(
        metavar="DIR",
        help="Where reports go; {date} or {datetime} in it are filled in (UTC); a folder "
        "holding another import's reports that created contacts is refused (default: "
        "./bulk-sync-reports/UTC-TIME-import/, or -validate/ for a check).",
    ),
]
ApiUrlOpt = Annotated[
    str | None,
    typer.Option(
        metavar="URL", help="echowin base URL [env: ECHOWIN_API_URL; default https://echo.win]."
    ),
]
ApiKeyFileOpt = Annotated[
    Path | None,
    typer.Option(
        metavar="FILE",
        help="File holding the API key, readable by you only (chmod 600) "
        "[env: ECHOWIN_API_KEY holds the key itself].",
        dir_okay=False,
    ),
]
SandboxOpt = Annotated[
    bool,
    typer.Option(
        "--sandbox", help="Use a local sandbox in .bulk-sync/sandbox.db instead of echowin."
    ),
]
KeepReportsOpt = Annotated[
    int,
    typer.Option(
        "--keep-reports",
        metavar="N",
        min=0,
        help="Keep the N newest report folders bulk-sync made in ./bulk-sync-reports/ and "
        "delete older ones (0: keep all; never anything else, never with --report-dir).",
    ),
]
LogFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--log-file",
        metavar="FILE",
        help="Also append the dated log lines to FILE.",
        dir_okay=False,
    ),
]
JsonLogsOpt = Annotated[
    bool, typer.Option("--json-logs", help="Log lines as JSON objects, one a line.")
]
QuietOpt = Annotated[
    bool,
    typer.Option(
        "--quiet", "-q", help="Only warnings and errors (on stderr) and the final summary."
    ),
]
StateDirOpt = Annotated[
    Path | None,
    typer.Option(
        metavar="DIR",
        help="The journal (what was sent) and the run lock [env: BULK_SYNC_STATE_DIR; "
        "default: your user state directory].",
        file_okay=False,
    ),
]
FreshOpt = Annotated[
    bool,
    typer.Option(
        "--fresh",
        help="Forget what the journal knows of this file, mapping and team (rows already "
        "in echowin are still found and skipped, unless --allow-duplicates).",
    ),
]


@app.command(
    "import",
    epilog=(
        "Examples:\n\n"
        "  bulk-sync import samples/leads.xlsx --mapping mappings/leads.yaml --sandbox\n\n"
        "  bulk-sync import leads.csv --mapping leads.yaml --dry-run\n\n"
        "  bulk-sync import nightly.csv -m leads.yaml --mode upsert  # new rows created,"
        " changed ones updated\n\n"
        "  ECHOWIN_API_KEY=... bulk-sync import leads.csv -m leads.yaml --region GB\n\n"
        "  bulk-sync import leads.csv -m leads.yaml --state-dir /var/lib/bulk-sync  # cron:"
        " a killed run is resumed by the same command"
    ),
)
def import_command(
    source: SourceArg,
    mapping: MappingOpt = None,
    sheet: SheetOpt = None,
    region: RegionOpt = None,
    match: MatchOpt = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Read, validate and plan; send nothing (same as `validate`)."
        ),
    ] = False,
    report_dir: ReportDirOpt = None,
    state_dir: StateDirOpt = None,
    fresh: FreshOpt = False,
    mode: ModeOpt = ImportMode.create,
    allow_duplicates: Annotated[
        bool,
        typer.Option(
            "--allow-duplicates",
            help="Create every row without looking for it in echowin first (a first load "
            "into an empty team); re-running then duplicates.",
        ),
    ] = False,
    overwrite_blanks: Annotated[
        bool,
        typer.Option(
            "--overwrite-blanks", help="On update, an empty cell clears the stored value."
        ),
    ] = False,
    full_compare: Annotated[
        bool,
        typer.Option(
            "--full-compare",
            help="Read the whole team and compare each row field by field, instead of "
            "trusting what the last run wrote.",
        ),
    ] = False,
    refresh_index: Annotated[
        bool,
        typer.Option(
            "--refresh-index",
            help="Read the whole team into its index in the state directory (after numbers "
            "or emails were edited in echowin).",
        ),
    ] = False,
    timeout: TimeoutOpt = None,
    api_url: ApiUrlOpt = None,
    api_key_file: ApiKeyFileOpt = None,
    sandbox: SandboxOpt = False,
    quiet: QuietOpt = False,
    log_file: LogFileOpt = None,
    json_logs: JsonLogsOpt = False,
    keep_reports: KeepReportsOpt = 20,
) -> None:
    """Import contacts from a spreadsheet; every row gets a status in results.csv.

    A row whose number (--match) is already in echowin is never created again: create
    mode skips it, upsert and update modes update it, merging tags and custom fields
    and keeping what an empty cell would erase.

    Every batch is journaled before it is sent: after a crash, a lost connection or
    Ctrl-C, the same command resumes and never sends a created row twice.

    Exit codes: 0 no row rejected, 1 some rows rejected (see rejected.csv),
    2 bad file, mapping or settings (nothing sent), 3 the run could not finish
    (re-run to resume), 4 another run holds the state directory.
    """
    extra = {"mode": mode.value, "allow_duplicates": allow_duplicates,
             "overwrite_blanks": overwrite_blanks, "full_compare": full_compare,
             "refresh_index": refresh_index, "keep_reports": keep_reports}  # fmt: skip
    _import(source, mapping, sheet, region, match, dry_run, report_dir, api_url, api_key_file,
            sandbox, quiet, state_dir, fresh, extra, timeout, log_file, json_logs)  # fmt: skip


@app.command(
    "validate",
    epilog=(
        "Examples:\n\n"
        "  bulk-sync validate samples/leads.csv --mapping mappings/leads.yaml --sandbox\n\n"
        "  bulk-sync validate export.csv   # no mapping: guessed from the headers"
    ),
)
def validate_command(
    source: SourceArg,
    mapping: MappingOpt = None,
    sheet: SheetOpt = None,
    region: RegionOpt = None,
    match: MatchOpt = None,
    report_dir: ReportDirOpt = None,
    api_url: ApiUrlOpt = None,
    api_key_file: ApiKeyFileOpt = None,
    sandbox: SandboxOpt = False,
    quiet: QuietOpt = False,
    log_file: LogFileOpt = None,
    json_logs: JsonLogsOpt = False,
    keep_reports: KeepReportsOpt = 20,
) -> None:
    """Check a spreadsheet and plan its import without sending anything (import --dry-run)."""
    _import(source, mapping, sheet, region, match, True, report_dir, api_url, api_key_file,
            sandbox, quiet, extra={"keep_reports": keep_reports}, log_file=log_file,
            json_logs=json_logs)  # fmt: skip


@app.command(
    "undo",
    epilog=(
        "Examples:\n\n"
        "  bulk-sync undo bulk-sync-reports/20261201T101500Z-import --dry-run\n\n"
        "  bulk-sync undo bulk-sync-reports/20261201T101500Z-import --yes --sandbox"
    ),
)
def undo_command(
    report_dir: Annotated[
        Path,
        typer.Argument(
            metavar="REPORT_DIR",
            help="The report folder of the import to undo.",
            show_default=False,
        ),
    ],
    yes: Annotated[bool, typer.Option("--yes", help="Delete without asking (scripts).")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be deleted; delete nothing.")
    ] = False,
    state_dir: StateDirOpt = None,
    api_url: ApiUrlOpt = None,
    api_key_file: ApiKeyFileOpt = None,
    sandbox: SandboxOpt = False,
    timeout: TimeoutOpt = None,
    quiet: QuietOpt = False,
    log_file: LogFileOpt = None,
    json_logs: JsonLogsOpt = False,
) -> None:
    """Delete exactly the contacts an import created (its 'created' rows), paced and
    resumable; asks first on a terminal. Its report goes in REPORT_DIR/undo/.

    Exit codes: 0 done (or nothing left to delete), 1 some contacts were refused,
    2 not an import's reports or a key of another team (nothing deleted), 3 stopped
    (run the same command to go on), 4 another run holds the state directory.
    """
    from .errors import ApiError, ConfigError, InputError, Interrupted
    from .state import Locked
    from .undo import UndoOptions, describe, plan_undo, plan_warnings, undo_import

    stop = _StopOnSignal()
    options = UndoOptions(report_dir, state_dir, should_stop=stop.requested)
    try:
        plan = plan_undo(options)
    except InputError as exc:
        raise _fail(str(exc)) from None
    nothing_to_do = dry_run or plan.done_before is not None or not plan.to_delete
    asking = not yes and not nothing_to_do
    if quiet and not asking and not nothing_to_do:
        for warning in plan_warnings(plan):  # on stderr, quiet or not: cron mails them
            err.print(Text.assemble(("warning:", "yellow"), " ", warning))
    else:  # the summary of a run that sends nothing, or what the question is about
        out.print(describe(plan), markup=False)
    if nothing_to_do:
        raise typer.Exit(0)
    if asking:
        if not sys.stdin.isatty():
            raise _fail("not on a terminal: add --yes to delete without asking")
        if not typer.confirm(f"Delete these {len(plan.to_delete)} contacts?", default=False):
            out.print("Nothing was deleted.")
            raise typer.Exit(0)
    log = _Log(quiet, log_file, json_logs)
    view = _RunView(quiet, log, "deleting")

    def progress(done: int, total: int) -> None:  # counted for the whole undo, as its end is
        done, total = done + plan.settled, total + plan.settled
        view.update(done, total, "deleting", f"deleted {done} of {total}", done=done, total=total)

    with log:
        try:
            with stop, _connected(api_url, api_key_file, sandbox, timeout) as client, view:
                view.watch(client)
                log.line("start", f"undo: the import of {plan.source} ({report_dir.resolve()}) "
                         f"on {client.settings.url}: {_n(len(plan.to_delete), 'contact')} to "
                         f"delete; {'resumed' if plan.settled else 'new'} job"
                         + (f", {plan.settled} settled by an earlier undo" if plan.settled else ""),
                         report_dir=str(report_dir.resolve()), host=client.settings.url,
                         to_delete=len(plan.to_delete), settled=plan.settled)  # fmt: skip
                result = undo_import(options, client, plan=plan, on_progress=progress)
        except (InputError, ConfigError) as exc:
            raise log.fail(str(exc)) from None
        except Locked as exc:
            raise log.fail(str(exc), code=4) from None
        except (ApiError, Interrupted) as exc:
            raise _api_failure(exc, sent=False, fail=log.fail) from None
        c = result.counts
        what = f"deleted {c['deleted']}, already gone {c['already_gone']}, refused {c['failed']}"
        log.line("end", f"stopped: {result.error}; {what}" if result.error else f"finished: {what}",
                 exit_code=result.exit_code, **c)  # fmt: skip
    out.print(f"Deleted {_n(c['deleted'], 'contact')}; {c['already_gone']} were gone already; "
              f"{c['failed']} refused. Report: {result.report_dir.resolve()}/")  # fmt: skip
    if result.error:
        _error(f"the undo stopped: {result.error}; run the same command to go on")
    raise typer.Exit(result.exit_code)


@mapping_app.command(
    "suggest",
    epilog=(
        "Examples:\n\n"
        "  bulk-sync mapping suggest leads.csv -o leads.yaml\n\n"
        "  bulk-sync mapping suggest contacts.xlsx --sheet Leads --sandbox"
    ),
)
def mapping_suggest_command(
    source: SourceArg,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", metavar="FILE", help="Write the mapping here (default: print it)."
        ),
    ] = None,
    sheet: SheetOpt = None,
    region: RegionOpt = None,
    api_url: ApiUrlOpt = None,
    api_key_file: ApiKeyFileOpt = None,
    sandbox: SandboxOpt = False,
) -> None:
    """Write a mapping for a spreadsheet, each choice with its reason (no key needed;
    with one, the team's custom fields and their options are matched too)."""
    from .config import resolve_region
    from .errors import ApiError, ConfigError, InputError
    from .files import write_atomically
    from .sources import open_source
    from .suggest import sample_rows, suggest

    try:
        with _connected(api_url, api_key_file, sandbox, None, offline_ok=True) as client:
            opened = open_source(source, sheet=sheet)
            suggestion = suggest(
                opened.headers,
                sample_rows(opened),
                client.custom_fields(),
                region=resolve_region(region, None, os.environ),
                source=source.name,
            )
    except (InputError, ConfigError) as exc:
        raise _fail(str(exc)) from None
    except ApiError as exc:
        raise _api_failure(exc, sent=False) from None
    text = suggestion.yaml()
    if not suggestion.has_number:
        err.print("warning: no column looks like a phone number; name one under fields: number")
    if output is None:
        out.print(text, markup=False, end="")
        return
    try:
        write_atomically(output, text)
    except OSError as exc:
        raise _fail(f"cannot write {output}: {exc.strerror or exc}") from None
    err.print(f"wrote {output.resolve()}; check it, then: bulk-sync validate {source} "
              f"--mapping {output}")  # fmt: skip


def _import(
    source: Path,
    mapping: Path | None,
    sheet: str | None,
    region: str | None,
    match: str | None,
    dry_run: bool,
    report_dir: Path | None,
    api_url: str | None,
    api_key_file: Path | None,
    sandbox: bool,
    quiet: bool,
    state_dir: Path | None = None,
    fresh: bool = False,
    extra: dict[str, Any] | None = None,
    timeout: float | None = None,
    log_file: Path | None = None,
    json_logs: bool = False,
) -> None:
    from .errors import ApiError, BulkSyncError, ConfigError, InputError, Interrupted
    from .importer import ImportOptions, import_file
    from .state import Locked

    match_keys = None
    if match is not None:
        match_keys = tuple(k.strip() for k in match.split(","))
        if not match_keys or any(k not in ("number", "email") for k in match_keys):
            raise _fail(f"--match: expected number, email or number,email, not {match!r}")
    stop = _StopOnSignal()
    options = ImportOptions(
        source, mapping, sheet, region, match_keys, dry_run, report_dir,
        state_dir=state_dir, fresh=fresh, should_stop=stop.requested, **(extra or {}),
    )  # fmt: skip
    log = _Log(quiet, log_file, json_logs)
    progress = _ProgressView(quiet, log)
    try:
        with (
            stop,
            _connected(api_url, api_key_file, sandbox, timeout, offline_ok=dry_run) as client,
            progress,
        ):
            progress.watch(client)
            result = import_file(
                options, client, on_progress=progress.update, on_start=progress.start
            )
        progress.end(result)
    except (InputError, ConfigError) as exc:
        raise log.fail(str(exc)) from None
    except Locked as exc:
        raise log.fail(str(exc), code=4) from None
    except (ApiError, Interrupted) as exc:  # before the first write: import_file keeps later ones
        raise _api_failure(exc, sent=False, fail=log.fail) from None
    except KeyboardInterrupt:
        raise log.fail("stopped at once, before anything was sent", code=3) from None
    except BulkSyncError as exc:  # pragma: no cover - every subclass is handled above
        raise log.fail(str(exc)) from None
    finally:
        log.close()
    _print_result(result, quiet)
    if result.exception is not None and _DEBUG[0]:
        raise result.exception
    raise typer.Exit(result.exit_code)


@app.command(
    "export",
    epilog=(
        "Examples:\n\n"
        "  bulk-sync export backup.xlsx --sandbox\n\n"
        "  bulk-sync export 'backups/contacts-{date}.csv' --keep 14   # nightly, 14 kept\n\n"
        "  bulk-sync export vip.csv --tag VIP\n\n"
        "  bulk-sync export leads-again.csv --mapping mappings/leads.yaml\n\n"
        "  bulk-sync export full.xlsx --include notes,assignments,boards"
    ),
)
def export_command(
    output: Annotated[
        Path,
        typer.Argument(
            help="The backup: .csv or .xlsx; {date} or {datetime} in the name are filled in (UTC).",
            dir_okay=False,
        ),
    ],
    tag: Annotated[
        list[str] | None,
        typer.Option("--tag", metavar="NAME", help="Only contacts with this tag (repeatable)."),
    ] = None,
    search: Annotated[
        str | None,
        typer.Option(metavar="TEXT", help="Only contacts whose names, email or number hold this."),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--mapping",
            "-m",
            metavar="FILE|PRESET",
            help="Write the columns of this mapping (it imports the file back).",
        ),
    ] = None,
    include: Annotated[
        str | None,
        typer.Option(
            metavar="KINDS",
            help="Also notes, assignments, boards (comma list): one request per contact and "
            "kind, on sheets of their own (XLSX) or files beside OUTPUT (CSV); resumable.",
        ),
    ] = None,
    state_dir: StateDirOpt = None,
    keep: Annotated[
        int | None,
        typer.Option(
            min=1,
            metavar="N",
            help="After a verified export, delete all but the newest N backups matching "
            "OUTPUT's {date} pattern (never the new one, never a file without a manifest).",
        ),
    ] = None,
    timeout: TimeoutOpt = None,
    api_url: ApiUrlOpt = None,
    api_key_file: ApiKeyFileOpt = None,
    sandbox: SandboxOpt = False,
    quiet: QuietOpt = False,
    log_file: LogFileOpt = None,
    json_logs: JsonLogsOpt = False,
) -> None:
    """Back up every contact to CSV or XLSX, verified complete (or exit 3 saying why).

    Writes OUTPUT and OUTPUT.manifest.json (rows, sha256, counts, verified). The file
    takes its name only once it is complete; `mappings/echowin-backup.yaml` imports it
    back.
    """
    from .errors import ApiError, AuthRefused, ConfigError, InputError
    from .exporter import ExportOptions, ExportProgress, export_contacts

    stop = _StopOnSignal()
    from .exporter.details import parse_include

    try:
        kinds = parse_include(include)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    options = ExportOptions(
        output, tuple(tag or ()), search, keep, mapping=mapping, include=kinds,
        state_dir=state_dir, should_stop=stop.requested,
    )  # fmt: skip
    log = _Log(quiet, log_file, json_logs)
    view = _RunView(quiet, log, "contacts")

    def start(info: dict[str, Any]) -> None:
        filters = [f"tag {t}" for t in info["filters"]["tags"]]
        if info["filters"]["search"]:
            filters.append(f"search {info['filters']['search']!r}")
        known = info["details_known"]
        job = f"resumed job, {known} details read by an earlier run" if known else "new job"
        log.line("start", f"export: {info['host']} into {info['output']} ({info['format']}); "
                 f"{info['contacts']} contacts, {' and '.join(filters) or 'no filter'}; {job}",
                 **info)  # fmt: skip

    def progress(p: ExportProgress) -> None:
        what = "contacts" if p.stage == "contacts" else "details read"
        if p.stage == "details" and p.rows == 0 and not quiet:
            eta = f", about {_duration(p.eta_min * 60)} at echowin's GET limit" if p.eta_min else ""
            view.say(f"reading {', '.join(kinds)} of each contact: {p.total} requests{eta}; if "
                     "stopped, the same command goes on where it stopped")  # fmt: skip
        of = f" of {p.total}" if p.total is not None else ""
        view.update(p.rows, p.total, what, f"{what} {p.rows}{of}", stage=p.stage, rows=p.rows,
                    total=p.total)  # fmt: skip

    with log:
        try:
            with (
                stop,
                _connected(api_url, api_key_file, sandbox, timeout) as client,
                view,
            ):
                view.watch(client)
                result = export_contacts(options, client, on_progress=progress, on_start=start)
        except (ConfigError, InputError) as exc:
            raise log.fail(str(exc)) from None
        except AuthRefused as exc:
            raise _api_failure(exc, sent=False, fail=log.fail) from None
        except ApiError as exc:
            raise log.fail(f"{exc}; run the export again", code=3) from None
        except OSError as exc:
            raise log.fail(
                f"cannot write {exc.filename or output} ({exc.strerror or exc}); free some space "
                "or write elsewhere, then run the export again",
                code=3,
            ) from None
        verified = "verified" if result.verified else f"not verified: {result.reason}"
        log.line("end", f"exported {_n(result.rows, 'contact')} in {_n(result.pages, 'page')}, "
                 f"{result.seconds:.1f} s: {verified}", rows=result.rows, pages=result.pages,
                 seconds=result.seconds, verified=result.verified, reason=result.reason,
                 file=str(result.path.resolve()), exit_code=result.exit_code)  # fmt: skip
    path = result.path.resolve()
    if result.verified:
        out.print(f"Exported {_n(result.rows, 'contact')} in {_n(result.pages, 'page')}, "
                  f"{result.seconds:.1f} s: {path} (verified)")  # fmt: skip
    else:
        err.print(f"[bold red]error:[/] the export could not be verified complete: {result.reason}")
        err.print(f"  {result.rows} contacts are in {path}; run the export again")
    for gone in result.deleted:
        out.print(f"  deleted the older backup {gone}")
    raise typer.Exit(result.exit_code)


class _StopOnSignal:
    """SIGINT or SIGTERM asks the import to stop after the batch in flight; a second
    one stops it at once (the journal still knows what was sent)."""

    def __init__(self) -> None:
        self._asked = False
        self._previous: dict[int, Any] = {}

    def requested(self) -> bool:
        return self._asked

    def _handle(self, signum: int, frame: object) -> None:
        if self._asked:
            raise KeyboardInterrupt
        self._asked = True
        err.print(f"{signal.Signals(signum).name}: stopping after the batch in flight...")

    def __enter__(self) -> _StopOnSignal:
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


class _Log:
    """Dated log lines: on stderr when not on a terminal (cron), and in `--log-file`;
    one JSON object a line with `--json-logs`. Times are ISO 8601 with the UTC offset.
    Import, export and undo all log through one: a start line, `every` for a line at
    most each `EVERY_S` while the run goes on, and an end line (or `fail`)."""

    EVERY_S = 10.0

    def __init__(self, quiet: bool, log_file: Path | None = None, json_lines: bool = False):
        self._json = json_lines
        self._stderr = not quiet and not err.is_terminal
        self._last = time.monotonic()
        self.ended = False
        try:
            self._file = log_file.open("a", encoding="utf-8") if log_file else None
        except OSError as exc:
            raise _fail(f"--log-file {log_file}: {exc.strerror or exc}") from None

    def __enter__(self) -> _Log:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def line(self, event: str, message: str, **fields: Any) -> None:
        self._emit(event, message, fields, on_stderr=True)

    def _emit(self, event: str, message: str, fields: dict[str, Any], *, on_stderr: bool) -> None:
        if self._json:
            text = json.dumps({"time": _now(), "event": event, "message": message, **fields})
        else:
            text = f"{_now()} {message}"
        if self._stderr and on_stderr:
            err.print(text, markup=False, highlight=False)
        if self._file is not None:
            self._file.write(text + "\n")
            self._file.flush()
        self.ended = self.ended or event == "end"

    def every(self, event: str, message: str, **fields: Any) -> None:
        """A line, unless one was logged less than `EVERY_S` ago (a slow run's heartbeat)."""
        if time.monotonic() - self._last >= self.EVERY_S:
            self._last = time.monotonic()
            self.line(event, message, **fields)

    def fail(self, message: str, code: int = EXIT_USAGE) -> typer.Exit:
        """The run ends on an error: the log file's end line says so; stderr has the
        `error: ...` line (`_fail`) as its end."""
        if not self.ended:
            fields = {"exit_code": code, "error": message}
            self._emit("end", f"stopped: {message}", fields, on_stderr=False)
        return _fail(message, code)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class _Count(ProgressColumn):
    """`done/total`; `~total` while the total is an estimate (a CSV's, from the bytes
    read so far), `?` while there is none."""

    def render(self, task: Task) -> Text:
        total = "?" if task.total is None else f"{int(task.total)}"
        if task.total is not None and task.fields.get("estimated"):
            total = "~" + total
        return Text(f"{int(task.completed)}/{total}", style="progress.download")


class _RunView:
    """What import, export and undo show while they run: on a terminal a Rich bar on
    stderr (done/total, a rate-limit wait counting down, the time left), redrawn on
    each update and during waits (no refresh thread, so workers can be forked); else a
    log line every 10 s and at each wait longer than 10 s; nothing on screen if quiet."""

    def __init__(self, quiet: bool, log: _Log, description: str, log_message: str = "") -> None:
        self._log = log
        self._bar = None if quiet or not err.is_terminal else Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), _Count(),
            TimeElapsedColumn(), TimeRemainingColumn(), console=err, transient=True,
            auto_refresh=False,
        )  # fmt: skip
        self._task = self._bar.add_task(description, total=None) if self._bar else None
        self._shown: tuple[str, str, dict[str, Any]] = (description, log_message, {})
        self._wait: tuple[str, float] | None = None  # rate class, monotonic deadline

    def __enter__(self) -> _RunView:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def watch(self, client: EchowinClient) -> None:
        """Be told of the client's rate-limit waits, and redraw while they last."""
        client.on_wait, client.on_tick = self.waiting, self.tick

    def say(self, message: str) -> None:
        """A line for a person: above the bar on a terminal, else a log line."""
        if self._bar is not None:
            err.print(message, markup=False)
        else:
            self._log.line("note", message)

    def update(
        self,
        done: int,
        total: int | None,
        description: str,
        log_message: str,
        /,
        *,
        estimated: bool = False,
        **fields: Any,
    ) -> None:
        """Progress: `description` for the bar, `log_message` for a heartbeat line."""
        self._wait = None
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=done, total=total, estimated=estimated)
        self._shown = (description, log_message, fields)
        self.tick()

    def waiting(self, rate_class: str, seconds: float) -> None:
        self._wait = (rate_class, time.monotonic() + seconds)
        if seconds > _Log.EVERY_S:
            self._log.line("wait", f"waiting {seconds:.0f} s for echowin's {rate_class} rate "
                           "limit", rate_class=rate_class, seconds=round(seconds, 1))  # fmt: skip
        self.tick()

    def tick(self) -> None:
        description, message, fields = self._shown
        waiting = ""
        if self._wait is not None and (left := self._wait[1] - time.monotonic()) > 0.5:
            waiting = f"; waiting {left:.0f} s for the {self._wait[0]} rate limit"
        if self._bar is not None and self._task is not None:
            # during a wait, the wait alone: rows/s would stand still, and a narrow
            # terminal would drop the count and the bar to fit a longer line
            shown = waiting.removeprefix("; ") or description
            self._bar.update(self._task, description=shown, refresh=True)
        elif message:
            self._log.every("progress", message + waiting, **fields)


class _ProgressView:
    """An import's progress (rows, rows/s, created/rejected so far) through a `_RunView`,
    and its start and end lines."""

    def __init__(self, quiet: bool, log: _Log) -> None:
        self._log = log
        self._view = _RunView(quiet, log, "reading", "rows 0: reading")
        self._started = time.monotonic()

    def __enter__(self) -> _ProgressView:
        self._started = time.monotonic()
        self._view.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._view.__exit__()

    def watch(self, client: EchowinClient) -> None:
        self._view.watch(client)

    def start(self, info: dict[str, Any]) -> None:
        settled = info["rows_known"]
        known = f", {settled} rows settled by an earlier run" if settled else ""
        rows = f" ({info['rows']} rows)" if info.get("rows") else ""
        self._log.line(
            "start",
            f"{info['mode']}: {info['source']}{rows} into {info['host']}; match "
            f"{' or '.join(info['match'])}; {info['job']} job{known}",
            **info,
        )

    def update(self, p: ImportProgress) -> None:
        rate = p.rows / max(time.monotonic() - self._started, 1e-9)
        detail = f"created {p.created}, rejected {p.rejected}"
        of = f" of {'~' if p.estimated else ''}{p.total}" if p.total else ""
        self._view.update(p.rows, p.total, f"{rate:.0f} rows/s, {detail}",
                          f"rows {p.rows}{of}: {detail}", estimated=p.estimated,
                          rows=p.rows)  # fmt: skip

    def end(self, result: ImportResult) -> None:
        c = result.counts
        names = {"skipped": "would be sent"} if result.plan is not None else {}
        what = ", ".join(f"{names.get(k, k)} {c[k]}" for k in ("created", "updated", "unchanged",
                                                              "duplicates", "rejected", "skipped")
                         if c[k])  # fmt: skip
        if result.error:
            self._log.line("end", f"stopped after {c['rows']} rows: {result.error}",
                           exit_code=result.exit_code, **c)  # fmt: skip
        else:
            self._log.line("end", f"finished {c['rows']} rows: {what or 'nothing to do'}",
                           exit_code=result.exit_code, **c)  # fmt: skip


def _print_result(result: ImportResult, quiet: bool) -> None:
    """The outcome in words that say what this run did, and a table of the counts."""
    c, s = result.counts, result.summary
    dry = result.plan is not None
    if result.mapping_yaml and not quiet:
        out.print("No --mapping given; the headers were matched like this (saved as "
                  f"{(result.report_dir / 'mapping-used.yaml').resolve()}):")  # fmt: skip
        out.print(result.mapping_yaml.rstrip(), markup=False)
        out.print()
    for warning in result.warnings:  # on stderr, quiet or not: cron mails them
        err.print(Text.assemble(("warning:", "yellow"), " ", warning))
    if s.get("offline"):
        out.print("No API key: the file was checked by its own rules only (the team's custom "
                  "fields, tags and boards were not read)")  # fmt: skip
    rows = _n(c["rows"], "row")
    if dry:
        out.print(f"Checked {result.source}: {rows}")
    elif result.error:
        out.print(f"Stopped {result.source} after {rows} (the rest were not reached)")
    else:
        out.print(f"Imported {result.source}: {rows}")
    earlier = int(s.get("confirmed_earlier") or 0)
    table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 2))
    lines = [
        ("created now", c["created"] - earlier),
        ("created by an earlier run of this job (not sent again)", earlier),
        ("updated", c["updated"]),
        ("unchanged (nothing sent)", c["unchanged"]),
        ("duplicates within the file", c["duplicates"]),
        ("rejected (see rejected.csv)", c["rejected"]),
        ("would be sent" if dry else _SKIPPED.get(str(s.get("mode")), "skipped"), c["skipped"]),
    ]
    for label, count in lines:
        if count:
            table.add_row(f"  {count}", label)
    if table.row_count:
        out.print(table)
    else:
        out.print("  nothing to do")
    if result.plan is not None:
        plan = result.plan
        up_to, at_least = "", ""
        if plan.lookup is not None:
            out.print(f"  finding rows already in echowin: {plan.lookup.describe()}")
            up_to = "" if plan.lookup.kind == "none" else "up to "  # less what echowin has
        elif s.get("offline"):  # no team was read: what it holds is not counted
            up_to, at_least = "up to ", "at least "
        calls = ", ".join(f"{n} {k.upper()}" for k, n in plan.calls.items() if n)
        tags = f" and {_n(len(plan.tags_to_create), 'new tag')}" if plan.tags_to_create else ""
        took = _duration(plan.minimum_s)
        out.print(
            f"  a real run would create {up_to}{_n(plan.contacts, 'contact')}{tags} in "
            f"{at_least}{calls} requests, taking "
            f"{'at least ' + took if plan.minimum_s >= 60 else 'under a minute'} at echowin's "
            "rate limits"
        )
        if s.get("offline"):
            used = plan.tags_unchecked
            tags = ""
            if used:
                tags = f", nor which of the {_n(len(used), 'tag')} the rows carry it lacks: "
                tags += ", ".join(used)
            out.print(f"  (without a key it is not known which rows echowin has already{tags})")
    if c.get("unconfirmed"):
        err.print(
            f"[yellow]warning:[/] {c['unconfirmed']} of the created rows could not be matched"
            " to a contact (echowin counted them created): look them up; they are 'unconfirmed'"
            " in results.csv, and never sent again"
        )
    if s.get("offline"):
        out.print(f"  no request sent (offline: no API key), {s['duration_s']:.1f} s in all")
    else:
        out.print(
            f"  {_n(s['requests'], 'request')}, {_n(s['retries'], 'retry', 'retries')}, "
            f"{s['rate_limit_wait_s']:.1f} s waiting for rate limits, {s['duration_s']:.1f} s "
            "in all"
        )
    names = "summary.html, results.csv, rejected.csv" + (", partial" if result.error else "")
    out.print(f"  reports: {result.report_dir.resolve()}/ ({names})")
    if result.error:
        _error(f"the run stopped: {result.error}")
        if result.sent_anything:
            err.print("  re-run the same command to resume: rows already created are not sent")
        elif result.plan is None and result.exit_code == 3:
            err.print("  nothing was sent: run the same command again")
        if result.exception is not None and not _DEBUG[0]:
            err.print("  (add --debug, as in `bulk-sync --debug import ...`, for the details)")


_SKIPPED = {
    "create": "skipped (already in echowin)",
    "upsert": "skipped",
    "update": "skipped (not found in echowin)",
}


def _n(count: int, one: str, many: str | None = None) -> str:
    """`1 row`, `2 rows`."""
    return f"{count} {one if count == 1 else (many or one + 's')}"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def main() -> None:
    """The console script: every command, and a last resort for the unforeseen."""
    try:
        app()
    except Exception as exc:  # a bug or a broken machine: one sentence, not a traceback
        if _DEBUG[0]:
            raise
        _error(
            f"unexpected {type(exc).__name__}: {exc}. Reports of an unfinished run stay "
            "`.partial`; re-run the same command to resume, or add --debug "
            "(bulk-sync --debug ...) to see where it failed"
        )
        sys.exit(3)
