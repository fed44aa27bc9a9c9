"""Import: plan (dedupe, match), push (batches, reconcile), reports.

prepare.py   a chunk of rows → rejected rows with reasons, contacts ready to send
dedupe.py    in-file duplicates by match key, kept on disk
push.py      batches of 100, reconciled row by row
journal.py   what was sent and what came of it, in the state directory: resume
reports.py   results.csv, rejected.csv, summary.json
run.py       import_file(): the whole path, streaming
"""

from .push import RowOutcome
from .run import ImportOptions, ImportResult, Plan, Progress, import_file

__all__ = ["ImportOptions", "ImportResult", "Plan", "Progress", "RowOutcome", "import_file"]
