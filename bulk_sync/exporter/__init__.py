"""Export: every contact of the team into a verified CSV or XLSX backup.

layout.py   the columns, and each contact as a row of text cells (formulas neutralized)
writers.py  rows spooled to disk, then the CSV or XLSX file, streaming
xlsx.py     the XLSX format, written row by row as XML (inline strings, no formulas)
run.py      export_contacts(): pages → rows → file → manifest, and the verification
"""

from .run import ExportOptions, ExportProgress, ExportResult, export_contacts

__all__ = ["ExportOptions", "ExportProgress", "ExportResult", "export_contacts"]
