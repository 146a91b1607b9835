"""The _state tab: the bot's own key/value rows (cursors, conditions, commit markers).

Values longer than one cell may hold are split over ``key``, ``key#1``, ... rows and
joined back when read.

A commit writes only the rows whose key or value changed since the read it is given
(:func:`plan_state`): a cycle that moves one cursor sends one small updateCells, not the
whole tab (whose movement ledger can run to megabytes, issue 10). Keys stay sorted; a
new key takes a cleared row where the order allows, otherwise the fewest rows move.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.infra.sheet.cells import cell_text
from bot.infra.sheet.headers import HeaderMap, header_map
from bot.infra.sheet.parsing import SheetRead
from bot.infra.sheet.spec import base_template
from bot.infra.sheet.tabs import STATE, Request
from bot.infra.sheet.values import put, text_of, update_cells, value_at


def state_columns(header: HeaderMap | None) -> tuple[int, int]:
    """(キー, 値) columns of _state; A and B unless its header says otherwise."""
    if header is None:
        return 0, 1
    key_col, value_col = header.col("key"), header.col("value")
    if key_col is None or value_col is None or key_col == value_col:
        return 0, 1
    return key_col, value_col


CELL_CHARS = 45_000
"""Longest _state value put in one cell; Google refuses more than 50,000 characters per
cell (google-sheets.md §1), and the alert conditions of a big shop can pass that."""

_CHUNK = re.compile(r"^(.*)#(\d+)$")


def chunk_base(key: str) -> str:
    """``conditions#2`` → ``conditions`` (continuation rows of a long _state value)."""
    m = _CHUNK.match(key)
    return m.group(1) if m else key


def chunks(key: str, value: str) -> dict[str, str]:
    """One long _state value as rows ``key``, ``key#1``, ``key#2``, … of ≤ CELL_CHARS each."""
    parts = [value[i : i + CELL_CHARS] for i in range(0, len(value), CELL_CHARS)] or [""]
    return {key if i == 0 else f"{key}#{i}": part for i, part in enumerate(parts)}


def state_dict(rows: Sequence[Sequence[Any]]) -> dict[str, str]:
    """_state rows as キー → 値, long values joined back from their ``#n`` rows.

    The first row of a key wins, as in layout.parse_sheet.
    """
    header = header_map(base_template().tab(STATE), rows[0] if rows else [])
    key_col, value_col = state_columns(header)
    raw: dict[str, str] = {}
    for row in rows[1:]:
        key = text_of(value_at(row, key_col))
        if key and key not in raw:
            value = value_at(row, value_col)
            raw[key] = "" if value is None else str(value)
    out: dict[str, str] = {}
    for key, value in raw.items():
        m = _CHUNK.match(key)
        if m and m.group(1) in raw:
            continue
        parts = [value]
        n = 1
        while f"{key}#{n}" in raw:
            parts.append(raw[f"{key}#{n}"])
            n += 1
        out[key] = "".join(parts)
    return out


def state_values(
    cursors: Mapping[str, datetime], conditions: Iterable[str], stock: Mapping[str, int]
) -> dict[str, str]:
    """The _state rows the worker keeps.

    Order cursors, raised alert conditions, and the negative stocks the bot wrote (so
    after a restart they still read as the truth of an oversell, not as a negative
    number typed by staff).
    """
    values = {f"cursor:{mall}": when.isoformat() for mall, when in cursors.items()}
    values["conditions"] = json.dumps(sorted(conditions), ensure_ascii=False)
    negative = dict(sorted((sku, qty) for sku, qty in stock.items() if qty < 0))
    values["negative_stock"] = json.dumps(negative, ensure_ascii=False)
    return values


MERGE_GAP_CHARS = 512
"""Unchanged rows of up to this many characters between two changed ones are sent again
with them (one updateCells instead of two); a longer gap is skipped."""


@dataclass(frozen=True)
class StatePlan:
    """One write of _state: its requests, where each key lands, the tab it leaves."""

    requests: list[Request]
    rows: dict[str, int]
    """Key → grid row after the write (``record`` writes ``last_record`` there)."""
    grid: list[list[Any]]
    """_state as the write leaves it (header included, read-trimmed), for a caller that
    keeps the tab instead of reading it again."""
    grid_rows: int | None = None
    """The tab's grid height after the write (None when ``grid_rows`` was not given)."""


def state_request(
    sheet_id: int, state: Mapping[str, str], read: SheetRead, *, grid_rows: int | None = None
) -> tuple[list[Request], dict[str, int]]:
    """The requests turning _state as ``read`` saw it into ``state``, and each key's row.

    See :func:`plan_state` (``read.raw`` holds the rows before the write).
    """
    plan = plan_state(
        sheet_id,
        read.raw.get(STATE) or [],
        read.headers.get(STATE),
        state,
        grid_rows=grid_rows,
    )
    return plan.requests, plan.rows


def plan_state(
    sheet_id: int,
    before: Sequence[Sequence[Any]],
    header: HeaderMap | None,
    state: Mapping[str, str],
    *,
    grid_rows: int | None = None,
) -> StatePlan:
    """Write ``state`` (key → value) over the _state rows ``before`` (header included).

    Afterwards the tab reads as ``state`` exactly (a value over :data:`CELL_CHARS` goes
    over ``#n`` rows), one row per key; only rows that differ are sent, each with its
    key and value (a row is never half-written). When ``before`` is as this function
    leaves it (keys in sorted order, one row each, blank rows wholly blank) rows stay
    where they are: a removed key's row is cleared, a new key takes a cleared row where
    the order allows, else the fewest characters move. Otherwise (a duplicate, rows out
    of order, a value without key: typed by hand or an older version) the keys are laid
    out sorted from row 1, the rest cleared, as every commit used to do.

    ``grid_rows`` is the tab's grid height when known: rows past it are added first
    (``appendDimension`` in the same batch); without it the grid must be tall enough.
    """
    key_col, value_col = state_columns(header)
    target = _cell_sized(state)
    old = [(cell_text(value_at(row, key_col)), value_at(row, value_col)) for row in before[1:]]
    layout = _layout(old, target)
    height = max(len(layout), len(old))
    layout += [None] * (height - len(layout))
    changed = [i for i, key in enumerate(layout) if not _holds(old, i, key, target)]
    requests: list[Request] = []
    if changed and grid_rows is not None and changed[-1] + 2 > grid_rows:
        extra = changed[-1] + 2 - grid_rows
        requests.append(
            {"appendDimension": {"sheetId": sheet_id, "dimension": "ROWS", "length": extra}}
        )
        grid_rows += extra
    for start, keys in _runs(changed, layout, target):
        cells = [[key, target[key]] if key else [None, None] for key in keys]
        if value_col == key_col + 1:  # the usual layout: one block of [キー, 値] rows
            requests.append(update_cells(sheet_id, start + 1, key_col, cells))
        else:
            requests.append(update_cells(sheet_id, start + 1, key_col, [[k] for k, _ in cells]))
            requests.append(update_cells(sheet_id, start + 1, value_col, [[v] for _, v in cells]))
    rows = {key: i + 1 for i, key in enumerate(layout) if key}
    grid = _grid_after(before, layout, target, (key_col, value_col))
    return StatePlan(requests, rows, grid, grid_rows)


def _cell_sized(state: Mapping[str, str]) -> dict[str, str]:
    """``state`` with every value too long for one cell split over ``#n`` keys."""
    out: dict[str, str] = {}
    for key, value in state.items():
        if len(value) > CELL_CHARS:
            out.update(chunks(key, value))
        else:
            out[key] = value
    return out


def _empty(value: Any) -> bool:
    return value is None or value == ""


def _in_order(old: Sequence[tuple[str, Any]]) -> bool:
    """Keys sorted, one row each, and no value without a key: as plan_state leaves it."""
    last = ""
    for key, value in old:
        if not key:
            if not _empty(value):
                return False
            continue
        if key <= last:
            return False
        last = key
    return True


def _layout(old: Sequence[tuple[str, Any]], target: Mapping[str, str]) -> list[str | None]:
    """The key each data row (0 = grid row 1) holds after the write; None: blank."""
    if not _in_order(old):
        return list(sorted(target))
    slots: list[str | None] = [key if key in target else None for key, _ in old]
    held = {key for key in slots if key}
    for key in sorted(target.keys() - held):
        _insert(slots, key, lambda k: len(k) + len(target[k]))
    return slots


def _insert(slots: list[str | None], key: str, size: Callable[[str], int]) -> None:
    """Put ``key`` in sorted order into ``slots``, moving the fewest characters."""
    below, above = -1, len(slots)  # the held slots sorting just before and after key
    for i, held in enumerate(slots):
        if held is not None:
            if held > key:
                above = i
                break
            below = i
    if above - below > 1:  # a cleared row between them: no row moves
        slots[below + 1] = key
        return
    down = next((i for i in range(above, len(slots)) if slots[i] is None), len(slots))
    up = next((i for i in range(below - 1, -1, -1) if slots[i] is None), None)
    cost_down = sum(size(k) for k in slots[above:down] if k)
    if up is not None and sum(size(k) for k in slots[up + 1 : below + 1] if k) < cost_down:
        slots[up:below] = slots[up + 1 : below + 1]
        slots[below] = key
        return
    if down == len(slots):
        slots.append(None)
    slots[above + 1 : down + 1] = slots[above:down]
    slots[above] = key


def _holds(
    old: Sequence[tuple[str, Any]], i: int, key: str | None, target: Mapping[str, str]
) -> bool:
    """Whether data row ``i`` already reads as it should (key and value)."""
    old_key, old_value = old[i] if i < len(old) else ("", None)
    if key is None:
        return not old_key and _empty(old_value)
    return old_key == key and ("" if old_value is None else str(old_value)) == target[key]


def _runs(
    changed: Sequence[int], layout: Sequence[str | None], target: Mapping[str, str]
) -> list[tuple[int, list[str | None]]]:
    """Changed data rows as (first row, keys) runs; short unchanged gaps ride along."""
    runs: list[tuple[int, list[str | None]]] = []
    last = -2
    for i in changed:
        gap = layout[last + 1 : i]
        if runs and sum(len(k) + len(target[k]) for k in gap if k) <= MERGE_GAP_CHARS:
            runs[-1][1].extend([*gap, layout[i]])
        else:
            runs.append((i, [layout[i]]))
        last = i
    return runs


def _grid_after(
    before: Sequence[Sequence[Any]],
    layout: Sequence[str | None],
    target: Mapping[str, str],
    cols: tuple[int, int],
) -> list[list[Any]]:
    """The tab as a read returns it after the write (trailing blanks trimmed)."""
    grid = [list(row) for row in before] or [[]]
    for i, key in enumerate(layout):
        put(grid, i + 1, cols[0], key)
        put(grid, i + 1, cols[1], target[key] if key else None)
    for row in grid:
        while row and _empty(row[-1]):
            row.pop()
    while len(grid) > 1 and not grid[-1]:
        grid.pop()
    return grid
