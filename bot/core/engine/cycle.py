"""``step``: one cycle's decisions, as a short sequence of pure phases (§1 step 3).

Each phase reads the cycle's fixed facts (``_Cycle``) and writes into the scratch record
(``Work``); nothing reads a clock or performs I/O: ``now`` and the sheet come in as
arguments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.core.domain import OrderLine, Product, Snapshot
from bot.core.engine import conditions, holds, listings, orders, stock
from bot.core.engine.contract import NOTE_LIFETIME, SHORTFALL_TIMEOUT, TAB_PRODUCTS, TAB_SETS
from bot.core.engine.sets import SetBook, resolve_sets
from bot.core.engine.state import EngineState, LineState, ListingState, Plan
from bot.core.engine.work import Work


@dataclass(frozen=True, slots=True)
class _Cycle:
    """What one step knows before it changes anything."""

    state: EngineState
    snapshot: Snapshot
    now: datetime
    book: SetBook
    usable: Mapping[str, Product]
    """Products whose row and (for a set) definition are usable."""
    products_broken: bool
    held: bool
    """商品マスタ or セット構成 is broken: no order or movement is processed."""


def step(
    state: EngineState,
    snapshot: Snapshot,
    lines: Sequence[OrderLine],
    now: datetime,
    *,
    pending_window: timedelta = timedelta(days=60),
    shortfall_timeout: timedelta = SHORTFALL_TIMEOUT,
    orders_from: frozenset[str] | None = None,
) -> Plan:
    """Decide one cycle (ARCHITECTURE.md §1 step 3).

    ``orders_from``: the malls whose order lines this cycle brought (None: every mall);
    only their shortfall holds may time out (§4.5).
    """
    cycle = _cycle(state, snapshot, now)
    work = _start(cycle)
    seen = () if cycle.held else lines
    # 1. Base stock (stocktakes), 2. 入出庫 rows, 3. order lines (§4.2).
    stock.take_stock(work, state, snapshot, cycle.book, products_broken=cycle.products_broken)
    # A broken 商品マスタ or セット構成 (a required header renamed or deleted) means we
    # cannot tell which product an order or a movement touches: hold everything until
    # staff fix the header. A broken 設定 only stops pushes (its defaults are not safe).
    if not cycle.held:
        stock.apply_movements(work, snapshot, cycle.usable, cycle.book)
    cat = orders.catalog(snapshot, cycle.usable, cycle.book)
    orders.reconcile(work, state, seen, cat, now - pending_window)
    # 4. Sets follow their components.
    writes = stock.stock_writes(work, snapshot.products, cycle.usable, cycle.book)
    # 5. Shortfall holds (§4.5): lines replace them, the time-out releases them.
    held = _holds(cycle, seen, cat, work, now - pending_window, shortfall_timeout, orders_from)
    # 6. Listing targets and minimal pushes (§4.4, §4.6).
    targets, pushes = listings.targets(
        replace(state, listings=held.listings), snapshot, cycle.usable, held.offered
    )
    if snapshot.broken_tabs:
        pushes = []
    drift_ops, drift_alerts, drift_raised = holds.report(
        held.released,
        targets,
        cycle.usable,
        cat.codes,
        snapshot.mall_labels,
        state.conditions,
        now,
        shortfall_timeout,
    )
    # 7. Conditions → alerts (each once, re-armed when it clears) and statuses.
    problems = (*snapshot.problems, *work.problems)
    statuses: dict[str, str] = {}
    raised, alerts, errors = conditions.conditions(
        state, snapshot, cycle.usable, work, problems, cycle.book, statuses
    )
    return Plan(
        now=now,
        next_state=_next_state(cycle, work, raised | drift_raised, held),
        stock=writes,
        statuses=statuses,
        touched=frozenset(work.touched),
        movement_marks=work.marks,
        sales_log=tuple(work.sales),
        ops_log=(*work.ops, *drift_ops),
        error_log=tuple(errors),
        targets=tuple(targets),
        pushes=tuple(pushes),
        alerts=(*alerts, *drift_alerts),
        problems=tuple(problems),
        held=cycle.held,
    )


@dataclass(frozen=True, slots=True)
class _Held:
    """The holds phase's outcome: listings, cancels seen, drift released, stock offered."""

    listings: Mapping[tuple[str, str], ListingState]
    cancels_seen: Mapping[str, datetime]
    released: list[holds.Released]
    offered: Mapping[str, int]


def _holds(
    cycle: _Cycle,
    seen: Sequence[OrderLine],
    cat: orders.Catalog,
    work: Work,
    horizon: datetime,
    timeout: timedelta,
    orders_from: frozenset[str] | None,
) -> _Held:
    """Shortfall holds after this cycle's lines and time-out, and the stock they leave."""
    state = cycle.state
    listed, cancels_seen = holds.follow_lines(
        state.listings,
        state.lines,
        seen,
        state.cancels_seen,
        cycle.now,
        fresh=state.fresh,
        horizon=horizon,
    )
    # A held cycle processed no order: nothing may be called unexplained.
    listed, released = holds.time_out(
        listed, cycle.now, timeout, frozenset() if cycle.held else orders_from
    )
    offered = holds.available(listed, cat.codes, cycle.book, cycle.usable, work.stock)
    return _Held(listed, cancels_seen, released, offered)


def _cycle(state: EngineState, snapshot: Snapshot, now: datetime) -> _Cycle:
    products_broken = TAB_PRODUCTS in snapshot.broken_tabs
    book = (
        SetBook(expanded={}, invalid=frozenset(), problems=())
        if products_broken  # sets cannot be checked against a tab we cannot read
        else resolve_sets(snapshot.sets, snapshot.products, snapshot.invalid_skus)
    )
    return _Cycle(
        state=state,
        snapshot=snapshot,
        now=now,
        book=book,
        usable={sku: p for sku, p in snapshot.products.items() if sku not in book.invalid},
        products_broken=products_broken,
        held=bool(snapshot.broken_tabs & {TAB_PRODUCTS, TAB_SETS}),
    )


def _start(cycle: _Cycle) -> Work:
    state, now = cycle.state, cycle.now
    work = Work(
        now=now,
        stock=dict(state.stock),
        lines=dict(state.lines),
        notes={k: v for k, v in state.notes.items() if now - v[1] < NOTE_LIFETIME},
    )
    work.problems.extend(cycle.book.problems)
    return work


def _next_state(
    cycle: _Cycle,
    work: Work,
    raised: frozenset[str],
    held: _Held,
) -> EngineState:
    """What survives the cycle: stock of rows still on the sheet, lines still open."""
    products, invalid = cycle.snapshot.products, cycle.snapshot.invalid_skus
    next_lines: dict[str, LineState] = {
        k: v
        for k, v in work.lines.items()
        if v.pending is not None or v.applied > 0 or v.reported > 0
    }
    return EngineState(
        stock=(
            work.stock
            if cycle.products_broken
            else {k: v for k, v in work.stock.items() if k in products or k in invalid}
        ),
        lines=next_lines,
        listings=held.listings,
        conditions=raised,
        notes=work.notes,
        fresh=cycle.state.fresh,
        cancels_seen=held.cancels_seen,
    )
