"""A small カラーミーショップ shop through the production wiring (``bootstrap.build``).

Three listings (a product kept as a whole and two options of a product kept per
option, one of them typed in full width on カラーミー) are pushed at start-up; a sale
and its cancel reach 販売ログ and 在庫数, and the listings follow. Nothing the bot
sends is refused by the simulated API.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.bootstrap import World, build
from bot.infra.clock import JST
from bot.sandbox.alerts import MemoryAlerts
from bot.sandbox.clock import VirtualClock
from bot.sandbox.sheets import SheetsEmulator
from bot.sandbox.simulators.colorme import ColorMeSimulator
from bot.sandbox.wiring import sandbox_settings
from bot.shell.check import check_lines

START = datetime(2026, 11, 23, 9, 0, tzinfo=JST)
MASTER = "商品マスタ"
PRODUCTS = [
    # 商品コード, 商品名, 在庫数, カラーミーコード (as staff type it)
    ("MUG-01", "マグカップ", 8, "1001"),
    ("TEE-BK-M", "Tシャツ 黒 M", 10, "1002:ブラック:M"),
    ("TEE-BK-L", "Tシャツ 黒 L", 5, "1002：ブラック：L"),
]


def _rows(emu: SheetsEmulator, sid: str, tab: str) -> list[dict[str, Any]]:
    grid = emu.get_values(sid, tab)
    header = grid[0]
    return [dict(zip(header, row, strict=False)) for row in grid[1:] if any(row)]


def _stock(emu: SheetsEmulator, sid: str) -> dict[str, Any]:
    return {row["商品コード"]: row["在庫数"] for row in _rows(emu, sid, MASTER)}


def _fill_master(emu: SheetsEmulator, sid: str) -> None:
    """商品マスタ rows typed by staff, in the channel's own code column."""
    header = emu.get_values(sid, MASTER)[0]
    assert "カラーミーコード" in header
    rows = []
    for sku, name, stock, code in PRODUCTS:
        row: list[Any] = [""] * len(header)
        for column, value in {
            "商品コード": sku,
            "商品名": name,
            "在庫数": stock,
            "連動停止": False,
            "カラーミーコード": code,
        }.items():
            row[header.index(column)] = value
        rows.append(row)
    emu.set_values(sid, MASTER, "A2", rows)


def test_a_colorme_shop_syncs_through_the_production_wiring() -> None:
    clock = VirtualClock(START)
    emu = SheetsEmulator()
    sid = emu.create_spreadsheet("colorme shop", sheets=("Sheet1",))
    sim = ColorMeSimulator(clock=clock)
    sim.add_product(1001, stocks=0, name="マグカップ")
    sim.add_product(1002, per_option=True, variants=[("ブラック", "Ｍ", 0), ("ブラック", "L", 0)])
    alerts = MemoryAlerts()
    settings = sandbox_settings(sheet_id=sid, malls={"colorme": sim.config()})
    world = World(
        transports={"colorme": sim.transport},
        sheets_session=emu.session(),
        clock=clock,
        alerts=alerts,
        parallel=False,
    )
    app = build(settings, world)
    assert any(line.ok and "カラーミー: 接続OK" in line.text for line in check_lines(settings, app))

    app.init_sheet()
    _fill_master(emu, sid)

    worker = app.worker
    worker.start()
    worker.cycle()
    # Start-up push: every listing shows the sheet's stock, options by their raw values.
    assert [sim.pending_stock(c) for c in ("1001", "1002:ブラック:Ｍ", "1002:ブラック:L")] == [
        8,
        10,
        5,
    ]

    clock.advance(60)
    order = sim.place_order([("1002:ブラック:Ｍ", 2), ("1001", 1)])
    assert order is not None
    clock.advance(15)
    worker.cycle()
    assert _stock(emu, sid) == {"MUG-01": 7, "TEE-BK-M": 8, "TEE-BK-L": 5}
    sales = [r for r in _rows(emu, sid, "販売ログ") if r.get("モール") == "カラーミー"]
    assert {(r["注文番号"], r["商品コード"], r["種別"]) for r in sales} == {
        (order, "TEE-BK-M", "販売"),
        (order, "MUG-01", "販売"),
    }
    assert (sim.pending_stock("1001"), sim.pending_stock("1002:ブラック:M")) == (7, 8)

    # The shop cancels the sale in the admin without putting the units back on カラーミー.
    clock.advance(300)
    sim.cancel_order(order)
    for _ in range(2):
        clock.advance(15)
        worker.cycle()
    assert _stock(emu, sid) == {"MUG-01": 8, "TEE-BK-M": 10, "TEE-BK-L": 5}
    cancels = [r for r in _rows(emu, sid, "販売ログ") if r.get("種別") == "キャンセル"]
    assert {r["商品コード"] for r in cancels} == {"TEE-BK-M", "MUG-01"}
    # The bot pushed the returned units back up to カラーミー.
    assert (sim.pending_stock("1001"), sim.pending_stock("1002:ブラック:M")) == (8, 10)

    assert sim.rejections() == []
    assert not [a for a in alerts.alerts if a.mall == "colorme"]
