"""In-memory Google Sheets API v4 for tests and the demo (ARCHITECTURE.md §6).

Why an emulator and not mocks: the gateway under test must be exactly the production
code, down to the URLs gspread builds and the JSON it parses. So this package answers
HTTP: :class:`SheetsEmulator` is a ``requests`` transport adapter mounted on
``https://sheets.googleapis.com/`` of a ``requests.Session``, and real gspread 6.2.1
talks to it unmodified. Everything else on that session is refused loudly
(:class:`DenyAllAdapter`), so a test can never reach the network by accident.

The book it holds is a real state machine (cells, formats, protected ranges, validation,
developer metadata), so tests assert on state, not on calls. It also plays the parts a
test needs to be honest about Google: request counting for quota figures, injected
429/5xx faults, a per-minute quota, "the write landed but the response was lost", and
staff edits made between two API calls.

Layout, one module per concern (this module re-exports the public names, so importers
write ``from bot.sandbox.sheets import SheetsEmulator, export_xlsx``):

- :mod:`~bot.sandbox.sheets.model`: books, tabs, limits, Google-shaped errors.
- :mod:`~bot.sandbox.sheets.store`: how cells are kept (rows, styles, undo journal).
- :mod:`~bot.sandbox.sheets.a1`: A1-notation parsing and response ranges.
- :mod:`~bot.sandbox.sheets.typed_values`: USER_ENTERED/RAW input, serial dates.
- :mod:`~bot.sandbox.sheets.number_format`: rendering values and number formats.
- :mod:`~bot.sandbox.sheets.cell_data`: CellData, ExtendedValue and field masks.
- :mod:`~bot.sandbox.sheets.grid`: GridRanges; inserting, deleting, sorting rows/columns.
- :mod:`~bot.sandbox.sheets.spreadsheet`: the Spreadsheet resource (``spreadsheets.get``).
- :mod:`~bot.sandbox.sheets.values`: the values endpoints.
- :mod:`~bot.sandbox.sheets.batch_sheets`, :mod:`~bot.sandbox.sheets.batch_rules`: the
  ``:batchUpdate`` request handlers; :mod:`~bot.sandbox.sheets.batch` runs them.
- :mod:`~bot.sandbox.sheets.routing`: URL to operation to handler.
- :mod:`~bot.sandbox.sheets.transport`: the ``requests`` adapter, call log, faults.
- :mod:`~bot.sandbox.sheets.emulator`: :class:`SheetsEmulator`, set-up, staff helpers.
- :mod:`~bot.sandbox.sheets.xlsx`: :func:`export_xlsx` (openpyxl imported lazily).

Choices where the real API is unknown, out of scope or deliberately strict
(see also ``docs/api/google-sheets.md`` §5, "fidelity gaps"):

- Writes through the *values* API (update, append, batchUpdate) grow the grid, rows and
  columns, when they run past it; ``updateCells``, ``repeatCell`` and the other
  ``:batchUpdate`` requests answer 400 for a bounded range outside the grid (unbounded
  ranges are clipped). ``appendCells`` grows rows only.
- ``values:append`` finds the "table" like Google describes it: the contiguous run of rows
  with data that starts at the first row holding data at or below the range's first row
  (in the range's columns), and writes after it; a single-cell range whose row is empty
  is written in place (which is what gspread's ``insert_rows`` relies on). Blank rows
  inside data therefore end the table, as on the real service (UNCONFIRMED detail).
- Every write runs in a transaction that journals the rows it replaces and rolls them
  back on failure, so ``:batchUpdate`` and ``values:batchUpdate`` are all-or-nothing and
  cost what they touch, not the book. Rows are tuples of plain values (a cell with a
  format, note or rule holds numbers into the book's shared styles), so a 100,000-row
  tab is compact and invisible to the garbage collector (:mod:`~bot.sandbox.sheets.store`).
- Google's hard limits are enforced: 10 million cells per spreadsheet, 18,278 columns,
  50,000 characters in one cell. Its recommended 2 MB per request is not a limit, so
  larger requests are accepted (``api/google-sheets.md`` §1).
- The emulator pickles (a sandbox can keep it in a file); callbacks registered with
  ``before_next``/``on_request`` stay with the process that registered them.
- USER_ENTERED parses like the UI in a ja_JP sheet: ``=…`` formulas, numbers (``1,234``,
  ``10%``, ``¥1,000``; full-width digits stay text), ``TRUE``/``FALSE``, ISO-like dates
  and times (stored as serial numbers with a DATE/TIME format, exactly the pitfall a
  reader must handle), and a leading ``'`` forces text. A cell whose number format is
  TEXT stores what was typed verbatim.
- Formulas are never evaluated: a formula cell renders the value a test set with
  :meth:`SheetsEmulator.set_computed`, else its formula text.
- Number formatting is a small subset (``#,##0.00``, percent, currency prefixes, date and
  time patterns); enough for FORMATTED_VALUE reads to look like the real thing.
- Response ranges quote a tab title only when A1 needs it (``Sheet1!A1:B2``,
  ``'商品マスタ'!A1:Z1000``), as Google does.
- Validation and protection are stored, never enforced (also as on the real service for
  the bot's own writes to warning-only ranges).
- ``updateDeveloperMetadata``/``deleteDeveloperMetadata`` whose filter matches nothing
  succeed with an empty reply; ``strict_metadata_filters=True`` makes them fail the whole
  batch instead (the compare-and-set trick the API doc lists as UNCONFIRMED).
- Every request that reaches the emulator is recorded and counted, including injected
  failures; the quota window counts only requests it accepted.
- ``:batchUpdate`` answers with ``updatedSpreadsheet`` when asked
  (``includeSpreadsheetInResponse``, ``responseRanges``, ``responseIncludeGridData``),
  read after all its requests in the same atomic step. The ``fields`` system parameter
  trims any answer to what it names, and a mask selecting grid data returns it whatever
  the include flag says (documented for both flags). GridData leaves out a zero
  ``startRow``/``startColumn``, as proto3 JSON leaves out zero ints (UNCONFIRMED detail).
"""

from bot.sandbox.sheets.emulator import SheetsEmulator
from bot.sandbox.sheets.model import DEFAULT_COLUMN_COUNT, DEFAULT_ROW_COUNT, RenderOption
from bot.sandbox.sheets.transport import SHEETS_PREFIX, DenyAllAdapter, NetworkDenied, RequestRecord
from bot.sandbox.sheets.xlsx import export_xlsx

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
