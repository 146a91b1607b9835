"""Grid geometry: GridRanges, inserting, deleting and sorting rows and columns.

``:batchUpdate`` requests address tabs by GridRange and DimensionRange (0-based,
end-exclusive, bounded ends must fit the grid). Inserting or deleting rows or columns
moves cells, row/column properties and frozen counts, and also everything anchored to
ranges (protections, conditional formats, row/column developer metadata), so those stay
on the cells they were on, as on the real service. Sorting reorders whole rows like the
UI. The staff helpers of :class:`~bot.sandbox.sheets.emulator.SheetsEmulator` reuse these.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bot.sandbox.sheets.a1 import _a1
from bot.sandbox.sheets.model import JSON, _bad, _Book, _enum, _index, _Sheet
from bot.sandbox.sheets.store import Row, Slot, _trim, _value_parts


def _grid_rect(book: _Book, gr: Any) -> tuple[_Sheet, int, int, int, int]:
    """A GridRange as a bounded rectangle; unbounded ends clip, bounded ones must fit."""
    if not isinstance(gr, Mapping):
        raise _bad("range must be a GridRange object")
    sheet = book.sheet_by_id(gr.get("sheetId", 0))
    r0 = _index(gr.get("startRowIndex"), "startRowIndex", 0)
    c0 = _index(gr.get("startColumnIndex"), "startColumnIndex", 0)
    r1 = _index(gr.get("endRowIndex"), "endRowIndex", sheet.row_count)
    c1 = _index(gr.get("endColumnIndex"), "endColumnIndex", sheet.col_count)
    if r1 < r0 or c1 < c0:
        raise _bad("GridRange end is before its start")
    if r1 > sheet.row_count or c1 > sheet.col_count:
        raise _bad(
            f"Range ({_a1(sheet.title, r0, r1, c0, c1)}) exceeds grid limits. "
            f"Max rows: {sheet.row_count}, max columns: {sheet.col_count}"
        )
    return sheet, r0, r1, c0, c1


_AXES = {
    "ROWS": ("startRowIndex", "endRowIndex"),
    "COLUMNS": ("startColumnIndex", "endColumnIndex"),
}


def _shift_insert(s: int | None, e: int | None, at: int, n: int) -> tuple[int | None, int | None]:
    new_s = s + n if s is not None and s >= at else s
    new_e = e + n if e is not None and e > at else e
    return new_s, new_e


def _shift_delete(s: int | None, e: int | None, ds: int, de: int) -> tuple[int | None, int | None]:
    k = de - ds

    def start(x: int) -> int:
        return x if x < ds else ds if x < de else x - k

    def end(x: int) -> int:
        return x if x <= ds else max(ds, x - k)

    return (None if s is None else start(s)), (None if e is None else end(e))


def _move_grid_range(
    gr: JSON,
    sheet_id: int,
    dim: str,
    edit: Callable[[int | None, int | None], tuple[int | None, int | None]],
) -> bool:
    """Shift a stored GridRange in place; False when it collapsed to nothing."""
    if gr.get("sheetId", 0) != sheet_id:
        return True
    ks, ke = _AXES[dim]
    s, e = edit(gr.get(ks), gr.get(ke))
    for key, value in ((ks, s), (ke, e)):
        if value is None:
            gr.pop(key, None)
        else:
            gr[key] = value
    return not (e is not None and (s or 0) >= e)


def _move_ranges(
    book: _Book,
    sheet: _Sheet,
    dim: str,
    edit: Callable[[int | None, int | None], tuple[int | None, int | None]],
) -> None:
    """Keep protections, conditional formats and metadata on the cells they were on."""
    sid = sheet.sheet_id
    kept: list[JSON] = []
    for pr in sheet.protected:
        if "range" in pr and not _move_grid_range(pr["range"], sid, dim, edit):
            continue
        pr["unprotectedRanges"] = [
            u for u in pr.get("unprotectedRanges", []) if _move_grid_range(u, sid, dim, edit)
        ] or None
        if pr["unprotectedRanges"] is None:
            del pr["unprotectedRanges"]
        kept.append(pr)
    sheet.protected = kept
    rules: list[JSON] = []
    for rule in sheet.cond_formats:
        rule["ranges"] = [r for r in rule.get("ranges", []) if _move_grid_range(r, sid, dim, edit)]
        if rule["ranges"]:
            rules.append(rule)
    sheet.cond_formats = rules
    meta: list[JSON] = []
    for md in book.dev_meta:
        dr = md.get("location", {}).get("dimensionRange")
        if dr and dr.get("sheetId") == sid and dr.get("dimension") == dim:
            s, e = edit(dr.get("startIndex"), dr.get("endIndex"))
            dr["startIndex"], dr["endIndex"] = s, e
            if s is not None and e is not None and s >= e:
                continue
        meta.append(md)
    book.dev_meta = meta


def _inherited(src: Slot | None) -> Slot | None:
    """What a new row or column takes from its neighbour: format and validation only."""
    if not isinstance(src, tuple):
        return None
    _, _, fmt, _, rule, _ = src
    return None if fmt is None and rule is None else (None, None, fmt, None, rule, None)


def _insert_rows(sheet: _Sheet, at: int, n: int, src: int) -> None:
    rows = sheet.rows
    new: list[Row | None] = [*rows[:at], *([None] * n), *rows[at:]] if at < len(rows) else rows[:]
    source = new[src] if 0 <= src < len(new) else None
    if source:
        template = _trim([_inherited(slot) for slot in source])
        if template:
            if len(new) < at + n:
                new.extend([None] * (at + n - len(new)))
            new[at : at + n] = [template] * n
    sheet.set_rows(new)


def _insert_columns(sheet: _Sheet, at: int, n: int, src: int) -> None:
    new: list[Row | None] = []
    for row in sheet.rows:
        if not row or (len(row) <= at and not 0 <= src < len(row)):
            new.append(row)
            continue
        grown = [*row[:at], *([None] * n), *row[at:]] if at < len(row) else list(row)
        kept = _inherited(grown[src]) if 0 <= src < len(grown) else None
        if kept is not None:
            if len(grown) < at + n:
                grown.extend([None] * (at + n - len(grown)))
            grown[at : at + n] = [kept] * n
        new.append(_trim(grown))
    sheet.set_rows(new)


def _insert_dimension(
    book: _Book, sheet: _Sheet, dim: str, at: int, n: int, inherit_before: bool
) -> None:
    rows = dim == "ROWS"
    count = sheet.count(dim)
    src = at - 1 if inherit_before else at + n
    if not 0 <= src < count + n:
        src = -1
    if rows:
        _insert_rows(sheet, at, n, src)
    else:
        _insert_columns(sheet, at, n, src)
    sheet.set_count(dim, count + n)
    sheet.dims[dim] = {(i + n if i >= at else i): p for i, p in sheet.dims[dim].items()}
    frozen_key = "frozenRowCount" if rows else "frozenColumnCount"
    if sheet.grid.get(frozen_key):
        sheet.grid[frozen_key] = _shift_insert(0, sheet.grid[frozen_key], at, n)[1]
    _move_ranges(book, sheet, dim, lambda s, e: _shift_insert(s, e, at, n))


def _delete_dimension(book: _Book, sheet: _Sheet, dim: str, ds: int, de: int) -> None:
    rows = dim == "ROWS"
    k = de - ds
    if rows:
        sheet.set_rows([*sheet.rows[:ds], *sheet.rows[de:]])
    else:
        sheet.set_rows(
            [_trim(row[:ds] + row[de:]) if row and len(row) > ds else row for row in sheet.rows]
        )
    sheet.set_count(dim, sheet.count(dim) - k)
    sheet.dims[dim] = {
        (i - k if i >= de else i): p for i, p in sheet.dims[dim].items() if not ds <= i < de
    }
    frozen_key = "frozenRowCount" if rows else "frozenColumnCount"
    if sheet.grid.get(frozen_key):
        sheet.grid[frozen_key] = _shift_delete(0, sheet.grid[frozen_key], ds, de)[1]
        if not sheet.grid[frozen_key]:
            del sheet.grid[frozen_key]
    _move_ranges(book, sheet, dim, lambda s, e: _shift_delete(s, e, ds, de))


def _sort_key(slot: Slot | None) -> tuple[int, Any] | None:
    value, formula, computed = _value_parts(slot)
    if value is None and formula is None:
        return None
    if formula is None:
        v: Any = value
    else:
        v = formula if computed is None else computed
    if isinstance(v, bool):
        return (2, v)
    if isinstance(v, int | float):
        return (0, v)
    return (1, str(v).casefold())


def _sort_rows(
    sheet: _Sheet, r0: int, r1: int, c0: int, c1: int, specs: Sequence[tuple[int, bool]]
) -> None:
    """Reorder whole rows of the rectangle like the UI: stable, blanks last either way."""
    rows = sheet.rows
    end = min(r1, len(rows))
    if end <= r0:
        return
    block = {r: (rows[r] or ())[c0:c1] for r in range(r0, end)}
    order = list(range(r0, end))
    for col, descending in reversed(specs):
        at = col - c0
        keyed = [(r, _sort_key(block[r][at] if at < len(block[r]) else None)) for r in order]
        filled = [(r, k) for r, k in keyed if k is not None]
        blank = [r for r, k in keyed if k is None]
        filled.sort(key=lambda item: item[1], reverse=descending)
        order = [r for r, _ in filled] + blank
    new = rows[:]
    for new_r, old_r in zip(range(r0, end), order, strict=True):
        if new_r == old_r:
            continue
        row = list(rows[new_r] or ())
        segment = block[old_r]
        width = max(len(row), c0 + len(segment))
        row.extend([None] * (width - len(row)))
        row[c0 : min(c1, width)] = [*segment, *([None] * (min(c1, width) - c0 - len(segment)))]
        new[new_r] = _trim(row)
    sheet.set_rows(new)


def _dimension_range(
    book: _Book, dr: Any, *, allow_end_past: bool = False
) -> tuple[_Sheet, str, int, int]:
    if not isinstance(dr, Mapping):
        raise _bad("range must be a DimensionRange")
    sheet = book.sheet_by_id(dr.get("sheetId", 0))
    dim = _enum(dr.get("dimension"), ("ROWS", "COLUMNS"), "dimension", "")
    if not dim:
        raise _bad("DimensionRange.dimension is required")
    count = sheet.count(dim)
    start = _index(dr.get("startIndex"), "startIndex", 0)
    end = _index(dr.get("endIndex"), "endIndex", count)
    if end < start or (end > count and not allow_end_past):
        raise _bad(f"Invalid DimensionRange {start}..{end} for a sheet with {count} {dim.lower()}")
    return sheet, dim, start, end
