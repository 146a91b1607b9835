"""init-sheet's migrations of columns whose meaning changed: no row changes meaning.

連動 → 連動停止: the old 連動 checkbox read "blank = sync", so a new row looked
unchecked and still synced — the box did not mean what it showed. The column is now
連動停止 (checked = this product is not pushed; blank = sync), so a blank new row both
shows and means "syncing". A sheet built before keeps its 連動 column, read inverted
(``ColumnSpec.inverted_aliases``) until init-sheet migrates it here, in the same one
atomic batchUpdate as the rest of the upgrade: the header is renamed and every value
flipped (TRUE ↔ FALSE, ON ↔ OFF words become checkboxes, blanks stay blank — blank
meant sync before and means sync now). A cell the bot could not read (a typo such as
『たぶん』) is left as typed, so it stays a row problem staff see in 状態. The column
does not move and its validation, width and staff formatting are kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.infra.sheet.cells import cell_at, cell_data, is_formula
from bot.infra.sheet.headers import HeaderMap
from bot.infra.sheet.reader import Reader
from bot.infra.sheet.spec import TabSpec, Template

Request = dict[str, Any]


def inverted_columns(
    tpl: Template,
    tab: TabSpec,
    sheet_id: int,
    hm: HeaderMap,
    rows: Sequence[Sequence[Any]] | None,
) -> tuple[list[Request], list[str]]:
    """Requests turning each column found under an inverted older header into the new one.

    Returns the requests and, for the report, the headers migrated (``連動 → 連動停止``).
    Without the tab's rows nothing is done: renaming the header without flipping the
    values would change what every row means.
    """
    if not hm.inverted or rows is None:
        return [], []
    reader = Reader(tpl)
    reqs: list[Request] = []
    done: list[str] = []
    header_row = rows[0] if rows else []
    for key in sorted(hm.inverted):
        col, idx = tab.column(key), hm.columns[key]
        old = str(cell_at(header_row, idx) or "")
        values = [_flipped(reader, cell_at(row, idx)) for row in rows[1:]]
        reqs.append(
            {
                "updateCells": {
                    "start": {"sheetId": sheet_id, "rowIndex": 0, "columnIndex": idx},
                    "rows": [{"values": [{**cell_data(col.header), "note": col.note}]}],
                    "fields": "userEnteredValue,note",
                }
            }
        )
        if values:
            reqs.append(
                {
                    "updateCells": {
                        "start": {"sheetId": sheet_id, "rowIndex": 1, "columnIndex": idx},
                        "rows": [{"values": [v]} for v in values],
                        "fields": "userEnteredValue",
                    }
                }
            )
        done.append(f"{old}→{col.header}")
    return reqs, done


def _flipped(reader: Reader, raw: Any) -> dict[str, Any]:
    """One cell with the opposite meaning; left as it is when it has none."""
    if is_formula(raw):
        return {"userEnteredValue": {"formulaValue": str(raw)}}
    try:
        value = reader.bool_word(raw)
    except ValueError:
        return cell_data(raw)  # unreadable: stays a row problem, as before
    return {} if value is None else cell_data(not value)
