"""Results lines are put together from pieces; they must be what the csv module writes."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from tempfile import TemporaryDirectory

from hypothesis import given, settings
from hypothesis import strategies as st

from bulk_sync.importer.push import RowOutcome
from bulk_sync.importer.reports import ReportWriter, row_lines

any_text = st.text(st.characters(min_codepoint=1, exclude_categories=["Cs"]), max_size=12)
cell = any_text | st.sampled_from(
    ["", " ", ",", '"', '""', "a,b", 'say "hi"', "two\nlines", "cr\r", "\r\n", " lead", "=1+1"]
)
outcome = st.builds(
    RowOutcome,
    st.sampled_from(["created", "rejected", "duplicate", "skipped"]),
    st.sampled_from(["", "c_123"]),
    cell,
)


@settings(max_examples=150, deadline=None)
@given(
    headers=st.lists(cell, min_size=1, max_size=4),
    rows=st.lists(st.tuples(st.lists(cell, min_size=4, max_size=4), outcome), max_size=8),
)
def test_reports_are_what_the_csv_module_writes(
    headers: list[str], rows: list[tuple[list[str], RowOutcome]]
) -> None:
    width = len(headers)
    cells = [row[:width] + [""] * (width - len(row[:width])) for row, _ in rows]
    numbers = list(range(2, 2 + len(rows)))
    with TemporaryDirectory() as tmp:
        writer = ReportWriter(Path(tmp), headers, [["preamble", "x"]])
        lines = row_lines(cells, numbers)
        writer.write(zip(numbers, lines, [o for _, o in rows], strict=True))
        writer.close(finished=True)
        results = (Path(tmp) / "results.csv").read_bytes().decode("utf-8")
        rejected = (Path(tmp) / "rejected.csv").read_bytes().decode("utf-8")

    expected, expected_rejected = io.StringIO(), io.StringIO()
    csv.writer(expected).writerows(
        [["preamble", "x"], [*headers, "_row", "_status", "_contact_id", "_error"]]
        + [
            [*c, n, o.status, o.contact_id, o.error]
            for c, n, (_, o) in zip(cells, numbers, rows, strict=True)
        ]
    )
    csv.writer(expected_rejected).writerows(
        [["preamble", "x"], [*headers, "_row", "_error"]]
        + [
            [*c, n, o.error]
            for c, n, (_, o) in zip(cells, numbers, rows, strict=True)
            if o.status == "rejected"
        ]
    )
    assert results == "\ufeff" + expected.getvalue()
    assert rejected == "\ufeff" + expected_rejected.getvalue()
    read_back = list(csv.reader(io.StringIO(results.lstrip("\ufeff"), newline="")))
    assert [r[:width] for r in read_back[2:]] == cells


def test_only_bulk_syncs_own_oldest_report_folders_are_pruned(tmp_path: Path) -> None:
    from bulk_sync.importer.reports import prune_reports

    home = tmp_path / "bulk-sync-reports"
    names = [f"20260101T0000{i:02d}Z-import" for i in range(5)] + ["20260101T000010Z-validate-2"]
    for name in names:
        (home / name).mkdir(parents=True)
        (home / name / "summary.json").write_text("{}")
    (home / "20260101T000000Z-import-mine").mkdir()  # not a name bulk-sync gives
    (home / "20250101T000000Z-import").mkdir()  # no summary.json: not a report
    (home / "notes.txt").write_text("keep me")
    this_run = home / names[1]
    gone = prune_reports(3, home, spare=this_run)  # this run's, and the two newest others
    assert sorted(p.name for p in gone) == [names[0], names[2], names[3]]
    left = sorted(p.name for p in home.iterdir())
    assert left == sorted(["20250101T000000Z-import", "20260101T000000Z-import-mine",
                           "notes.txt", names[1], names[4], names[5]])  # fmt: skip
