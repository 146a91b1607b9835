"""template.py: init-sheet plans (pure) and init_sheet through real gspread on the emulator."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from adapters.base import Channel
from adapters.rakuten import RAKUTEN
from bot.infra.sheet.layout import header_map, load_template, mall_key, parse_sheet
from bot.infra.sheet.template import build_init_plan, init_sheet, plan_init
from bot.sandbox.sheets import SheetsEmulator

TPL = load_template()
PRODUCTS = TPL.tab("products")
HEAD = [c.header for c in PRODUCTS.columns]
TESTMALL = Channel(
    key="testmall",
    label="テスト",
    name="テストモール",
    aliases=("テストモール", "TestMall"),
    code_note="テストモールの商品コード。空欄＝テストモールでは売っていない。",
    auth_hint="テストモールのキーを確かめてください。",
    code_width=150,
)
"""A second channel declared here (only 楽天 is registered)."""
UNBUILT = ("Yahoo", "Amazon", "Shopify", "BASE", "カラーミー")


def kinds(requests: list[dict[str, Any]]) -> Counter[str]:
    return Counter(next(iter(r)) for r in requests)


def sheet_meta(
    title: str, sheet_id: int, *, cols: int = 26, frozen: int = 1, **extra: Any
) -> dict[str, Any]:
    props: dict[str, Any] = {
        "sheetId": sheet_id,
        "title": title,
        "gridProperties": {"rowCount": 1000, "columnCount": cols, "frozenRowCount": frozen},
    }
    props.update(extra.pop("props", {}))
    return {"properties": props, **extra}


# --------------------------------------------------------------------------- pure plans


def test_plan_on_a_new_spreadsheet_creates_every_tab_in_order() -> None:
    meta = {"sheets": [sheet_meta("Sheet1", 0, frozen=0)]}
    plan = build_init_plan(meta, {})
    adds = [r["addSheet"]["properties"] for r in plan.requests if "addSheet" in r]
    assert [p["title"] for p in adds] == [t.title for t in TPL.tabs]
    assert plan.created_tabs == [t.title for t in TPL.tabs]
    ids = [p["sheetId"] for p in adds]
    assert len(set(ids)) == len(ids) and 0 not in ids
    assert all(p["gridProperties"]["frozenRowCount"] == 1 for p in adds)
    assert [p.get("hidden", False) for p in adds] == [t.hidden for t in TPL.tabs]
    # Every later request refers to an id chosen in this batch (or an existing one).
    sheet_ids = set(ids)
    for req in plan.requests:
        body = next(iter(req.values()))
        found = _sheet_ids(body)
        assert found <= sheet_ids, req


def _sheet_ids(obj: Any) -> set[int]:
    out: set[int] = set()
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "sheetId":
                out.add(v)
            else:
                out |= _sheet_ids(v)
    elif isinstance(obj, list):
        for v in obj:
            out |= _sheet_ids(v)
    return out


def test_plan_new_products_tab_details() -> None:
    plan = build_init_plan({"sheets": []}, {})
    sid = next(r["addSheet"]["properties"]["sheetId"] for r in plan.requests if "addSheet" in r)
    mine = [r for r in plan.requests if sid in _sheet_ids(r)]
    header = next(r["updateCells"] for r in mine if "updateCells" in r)
    cells = header["rows"][0]["values"]
    assert [c["userEnteredValue"]["stringValue"] for c in cells] == HEAD
    assert all(c["note"] for c in cells)
    text_cols = {r["repeatCell"]["range"]["startColumnIndex"] for r in mine if "repeatCell" in r}
    assert text_cols == {i for i, c in enumerate(PRODUCTS.columns) if c.text_format}
    checkbox = {
        r["setDataValidation"]["range"]["startColumnIndex"]
        for r in mine
        if "setDataValidation" in r
        and r["setDataValidation"]["rule"]["condition"]["type"] == "BOOLEAN"
    }
    assert checkbox == {HEAD.index("連動停止"), HEAD.index("在庫切れ時注文受付")}
    protected = [r["addProtectedRange"]["protectedRange"] for r in mine if "addProtectedRange" in r]
    assert all(p["warningOnly"] for p in protected)
    assert sorted(p["range"]["startColumnIndex"] for p in protected) == [
        HEAD.index("状態"),
        HEAD.index("最終更新"),
    ]
    rules = [r["addConditionalFormatRule"] for r in mine if "addConditionalFormatRule" in r]
    formulas = [
        r["rule"]["booleanRule"]["condition"]["values"][0]["userEnteredValue"] for r in rules
    ]
    assert formulas == ["=AND(ISNUMBER($C2),$C2<0)", "=AND(ISNUMBER($C2),ISNUMBER($E2),$C2<=$E2)"]
    assert all(r["rule"]["booleanRule"]["condition"]["type"] == "CUSTOM_FORMULA" for r in rules)
    assert [r["index"] for r in rules] == [0, 1]


def test_plan_against_up_to_date_metadata_is_empty() -> None:
    first = build_init_plan({"sheets": []}, {})
    meta, headers, rows = _apply_plan_to_metadata(first.requests)
    assert plan_init(meta, headers, existing_rows=rows) == []
    assert plan_init(meta, headers) == []


def _apply_plan_to_metadata(
    requests: list[dict[str, Any]],
) -> tuple[dict[str, Any], dict[str, list[Any]], dict[str, list[list[Any]]]]:
    """A tiny model of what the API would hold after the plan (metadata + header rows)."""
    sheets: dict[int, dict[str, Any]] = {}
    cells: dict[int, dict[tuple[int, int], Any]] = {}
    for req in requests:
        ((kind, body),) = req.items()
        if kind == "addSheet":
            props = body["properties"]
            sheets[props["sheetId"]] = {
                "properties": props,
                "protectedRanges": [],
                "conditionalFormats": [],
            }
            cells[props["sheetId"]] = {}
        elif kind == "updateCells":
            start = body["start"]
            for dr, row in enumerate(body["rows"]):
                for dc, cell in enumerate(row["values"]):
                    value = next(iter(cell.get("userEnteredValue", {"": None}).values()))
                    cells[start["sheetId"]][(start["rowIndex"] + dr, start["columnIndex"] + dc)] = (
                        value
                    )
        elif kind == "addProtectedRange":
            pr = body["protectedRange"]
            sheets[pr["range"]["sheetId"]]["protectedRanges"].append(pr)
        elif kind == "addConditionalFormatRule":
            rule = body["rule"]
            sheets[rule["ranges"][0]["sheetId"]]["conditionalFormats"].insert(body["index"], rule)
    by_key = {t.title: t.key for t in TPL.tabs}
    headers: dict[str, list[Any]] = {}
    rows: dict[str, list[list[Any]]] = {}
    for sid, sheet in sheets.items():
        key = by_key[sheet["properties"]["title"]]
        grid = cells[sid]
        nrows = max((r for r, _ in grid), default=-1) + 1
        ncols = max((c for _, c in grid), default=-1) + 1
        full = [[grid.get((r, c), "") for c in range(ncols)] for r in range(nrows)]
        headers[key] = full[0] if full else []
        rows[key] = full
    return {"sheets": list(sheets.values())}, headers, rows


def test_plan_appends_missing_header_after_staff_columns() -> None:
    head = [h for h in HEAD if h != "配分しきい値"] + ["仕入先", "メモ"]
    meta = _existing_meta(head)
    headers: dict[str, list[Any]] = {t.key: [c.header for c in t.columns] for t in TPL.tabs}
    headers["products"] = head
    plan = build_init_plan(meta, headers)
    assert plan.added_headers == {"商品マスタ": ["配分しきい値"]}
    assert "商品マスタ" not in plan.created_tabs
    products_reqs = [r for r in plan.requests if 7 in _sheet_ids(r)]
    header = next(r["updateCells"] for r in products_reqs if "updateCells" in r)
    assert header["start"] == {"sheetId": 7, "rowIndex": 0, "columnIndex": len(head)}
    assert [c["userEnteredValue"]["stringValue"] for c in header["rows"][0]["values"]] == [
        "配分しきい値"
    ]
    # Nothing else on that tab: protections and rules are already there.
    assert kinds(products_reqs) == Counter({"updateCells": 1, "updateDimensionProperties": 1})


def test_plan_grows_the_grid_when_the_header_row_is_full() -> None:
    head = [h for h in HEAD if h not in ("状態", "最終更新")]
    meta = _existing_meta(head, cols=len(head))
    reqs = [r for r in plan_init(meta, {"products": head}) if 7 in _sheet_ids(r)]
    grow = next(r["updateSheetProperties"] for r in reqs if "updateSheetProperties" in r)
    assert grow["properties"]["gridProperties"]["columnCount"] == len(HEAD)
    assert grow["fields"] == "gridProperties.columnCount"
    assert next(iter(reqs[0])) == "updateSheetProperties"  # before the header write
    # The two bot columns are new, so they get their protection.
    assert kinds(reqs)["addProtectedRange"] == 2


def test_plan_reorders_are_respected_in_formulas() -> None:
    head = [
        "商品コード",
        "在庫下限",
        "在庫数",
        *[h for h in HEAD if h not in ("商品コード", "在庫下限", "在庫数")],
    ]
    meta = _existing_meta(head, rules=False)
    reqs = plan_init(meta, {"products": head})
    formulas = [
        r["addConditionalFormatRule"]["rule"]["booleanRule"]["condition"]["values"][0][
            "userEnteredValue"
        ]
        for r in reqs
        if "addConditionalFormatRule" in r
    ]
    assert formulas == ["=AND(ISNUMBER($C2),$C2<0)", "=AND(ISNUMBER($C2),ISNUMBER($B2),$C2<=$B2)"]


def test_plan_new_settings_items_are_appended_to_an_existing_settings_tab() -> None:
    channels = [RAKUTEN, TESTMALL]
    tab = load_template(channels).tab("settings")
    head = [c.header for c in tab.columns]
    have = [list(r) for r in tab.seed_rows if not str(r[0]).startswith("テスト")]
    meta = {"sheets": [sheet_meta("設定", 3)]}
    plan = build_init_plan(meta, {}, existing_rows={"settings": [head, *have]}, channels=channels)
    assert plan.added_settings == ["テスト 注文取込み", "テスト 在庫更新", "テスト 表示在庫設定"]
    append = next(r["appendCells"] for r in plan.requests if "appendCells" in r)
    assert append["sheetId"] == 3
    assert [
        row["values"][0]["userEnteredValue"]["stringValue"] for row in append["rows"]
    ] == plan.added_settings


def test_plan_updates_schema_version_in_state() -> None:
    meta = {"sheets": [sheet_meta("_state", 9, props={"hidden": True})]}
    old = [["キー", "値"], ["cursor:rakuten", "x"], ["schema_version", "0"]]
    plan = build_init_plan(meta, {}, existing_rows={"state": old})
    update = next(
        r["updateCells"] for r in plan.requests if "updateCells" in r and 9 in _sheet_ids(r)
    )
    assert update["start"] == {"sheetId": 9, "rowIndex": 2, "columnIndex": 1}
    assert update["rows"][0]["values"][0]["userEnteredValue"]["stringValue"] == str(
        TPL.schema_version
    )
    assert plan.schema_version == TPL.schema_version


def test_plan_rehides_state_and_refreezes_header() -> None:
    meta = {"sheets": [sheet_meta("_state", 9, frozen=0)]}
    reqs = [r for r in plan_init(meta, {"state": ["キー", "値"]}) if 9 in _sheet_ids(r)]
    fields = sorted(
        r["updateSheetProperties"]["fields"] for r in reqs if "updateSheetProperties" in r
    )
    assert fields == ["gridProperties.frozenRowCount", "hidden"]


def _existing_meta(head: list[str], *, cols: int = 30, rules: bool = True) -> dict[str, Any]:
    """Metadata of an existing 商品マスタ (sheetId 7) with the bot's protections/rules present."""
    hm = header_map(PRODUCTS, head)
    protected = [
        {
            "protectedRangeId": i,
            "description": f"[zaiko-bot:products.{k}] x",
            "warningOnly": True,
            "range": {
                "sheetId": 7,
                "startColumnIndex": hm.columns[k],
                "endColumnIndex": hm.columns[k] + 1,
            },
        }
        for i, k in enumerate(("status", "updated_at"))
        if k in hm.columns
    ]
    cond: list[dict[str, Any]] = []
    if rules:
        s, low = hm.letter("stock"), hm.letter("low_stock")
        for f in (
            f"=AND(ISNUMBER(${s}2),${s}2<0)",
            f"=AND(ISNUMBER(${s}2), ISNUMBER(${low}2), ${s}2<=${low}2)",
        ):
            cond.append(
                {
                    "ranges": [{"sheetId": 7}],
                    "booleanRule": {
                        "condition": {"type": "CUSTOM_FORMULA", "values": [{"userEnteredValue": f}]}
                    },
                }
            )
    products = sheet_meta(
        "商品マスタ", 7, cols=cols, protectedRanges=protected, conditionalFormats=cond
    )
    others = [sheet_meta(t.title, 100 + i) for i, t in enumerate(TPL.tabs) if t.key != "products"]
    # The other tabs are treated as already complete: give them their protections.
    for sheet, tab in zip(others, [t for t in TPL.tabs if t.key != "products"], strict=True):
        sheet["properties"]["hidden"] = tab.hidden
        sheet["protectedRanges"] = [
            {"description": f"[zaiko-bot:{tab.key}] x"}
            if tab.bot_owned
            else {"description": f"[zaiko-bot:{tab.key}.{c.key}] x"}
            for c in tab.columns
            if c.owner == "bot"
        ]
    return {"sheets": [products, *others]}


def test_existing_complete_tabs_need_headers() -> None:
    # With the other tabs' header rows given, only 商品マスタ's gap is planned.
    head = [h for h in HEAD if h != "配分しきい値"]
    headers: dict[str, list[Any]] = {t.key: [c.header for c in t.columns] for t in TPL.tabs}
    headers["products"] = list(head)
    plan = build_init_plan(_existing_meta(head), headers)
    assert plan.added_headers == {"商品マスタ": ["配分しきい値"]}
    assert plan.created_tabs == []


# --------------------------------------------------------------------------- emulator


def number_format(emu: SheetsEmulator, sid: str, title: str, cell: str) -> Any:
    fmt = emu.cell_format(sid, title, cell)
    # Tolerate the format with or without its userEnteredFormat wrapper.
    return fmt.get("userEnteredFormat", fmt).get("numberFormat")


@pytest.fixture
def emu() -> SheetsEmulator:
    return SheetsEmulator()


def test_init_on_an_empty_spreadsheet(emu: SheetsEmulator) -> None:
    sid = emu.create_spreadsheet("zaiko", sheets=("Sheet1",))
    sh = emu.client().open_by_key(sid)
    emu.reset_counts()
    report = init_sheet(sh)
    assert emu.counts()["write"] == 1
    # Metadata, and the default tab's values (it is removed only when empty).
    assert emu.counts()["read"] == 2
    assert report.created_tabs == [t.title for t in TPL.tabs]
    assert report.writes == 1
    assert "商品マスタ" in report.summary()

    assert emu.sheet_titles(sid) == [t.title for t in TPL.tabs]  # the empty Sheet1 is gone
    for tab in TPL.tabs:
        values = emu.get_values(sid, tab.title)
        assert values[0] == [c.header for c in tab.columns], tab.key
        props = emu.sheet_properties(sid, tab.title)
        assert props["gridProperties"]["frozenRowCount"] == 1
        assert bool(props.get("hidden", False)) == tab.hidden

    # TEXT format on code columns, checkboxes, dropdown, protections, rules.
    assert number_format(emu, sid, "商品マスタ", "J2") == {"type": "TEXT"}
    assert number_format(emu, sid, "商品マスタ", "A500") == {"type": "TEXT"}
    assert number_format(emu, sid, "商品マスタ", "C2") is None
    validations = emu.data_validations(sid, "商品マスタ")
    boolean_cols = {
        (v["range"]["startColumnIndex"], v["range"]["endColumnIndex"])
        for v in validations
        if v["rule"]["condition"]["type"] == "BOOLEAN"
    }
    assert boolean_cols == {(6, 8)}
    kinds_ = [v["rule"]["condition"] for v in emu.data_validations(sid, "入出庫")]
    assert kinds_[0]["type"] == "ONE_OF_LIST"
    assert [x["userEnteredValue"] for x in kinds_[0]["values"]] == [
        "入荷",
        "返品",
        "店頭販売",
        "破損",
        "その他",
    ]
    assert {v["rule"]["condition"]["type"] for v in emu.data_validations(sid, "出品状況")} == {
        "BOOLEAN"
    }
    assert len(emu.protected_ranges(sid, "商品マスタ")) == 2
    assert all(p["warningOnly"] for p in emu.protected_ranges(sid, "販売ログ"))
    assert len(emu.conditional_formats(sid, "商品マスタ")) == 2

    # The seeded 設定 and _state parse cleanly.
    values = {
        "products": emu.get_values(sid, "商品マスタ", "FORMULA"),
        "settings": emu.get_values(sid, "設定", "FORMULA"),
        "state": emu.get_values(sid, "_state", "FORMULA"),
    }
    read = parse_sheet(values, malls=("rakuten",))
    assert read.snapshot.problems == ()
    assert read.snapshot.settings.interval_seconds == 15
    assert read.state == {"schema_version": str(TPL.schema_version)}


def test_second_run_sends_no_write(emu: SheetsEmulator) -> None:
    sid = emu.create_spreadsheet("zaiko", sheets=("Sheet1",))
    sh = emu.client().open_by_key(sid)
    init_sheet(sh)
    emu.reset_counts()
    report = init_sheet(sh)
    # metadata, the header rows, the formats of the TEXT columns; nothing to write
    assert emu.counts() == {"read": 3, "write": 0}
    assert report.requests == 0 and report.writes == 0
    assert report.summary() == TPL.message("init_nothing")


def test_upgrade_keeps_staff_columns_and_data(emu: SheetsEmulator) -> None:
    sid = emu.create_spreadsheet("zaiko", sheets=("Sheet1",))
    sh = emu.client().open_by_key(sid)
    init_sheet(sh)
    # A sheet made by an older template: no 配分しきい値, staff's own columns, data.
    titles = emu.sheet_titles(sid)
    assert "商品マスタ" in titles
    old = emu.get_values(sid, "商品マスタ")[0]
    head = [h for h in old if h != "配分しきい値"]
    emu2 = SheetsEmulator()
    sid2 = emu2.create_spreadsheet("old", sheets=("商品マスタ",), cols=len(head) + 2)
    staff_head = [*head, "仕入先", "メモ"]
    data = [["A-1", "Tシャツ", 5, "", "", False, False, "", "t:1", "", "", "問屋A", "要確認"]]
    emu2.set_values(sid2, "商品マスタ", "A1", [staff_head, *data])
    sh2 = emu2.client().open_by_key(sid2)
    emu2.reset_counts()
    report = init_sheet(sh2)
    assert emu2.counts()["write"] == 1
    assert report.added_headers == {"商品マスタ": ["配分しきい値"]}
    assert "商品マスタ" not in report.created_tabs
    values = emu2.get_values(sid2, "商品マスタ")
    assert values[0] == [*staff_head, "配分しきい値"]
    assert values[1] == data[0]  # staff data untouched
    read = parse_sheet({"products": values}, malls=("rakuten",))
    assert read.snapshot.products["A-1"].stock == 5
    assert read.snapshot.products["A-1"].alloc_threshold is None
    # Second run: nothing to do.
    emu2.reset_counts()
    assert init_sheet(sh2).writes == 0
    assert emu2.counts()["write"] == 0


# --------------------------------------------------------------------------- channels


def _everything(emu: SheetsEmulator, sid: str) -> list[Any]:
    return [v for title in emu.sheet_titles(sid) for row in emu.get_values(sid, title) for v in row]


def test_sheet_for_rakuten_only_has_one_code_column_and_only_its_settings(
    emu: SheetsEmulator,
) -> None:
    sid = emu.create_spreadsheet("zaiko", sheets=("Sheet1",))
    init_sheet(emu.client().open_by_key(sid), [RAKUTEN])
    head = emu.get_values(sid, "商品マスタ")[0]
    assert [h for h in head if str(h).endswith("コード") and h != "商品コード"] == ["楽天コード"]
    assert head.index("楽天コード") == head.index("状態") + 1
    items = [row[0] for row in emu.get_values(sid, "設定")[1:]]
    assert [i for i in items if " " in i] == [
        "楽天 注文取込み",
        "楽天 在庫更新",
        "楽天 表示在庫設定",
    ]
    cells = " ".join(str(v) for v in _everything(emu, sid))
    for word in UNBUILT:
        assert word not in cells, word


def test_init_adds_a_newly_enabled_channel_and_keeps_staff_data(emu: SheetsEmulator) -> None:
    sid = emu.create_spreadsheet("zaiko", sheets=("Sheet1",))
    sh = emu.client().open_by_key(sid)
    init_sheet(sh, [RAKUTEN])
    # Staff fill every column of a row, add their own column and change a setting.
    head = [*emu.get_values(sid, "商品マスタ")[0], "仕入先"]
    row = ["A-1", "Tシャツ", 5, "+1", 2, 3, False, False, "", "t:1", "", "問屋A"]
    assert len(row) == len(head)
    emu.set_values(sid, "商品マスタ", "A1", [head, row])
    settings = emu.get_values(sid, "設定")
    at = [r[0] for r in settings].index("楽天 在庫更新")
    emu.set_values(sid, "設定", f"B{at + 1}", [["OFF"]])
    before = {t: emu.get_values(sid, t) for t in emu.sheet_titles(sid)}

    emu.reset_counts()
    report = init_sheet(sh, [RAKUTEN, TESTMALL])
    assert emu.counts()["write"] == 1
    assert report.added_headers == {"商品マスタ": ["テストコード"]}
    assert report.added_settings == ["テスト 注文取込み", "テスト 在庫更新", "テスト 表示在庫設定"]
    after = {t: emu.get_values(sid, t) for t in emu.sheet_titles(sid)}
    # Appended after the last used column (staff's own included): nothing moved.
    assert after["商品マスタ"][0] == [*head, "テストコード"]
    for title, grid in before.items():
        for r, line in enumerate(grid):
            assert after[title][r][: len(line)] == line, (title, r)
    new_rows = after["設定"][len(before["設定"]) :]
    assert [r[:2] for r in new_rows] == [
        ["テスト 注文取込み", "ON"],
        ["テスト 在庫更新", "ON"],
        ["テスト 表示在庫設定", ""],
    ]
    assert new_rows[0][2] == "テストモールの注文を取り込んで在庫数を減らす。"
    letter = chr(ord("A") + len(head))
    assert number_format(emu, sid, "商品マスタ", f"{letter}2") == {"type": "TEXT"}

    # The new channel is read: its codes, its 設定 rows, its names.
    emu.set_values(sid, "商品マスタ", f"{letter}2", [["tm-1"]])
    values = {
        "products": emu.get_values(sid, "商品マスタ", "FORMULA"),
        "settings": emu.get_values(sid, "設定", "FORMULA"),
    }
    read = parse_sheet(values, malls=("rakuten", "testmall"), channels=[RAKUTEN, TESTMALL])
    assert read.snapshot.problems == ()
    assert read.snapshot.products["A-1"].codes == {"rakuten": ("t:1",), "testmall": ("tm-1",)}
    assert read.snapshot.settings.mall("rakuten").push_stock is False
    assert set(read.snapshot.settings.malls) == {"rakuten", "testmall"}
    assert read.snapshot.mall_labels == {"rakuten": "楽天", "testmall": "テスト"}

    # Idempotent; switching the channel off again deletes nothing.
    emu.reset_counts()
    assert init_sheet(sh, [RAKUTEN, TESTMALL]).writes == 0
    assert init_sheet(sh, [RAKUTEN]).writes == 0
    assert emu.counts()["write"] == 0
    assert emu.get_values(sid, "商品マスタ")[0] == [*head, "テストコード"]


def test_mall_key_reads_a_declared_channels_label_aliases_and_key() -> None:
    channels = [RAKUTEN, TESTMALL]
    for word in ("テスト", "テストモール", "testmall", "ＴｅｓｔＭａｌｌ", " テスト "):
        assert mall_key(word, channels) == "testmall", word
    assert mall_key("楽天市場", channels) == "rakuten"
    assert mall_key("テスト") is None  # not registered: unknown to the default
    tpl = load_template(channels)
    assert tpl.mall_label("testmall") == "テスト"
    assert tpl.setting_lookup["テストモール在庫更新"][0] == "testmall"


# --------------------------------------------------------------------------- TEXT columns


def _strip_format(emu: SheetsEmulator, sid: str, title: str, col: int) -> None:
    """An older sheet: the column has the automatic format (no TEXT) in every row."""
    sh = emu.client().open_by_key(sid)
    sheet_id = int(emu.sheet_properties(sid, title)["sheetId"])
    sh.batch_update(
        {
            "requests": [
                {
                    "repeatCell": {
                        "range": {
                            "sheetId": sheet_id,
                            "startRowIndex": 1,
                            "startColumnIndex": col,
                            "endColumnIndex": col + 1,
                        },
                        "cell": {"userEnteredFormat": {}},
                        "fields": "userEnteredFormat.numberFormat",
                    }
                }
            ]
        }
    )


def test_rule_codes_and_setting_values_are_text_to_the_last_row(emu: SheetsEmulator) -> None:
    sid = emu.create_spreadsheet("zaiko", sheets=("Sheet1",))
    init_sheet(emu.client().open_by_key(sid))
    last = emu.sheet_properties(sid, "商品マスタ")["gridProperties"]["rowCount"]
    head = emu.get_values(sid, "商品マスタ")[0]
    for header in ("商品コード", "表示在庫設定", "楽天コード"):
        letter = chr(ord("A") + head.index(header))
        for row in (2, last):
            assert number_format(emu, sid, "商品マスタ", f"{letter}{row}") == {"type": "TEXT"}
    assert number_format(emu, sid, "設定", "B2") == {"type": "TEXT"}
    # What staff type there stays as typed (the guide's +20, a code's zeros).
    emu.set_values(sid, "商品マスタ", "A2", [["00123", None, 5, "+20"]])
    emu.set_values(sid, "商品マスタ", f"D{last}", [["-0"]])
    values = emu.get_values(sid, "商品マスタ")
    assert values[1][:4] == ["00123", "", 5, "+20"]
    assert values[last - 1][3] == "-0"


def test_init_upgrades_an_older_sheets_formats_once(emu: SheetsEmulator) -> None:
    sid = emu.create_spreadsheet("zaiko", sheets=("Sheet1",))
    sh = emu.client().open_by_key(sid)
    init_sheet(sh)
    head = emu.get_values(sid, "商品マスタ")[0]
    rule = head.index("表示在庫設定")
    _strip_format(emu, sid, "商品マスタ", rule)
    _strip_format(emu, sid, "設定", 1)
    emu.append_rows(sid, "入出庫", 500)  # rows past the template's, never formatted
    assert number_format(emu, sid, "商品マスタ", "D700") is None
    report = init_sheet(sh)
    assert report.writes == 1 and report.requests == 3
    assert number_format(emu, sid, "商品マスタ", "D700") == {"type": "TEXT"}
    assert number_format(emu, sid, "設定", "B50") == {"type": "TEXT"}
    assert number_format(emu, sid, "入出庫", "B1400") == {"type": "TEXT"}
    assert number_format(emu, sid, "商品マスタ", "C700") is None  # 在庫数 stays a number
    emu.reset_counts()
    again = init_sheet(sh)
    assert again.writes == 0 and emu.counts() == {"read": 3, "write": 0}


# --------------------------------------------------------------------------- 連動 → 連動停止


def _sync_of(emu: SheetsEmulator, sid: str) -> tuple[dict[str, bool], list[str]]:
    values = {"products": emu.get_values(sid, "商品マスタ", "FORMULA")}
    read = parse_sheet(values, malls=("rakuten",), channels=[RAKUTEN])
    snap = read.snapshot
    return {sku: p.sync for sku, p in snap.products.items()}, [p.message for p in snap.problems]


def test_init_turns_an_old_sync_column_into_stop_sync_keeping_every_rows_meaning(
    emu: SheetsEmulator,
) -> None:
    """A sheet from before 連動停止: checked = sync, blank = sync, FALSE = stopped."""
    sid = emu.create_spreadsheet("zaiko", sheets=("Sheet1",))
    sh = emu.client().open_by_key(sid)
    init_sheet(sh, [RAKUTEN])
    head = emu.get_values(sid, "商品マスタ")[0]
    col = head.index("連動停止")
    head[col] = "連動"  # as the older template wrote it
    old = {"ON-BOX": True, "OFF-BOX": False, "BLANK": None, "WORD-ON": "はい", "WORD-OFF": "OFF"}
    rows = []
    for sku, value in old.items():
        row: list[Any] = [None] * len(head)
        row[head.index("商品コード")], row[head.index("在庫数")] = sku, 3
        row[head.index("楽天コード")] = f"{sku.lower()}:v"
        row[col] = value
        rows.append(row)
    typo: list[Any] = [None] * len(head)
    typo[head.index("商品コード")], typo[head.index("在庫数")], typo[col] = "TYPO", 1, "たぶん"
    emu.set_values(sid, "商品マスタ", "A1", [head, *rows, typo])
    before, problems_before = _sync_of(emu, sid)
    assert before == {
        "ON-BOX": True,
        "OFF-BOX": False,
        "BLANK": True,
        "WORD-ON": True,
        "WORD-OFF": False,
    }

    emu.reset_counts()
    report = init_sheet(sh, [RAKUTEN])
    assert emu.counts()["write"] == 1  # header and values in one atomic batch
    assert report.migrated == ["商品マスタ 連動→連動停止"]
    assert "連動停止" in report.summary()
    after_head = emu.get_values(sid, "商品マスタ")[0]
    assert after_head[col] == "連動停止" and after_head.count("連動停止") == 1
    after, problems_after = _sync_of(emu, sid)
    assert after == before  # no row changed meaning
    assert (
        problems_after
        == problems_before
        == ["G7: 連動停止『たぶん』はチェック（TRUE / FALSE）で入力してください"]
    )
    grid = emu.get_values(sid, "商品マスタ", "FORMULA")
    stop = {r[0]: (r[col] if col < len(r) else "") for r in grid[1:]}
    assert stop == {
        "ON-BOX": False,
        "OFF-BOX": True,
        "BLANK": "",
        "WORD-ON": False,
        "WORD-OFF": True,
        "TYPO": "たぶん",  # unreadable before, left as typed: still a row problem
    }
    # Idempotent: the column is 連動停止 now, nothing is flipped twice.
    emu.reset_counts()
    assert init_sheet(sh, [RAKUTEN]).writes == 0


def test_bot_only_columns_sit_at_the_right_in_their_own_colour() -> None:
    """販売ログ キー and 反映数 are kept, last, darker, and their notes say they are the bot's."""
    for tab in TPL.tabs:
        internal = [i for i, c in enumerate(tab.columns) if c.internal]
        if not internal:
            continue
        assert internal == list(range(len(tab.columns) - len(internal), len(tab.columns)))
        assert all(tab.columns[i].note.startswith("【ボット用】") for i in internal)
    sales = TPL.tab("sales_log")
    assert [c.header for c in sales.columns if c.internal] == ["キー", "反映数"]
    plan = build_init_plan({"sheets": []}, {})
    (cells,) = [
        r["updateCells"]["rows"][0]["values"]
        for r in plan.requests
        if "updateCells" in r
        and r["updateCells"]["rows"][0]["values"][0].get("note", "").startswith("反映した日時")
    ]
    colours = [c["userEnteredFormat"]["backgroundColor"] for c in cells]
    assert colours[-1] == colours[-2] != colours[0]


def test_status_is_on_the_first_screen_before_the_code_columns() -> None:
    head = [c.header for c in PRODUCTS.columns]
    assert head.index("状態") < min(i for i, c in enumerate(PRODUCTS.columns) if c.mall)
    width = sum(c.width for c in PRODUCTS.columns[: head.index("状態") + 1])
    assert width <= 1280


def test_the_sheet_links_to_the_staff_guide(emu: SheetsEmulator) -> None:
    """設定 has a 使い方ガイド row with the guide's URL (the bot never reads it)."""
    sid = emu.create_spreadsheet("zaiko", sheets=("Sheet1",))
    init_sheet(emu.client().open_by_key(sid), [RAKUTEN])
    rows = {r[0]: r for r in emu.get_values(sid, "設定")[1:]}
    url = rows["使い方ガイド"][1]
    assert url.startswith("https://") and url.endswith("sheets_template/GUIDE.md")
    assert "使い方ガイド" in PRODUCTS.column("sku").note
    # A shop that points it at its own page: still no problem, nothing changes.
    emu.set_values(sid, "設定", "B7", [["社内wikiのページ"]])
    values = {t: emu.get_values(sid, t, "FORMULA") for t in ("商品マスタ", "設定")}
    read = parse_sheet(
        {"products": values["商品マスタ"], "settings": values["設定"]},
        malls=("rakuten",),
        channels=[RAKUTEN],
    )
    assert read.snapshot.problems == ()
