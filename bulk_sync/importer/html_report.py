"""`summary.html`: the run's summary for a person, beside `summary.json` (an import's,
and an undo's in REPORT_DIR/undo/).

Self-contained (inline CSS, no script, no network): the counts, the rejection reasons
grouped (a reason with its values taken out is one group) with a few example rows
each, the plan and the time, and links to the CSVs next to it.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

EXAMPLES = 3  # example rows shown per reason
GROUPS = 50  # distinct reasons kept; the rest are counted together
_VALUE = re.compile(r"'[^']*'|\"[^\"]*\"|\d+")


@dataclass
class Reasons:
    """Rejected rows grouped by reason (values taken out), in bounded memory."""

    groups: dict[str, list[Any]] = field(default_factory=dict)  # key -> [count, examples]
    other: int = 0

    def add(self, row: int, reason: str) -> None:
        """One rejected row: its whole reason is one group (a reason may hold `; `
        itself), so the groups add up to the rejected rows."""
        key = _VALUE.sub("…", reason)
        group = self.groups.get(key)
        if group is None:
            if len(self.groups) >= GROUPS:
                self.other += 1
                return
            group = self.groups[key] = [0, []]
        group[0] += 1
        if len(group[1]) < EXAMPLES:
            group[1].append((row, reason))


def render(summary: dict[str, Any], reasons: Reasons, files: list[str]) -> str:
    """An import's page, every value escaped."""
    counts = [("created", "created"), ("updated", "updated"), ("unchanged", "unchanged"),
              ("duplicates", "in-file duplicates"), ("rejected", "rejected"),
              ("skipped", "skipped")]  # fmt: skip
    facts = [
        ("source", summary.get("source")),
        ("mode", "dry run" if summary.get("dry_run") else summary.get("mode")),
        ("mapping", summary.get("mapping")),
        ("region", summary.get("region")),
        ("match", ", ".join(summary.get("match", []))),
        *_run_facts(summary),
        ("waiting for rate limits", f"{summary.get('rate_limit_wait_s', 0):.1f} s"),
        ("duration", f"{summary.get('duration_s', 0):.1f} s"),
    ]
    plan = summary.get("plan")
    if plan:
        facts.append(("a real run would", plan))
    headings = ("Why rows were rejected", "No row was rejected.")
    title = f"bulk-sync: {summary.get('source', '')}"
    return page(title, summary, counts, headings, reasons, facts, files)


def render_undo(summary: dict[str, Any], reasons: Reasons, files: list[str]) -> str:
    """An undo's page (REPORT_DIR/undo/summary.html): what it deleted, and why a
    contact could not be."""
    counts = [("deleted", "deleted"), ("already_gone", "gone already"), ("failed", "refused"),
              ("unconfirmed_not_deleted", "unconfirmed, left alone")]  # fmt: skip
    facts = [
        ("import reports", summary.get("report_dir")),
        ("source", summary.get("source")),
        *_run_facts(summary),
        ("duration", f"{summary.get('duration_s', 0):.1f} s"),
    ]
    headings = ("Why contacts were not deleted", "Every contact was deleted, or gone already.")
    title = f"bulk-sync undo: {summary.get('source', '')}"
    return page(title, summary, counts, headings, reasons, facts, files)


def _run_facts(summary: dict[str, Any]) -> list[tuple[str, Any]]:
    status = "finished" if summary.get("finished") else f"stopped: {summary.get('error')}"
    return [("status", status), ("exit code", summary.get("exit_code")),
            ("requests", summary.get("requests"))]  # fmt: skip


def page(
    title: str,
    summary: dict[str, Any],
    counts: list[tuple[str, str]],
    headings: tuple[str, str],
    reasons: Reasons,
    facts: list[tuple[str, Any]],
    files: list[str],
) -> str:
    """The page: a tile per count (summary key, label), the reasons grouped under the
    first heading (the second when there are none), the facts, the links; escaped."""
    e = html.escape
    tiles = "".join(
        f'<div class="tile" data-count="{key}"><b>{int(summary.get(key, 0))}</b>{e(label)}</div>'
        for key, label in counts
    )
    rows = []
    for key, (count, examples) in sorted(reasons.groups.items(), key=lambda g: -g[1][0]):
        shown = "".join(f"<li>row {row}: {e(text)}</li>" for row, text in examples)
        rows.append(f'<tr><td class="n">{count}</td><td>{e(key)}<ul>{shown}</ul></td></tr>')
    if reasons.other:
        rows.append(f'<tr><td class="n">{reasons.other}</td><td>other reasons</td></tr>')
    table = (
        f'<table id="reasons"><tr><th>rows</th><th>why</th></tr>{"".join(rows)}</table>'
        if rows
        else f"<p>{e(headings[1])}</p>"
    )
    dl = "".join(f"<dt>{e(k)}</dt><dd>{e(str(v))}</dd>" for k, v in facts if v is not None)
    links = " · ".join(f'<a href="{e(name)}">{e(name)}</a>' for name in files)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)}</title>
<style>
body {{ font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem;
       color: #1d2430; background: #fff; padding: 0 1rem; }}
h1 {{ font-size: 1.4rem; }} h2 {{ font-size: 1.1rem; margin-top: 2rem; }}
.tiles {{ display: flex; flex-wrap: wrap; gap: .75rem; }}
.tile {{ border: 1px solid #ccd3dd; border-radius: 8px; padding: .6rem 1rem; min-width: 7rem;
        background: #f4f7fb; }}
.tile b {{ display: block; font-size: 1.6rem; }}
.tile[data-count=rejected], .tile[data-count=failed] {{ background: #fdf0f0;
        border-color: #e5b5b5; }}
.tile[data-count=created], .tile[data-count=deleted] {{ background: #eefaf1;
        border-color: #aad8b6; }}
table {{ border-collapse: collapse; width: 100%; }}
td, th {{ border-top: 1px solid #dde3ea; padding: .4rem .6rem; text-align: left;
         vertical-align: top; }}
td.n {{ text-align: right; font-variant-numeric: tabular-nums; width: 4rem; }}
ul {{ margin: .2rem 0 0; padding-left: 1.2rem; color: #4a5565; }}
dl {{ display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }}
dt {{ color: #4a5565; }} dd {{ margin: 0; }}
</style></head>
<body>
<h1>{e(title)}</h1>
<div class="tiles" id="counts">{tiles}</div>
<h2>{e(headings[0])}</h2>
{table}
<h2>The run</h2>
<dl id="facts">{dl}</dl>
<p id="files">{links}</p>
</body></html>
"""
