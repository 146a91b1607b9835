"""The bot's status block on 設定: 最終連動, each channel's state, the next credential expiry.

Staff look at the sheet, not at the logs, so the worker shows there whether it runs.
The block is two columns to the right of everything staff use on 設定 (one blank
column between), headed by :func:`title`; the worker finds it again by that heading in
row 1, so staff may move it, and writes it with every commit, inside the commit's own
batchUpdate (no extra request). Nothing of staff's is overwritten: the block is placed
past the last used column, and 設定 is parsed by its 項目 / 値 columns, which the block
never touches (its rows have no 項目, and rows without one are skipped).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.core.words import say, text
from bot.infra.clock import format_jst
from bot.infra.sheet.cells import cell_text
from bot.infra.sheet.tabs import Request
from bot.infra.sheet.values import update_cells

WIDTH = 2
"""The block's columns: a label and its value."""


@dataclass(frozen=True)
class StatusBoard:
    """What the block shows (built by the worker from its health)."""

    last_sync: datetime
    channels: tuple[tuple[str, str], ...]
    """(channel label, its state in words), in the worker's order."""
    next_expiry: str
    """The earliest credential expiry in words, or "" when none is known."""


def title() -> str:
    """The block's heading: how the worker finds it in row 1."""
    return text("sheet.status_title")


def status_requests(
    sheet_id: int, grid: Sequence[Sequence[Any]], board: StatusBoard, column_count: int
) -> list[Request]:
    """The requests writing ``board`` on 設定 (``grid``: the tab's values as read)."""
    col, new = _place(grid)
    rows: list[list[Any]] = [
        [title(), ""],
        [text("sheet.status_last_sync"), board.last_sync],
        *[[label, state] for label, state in board.channels],
        [text("sheet.status_expiry"), board.next_expiry or text("sheet.status_none")],
    ]
    old = _block_rows(grid, col) if not new else 0
    rows += [[None, None]] * max(0, old - len(rows))
    reqs: list[Request] = []
    if col + WIDTH > column_count:
        reqs.append(_grow(sheet_id, col + WIDTH - column_count))
    reqs.append(update_cells(sheet_id, 0, col, rows))
    return reqs


def _place(grid: Sequence[Sequence[Any]]) -> tuple[int, bool]:
    """The block's column, and whether it is placed for the first time."""
    heading = cell_text(title())  # compared as read: NFKC-normalised
    header = grid[0] if grid else []
    for col, value in enumerate(header):
        if cell_text(value) == heading:
            return col, False
    used = max((_width(row) for row in grid), default=0)
    return used + 1, True


def _width(row: Sequence[Any]) -> int:
    for i in range(len(row) - 1, -1, -1):
        if cell_text(row[i]):
            return i + 1
    return 0


def _block_rows(grid: Sequence[Sequence[Any]], col: int) -> int:
    """Rows the block held before (its label column, down to the first blank)."""
    count = 0
    for row in grid:
        if col >= len(row) or not cell_text(row[col]):
            break
        count += 1
    return count


def _grow(sheet_id: int, columns: int) -> Request:
    return {"appendDimension": {"sheetId": sheet_id, "dimension": "COLUMNS", "length": columns}}


def channel_state(state: str, since: datetime | None) -> str:
    """A channel's state for the block: OK, 接続エラー or 認証エラーで停止中 (with since)."""
    key = {"ok": "sheet.status_ok", "down": "sheet.status_down"}.get(state, "sheet.status_parked")
    if since is None or state == "ok":
        return text(key)
    return say("sheet.status_since", state=text(key), since=format_jst(since)[:16])


__all__ = ["StatusBoard", "channel_state", "status_requests", "title"]
