"""``step``: one cycle's decisions, as a short sequence of pure phases (§1 step 3).

Each phase reads the cycle's fixed facts (``_Cycle``) and writes into the scratch record
(``Work``); nothing reads a clock or performs I/O: ``now`` and the sheet come in as
arguments.

A step costs what changed, not the catalogue: the state carries the last step's
``Memo`` (memo.py), and ``_Since`` says which products can decide differently from
then — rows added, removed or replaced, stock moved, listings, notes and raised
conditions that differ. The phases decide those again and take the rest from the memo.
Without a usable memo (start-up, a broken tab, sets redefined) every product is decided.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from itertools import compress, repeat
from operator import ne

from bot.core.domain import OrderLine, Product, Snapshot, StockPush
from bot.core.engine import conditions, holds, listings, orders, stock
from bot.core.engine.contract import (
    NOTE_LIFETIME,
    SHORTFALL_TIMEOUT,
    STOCK_CONDITIONS,
    TAB_PRODUCTS,
    TAB_SETS,
)
from bot.core.engine.layered import Overlay, lookup, plain
from bot.core.engine.memo import Frame, Memo, changed_keys, changed_products, positions
from bot.core.engine.sets import SetBook, resolve_sets
from bot.core.engine.state import EngineState, LineState, ListingState, Plan
from bot.core.engine.work import Work


@dataclass(frozen=True, slots=True)
class _Since:
    """What changed since the last step's memo (the products to decide again)."""

    memo: Memo
    changed: Mapping[str, Product | None]
    """Skus whose row is new or another object → the product the memo saw (None: new)."""
    removed: frozenset[str]
    """Skus whose row the memo saw and this snapshot has not."""
    gone: frozenset[str]
    """Skus whose on-hand may be forgotten: rows removed, invalid no more."""
    same_rules: bool
    """設定, mall names and broken tabs are those of the memo."""
    same_order: bool
    """商品マスタ holds the memo's skus in the memo's order."""

    @property
    def skus_changed(self) -> bool:
        return bool(self.removed) or any(old is None for old in self.changed.values())


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
    frame: Frame
    since: _Since | None
    """None: every product is decided afresh."""


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
    seen = holds.latest(() if cycle.held else lines)
    # 1. Base stock (stocktakes), 2. 入出庫 rows, 3. order lines (§4.2), 4. sets.
    cat, book, writes, stirred = _stock(cycle, work, seen, now - pending_window)
    # 5. Shortfall holds (§4.5): lines replace them, the time-out releases them.
    held = _holds(cycle, seen, cat, work, now - pending_window, shortfall_timeout, orders_from)
    # 6. Listing targets and minimal pushes (§4.4, §4.6).
    decided, pushes = _targets(cycle, cat, held, stirred)
    if snapshot.broken_tabs:
        pushes = []
    drift_ops, drift_alerts, drift_raised = holds.report(
        held.released,
        decided.flat,
        cycle.usable,
        cat.codes,
        snapshot.mall_labels,
        state.conditions,
        now,
        shortfall_timeout,
    )
    # 7. Conditions → alerts (each once, re-armed when it clears) and statuses.
    problems = (*snapshot.problems, *work.problems)
    raised, alerts, errors, judged, changed_statuses = conditions.conditions(
        state,
        snapshot,
        cycle.usable,
        work,
        problems,
        cycle.book,
        _redo(cycle, work, book, stirred),
    )
    outcome = _Outcome(book, held, decided, judged, cat, frozenset(writes))
    return Plan(
        now=now,
        next_state=_next_state(cycle, work, raised | drift_raised, outcome),
        stock=writes,
        statuses=judged.statuses,
        touched=frozenset(work.touched),
        movement_marks=work.marks,
        sales_log=tuple(work.sales),
        ops_log=(*work.ops, *drift_ops),
        error_log=tuple(errors),
        targets=decided.flat,
        pushes=tuple(pushes),
        alerts=(*alerts, *drift_alerts),
        problems=tuple(problems),
        held=cycle.held,
        changed_targets=decided.changed,
        changed_statuses=changed_statuses,
    )


def _stock(
    cycle: _Cycle, work: Work, seen: Mapping[str, OrderLine], horizon: datetime
) -> tuple[orders.Catalog, orders.LineBook, dict[str, int], set[str]]:
    """On-hand after stocktakes, 入出庫 rows and order lines; sets follow their parts.

    Returns the catalog, the ledger's lines, the 在庫数 to write and the skus whose
    on-hand differs from the memo's.
    """
    state, snapshot, since = cycle.state, cycle.snapshot, cycle.since
    taken = None if since is None else _take_only(cycle, since)
    stock.take_stock(
        work,
        state,
        snapshot,
        cycle.book,
        products_broken=cycle.products_broken,
        only=taken,
        gone=() if since is None else since.gone,
    )
    # A broken 商品マスタ or セット構成 (a required header renamed or deleted) means we
    # cannot tell which product an order or a movement touches: hold everything until
    # staff fix the header. A broken 設定 only stops pushes (its defaults are not safe).
    if not cycle.held:
        memo = state.memo
        checked, parts = (None, None) if memo is None else (memo.settled, memo.split)
        work.settled = stock.apply_movements(
            work, snapshot, cycle.usable, cycle.book, checked, parts
        )
    cat = orders.catalog(snapshot, cycle.usable, cycle.book, _codes(cycle))
    prior = None if since is None else since.memo.lines
    book = orders.reconcile(work, state, seen, cat, horizon, prior)
    only = None if since is None else _write_only(cycle, since, work)
    writes, sets_moved = stock.stock_writes(
        work, snapshot.products, cycle.usable, cycle.book, only=only
    )
    stirred = _stirred(since, work, {*work.touched, *sets_moved, *(taken or ())})
    return cat, book, writes, stirred


@dataclass(frozen=True, slots=True)
class _Held:
    """The holds phase's outcome: listings, cancels seen, drift released, stock offered."""

    listings: Mapping[tuple[str, str], ListingState]
    cancels_seen: Mapping[str, datetime]
    released: list[holds.Released]
    offered: Mapping[str, int]
    lowered: set[str]
    """Skus offered less than on-hand."""
    shorts: frozenset[tuple[str, str]]
    """Listings holding a shortfall."""
    drifting: frozenset[tuple[str, str]]
    """Listings with drift released whose set-back has not landed (``drifted``)."""
    changed: set[tuple[str, str]] = field(default_factory=set)
    """Listings whose state differs from the memo's (with a memo)."""


def _holds(
    cycle: _Cycle,
    seen: Mapping[str, OrderLine],
    cat: orders.Catalog,
    work: Work,
    horizon: datetime,
    timeout: timedelta,
    orders_from: frozenset[str] | None,
) -> _Held:
    """Shortfall holds after this cycle's lines and time-out, and the stock they leave."""
    state = cycle.state
    listed, cancels_seen, followed = holds.follow_lines(
        state.listings,
        state.lines,
        seen,
        state.cancels_seen,
        cycle.now,
        fresh=state.fresh,
        horizon=horizon,
    )
    changed: set[tuple[str, str]] = set()
    maybe: list[tuple[str, str]] | None = None
    if cycle.since is None:  # every listing is looked at: lookups at C speed
        listed = plain(listed)
    else:
        memo = cycle.since.memo
        if state.listings is memo.listings:  # the feedback since said what it changed
            changed = {*memo.edited, *followed}
        else:
            changed = {*changed_keys(memo.targets.listings, state.listings)[0], *followed}
        maybe = _holding(listed, memo.shorts | changed)
    # A held cycle processed no order: nothing may be called unexplained.
    listed, released = holds.time_out(
        listed, cycle.now, timeout, frozenset() if cycle.held else orders_from, maybe
    )
    if maybe is None:
        listed = plain(listed)
    shorts = frozenset(_holding(listed, listed if maybe is None else maybe))
    # Drift is released by the time-out and settled by a push: with a memo, only the
    # listings drifting before, those changed since and those released now can drift.
    drifting = holds.drifting(
        listed,
        None if cycle.since is None else (*cycle.since.memo.drifting, *changed, *_keys(released)),
    )
    offered, lowered = holds.available(
        listed,
        cat.codes,
        cycle.book,
        cycle.usable,
        work.stock,
        holding=shorts,
        parents=cycle.frame.parents,
    )
    return _Held(listed, cancels_seen, released, offered, lowered, shorts, drifting, changed)


def _keys(released: Sequence[holds.Released]) -> list[tuple[str, str]]:
    return [(r.mall, r.code) for r in released]


def _holding(
    listed: Mapping[tuple[str, str], ListingState], keys: Iterable[tuple[str, str]]
) -> list[tuple[str, str]]:
    """The listings of ``keys`` holding a shortfall (looked up in C: ~20,000 a busy step)."""
    keys = list(keys)
    return list(compress(keys, map(getattr, lookup(listed, keys), repeat("short"), repeat(0))))


def _targets(
    cycle: _Cycle, cat: orders.Catalog, held: _Held, stirred: set[str]
) -> tuple[listings.TargetBook, list[StockPush]]:
    """Listing targets: those of the products that can differ, the rest the memo's."""
    state, since = replace(cycle.state, listings=held.listings), cycle.since
    if since is None or not since.same_rules:  # every product: lookups at C speed
        state = replace(state, listings=plain(held.listings))
        return listings.targets(state, cycle.snapshot, cycle.usable, plain(held.offered))
    prior = since.memo.targets
    dirty = {*stirred, *held.lowered, *since.memo.offered}
    dirty.update(s for s, old in since.changed.items() if old is None or _shown(old, s, cycle))
    recheck = set(prior.pushed)
    released = ((r.mall, r.code) for r in held.released)
    for key in (*held.changed, *released, *cycle.snapshot.resend, *prior.resend):
        sku = cat.codes.get(key)
        if sku is not None:
            recheck.add(sku)
            recheck.update(cat.shared.get(key, ()))
    return listings.targets(
        state,
        cycle.snapshot,
        cycle.usable,
        held.offered,
        prior=prior,
        dirty=dirty,
        recheck=recheck,
        skus_changed=since.skus_changed,
    )


def _stirred(since: _Since | None, work: Work, candidates: set[str]) -> set[str]:
    """The skus whose on-hand differs from the memo's: decided again.

    ``candidates`` are the skus this step may have moved.
    """
    if since is None:
        return candidates
    # Looked up in bulk (layered.lookup; on-hand holds no None, so None is "missing").
    skus = list(candidates)
    return set(compress(skus, map(ne, lookup(work.stock, skus), lookup(since.memo.stock, skus))))


def _shown(old: Product, sku: str, cycle: _Cycle) -> bool:
    """The row changed what its listings show (codes, rule, 取り寄せ, 連動).

    Compared as tuples: their comparison takes a field that is the same object as equal
    without calling anything (a row re-read keeps its rule object, whose pydantic ``!=``
    costs ~0.65 µs, timeit), for the ~1,000 rows a cycle at 100k that changed.
    """
    new = cycle.snapshot.products[sku]
    return (old.codes, old.rule, old.backorder, old.sync) != (
        new.codes,
        new.rule,
        new.backorder,
        new.sync,
    )


def _redo(
    cycle: _Cycle, work: Work, book: orders.LineBook, stirred: set[str]
) -> conditions.Redo | None:
    """The products whose condition or 状態 can differ from the memo's (None: all)."""
    since = cycle.since
    if since is None or not since.same_rules:
        return None
    memo = since.memo
    prior = memo.conditions
    skus = {*stirred, *prior.moved, *work.moved_out}
    skus.update(s for s, old in since.changed.items() if old is None or _judged(old, s, cycle))
    for sku in prior.notes.keys() | work.notes.keys():
        if prior.notes.get(sku) != work.notes.get(sku):
            skus.add(sku)
    for key in cycle.state.conditions ^ memo.raised:
        family, _, sku = key.partition(":")
        if family in STOCK_CONDITIONS:
            skus.add(sku)
    return conditions.Redo(
        prior=prior,
        skus=skus,
        position=cycle.frame.position,
        reordered=not since.same_order,
        waiting=book.pending,
    )


def _judged(old: Product, sku: str, cycle: _Cycle) -> bool:
    """The row changed how its stock is judged (low-stock level, rule, 取り寄せ); as ``_shown``."""
    new = cycle.snapshot.products[sku]
    return (old.low_stock, old.rule, old.backorder) != (new.low_stock, new.rule, new.backorder)


def _codes(cycle: _Cycle) -> orders.Catalog | None:
    """The memo's catalog when no usable product's codes changed since (else None)."""
    since = cycle.since
    if since is None:
        return None
    products, before = cycle.snapshot.products, since.memo.frame.products
    for sku, old in since.changed.items():
        if (old.codes if old is not None else {}) != products[sku].codes:
            return None
    if any(before[sku].codes for sku in since.removed):
        return None
    return since.memo.catalog


def _take_only(cycle: _Cycle, since: _Since) -> list[str]:
    """Rows whose 在庫数 can differ from what the bot last wrote, in sheet order."""
    products = cycle.snapshot.products
    skus = {s for s, old in since.changed.items() if old is None or old.stock != products[s].stock}
    skus.update(s for s in since.memo.writes if s in products)
    return sorted(skus, key=cycle.frame.position.__getitem__)


def _write_only(cycle: _Cycle, since: _Since, work: Work) -> tuple[list[str], list[str]]:
    """Sets whose stock or row can have changed, and single products stock moved on."""
    expanded, parents = cycle.book.expanded, cycle.frame.parents
    sets = {s for leaf in work.touched for s in parents.get(leaf, ())}
    sets.update(s for s in (*since.changed, *since.memo.writes) if s in expanded)
    singles = [s for s in work.touched if s in cycle.usable and s not in expanded]
    return (
        sorted(sets, key=cycle.frame.set_rank.__getitem__),
        sorted(singles, key=cycle.frame.position.__getitem__),
    )


def _cycle(state: EngineState, snapshot: Snapshot, now: datetime) -> _Cycle:
    products_broken = TAB_PRODUCTS in snapshot.broken_tabs
    memo = state.memo
    products = snapshot.products
    changed: dict[str, Product | None] = {}
    removed: frozenset[str] = frozenset()
    same_order = False
    if memo is not None:
        keys, same_order = changed_products(memo.frame.products, products)
        before = memo.frame.products
        # A row parsed afresh but equal to the memo's decides nothing differently.
        changed = {k: old for k in keys if k in products and (old := before.get(k)) != products[k]}
        removed = frozenset(k for k in keys if k not in products)
    same_keys = not removed and None not in changed.values()
    frame = _frame(snapshot, memo, products_broken, same_order, same_keys=same_keys)
    book = frame.book
    usable = _usable(products, book.invalid) if book.invalid else products
    since = None
    if (
        memo is not None
        and not state.fresh
        and not products_broken
        and book is memo.frame.book
        and state.stock is memo.stock
        and snapshot.broken_tabs == memo.frame.broken
    ):
        gone = removed | (memo.frame.invalid - snapshot.invalid_skus)
        same_rules = _same(snapshot.settings, memo.frame.settings) and _same(
            snapshot.mall_labels, memo.frame.labels
        )
        since = _Since(memo, changed, removed, gone, same_rules, same_order)
    else:
        # Every product is decided: the shared maps' lookups at C speed (layered.plain).
        state = replace(state, stock=plain(state.stock), listings=plain(state.listings))
    return _Cycle(
        state=state,
        snapshot=snapshot,
        now=now,
        book=book,
        usable=usable,
        products_broken=products_broken,
        held=bool(snapshot.broken_tabs & {TAB_PRODUCTS, TAB_SETS}),
        frame=frame,
        since=since,
    )


def _usable(products: Mapping[str, Product], invalid: frozenset[str]) -> dict[str, Product]:
    """``products`` without ``invalid``, in their order.

    Copied in C and the few invalid skus taken out, not filtered row by row: a
    comprehension over 100,000 rows took ~10x the copy (CPU time of 20 calls on a
    100,000-entry dict, 50 invalid), every cycle while any set is invalid.
    """
    usable = dict(products)
    for sku in invalid:
        usable.pop(sku, None)
    return usable


def _same(a: object, b: object) -> bool:
    return a is b or a == b


def _frame(
    snapshot: Snapshot,
    memo: Memo | None,
    products_broken: bool,
    same_order: bool,
    *,
    same_keys: bool,
) -> Frame:
    """Set definitions resolved, and the sheet order of the products.

    The memo's set definitions are taken again when nothing they rest on changed.
    """
    prev = None if memo is None else memo.frame
    products = snapshot.products
    if products_broken:
        book = SetBook(expanded={}, invalid=frozenset(), problems=())
    elif (
        prev is not None
        and TAB_PRODUCTS not in prev.broken  # its sets were not resolved
        and same_keys
        and _same(snapshot.sets, prev.sets)
        and snapshot.invalid_skus == prev.invalid
    ):
        book = prev.book
    else:
        book = resolve_sets(snapshot.sets, products, snapshot.invalid_skus)
        if prev is not None and TAB_PRODUCTS not in prev.broken and book == prev.book:
            book = prev.book
    if prev is not None and book is prev.book:
        parents, set_rank = prev.parents, prev.set_rank
    else:
        parents, set_rank = _parents(book), positions(book.expanded)
    return Frame(
        products=products,
        position=prev.position if prev is not None and same_order else positions(products),
        invalid=snapshot.invalid_skus,
        sets=snapshot.sets,
        book=book,
        parents=parents,
        set_rank=set_rank,
        settings=snapshot.settings,
        labels=snapshot.mall_labels,
        broken=snapshot.broken_tabs,
    )


def _parents(book: SetBook) -> dict[str, tuple[str, ...]]:
    """Leaf sku → the sets it is part of."""
    found: dict[str, list[str]] = {}
    for set_sku, leaves in book.expanded.items():
        for leaf, _qty in leaves:
            found.setdefault(leaf, []).append(set_sku)
    return {leaf: tuple(sets) for leaf, sets in found.items()}


def _start(cycle: _Cycle) -> Work:
    state, now = cycle.state, cycle.now
    work = Work(
        now=now,
        # A layer on the state's on-hand (100,000 skus): a dict copy cost ~1 ms and its
        # freeing as much a step later. A step from scratch sets every sku: a dict.
        stock=dict(state.stock) if cycle.since is None else Overlay(state.stock),
        lines=Overlay(state.lines),
        notes={k: v for k, v in state.notes.items() if now - v[1] < NOTE_LIFETIME},
    )
    work.problems.extend(cycle.book.problems)
    return work


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What the phases derived that the next step starts from."""

    lines: orders.LineBook
    held: _Held
    targets: listings.TargetBook
    conditions: conditions.ConditionBook
    catalog: orders.Catalog
    writes: frozenset[str]


def _next_state(cycle: _Cycle, work: Work, raised: frozenset[str], out: _Outcome) -> EngineState:
    """What survives the cycle: stock of rows still on the sheet, lines still open."""
    products, invalid = cycle.snapshot.products, cycle.snapshot.invalid_skus
    kept_stock: Mapping[str, int] = work.stock
    if isinstance(kept_stock, Overlay):
        kept_stock = kept_stock.freeze()
    elif not cycle.products_broken and cycle.since is None:
        kept_stock = {k: v for k, v in work.stock.items() if k in products or k in invalid}
    memo = Memo(
        frame=cycle.frame,
        stock=kept_stock,
        writes=out.writes,
        catalog=out.catalog,
        lines=out.lines,
        shorts=out.held.shorts,
        drifting=out.held.drifting,
        offered=frozenset(out.held.lowered),
        targets=out.targets,
        conditions=out.conditions,
        raised=raised,
        listings=out.held.listings,
        settled=work.settled,
        split=work.split,
    )
    next_lines: Mapping[str, LineState] = out.lines.lines
    return EngineState(
        stock=kept_stock,
        lines=next_lines,
        listings=out.held.listings,
        conditions=raised,
        notes=work.notes,
        fresh=cycle.state.fresh,
        cancels_seen=out.held.cancels_seen,
        memo=memo,
    )
