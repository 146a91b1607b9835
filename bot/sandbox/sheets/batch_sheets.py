"""``:batchUpdate`` requests that shape tabs and write cells.

addSheet, deleteSheet, updateSheetProperties, updateSpreadsheetProperties, the dimension
requests (insert, delete, append, updateDimensionProperties), updateCells, appendCells,
repeatCell, setDataValidation and sortRange. Each handler takes the book (inside the
transport's transaction), the request body and the emulator's options, and returns its
reply (``{}`` when Google sends an empty one). Unlike values writes, a bounded range outside the grid is a
400 here (unbounded ranges are clipped); ``appendCells`` grows rows only. Validation is
stored, never enforced.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, cast

from bot.sandbox.sheets.cell_data import (
    _apply_cell_data,
    _apply_mask,
    _cell_paths,
    _Memo,
    _parse_extended,
    _parse_mask,
    _strip_none,
)
from bot.sandbox.sheets.grid import (
    _delete_dimension,
    _dimension_range,
    _grid_rect,
    _insert_dimension,
    _sort_rows,
)
from bot.sandbox.sheets.model import (
    DEFAULT_COLUMN_COUNT,
    DEFAULT_ROW_COUNT,
    JSON,
    MAX_CELLS,
    MAX_COLUMNS,
    _bad,
    _Book,
    _enum,
    _index,
    _int,
    _Options,
    _Sheet,
    _too_many_cells,
)
from bot.sandbox.sheets.spreadsheet import _clean_props, _location_sheet
from bot.sandbox.sheets.store import Slot, _has_value

_SHEET_PROP_FIELDS = (
    "title",
    "index",
    "hidden",
    "tabColor",
    "tabColorStyle",
    "rightToLeft",
    "gridProperties",
)


def _check_title(book: _Book, title: Any, exclude: _Sheet | None = None) -> str:
    if not isinstance(title, str) or not title.strip():
        raise _bad("Sheet title must not be empty.")
    if len(title) > 100:
        raise _bad("Sheet title must be at most 100 characters.")
    for sheet in book.sheets:
        if sheet is not exclude and sheet.title.casefold() == title.casefold():
            raise _bad(
                f'A sheet with the name "{title}" already exists. Please enter another name.'
            )
    return title


def _new_sheet_props(book: _Book, props: Mapping[str, Any]) -> JSON:
    sheet_id = props.get("sheetId")
    if sheet_id is None:
        sheet_id = 0 if not book.sheets else book.next_number()
        while any(s.sheet_id == sheet_id for s in book.sheets):
            sheet_id = book.next_number()
    elif not isinstance(sheet_id, int) or any(s.sheet_id == sheet_id for s in book.sheets):
        raise _bad(f"Invalid sheetId: {sheet_id} (already exists or not a number)")
    title = props.get("title")
    if title is None:
        n = len(book.sheets) + 1
        while book.sheet_by_title(f"Sheet{n}") is not None:
            n += 1
        title = f"Sheet{n}"
    _check_title(book, title)
    grid = dict(props.get("gridProperties") or {})
    rows = _int(grid.get("rowCount"), "rowCount", DEFAULT_ROW_COUNT)
    cols = _int(grid.get("columnCount"), "columnCount", DEFAULT_COLUMN_COUNT)
    if not rows or not cols or cols > MAX_COLUMNS:
        raise _bad("rowCount and columnCount must be between 1 and the grid limits")
    grid.update(rowCount=rows, columnCount=cols)
    out: JSON = {
        "sheetId": sheet_id,
        "title": title,
        "index": 0,
        "sheetType": "GRID",
        "gridProperties": grid,
    }
    for key in ("hidden", "tabColor", "tabColorStyle", "rightToLeft"):
        if props.get(key) is not None:
            out[key] = copy.deepcopy(props[key])
    return out


def _req_add_sheet(book: _Book, req: JSON, opts: _Options) -> JSON:
    props = _strip_none(req.get("properties") or {})
    new = _new_sheet_props(book, props)
    if (
        book.total_cells()
        + new["gridProperties"]["rowCount"] * new["gridProperties"]["columnCount"]
        > MAX_CELLS
    ):
        raise _too_many_cells()
    index = _index(props.get("index"), "index", len(book.sheets))
    book.sheets.insert(min(index, len(book.sheets)), book.new_sheet(new))
    book.reindex()
    if all(s.props.get("hidden") for s in book.sheets):
        raise _bad("You can't hide all the sheets in a document.")
    return {"addSheet": {"properties": _clean_props(new)}}


def _req_delete_sheet(book: _Book, req: JSON, opts: _Options) -> JSON:
    sheet = book.sheet_by_id(req.get("sheetId"))
    if len(book.sheets) == 1:
        raise _bad("You can't remove all the sheets in a document.")
    book.sheets.remove(sheet)
    book.reindex()
    book.dev_meta = [md for md in book.dev_meta if _location_sheet(md) != sheet.sheet_id]
    if all(s.props.get("hidden") for s in book.sheets):
        raise _bad("You can't remove all the visible sheets in a document.")
    return {}


def _req_update_sheet_properties(book: _Book, req: JSON, opts: _Options) -> JSON:
    props = req.get("properties") or {}
    sheet = book.sheet_by_id(props.get("sheetId", 0))
    paths = _parse_mask(req.get("fields"))
    if "*" in paths:
        paths = list(_SHEET_PROP_FIELDS)
    old_rows, old_cols, old_index = sheet.row_count, sheet.col_count, sheet.props["index"]
    updated = _apply_mask(
        sheet.props, props, [p for p in paths if p not in ("sheetId", "sheetType")]
    )
    updated["sheetId"], updated["sheetType"] = sheet.sheet_id, "GRID"
    grid = updated.setdefault("gridProperties", {})
    grid.setdefault("rowCount", old_rows)
    grid.setdefault("columnCount", old_cols)
    updated["title"] = _check_title(book, updated.get("title"), exclude=sheet)
    rows = _int(grid["rowCount"], "rowCount")
    cols = _int(grid["columnCount"], "columnCount")
    if not rows or not cols or cols > MAX_COLUMNS:
        raise _bad("rowCount and columnCount must be at least 1")
    if (grid.get("frozenRowCount") or 0) >= rows:
        raise _bad("You can't freeze all visible rows on the sheet.")
    if (grid.get("frozenColumnCount") or 0) >= cols:
        raise _bad("You can't freeze all visible columns on the sheet.")
    sheet.props = updated
    if rows < old_rows:
        _delete_dimension(book, sheet, "ROWS", rows, old_rows)
        sheet.set_count("ROWS", rows)
    if cols < old_cols:
        _delete_dimension(book, sheet, "COLUMNS", cols, old_cols)
        sheet.set_count("COLUMNS", cols)
    if book.total_cells() > MAX_CELLS:
        raise _too_many_cells()
    new_index = updated.get("index", old_index)
    if new_index != old_index:
        book.sheets.remove(sheet)
        book.sheets.insert(min(_index(new_index, "index", old_index), len(book.sheets)), sheet)
    book.reindex()
    if all(s.props.get("hidden") for s in book.sheets):
        raise _bad("You can't hide all the sheets in a document.")
    return {}


def _req_update_spreadsheet_properties(book: _Book, req: JSON, opts: _Options) -> JSON:
    paths = _parse_mask(req.get("fields"))
    if "*" in paths:
        paths = ["title", "locale", "timeZone", "autoRecalc", "defaultFormat"]
    book.props = _apply_mask(book.props, req.get("properties") or {}, paths)
    if not book.props.get("title"):
        raise _bad("Spreadsheet title must not be empty.")
    return {}


def _write_rows(
    sheet: _Sheet, r0: int, c0: int, rows: Any, paths: Sequence[str], where: str
) -> tuple[int, int]:
    """Apply RowData at (r0, c0); returns the (height, width) written. Must fit the grid."""
    if not isinstance(rows, list):
        raise _bad(f"{where}: rows must be a list")
    width = 0
    memo = _Memo(sheet.shared.styles, remember=False)
    for i, row_data in enumerate(rows):
        values = (row_data or {}).get("values") or []
        if not isinstance(values, list):
            raise _bad(f"{where}: rows[{i}].values must be a list")
        width = max(width, len(values))
        if values and r0 + i >= sheet.row_count:
            raise _bad(
                f"GridCoordinate.rowIndex[{r0 + i}] is after last row in grid"
                f"[{sheet.row_count - 1}]"
            )
        if c0 + len(values) > sheet.col_count:
            raise _bad(
                f"GridCoordinate.columnIndex[{c0 + len(values) - 1}] is after last column "
                f"in grid[{sheet.col_count - 1}]"
            )
        if values:
            _apply_row(sheet, r0 + i, c0, values, paths, memo)
    return len(rows), width


_VALUE_ONLY = ["userEnteredValue"]


def _apply_row(
    sheet: _Sheet, r: int, c0: int, values: Sequence[Any], paths: Sequence[str], memo: _Memo
) -> None:
    """CellData ``values`` written through ``paths`` into row ``r`` from column ``c0``."""
    row = sheet.row(r)
    slots: list[Slot | None] | None = None
    for j, data in enumerate(values):
        c = c0 + j
        old = row[c] if c < len(row) else None
        new = _applied(sheet, old, data, paths, memo)
        if new is None and old is None:
            continue
        if slots is None:
            slots = list(row)
        if c >= len(slots):
            slots.extend([None] * (c + 1 - len(slots)))
        slots[c] = new
    if slots is not None:
        sheet.set_row(r, slots)


def _applied(
    sheet: _Sheet, old: Slot | None, data: Any, paths: Sequence[str], memo: _Memo
) -> Slot | None:
    """The slot after writing ``data`` into a slot holding ``old``.

    A cell without a value (empty, or formatted only) becomes the same slot for the
    same CellData, so a formatted column computes its cells once.
    """
    if paths == _VALUE_ONLY and not isinstance(old, tuple):
        # The common write (a value into a plain cell): no _Cell on the way.
        if data is not None and not isinstance(data, Mapping):
            raise _bad("CellData must be an object")
        value, formula = _parse_extended((data or {}).get("userEnteredValue"))
        return value if formula is None else (None, formula, None, None, None, None)
    if _has_value(old):
        return sheet.compact(_apply_cell_data(sheet.full(old), data, paths, memo))
    found, slot = memo.look_up(data, "cell", old)
    if found:
        return cast(Slot | None, slot)
    new = sheet.compact(_apply_cell_data(sheet.full(old), data, paths, memo))
    return cast(Slot | None, memo.keep(data, "cell", old, new))


def _req_update_cells(book: _Book, req: JSON, opts: _Options) -> JSON:
    paths = _cell_paths(req.get("fields"))
    rows = req.get("rows") or []
    if "start" in req and req["start"] is not None:
        start = req["start"]
        sheet = book.sheet_by_id(start.get("sheetId", 0))
        r0 = _index(start.get("rowIndex"), "rowIndex", 0)
        c0 = _index(start.get("columnIndex"), "columnIndex", 0)
        _write_rows(sheet, r0, c0, rows, paths, "updateCells")
        return {}
    if "range" not in req:
        raise _bad("updateCells needs start or range")
    sheet, r0, r1, c0, c1 = _grid_rect(book, req["range"])
    if len(rows) > r1 - r0 or any(len((row or {}).get("values") or []) > c1 - c0 for row in rows):
        raise _bad("The rows do not fit in the requested range")
    # Cells of the range the rows do not cover are cleared for the masked fields.
    memo = _Memo(sheet.shared.styles, remember=False)
    for r in range(r0, r1):
        row_values = ((rows[r - r0] or {}).get("values") or []) if r - r0 < len(rows) else []
        padded = [row_values[j] if j < len(row_values) else {} for j in range(c1 - c0)]
        _apply_row(sheet, r, c0, padded, paths, memo)
    return {}


def _req_append_cells(book: _Book, req: JSON, opts: _Options) -> JSON:
    sheet = book.sheet_by_id(req.get("sheetId", 0))
    paths = _cell_paths(req.get("fields"))
    rows = req.get("rows") or []
    at = sheet.last_data_row() + 1
    need = at + len(rows)
    if need > sheet.row_count:
        if book.total_cells() + (need - sheet.row_count) * sheet.col_count > MAX_CELLS:
            raise _too_many_cells()
        sheet.set_count("ROWS", need)
    _write_rows(sheet, at, 0, rows, paths, "appendCells")
    return {}


def _req_insert_dimension(book: _Book, req: JSON, opts: _Options) -> JSON:
    sheet, dim, start, end = _dimension_range(book, req.get("range"), allow_end_past=True)
    if start > sheet.count(dim) or end == start:
        raise _bad("insertDimension range must be non-empty and start inside the grid")
    before = bool(req.get("inheritFromBefore"))
    if before and start == 0:
        raise _bad("Cannot inherit from before when inserting at the start of the sheet.")
    _insert_dimension(book, sheet, dim, start, end - start, before)
    if book.total_cells() > MAX_CELLS:
        raise _too_many_cells()
    return {}


def _req_delete_dimension(book: _Book, req: JSON, opts: _Options) -> JSON:
    sheet, dim, start, end = _dimension_range(book, req.get("range"))
    if start == 0 and end >= sheet.count(dim):
        raise _bad(f"You can't delete all the {dim.lower()} on the sheet.")
    if end > start:
        _delete_dimension(book, sheet, dim, start, end)
    return {}


def _req_append_dimension(book: _Book, req: JSON, opts: _Options) -> JSON:
    sheet = book.sheet_by_id(req.get("sheetId", 0))
    dim = _enum(req.get("dimension"), ("ROWS", "COLUMNS"), "dimension", "")
    length = _int(req.get("length"), "length")
    if not dim or not length:
        raise _bad("appendDimension needs a dimension and a positive length")
    sheet.set_count(dim, sheet.count(dim) + length)
    if sheet.col_count > MAX_COLUMNS or book.total_cells() > MAX_CELLS:
        raise _too_many_cells()
    return {}


def _req_update_dimension_properties(book: _Book, req: JSON, opts: _Options) -> JSON:
    sheet, dim, start, end = _dimension_range(book, req.get("range"))
    paths = _parse_mask(req.get("fields"))
    if "*" in paths:
        paths = ["pixelSize", "hiddenByUser", "developerMetadata"]
    props = req.get("properties") or {}
    for i in range(start, end):
        updated = _apply_mask(sheet.dims[dim].get(i), props, paths)
        if updated:
            sheet.dims[dim][i] = updated
        else:
            sheet.dims[dim].pop(i, None)
    return {}


def _req_repeat_cell(book: _Book, req: JSON, opts: _Options) -> JSON:
    sheet, r0, r1, c0, c1 = _grid_rect(book, req.get("range"))
    paths = _cell_paths(req.get("fields"))
    data = req.get("cell") or {}
    memo = _Memo(sheet.shared.styles)
    line = [data] * (c1 - c0)
    for r in range(r0, r1):
        _apply_row(sheet, r, c0, line, paths, memo)
    return {}


def _req_set_data_validation(book: _Book, req: JSON, opts: _Options) -> JSON:
    sheet, r0, r1, c0, c1 = _grid_rect(book, req.get("range"))
    rule = req.get("rule")
    if rule is not None and not isinstance(rule.get("condition"), Mapping):
        raise _bad("A data validation rule needs a condition.")
    stored = sheet.shared.styles.id_of(copy.deepcopy(_strip_none(rule)) if rule else None)
    for r in range(r0, r1):
        row = sheet.row(r)
        slots = [*row, *([None] * (c1 - len(row)))]
        for c in range(c0, c1):
            slots[c] = _with_rule(slots[c], stored)
        sheet.set_row(r, slots)
    return {}


def _with_rule(slot: Slot | None, rule: int | None) -> Slot | None:
    """``slot`` with validation rule number ``rule`` (None removes the rule)."""
    if isinstance(slot, tuple):
        value, formula, fmt, note, _, computed = slot
    else:
        value, formula, fmt, note, computed = slot, None, None, None, None
    if rule is None and formula is None and fmt is None and note is None:
        return value
    return (value, formula, fmt, note, rule, computed)


def _req_sort_range(book: _Book, req: JSON, opts: _Options) -> JSON:
    sheet, r0, r1, c0, c1 = _grid_rect(book, req.get("range"))
    specs: list[tuple[int, bool]] = []
    for spec in req.get("sortSpecs") or []:
        col = _int(spec.get("dimensionIndex"), "dimensionIndex")
        if col is None or not c0 <= col < c1:
            raise _bad("sortSpecs.dimensionIndex must be a column inside the range")
        order = _enum(spec.get("sortOrder"), ("ASCENDING", "DESCENDING"), "sort_order", "ASCENDING")
        specs.append((col, order == "DESCENDING"))
    if not specs:
        raise _bad("sortRange needs at least one sortSpec")
    _sort_rows(sheet, r0, r1, c0, c1, specs)
    return {}
