"""Order lines reconciled against the ledger (§4.2): each unit applied exactly once."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from bot.core.domain import OrderLine, Product, SaleKind, SaleLogRow
from bot.core.engine.sets import SetBook
from bot.core.engine.state import LineState
from bot.core.engine.work import Work


def code_index(products: Mapping[str, Product]) -> dict[tuple[str, str], str]:
    index: dict[tuple[str, str], str] = {}
    for sku, product in products.items():
        for mall, codes in product.codes.items():
            for code in codes:
                index[(mall, code)] = sku
    return index


def apply_line(
    work: Work,
    line: OrderLine,
    code_index: Mapping[tuple[str, str], str],
    held_codes: Mapping[tuple[str, str], str],
    usable: Mapping[str, Product],
    book: SetBook,
    restock_on_cancel: bool,
) -> None:
    prior = work.lines.get(line.key)
    applied = prior.applied if prior else 0
    target = line.units
    if prior is None and target == 0:
        return  # a cancel seen before its sale changes nothing
    # Units already taken stay with the product they were taken from, even if staff
    # remapped the code since; a rebuilt set line (sku None) resolves by its code.
    sku = prior.sku if prior and prior.sku and prior.applied > 0 else None
    if sku is None:
        sku = code_index.get((line.mall, line.code))
    if target < applied and not restock_on_cancel:
        # キャンセル時在庫戻し OFF: units taken back are not returned to on-hand.
        if prior is None or prior.reported != target:
            work.sales.append(_sale(work, line, _closing(target), sku or "", 0, applied))
        work.lines[line.key] = _line_state(work.now, line, prior, sku, applied, target, None)
        return
    delta = target - applied
    usable_sku = sku if sku is not None and sku in usable and sku not in book.invalid else None
    if delta == 0:
        if prior is not None and prior.pending is not None:
            # A waiting line was cancelled before it could be applied: close it in the
            # ledger, or a restart would apply it from its 未割当 row.
            work.sales.append(_sale(work, line, _closing(target), prior.sku or "", 0, applied))
        if prior is not None and (prior.reported != target or prior.pending is not None):
            work.lines[line.key] = _line_state(
                work.now, line, prior, prior.sku, applied, target, None
            )
        return
    if usable_sku is None:
        pending = (
            SaleKind.HELD
            if (sku is not None or (line.mall, line.code) in held_codes)
            else SaleKind.UNASSIGNED
        )
        if prior is None or prior.pending != pending or prior.reported != target:
            held_sku = sku or held_codes.get((line.mall, line.code), "")
            work.sales.append(_sale(work, line, pending, held_sku, -delta, applied))
        work.lines[line.key] = _line_state(
            work.now, line, prior, prior.sku if prior else None, applied, target, pending
        )
        return
    if applied == 0 and target > 0:
        kind = SaleKind.SALE
    elif target == 0:
        kind = SaleKind.CANCEL
    else:
        kind = SaleKind.CHANGE
    leaves = book.expanded.get(usable_sku, ((usable_sku, 1),))
    for leaf, qty in leaves:
        before = work.stock.get(leaf, usable[leaf].stock)
        after = before - delta * qty
        work.stock[leaf] = after
        work.touched.add(leaf)
        work.sales.append(_sale(work, line, kind, leaf, -delta * qty, target, before, after))
    work.lines[line.key] = _line_state(work.now, line, prior, usable_sku, target, target, None)


def _closing(target: int) -> SaleKind:
    return SaleKind.CANCEL if target == 0 else SaleKind.CHANGE


def _sale(
    work: Work,
    line: OrderLine,
    kind: SaleKind,
    sku: str,
    qty: int,
    applied: int,
    before: int | None = None,
    after: int | None = None,
) -> SaleLogRow:
    """One 販売ログ row for ``line``: ``qty`` is the signed stock change it causes."""
    return SaleLogRow(
        at=work.now,
        mall=line.mall,
        order_id=line.order_id,
        line_id=line.line_id,
        kind=kind,
        code=line.code,
        sku=sku,
        qty=qty,
        before=before,
        after=after,
        key=line.key,
        applied=applied,
    )


def _line_state(
    now: datetime,
    line: OrderLine,
    prior: LineState | None,
    sku: str | None,
    applied: int,
    reported: int,
    pending: SaleKind | None,
) -> LineState:
    return LineState(
        mall=line.mall,
        order_id=line.order_id,
        line_id=line.line_id,
        code=line.code,
        sku=sku,
        applied=applied,
        reported=reported,
        pending=pending,
        seen_at=prior.seen_at if prior and prior.seen_at else (line.ordered_at or now),
    )
