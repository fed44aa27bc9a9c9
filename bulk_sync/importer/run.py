"""`import_file`: read → map → validate → dedupe → push → report, streaming chunk by chunk.

File-level problems (unreadable file, bad mapping, missing column) raise InputError
before anything is sent. Rows resolve in order: rejected and duplicate rows at
once, good rows when their batch has been sent and reconciled. At most one chunk
plus one batch of rows is held in memory.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import json
import math
import os
import time
import unicodedata
from collections.abc import Callable, Iterator
from collections.abc import Mapping as EnvMapping
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..client import EchowinClient
from ..config import RateLimits, resolve_region
from ..connect import OFFLINE
from ..errors import ApiError, ConfigError, InputError, Interrupted, MappingError
from ..files import dated, file_sha256
from ..mapping import Mapping, load_mapping
from ..sources import CHUNK_ROWS, Source, open_source
from ..state import command_line, resolve_state_dir, run_lock
from ..suggest import sample_rows, suggest
from ..validation import TeamRules
from .api import contact_exists
from .journal import Job, JobKey, Journal, text_sha256
from .lookup import IndexLookup, Lookup, LookupPlan, NoLookup, SearchLookup, plan_lookup
from .outcomes import Fence
from .prepare import (
    PARALLEL_CHUNK_ROWS,
    PARALLEL_FROM_BYTES,
    Preparer,
    Workers,
    fewer_collections,
    prepared_chunks,
)
from .push import BATCH_SIZE, Pusher, TagResolver, delete_copy
from .reports import (
    REPORT_COLUMNS,
    ReportWriter,
    check_report_dir,
    default_report_dir,
    prune_reports,
)
from .rows import Identity, Progress, RowRun
from .team import INDEX_NAME, TeamIndex
from .update import Updater, UpdateRules


@dataclass(frozen=True)
class ImportOptions:
    """What to import and how; `None` means: from the mapping, the environment, or default."""

    source: Path
    mapping: Path | None = None
    sheet: str | None = None
    region: str | None = None
    match: tuple[str, ...] | None = None
    dry_run: bool = False
    report_dir: Path | None = None
    workers: int | None = None  # processes that validate; None: both cores on large files
    state_dir: Path | None = None  # the journal and the lock; None: see state.resolve_state_dir
    fresh: bool = False  # forget what the journal knows of this file, mapping and team
    mode: str = "create"  # create, upsert, update: see the contract's "Import modes"
    allow_duplicates: bool = False  # create every row: no lookup of existing contacts
    keep_reports: int = 20  # default report folders kept (bulk-sync's own; 0: all)
    overwrite_blanks: bool = False  # on update, an empty cell clears the stored value
    full_compare: bool = False  # read the team whole and compare field by field
    refresh_index: bool = False  # read the team whole into its index
    should_stop: Callable[[], bool] = field(default=lambda: False, compare=False)


MODES = ("create", "upsert", "update")


@dataclass
class Plan:
    """What a real run would do, and what it costs under the rate limits."""

    contacts: int = 0
    tags_to_create: list[str] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    minimum_s: float = 0.0
    lookup: LookupPlan | None = None  # None offline: no team was read to plan it
    tags_unchecked: list[str] = field(default_factory=list)  # offline: the tags rows use

    @classmethod
    def estimate(
        cls,
        contacts: int,
        tags: list[str],
        setup_gets: int,
        limits: RateLimits,
        lookup: LookupPlan | None = None,
    ) -> Plan:
        batches = math.ceil(contacts / BATCH_SIZE)
        looked_up = lookup.requests if lookup else {}
        # per batch: the newest contact before, the new ones after (see push.Pusher)
        calls = {
            "get": setup_gets + 2 * batches + looked_up.get("get", 0),
            "search": looked_up.get("search", 0),
            "write": len(tags),
            "bulk": batches,
        }
        per_window = {
            "get": limits.get,
            "search": limits.search,
            "write": limits.write,
            "bulk": limits.bulk,
        }
        # a full bucket at the start, then one call per window/limit seconds
        seconds = max(
            max(0, n - per_window[k]) * limits.window_s / per_window[k] for k, n in calls.items()
        )
        return cls(contacts, tags, calls, round(seconds, 1), lookup)


@dataclass
class ImportResult:
    source: str
    counts: dict[str, int]
    report_dir: Path
    mapping_yaml: str | None  # the mapping used, when it was guessed from the headers
    warnings: list[str]
    plan: Plan | None
    exit_code: int
    error: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    sent_anything: bool = False  # a write left this run: re-running resumes it
    exception: BaseException | None = field(default=None, repr=False)  # for --debug


def import_file(
    options: ImportOptions,
    client: EchowinClient,
    *,
    env: EnvMapping[str, str] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    on_start: Callable[[dict[str, Any]], None] | None = None,
) -> ImportResult:
    """Import one file; see the module docstring. Raises InputError before sending
    anything, Locked when another run holds the state directory. `on_start` hears what
    the run is about to do (file, host, mode, match, new or resumed job, rows known)."""
    env = os.environ if env is None else env
    _check(options)
    count = _workers(options)
    with contextlib.ExitStack() as stack:
        stack.enter_context(client.stopping_when(options.should_stop))
        journal = None
        state_dir = resolve_state_dir(options.state_dir, env)
        if not options.dry_run:  # a dry run sends nothing: it needs neither
            stack.enter_context(run_lock(state_dir, command_line()))
            journal = stack.enter_context(Journal(state_dir))
        workers = stack.enter_context(Workers(count)) if count > 1 else None
        return _import(
            options, client, env, on_progress, workers, journal, state_dir, stack, on_start
        )


def _check(options: ImportOptions) -> None:
    if options.mode not in MODES:
        raise ConfigError(f"--mode: expected create, upsert or update, not {options.mode!r}")
    if options.allow_duplicates and options.mode != "create":
        raise ConfigError(
            "--allow-duplicates creates every row without looking for it: it goes with "
            "--mode create only"
        )


def _import(
    options: ImportOptions,
    client: EchowinClient,
    env: EnvMapping[str, str],
    on_progress: Callable[[Progress], None] | None,
    workers: Workers | None,
    journal: Journal | None,
    state_dir: Path,
    stack: contextlib.ExitStack,
    on_start: Callable[[dict[str, Any]], None] | None = None,
) -> ImportResult:
    started = time.monotonic()
    mapping = load_mapping(options.mapping) if options.mapping else None
    if mapping is not None and options.match:
        mapping = mapping.model_copy(update={"match": options.match})
    source = _open(options, mapping)
    bound = mapping.bind(source.headers, source=source.path.name) if mapping else None

    custom_fields = client.custom_fields()
    suggested = None
    if bound is None:
        suggestion = suggest(source.headers, sample_rows(_open(options, None)), custom_fields,
                             region=resolve_region(options.region, None, env),
                             source=source.path.name)  # fmt: skip
        if options.match:
            suggestion.match = options.match
        guess = suggestion.mapping()
        if guess is None:
            shown = ", ".join(repr(h) for h in source.headers)
            raise InputError(
                f"no column looks like a phone number; write a mapping (--mapping FILE). "
                f"The columns of {source.path.name} are: {shown}"
            )
        bound = guess.bind(source.headers, source=source.path.name)
        suggested = suggestion.yaml()
    mapping = bound.mapping
    offline = client.settings.account == OFFLINE  # no team to compare the fields with
    unknown = [] if offline else _unknown_fields(mapping, custom_fields)
    warnings = [*source.warnings, *bound.warnings, *unknown]
    boards = {b.id for b in client.boards()} if mapping.board_ids is not None else None
    tags = TagResolver(client, client.tags())
    # a team with no boards refuses every board id: an empty set, never "no check"
    team = TeamRules(
        {f.name: f for f in custom_fields}, frozenset(boards) if boards is not None else None
    )
    region = resolve_region(options.region, mapping.defaults.region, env)
    preparer = Preparer(bound, team, region, bodies=not options.dry_run)

    job, resumed = None, False
    if journal is not None:
        # what the job does: an update run never resumes (and resends) a create run's batch
        used = json.dumps([mapping.to_yaml(), region, options.sheet, source.header_row,
                           options.mode, options.allow_duplicates])  # fmt: skip
        key = JobKey(file_sha256(source.path), text_sha256(used), client.settings.identity)
        job, resumed = _job(journal, key, client, str(source.path), fresh=options.fresh)
    given_dir = dated(options.report_dir) if options.report_dir is not None else None
    if given_dir is not None:  # before the team is read, before anything is sent
        try:
            check_report_dir(given_dir, _job_id(job) if job is not None and resumed else None)
        except ConfigError:
            if job is not None and journal is not None and not resumed:
                journal.forget(job)  # made just now: nothing of it was sent
            raise
    index = None
    if not options.dry_run or (state_dir / INDEX_NAME).exists():
        index = stack.enter_context(TeamIndex(state_dir, client.settings.identity, region))
    if job is not None and (doomed := job.doomed()):  # an earlier run died deleting them
        for contact_id in doomed:
            delete_copy(client, contact_id)
        job.deleted(doomed)
    # a field with several columns: each of a row's other valid values may be searched
    keys_per_row = sum(max(1, len(bound.columns.get(f"fields.{m}", ()))) for m in mapping.match)
    lookup, lookup_plan, head = _lookup(options, client, index, mapping.match, source, keys_per_row)
    rules = UpdateRules(
        frozenset(_mapped_fields(mapping)),
        options.overwrite_blanks,
        mapping.tags_mode,
        options.full_compare,
    )

    report_dir = given_dir or default_report_dir(kind="validate" if options.dry_run else "import")
    try:
        writer = ReportWriter(report_dir, source.headers, source.preamble)
    except OSError as exc:
        raise ConfigError(f"cannot write reports in {report_dir} ({exc.strerror or exc})") from None
    wait = functools.partial(_wait, should_stop=options.should_stop)
    pusher = Pusher(
        client, tags, job, region=region, grace_s=client.read_timeout_s, sleep=wait,
        dedupe=not options.allow_duplicates, horizon=head, match=mapping.match,
    )  # fmt: skip
    run = RowRun(
        writer,
        pusher,
        tags,
        options.dry_run,
        on_progress,
        source.rows_total,
        mapping.match,
        job,
        options.should_stop,
        Identity(
            options.mode,
            lookup,
            Updater(client, tags, rules, region),
            rules,
            index if lookup_plan.kind != "none" else None,
        ),
    )
    if on_start is not None:
        on_start({
            "source": str(source.path.resolve()),
            "host": client.settings.url if client.settings.account != OFFLINE else "offline",
            "mode": "dry run" if options.dry_run else options.mode,
            "match": list(mapping.match),
            "job": "resumed" if resumed else "new",
            "rows_known": job.known_rows() if job is not None and resumed else 0,
            "rows": source.total_rows,
            "lookup": lookup_plan.kind,
        })  # fmt: skip
    error, exit_code, exception = None, None, None
    try:
        if job is not None:
            for sent in job.unsettled():  # an earlier run died with this batch in flight
                pusher.reconcile(sent)
        with fewer_collections():
            size = PARALLEL_CHUNK_ROWS if workers is not None else CHUNK_ROWS
            run.all(prepared_chunks(preparer, source.raw_chunks(size), workers))
        if job is not None:
            job.finish()
    except (ApiError, Interrupted) as exc:
        error = str(exc)
    except BrokenProcessPool:
        error = "a worker process died (out of memory?)"
    except InputError as exc:  # the file broke down part way (nothing else is checked late)
        error = str(exc)
        exit_code = 3 if client.stats.writes else 2
    except KeyboardInterrupt:  # a second Ctrl-C: no more waiting for the batch in flight
        error = "stopped at once"
    except Exception as exc:  # a full disk, a bug: the reports must not look whole
        error, exception = _unexpected(exc), exc
    finally:
        writer.close(finished=error is None)
    plan = None
    if options.dry_run:
        setup_gets = 3 if boards is not None else 2
        tags_used = list(run.new_tags.values())
        plan = Plan.estimate(
            run.to_create,
            [] if offline else tags_used,  # offline: which the team lacks is not known
            setup_gets,
            client.limits or RateLimits(),
            None if offline else lookup_plan,  # nor what it holds: at least these calls
        )
        if offline:
            plan.tags_unchecked = tags_used
    counts = writer.summary_counts()
    if exit_code is None:
        exit_code = 3 if error else (1 if counts["rejected"] else 0)
    result = ImportResult(
        str(source.path), counts, report_dir, suggested, warnings, plan, exit_code, error,
        sent_anything=client.stats.writes > 0, exception=exception,
    )  # fmt: skip
    if suggested is not None:
        (report_dir / "mapping-used.yaml").write_text(suggested, encoding="utf-8")
    result.summary = _summary(result, client, mapping, region, options, started, tags.created)
    result.summary["mode"] = options.mode
    result.summary["lookup"] = None if offline else {
        "kind": lookup_plan.kind,
        "reason": lookup_plan.reason,
        "requests": lookup_plan.requests,
        "pages_read": index.pages_read if index is not None else 0,
    }  # fmt: skip
    if job is not None and journal is not None:
        result.summary["journal"] = str(journal.path)
        result.summary["job_id"] = _job_id(job)
        result.summary["resumed_job_of"] = job.created_at if resumed else None
        result.summary["confirmed_earlier"] = run.confirmed_earlier
    result.summary["made_meanwhile"] = {  # by another import at the same moment (copies.py)
        "not_sent": pusher.found_meanwhile,
        "copies_deleted": pusher.copies_deleted,
        "ranges_read_again": pusher.rereads,
    }
    writer.write_summary(result.summary)
    if options.report_dir is None:  # only the folders it names itself, in their home
        prune_reports(options.keep_reports, spare=report_dir)
    return result


def _lookup(
    options: ImportOptions,
    client: EchowinClient,
    index: TeamIndex | None,
    match: tuple[str, ...],
    source: Source,
    keys_per_row: int,
) -> tuple[Lookup, LookupPlan, Fence | None]:
    """How this run finds the rows already in the team (see lookup.py); a real run
    also brings the team's index up to date here, before anything is sent. The third:
    the newest contact before the team was read (None: not read), from which the
    pusher reads what others make meanwhile."""
    whole = options.full_compare or options.refresh_index
    if options.allow_duplicates:
        plan = plan_lookup(team_count=0, known=None, rows=0, match=match, allow_duplicates=True,
                           whole=False, limits=RateLimits())  # fmt: skip
        return NoLookup(), plan, None
    head = client.list_contacts(page=1, limit=1)
    team_count = head.pagination.total_count
    newest = head.data[0] if head.data else None
    fence = Fence(newest.id if newest else None, newest.created_at if newest else None)
    known = index.known_count() if index is not None and index.recognize(client) else None
    plan = plan_lookup(
        team_count=team_count,
        known=known,
        rows=_rows_estimate(source),
        match=match,
        allow_duplicates=False,
        whole=whole,
        limits=client.limits or RateLimits(),
        keys_per_row=keys_per_row,
    )
    if options.dry_run or index is None:
        return NoLookup(), plan, None
    if plan.kind == "search":
        index.adopt()
        return SearchLookup(client, match, index.region), plan, fence
    index.refresh(client, whole=whole, forget=options.refresh_index)
    return IndexLookup(index), plan, fence


def _rows_estimate(source: Source) -> int:
    """Data rows: as the spreadsheet says, or a CSV's size over a short line's."""
    if source.total_rows is not None:
        return source.total_rows
    return max(1, source.path.stat().st_size // 60)


def _mapped_fields(mapping: Mapping) -> Iterator[str]:
    """The body fields the mapping fills: an empty cell there is a blank to keep."""
    fields = mapping.fields
    for name, spec in (
        ("firstName", fields.first_name),
        ("lastName", fields.last_name),
        ("email", fields.email),
        ("carrier", fields.carrier),
    ):
        if spec is not None:
            yield name
    if mapping.name is not None:
        yield from ("firstName", "lastName")
    for name in mapping.custom_fields:
        yield f"customFields.{name}"


def _unexpected(exc: Exception) -> str:
    """One sentence for an error bulk-sync did not foresee; `--debug` shows the rest."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror}{where}"
    return f"unexpected {type(exc).__name__}: {exc}".rstrip(": ")


def _wait(seconds: float, *, should_stop: Callable[[], bool]) -> None:
    """Sleep, but stop at once when asked (the batch stays `sent`: re-runs reconcile it)."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if should_stop():
            raise Interrupted("stopped while waiting")
        time.sleep(min(left, 0.1))


def _job(
    journal: Journal, key: JobKey, client: EchowinClient, source: str, *, fresh: bool
) -> tuple[Job, bool]:
    """This file's, mapping's and team's unfinished job in the journal (the run resumes
    it), and whether it is an old one.

    A job is this team's when a contact it made is found here (another team's
    contacts are not found: 404); one that has made none yet, by the fences it
    recorded (contacts of its team too); one with neither is taken as it is.
    A finished job has nothing left to resume: it is forgotten, and a re-run finds
    its contacts in the team like any other (skipped, or updated). `fresh` forgets
    the job found, deliberately.
    """
    for job in journal.candidates(key):
        if job.finished_at:
            journal.forget(job)
            continue
        known = job.markers or job.fence_ids()  # contacts of the team it went to
        if known and not any(contact_exists(client, contact) for contact in known):
            continue  # another team's
        if not fresh:
            return job, True
        journal.forget(job)
        break
    return journal.new_job(key, source), False


def _job_id(job: Job) -> str:
    """A job's name in summary.json: its journal, number and start (a number alone may
    be given again once its job is forgotten)."""
    return f"{job.journal.path}#{job.id}@{job.created_at}"


def _open(options: ImportOptions, mapping: Mapping | None) -> Source:
    sheet = options.sheet or (mapping.source.sheet if mapping else None)
    header_row = mapping.source.header_row if mapping else 1
    if mapping is not None and options.sheet is None and options.source.suffix.lower() in (
        ".csv", ".tsv", ".txt"
    ):  # fmt: skip
        sheet = None  # a mapping written for the workbook still reads its CSV export
    opened = open_source(options.source, sheet=sheet, header_row=header_row)
    return opened.without(REPORT_COLUMNS)  # a fixed rejected.csv, imported again


def _workers(options: ImportOptions) -> int:
    """Worker processes: none for small files (done before workers would be up)."""
    if options.workers is not None:
        return options.workers
    if not options.source.is_file() or options.source.stat().st_size < PARALLEL_FROM_BYTES:
        return 1
    return min(2, os.cpu_count() or 1)


def _unknown_fields(mapping: Mapping, custom_fields: list[Any]) -> list[str]:
    """Warnings for custom fields the team has no schema for (sent as text) and for
    required ones left unfilled. A key that is a misspelling of a schema's name (`Role`,
    `rôle` for `role`) is an error instead: its values would go to a new key."""
    known = {f.name for f in custom_fields}
    for name in mapping.custom_fields:
        if name in known or name in mapping.implicit_custom_fields:
            continue
        if meant := _meant(name, known):
            shown = ", ".join(sorted(known))
            raise MappingError(
                f"customFields: echowin has no custom field {name!r}; did you mean {meant!r}? "
                f"(the team's custom fields are: {shown})"
            )
    return [
        f"custom field {name!r} has no schema on echowin: its values are sent as text"
        for name in mapping.custom_fields
        if name not in known
    ] + [
        f"custom field {f.name!r} is required on echowin, and the mapping does not fill it"
        for f in custom_fields
        if f.required and f.name not in mapping.custom_fields
    ]


def _meant(name: str, known: set[str]) -> str | None:
    """The schema `name` was surely meant to be: the same but for case and accents, or
    one or two letters off."""
    plain = {_plain(k): k for k in known}
    if _plain(name) in plain:
        return plain[_plain(name)]
    close = difflib.get_close_matches(_plain(name), list(plain), n=1, cutoff=0.8)
    return plain[close[0]] if close else None


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace(" ", "_")


def _summary(
    result: ImportResult,
    client: EchowinClient,
    mapping: Mapping,
    region: str,
    options: ImportOptions,
    started: float,
    tags_created: list[str],
) -> dict[str, Any]:
    stats = client.stats
    offline = client.settings.account == OFFLINE  # no key: the file's rules only
    summary: dict[str, Any] = {
        "source": result.source,
        **result.counts,
        "requests": 0 if offline else stats.requests,  # offline: an in-memory team's, no server's
        "retries": stats.retries,
        "rate_limit_wait_s": round(stats.rate_limit_wait_s, 3),
        "duration_s": round(time.monotonic() - started, 3),
        "exit_code": result.exit_code,
        "dry_run": options.dry_run,
        "finished": result.error is None,
        "error": result.error,
        "mapping": str(options.mapping) if options.mapping else "suggested from the headers",
        "region": region,
        "match": list(mapping.match),
        "tags_created": tags_created,
        "warnings": result.warnings,
        "offline": offline,
    }
    if result.plan is not None:
        summary["plan"] = {
            "contacts": result.plan.contacts,
            "tags_to_create": result.plan.tags_to_create,
            "calls": result.plan.calls,
            "minimum_s": result.plan.minimum_s,
        }
        if offline:
            summary["plan"]["tags_unchecked"] = result.plan.tags_unchecked
    return summary
