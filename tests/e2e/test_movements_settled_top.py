"""入出庫's settled top in a shop big enough to read it only now and then (issue 10).

A shop of a few products reads every tab whole each cycle. One of 300 reads 商品マスタ's
two hot columns, a window of its rows and 入出庫 below its settled top each cycle, and
with the window that ends a sweep of 商品マスタ a check of that top's key columns
(bot/infra/sheet/hot.py, bot/infra/sheet/movements_read.py).
Staff sort, insert, delete, clear and type rows in the top between those reads; each
movement must still be applied once, never twice, never skipped, through restarts.
"""

from __future__ import annotations

from bot.core.domain import AlertKind
from bot.infra.sheet.hot import MAX_SWEEP_CYCLES
from tests.e2e.conftest import MOVES, OPS, Shop


def receive(shop: Shop, sku: str, qty: int) -> int:
    row = shop.movement(sku, qty, "入荷", "便")
    shop.run_until_quiet()
    return row


def read_whole_now(shop: Shop) -> None:
    """One cycle that reads the tabs whole; the next ones read below the settled top."""
    shop.worker.gateway.cache.forget()
    shop.cycle()


def top_checks(shop: Shop) -> int:
    """Reads that checked 入出庫's settled top (its header row comes with the check)."""
    return sum(
        1 for r in shop.emu.requests if r.op == "values.batchGet" and f"'{MOVES}'!1:1" in r.ranges
    )


def through_the_cadence(shop: Shop) -> None:
    """Enough cycles for a sweep's end (the top checked) and the cycle after it."""
    before = top_checks(shop)
    for _ in range(MAX_SWEEP_CYCLES + 2):
        shop.cycle()
    assert top_checks(shop) > before


def marks(shop: Shop) -> dict[str, str]:
    return {str(r["商品コード"]): str(r.get("反映") or "") for r in shop.rows(MOVES) if r}


def receipts(shop: Shop) -> int:
    return sum(1 for r in shop.ops() if "入出庫" in str(r["種別"]))


def test_a_sort_that_keeps_the_boundary_row_in_place_applies_each_row_once(big: Shop) -> None:
    for sku, qty in (("MUG", 2), ("TS-M", 3), ("SOAP", 4)):
        receive(big, sku, qty)
    stocks = big.stocks()
    read_whole_now(big)
    # A receipt is typed, then the tab sorted by 商品コード before the next cycle:
    # FILL000 MUG SOAP TS-M. SOAP, the settled top's last row, is still the 3rd; the
    # new row went above it and TS-M's applied row below it.
    big.movement("FILL000", 5, "入荷", "新しい便")
    big.emu.sort_rows(big.sid, MOVES, "B")
    assert [r["商品コード"] for r in big.rows(MOVES)] == ["FILL000", "MUG", "SOAP", "TS-M"]

    big.run_until_quiet()
    through_the_cadence(big)

    assert big.stocks() == {**stocks, "FILL000": 6}
    assert receipts(big) == 4
    assert len(set(marks(big).values())) == 4
    big.restart()
    big.run_until_quiet()
    through_the_cadence(big)
    assert big.stocks() == {**stocks, "FILL000": 6} and receipts(big) == 4


def test_a_cleared_mark_in_the_settled_top_is_put_back_not_applied(big: Shop) -> None:
    soap = receive(big, "SOAP", 5)
    receive(big, "MUG", 2)
    before, stocks = marks(big), big.stocks()
    read_whole_now(big)
    big.emu.set_values(big.sid, MOVES, big.cell(MOVES, "反映", soap), [[""]])

    through_the_cadence(big)

    assert marks(big) == before
    assert big.stocks() == stocks and receipts(big) == 2


def test_a_row_typed_into_a_blank_row_of_the_settled_top_is_applied_once(big: Shop) -> None:
    receive(big, "SOAP", 5)
    gap = len(big.grid(MOVES)) + 1
    big.emu.set_values(big.sid, MOVES, f"A{gap + 1}", [["2026-11-23 09:01", "MUG", 2, "入荷"]])
    big.run_until_quiet()  # a blank row between two applied ones
    stocks = big.stocks()
    read_whole_now(big)
    big.emu.set_values(big.sid, MOVES, f"A{gap}", [["2026-11-23 09:02", "TS-L", 4, "入荷"]])

    through_the_cadence(big)
    through_the_cadence(big)

    assert big.stocks() == {**stocks, "TS-L": stocks["TS-L"] + 4}
    assert receipts(big) == 3 and len(set(marks(big).values())) == 3


def test_rows_deleted_and_inserted_in_the_settled_top_are_applied_once(big: Shop) -> None:
    for sku, qty in (("SOAP", 5), ("MUG", 2), ("TS-M", 3)):
        receive(big, sku, qty)
    stocks = big.stocks()
    read_whole_now(big)
    big.emu.delete_rows(big.sid, MOVES, 1, 2)  # SOAP's applied row
    big.emu.insert_rows(big.sid, MOVES, 1, [["2026-11-23 09:05", "TS-L", -1, "破損"]])

    big.run_until_quiet()
    through_the_cadence(big)

    assert big.stocks() == {**stocks, "TS-L": stocks["TS-L"] - 1}
    assert receipts(big) == 4
    assert set(marks(big)) == {"TS-L", "MUG", "TS-M"}


def test_a_settled_rows_quantity_edited_is_flagged_within_the_cadence(big: Shop) -> None:
    soap = receive(big, "SOAP", 5)
    receive(big, "MUG", 2)
    stocks = big.stocks()
    read_whole_now(big)
    big.emu.set_values(big.sid, MOVES, big.cell(MOVES, "数量", soap), [[50]])

    through_the_cadence(big)

    said = [a for a in big.alerts_of(AlertKind.ROW_PROBLEM) if "反映済みの行" in a.title]
    assert len(said) == 1 and "SOAP +5" in said[0].title
    assert big.stocks() == stocks
    assert sum(1 for r in big.rows(OPS) if "入出庫" in str(r["種別"])) == 2
