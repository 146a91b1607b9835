"""入出庫 rows have an identity (issue 7 item 6), through whole cycles and restarts.

Staff clear a 済 mark, copy a 済 row to record a new receipt, edit a row after it was
applied, and sort the tab; each case runs through the production wiring and a restart
(the ledger lives in ``_state``, so a new process knows it too).
"""

from __future__ import annotations

import re

from bot.core.domain import AlertKind
from bot.infra.sheet.movement_ledger import read_ledger
from tests.e2e.conftest import MOVES, OPS, Shop

MARK = re.compile(r"^済 \d{4}-\d\d-\d\d \d\d:\d\d:\d\d #(M\d{8}-\d{4})$")


def marks(shop: Shop) -> list[str]:
    return [str(r.get("反映") or "") for r in shop.rows(MOVES) if r.get("商品コード")]


def ident(mark: str) -> str:
    m = MARK.match(mark)
    assert m, mark
    return m.group(1)


def receipts(shop: Shop, sku: str) -> int:
    return sum(1 for r in shop.ops() if r.get("商品コード") == sku and "入出庫" in str(r["種別"]))


def receive(shop: Shop, sku: str = "SOAP", qty: int = 5) -> int:
    row = shop.movement(sku, qty, "入荷", "便1")
    shop.run_until_quiet()
    return row


def test_applied_row_gets_an_identity_kept_in_state(shop: Shop) -> None:
    receive(shop)
    [mark] = marks(shop)
    ledger = {m.key: m for m in read_ledger(shop.state())}
    assert list(ledger) == [ident(mark)]
    assert (ledger[ident(mark)].sku, ledger[ident(mark)].qty) == ("SOAP", 5)
    assert shop.stock("SOAP") == 29


def test_cleared_mark_is_not_applied_again_even_after_a_restart(shop: Shop) -> None:
    row = receive(shop)
    before = marks(shop)[0]
    shop.restart()
    shop.emu.set_values(shop.sid, MOVES, shop.cell(MOVES, "反映", row), [[""]])
    shop.run_until_quiet()
    assert shop.stock("SOAP") == 29
    assert marks(shop) == [before]
    assert receipts(shop, "SOAP") == 1


def test_copied_applied_row_is_a_new_receipt(shop: Shop) -> None:
    row = receive(shop)
    original = shop.grid(MOVES)[row - 1]
    shop.emu.set_values(shop.sid, MOVES, f"A{row + 1}", [original])  # copy-paste, 済 too
    assert marks(shop)[0] == marks(shop)[1]
    shop.run_until_quiet()
    assert shop.stock("SOAP") == 34
    first, second = marks(shop)
    assert ident(first) != ident(second)
    assert receipts(shop, "SOAP") == 2
    shop.restart()
    shop.run_until_quiet()
    assert shop.stock("SOAP") == 34


def test_row_edited_after_it_was_applied_is_flagged_once(shop: Shop) -> None:
    row = receive(shop)
    shop.emu.set_values(shop.sid, MOVES, shop.cell(MOVES, "数量", row), [[50]])
    shop.run_until_quiet()
    shop.run_until_quiet()
    assert shop.stock("SOAP") == 29
    said = [a for a in shop.alerts_of(AlertKind.ROW_PROBLEM) if "反映済みの行" in a.title]
    assert len(said) == 1 and "SOAP +5" in said[0].title
    assert sum("反映済みの行" in str(r.get("内容")) for r in shop.errors()) == 1
    # Put back as it was: the problem clears; a new row records the difference.
    shop.emu.set_values(shop.sid, MOVES, shop.cell(MOVES, "数量", row), [[5]])
    shop.movement("SOAP", 45, "入荷", "差分")
    shop.run_until_quiet()
    assert shop.stock("SOAP") == 74
    assert len([a for a in shop.alerts_of(AlertKind.ROW_PROBLEM) if "反映済み" in a.title]) == 1


def test_sorting_the_tab_changes_nothing(shop: Shop) -> None:
    receive(shop, "SOAP", 5)
    receive(shop, "MUG", 2)
    receive(shop, "TS-M", -1)
    stocks, before = shop.stocks(), sorted(marks(shop))
    shop.emu.sort_rows(shop.sid, MOVES, "B", descending=True)
    shop.run_until_quiet()
    shop.restart()
    shop.emu.sort_rows(shop.sid, MOVES, "C")
    shop.run_until_quiet()
    assert shop.stocks() == stocks
    assert sorted(marks(shop)) == before
    assert len([r for r in shop.rows(OPS) if "入出庫" in str(r["種別"])]) == 3
