"""Crash at every I/O step of a cycle, restart from the sheet alone, never double count.

ARCHITECTURE.md §1: "A crash anywhere leaves a state the next cycle completes without
double counting". The crashing cycle carries every kind of change at once — new orders
(one a set), a cancellation of an order already applied, a stocktake typed by staff and
a 入出庫 receipt — and the process dies before or after one sheet or mall call. A new
worker, built from fresh gateway and adapter objects on the same sheet and mall, then
cycles until quiet, and the sheet, the ledger and 楽天 must agree exactly.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pytest

from bot.core.domain import AlertKind
from tests.e2e.conftest import (
    COMPONENTS,
    MOVES,
    Baseline,
    Crash,
    Shop,
    When,
    assert_ledger_consistent,
    assert_mall_matches_sheet,
    make_shop,
)


@dataclass(frozen=True)
class Point:
    """One I/O call of a cycle: which side, which call, which occurrence."""

    side: str
    target: str
    nth: int
    label: str


POINTS = [
    Point("mall", "/order/searchOrder", 1, "searchOrder-new"),
    Point("mall", "/order/searchOrder", 2, "searchOrder-cancel-window"),
    Point("mall", "/order/getOrder", 1, "getOrder"),
    Point("mall", "/inventories/bulk-get", 1, "bulk-get-readback"),
    Point("sheet", "values.batchGet", 1, "sheet-snapshot"),
    Point("sheet", "values.batchGetByDataFilter", 1, "sheet-reread"),
    Point("sheet", "spreadsheets.batchUpdate", 1, "sheet-commit"),
    Point("mall", "/inventories/bulk-upsert", 1, "bulk-upsert"),
    Point("sheet", "spreadsheets.batchUpdate", 2, "sheet-record"),
]
WHENS: list[When] = ["before", "after"]

EXPECTED = {"TS-M": 7, "TS-L": 4, "MUG": 10, "SOAP": 22, "GIFT": 10, "SCARF": 5}
"""TS-M 10−2−1; TS-L counted 7 then −3; MUG 6−1, then +1 cancel −1 set +5 receipt;
SOAP 24−2 (set); GIFT min(10/1, 22/2)."""


@dataclass
class World:
    """What the test did, to compare with what the bot recorded."""

    baseline: Baseline
    orders: dict[str, list[tuple[str, int]]]
    cancelled: str
    receipt_row: int


def prepare(shop: Shop) -> World:
    """History, then the crashing cycle's changes (staff and customers act first)."""
    shop.cycle()  # start-up: the sheet is the truth, everything pushed
    orders = {shop.order(("tshirt:m", 2)): [("TS-M", 2)]}
    cancelled = shop.order(("mug:blue", 1))
    orders[cancelled] = [("MUG", 1)]
    shop.cycle()
    shop.wait(600)  # the next cycle also reads 楽天's numbers back (drift check)

    orders[shop.order(("tshirt:m", 1), ("gift:set", 1))] = [("TS-M", 1), ("GIFT", 1)]
    orders[shop.order(("tshirt:l", 3))] = [("TS-L", 3)]
    shop.cancel(cancelled)
    shop.type("TS-L", "在庫数", 7)  # counted, then typed: orders seen now come after it
    row = shop.movement("MUG", 5, "入荷", "11/23 便")
    return World(baseline=Baseline.take(shop), orders=orders, cancelled=cancelled, receipt_row=row)


def arm(shop: Shop, point: Point, when: When) -> None:
    if point.side == "sheet":
        shop.sheet_tap.arm(point.target, nth=point.nth, when=when)
    else:
        shop.mall_tap.arm(point.target, nth=point.nth, when=when)


def fired(shop: Shop, point: Point) -> bool:
    return shop.sheet_tap.fired if point.side == "sheet" else shop.mall_tap.fired


def check(shop: Shop, world: World) -> None:
    assert shop.stocks() == EXPECTED
    assert_ledger_consistent(shop, world.baseline)

    # Every line applied exactly once, per product (a set line once per component).
    sales = shop.sales("販売")
    per_line = Counter((r["キー"], r["商品コード"]) for r in sales)
    for number, lines in world.orders.items():
        sim_lines = shop.sim.orders[number].lines
        for (sku, units), sim_line in zip(lines, sim_lines, strict=True):
            key = f"rakuten:{number}:{sim_line.item_detail_id}"
            for part, qty in COMPONENTS.get(sku, [(sku, 1)]):
                assert per_line[(key, part)] == 1, (key, part)
                taken = sum(
                    -int(r["数量"])
                    for r in shop.sales()
                    if r["キー"] == key and r["商品コード"] == part
                )
                want = 0 if number == world.cancelled else units * qty
                assert taken == want, (key, part, taken, want)
    cancels = [r for r in shop.sales("キャンセル") if r["注文番号"] == world.cancelled]
    assert len(cancels) == 1

    # The receipt was applied once and marked.
    receipts = [op for op in shop.ops() if str(op["種別"]).startswith("入出庫")]
    assert [(op["商品コード"], int(op["変更後"]) - int(op["変更前"])) for op in receipts] == [
        ("MUG", 5)
    ]
    mark = shop.rows(MOVES)[world.receipt_row - 2]["反映"]
    assert str(mark).startswith("済")

    assert_mall_matches_sheet(shop)
    # Nobody touched 楽天 by hand: the bot's own unrecorded push and 楽天's restock of
    # the cancelled order are not "drift".
    assert shop.alerts_of(AlertKind.DRIFT) == []


@pytest.mark.parametrize("when", WHENS)
@pytest.mark.parametrize("point", POINTS, ids=[p.label for p in POINTS])
def test_crash_at_any_io_step_then_restart_from_the_sheet(point: Point, when: When) -> None:
    shop = make_shop()
    world = prepare(shop)
    arm(shop, point, when)
    with pytest.raises(Crash):
        shop.worker.cycle()
    assert fired(shop, point)

    shop.restart()
    shop.run_until_quiet()
    check(shop, world)


@pytest.mark.parametrize("when", WHENS)
@pytest.mark.parametrize("point", POINTS, ids=[p.label for p in POINTS])
def test_crash_again_while_recovering(point: Point, when: When) -> None:
    """The restarted worker dies at the same step of its first cycle; the next one finishes."""
    shop = make_shop()
    world = prepare(shop)
    arm(shop, point, when)
    with pytest.raises(Crash):
        shop.worker.cycle()

    shop.restart().start()  # the start-up read is not part of the cycle being crashed
    arm(shop, point, when)
    with pytest.raises(Crash):
        shop.worker.cycle()
    assert fired(shop, point)

    shop.restart()
    shop.run_until_quiet()
    check(shop, world)


def test_no_crash_baseline_of_the_same_scenario() -> None:
    """The scenario without a crash ends where every crash variant must end."""
    shop = make_shop()
    world = prepare(shop)
    report = shop.cycle()
    assert report.committed and not report.error
    shop.run_until_quiet()
    check(shop, world)
    # The stocktake was seen as an edit (not a start-up), so 操作ログ shows it.
    assert [(o["商品コード"], o["変更後"]) for o in shop.ops() if o["種別"] == "棚卸"] == [
        ("TS-L", "7")
    ]
    assert_ledger_consistent(shop)
