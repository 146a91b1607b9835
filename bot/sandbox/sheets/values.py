"""The values endpoints: get, batchGet, update, batchUpdate, append, clear, batchClear.

Reads build a ValueRange (trailing empties trimmed, ``values`` omitted for an empty
range). Writes through the values API grow the grid, rows and columns, when they run past
it (within Google's cell limit). ``values:append`` finds the "table" as Google describes
it: the contiguous run of rows with data that starts at the first row holding data at or
below the range's first row (in the range's columns), and writes after it; a single-cell
range whose row is empty is written in place (which gspread's ``insert_rows`` relies
on). Blank rows inside data therefore end the table (UNCONFIRMED detail).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.sandbox.sheets.a1 import _a1, _Area, _clip, _col_letters, _resolve
from bot.sandbox.sheets.grid import _insert_dimension
from bot.sandbox.sheets.model import (
    JSON,
    MAX_CELLS,
    MAX_COLUMNS,
    _ApiError,
    _bad,
    _Book,
    _check_length,
    _enum,
    _Sheet,
    _too_many_cells,
)
from bot.sandbox.sheets.number_format import _render_slot
from bot.sandbox.sheets.store import Row, Slot, _has_value, _row_has_value, _Styles
from bot.sandbox.sheets.typed_values import _entered_cell, _raw_scalar


def _matrix(values: Any, major: Any, where: str) -> list[list[Any]]:
    if values is None:
        return []
    if not isinstance(values, list) or not all(isinstance(r, list) for r in values):
        raise _bad(f"Invalid value at '{where}': values must be a list of lists")
    if major in (None, "ROWS", "DIMENSION_UNSPECIFIED"):
        return values
    if major != "COLUMNS":
        raise _bad(f"Invalid value at 'major_dimension' (TYPE_ENUM), \"{major}\"")
    height = max((len(col) for col in values), default=0)
    return [[col[i] if i < len(col) else None for col in values] for i in range(height)]


def _render_line(slots: Row, render: str, dt_string: bool, styles: _Styles) -> list[Any]:
    """One row of a ValueRange: trailing cells without a value trimmed."""
    end = len(slots)
    while end and not _has_value(slots[end - 1]):
        end -= 1
    if render != "FORMATTED_VALUE" and not dt_string:
        return [
            ""
            if s is None
            else (s if type(s) is not tuple else _render_slot(s, render, False, styles))
            for s in slots[:end]
        ]
    return ["" if s is None else _render_slot(s, render, dt_string, styles) for s in slots[:end]]


def _row_lines(
    sheet: _Sheet, rect: tuple[int, int, int, int], render: str, dt_string: bool
) -> list[list[Any]]:
    """ROWS-major values of a rectangle; visits only its rows and columns."""
    r0, r1, c0, c1 = rect
    rows = sheet.rows
    styles = sheet.shared.styles
    lines: list[list[Any]] = []
    kept = 0
    for r in range(r0, min(r1, len(rows))):
        row = rows[r]
        line = _render_line(row[c0:c1], render, dt_string, styles) if row else []
        lines.append(line)
        if line:
            kept = len(lines)
    del lines[kept:]
    return lines


def _column_lines(
    sheet: _Sheet, rect: tuple[int, int, int, int], render: str, dt_string: bool
) -> list[list[Any]]:
    """COLUMNS-major values of a rectangle, each column trimmed like a row."""
    r0, r1, c0, c1 = rect
    columns: dict[int, dict[int, Any]] = {}
    styles = sheet.shared.styles
    for r, c, slot in sheet.cells_in(r0, r1, c0, c1):
        if _has_value(slot):
            columns.setdefault(c - c0, {})[r - r0] = _render_slot(slot, render, dt_string, styles)
    values: list[list[Any]] = []
    for i in range(max(columns, default=-1) + 1):
        line = columns.get(i)
        if not line:
            values.append([])
            continue
        column: list[Any] = [""] * (max(line) + 1)
        for j, v in line.items():
            column[j] = v
        values.append(column)
    return values


def _value_range(sheet: _Sheet, area: _Area, render: str, major: str, dt_string: bool) -> JSON:
    """A ValueRange: trailing empties trimmed, ``values`` omitted for an empty range."""
    rect = _clip(sheet, area)
    out: JSON = {"range": _a1(sheet.title, *rect), "majorDimension": major}
    lines = (_column_lines if major == "COLUMNS" else _row_lines)(sheet, rect, render, dt_string)
    if lines:
        out["values"] = lines
    return out


def _render_opts(params: Mapping[str, Any], response: bool = False) -> tuple[str, bool]:
    """(valueRenderOption, dateTimeRenderOption is FORMATTED_STRING) of a read."""
    keys = (
        ("responseValueRenderOption", "responseDateTimeRenderOption")
        if response
        else ("valueRenderOption", "dateTimeRenderOption")
    )
    render = _enum(
        params.get(keys[0]),
        ("FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA"),
        "value_render_option",
        "FORMATTED_VALUE",
    )
    dt = _enum(
        params.get(keys[1]),
        ("SERIAL_NUMBER", "FORMATTED_STRING"),
        "date_time_render_option",
        "SERIAL_NUMBER",
    )
    return render, dt == "FORMATTED_STRING"


def _input_option(value: Any) -> bool:
    """True for USER_ENTERED; the parameter is required, as on the real API."""
    if value in (None, "", "INPUT_VALUE_OPTION_UNSPECIFIED"):
        raise _bad("'valueInputOption' is required but not specified")
    return _enum(value, ("RAW", "USER_ENTERED"), "value_input_option", "RAW") == "USER_ENTERED"


def _ensure_grid(book: _Book, sheet: _Sheet, rows: int, cols: int) -> None:
    """Grow the tab for a values write that runs past it (within Google's cell limit)."""
    grow_r = max(0, rows - sheet.row_count)
    grow_c = max(0, cols - sheet.col_count)
    if not grow_r and not grow_c:
        return
    if cols > MAX_COLUMNS:
        raise _bad(f"Range exceeds the maximum number of columns ({MAX_COLUMNS}).")
    new_total = (
        book.total_cells()
        - sheet.row_count * sheet.col_count
        + max(rows, sheet.row_count) * max(cols, sheet.col_count)
    )
    if new_total > MAX_CELLS:
        raise _too_many_cells()
    sheet.set_count("ROWS", max(rows, sheet.row_count))
    sheet.set_count("COLUMNS", max(cols, sheet.col_count))


def _entered_slot(
    sheet: _Sheet, old: Slot | None, v: Any, user_entered: bool, where: str
) -> Slot | None:
    """What a values-API write of ``v`` leaves in a slot holding ``old``.

    The common cases (a plain or empty cell, a RAW value, a number) skip building a
    :class:`_Cell`.
    """
    if isinstance(old, tuple):
        return sheet.compact(_entered_cell(sheet.full(old), v, user_entered, where))
    if isinstance(v, str):
        if v == "":
            return None
        if user_entered:
            return sheet.compact(_entered_cell(None, v, True, where))
        return _check_length(v)
    return _raw_scalar(v, where)


def _write_values(
    book: _Book,
    sheet: _Sheet,
    area: _Area,
    matrix: list[list[Any]],
    user_entered: bool,
    label: str,
) -> JSON:
    nrows = len(matrix)
    ncols = max((len(r) for r in matrix), default=0)
    if not area.single:
        if area.r1 is not None and nrows > area.r1 - area.r0:
            raise _bad(
                f"Requested writing within range [{label}], but tried writing to row "
                f"[{area.r1 + 1}]"
            )
        if area.c1 is not None and ncols > area.c1 - area.c0:
            raise _bad(
                f"Requested writing within range [{label}], but tried writing to column "
                f"[{_col_letters(area.c1)}]"
            )
    _ensure_grid(book, sheet, area.r0 + nrows, area.c0 + ncols)
    rows_touched: set[int] = set()
    cols_touched: set[int] = set()
    cells = 0
    for i, line in enumerate(matrix):
        r = area.r0 + i
        row = sheet.row(r)
        slots: list[Slot | None] | None = None
        for j, v in enumerate(line):
            if v is None:
                continue
            c = area.c0 + j
            old = row[c] if c < len(row) else None
            new = _entered_slot(sheet, old, v, user_entered, f"values[{i}][{j}]")
            if new is not None or old is not None:
                if slots is None:
                    slots = [*row, *([None] * (area.c0 + len(line) - len(row)))]
                slots[c] = new
            rows_touched.add(i)
            cols_touched.add(j)
            cells += 1
        if slots is not None:
            sheet.set_row(r, slots)
    out: JSON = {
        "spreadsheetId": book.id,
        "updatedRange": _a1(
            sheet.title, area.r0, area.r0 + max(nrows, 1), area.c0, area.c0 + max(ncols, 1)
        ),
    }
    if cells:
        out.update(
            updatedRows=len(rows_touched), updatedColumns=len(cols_touched), updatedCells=cells
        )
    return out


def _values_update(book: _Book, text: str, params: Mapping[str, Any], body: JSON) -> JSON:
    user_entered = _input_option(params.get("valueInputOption"))
    sheet, area = _resolve(book, text)
    matrix = _matrix(body.get("values"), body.get("majorDimension"), "data.values")
    out = _write_values(book, sheet, area, matrix, user_entered, text)
    if str(params.get("includeValuesInResponse", "")).lower() == "true":
        render, dt = _render_opts(params, response=True)
        _, written = _resolve(book, out["updatedRange"])
        out["updatedData"] = _value_range(sheet, written, render, "ROWS", dt)
    return out


def _table_end(sheet: _Sheet, area: _Area) -> tuple[int, int]:
    """(first row of the table, row after it) for values:append; see module docstring."""
    c0, c1 = area.c0, area.c1 if area.c1 is not None else sheet.col_count
    rows = sheet.rows

    def has_data(r: int) -> bool:
        return r < len(rows) and _row_has_value(rows[r], c0, c1)

    if area.single and not has_data(area.r0):
        return area.r0, area.r0
    first = next((r for r in range(area.r0, len(rows)) if has_data(r)), None)
    if first is None:
        return area.r0, area.r0
    end = first
    while has_data(end):
        end += 1
    return first, end


def _values_append(book: _Book, text: str, params: Mapping[str, Any], body: JSON) -> JSON:
    user_entered = _input_option(params.get("valueInputOption"))
    insert = (
        _enum(
            params.get("insertDataOption"),
            ("OVERWRITE", "INSERT_ROWS"),
            "insert_data_option",
            "OVERWRITE",
        )
        == "INSERT_ROWS"
    )
    sheet, area = _resolve(book, text)
    matrix = _matrix(body.get("values"), body.get("majorDimension"), "data.values")
    first, at = _table_end(sheet, area)
    if insert and matrix and at < sheet.row_count:
        _insert_dimension(book, sheet, "ROWS", at, len(matrix), inherit_before=at > 0)
    anchor = _Area(at, at + 1, area.c0, area.c0 + 1, single=True)
    updates = _write_values(book, sheet, anchor, matrix, user_entered, text)
    out: JSON = {"spreadsheetId": book.id, "updates": updates}
    if at > first:
        c1 = area.c1 if area.c1 is not None else sheet.col_count
        last_col = max(
            (c for _, c, slot in sheet.cells_in(first, at, area.c0, c1) if _has_value(slot)),
            default=area.c0,
        )
        out["tableRange"] = _a1(sheet.title, first, at, area.c0, last_col + 1)
    return out


def _cleared(sheet: _Sheet, slot: Slot | None) -> Slot | None:
    """A slot with its value and formula removed (format, note and validation kept)."""
    if not isinstance(slot, tuple):
        return None
    _, _, fmt, note, rule, _ = slot
    return (
        None
        if fmt is None and note is None and rule is None
        else (None, None, fmt, note, rule, None)
    )


def _clear_area(sheet: _Sheet, area: _Area) -> str:
    r0, r1, c0, c1 = _clip(sheet, area)
    for r in range(r0, min(r1, len(sheet.rows))):
        row = sheet.row(r)
        if _row_has_value(row, c0, c1):
            sheet.set_row(r, [*row[:c0], *(_cleared(sheet, s) for s in row[c0:c1]), *row[c1:]])
    return _a1(sheet.title, r0, r1, c0, c1)


def _major(params: Mapping[str, Any]) -> str:
    return _enum(params.get("majorDimension"), ("ROWS", "COLUMNS"), "major_dimension", "ROWS")


def _values_get(book: _Book, text: str, params: Mapping[str, Any]) -> JSON:
    render, dt = _render_opts(params)
    major = _major(params)
    sheet, area = _resolve(book, text)
    return _value_range(sheet, area, render, major, dt)


def _values_batch_get(book: _Book, params: Mapping[str, Any], texts: Sequence[str]) -> JSON:
    render, dt = _render_opts(params)
    major = _major(params)
    ranges = [_resolve(book, text) for text in texts]
    return {
        "spreadsheetId": book.id,
        "valueRanges": [_value_range(s, a, render, major, dt) for s, a in ranges],
    }


def _values_batch_get_by_data_filter(book: _Book, body: JSON) -> JSON:
    """``values:batchGetByDataFilter`` (POST) for ``a1Range`` filters.

    https://developers.google.com/sheets/api/reference/rest/v4/spreadsheets.values/batchGetByDataFilter
    — each answer is a MatchedValueRange: the ValueRange and the filters it matched.
    Developer-metadata and gridRange filters are not emulated: refused loudly.
    """
    render, dt = _render_opts(body)
    major = _major(body)
    filters = body.get("dataFilters")
    if not isinstance(filters, list) or not filters:
        raise _bad("Invalid data filters: at least one is required.")
    out = []
    for i, data_filter in enumerate(filters):
        text = data_filter.get("a1Range") if isinstance(data_filter, Mapping) else None
        if not isinstance(text, str):
            raise _bad(f"Invalid dataFilters[{i}]: the emulator supports a1Range filters only.")
        sheet, area = _resolve(book, text)
        out.append(
            {
                "valueRange": _value_range(sheet, area, render, major, dt),
                "dataFilters": [data_filter],
            }
        )
    return {"spreadsheetId": book.id, "valueRanges": out}


def _values_clear(book: _Book, text: str) -> JSON:
    sheet, area = _resolve(book, text)
    return {"spreadsheetId": book.id, "clearedRange": _clear_area(sheet, area)}


def _values_batch_clear(book: _Book, body: JSON) -> JSON:
    cleared = []
    for i, text in enumerate(body.get("ranges") or []):
        try:
            sheet, area = _resolve(book, text)
            cleared.append(_clear_area(sheet, area))
        except _ApiError as err:
            raise _bad(f"Invalid ranges[{i}]: {err.message}") from None
    return {"spreadsheetId": book.id, "clearedRanges": cleared}


def _values_batch_update(book: _Book, body: JSON) -> JSON:
    user_entered = _input_option(body.get("valueInputOption"))
    include = bool(body.get("includeValuesInResponse"))
    render, dt = _render_opts(body, response=True)
    responses: list[JSON] = []
    sheets: set[int] = set()
    for i, item in enumerate(body.get("data") or []):
        try:
            sheet, area = _resolve(book, item.get("range"))
            matrix = _matrix(item.get("values"), item.get("majorDimension"), f"data[{i}].values")
            resp = _write_values(book, sheet, area, matrix, user_entered, str(item.get("range")))
            if include:
                _, written = _resolve(book, resp["updatedRange"])
                resp["updatedData"] = _value_range(sheet, written, render, "ROWS", dt)
        except _ApiError as err:
            raise _bad(f"Invalid data[{i}]: {err.message}") from None
        sheets.add(sheet.sheet_id)
        responses.append(resp)
    return {
        "spreadsheetId": book.id,
        "totalUpdatedRows": sum(r.get("updatedRows", 0) for r in responses),
        "totalUpdatedColumns": sum(r.get("updatedColumns", 0) for r in responses),
        "totalUpdatedCells": sum(r.get("updatedCells", 0) for r in responses),
        "totalUpdatedSheets": len(sheets),
        "responses": responses,
    }
