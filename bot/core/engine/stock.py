"""Stock the sheet holds: stocktakes of 在庫数 (§3) and 入出庫 rows, each applied once."""

from __future__ import annotations

from collections.abc import Mapping

from bot.core.domain import Movement, Product, RowProblem
from bot.core.engine.contract import MOVEMENT_DONE_PREFIX, TAB_MOVEMENTS, jst
from bot.core.engine.sets import SetBook
from bot.core.engine.work import Work, stock_op


def apply_movement(
    work: Work,
    mv: Movement,
    usable: Mapping[str, Product],
    invalid: frozenset[str],
    book: SetBook,
) -> None:
    if mv.sku in invalid or mv.sku in book.invalid:
        return  # the product row has a problem: wait until it is fixed
    if mv.sku not in usable:
        message = f"商品コード『{mv.sku}』が商品マスタにありません"
        work.problems.append(
            RowProblem(
                tab=TAB_MOVEMENTS,
                row=mv.row,
                sku=mv.sku,
                message=f"入出庫 {mv.row}行目: {message}",
            )
        )
        work.marks[mv.key] = f"エラー: {message}"
        return
    leaves = book.expanded.get(mv.sku, ((mv.sku, 1),))
    for sku, qty in leaves:
        before = work.stock.get(sku, usable[sku].stock)
        after = before + mv.qty * qty
        work.stock[sku] = after
        work.touched.add(sku)
        memo = (mv.memo or "") + (f" セット『{mv.sku}』×{mv.qty}" if mv.sku != sku else "")
        work.ops.append(
            stock_op(work.now, f"入出庫（{mv.kind or 'その他'}）", sku, before, after, memo)
        )
    work.marks[mv.key] = f"{MOVEMENT_DONE_PREFIX} {jst(work.now)}"
