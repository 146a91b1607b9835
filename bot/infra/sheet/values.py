"""Cell values as the gateway reads and writes them (grids of one batchGet, updateCells)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.infra.clock import JST
from bot.infra.sheet.cells import cell_data, cell_text, parse_jst
from bot.infra.sheet.tabs import Request


def update_cells(sheet_id: int, row: int, col: int, rows: list[list[Any]]) -> Request:
    """An updateCells request writing ``rows`` as plain values from (row, col) on."""
    return {
        "updateCells": {
            "start": {"sheetId": sheet_id, "rowIndex": row, "columnIndex": col},
            "rows": [{"values": [cell_data(v) for v in r]} for r in rows],
            "fields": "userEnteredValue",
        }
    }


def vertical_runs(items: list[tuple[int, Any]]) -> Iterable[tuple[int, list[Any]]]:
    """One column's (row, value) writes, sorted by row, as (first row, values) of adjacent rows."""
    start, run = items[0][0], [items[0][1]]
    for row, value in items[1:]:
        if row == start + len(run):
            run.append(value)
        else:
            yield start, run
            start, run = row, [value]
    yield start, run


def value_at(row: Sequence[Any], col: int | None) -> Any:
    """Cell ``col`` of ``row`` as read (None past the row's end or for no column)."""
    return row[col] if col is not None and col < len(row) else None


def grid_at(grid: Sequence[Sequence[Any]], row: int, col: int) -> Any:
    """Cell (row, col) of a ragged grid (None past its end)."""
    return value_at(grid[row], col) if row < len(grid) else None


def put(grid: list[list[Any]], row: int, col: int, value: Any) -> None:
    """Set cell (row, col) of a ragged grid, growing it as needed."""
    if len(grid) <= row:  # one extend: a write near row 100,000 of an empty grid is common
        grid.extend([[] for _ in range(row + 1 - len(grid))])
    line = grid[row]
    if len(line) <= col:
        line.extend([None] * (col + 1 - len(line)))
    line[col] = value


def without(row: Sequence[Any], col: int | None) -> list[Any]:
    """``row`` with cell ``col`` blanked."""
    out = list(row)
    if col is not None and col < len(out):
        out[col] = None
    return out


def entered(value: Mapping[str, Any] | None) -> Any:
    """An ExtendedValue as a ``valueRenderOption=FORMULA`` read shows it."""
    if not value:
        return None
    if "formulaValue" in value:
        return value["formulaValue"]
    for kind in ("stringValue", "numberValue", "boolValue"):
        if kind in value:
            return value[kind]
    return None  # errorValue: only formulas produce it


def identical(a: Sequence[Any], b: Sequence[Any]) -> bool:
    """Two rows of the same cells, each of the same type.

    ``==`` alone is not enough: ``1 == True == 1.0`` in Python, but a count of 1 and a
    ticked box read differently.
    """
    return a is b or (a == b and list(map(type, a)) == list(map(type, b)))


def same(a: Any, b: Any) -> bool:
    """Two cell values that read the same (9 and 9.0, None and "")."""
    return cell_text(a) == cell_text(b)


def same_row(a: Sequence[Any], b: Sequence[Any]) -> bool:
    """Two rows (or runs of cells) that read the same: 9 and 9.0, None and "", trailing blanks.

    Rows as the API gave them both times compare at C speed (:func:`identical`), and
    so do rows the same but for trailing blanks (a commit's 入出庫 rows with 反映
    blanked against the rows read before the mark: 195 a steady 100k commit, whose
    入出庫 keys took 0.36 ms so, 0.82 ms cell by cell, best of 40); only
    rows that differ so are compared cell by cell as text.
    """
    if identical(a, b):
        return True
    short, long = (a, b) if len(a) < len(b) else (b, a)
    if identical(short, long[: len(short)]) and all(
        v is None or v == "" for v in long[len(short) :]
    ):
        return True
    return all(same(value_at(a, i), value_at(b, i)) for i in range(max(len(a), len(b))))


def spans(cols: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted column indexes as inclusive runs: [0, 2, 14, 15] → [(0, 0), (2, 2), (14, 15)]."""
    spans: list[tuple[int, int]] = []
    for col in cols:
        if spans and spans[-1][1] == col - 1:
            spans[-1] = (spans[-1][0], col)
        else:
            spans.append((col, col))
    return spans


def text_of(value: Any) -> str:
    """A cell as stripped text (whole floats without ``.0``), as the bot wrote it."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def int_of(value: Any) -> int:
    """A cell as an int (0 when it is not one)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return int(value)
    try:
        return int(str(value).strip() or 0)
    except ValueError:
        return 0


def when_of(value: Any) -> datetime | None:
    """A log timestamp: the bot's JST text, or a date serial if the cell became a date."""
    if isinstance(value, int | float) and not isinstance(value, bool) and 1 <= value < 2958466:
        seconds = round(float(value) * 86400)  # the sheet's time zone is Asia/Tokyo
        return datetime(1899, 12, 30, tzinfo=JST) + timedelta(seconds=seconds)
    return parse_jst(text_of(value))


def dates_of(values: Iterable[Any]) -> list[datetime | None]:
    """:func:`date_of` of each value; a run of equal values shares one datetime.

    販売ログ's dates are kept for its retention, one per row (120,000 an hour at 100k
    products), and the rows of one write carry one 日時: one object, not one per row.
    """
    out: list[datetime | None] = []
    last: Any = _NO_VALUE
    when: datetime | None = None
    for value in values:
        if type(value) is not type(last) or value != last:
            last, when = value, date_of(value)
        out.append(when)
    return out


_NO_VALUE = object()


def date_of(value: Any) -> datetime | None:
    """A log 日時 cell (our JST text, or a serial if Sheets turned it into a date)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        # A serial day number (days since 1899-12-30, google-sheets.md §3), in JST.
        return datetime(1899, 12, 30, tzinfo=JST) + timedelta(days=float(value))
    return parse_jst(text_of(value)) if value else None
