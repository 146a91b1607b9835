"""Invariants of the engine for any order, duplication and mix of reports (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core import engine
from bot.core.domain import DisplayRule, Movement, OrderLine, Product, SetComponent, Snapshot

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
