"""Invariants of the engine for any order, duplication and mix of reports (hypothesis)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core import engine
from bot.core.domain import (
    DisplayRule,
    Movement,
    OrderLine,
    Product,
    PushResult,
    PushStatus,
    SetComponent,
    Snapshot,
)

NOW = datetime(2026, 11, 23, tzinfo=UTC)
SKUS = ("A", "B", "C")

line_reports = st.lists(
    st.tuples(
        st.sampled_from(["o1", "o2", "o3", "o4"]),
        st.sampled_from(["1", "2"]),
        st.sampled_from(SKUS),
        st.integers(min_value=0, max_value=4),
    ),
    max_size=25,
)


def products(stock: dict[str, int]) -> dict[str, Product]:
    return {s: Product(sku=s, stock=stock[s], codes={"rakuten": (f"{s.lower()}:v",)}) for s in SKUS}


@settings(max_examples=150, deadline=None)
@given(
    start=st.fixed_dictionaries({s: st.integers(0, 20) for s in SKUS}),
    cycles=st.lists(
        st.tuples(
            line_reports,
            st.lists(st.tuples(st.sampled_from(SKUS), st.integers(-5, 5).filter(bool)), max_size=2),
            st.one_of(st.none(), st.tuples(st.sampled_from(SKUS), st.integers(0, 30))),
        ),
        min_size=1,
        max_size=6,
    ),
    duplicate=st.booleans(),
)
def test_on_hand_equals_start_minus_applied_plus_movements(
    start: dict[str, int],
    cycles: list[
        tuple[list[tuple[str, str, str, int]], list[tuple[str, int]], tuple[str, int] | None]
    ],
    duplicate: bool,
) -> None:
    """on-hand = base − units applied to lines ± movements, where base is the last stocktake."""
    state = engine.EngineState()
    sheet = dict(start)
    base = dict(start)
    applied_since_base: dict[str, int] = dict.fromkeys(SKUS, 0)
    moved_since_base: dict[str, int] = dict.fromkeys(SKUS, 0)
    # The line's product is fixed by its first report (the code identifies it).
    line_sku: dict[tuple[str, str], str] = {}
    latest_units: dict[tuple[str, str], int] = {}
    mv_counter = 0
    for reports, movements, stocktake in cycles:
        if stocktake is not None:
            sku, value = stocktake
            sheet[sku] = value
            base[sku] = value
            applied_since_base[sku] = 0
            moved_since_base[sku] = 0
        lines = []
        for order, lid, sku, units in reports:
            sku = line_sku.setdefault((order, lid), sku)
            lines.append(
                OrderLine(
                    mall="rakuten",
                    order_id=order,
                    line_id=lid,
                    code=f"{sku.lower()}:v",
                    units=units,
                )
            )
        if duplicate:
            lines = lines + lines
        mvs = []
        for sku, qty in movements:
            mv_counter += 1
            mvs.append(Movement(key=f"m{mv_counter}", sku=sku, qty=qty))
        snapshot = Snapshot(products=products(sheet), movements=tuple(mvs))
        before_applied = {k: v.applied for k, v in state.lines.items()}
        plan = engine.step(state, snapshot, lines, NOW)
        state = engine.committed(plan)
        for key, ls in state.lines.items():
            sku = line_sku[(ls.order_id, ls.line_id)]
            applied_since_base[sku] += ls.applied - before_applied.get(key, 0)
        for key in set(before_applied) - set(state.lines):
            order, lid = key.split(":")[1:]
            applied_since_base[line_sku[(order, lid)]] -= before_applied[key]
        for sku, qty in movements:
            moved_since_base[sku] += qty
        sheet.update(plan.stock)
        for r in lines:
            latest_units[(r.order_id, r.line_id)] = r.units
        for sku in SKUS:
            assert sheet[sku] == base[sku] - applied_since_base[sku] + moved_since_base[sku]
    # Every line's applied units equal its latest report: nothing double counted.
    for (order, lid), units in latest_units.items():
        ls = state.lines.get(f"rakuten:{order}:{lid}")
        assert (ls.applied if ls else 0) == units


@given(stock=st.integers(-50, 50), rule=st.sampled_from(["", "+2", "-3", "5", "0", "+0"]))
def test_displayed_number_is_never_negative(stock: int, rule: str) -> None:
    assert DisplayRule.parse(rule).display(stock) >= 0


@settings(max_examples=100, deadline=None)
@given(
    stock=st.fixed_dictionaries({s: st.integers(-5, 30) for s in SKUS}),
    comps=st.lists(
        st.tuples(st.sampled_from(SKUS), st.integers(1, 6)),
        min_size=1,
        max_size=3,
        unique_by=lambda t: t[0],
    ),
    sold=st.integers(0, 5),
)
def test_set_never_shows_more_than_its_components_allow(
    stock: dict[str, int], comps: list[tuple[str, int]], sold: int
) -> None:
    prods = products(stock)
    prods["SET"] = Product(sku="SET", stock=0, codes={"rakuten": ("set:v",)})
    snapshot = Snapshot(
        products=prods,
        sets=tuple(SetComponent(set_sku="SET", component_sku=c, qty=q) for c, q in comps),
    )
    lines = (
        [OrderLine(mall="rakuten", order_id="o", line_id="1", code="set:v", units=sold)]
        if sold
        else []
    )
    plan = engine.step(engine.EngineState(), snapshot, lines, NOW)
    after = {**stock, **{k: v for k, v in plan.stock.items() if k in stock}}
    shown = {t.code: t.quantity for t in plan.targets}["set:v"]
    for sku, qty in comps:
        assert shown * qty <= max(after[sku], 0)
    assert shown >= 0


RAKUTEN_A, YAHOO_A = ("rakuten", "a:v"), ("yahoo", "a-y")


@dataclass
class _MallWithHolds:
    """One product on 楽天 and Yahoo, followed as 楽天 sees it and as the bot decides."""

    start: int
    state: engine.EngineState = field(default_factory=engine.EngineState)
    mall: int = 0
    """What 楽天 shows."""
    sheet: int = 0
    reports: dict[str, OrderLine] = field(default_factory=dict)
    """The latest report of every line the order API shows."""
    due: list[tuple[int, OrderLine, int]] = field(default_factory=list)
    """Lines the order API shows from a cycle on, with the units 楽天 took for them."""
    unseen: int = 0
    """Units 楽天 took that no line the bot has seen accounts for."""
    now: datetime = NOW
    cycles: int = 0

    def __post_init__(self) -> None:
        self.sheet = self.start

    def order(self, n: int, kind: str, units: int, delay: int) -> None:
        """A sale on 楽天 (its line seen at once, late or never), or a hand edit."""
        units = min(units, self.mall)
        if not units:
            return
        self.mall -= units  # a customer order or a hand edit: 楽天 lowers its number
        if kind == "hand":
            self.unseen += units
            return
        # A no-restock cancel seen only once cancelled: 楽天 keeps the units off.
        left = 0 if kind == "cancel_no_restock" else units
        ln = OrderLine(mall="rakuten", order_id=f"o{n}", line_id="1", code="a:v", units=left)
        if kind == "seen":
            self.reports[ln.key] = ln
            return
        self.unseen += units
        if kind != "never":
            self.due.append((self.cycles + 1 + delay, ln, units))

    def cycle(self, read: bool) -> None:
        """Lines that became visible, an optional read-back, the step, the pushes."""
        self.cycles += 1
        self.now += timedelta(minutes=5)
        for entry in [d for d in self.due if d[0] <= self.cycles]:
            self.reports[entry[1].key] = entry[1]
            self.unseen -= entry[2]
            self.due.remove(entry)
        if read and RAKUTEN_A in self.state.listings:
            self.state, _, _ = engine.detect_drift(self.state, {RAKUTEN_A: self.mall}, self.now)
        product = Product(sku="A", stock=self.sheet, codes={"rakuten": ("a:v",), "yahoo": ("a-y",)})
        plan = engine.step(
            self.state, Snapshot(products={"A": product}), list(self.reports.values()), self.now
        )
        self.sheet = plan.stock.get("A", self.sheet)
        seen = sum(ls.applied for ls in plan.next_state.lines.values())
        assert self.sheet == self.start - seen  # holds never touch on-hand
        assert all(t.quantity <= max(self.sheet, 0) for t in plan.targets)
        # Never held twice: a line that arrives replaces its part of the hold.
        assert sum(ls.short for ls in plan.next_state.listings.values()) <= self.unseen
        results = [PushResult(code=p.code, status=PushStatus.APPLIED) for p in plan.pushes]
        self.state, _, _ = engine.after_push(engine.committed(plan), plan.pushes, results, self.now)
        for p in plan.pushes:
            if (p.mall, p.code) == RAKUTEN_A:
                self.mall = p.quantity


@settings(max_examples=150, deadline=None)
@given(
    start=st.integers(0, 20),
    events=st.lists(
        st.tuples(
            st.sampled_from(["seen", "late", "never", "hand", "cancel_no_restock"]),
            st.integers(1, 3),
            st.integers(0, 4),  # cycles until a late order's line arrives
            st.booleans(),  # read back this cycle
        ),
        max_size=12,
    ),
)
def test_provisional_holds_never_change_on_hand_and_end_when_orders_arrive_or_time_out(
    start: int, events: list[tuple[str, int, int, bool]]
) -> None:
    """Holds lower what listings are offered, never on-hand; afterwards nothing is held.

    Sales whose lines arrive at once, late or never, hand edits lowering 楽天, cancels it
    does not restock, read-backs every so often. Each cycle on-hand is start − units of
    the lines seen, no listing is offered more than on-hand, and no more is held than
    楽天 took without a line to show for it. Once every line has
    arrived and the time-out has passed, nothing is held and 楽天 shows its target.
    """
    shop = _MallWithHolds(start)
    shop.cycle(read=False)
    for n, (kind, units, delay, read) in enumerate(events):
        shop.order(n, kind, units, delay)
        shop.cycle(read)
    for _ in range(10):  # 50 minutes: every late line arrives, every hold times out
        shop.cycle(read=True)

    assert not shop.due
    assert all(ls.short == 0 and ls.drifted == 0 for ls in shop.state.listings.values())
    assert engine.stuck_units(shop.state, shop.now, engine.SHORTFALL_TIMEOUT) == 0
    want = max(shop.sheet, 0)
    assert shop.mall == shop.state.listings[RAKUTEN_A].expected == want
    assert shop.state.listings[YAHOO_A].expected == want
