"""`python -m bot demo` as a harness check: the scripted shop day ends consistent."""

from __future__ import annotations

from collections import Counter

import pytest

from bot.sandbox import demo


def test_the_demo_day_applies_every_order_once_within_the_sheet_budget() -> None:
    shop = demo.setup(quiet=True)
    demo.script(shop)
    result = demo.summary(shop)

    assert result["orders_applied"] == result["orders_placed"] == 13
    assert result["stuck_units"] == 0
    placed_by_mall = {"rakuten": 8, "yahoo": 1, "amazon": 1, "shopify": 1, "base": 1, "colorme": 1}
    for mall, placed in placed_by_mall.items():
        got = result["by_mall"][mall]
        assert got["orders_applied"] == got["orders_placed"] == placed, mall
        assert got["refused_requests"] == 0, mall
    assert result["sheet_requests_per_cycle_max"] <= 4

    sales = shop.emu.get_values(shop.sid, "販売ログ")
    header = sales[0]
    i_kind, i_key, i_sku, i_qty = (
        header.index("種別"),
        header.index("キー"),
        header.index("商品コード"),
        header.index("数量"),
    )
    rows = [r for r in sales[1:] if len(r) > i_qty]
    once = Counter((r[i_key], r[i_sku]) for r in rows if r[i_kind] == "販売")
    assert once and set(once.values()) == {1}, "an order line was applied twice"
    net: Counter[tuple[str, str]] = Counter()
    for r in rows:
        if r[i_kind] in ("販売", "キャンセル", "数量変更"):
            net[(r[i_key], r[i_sku])] += int(r[i_qty])
    assert all(v <= 0 for v in net.values()), "a line gave back more than it took"

    # 楽天 ends showing what the sheet says (blank display rules; TOWEL caps at 20,
    # SOAP shows 2 fewer; negative stock shows 0).
    final = result["final_stock"]
    assert shop.sim.stock("mug:blue") == max(final["MUG-BL"], 0)
    assert shop.sim.stock("tshirt:wh-m") == final["TS-WH-M"]
    assert shop.sim.stock("towel:std") == min(final["TOWEL"], 20)
    assert shop.sim.stock("soap:single") == max(final["SOAP"] - 2, 0)
    assert result["alert_kinds"].get("auth_failed") == 1
    assert result["alert_kinds"].get("drift") == 1


def test_every_request_of_the_demo_passes_the_simulators_validation() -> None:
    shop = demo.setup(quiet=True)
    demo.script(shop)
    refused = [(r.method, r.path, r.status) for r in shop.sim.requests if r.status >= 400]
    # The only 楽天 refusals are the deliberate ones: the expired licence key (401).
    assert refused and {status for _, _, status in refused} == {401}
    for mall in ("yahoo", "amazon", "shopify", "base", "colorme"):
        assert demo.refused_requests(shop, mall) == [], mall
    sheet_errors = [r for r in shop.emu.requests if r.status >= 400]
    assert sheet_errors == []


def test_the_demo_sheet_shows_only_the_enabled_malls_and_fba_stays_amazons() -> None:
    shop = demo.setup(quiet=True)
    demo.script(shop)
    header = shop.emu.get_values(shop.sid, "商品マスタ")[0]
    codes = [h for h in header if isinstance(h, str) and h.endswith("コード") and h != "商品コード"]
    assert codes == [
        "楽天コード",
        "Yahooコード",
        "Amazonコード",
        "Shopifyコード",
        "カラーミーコード",
        "BASEコード",
    ]
    amazon = shop.sims["amazon"]
    assert amazon.fba_conversions == []  # the FBA listing was never sent a number
    assert amazon.stock("AMZ-MUG-BL-FBA") == 38  # 40 less Amazon's own sale of 2
    # The FBA sale did not touch the shop's own stock: MUG-BL moved by 楽天, Shopify and the
    # shop floor only (5 − 1 Shopify − 6 at the till = −2).
    result = demo.summary(shop)
    assert result["final_stock"]["MUG-BL"] == -2


def test_the_go_live_scenes_end_right() -> None:
    """Issue 7's additions: partial change, unrestocked cancel, +20 typed, cleared 済 mark."""
    shop = demo.setup(quiet=True)
    demo.script(shop)
    said = "\n".join(shop.out.lines)
    assert "TOWEL=25（2枚戻りました）" in said  # 23 + the 2 towels the change gave back
    assert "SOAP=17、楽天の表示: soap:single=15" in said  # 17 on hand, rule -2, pushed up
    assert "表示在庫設定: '+20'" in said and "scarf:wool=25" in said  # kept as typed: 5 + 20
    assert "TS-WH-L=14（二重には反映しません）" in said  # the cleared mark applied nothing twice
    assert said.count("モール側で") == 1  # only the scripted hand edit, not the restock
    # The restart while Google is unreachable waits it out: one failure, one recovery each.
    assert said.count("スプレッドシートの読み書きに失敗しました") == 1
    assert said.count("スプレッドシートの読み書きが回復しました") == 1
    assert said.count("楽天 との接続が回復しました") == 1


def test_python_dash_m_bot_demo_prints_the_whole_day(capsys: pytest.CaptureFixture[str]) -> None:
    """The default command as a person runs it: the timeline, the final table, the log tabs."""
    assert demo.main() == 0
    out = capsys.readouterr().out
    assert "最終在庫" in out and "カラーミー" in out and "Shopify" in out
    assert "Traceback" not in out
