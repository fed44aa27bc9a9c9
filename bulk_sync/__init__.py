"""bulk-sync: move contacts between spreadsheets and the echowin CRM.

The command line is a thin shell over these; a script uses them the same way::

    from pathlib import Path
    import bulk_sync

    with bulk_sync.connect(sandbox=True) as client:  # or api_key_file=Path("~/.key")
        result = bulk_sync.import_file(
            bulk_sync.ImportOptions(Path("leads.csv"), mapping=Path("leads.yaml")), client
        )
        print(result.counts, result.exit_code, result.report_dir)
        backup = bulk_sync.export_contacts(bulk_sync.ExportOptions(Path("backup.csv")), client)
        print(backup.rows, backup.verified)
        undone = bulk_sync.undo_import(bulk_sync.UndoOptions(result.report_dir), client)
        print(undone.counts)

Names are imported on first use, so `import bulk_sync` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_WHERE = {
    "connect": "bulk_sync.connect",
    "EchowinClient": "bulk_sync.client",
    "import_file": "bulk_sync.importer",
    "ImportOptions": "bulk_sync.importer",
    "ImportResult": "bulk_sync.importer",
    "export_contacts": "bulk_sync.exporter",
    "ExportOptions": "bulk_sync.exporter",
    "ExportResult": "bulk_sync.exporter",
    "undo_import": "bulk_sync.undo",
    "plan_undo": "bulk_sync.undo",
    "UndoOptions": "bulk_sync.undo",
    "UndoPlan": "bulk_sync.undo",
    "UndoResult": "bulk_sync.undo",
}
__all__ = [
    "EchowinClient",
    "ExportOptions",
    "ExportResult",
    "ImportOptions",
    "ImportResult",
    "UndoOptions",
    "UndoPlan",
    "UndoResult",
    "__version__",
    "connect",
    "export_contacts",
    "import_file",
    "plan_undo",
    "undo_import",
]

if TYPE_CHECKING:
    from .client import EchowinClient
    from .connect import connect
    from .exporter import ExportOptions, ExportResult, export_contacts
    from .importer import ImportOptions, ImportResult, import_file
    from .undo import UndoOptions, UndoPlan, UndoResult, plan_undo, undo_import


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'bulk_sync' has no attribute {name!r}")
