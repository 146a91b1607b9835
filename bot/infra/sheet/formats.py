"""TEXT-formatted columns: what Google stores for typed input, and keeping whole columns TEXT.

Google parses what staff type by the cell's number format. In an automatic or number
cell ``00123`` is stored as the number 123, ``+20`` as 20 and ``-0`` as 0; in a TEXT
(書式なしテキスト) cell the text stays as typed (Sheets API ``ValueInputOption``
USER_ENTERED: "as if the user typed them into the UI"; ``NumberFormatType`` TEXT).
So every column where a sign or leading zeros matter — the code columns, 表示在庫設定 and
設定's 値 — is TEXT from its first data row to the end of the grid.

"The end of the grid" moves: staff add rows. A ``repeatCell`` whose GridRange has no
``endRowIndex`` is unbounded and reaches the last row the grid has *now* (GridRange:
"missing indexes indicate the range is unbounded on that side"); nothing documents that
rows added later inherit it. Rows inserted between rows take their neighbour's format
(``InsertDimensionRequest.inheritFromBefore``), and rows added by ``values.append`` take
the previous row's (pygsheets#573, whose maintainer names it the API's default), but
what "add N more rows at the bottom" or ``appendDimension`` gives is not documented
(UNCONFIRMED; the emulator gives them no format, the unkind case). So the gateway does
not rely on it: each whole-tab read tells it the grid's height (the ``range`` Google
answers spans the whole grid), and when a tab has grown the next commit formats its
TEXT columns again, unbounded, in the same atomic batchUpdate. init-sheet upgrades an
existing sheet the same way, after reading the columns' formats, so a second run
writes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bot.infra.sheet.headers import HeaderMap
from bot.infra.sheet.spec import TabSpec

Request = dict[str, Any]

FORMAT_FIELDS = "sheets(properties(sheetId,title),data(rowData(values(userEnteredFormat))))"
"""The ``fields`` mask of the format read: each cell's own format, nothing else."""

_RANGE_END = re.compile(r"!\$?[A-Za-z]*\$?\d*:\$?[A-Za-z]*\$?(\d+)$")


def text_columns(tab: TabSpec, header: HeaderMap | None) -> list[int]:
    """Grid columns of ``tab`` that must be TEXT, as the header row places them now."""
    if header is None:
        return []
    out = []
    for col in tab.columns:
        idx = header.col(col.key)
        if col.text_format and idx is not None:
            out.append(idx)
    return sorted(set(out))


def text_format_request(sheet_id: int, col: int) -> Request:
    """Column ``col`` TEXT from the first data row to the end of the grid (unbounded)."""
    return {
        "repeatCell": {
            "range": {
                "sheetId": sheet_id,
                "startRowIndex": 1,
                "startColumnIndex": col,
                "endColumnIndex": col + 1,
            },
            "cell": {"userEnteredFormat": {"numberFormat": {"type": "TEXT"}}},
            "fields": "userEnteredFormat.numberFormat",
        }
    }


def grid_rows(a1_range: str) -> int | None:
    """The last row of a ValueRange's ``range`` (``'商品マスタ'!A1:Z1000`` → 1000)."""
    m = _RANGE_END.search(a1_range or "")
    return int(m.group(1)) if m else None


def is_text(cell: Mapping[str, Any] | None) -> bool:
    """Whether one CellData's own format is TEXT."""
    fmt = (cell or {}).get("userEnteredFormat") or {}
    return bool((fmt.get("numberFormat") or {}).get("type") == "TEXT")


def all_text(grid_data: Iterable[Mapping[str, Any]], data_rows: int) -> bool:
    """Whether ``data_rows`` rows of a one-column GridData read are all TEXT."""
    count = 0
    for block in grid_data:
        for row in block.get("rowData") or []:
            values: Sequence[Mapping[str, Any]] = row.get("values") or []
            if values and is_text(values[0]):
                count += 1
    return count >= data_rows


class TextKeeper:
    """Keeps the TEXT columns of the staff tabs TEXT as their grids grow (see above).

    ``seen`` takes each whole-tab read's grid height; ``requests`` returns the repeatCell
    requests for tabs grown past what was last formatted (every tab at the first commit
    after start-up, since the bot cannot know what happened to the sheet before);
    ``settle`` records them once the commit has landed.
    """

    def __init__(self) -> None:
        self.formatted: dict[str, int] = {}
        self.height: dict[str, int] = {}
        self._sent: dict[str, int] = {}

    def seen(self, key: str, a1_range: str) -> None:
        rows = grid_rows(a1_range)
        if rows is not None:
            self.height[key] = rows

    def requests(
        self,
        tabs: Iterable[TabSpec],
        headers: Mapping[str, HeaderMap],
        sheet_ids: Mapping[str, int],
    ) -> list[Request]:
        self._sent = {}
        out: list[Request] = []
        for tab in tabs:
            height = self.height.get(tab.key)
            if height is None or height <= self.formatted.get(tab.key, 0):
                continue
            if tab.key not in sheet_ids:
                continue
            cols = text_columns(tab, headers.get(tab.key))
            out.extend(text_format_request(sheet_ids[tab.key], col) for col in cols)
            self._sent[tab.key] = height
        return out

    def settle(self, *, applied: bool) -> None:
        if applied:
            self.formatted.update(self._sent)
        self._sent = {}
