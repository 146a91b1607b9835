"""The emulator's storage: all-or-nothing writes without a book copy, long tabs, pickling.

Driven through real gspread like the other emulator tests; a few tests look at the tab's
rows directly to prove what the storage promises (an append does not copy the rows
before it; alike formats are shared; rows cost the garbage collector nothing).
"""

from __future__ import annotations

import gc
import pickle
import threading
from typing import Any

import gspread
import pytest
from gspread.exceptions import APIError

from bot.sandbox.sheets import SheetsEmulator

MASTER = "商品マスタ"
LOG = "販売ログ"
BIG_ROWS = 100_000


def emu_sid(emu: SheetsEmulator) -> str:
    """The id of the emulator's one spreadsheet."""
    return next(iter(emu._books))


def _sid(emu: SheetsEmulator, title: str) -> int:
    """The sheetId of tab ``title`` of that spreadsheet."""
    return int(emu.sheet_properties(emu_sid(emu), title)["sheetId"])


def _book_state(sh: gspread.Spreadsheet) -> dict[str, Any]:
    """Everything spreadsheets.get shows, grid data included."""
    state: dict[str, Any] = sh.client.fetch_sheet_metadata(
        sh.id, params={"includeGridData": "true"}
    )
    return state


def _text_row(*values: Any) -> dict[str, Any]:
    return {
        "values": [
            {"userEnteredValue": {"numberValue": v} if isinstance(v, int) else {"stringValue": v}}
            for v in values
        ]
    }


@pytest.fixture
def emu() -> SheetsEmulator:
    return SheetsEmulator()


@pytest.fixture
def sh(emu: SheetsEmulator) -> gspread.Spreadsheet:
    sid = emu.create_spreadsheet("zaiko", [MASTER, LOG], rows=50, cols=8)
    emu.set_values(sid, MASTER, "A1", [["sku", "在庫数", "名"], ["A", 5, "a"], ["B", 7, "b"]])
    emu.set_values(sid, LOG, "A1", [["日時", "sku", "数"], ["t1", "A", 1]])
    return emu.client().open_by_key(sid)


# --------------------------------------------------------------------------- atomicity


def test_a_batch_update_failing_late_leaves_no_trace_of_what_it_applied(
    emu: SheetsEmulator, sh: gspread.Spreadsheet
) -> None:
    """Every kind of change a batch can make, applied, then the last request fails."""
    master, log = _sid(emu, MASTER), _sid(emu, LOG)
    before = _book_state(sh)
    requests: list[dict[str, Any]] = [
        {
            "updateCells": {
                "start": {"sheetId": master, "rowIndex": 1, "columnIndex": 1},
                "rows": [_text_row(99), _text_row(98)],
                "fields": "userEnteredValue",
            }
        },
        {"appendCells": {"sheetId": log, "rows": [_text_row("t2", "B", 2)], "fields": "*"}},
        {
            "insertDimension": {
                "range": {"sheetId": master, "dimension": "ROWS", "startIndex": 1, "endIndex": 3},
                "inheritFromBefore": True,
            }
        },
        {
            "deleteDimension": {
                "range": {"sheetId": log, "dimension": "COLUMNS", "startIndex": 0, "endIndex": 1}
            }
        },
        {
            "repeatCell": {
                "range": {"sheetId": master, "startColumnIndex": 0, "endColumnIndex": 1},
                "cell": {"userEnteredFormat": {"numberFormat": {"type": "TEXT"}}},
                "fields": "userEnteredFormat.numberFormat",
            }
        },
        {
            "sortRange": {
                "range": {"sheetId": master, "startRowIndex": 1},
                "sortSpecs": [{"dimensionIndex": 1, "sortOrder": "DESCENDING"}],
            }
        },
        {"addSheet": {"properties": {"title": "新しいタブ"}}},
        {
            "updateSheetProperties": {
                "properties": {"sheetId": log, "title": "改名"},
                "fields": "title",
            }
        },
        {
            "createDeveloperMetadata": {
                "developerMetadata": {
                    "metadataKey": "k",
                    "metadataValue": "v",
                    "location": {"sheetId": master},
                }
            }
        },
        {
            "updateCells": {
                "start": {"sheetId": master, "rowIndex": 999, "columnIndex": 0},
                "rows": [_text_row("outside the grid")],
                "fields": "userEnteredValue",
            }
        },
    ]
    with pytest.raises(APIError) as err:
        sh.batch_update({"requests": requests})
    assert err.value.code == 400
    assert "requests[9].updateCells" in err.value.error["message"]
    assert _book_state(sh) == before
    # The book still takes writes after the roll-back, and they land where they should.
    sh.batch_update({"requests": requests[:2]})
    assert emu.get_values(emu_sid(emu), MASTER)[1:3] == [["A", 99, "a"], ["B", 98, "b"]]
    assert emu.get_values(emu_sid(emu), LOG)[-1] == ["t2", "B", 2]


def test_a_values_batch_update_failing_on_its_third_range_writes_nothing(
    emu: SheetsEmulator, sh: gspread.Spreadsheet
) -> None:
    before = _book_state(sh)
    with pytest.raises(APIError) as err:
        sh.values_batch_update(
            {
                "valueInputOption": "USER_ENTERED",
                "data": [
                    {"range": f"'{MASTER}'!B2", "values": [["+20"]]},
                    {"range": f"'{MASTER}'!A60", "values": [["grows the grid"]]},
                    {"range": f"'{MASTER}'!A1:A1", "values": [["x", "too wide"]]},
                ],
            }
        )
    assert "Invalid data[2]" in err.value.error["message"]
    assert _book_state(sh) == before


def test_a_failing_staff_edit_changes_nothing(emu: SheetsEmulator, sh: gspread.Spreadsheet) -> None:
    before = _book_state(sh)
    with pytest.raises(ValueError, match="50000 characters"):
        emu.set_values(emu_sid(emu), MASTER, "A2", [["changed"], ["x" * 50_001]])
    assert _book_state(sh) == before


def test_writes_after_a_roll_back_and_after_inserted_rows_stay_consistent(
    emu: SheetsEmulator, sh: gspread.Spreadsheet
) -> None:
    """A row changed, then moved by an insert, then changed again, all rolled back."""
    master = _sid(emu, MASTER)
    ws = sh.worksheet(MASTER)

    def write(row: int, value: int) -> dict[str, Any]:
        return {
            "updateCells": {
                "start": {"sheetId": master, "rowIndex": row, "columnIndex": 1},
                "rows": [_text_row(value)],
                "fields": "userEnteredValue",
            }
        }

    insert = {
        "insertDimension": {
            "range": {"sheetId": master, "dimension": "ROWS", "startIndex": 0, "endIndex": 1}
        }
    }
    bad = {"appendCells": {"sheetId": 4242, "rows": [], "fields": "*"}}
    with pytest.raises(APIError):
        sh.batch_update({"requests": [write(1, 1), insert, write(2, 2), write(40, 3), bad]})
    assert ws.get_all_values()[:3] == [["sku", "在庫数", "名"], ["A", "5", "a"], ["B", "7", "b"]]
    sh.batch_update({"requests": [write(1, 1), insert, write(2, 2)]})
    assert emu.get_values(emu_sid(emu), MASTER)[:4] == [
        [],
        ["sku", "在庫数", "名"],
        ["A", 2, "a"],
        ["B", 7, "b"],
    ]


# --------------------------------------------------------------------------- long tabs


@pytest.fixture(scope="module")
def big() -> tuple[SheetsEmulator, str]:
    """A 100,000-row 商品マスタ (15 columns) and a log tab, as a big shop has them."""
    emu = SheetsEmulator()
    sid = emu.create_spreadsheet("big", [MASTER, LOG], rows=BIG_ROWS + 1, cols=15)
    header = ["商品コード", "商品名", "在庫数", *(f"列{i}" for i in range(12))]
    rows = [
        [f"P{i:06d}", f"商品 {i}", i % 50, *([""] * 9), "✓", "", f"R{i}"] for i in range(BIG_ROWS)
    ]
    emu.set_values(sid, MASTER, "A1", [header, *rows], raw=True)
    emu.set_values(sid, LOG, "A1", [["日時", "sku", "数"]])
    return emu, sid


def test_ranged_reads_on_a_long_tab_return_exactly_the_rows_and_columns_named(
    big: tuple[SheetsEmulator, str],
) -> None:
    emu, sid = big
    sh = emu.client().open_by_key(sid)
    got = sh.values_batch_get(
        [
            f"'{MASTER}'!A50001:C50002",
            f"'{MASTER}'!O100001",
            f"'{MASTER}'!C99999:D",
            f"'{MASTER}'!D2:L3",
            f"'{MASTER}'!1:1",
        ],
        params={"valueRenderOption": "UNFORMATTED_VALUE"},
    )["valueRanges"]
    assert got[0] == {
        "range": f"'{MASTER}'!A50001:C50002",
        "majorDimension": "ROWS",
        "values": [["P049999", "商品 49999", 49999 % 50], ["P050000", "商品 50000", 0]],
    }
    assert got[1]["values"] == [["R99999"]]
    assert got[2]["range"] == f"'{MASTER}'!C99999:D100001"
    assert got[2]["values"] == [[99997 % 50], [99998 % 50], [99999 % 50]]
    assert got[3] == {"range": f"'{MASTER}'!D2:L3", "majorDimension": "ROWS"}
    assert got[4]["values"][0][:3] == ["商品コード", "商品名", "在庫数"]
    columns = sh.values_get(f"'{MASTER}'!B99998:C100001", params={"majorDimension": "COLUMNS"})
    assert columns["values"] == [
        ["商品 99996", "商品 99997", "商品 99998", "商品 99999"],
        ["46", "47", "48", "49"],
    ]


def test_grid_data_of_a_few_cells_of_a_long_tab(big: tuple[SheetsEmulator, str]) -> None:
    emu, sid = big
    sh = emu.client().open_by_key(sid)
    got = sh.client.fetch_sheet_metadata(
        sid,
        params={
            "ranges": f"'{MASTER}'!C70001:C70002",
            "fields": "sheets(data(startRow,startColumn,rowData/values/userEnteredValue))",
        },
    )
    assert got == {
        "sheets": [
            {
                "data": [
                    {
                        "startRow": 70000,
                        "startColumn": 2,
                        "rowData": [
                            {"values": [{"userEnteredValue": {"numberValue": 69999 % 50}}]},
                            {"values": [{"userEnteredValue": {"numberValue": 0}}]},
                        ],
                    }
                ]
            }
        ]
    }


def test_appending_to_a_long_log_tab_adds_rows_without_touching_the_ones_before() -> None:
    emu = SheetsEmulator()
    sid = emu.create_spreadsheet("log", [LOG], rows=10, cols=3)
    sh = emu.client().open_by_key(sid)
    log = _sid(emu, LOG)
    for start in range(0, 30_000, 10_000):
        rows = [_text_row(f"t{i}", f"P{i}", i) for i in range(start, start + 10_000)]
        sh.batch_update(
            {"requests": [{"appendCells": {"sheetId": log, "rows": rows, "fields": "*"}}]}
        )
    sheet = emu._books[sid].sheets[0]
    kept = list(sheet.rows)
    sh.batch_update(
        {
            "requests": [
                {
                    "appendCells": {
                        "sheetId": log,
                        "rows": [_text_row("last", "P", 1)],
                        "fields": "*",
                    }
                }
            ]
        }
    )
    assert all(a is b for a, b in zip(kept, sheet.rows, strict=False))
    assert len(sheet.rows) == 30_001
    values = emu.get_values(sid, LOG)
    assert values[0] == ["t0", "P0", 0] and values[29_999] == ["t29999", "P29999", 29_999]
    assert values[30_000] == ["last", "P", 1]
    assert emu.sheet_properties(sid, LOG)["gridProperties"]["rowCount"] == 30_001


def test_a_commit_touching_one_row_of_a_long_tab_replaces_only_that_row(
    big: tuple[SheetsEmulator, str],
) -> None:
    emu, sid = big
    sheet = emu._books[sid].sheets[0]
    kept = list(sheet.rows)
    sh = emu.client().open_by_key(sid)
    sh.batch_update(
        {
            "requests": [
                {
                    "updateCells": {
                        "start": {"sheetId": sheet.sheet_id, "rowIndex": 77_000, "columnIndex": 2},
                        "rows": [_text_row(7)],
                        "fields": "userEnteredValue",
                    }
                }
            ]
        }
    )
    changed = [r for r, (a, b) in enumerate(zip(kept, sheet.rows, strict=True)) if a is not b]
    assert changed == [77_000]
    assert sh.values_get(f"'{MASTER}'!A77001:C77001")["values"] == [["P076999", "商品 76999", "7"]]


# --------------------------------------------------------------------------- compact storage


def test_a_formatted_column_shares_one_format_and_plain_values_stay_plain(
    emu: SheetsEmulator, sh: gspread.Spreadsheet
) -> None:
    master = _sid(emu, MASTER)
    sh.batch_update(
        {
            "requests": [
                {
                    "repeatCell": {
                        "range": {"sheetId": master, "startColumnIndex": 0, "endColumnIndex": 1},
                        "cell": {"userEnteredFormat": {"numberFormat": {"type": "TEXT"}}},
                        "fields": "userEnteredFormat.numberFormat",
                    }
                }
            ]
        }
    )
    sheet = emu._books[emu_sid(emu)].sheets[0]
    cells = [sheet.cell(r, 0) for r in range(sheet.row_count)]
    assert all(
        cell is not None and cell.fmt == {"numberFormat": {"type": "TEXT"}} for cell in cells
    )
    assert len({id(cell.fmt) for cell in cells if cell is not None}) == 1
    assert sheet.stored(1, 1) == 5 and sheet.stored(1, 2) == "a"
    emu.set_values(emu_sid(emu), MASTER, "A4", [["00123", "00123"]])
    assert emu.get_values(emu_sid(emu), MASTER)[3] == ["00123", 123]


def test_stored_rows_are_not_tracked_by_the_garbage_collector(
    emu: SheetsEmulator, sh: gspread.Spreadsheet
) -> None:
    """Rows hold only strings, numbers and style numbers, so a big book adds nothing to
    every collection's walk."""
    emu.set_values(emu_sid(emu), MASTER, "D2", [["2026-11-23", "=1+1", "10%"]])
    gc.collect()  # untracks the formatted cells' tuples ...
    gc.collect()  # ... and then the rows holding them
    rows = [row for sheet in emu._books[emu_sid(emu)].sheets for row in sheet.rows if row]
    assert rows and not any(gc.is_tracked(row) for row in rows)


def test_a_cell_holds_at_most_fifty_thousand_characters(
    emu: SheetsEmulator, sh: gspread.Spreadsheet
) -> None:
    ws = sh.worksheet(MASTER)
    ws.update([["x" * 50_000]], "D1")
    assert len(emu.get_values(emu_sid(emu), MASTER)[0][3]) == 50_000
    with pytest.raises(APIError) as err:
        ws.update([["x" * 50_001]], "D2")
    assert err.value.code == 400
    assert err.value.error["message"] == (
        "Your input contains more than the maximum of 50000 characters in a single cell."
    )
    with pytest.raises(APIError) as err:
        sh.batch_update(
            {
                "requests": [
                    {
                        "updateCells": {
                            "start": {"sheetId": _sid(emu, MASTER), "rowIndex": 5},
                            "rows": [_text_row("y" * 50_001)],
                            "fields": "userEnteredValue",
                        }
                    }
                ]
            }
        )
    assert err.value.error["message"].startswith("Invalid requests[0].updateCells: Your input")
    assert len(emu.get_values(emu_sid(emu), MASTER)) == 3


def test_staff_adding_rows_respects_the_ten_million_cell_limit() -> None:
    emu = SheetsEmulator()
    sid = emu.create_spreadsheet("full", ["A"], rows=1000, cols=1000)
    with pytest.raises(ValueError, match="above the limit of 10000000 cells"):
        emu.append_rows(sid, "A", 9_001)
    emu.append_rows(sid, "A", 9_000)
    assert emu.sheet_properties(sid, "A")["gridProperties"]["rowCount"] == 10_000


# --------------------------------------------------------------------------- copies and pickling


def test_a_snapshot_is_independent_of_later_writes(
    emu: SheetsEmulator, sh: gspread.Spreadsheet
) -> None:
    sid = emu_sid(emu)
    copy = SheetsEmulator()
    copy._books[sid] = emu._snapshot(sid)
    emu.set_values(sid, MASTER, "A2", [["changed", "", "2026-01-01"]])
    emu.insert_rows(sid, MASTER, 1, [["new"]])
    assert copy.get_values(sid, MASTER) == [["sku", "在庫数", "名"], ["A", 5, "a"], ["B", 7, "b"]]
    copy.set_values(sid, MASTER, "C2", [["2026-02-02"]])
    assert copy.cell_format(sid, MASTER, "C2") == {
        "numberFormat": {"type": "DATE", "pattern": "yyyy-mm-dd"}
    }
    assert emu.get_values(sid, MASTER)[1] == ["new"]


def test_the_emulator_pickles_with_its_books_faults_and_call_log(
    emu: SheetsEmulator, sh: gspread.Spreadsheet
) -> None:
    sid = emu_sid(emu)
    emu.set_values(sid, MASTER, "D2", [["2026-11-23", "=1+1"]])
    emu.set_computed(sid, MASTER, "E2", 2)
    emu.fail_next(503, kind="write")
    emu.before_next(lambda: None)
    seen: list[str] = []
    emu.on_request(lambda record: seen.append(record.op))
    restored: SheetsEmulator = pickle.loads(pickle.dumps(emu))
    assert restored.get_values(sid, MASTER, "FORMATTED_VALUE") == emu.get_values(
        sid, MASTER, "FORMATTED_VALUE"
    )
    assert restored.cell_format(sid, MASTER, "D2") == emu.cell_format(sid, MASTER, "D2")
    assert len(restored.requests) == len(emu.requests)
    ws = restored.client().open_by_key(sid).worksheet(MASTER)
    with pytest.raises(APIError) as err:
        ws.update([["x"]], "A9")
    assert err.value.code == 503
    ws.update([["2026-12-01"]], "F2", raw=False)
    assert restored.cell_format(sid, MASTER, "F2")["numberFormat"]["type"] == "DATE"
    assert emu.get_values(sid, MASTER)[1] == ["A", 5, "a", 46349, 2]
    errors: list[BaseException] = []

    def work(col: str) -> None:
        try:
            for i in range(5):
                restored.set_values(sid, LOG, f"{col}{i + 3}", [[i]])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in "ABC"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and restored.get_values(sid, LOG)[6] == [4, 4, 4]
