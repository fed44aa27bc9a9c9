"""The library API as a user's script uses it: `import bulk_sync`, nothing else."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import json
from pathlib import Path
import bulk_sync

with bulk_sync.connect(sandbox=True) as client:
    result = bulk_sync.import_file(
        bulk_sync.ImportOptions(Path("leads.csv"), mapping=Path("m.yaml"), report_dir=Path("r")),
        client,
    )
    backup = bulk_sync.export_contacts(bulk_sync.ExportOptions(Path("backup.csv")), client)
    undone = bulk_sync.undo_import(bulk_sync.UndoOptions(result.report_dir), client)
print(json.dumps({"created": result.counts["created"], "exit": result.exit_code,
                  "exported": backup.rows, "verified": backup.verified,
                  "deleted": undone.counts["deleted"], "all": sorted(bulk_sync.__all__)}))
"""


def test_a_script_imports_exports_and_undoes_through_the_package(tmp_path: Path) -> None:
    (tmp_path / "leads.csv").write_text("Phone\n+12125550100\n+12125550101\n")
    (tmp_path / "m.yaml").write_text("fields: {number: Phone}\n")
    env = {**os.environ, "BULK_SYNC_STATE_DIR": str(tmp_path / "state")}
    env.pop("ECHOWIN_API_KEY", None)
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    said = json.loads(done.stdout.strip().splitlines()[-1])
    assert said["created"] == 2 and said["exit"] == 0
    assert said["exported"] == 2 and said["verified"] is True
    assert said["deleted"] == 2
    assert {"import_file", "export_contacts", "undo_import", "connect"} <= set(said["all"])


def test_importing_the_package_stays_light() -> None:
    code = "import sys, bulk_sync; print('pandas' in sys.modules, bulk_sync.__version__)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.split()[0] == "False"
