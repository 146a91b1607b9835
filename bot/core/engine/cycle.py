"""``step``: one cycle's decisions, as a short sequence of pure phases (§1 step 3)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.core.domain import OrderLine, RowProblem, Snapshot
from bot.core.engine.conditions import conditions as _conditions
from bot.core.engine.contract import NOTE_LIFETIME, TAB_PRODUCTS, TAB_SETS
from bot.core.engine.contract import jst as _jst
from bot.core.engine.listings import targets as _targets
from bot.core.engine.orders import apply_line as _apply_line
from bot.core.engine.orders import code_index as _code_index
from bot.core.engine.sets import SetBook as _SetBook
from bot.core.engine.sets import resolve_sets as _resolve_sets
from bot.core.engine.sets import set_stock
from bot.core.engine.state import EngineState, Plan
from bot.core.engine.stock import apply_movement as _apply_movement
from bot.core.engine.work import Work as _Work
from bot.core.engine.work import fmt_int as _fmt_int
from bot.core.engine.work import stock_op as _stock_op


def step(
    state: EngineState,
    snapshot: Snapshot,
    lines: Sequence[OrderLine],
    now: datetime,
    *,
    pending_window: timedelta = timedelta(days=60),
) -> Plan:
    """Decide one cycle (ARCHITECTURE.md §1 step 3)."""
    products = snapshot.products
    invalid = snapshot.invalid_skus
    settings = snapshot.settings
    products_broken = TAB_PRODUCTS in snapshot.broken_tabs
    book = (
        _SetBook(expanded={}, invalid=frozenset(), problems=())
        if products_broken  # sets cannot be checked against a tab we cannot read
        else _resolve_sets(snapshot.sets, products, invalid)
    )
    usable = {sku: p for sku, p in products.items() if sku not in book.invalid}
    work = _Work(
        now=now,
        stock=dict(state.stock),
        lines=dict(state.lines),
        notes={k: v for k, v in state.notes.items() if now - v[1] < NOTE_LIFETIME},
    )
    work.problems.extend(book.problems)
    statuses: dict[str, str] = {}

    # 1. Base stock: the sheet is the truth on start-up; afterwards a difference between
    #    what we read and what we last wrote is a stocktake (§3).
    for sku, product in products.items():
        if sku in book.expanded:
            known = state.stock.get(sku)
            if not state.fresh and known is not None and product.stock != known:
                message = (
                    f"C{product.row}: セット商品の在庫数『{product.stock}』は無視しました"
                    f"（{_jst(now)[5:16]}。在庫数は構成商品から自動計算されます）"
                )
                work.notes[sku] = (message, now)
                work.problems.append(
                    RowProblem(tab=TAB_PRODUCTS, row=product.row, sku=sku, message=message)
                )
                work.ops.append(
                    _stock_op(
                        now,
                        "セット在庫の入力を無視",
                        sku,
                        _fmt_int(known),
                        product.stock,
                        "セット商品の在庫数は自動計算です",
                    )
                )
            continue
        known = state.stock.get(sku)
        if state.fresh or known is None:
            work.stock[sku] = product.stock
        elif product.stock != known:
            work.stock[sku] = product.stock
            work.touched.add(sku)
            work.ops.append(
                _stock_op(now, "棚卸", sku, known, product.stock, "シートで在庫数が変更されました")
            )
    # Rows that vanished from the sheet are forgotten (their ledger lines stay); not
    # while 商品マスタ cannot be read, or an oversell the bot wrote would later look
    # like a negative typed by staff.
    if not products_broken:
        for sku in list(work.stock):
            if sku not in products and sku not in invalid:
                del work.stock[sku]

    # 2. 入出庫 rows: each applied once, marked in the same atomic commit.
    # A broken 商品マスタ or セット構成 (a required header renamed or deleted) means we
    # cannot tell which product an order or a movement touches: hold everything until
    # staff fix the header. A broken 設定 only stops pushes (its defaults are not safe).
    held = bool(snapshot.broken_tabs & {TAB_PRODUCTS, TAB_SETS})
    if held:
        lines = ()
    for mv in () if held else snapshot.movements:
        _apply_movement(work, mv, usable, invalid, book)

    # 3. Order lines, reconciled against the ledger (§4.2).
    code_index = _code_index(usable)
    held_codes = _code_index({s: p for s, p in products.items() if s in book.invalid})
    for mall, codes in snapshot.held_codes.items():
        for code, sku in codes.items():
            held_codes.setdefault((mall, code), sku)
    horizon = now - pending_window
    for key, ls in state.lines.items():
        if ls.seen_at is not None and ls.seen_at < horizon:
            del work.lines[key]  # older than the cancellation window: forgotten
    reports: dict[str, OrderLine] = {}
    for line in lines:
        reports[line.key] = line  # the latest report of a line wins
    for key, ls in work.lines.items():
        if ls.pending is not None and key not in reports:
            reports[key] = OrderLine(
                mall=ls.mall,
                order_id=ls.order_id,
                line_id=ls.line_id,
                code=ls.code,
                units=ls.reported,
                ordered_at=ls.seen_at,
            )
    for key in sorted(reports):
        _apply_line(
            work, reports[key], code_index, held_codes, usable, book, settings.restock_on_cancel
        )

    # 4. Sets follow their components.
    sheet_writes: dict[str, int] = {}
    for set_sku, leaves in book.expanded.items():
        value = set_stock(leaves, work.stock)
        work.stock[set_sku] = value
        if products[set_sku].stock != value:
            sheet_writes[set_sku] = value
            work.touched.add(set_sku)
    for sku, product in usable.items():
        if sku in book.expanded:
            continue
        value = work.stock.get(sku, product.stock)
        if value != product.stock:
            sheet_writes[sku] = value
            work.touched.add(sku)

    # 5. Listing targets and minimal pushes (§4.4, §4.6).
    targets, pushes = _targets(state, snapshot, usable, work.stock)
    if snapshot.broken_tabs:
        pushes = []

    # 6. Conditions → alerts (each once, re-armed when it clears) and statuses.
    all_problems = (*snapshot.problems, *work.problems)
    conditions, alerts, errors = _conditions(
        state, snapshot, usable, work, all_problems, book, statuses
    )

    next_lines = {
        k: v
        for k, v in work.lines.items()
        if v.pending is not None or v.applied > 0 or v.reported > 0
    }
    next_state = EngineState(
        stock=(
            work.stock
            if products_broken
            else {k: v for k, v in work.stock.items() if k in products or k in invalid}
        ),
        lines=next_lines,
        listings=state.listings,
        conditions=conditions,
        notes=work.notes,
        fresh=state.fresh,
    )
    return Plan(
        now=now,
        next_state=next_state,
        stock=sheet_writes,
        statuses=statuses,
        touched=frozenset(work.touched),
        movement_marks=work.marks,
        sales_log=tuple(work.sales),
        ops_log=tuple(work.ops),
        error_log=tuple(errors),
        targets=tuple(targets),
        pushes=tuple(pushes),
        alerts=tuple(alerts),
        problems=tuple(all_problems),
        held=held,
    )
