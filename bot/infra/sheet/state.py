"""The _state tab: the bot's own key/value rows (cursors, conditions, commit markers).

Values longer than one cell may hold are split over ``key``, ``key#1``, ... rows and
joined back when read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.infra.sheet.headers import HeaderMap, header_map
from bot.infra.sheet.parsing import SheetRead
from bot.infra.sheet.spec import base_template
from bot.infra.sheet.tabs import STATE, Request
from bot.infra.sheet.values import text_of, update_cells, value_at


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
    negative = {sku: qty for sku, qty in sorted(stock.items()) if qty < 0}
    values["negative_stock"] = json.dumps(negative, ensure_ascii=False)
    return values


def state_request(
    sheet_id: int, state: Mapping[str, str], read: SheetRead
) -> tuple[list[Request], dict[str, int]]:
    """Rewrite _state sorted by key, clearing every row it held before (duplicates too).

    Returns the requests and where each key's row lands (grid row).
    """
    key_col, value_col = state_columns(read.headers.get(STATE))
    previous_rows = max(len(read.raw.get(STATE) or []) - 1, 0)
    rows: list[list[Any]] = [[k, v] for k, v in sorted(state.items())]
    rows += [[None, None]] * max(0, previous_rows - len(rows))
    rows_of = {k: i for i, (k, _) in enumerate(sorted(state.items()), start=1)}
    if value_col == key_col + 1:  # the usual layout: one block of [キー, 値] rows
        return [update_cells(sheet_id, 1, key_col, rows)], rows_of
    return [
        update_cells(sheet_id, 1, key_col, [[k] for k, _ in rows]),
        update_cells(sheet_id, 1, value_col, [[v] for _, v in rows]),
    ], rows_of
