"""The Spreadsheet resource: what ``spreadsheets.get`` (and ``updatedSpreadsheet``) answer.

Sheet properties with proto3 defaults left out, protected ranges, conditional formats,
developer metadata and, when asked for, GridData limited to ``ranges`` and to the CellData
fields a ``fields`` mask keeps (so reading the notes of one column of a big tab stays
cheap). GridData leaves out a zero ``startRow``/``startColumn``, as proto3 JSON leaves out
zero ints (UNCONFIRMED detail).
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from bot.sandbox.sheets.a1 import _clip, _resolve
from bot.sandbox.sheets.cell_data import (
    _cell_fields,
    _fields_whole,
    _grid_wanted,
    _slot_data,
    _Trimmed,
)
from bot.sandbox.sheets.model import JSON, _Book, _Sheet
from bot.sandbox.sheets.store import Row, _Styles


def _clean_props(props: Mapping[str, Any]) -> JSON:
    """SheetProperties as Google sends them: proto3 defaults (0, false) omitted."""
    out = copy.deepcopy(dict(props))
    grid = out.get("gridProperties", {})
    for key in ("frozenRowCount", "frozenColumnCount", "hideGridlines"):
        if not grid.get(key):
            grid.pop(key, None)
    for key in ("hidden", "rightToLeft"):
        if not out.get(key):
            out.pop(key, None)
    return out


def _location_sheet(md: Mapping[str, Any]) -> int | None:
    loc = md.get("location", {})
    if "sheetId" in loc:
        return int(loc["sheetId"])
    if "dimensionRange" in loc:
        return int(loc["dimensionRange"].get("sheetId", 0))
    return None


def _row_values(slots: Row, keep: Collection[str] | None, styles: _Styles) -> list[JSON]:
    """The CellData of one row's slots, trailing cells with nothing to show left out."""
    out: list[JSON] = []
    end = 0
    for slot in slots:
        data = {} if slot is None else _slot_data(slot, keep, styles)
        out.append(data)
        if data:
            end = len(out)
    del out[end:]
    return out


def _grid_data(
    sheet: _Sheet,
    rect: tuple[int, int, int, int],
    keep: Collection[str] | None = None,
    trimmed: bool = False,
) -> JSON:
    """GridData of one rectangle; visits only its rows and columns.

    With ``keep``, only those CellData fields: a cell holding none of them is left out
    (a formatted but empty column then costs nothing). ``trimmed`` says ``keep`` is
    exactly what the ``fields`` mask selects, so the RowData is marked as already cut.
    """
    r0, r1, c0, c1 = rect
    rows = sheet.rows
    styles = sheet.shared.styles
    row_data: list[JSON] = _Trimmed() if trimmed and keep is not None else []
    kept = 0
    for r in range(r0, min(r1, len(rows))):
        row = rows[r]
        values = _row_values(row[c0:c1], keep, styles) if row else []
        row_data.append({"values": values} if values else {})
        if values:
            kept = len(row_data)
    del row_data[kept:]
    grid: JSON = {}
    # proto3 JSON omits zero ints, as with sheetId 0 in GridRanges: read them with .get.
    if r0:
        grid["startRow"] = r0
    if c0:
        grid["startColumn"] = c0
    if row_data:
        grid["rowData"] = row_data
    return grid


def _metadata(
    book: _Book,
    include_grid: bool,
    ranges: Sequence[str] = (),
    cell_fields: frozenset[str] | None = None,
    trimmed: bool = False,
) -> JSON:
    """A Spreadsheet as Google answers it; ``cell_fields`` limits the CellData built.

    ``trimmed``: ``cell_fields`` is exactly the ``fields`` mask (see :func:`_grid_data`).
    """
    wanted: dict[int, list[tuple[int, int, int, int]]] = {}
    for text in ranges:
        sheet, area = _resolve(book, text)
        wanted.setdefault(sheet.sheet_id, []).append(_clip(sheet, area))
    sheets: list[JSON] = []
    for sheet in book.sheets:
        if ranges and sheet.sheet_id not in wanted:
            continue
        entry: JSON = {"properties": _clean_props(sheet.props)}
        if sheet.protected:
            entry["protectedRanges"] = copy.deepcopy(sheet.protected)
        if sheet.cond_formats:
            entry["conditionalFormats"] = copy.deepcopy(sheet.cond_formats)
        own = [md for md in book.dev_meta if _location_sheet(md) == sheet.sheet_id]
        if own:
            entry["developerMetadata"] = copy.deepcopy(own)
        if include_grid:
            rects = wanted.get(sheet.sheet_id) or [(0, sheet.row_count, 0, sheet.col_count)]
            entry["data"] = [_grid_data(sheet, rect, cell_fields, trimmed) for rect in rects]
        sheets.append(entry)
    out: JSON = {
        "spreadsheetId": book.id,
        "properties": copy.deepcopy(book.props),
        "sheets": sheets,
        "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{book.id}/edit",
    }
    top = [md for md in book.dev_meta if md.get("location", {}).get("spreadsheet")]
    if top:
        out["developerMetadata"] = copy.deepcopy(top)
    return out


def _spreadsheets_get(
    book: _Book, params: Mapping[str, str], multi: Mapping[str, list[str]]
) -> JSON:
    flag = params.get("includeGridData", "false").lower() == "true"
    fields = params.get("fields")
    include = _grid_wanted(flag, fields, "sheets.data")
    path = "sheets.data.rowData.values"
    keep = _cell_fields(fields, path)
    return _metadata(book, include, multi.get("ranges", []), keep, _fields_whole(fields, path))
