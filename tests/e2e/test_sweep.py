"""Edits to 商品マスタ's other columns and セット構成 in a shop too big to read whole (issue 10).

A shop of 306 products reads 商品マスタ's 商品コード and 在庫数 columns every cycle and
its other columns by a sweep: a window of rows per cycle, セット構成 with the window that
ends the sweep (bot/infra/sheet/hot.py). Staff edits to those columns reach the mall
within one sweep, and no cycle reads 商品マスタ whole.
"""

from __future__ import annotations

from bot.infra.sheet.hot import MAX_SWEEP_CYCLES
from tests.e2e.conftest import MASTER, SETS_TAB, Shop


def whole_reads(shop: Shop) -> int:
    return sum(
        1 for r in shop.emu.requests if r.op == "values.batchGet" and f"'{MASTER}'" in r.ranges
    )


def cycles_until(shop: Shop, done: object) -> int:
    """Cycles run until ``done()`` holds (at most a sweep and one more)."""
    for n in range(1, MAX_SWEEP_CYCLES + 2):
        shop.cycle()
        if done():  # type: ignore[operator]
            return n
    raise AssertionError(f"not seen within {MAX_SWEEP_CYCLES + 1} cycles")


def test_a_display_rule_typed_by_staff_reaches_the_mall_within_a_sweep(big: Shop) -> None:
    assert big.live("tshirt:m") == 10
    before, reads = whole_reads(big), len(big.emu.requests)
    big.type("TS-M", "表示在庫設定", 3)

    cycles = cycles_until(big, lambda: big.live("tshirt:m") == 3)

    assert cycles <= MAX_SWEEP_CYCLES + 1
    assert whole_reads(big) == before  # no cycle read 商品マスタ whole
    batch_gets = [r for r in big.emu.requests[reads:] if r.op == "values.batchGet"]
    assert len(batch_gets) == cycles  # one read a cycle
    assert big.stock("TS-M") == 10  # the count itself is untouched


def test_a_set_recipe_changed_by_staff_is_followed_within_a_sweep(big: Shop) -> None:
    # GIFT is one MUG and two SOAP: min(6, 24 // 2) = 6 shows on 楽天.
    assert big.live("gift:set") == 6
    rows = big.grid(SETS_TAB)
    soap = next(i for i, r in enumerate(rows) if r[:2] == ["GIFT", "SOAP"]) + 1
    big.emu.set_values(big.sid, SETS_TAB, f"C{soap}", [[5]])  # now five SOAP: 24 // 5 = 4
    before = whole_reads(big)

    cycles_until(big, lambda: big.live("gift:set") == 4)

    assert whole_reads(big) == before
