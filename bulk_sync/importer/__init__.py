"""Import: plan (dedupe, match), push (batches, reconcile), reports.

outcomes.py  row statuses, RowOutcome, Fence, SentBatch: the types the parts share (a leaf)
keys.py      the match key: one for in-file dedupe, the team lookup and reconciliation
prepare.py   a chunk of rows → rejected rows with reasons, contacts ready to send
dedupe.py    in-file duplicates by match key, kept on disk
team.py      the team's contacts by key, on disk in the state directory, kept up to date
lookup.py    which rows the team already has: index or search, the cheaper one
update.py    an existing contact brought up to date from a row, destroying nothing
rows.py      each row's fate in file order: journal, dedupe, lookup, update or create
push.py      new contacts in batches of 100, reconciled row by row
journal.py   what was sent and what came of it, in the state directory: resume
reports.py   results.csv, rejected.csv, summary.json
run.py       import_file(): the whole path, streaming
"""

from .outcomes import RowOutcome
from .rows import Progress
from .run import ImportOptions, ImportResult, Plan, import_file

__all__ = ["ImportOptions", "ImportResult", "Plan", "Progress", "RowOutcome", "import_file"]
