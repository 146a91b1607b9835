"""Stock the sheet holds: stocktakes of 在庫数 (§3) and 入出庫 rows, each applied once."""

from __future__ import annotations

from collections.abc import Mapping

from bot.core import words
from bot.core.domain import Movement, Product, RowProblem, Snapshot
from bot.core.engine.contract import (
    MOVEMENT_DONE_PREFIX,
    TAB_MOVEMENTS,
    TAB_PRODUCTS,
    TAB_TITLES,
    jst,
)
from bot.core.engine.sets import SetBook, set_stock
from bot.core.engine.state import EngineState
from bot.core.engine.work import Work, fmt_int, stock_op


def take_stock(
    work: Work, state: EngineState, snapshot: Snapshot, book: SetBook, *, products_broken: bool
) -> None:
    """Base stock: the sheet is the truth on start-up; afterwards, a stocktake.

    After the first commit, a difference between what we read and what we last wrote
    is a stocktake (§3).
    """
    for sku, product in snapshot.products.items():
        known = state.stock.get(sku)
        if sku in book.expanded:
            if not state.fresh and known is not None and product.stock != known:
                _ignore_set_stock(work, sku, product, known)
        elif state.fresh or known is None:
            work.stock[sku] = product.stock
        elif product.stock != known:
            work.stock[sku] = product.stock
            work.touched.add(sku)
            work.ops.append(
                stock_op(
                    work.now,
                    words.say("engine.op_stocktake"),
                    sku,
                    known,
                    product.stock,
                    words.say("engine.op_stocktake_memo"),
                )
            )
    # Rows that vanished from the sheet are forgotten (their ledger lines stay); not
    # while 商品マスタ cannot be read, or an oversell the bot wrote would later look
    # like a negative typed by staff.
    if not products_broken:
        for sku in list(work.stock):
            if sku not in snapshot.products and sku not in snapshot.invalid_skus:
                del work.stock[sku]


def _ignore_set_stock(work: Work, sku: str, product: Product, known: int) -> None:
    """Staff typed a set's 在庫数: it is computed, so the edit is noted and logged, not taken."""
    message = words.say(
        "engine.set_stock_ignored", row=product.row, stock=product.stock, at=jst(work.now)[5:16]
    )
    work.notes[sku] = (message, work.now)
    work.problems.append(RowProblem(tab=TAB_PRODUCTS, row=product.row, sku=sku, message=message))
    work.ops.append(
        stock_op(
            work.now,
            words.say("engine.op_set_stock_ignored"),
            sku,
            fmt_int(known),
            product.stock,
            words.say("engine.op_set_stock_ignored_memo"),
        )
    )


def apply_movements(
    work: Work, snapshot: Snapshot, usable: Mapping[str, Product], book: SetBook
) -> None:
    """入出庫 rows: each applied once, marked in the same atomic commit."""
    for mv in snapshot.movements:
        apply_movement(work, mv, usable, snapshot.invalid_skus, book)


def apply_movement(
    work: Work,
    mv: Movement,
    usable: Mapping[str, Product],
    invalid: frozenset[str],
    book: SetBook,
) -> None:
    """One 入出庫 row: added to on-hand (a set's to its components) and marked 済."""
    if mv.sku in invalid or mv.sku in book.invalid:
        return  # the product row has a problem: wait until it is fixed
    if mv.sku not in usable:
        message = words.say("engine.movement_sku_missing", sku=mv.sku)
        work.problems.append(
            RowProblem(
                tab=TAB_MOVEMENTS,
                row=mv.row,
                sku=mv.sku,
                message=words.say(
                    "engine.movement_row_problem",
                    tab=TAB_TITLES[TAB_MOVEMENTS],
                    row=mv.row,
                    text=message,
                ),
            )
        )
        work.marks[mv.key] = words.say("engine.movement_error", message=message)
        return
    kind = words.say("engine.op_movement", kind=mv.kind or words.say("engine.op_movement_other"))
    leaves = book.expanded.get(mv.sku, ((mv.sku, 1),))
    for sku, qty in leaves:
        before = work.stock.get(sku, usable[sku].stock)
        after = before + mv.qty * qty
        work.stock[sku] = after
        work.touched.add(sku)
        memo = mv.memo or ""
        if mv.sku != sku:
            memo += " " + words.say("engine.op_movement_set_memo", set_sku=mv.sku, qty=mv.qty)
        work.ops.append(stock_op(work.now, kind, sku, before, after, memo))
    work.marks[mv.key] = f"{MOVEMENT_DONE_PREFIX} {jst(work.now)}"


def stock_writes(
    work: Work, products: Mapping[str, Product], usable: Mapping[str, Product], book: SetBook
) -> dict[str, int]:
    """Sets follow their components; the 在庫数 cells that differ from what was read."""
    writes: dict[str, int] = {}
    for set_sku, leaves in book.expanded.items():
        value = set_stock(leaves, work.stock)
        work.stock[set_sku] = value
        if products[set_sku].stock != value:
            writes[set_sku] = value
            work.touched.add(set_sku)
    for sku, product in usable.items():
        if sku in book.expanded:
            continue
        value = work.stock.get(sku, product.stock)
        if value != product.stock:
            writes[sku] = value
            work.touched.add(sku)
    return writes
