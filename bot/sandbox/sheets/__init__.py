"""In-memory Google Sheets API v4 for tests and the demo (ARCHITECTURE.md §6).

The emulator lives in this package, one module per concern; this module re-exports its
public names so importers keep writing ``from bot.sandbox.sheets import SheetsEmulator``.
"""

from bot.sandbox.sheets.emulator import (
    DEFAULT_COLUMN_COUNT,
    DEFAULT_ROW_COUNT,
    SHEETS_PREFIX,
    DenyAllAdapter,
    NetworkDenied,
    RenderOption,
    RequestRecord,
    SheetsEmulator,
    export_xlsx,
)

__all__ = [
    "DEFAULT_COLUMN_COUNT",
    "DEFAULT_ROW_COUNT",
    "SHEETS_PREFIX",
    "DenyAllAdapter",
    "NetworkDenied",
    "RenderOption",
    "RequestRecord",
    "SheetsEmulator",
    "export_xlsx",
]
