"""Bad input typed by staff, through whole cycles (ARCHITECTURE.md §3).

A cell the bot cannot understand never changes stock: the row's 状態 says what is wrong
in plain Japanese naming the cell, エラーログ gets one row, Slack one message, and the
row is left out of pushes (its orders wait as 保留) until it is fixed.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.core import words
from bot.core.domain import AlertKind
from tests.e2e.conftest import (
    MASTER,
    MOVES,
    SALES,
    Shop,
    assert_ledger_consistent,
    assert_mall_matches_sheet,
)

WAITING = ("保留", "未割当")
"""販売ログ 種別 of a line that waits for its product row."""


def flagged(shop: Shop, where: str, phrase: str) -> None:
    """Exactly one エラーログ row and one alert, both naming ``where`` and saying ``phrase``."""
    errors = [e for e in shop.errors() if where in str(e["内容"])]
    assert len(errors) == 1, shop.errors()
    assert phrase in str(errors[0]["内容"])
    alerts = [a for a in shop.alerts_of(AlertKind.ROW_PROBLEM) if where in a.title]
    assert len(alerts) == 1, [a.title for a in shop.sent_alerts()]
    assert phrase in alerts[0].title


@pytest.mark.parametrize(
    ("typed", "phrase"),
    [
        ("abc", "在庫数『abc』は数字ではありません（数字だけを入力してください）"),
        (
            -3,
            "在庫数にマイナス（-3）は入力できません（数えた数を 0 以上で入力してください。減らすときは入出庫タブへ）",
        ),
        (1.5, "在庫数『1.5』は整数で入力してください"),
        ("=B3*2", "在庫数に数式は使えません"),
        ("", "在庫数が空欄です（入力してください。在庫数なら 0 でも構いません）"),
    ],
    ids=["text", "negative", "decimal", "formula", "blank"],
)
def test_a_bad_stock_cell_is_reported_once_and_changes_nothing(
    shop: Shop, typed: Any, phrase: str
) -> None:
    before = shop.stocks()
    shown = shop.live("tshirt:l")
    assert shown is not None
    cell = shop.type("TS-L", "在庫数", typed)
    held = shop.order(("tshirt:l", 1))
    shop.order(("tshirt:m", 1))  # another product's order goes through at once
    for _ in range(3):
        report = shop.cycle()
        assert report.committed

    assert shop.status("TS-L").startswith(f"エラー: {cell}: {phrase}")
    flagged(shop, cell, phrase)
    # The staff's cell is left as typed; every other product only moved by its order.
    if typed != "":
        assert shop.formulas(MASTER)[2][2] == typed
    assert shop.stocks() == {**before, "TS-L": shop.stock("TS-L"), "TS-M": 9}
    assert shop.live("tshirt:m") == 9
    # The bad row is out of pushes, and its order waits.
    assert shop.live("tshirt:l") == shown - 1  # 楽天's own decrement only
    (waiting,) = [r for r in shop.sales() if r["注文番号"] == held]
    assert waiting["種別"] in WAITING  # not applied: 保留 is the right word, see below

    # Staff fix the cell: the count is taken as a stocktake, then the held order applies.
    shop.type("TS-L", "在庫数", 6)
    shop.cycle()
    assert shop.stock("TS-L") == 5
    assert shop.status("TS-L") == "OK"
    assert [r["種別"] for r in shop.sales() if r["注文番号"] == held] == [waiting["種別"], "販売"]
    assert shop.live("tshirt:l") == 5
    assert len(shop.errors()) == 1 and len(shop.alerts_of(AlertKind.ROW_PROBLEM)) == 1


def test_full_width_digits_are_a_stocktake(shop: Shop) -> None:
    shop.type("TS-L", "在庫数", "１２")
    shop.cycle()
    assert shop.status("TS-L") == "OK"
    assert shop.live("tshirt:l") == 12
    (take,) = [o for o in shop.ops() if o["種別"] == "棚卸"]
    assert (take["変更前"], take["変更後"]) == ("8", "12")
    assert shop.errors() == []
    assert shop.alerts_of(AlertKind.ROW_PROBLEM) == []
    shop.order(("tshirt:l", 2))
    shop.cycle()
    assert shop.stock("TS-L") == 10


def test_a_duplicated_sku_flags_both_rows_and_syncs_neither(shop: Shop) -> None:
    row = shop.add_product(
        {"商品コード": "TS-L", "商品名": "Tシャツ L（コピー）", "在庫数": 3, "連動停止": False}
    )
    held = shop.order(("tshirt:l", 1))
    upserts = shop.mall_calls("bulk-upsert")
    shop.cycle()
    shop.cycle()

    message = f"A3, A{row}: 商品コード『TS-L』が重複しています（どちらかを変えるか 1 行にまとめてください。両方の行が止まっています）"
    assert shop.status("TS-L") == f"エラー: {message}"
    assert shop.status("TS-L", nth=1) == f"エラー: {message}"
    alerts = [a for a in shop.alerts_of(AlertKind.ROW_PROBLEM) if message in a.title]
    assert len(alerts) == 1
    assert (shop.stock("TS-L"), shop.stock("TS-L", nth=1)) == (8, 3)
    assert shop.mall_calls("bulk-upsert") == upserts  # neither row was pushed
    assert [r["種別"] for r in shop.sales() if r["注文番号"] == held] in (["保留"], ["未割当"])

    # Staff delete the copy: the row syncs again and the held order applies once.
    shop.emu.delete_rows(shop.sid, MASTER, row - 1, row)
    shop.run_until_quiet()
    assert shop.stock("TS-L") == 7 and shop.status("TS-L") == "OK"
    assert shop.live("tshirt:l") == 7
    assert_ledger_consistent(shop)


def test_a_duplicated_sku_is_logged_once(shop: Shop) -> None:
    row = shop.add_product({"商品コード": "TS-L", "商品名": "コピー", "在庫数": 3})
    shop.cycle()
    message = f"A3, A{row}: 商品コード『TS-L』が重複しています（どちらかを変えるか 1 行にまとめてください。両方の行が止まっています）"
    (error,) = [e["内容"] for e in shop.errors()]
    # What is wrong, then what to do (エラーログ's 内容 is for staff; 詳細 for engineers).
    assert error == f"{message} → {words.say('engine.row_problem_text')}"


@pytest.mark.parametrize("broken", ["bad-cell", "duplicate"])
def test_an_order_for_a_row_with_a_problem_is_held_not_unassigned(shop: Shop, broken: str) -> None:
    if broken == "bad-cell":
        shop.type("MUG", "在庫数", "abc")
    else:
        shop.add_product({"商品コード": "MUG", "商品名": "コピー", "在庫数": 3})
    shop.order(("mug:blue", 1))
    shop.cycle()
    assert [r["種別"] for r in shop.rows(SALES)] == ["保留"]
    assert shop.alerts_of(AlertKind.UNASSIGNED) == []


def test_a_renamed_header_stops_the_tab_and_holds_orders_until_fixed(shop: Shop) -> None:
    cursor = shop.state()["cursor:rakuten"]
    upserts = shop.mall_calls("bulk-upsert")
    cell = shop.rename_header(MASTER, "在庫数", "在庫")
    number = shop.order(("mug:blue", 1))
    shop.movement("TS-L", 2)
    for _ in range(3):
        assert shop.cycle().committed

    header = [e for e in shop.errors() if "見出し『在庫数』が見つかりません" in str(e["内容"])]
    assert len(header) == 1 and header[0]["発生箇所"] == MASTER
    assert cell == "C1"
    alerts = [a for a in shop.sent_alerts() if "見出し『在庫数』" in a.title]
    assert len(alerts) == 1
    assert shop.sales() == []  # orders are held ...
    assert shop.state()["cursor:rakuten"] == cursor  # ... and the cursor waits for them
    assert shop.mall_calls("bulk-upsert") == upserts  # nothing is pushed from a broken tab
    assert shop.rows(MOVES)[0]["反映"] in (None, "")
    assert shop.grid(MASTER)[2][2] == 8  # TS-L's stock cell is left alone

    shop.rename_header(MASTER, "在庫", "在庫数")
    shop.run_until_quiet()
    assert [r["注文番号"] for r in shop.sales("販売")] == [number]
    assert (shop.stock("MUG"), shop.stock("TS-L"), shop.stock("GIFT")) == (5, 10, 5)
    assert shop.state()["cursor:rakuten"] > cursor
    assert_mall_matches_sheet(shop)
    assert_ledger_consistent(shop)


def test_a_renamed_header_is_one_problem(shop: Shop) -> None:
    shop.rename_header(MASTER, "在庫数", "在庫")
    shop.cycle()
    assert len(shop.errors()) == 1
    assert len(shop.alerts_of(AlertKind.ROW_PROBLEM)) == 1


def test_a_staff_edit_of_a_set_rows_stock_is_ignored_with_a_status(shop: Shop) -> None:
    shop.type("GIFT", "在庫数", 50)
    shop.cycle()
    assert shop.stock("GIFT") == 6  # the bot wrote the computed number back
    assert "在庫数『50』は無視しました" in shop.status("GIFT")
    (ignored,) = [o for o in shop.ops() if o["種別"] == "セット在庫の入力を無視"]
    assert (ignored["商品コード"], ignored["変更後"]) == ("GIFT", "50")
    assert shop.live("gift:set") == 6
    # Like any bad input: one エラーログ row and one alert; the note stays in 状態.
    (error,) = shop.errors()
    assert "在庫数『50』は無視しました" in str(error["内容"])
    assert len(shop.alerts_of(AlertKind.ROW_PROBLEM)) == 1
    shop.cycle()
    assert "在庫数『50』は無視しました" in shop.status("GIFT")
    assert len(shop.alerts_of(AlertKind.ROW_PROBLEM)) == 1
    assert {k: v for k, v in shop.stocks().items() if k != "GIFT"} == {
        "TS-M": 10,
        "TS-L": 8,
        "MUG": 6,
        "SOAP": 24,
        "SCARF": 5,
    }


def test_a_movement_for_an_unknown_product_is_reported_and_applied_once_fixed(
    shop: Shop,
) -> None:
    before = shop.stocks()
    row = shop.movement("NOPE", 3, "入荷")
    for _ in range(3):
        shop.cycle()
    mark = str(shop.rows(MOVES)[row - 2]["反映"])
    assert (
        mark
        == "エラー: 商品コード『NOPE』が商品マスタにありません（入出庫の商品コードを直すと、次の連動で反映されます）"
    )
    flagged(shop, f"入出庫 {row}行目", "商品コード『NOPE』が商品マスタにありません")
    assert shop.stocks() == before

    shop.emu.set_values(shop.sid, MOVES, f"B{row}", [["MUG"]])
    shop.cycle()
    assert str(shop.rows(MOVES)[row - 2]["反映"]).startswith("済")
    assert shop.stock("MUG") == 9 and shop.live("mug:blue") == 9


def test_an_oversell_survives_a_broken_header(shop: Shop) -> None:
    shop.movement("MUG", -8, "店頭販売")  # sold on the shop floor beyond stock
    shop.cycle()
    assert (
        shop.stock("MUG") == -2
        and shop.status("MUG")
        == "売り越し: 2個不足（入荷したら入出庫に書くか、数え直した数を在庫数に入力してください）"
    )
    shop.rename_header(MASTER, "在庫数", "在庫")
    shop.cycle()
    shop.rename_header(MASTER, "在庫", "在庫数")
    shop.cycle()
    assert (
        shop.status("MUG")
        == "売り越し: 2個不足（入荷したら入出庫に書くか、数え直した数を在庫数に入力してください）"
    )


def test_an_oversell_that_ends_is_announced_once(shop: Shop) -> None:
    shop.movement("MUG", -8, "店頭販売")
    shop.cycle()
    (oversell,) = shop.alerts_of(AlertKind.OVERSELL)
    assert "店頭販売" in oversell.title and "お客様への連絡は不要" in oversell.text
    assert (oversell.sku, oversell.name) == ("MUG", "マグカップ")
    shop.movement("MUG", 5, "入荷")
    shop.cycle()
    shop.cycle()
    (resolved,) = shop.alerts_of(AlertKind.RESOLVED)
    assert resolved.sku == "MUG" and "解消" in resolved.title and "3" in resolved.title
    assert shop.status("MUG") == "OK"


def test_an_oversell_from_orders_asks_to_contact_the_customer(shop: Shop) -> None:
    shop.type("MUG", "在庫数", 1)
    shop.cycle()
    shop.order(("mug:blue", 1))  # the mall still shows 1…
    shop.type("MUG", "在庫数", 0)  # …while a stocktake finds none
    shop.cycle()
    (oversell,) = shop.alerts_of(AlertKind.OVERSELL)
    assert "お客様への連絡" in oversell.text and "入出庫" in oversell.text
