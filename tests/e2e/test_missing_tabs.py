"""A tab deleted or renamed while the bot runs (issue 7 item 7), end to end.

Bot tabs come back by themselves; a missing staff tab is said once (エラーログ, Slack),
the rest of the shop keeps syncing where that is safe, and it recovers when the tab is
back (renamed back, or re-created by init-sheet).
"""

from __future__ import annotations

import pytest

from bot.core.domain import AlertKind
from bot.infra.sheet.template import init_sheet
from tests.e2e.conftest import (
    ERRORS,
    MALL_LOG,
    MASTER,
    MOVES,
    OPS,
    SALES,
    SETS_TAB,
    SETTINGS_TAB,
    STATE,
    Shop,
    assert_ledger_consistent,
    delete_tab,
    rename_tab,
)

LISTINGS_TAB = "出品状況"


def said(shop: Shop, title: str) -> list[str]:
    """Slack messages about the missing tab ``title``."""
    return [
        a.title
        for a in shop.alerts_of(AlertKind.ROW_PROBLEM)
        if f"タブ『{title}』が見つかりません" in a.title
    ]


def logged(shop: Shop, title: str) -> int:
    return sum(f"タブ『{title}』が見つかりません" in str(r.get("内容")) for r in shop.errors())


def reinit(shop: Shop) -> None:
    """The operator runs init-sheet (creates missing tabs, never touches others)."""
    init_sheet(shop.emu.client().open_by_key(shop.sid))


def test_deleted_movements_tab_orders_still_sync_said_once_then_recovers(shop: Shop) -> None:
    delete_tab(shop, MOVES)
    shop.order(("tshirt:m", 2))
    shop.run_until_quiet()
    shop.order(("soap:single", 1))
    shop.run_until_quiet()
    assert shop.stock("TS-M") == 8 and shop.live("tshirt:m") == 8
    assert shop.stock("SOAP") == 23 and shop.live("soap:single") == 23
    [message] = said(shop, MOVES)
    assert "入出庫の反映は、タブが戻るまで止めています" in message
    assert logged(shop, MOVES) == 1
    # init-sheet puts the tab back: movements are applied again, nothing said twice.
    reinit(shop)
    shop.movement("SOAP", 10)
    shop.run_until_quiet()
    assert shop.stock("SOAP") == 33
    assert len(said(shop, MOVES)) == 1 and logged(shop, MOVES) == 1
    assert_ledger_consistent(shop)


def test_renamed_movements_tab_recovers_when_renamed_back(shop: Shop) -> None:
    row = shop.movement("SOAP", 4)
    shop.run_until_quiet()
    rename_tab(shop, MOVES, "入出庫（古い）")
    shop.order(("mug:blue", 1))
    shop.run_until_quiet()
    assert shop.stock("MUG") == 5
    assert len(said(shop, MOVES)) == 1
    rename_tab(shop, "入出庫（古い）", MOVES)
    shop.run_until_quiet()
    assert shop.stock("SOAP") == 28  # applied once, before and after the rename
    assert str(shop.rows(MOVES)[row - 2]["反映"]).startswith("済")


def test_deleted_sets_tab_keeps_the_last_definitions_and_restart_holds_orders(
    shop: Shop,
) -> None:
    delete_tab(shop, SETS_TAB)
    shop.order(("gift:set", 1))
    shop.run_until_quiet()
    assert (shop.stock("MUG"), shop.stock("SOAP")) == (5, 22)  # the set's components
    [message] = said(shop, SETS_TAB)
    assert "最後に読めたセット構成のまま" in message
    # A new process has never read the tab: set sales cannot be told, orders wait.
    shop.restart()
    shop.order(("tshirt:l", 1))
    shop.run_until_quiet()
    assert shop.stock("TS-L") == 8
    assert any("注文の反映とモールの在庫更新を止めています" in m for m in said(shop, SETS_TAB))
    reinit(shop)
    shop.emu.set_values(shop.sid, SETS_TAB, "A2", [["GIFT", "MUG", 1], ["GIFT", "SOAP", 2]])
    shop.run_until_quiet()
    assert shop.stock("TS-L") == 7 and shop.live("tshirt:l") == 7
    assert (shop.stock("MUG"), shop.stock("SOAP")) == (5, 22)  # not counted twice
    assert_ledger_consistent(shop)


def test_deleted_settings_tab_keeps_the_last_settings(shop: Shop) -> None:
    delete_tab(shop, SETTINGS_TAB)
    shop.order(("tshirt:m", 1))
    shop.run_until_quiet()
    shop.run_until_quiet()
    assert shop.stock("TS-M") == 9 and shop.live("tshirt:m") == 9
    assert len(said(shop, SETTINGS_TAB)) == 1 and logged(shop, SETTINGS_TAB) == 1
    reinit(shop)
    shop.order(("tshirt:m", 1))
    shop.run_until_quiet()
    assert shop.stock("TS-M") == 8 and shop.live("tshirt:m") == 8


@pytest.mark.parametrize("title", [OPS, SALES, MALL_LOG, ERRORS, LISTINGS_TAB, STATE])
def test_deleted_bot_tab_is_created_again_and_the_shop_keeps_syncing(
    shop: Shop, title: str
) -> None:
    shop.order(("tshirt:m", 1))
    shop.run_until_quiet()
    delete_tab(shop, title)
    shop.order(("tshirt:m", 2))
    shop.movement("SOAP", 3)
    shop.run_until_quiet()
    assert title in shop.emu.sheet_titles(shop.sid)
    assert shop.stock("TS-M") == 7 and shop.live("tshirt:m") == 7
    assert shop.stock("SOAP") == 27
    assert (
        sum(
            title in str(r.get("内容")) and "作り直しました" in str(r.get("内容"))
            for r in shop.errors()
        )
        == 1
    )
    assert not shop.alerts_of(AlertKind.SHEET_ERROR)  # no sheet failure, no alert
    if title == LISTINGS_TAB:  # the bot's memory of 出品状況 fills the new tab
        codes = sorted(c for r in shop.rows(LISTINGS_TAB) if (c := r["モール商品コード"]))
        assert codes == sorted(["tshirt:m", "tshirt:l", "mug:blue", "soap:single", "gift:set"])
        assert len(shop.grid(LISTINGS_TAB)) == 1 + len(codes)  # no stray or blank rows
    shop.restart()
    shop.run_until_quiet()
    assert shop.stock("TS-M") == 7 and shop.stock("SOAP") == 27  # nothing counted twice


def test_renamed_products_tab_holds_everything_until_it_is_back(shop: Shop) -> None:
    rename_tab(shop, MASTER, "商品マスタ（コピー）")
    shop.order(("tshirt:m", 2))
    for _ in range(3):
        shop.cycle()
    assert shop.live("tshirt:m") == 8  # the mall sold it; nothing else was pushed
    held = [a.title for a in shop.alerts_of(AlertKind.ROW_PROBLEM) if MASTER in a.title]
    assert len(held) == 1
    rename_tab(shop, "商品マスタ（コピー）", MASTER)
    shop.run_until_quiet()
    assert shop.stock("TS-M") == 8 and shop.live("tshirt:m") == 8
    assert_ledger_consistent(shop)
