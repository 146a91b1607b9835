"""The pure engine: plain values in, plan out. No fakes needed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.core import engine
from bot.core.domain import (
    AlertKind,
    DisplayRule,
    MallSettings,
    Movement,
    OrderLine,
    Product,
    PushResult,
    PushStatus,
    SaleKind,
    SetComponent,
    ShopSettings,
    Snapshot,
)

NOW = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)


def product(sku: str, stock: int, **kw: object) -> Product:
    codes = kw.pop("codes", {"rakuten": (f"{sku.lower()}:v",)})
    return Product(sku=sku, stock=stock, codes=codes, **kw)  # type: ignore[arg-type]


def snap(*products: Product, **kw: object) -> Snapshot:
    return Snapshot(products={p.sku: p for p in products}, **kw)  # type: ignore[arg-type]


def line(
    order: str, units: int, code: str = "a:v", mall: str = "rakuten", lid: str = "1"
) -> OrderLine:
    return OrderLine(mall=mall, order_id=order, line_id=lid, code=code, units=units)


def run(
    state: engine.EngineState,
    snapshot: Snapshot,
    lines: list[OrderLine] | None = None,
    at: datetime = NOW,
):
    if lines is None:
        lines = []
    plan = engine.step(state, snapshot, lines, at)
    return plan, engine.committed(plan)


def sheet_after(snapshot: Snapshot, plan: engine.Plan) -> Snapshot:
    """The snapshot the next cycle would read if staff changed nothing."""
    products = {
        sku: replace(p, stock=plan.stock.get(sku, p.stock)) for sku, p in snapshot.products.items()
    }
    return snapshot.model_copy(update={"products": products, "movements": ()})


def test_startup_takes_sheet_as_truth_and_pushes_everything() -> None:
    s = snap(product("A", 5), product("B", 0))
    plan, _ = run(engine.EngineState(), s)
    assert plan.stock == {}
    assert plan.ops_log == ()
    assert {(p.code, p.quantity) for p in plan.pushes} == {("a:v", 5), ("b:v", 0)}


def test_sale_then_same_report_again_changes_nothing() -> None:
    s = snap(product("A", 5))
    plan, state = run(engine.EngineState(), s, [line("o1", 2)])
    assert plan.stock == {"A": 3}
    assert [r.kind for r in plan.sales_log] == [SaleKind.SALE]
    assert plan.sales_log[0].qty == -2 and plan.sales_log[0].applied == 2
    state = engine.after_push(
        state,
        plan.pushes,
        [PushResult(code=p.code, status=PushStatus.APPLIED) for p in plan.pushes],
        NOW,
    )[0]
    s2 = sheet_after(s, plan)
    plan2, _ = run(state, s2, [line("o1", 2)])
    assert plan2.stock == {} and plan2.sales_log == () and plan2.pushes == ()


def test_partial_cancel_returns_exactly_the_units_taken_back() -> None:
    s = snap(product("A", 5))
    plan, state = run(engine.EngineState(), s, [line("o1", 3)])
    s = sheet_after(s, plan)
    plan, state = run(state, s, [line("o1", 1)])
    assert plan.stock == {"A": 4}
    assert plan.sales_log[0].kind is SaleKind.CHANGE and plan.sales_log[0].qty == 2
    s = sheet_after(s, plan)
    plan, state = run(state, s, [line("o1", 0)])
    assert plan.stock == {"A": 5}
    assert plan.sales_log[0].kind is SaleKind.CANCEL


def test_cancel_before_its_sale_changes_nothing() -> None:
    s = snap(product("A", 5))
    plan, _ = run(engine.EngineState(), s, [line("o1", 0)])
    assert plan.stock == {} and plan.sales_log == ()


def test_stocktake_then_orders_of_the_same_cycle_are_subtracted() -> None:
    s = snap(product("A", 5))
    plan, state = run(engine.EngineState(), s)
    s = s.model_copy(update={"products": {"A": product("A", 20)}})
    plan, state = run(state, s, [line("o1", 1)])
    assert plan.stock == {"A": 19}
    assert [r.kind for r in plan.ops_log] == ["棚卸"]


def test_movement_applied_once_and_marked() -> None:
    mv = Movement(key="m1", sku="A", qty=10, kind="入荷", row=2)
    s = snap(product("A", 5), movements=(mv,))
    plan, _ = run(engine.EngineState(), s)
    assert plan.stock == {"A": 15}
    assert plan.movement_marks["m1"].startswith("済")


def test_movement_for_unknown_product_is_a_problem_and_changes_nothing() -> None:
    mv = Movement(key="m1", sku="ZZ", qty=10, kind="入荷", row=4)
    s = snap(product("A", 5), movements=(mv,))
    plan, _ = run(engine.EngineState(), s)
    assert plan.stock == {}
    assert plan.movement_marks["m1"].startswith("エラー")
    assert any("ZZ" in p.message for p in plan.problems)
    assert any(a.kind is AlertKind.ROW_PROBLEM for a in plan.alerts)


def test_unassigned_line_applied_once_code_is_added() -> None:
    s = snap(product("A", 5))
    plan, state = run(engine.EngineState(), s, [line("o1", 1, code="x:v")])
    assert plan.stock == {}
    assert plan.sales_log[0].kind is SaleKind.UNASSIGNED
    assert [a.kind for a in plan.alerts] == [AlertKind.UNASSIGNED]
    # Next cycle, same report: no second log row, no second alert.
    plan, state = run(state, sheet_after(s, plan), [line("o1", 1, code="x:v")])
    assert plan.sales_log == () and plan.alerts == ()
    # Staff add the code: applied without a new report.
    s2 = snap(product("A", 5, codes={"rakuten": ("a:v", "x:v")}))
    plan, state = run(state, s2, [])
    assert plan.stock == {"A": 4}
    assert plan.sales_log[0].kind is SaleKind.SALE


def test_set_sale_decrements_components_and_set_shows_min() -> None:
    s = snap(
        product("A", 10),
        product("B", 4),
        product("SET", 0, codes={"rakuten": ("set:v",)}),
        sets=(
            SetComponent(set_sku="SET", component_sku="A", qty=2),
            SetComponent(set_sku="SET", component_sku="B", qty=1),
        ),
    )
    plan, _ = run(engine.EngineState(), s, [line("o1", 1, code="set:v")])
    assert plan.stock == {"A": 8, "B": 3, "SET": 3}
    assert {r.sku for r in plan.sales_log} == {"A", "B"}
    assert {r.key for r in plan.sales_log} == {"rakuten:o1:1"}
    targets = {t.code: t.quantity for t in plan.targets}
    assert targets["set:v"] == 3


def test_case_of_six() -> None:
    s = snap(
        product("A", 13),
        product("CASE", 0, codes={"rakuten": ("case:v",)}),
        sets=(SetComponent(set_sku="CASE", component_sku="A", qty=6),),
    )
    plan, _ = run(engine.EngineState(), s)
    assert plan.stock == {"CASE": 2}


def test_bad_sets_are_problems() -> None:
    s = snap(
        product("A", 1),
        product("S1", 0),
        product("S2", 0),
        product("S3", 0),
        sets=(
            SetComponent(set_sku="S1", component_sku="MISSING", qty=1, row=2),
            SetComponent(set_sku="S2", component_sku="S2", qty=1, row=3),
            SetComponent(set_sku="S3", component_sku="S4", qty=1, row=4),
            SetComponent(set_sku="S4", component_sku="S3", qty=1, row=5),
        ),
    )
    plan, _ = run(engine.EngineState(), s)
    bad = {p.sku for p in plan.problems}
    assert {"S1", "S2", "S3"} <= bad
    assert {p.code for p in plan.pushes} == {"a:v"}


def test_staff_edit_of_set_stock_is_ignored_with_status() -> None:
    base = snap(
        product("A", 4),
        product("SET", 4, codes={"rakuten": ("set:v",)}),
        sets=(SetComponent(set_sku="SET", component_sku="A", qty=1),),
    )
    plan, state = run(engine.EngineState(), base)
    edited = base.model_copy(
        update={
            "products": {**base.products, "SET": product("SET", 99, codes={"rakuten": ("set:v",)})}
        }
    )
    plan, _ = run(state, edited)
    assert plan.stock == {"SET": 4}
    assert "無視" in plan.statuses["SET"]


def test_display_rules() -> None:
    assert DisplayRule.parse("").display(5) == 5
    assert DisplayRule.parse("+3").display(5) == 8
    assert DisplayRule.parse("-3").display(2) == 0
    assert DisplayRule.parse("3").display(5) == 3
    assert DisplayRule.parse("3").display(-2) == 0


def test_mall_default_rule_and_switches() -> None:
    settings = ShopSettings(
        malls={
            "rakuten": MallSettings(default_rule=DisplayRule.parse("-1")),
            "yahoo": MallSettings(push_stock=False),
        }
    )
    p = product("A", 5, codes={"rakuten": ("a:v",), "yahoo": ("a",)})
    plan, _ = run(engine.EngineState(), snap(p, settings=settings))
    assert [(x.mall, x.quantity) for x in plan.pushes] == [("rakuten", 4)]
    plan, _ = run(
        engine.EngineState(), snap(p, settings=ShopSettings(sync_enabled=False)), [line("o", 1)]
    )
    assert plan.pushes == () and plan.stock == {"A": 4}


def test_sync_off_product_not_pushed_and_backorder_flag() -> None:
    off = product("A", 5, sync=False)
    bo = product("B", 0, backorder=True)
    plan, _ = run(engine.EngineState(), snap(off, bo))
    assert [(p.code, p.quantity, p.backorder) for p in plan.pushes] == [("b:v", 0, True)]


def test_oversell_alerts_once_and_backorder_is_not_oversell() -> None:
    s = snap(product("A", 1), product("B", 0, backorder=True))
    plan, state = run(engine.EngineState(), s, [line("o1", 2), line("o2", 1, code="b:v")])
    kinds = {a.kind for a in plan.alerts}
    assert AlertKind.OVERSELL in kinds and AlertKind.BACKORDER in kinds
    assert plan.statuses["A"].startswith("売り越し")
    plan, _ = run(state, sheet_after(s, plan), [line("o3", 1)])
    assert AlertKind.OVERSELL not in {a.kind for a in plan.alerts}


def test_low_stock_crossing_alerts_once_and_rearms() -> None:
    s = snap(product("A", 5, low_stock=3))
    plan, state = run(engine.EngineState(), s, [line("o1", 2)])
    assert [a.kind for a in plan.alerts] == [AlertKind.LOW_STOCK]
    s = sheet_after(s, plan)
    plan, state = run(state, s, [line("o1", 2), line("o2", 1, lid="2")])
    assert plan.alerts == ()
    s = sheet_after(s, plan)
    plan, state = run(
        state, s.model_copy(update={"products": {"A": product("A", 10, low_stock=3)}})
    )
    assert plan.alerts == ()
    plan, state = run(state, snap(product("A", 2, low_stock=3)))
    assert [a.kind for a in plan.alerts] == [AlertKind.LOW_STOCK]


def test_pushes_are_minimal_after_start() -> None:
    s = snap(product("A", 5), product("B", 5))
    plan, state = run(engine.EngineState(), s)
    state, logs, _ = engine.after_push(
        state,
        plan.pushes,
        [PushResult(code=p.code, status=PushStatus.APPLIED) for p in plan.pushes],
        NOW,
    )
    assert len(logs) == 2
    plan, _ = run(state, s, [line("o1", 1)])
    assert [(p.code, p.quantity) for p in plan.pushes] == [("a:v", 4)]


def test_resend_tick_pushes_again() -> None:
    s = snap(product("A", 5))
    plan, state = run(engine.EngineState(), s)
    state, _, _ = engine.after_push(
        state, plan.pushes, [PushResult(code="a:v", status=PushStatus.APPLIED)], NOW
    )
    plan, _ = run(state, s.model_copy(update={"resend": frozenset({("rakuten", "a:v")})}))
    assert [p.code for p in plan.pushes] == ["a:v"]


def test_rejected_push_alerts_once_and_is_not_resent_every_cycle() -> None:
    s = snap(product("A", 5))
    plan, state = run(engine.EngineState(), s)
    state, _, alerts = engine.after_push(
        state, plan.pushes, [PushResult(code="a:v", status=PushStatus.UNKNOWN_CODE)], NOW
    )
    assert [a.kind for a in alerts] == [AlertKind.PUSH_REJECTED]
    plan, _ = run(state, s)
    assert plan.pushes == ()


def test_invalid_rows_never_change_and_hold_their_orders() -> None:
    s = snap(product("A", 5), invalid_skus=frozenset({"B"}))
    plan, _state = run(engine.EngineState(), s, [line("o1", 1, code="b:v")])
    assert plan.stock == {}
    assert plan.sales_log[0].kind is SaleKind.UNASSIGNED
    assert "B" in plan.statuses


def test_rebuild_from_ledger_then_restart_is_harmless() -> None:
    s = snap(product("A", 5))
    plan, _ = run(engine.EngineState(), s, [line("o1", 2), line("o2", 1, code="zz:v")])
    ledger = [
        engine.LedgerEntry(
            key=r.key,
            mall=r.mall,
            order_id=r.order_id,
            line_id=r.line_id,
            code=r.code,
            sku=r.sku,
            kind=r.kind,
            qty=r.qty,
            applied=r.applied,
            at=r.at,
        )
        for r in plan.sales_log
    ]
    state = engine.rebuild(ledger)
    s = sheet_after(s, plan)
    plan2, state = run(state, s, [line("o1", 2), line("o2", 1, code="zz:v")])
    assert plan2.stock == {} and plan2.sales_log == ()
    plan3, _ = run(state, sheet_after(s, plan2), [line("o1", 0)])
    assert plan3.stock == {"A": 5}


def test_pending_line_cancelled_before_assignment_is_closed_in_ledger() -> None:
    s = snap(product("A", 5))
    plan, state = run(engine.EngineState(), s, [line("o1", 1, code="x:v")])
    plan, state = run(state, s, [line("o1", 0, code="x:v")])
    assert [r.kind for r in plan.sales_log] == [SaleKind.CANCEL]
    assert not any(ls.pending for ls in state.lines.values())


def test_old_lines_are_forgotten_after_the_window() -> None:
    s = snap(product("A", 5))
    plan, state = run(engine.EngineState(), s, [line("o1", 1)])
    assert state.lines
    later = NOW + timedelta(days=61)
    plan, state = run(state, sheet_after(s, plan), [], at=later)
    assert not state.lines


def test_a_refused_push_that_lands_later_is_announced_once() -> None:
    s = snap(product("A", 5))
    plan, state = run(engine.EngineState(), s)
    refused = [PushResult(code="a:v", status=PushStatus.REJECTED, message="x")]
    state, _, alerts = engine.after_push(state, plan.pushes, refused, NOW)
    assert [(a.kind, a.sku, a.code) for a in alerts] == [(AlertKind.PUSH_REJECTED, "A", "a:v")]
    applied = [PushResult(code="a:v", status=PushStatus.APPLIED)]
    state, _, alerts = engine.after_push(state, plan.pushes, applied, NOW)
    assert [(a.kind, a.sku, a.code) for a in alerts] == [(AlertKind.RESOLVED, "A", "a:v")]
    state, _, alerts = engine.after_push(state, plan.pushes, applied, NOW)
    assert alerts == []


def test_stock_alerts_carry_the_products_name_and_row_and_say_what_to_do() -> None:
    plan, _ = run(engine.EngineState(), snap(replace(product("A", 0), row=7)))
    (out,) = [a for a in plan.alerts if a.kind is AlertKind.OUT_OF_STOCK]
    assert out.row == 7 and out.sku == "A"
    assert "入出庫" in out.text  # what to do when it arrives


def test_a_set_whose_own_row_has_a_problem_waits_for_the_fix() -> None:
    """The set's row is invalid (a typo in its 表示在庫設定): the set is not synced, its
    orders wait as 保留, its components go on as usual — no cycle fails on it."""
    sheet = snap(
        product("A", 5),
        invalid_skus=frozenset({"KIT"}),
        sets=(SetComponent(set_sku="KIT", component_sku="A", qty=1),),
        held_codes={"rakuten": {"kit:v": "KIT"}},
    )
    plan = engine.step(engine.EngineState(), sheet, [line("o1", 1, code="kit:v")], NOW)
    assert plan.stock == {}  # neither the set nor its component moves
    assert [(t.sku, t.quantity) for t in plan.targets] == [("A", 5)]
    assert [(r.kind, r.sku) for r in plan.sales_log] == [(SaleKind.HELD, "KIT")]
    fixed = snap(product("A", 5), product("KIT", 0), sets=sheet.sets)
    after = engine.step(engine.committed(plan), fixed, [], NOW)
    assert [(r.kind, r.sku, r.qty) for r in after.sales_log] == [(SaleKind.SALE, "A", -1)]
    assert after.stock == {"A": 4, "KIT": 4}


def test_a_new_lines_key_is_one_string_in_the_ledger_and_its_expiry_book() -> None:
    """The ledger keeps every line of the cancellation window (120,000 an hour at 100k
    products): the mapping and the expiry book hold the same key string, not two."""
    s = snap(product("A", 5), product("B", 5, codes={"rakuten": ("b:v",)}))
    plan, state = run(engine.EngineState(), s, [line("o1", 1)])
    plan, state = run(
        state, sheet_after(s, plan), [line("o2", 1, "b:v")], NOW + timedelta(seconds=15)
    )
    assert state.memo is not None
    book = state.memo.lines
    keys = {k: k for k in state.lines}
    assert sorted(keys) == ["rakuten:o1:1", "rakuten:o2:1"]
    assert [key for _, key in book.expiry] == ["rakuten:o1:1", "rakuten:o2:1"]
    assert all(keys[key] is key for _, key in book.expiry)


def test_a_lines_code_in_the_ledger_is_the_catalogues_string() -> None:
    """The mall's answer gives each line a code string of its own; the ledger keeps the
    product's (one string for both over the cancellation window), also when re-reported."""
    listed = "".join(["b", ":v"])  # built at run time: never the literal's object
    s = snap(product("A", 5), product("B", 5, codes={"rakuten": (listed,)}))
    reported = "".join(["b:", "v"])
    assert reported == listed and reported is not listed
    plan, state = run(engine.EngineState(), s, [line("o1", 2, reported)])
    assert state.lines["rakuten:o1:1"].code is listed
    later = NOW + timedelta(seconds=15)
    again = "".join(["b:", "v"])
    plan, state = run(state, sheet_after(s, plan), [line("o1", 1, again)], later)
    kept = state.lines["rakuten:o1:1"]
    assert (kept.code, kept.reported, kept.applied) == ("b:v", 1, 1)
    assert kept.code is listed


def test_the_expiry_book_keeps_the_ledgers_own_times_and_keys_and_no_pairs() -> None:
    """Two flat tuples of the lines' own objects: no (seen_at, key) object per line."""
    s = snap(product("A", 5), product("B", 5, codes={"rakuten": ("b:v",)}))
    plan, state = run(engine.EngineState(), s, [line("o1", 1)])
    later = NOW + timedelta(seconds=15)
    plan, state = run(state, sheet_after(s, plan), [line("o2", 1, "b:v")], later)
    assert state.memo is not None
    book = state.memo.lines
    assert book.keys == ("rakuten:o1:1", "rakuten:o2:1")
    for when, key in zip(book.times, book.keys, strict=True):
        assert when is state.lines[key].seen_at
    assert book.expiry == tuple(zip(book.times, book.keys, strict=True))
