"""楽天 order changes and 楽天 codes through the production wiring (issue 7 A.1, A.4).

A line reduced on an older, not yet shipped order reaches 販売ログ and 在庫数 within
minutes, whether RMS shows the change as 変更確定待ち (400) or makes it in place; a
cancel passes 800 before 900 and gives its units back once; a malformed 楽天 code or
one code on two products is a row problem when the sheet is read, said once.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.core.domain import AlertKind
from tests.e2e.conftest import (
    MALL_LOG,
    Shop,
    assert_ledger_consistent,
    assert_mall_matches_sheet,
)


def _older_unshipped_order(shop: Shop) -> str:
    """Three T-shirts and a mug, applied, then 発送待ち for an hour of quiet cycles."""
    number = shop.order(("tshirt:m", 3), ("mug:blue", 1))
    shop.run_until_quiet()
    assert (shop.stock("TS-M"), shop.stock("MUG")) == (7, 5)
    shop.sim.orders[number].progress = 300  # 発送待ち
    shop.wait(3600)
    shop.run_until_quiet()
    return number


@pytest.mark.parametrize("via_400", [False, True], ids=["in-place", "through-400"])
def test_a_partial_change_of_an_older_unshipped_order_reaches_the_ledger(
    shop: Shop, via_400: bool
) -> None:
    number = _older_unshipped_order(shop)
    shop.sim.change_line_units(number, 0, 1, via_400=via_400)
    if via_400:
        shop.sim.confirm_change(number)  # back at 300 before the bot's next poll
    changed_at = shop.clock.now()
    for _ in range(30):
        shop.cycle()
        if shop.stock("TS-M") == 9:
            break
    assert shop.stock("TS-M") == 9, "the change did not reach 在庫数"
    assert shop.clock.now() - changed_at <= timedelta(minutes=6)
    (change,) = [r for r in shop.sales("数量変更") if r["注文番号"] == number]
    assert (change["商品コード"], change["数量"], change["反映数"]) == ("TS-M", 2, 1)
    assert (change["変更前"], change["変更後"]) == (7, 9)
    assert shop.stock("MUG") == 5  # the other line is untouched
    shop.run_until_quiet()
    assert_ledger_consistent(shop)
    assert_mall_matches_sheet(shop)


def test_a_cancel_passing_800_gives_its_units_back_once_confirmed(shop: Shop) -> None:
    number = _older_unshipped_order(shop)
    shop.sim.request_cancel(number)  # RMS's cancelOrder: キャンセル確定待ち (800) first
    shop.run_until_quiet()
    assert (shop.stock("TS-M"), shop.stock("MUG")) == (7, 5)  # may still be withdrawn
    shop.sim.confirm_cancel(number)
    shop.run_until_quiet()
    assert (shop.stock("TS-M"), shop.stock("MUG")) == (10, 6)
    cancels = [r for r in shop.sales("キャンセル") if r["注文番号"] == number]
    assert sorted(r["商品コード"] for r in cancels) == ["MUG", "TS-M"]
    assert_ledger_consistent(shop)
    assert_mall_matches_sheet(shop)


@pytest.mark.parametrize(
    ("typed", "phrase"),
    [
        ("tshirt", "SKU管理番号 を書いて"),
        ("tshirt:l:xl", "「:」が 2 個"),
        ("tshirt:l;mug:blue", "「;」"),
        ("tshirt:l／mug:blue", "スラッシュ"),
        ("tshirt:l\u3000mug:blue", "スペース"),
    ],
    ids=["no-variant", "two-colons", "semicolon", "full-width-slash", "full-width-space"],
)
def test_a_malformed_rakuten_code_is_a_row_problem_when_the_sheet_is_read(
    shop: Shop, typed: str, phrase: str
) -> None:
    pushes_before = len(shop.rows(MALL_LOG))
    cell = shop.type("TS-L", "楽天コード", typed)
    for _ in range(3):
        assert shop.cycle().committed
    status = shop.status("TS-L")
    assert status.startswith(f"エラー: {cell}: 楽天コード『"), status
    assert phrase in status
    errors = [e for e in shop.errors() if cell in str(e["内容"])]
    assert len(errors) == 1 and phrase in str(errors[0]["内容"])
    alerts = [a for a in shop.alerts_of(AlertKind.ROW_PROBLEM) if cell in a.title]
    assert len(alerts) == 1
    # Reported at read time: nothing about it was ever sent to 楽天.
    assert len(shop.rows(MALL_LOG)) == pushes_before
    shop.type("TS-L", "楽天コード", "tshirt:l")
    shop.run_until_quiet()
    assert shop.status("TS-L") == "OK"


def test_one_code_on_two_products_is_one_error_row_and_one_alert(shop: Shop) -> None:
    shop.type("SCARF", "楽天コード", "mug:blue")
    for _ in range(3):
        assert shop.cycle().committed
    errors = [e for e in shop.errors() if "mug:blue" in str(e["内容"])]
    assert len(errors) == 1, shop.errors()
    assert "複数の商品で使われています" in str(errors[0]["内容"])
    alerts = [a for a in shop.alerts_of(AlertKind.ROW_PROBLEM) if "mug:blue" in a.title]
    assert len(alerts) == 1, [a.title for a in shop.sent_alerts()]
    for sku in ("MUG", "SCARF"):
        assert "複数の商品で使われています" in shop.status(sku)
    shop.type("SCARF", "楽天コード", "scarf:wool")
    shop.run_until_quiet()
    assert shop.status("MUG") == "OK"
