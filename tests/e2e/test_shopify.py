"""A small Shopify shop through the production wiring (``bootstrap.build``) on virtual time.

Orders, a cancel and a refund reach 販売ログ and 在庫数; stock is pushed by
compare-and-set; a sale Shopify makes between the bot's order fetch and its push is
refused by the compare, kept on Shopify, and counted once when its order arrives.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest

from bot.bootstrap import App, World, build
from bot.infra.clock import JST
from bot.sandbox.alerts import MemoryAlerts
from bot.sandbox.clock import VirtualClock
from bot.sandbox.sheets import SheetsEmulator
from bot.sandbox.simulators.shopify import ShopifySimulator
from bot.sandbox.wiring import sandbox_settings
from bot.shell.check import check_lines

START = datetime(2026, 11, 23, 9, 0, tzinfo=JST)
INTERVAL = 15.0


class Tap(httpx.BaseTransport):
    """The simulator's transport, with a hook run just before the next stock write."""

    def __init__(self, sim: ShopifySimulator) -> None:
        self.sim = sim
        self.before_set: list[Callable[[], object]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        if b"inventorySetQuantities" in request.content and self.before_set:
            self.before_set.pop(0)()
        return self.sim.handle(request)


class ShopifyShop:
    """One sheet, one Shopify shop, one worker."""

    def __init__(self) -> None:
        self.clock = VirtualClock(START)
        self.emu = SheetsEmulator()
        self.sid = self.emu.create_spreadsheet("shopify shop", sheets=("Sheet1",))
        self.sim = ShopifySimulator(clock=self.clock)
        self.sim.add_listing("MUG-1", 0)
        self.sim.add_listing("MUG-10", 50)  # a longer SKU the fuzzy search also finds
        self.sim.add_listing("CUP-1", 0)
        self.tap = Tap(self.sim)
        self.settings = sandbox_settings(sheet_id=self.sid, malls={"shopify": self.sim.config()})
        world = World(
            transports={"shopify": self.tap},
            sheets_session=self.emu.session(),
            clock=self.clock,
            alerts=MemoryAlerts(),
            parallel=False,
        )
        self.app: App = build(self.settings, world)
        self.app.init_sheet()
        self.header = self.emu.get_values(self.sid, "商品マスタ")[0]
        for n, (sku, name, stock, code) in enumerate(
            [("SKU-MUG", "マグカップ", 10, "MUG-1"), ("SKU-CUP", "湯のみ", 5, "CUP-1")], start=2
        ):
            row = [""] * len(self.header)
            for key, value in {
                "商品コード": sku,
                "商品名": name,
                "在庫数": stock,
                "連動停止": False,
                "Shopifyコード": code,
            }.items():
                row[self.header.index(key)] = value
            self.emu.set_values(self.sid, "商品マスタ", f"A{n}", [row])
        self.worker = self.app.worker
        self.worker.start()

    def cycle(self) -> None:
        self.clock.advance(INTERVAL)
        self.worker.cycle()

    def stock(self, sku: str) -> Any:
        column = self.header.index("在庫数")
        for row in self.emu.get_values(self.sid, "商品マスタ")[1:]:
            if row and row[0] == sku:
                return row[column]
        raise KeyError(sku)

    def set_stock(self, sku: str, value: int) -> None:
        """Staff type a counted number into 在庫数 (a stocktake)."""
        rows = self.emu.get_values(self.sid, "商品マスタ")
        n = next(i for i, row in enumerate(rows) if row and row[0] == sku) + 1
        column = chr(ord("A") + self.header.index("在庫数"))
        self.emu.set_values(self.sid, "商品マスタ", f"{column}{n}", [[value]])

    def sales(self) -> list[dict[str, Any]]:
        rows = self.emu.get_values(self.sid, "販売ログ")
        return [dict(zip(rows[0], row, strict=False)) for row in rows[1:] if row]


@pytest.fixture
def shop() -> ShopifyShop:
    return ShopifyShop()


def test_check_and_the_sheet_know_shopify(shop: ShopifyShop) -> None:
    lines = check_lines(shop.settings, shop.app)
    assert any(line.ok and "Shopify: 接続OK" in line.text for line in lines)
    assert "Shopifyコード" in shop.header


def test_orders_cancels_and_refunds_reach_the_sheet_and_stock_is_pushed(shop: ShopifyShop) -> None:
    shop.worker.cycle()
    assert (shop.sim.stock("MUG-1"), shop.sim.stock("CUP-1")) == (10, 5)
    assert shop.sim.stock("MUG-10") == 50  # the fuzzy match is never written

    sold = shop.sim.place_order([("MUG-1", 2), ("CUP-1", 1)])
    shop.cycle()
    assert (shop.stock("SKU-MUG"), shop.stock("SKU-CUP")) == (8, 4)
    rows = [r for r in shop.sales() if r["注文番号"] == sold]
    assert {(r["モール"], r["商品コード"], r["種別"], r["数量"]) for r in rows} == {
        ("Shopify", "SKU-MUG", "販売", -2),
        ("Shopify", "SKU-CUP", "販売", -1),
    }

    cancelled = shop.sim.place_order([("MUG-1", 3)])
    shop.cycle()
    assert shop.stock("SKU-MUG") == 5
    assert cancelled is not None
    shop.sim.cancel_order(cancelled)  # Shopify restocks its own listing
    shop.cycle()
    assert shop.stock("SKU-MUG") == 8
    assert any(r["注文番号"] == cancelled and r["種別"] == "キャンセル" for r in shop.sales())
    assert shop.sim.stock("MUG-1") == 8

    assert sold is not None
    shop.sim.refund(sold, "CUP-1", 1, "RETURN")  # returned to the shelf
    shop.cycle()
    assert shop.stock("SKU-CUP") == 5 and shop.sim.stock("CUP-1") == 5

    shop.set_stock("SKU-CUP", 12)  # a stocktake: pushed to Shopify
    shop.cycle()
    shop.cycle()
    assert shop.sim.stock("CUP-1") == 12
    assert shop.sim.rejections() == []


def test_a_sale_between_fetch_and_push_is_refused_by_the_compare_and_kept(
    shop: ShopifyShop,
) -> None:
    shop.worker.cycle()
    assert shop.sim.stock("MUG-1") == 10

    # Staff count 20 mugs. In the next cycle, after the bot fetched orders and before it
    # pushes 20, a customer buys 3 on Shopify.
    shop.set_stock("SKU-MUG", 20)
    unseen: list[str | None] = []
    shop.tap.before_set.append(lambda: unseen.append(shop.sim.place_order([("MUG-1", 3)])))
    shop.cycle()
    shop.cycle()
    [order] = unseen
    assert order is not None
    stale = [c for r in shop.sim.requests for c in r.codes]
    assert stale == ["CHANGE_FROM_QUANTITY_STALE"]  # the compare refused to overwrite the sale
    assert shop.sim.stock("MUG-1") == 17  # 20 less the 3 Shopify sold, not 20

    # The order arrives: counted once, and everything agrees.
    for _ in range(3):
        shop.cycle()
    assert shop.stock("SKU-MUG") == 17
    assert [r["数量"] for r in shop.sales() if r["注文番号"] == order] == [-3]
    assert shop.sim.stock("MUG-1") == 17
    assert [c for r in shop.sim.requests for c in r.codes] == ["CHANGE_FROM_QUANTITY_STALE"]
