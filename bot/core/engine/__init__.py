"""The pure core: one cycle's decisions as a function of state, sheet and order lines.

``step(state, snapshot, lines, now) -> Plan`` decides new on-hand stock, log rows,
listing targets, minimal pushes, alerts and row problems. ``after_push`` folds the
malls' answers back into the state. Nothing here performs I/O, reads a clock or draws a
random number: the worker (the imperative shell) does that and hands the results in.
ARCHITECTURE.md §4 is the specification; section numbers below refer to it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

from bot.core import words
from bot.core.domain import (
    Alert,
    AlertKind,
    ErrorLogRow,
    ListingTarget,
    MallLogRow,
    Movement,
    OpLogRow,
    OrderLine,
    Product,
    PushReason,
    PushResult,
    PushStatus,
    RowProblem,
    SaleKind,
    SaleLogRow,
    SetComponent,
    Snapshot,
    StockPush,
)

# Tab keys of sheets_template/template.json, as RowProblem.tab carries them, and the
# Japanese titles the engine puts in front of its own messages (the layout does the same
# for the problems it finds; a test checks these against the template).
TAB_PRODUCTS = "products"
TAB_SETS = "sets"
TAB_MOVEMENTS = "movements"
TAB_TITLES = {TAB_PRODUCTS: "商品マスタ", TAB_SETS: "セット構成", TAB_MOVEMENTS: "入出庫"}

MOVEMENT_DONE_PREFIX = "済"

NOTE_LIFETIME = timedelta(hours=24)
"""How long an ignored set-row edit stays visible in 状態."""

STOCK_CONDITIONS = frozenset({"low_stock", "out_of_stock", "oversell", "backorder"})
STEP_CONDITIONS = STOCK_CONDITIONS | {"unassigned", "row"}
# "push:" and "drift:" conditions belong to after_push / detect_drift; "auth:",
# "expiring:" to the worker.
"""Condition prefixes that ``step`` recomputes every cycle; others (push failures,
credential warnings) are raised and cleared by whoever owns them."""
"""A 入出庫 row whose 反映 cell starts with this is applied and never touched again."""


# --------------------------------------------------------------------------- state


@dataclass(frozen=True, slots=True)
class LineState:
    """What the ledger knows of one order line (§4.2)."""

    mall: str
    order_id: str
    line_id: str
    code: str
    sku: str | None
    """The product the applied units were taken from (kept even if remapped later)."""
    applied: int
    """Units of the line already applied to stock (販売ログ 反映数)."""
    reported: int
    """Units the mall last reported."""
    pending: SaleKind | None = None
    """UNASSIGNED or HELD while the line waits for its product to become usable."""
    seen_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ListingState:
    """What the bot believes one mall listing shows (§4.5)."""

    pushed: int | None = None
    expected: int | None = None
    backorder: bool | None = None
    failed: int | None = None
    """Last target the mall refused; not re-sent until the target changes or 再送."""
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class EngineState:
    """Everything that must survive between cycles; rebuilt from the sheet at start-up."""

    stock: Mapping[str, int] = field(default_factory=dict)
    """在庫数 per sku as the sheet holds it after the bot's last commit."""
    lines: Mapping[str, LineState] = field(default_factory=dict)
    listings: Mapping[tuple[str, str], ListingState] = field(default_factory=dict)
    conditions: frozenset[str] = frozenset()
    """Alert conditions currently raised (each alerts once, re-armed when it clears)."""
    notes: Mapping[str, tuple[str, datetime]] = field(default_factory=dict)
    """状態 notes that outlive their cycle (an ignored edit of a set row), with their time."""
    fresh: bool = True
    """No commit since start-up: the sheet is the truth and every listing is pushed."""


@dataclass(frozen=True, slots=True)
class Plan:
    """What one cycle should do; the worker carries it out."""

    now: datetime
    next_state: EngineState
    stock: Mapping[str, int]
    """在庫数 cells to write (only values that differ from what was read)."""
    statuses: Mapping[str, str]
    """状態 text for every product row with a 商品コード (valid or not)."""
    touched: frozenset[str]
    """Rows whose 最終更新 becomes ``now``."""
    movement_marks: Mapping[str, str]
    """入出庫 row key → 反映 cell text."""
    sales_log: tuple[SaleLogRow, ...]
    ops_log: tuple[OpLogRow, ...]
    error_log: tuple[ErrorLogRow, ...]
    targets: tuple[ListingTarget, ...]
    pushes: tuple[StockPush, ...]
    alerts: tuple[Alert, ...]
    problems: tuple[RowProblem, ...]
    held: bool = False
    """A tab the engine needs is broken: no order, movement or push was processed, so
    the worker must not advance its order cursors."""


# --------------------------------------------------------------------------- sets


@dataclass(frozen=True, slots=True)
class _SetBook:
    """Validated set definitions: set sku → tuple of (component sku, qty), leaves only."""

    expanded: Mapping[str, tuple[tuple[str, int], ...]]
    invalid: frozenset[str]
    problems: tuple[RowProblem, ...]


def _set_problem(row: int, column: str, set_sku: str, text: str) -> RowProblem:
    """A セット構成 problem, naming its cell like the layout's messages do."""
    return RowProblem(
        tab=TAB_SETS, row=row, sku=set_sku, message=f"セット構成 {column}{row}: {text}"
    )


def _resolve_sets(
    sets: Sequence[SetComponent], products: Mapping[str, Product], invalid: frozenset[str]
) -> _SetBook:
    """Expand nested sets to leaf components; flag missing parts, self-reference, cycles."""
    direct: dict[str, list[SetComponent]] = defaultdict(list)
    for comp in sets:
        direct[comp.set_sku].append(comp)
    problems: list[RowProblem] = []
    bad: set[str] = set()
    for set_sku, comps in direct.items():
        if set_sku not in products and set_sku not in invalid:
            problems.append(
                _set_problem(
                    comps[0].row,
                    "A",
                    set_sku,
                    words.say("engine.set_sku_missing", set_sku=set_sku),
                )
            )
            bad.add(set_sku)
        for comp in comps:
            if comp.component_sku == set_sku:
                problems.append(
                    _set_problem(
                        comp.row,
                        "B",
                        set_sku,
                        f"セット『{set_sku}』が自分自身を構成商品にしています",
                    )
                )
                bad.add(set_sku)
            elif comp.component_sku not in products and comp.component_sku not in invalid:
                problems.append(
                    _set_problem(
                        comp.row,
                        "B",
                        set_sku,
                        f"構成商品コード『{comp.component_sku}』が商品マスタにありません",
                    )
                )
                bad.add(set_sku)

    expanded: dict[str, tuple[tuple[str, int], ...]] = {}

    def expand(sku: str, path: tuple[str, ...]) -> dict[str, int] | None:
        if sku in path:
            return None
        if sku not in direct:
            return {sku: 1}
        total: dict[str, int] = defaultdict(int)
        for comp in direct[sku]:
            sub = expand(comp.component_sku, (*path, sku))
            if sub is None:
                return None
            for leaf, q in sub.items():
                total[leaf] += q * comp.qty
        return dict(total)

    for set_sku, comps in direct.items():
        if set_sku in bad:
            continue
        leaves = expand(set_sku, ())
        if leaves is None:
            problems.append(
                _set_problem(
                    comps[0].row,
                    "A",
                    set_sku,
                    f"セット『{set_sku}』の構成が循環しています（セットが自分を含んでいます）",
                )
            )
            bad.add(set_sku)
            continue
        if any(leaf in invalid for leaf in leaves):
            bad.add(set_sku)  # a component row has its own problem; the set waits for it
            continue
        expanded[set_sku] = tuple(sorted(leaves.items()))
    # A set whose sub-set is bad is bad too.
    changed = True
    while changed:
        changed = False
        for set_sku in list(expanded):
            if any(c.component_sku in bad for c in direct[set_sku]):
                del expanded[set_sku]
                bad.add(set_sku)
                changed = True
    return _SetBook(expanded=expanded, invalid=frozenset(bad), problems=tuple(problems))


def set_stock(leaves: Iterable[tuple[str, int]], stock: Mapping[str, int]) -> int:
    """Set stock: the min over components of of floor(component stock / qty); never negative (§4.3)."""
    return min((max(stock.get(sku, 0), 0) // qty for sku, qty in leaves), default=0)


# --------------------------------------------------------------------------- helpers


def _stock_op(
    at: datetime, kind: str, sku: str, before: int | str, after: int, memo: str
) -> OpLogRow:
    """One 操作ログ row about 在庫数."""
    return OpLogRow(
        at=at, kind=kind, sku=sku, field="在庫数", before=str(before), after=str(after), memo=memo
    )


def _fmt_int(value: int | None) -> str:
    return "" if value is None else str(value)


@dataclass(slots=True)
class _Work:
    """Mutable scratch space for one step; never escapes it."""

    now: datetime
    stock: dict[str, int]
    lines: dict[str, LineState]
    sales: list[SaleLogRow] = field(default_factory=list)
    ops: list[OpLogRow] = field(default_factory=list)
    touched: set[str] = field(default_factory=set)
    marks: dict[str, str] = field(default_factory=dict)
    problems: list[RowProblem] = field(default_factory=list)
    notes: dict[str, tuple[str, datetime]] = field(default_factory=dict)


# --------------------------------------------------------------------------- step


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


def committed(plan: Plan) -> EngineState:
    """The state once the plan's sheet changes are known to be written.

    From then on the sheet holds what the bot wrote, so a difference is a staff edit.
    """
    return replace(plan.next_state, fresh=False)


_JST = timezone(timedelta(hours=9), "JST")


def _jst(when: datetime) -> str:
    """Staff-facing time (ARCHITECTURE §9); pure formatting of a given instant."""
    return when.astimezone(_JST).strftime("%Y-%m-%d %H:%M:%S")


def _problem_text(problem: RowProblem) -> str:
    """Alert text naming the tab (layout messages on 商品マスタ start with the cell only)."""
    title = TAB_TITLES[TAB_PRODUCTS]
    if problem.tab == TAB_PRODUCTS and not problem.message.startswith(title):
        return f"{title} {problem.message}"
    return problem.message


def _code_index(products: Mapping[str, Product]) -> dict[tuple[str, str], str]:
    index: dict[tuple[str, str], str] = {}
    for sku, product in products.items():
        for mall, codes in product.codes.items():
            for code in codes:
                index[(mall, code)] = sku
    return index


def _apply_movement(
    work: _Work,
    mv: Movement,
    usable: Mapping[str, Product],
    invalid: frozenset[str],
    book: _SetBook,
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
            _stock_op(work.now, f"入出庫（{mv.kind or 'その他'}）", sku, before, after, memo)
        )
    work.marks[mv.key] = f"{MOVEMENT_DONE_PREFIX} {_jst(work.now)}"


def _apply_line(
    work: _Work,
    line: OrderLine,
    code_index: Mapping[tuple[str, str], str],
    held_codes: Mapping[tuple[str, str], str],
    usable: Mapping[str, Product],
    book: _SetBook,
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
    work: _Work,
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


def _targets(
    state: EngineState,
    snapshot: Snapshot,
    usable: Mapping[str, Product],
    stock: Mapping[str, int],
) -> tuple[list[ListingTarget], list[StockPush]]:
    settings = snapshot.settings
    targets: list[ListingTarget] = []
    pushes: list[StockPush] = []
    for sku in sorted(usable):
        product = usable[sku]
        on_hand = stock.get(sku, product.stock)
        for mall in sorted(product.codes):
            mall_settings = settings.mall(mall)
            rule = product.rule if product.rule is not None else mall_settings.default_rule
            quantity = rule.display(on_hand)
            backorder = product.backorder and on_hand <= 0
            # 連動 off, 在庫連動 OFF, the mall's 在庫更新 OFF or a broken tab: the
            # listing keeps whatever it shows; 出品状況 says why (§3, reason stopped).
            stopped = (
                not product.sync
                or not settings.sync_enabled
                or not mall_settings.push_stock
                or bool(snapshot.broken_tabs)
            )
            for code in product.codes[mall]:
                target = ListingTarget(
                    mall=mall,
                    code=code,
                    sku=sku,
                    quantity=0 if backorder else quantity,
                    reason=PushReason.STOPPED if stopped else PushReason.RULE,
                    backorder=backorder,
                )
                targets.append(target)
                if stopped:
                    continue
                listing = state.listings.get((mall, code), ListingState())
                resend = (mall, code) in snapshot.resend
                changed = (
                    listing.expected != target.quantity
                    or (listing.backorder is not None and listing.backorder != backorder)
                ) and listing.failed != target.quantity
                if state.fresh or resend or changed:
                    pushes.append(
                        StockPush(
                            mall=mall,
                            code=code,
                            quantity=target.quantity,
                            backorder=backorder
                            if (product.backorder or listing.backorder)
                            else None,
                            reason=target.reason,
                            sku=sku,
                        )
                    )
    return targets, pushes


def _conditions(
    state: EngineState,
    snapshot: Snapshot,
    usable: Mapping[str, Product],
    work: _Work,
    problems: Sequence[RowProblem],
    book: _SetBook,
    statuses: dict[str, str],
) -> tuple[frozenset[str], list[Alert], list[ErrorLogRow]]:
    settings = snapshot.settings
    labels = snapshot.mall_labels
    current: dict[str, Alert] = {}
    for sku, product in usable.items():
        on_hand = work.stock.get(sku, product.stock)
        low = product.low_stock if product.low_stock is not None else settings.default_low_stock
        name = f"{sku}（{product.name}）" if product.name else sku
        on_purpose = product.backorder or (
            product.rule.oversells_on_purpose if product.rule is not None else False
        )
        if on_hand < 0 and on_purpose:
            current[f"backorder:{sku}"] = Alert(
                kind=AlertKind.BACKORDER,
                key=f"backorder:{sku}",
                sku=sku,
                title=f"{name} は取り寄せが {-on_hand} 個あります",
                text="在庫を超えて受注する設定の商品です。入荷したら入出庫に記入してください。",
            )
            statuses.setdefault(sku, f"取り寄せ: {-on_hand}個")
        elif on_hand < 0:
            current[f"oversell:{sku}"] = Alert(
                kind=AlertKind.OVERSELL,
                key=f"oversell:{sku}",
                sku=sku,
                urgent=True,
                title=f"{name} が {-on_hand} 個 売り越しています",
                text="在庫より多く売れました。お客様への連絡と入荷の手配をしてください。",
            )
            statuses.setdefault(sku, f"売り越し: {-on_hand}個不足")
        elif on_hand == 0 and not on_purpose:
            current[f"out_of_stock:{sku}"] = Alert(
                kind=AlertKind.OUT_OF_STOCK,
                key=f"out_of_stock:{sku}",
                sku=sku,
                title=f"{name} が在庫切れになりました",
            )
        elif low is not None and on_hand <= low:
            current[f"low_stock:{sku}"] = Alert(
                kind=AlertKind.LOW_STOCK,
                key=f"low_stock:{sku}",
                sku=sku,
                title=f"{name} の在庫が残り {on_hand} 個です（下限 {low}）",
            )
        if sku in work.notes:
            statuses.setdefault(sku, work.notes[sku][0])
        statuses.setdefault(sku, "セット商品（在庫数は自動計算）" if sku in book.expanded else "OK")
    for ls in work.lines.values():
        if ls.pending is None:
            continue
        key = f"unassigned:{ls.mall}:{ls.code}"
        if ls.pending is SaleKind.UNASSIGNED:
            current[key] = Alert(
                kind=AlertKind.UNASSIGNED,
                key=key,
                mall=ls.mall,
                title=f"{labels.get(ls.mall, ls.mall)} の商品コード『{ls.code}』の注文がどの商品にも割り当てられていません",
                text="商品マスタの該当モールの列にこのコードを追加すると、在庫に反映されます。",
            )
        # A held line's row already has its own ROW_PROBLEM alert: one message is enough.
    by_sku: dict[str, list[str]] = defaultdict(list)
    for problem in problems:
        current[problem.key] = Alert(
            kind=AlertKind.ROW_PROBLEM,
            key=problem.key,
            sku=problem.sku,
            title=_problem_text(problem),
        )
        note = work.notes.get(problem.sku)
        if note is not None and note[0] == problem.message:
            continue  # shown as a note, not as an error of the row
        if (problem.tab == TAB_PRODUCTS and problem.sku) or (
            problem.tab == TAB_SETS and problem.sku in snapshot.products
        ):
            by_sku[problem.sku].append(problem.message)
    for sku, messages in by_sku.items():
        statuses[sku] = "エラー: " + " / ".join(dict.fromkeys(messages))
    for sku in snapshot.invalid_skus:
        statuses.setdefault(sku, "エラー: 入力を確認してください")
    # Conditions of rows that are invalid this cycle are kept, so fixing a typo does not
    # re-announce a low stock that was already announced.
    kept = {
        key
        for key in state.conditions
        if key.split(":", 1)[0] not in STEP_CONDITIONS
        or (
            key.split(":", 1)[0] in STOCK_CONDITIONS
            and key.split(":", 1)[1] in snapshot.invalid_skus
        )
    }
    alerts = [alert for key, alert in current.items() if key not in state.conditions]
    unique = {p.key: p for p in problems if p.key not in state.conditions}
    errors = [
        ErrorLogRow(at=work.now, where=TAB_TITLES.get(p.tab, p.tab), message=p.message)
        for p in unique.values()
    ]
    return frozenset(current) | frozenset(kept), alerts, errors


# --------------------------------------------------------------------------- after push


def after_push(
    state: EngineState,
    pushes: Sequence[StockPush],
    results: Sequence[PushResult],
    now: datetime,
    *,
    labels: Mapping[str, str] | None = None,
) -> tuple[EngineState, list[MallLogRow], list[Alert]]:
    """Fold one mall's push results into the state; log rows and alerts for the record step."""
    labels = labels or {}
    listings = dict(state.listings)
    logs: list[MallLogRow] = []
    alerts: list[Alert] = []
    conditions = set(state.conditions)
    for push, result in zip(pushes, results, strict=True):
        key = (push.mall, push.code)
        prior = listings.get(key, ListingState())
        cond = f"push:{push.mall}:{push.code}"
        if result.status in (PushStatus.APPLIED, PushStatus.ACCEPTED):
            listings[key] = ListingState(
                pushed=push.quantity,
                expected=push.quantity,
                backorder=push.backorder if push.backorder is not None else prior.backorder,
                failed=None,
                at=now,
            )
            conditions.discard(cond)
            label = "反映済" if result.status is PushStatus.APPLIED else "受付済（反映待ち）"
        else:
            listings[key] = replace(prior, failed=push.quantity, at=now)
            label = "コードなし" if result.status is PushStatus.UNKNOWN_CODE else "エラー"
            if cond not in conditions:
                conditions.add(cond)
                detail = (
                    f"{labels.get(push.mall, push.mall)} に商品コード『{push.code}』がありません。商品マスタのコードを確認してください。"
                    if result.status is PushStatus.UNKNOWN_CODE
                    else result.message
                )
                alerts.append(
                    Alert(
                        kind=AlertKind.PUSH_REJECTED,
                        key=cond,
                        mall=push.mall,
                        sku=push.sku,
                        title=f"{labels.get(push.mall, push.mall)} の『{push.code}』に在庫 {push.quantity} を反映できませんでした",
                        text=detail,
                    )
                )
        logs.append(
            MallLogRow(
                at=now,
                mall=push.mall,
                code=push.code,
                sku=push.sku,
                quantity=push.quantity,
                result=label,
                detail=result.message,
            )
        )
    return replace(state, listings=listings, conditions=frozenset(conditions)), logs, alerts


# --------------------------------------------------------------------------- drift


def detect_drift(
    state: EngineState,
    readings: Mapping[tuple[str, str], int],
    now: datetime,
    *,
    skip: frozenset[tuple[str, str]] = frozenset(),
    labels: Mapping[str, str] | None = None,
) -> tuple[EngineState, list[MallLogRow], list[Alert]]:
    """Compare what malls show with what the bot expects them to show.

    A surplus (``current > expected``) means someone changed the number by hand on the
    mall — the edit らくらく在庫 cannot see. The listing is forgotten so the next step
    pushes the right number over it, and the team hears of it once. A shortfall is
    usually sales whose orders have not arrived yet; it is left to the order fetch
    (read-back compensation, §4.5, builds on this). ``skip`` holds listings a mall
    restocked itself after a cancel seen this cycle, which is not a hand edit.
    """
    labels = labels or {}
    listings = dict(state.listings)
    conditions = set(state.conditions)
    logs: list[MallLogRow] = []
    alerts: list[Alert] = []
    for key, current in readings.items():
        listing = listings.get(key)
        if listing is None or listing.expected is None or key in skip:
            continue
        mall, code = key
        cond = f"drift:{mall}:{code}"
        if current > listing.expected:
            listings[key] = replace(listing, expected=None, failed=None)
            logs.append(
                MallLogRow(
                    at=now,
                    mall=mall,
                    code=code,
                    sku="",
                    quantity=current,
                    result="モール側で変更",
                    detail=f"想定 {listing.expected} → モール {current}（上書きします）",
                )
            )
            if cond not in conditions:
                conditions.add(cond)
                alerts.append(
                    Alert(
                        kind=AlertKind.DRIFT,
                        key=cond,
                        mall=mall,
                        title=f"{labels.get(mall, mall)} の『{code}』の在庫がモール側で {listing.expected} → {current} に変更されていました",
                        text="在庫数はスプレッドシートで管理しています。シートの数に戻しました。"
                        "入荷などで増やす場合は入出庫タブに記入してください。",
                    )
                )
        else:
            conditions.discard(cond)
    return replace(state, listings=listings, conditions=frozenset(conditions)), logs, alerts


# --------------------------------------------------------------------------- rebuild


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One 販売ログ row as the worker reads it back at start-up."""

    key: str
    mall: str
    order_id: str
    line_id: str
    code: str
    sku: str
    kind: SaleKind
    qty: int
    applied: int
    at: datetime | None = None


def rebuild(
    ledger: Iterable[LedgerEntry],
    listings: Mapping[tuple[str, str], int] | None = None,
    conditions: Iterable[str] = (),
    window_start: datetime | None = None,
) -> EngineState:
    """Rebuild the state from 販売ログ (the ledger), 出品状況 and ``_state`` (§4.0).

    The last row of each line key decides: its 反映数 is the line's applied units. A
    line whose last row is 未割当 / 保留 is still waiting: its wanted units are
    ``applied − 数量`` (数量 holds the stock change it will cause).
    """
    lines: dict[str, LineState] = {}
    for entry in ledger:
        if window_start is not None and entry.at is not None and entry.at < window_start:
            continue  # outside the cancellation window: the engine would forget it anyway
        prior = lines.get(entry.key)
        if entry.kind in (SaleKind.UNASSIGNED, SaleKind.HELD):
            lines[entry.key] = LineState(
                mall=entry.mall,
                order_id=entry.order_id,
                line_id=entry.line_id,
                code=entry.code,
                sku=prior.sku if prior else None,
                applied=entry.applied,
                reported=entry.applied - entry.qty,
                pending=entry.kind,
                seen_at=entry.at,
            )
            continue
        # A set line has one row per component, so a row's 商品コード does not name the
        # product the line was applied to; the line resolves by its code when it changes.
        lines[entry.key] = LineState(
            mall=entry.mall,
            order_id=entry.order_id,
            line_id=entry.line_id,
            code=entry.code,
            sku=None,
            applied=entry.applied,
            reported=entry.applied,
            pending=None,
            seen_at=prior.seen_at if prior else entry.at,
        )
    listing_states = {
        key: ListingState(pushed=qty, expected=qty) for key, qty in (listings or {}).items()
    }
    return EngineState(
        stock={}, lines=lines, listings=listing_states, conditions=frozenset(conditions), fresh=True
    )


def replace_conditions(state: EngineState, conditions: frozenset[str]) -> EngineState:
    """The same state with another set of raised alert conditions."""
    return replace(state, conditions=conditions)


def replace_stock(state: EngineState, stock: Mapping[str, int]) -> EngineState:
    """The same state believing the sheet holds ``stock`` (start-up: oversold rows)."""
    return replace(state, stock=dict(stock))


def replace_listings(
    state: EngineState,
    listings: Mapping[tuple[str, str], ListingState],
    *,
    fresh: bool | None = None,
) -> EngineState:
    """The same state with other listing knowledge (``push --all`` forgets it all)."""
    return replace(state, listings=listings, fresh=state.fresh if fresh is None else fresh)
