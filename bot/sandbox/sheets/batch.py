"""``spreadsheets.batchUpdate``: the request registry and the all-requests-in-order runner.

:data:`_REQUESTS` names every request kind the emulator implements; anything else is
rejected with a 400 rather than silently ignored, so a test never passes on a request the
emulator does not understand. The answer carries ``updatedSpreadsheet`` when asked
(``includeSpreadsheetInResponse``, ``responseRanges``, ``responseIncludeGridData``),
read after all requests ran, in the same atomic step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot.sandbox.sheets.batch_rules import (
    _req_add_conditional_format_rule,
    _req_add_protected_range,
    _req_create_developer_metadata,
    _req_delete_conditional_format_rule,
    _req_delete_developer_metadata,
    _req_delete_protected_range,
    _req_update_conditional_format_rule,
    _req_update_developer_metadata,
    _req_update_protected_range,
)
from bot.sandbox.sheets.batch_sheets import (
    _req_add_sheet,
    _req_append_cells,
    _req_append_dimension,
    _req_delete_dimension,
    _req_delete_sheet,
    _req_insert_dimension,
    _req_repeat_cell,
    _req_set_data_validation,
    _req_sort_range,
    _req_update_cells,
    _req_update_dimension_properties,
    _req_update_sheet_properties,
    _req_update_spreadsheet_properties,
)
from bot.sandbox.sheets.cell_data import _cell_fields, _fields_whole, _grid_wanted
from bot.sandbox.sheets.model import JSON, _ApiError, _bad, _Book, _Options
from bot.sandbox.sheets.spreadsheet import _metadata

_Handler = Callable[[_Book, JSON, _Options], JSON]


_REQUESTS: dict[str, _Handler] = {
    "addSheet": _req_add_sheet,
    "deleteSheet": _req_delete_sheet,
    "updateSheetProperties": _req_update_sheet_properties,
    "updateSpreadsheetProperties": _req_update_spreadsheet_properties,
    "updateCells": _req_update_cells,
    "appendCells": _req_append_cells,
    "insertDimension": _req_insert_dimension,
    "deleteDimension": _req_delete_dimension,
    "appendDimension": _req_append_dimension,
    "updateDimensionProperties": _req_update_dimension_properties,
    "repeatCell": _req_repeat_cell,
    "setDataValidation": _req_set_data_validation,
    "addProtectedRange": _req_add_protected_range,
    "updateProtectedRange": _req_update_protected_range,
    "deleteProtectedRange": _req_delete_protected_range,
    "addConditionalFormatRule": _req_add_conditional_format_rule,
    "updateConditionalFormatRule": _req_update_conditional_format_rule,
    "deleteConditionalFormatRule": _req_delete_conditional_format_rule,
    "createDeveloperMetadata": _req_create_developer_metadata,
    "updateDeveloperMetadata": _req_update_developer_metadata,
    "deleteDeveloperMetadata": _req_delete_developer_metadata,
    "sortRange": _req_sort_range,
}


def _batch_update(book: _Book, body: JSON, fields: str | None, opts: _Options) -> JSON:
    """Apply the requests in order; the answer may carry the book as they left it.

    ``includeSpreadsheetInResponse`` adds ``updatedSpreadsheet``, read after every
    request ran (in the same atomic step), limited to ``responseRanges`` and with grid
    data per ``responseIncludeGridData`` or the ``fields`` mask.
    """
    reqs = body.get("requests")
    if not isinstance(reqs, list) or not reqs:
        raise _bad("Must specify at least one request.")
    replies = [_apply_request(book, i, req, opts) for i, req in enumerate(reqs)]
    out: JSON = {"spreadsheetId": book.id, "replies": replies}
    if body.get("includeSpreadsheetInResponse"):
        out["updatedSpreadsheet"] = _updated_spreadsheet(book, body, fields)
    return out


def _apply_request(book: _Book, i: int, req: Any, opts: _Options) -> JSON:
    """Run ``requests[i]`` of a ``:batchUpdate``: exactly one known request kind."""
    present = (
        [k for k, v in (req or {}).items() if v is not None] if isinstance(req, Mapping) else []
    )
    if len(present) != 1:
        raise _bad(f"Invalid requests[{i}]: exactly one request kind must be set")
    name = present[0]
    handler = _REQUESTS.get(name)
    if handler is None:
        raise _bad(
            f"Invalid requests[{i}]: unknown or unsupported request '{name}' "
            "(the emulator rejects requests it does not implement)"
        )
    payload = req[name]
    if not isinstance(payload, dict):
        raise _bad(f"Invalid requests[{i}].{name}: must be an object")
    try:
        return handler(book, payload, opts)
    except _ApiError as err:
        raise _bad(f"Invalid requests[{i}].{name}: {err.message}") from None


def _updated_spreadsheet(book: _Book, body: JSON, fields: str | None) -> JSON:
    """The ``updatedSpreadsheet`` of a ``:batchUpdate`` answer."""
    ranges = body.get("responseRanges") or []
    if not isinstance(ranges, list) or not all(isinstance(r, str) for r in ranges):
        raise _bad("Invalid responseRanges: must be a list of A1 ranges")
    include = _grid_wanted(
        bool(body.get("responseIncludeGridData")), fields, "updatedSpreadsheet.sheets.data"
    )
    path = "updatedSpreadsheet.sheets.data.rowData.values"
    keep = _cell_fields(fields, path)
    try:
        return _metadata(book, include, ranges, keep, _fields_whole(fields, path))
    except _ApiError as err:
        raise _bad(f"Invalid responseRanges: {err.message}") from None
