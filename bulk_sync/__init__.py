"""bulk-sync: move contacts between spreadsheets and the echowin CRM."""

__version__ = "0.1.0"
__all__ = ["__version__"]
