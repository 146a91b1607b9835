"""A step takes the rows that changed from what the parse says (``ProductMap.since``).

At 100,000 products, comparing the snapshot's products with the memo's, row by row,
costs ~10 ms a cycle in cache misses alone. A parse's ``ProductMap`` names the skus that
may have changed since the maps it handed out before, and ``memo.changed_products``
compares only those. Here: it finds what the full comparison finds whenever the claim
holds (hypothesis), whole shops decide with claims what they decide from scratch, the
parser's claims hold through random edits, and the usual cycle takes the short way.
"""

from __future__ import annotations

import weakref
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core import engine
from bot.core.domain import Product, ProductMap, Snapshot
from bot.core.engine import memo as memo_module
from bot.core.engine.memo import changed_keys, changed_products
from bot.infra.sheet.parse_products import ProductsMemo
from tests.unit.test_engine_incremental import (
    EDITS,
    NOW,
    SKUS,
    STEPS,
    _from_scratch,
    _lines,
    _product,
    _same,
    _Sheet,
    _started,
    _worker,
)
from tests.unit.test_layout import HEAD, SET_HEAD, parse, prow

KEYS = ("A", "B", "C", "D", "E", "F")


def _common_order_kept(old: dict[str, Any], new: dict[str, Any]) -> bool:
    return [k for k in old if k in new] == [k for k in new if k in old]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(KEYS), unique=True),
    st.lists(st.tuples(st.sampled_from(("set", "drop", "same")), st.sampled_from(KEYS))),
    st.sets(st.sampled_from((*KEYS, "Z"))),
)
def test_the_claimed_rows_give_what_comparing_every_row_gives(
    keys: list[str], edits: list[tuple[str, str]], extra: set[str]
) -> None:
    old = ProductMap({k: Product(sku=k) for k in keys})
    new = dict(old)
    for what, key in edits:
        if what == "set":
            new[key] = Product(sku=key)  # replaced in place, or added at the end
        elif what == "drop":
            new.pop(key, None)
    full, same_order = changed_keys(old, new)
    claim = frozenset(full) | extra  # a claim may name rows that did not change
    # A parse claims nothing across a rebuild (its rows' order is not kept then).
    kept = _common_order_kept(old, new)
    told = ProductMap(new, since=((weakref.ref(old), claim),) if kept else ())

    got, got_order = changed_products(old, told)

    assert sorted(got) == sorted(full)
    assert got_order == same_order


def test_a_claim_about_another_map_is_not_taken() -> None:
    old = ProductMap({"A": Product(sku="A")})
    other = ProductMap(old)
    told = ProductMap({"A": Product(sku="A")}, since=((weakref.ref(other), frozenset()),))
    assert changed_products(old, told) == (["A"], True)  # compared row by row


class _Told(_Sheet):
    """A sheet whose snapshots say what changed since the ones before (as a parse does)."""

    handed: list[ProductMap]
    extra: set[str]

    def snapshot(self, reparse: bool) -> Snapshot:
        snap = super().snapshot(reparse)
        products = ProductMap(snap.products)
        since = []
        for old in reversed(self.handed[-3:]):
            if not _common_order_kept(old, products):
                break  # a parse claims nothing across a rebuild
            since.append((weakref.ref(old), frozenset(changed_keys(old, products)[0]) | self.extra))
        products.since = tuple(since)
        self.handed.append(products)
        return snap.model_copy(update={"products": products})


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_steps_on_claimed_products_decide_what_a_step_from_scratch_decides(
    data: st.DataObject,
) -> None:
    """The shop of test_engine_incremental, its snapshots saying what changed."""
    stock = data.draw(st.lists(st.integers(0, 20), min_size=len(SKUS), max_size=len(SKUS)))
    sheet = _Told(
        rows={s: _product(s, n, i + 2) for i, (s, n) in enumerate(zip(SKUS, stock, strict=True))}
    )
    sheet.handed, sheet.extra = [], set(data.draw(st.sets(st.sampled_from((*SKUS, "Z")))))
    state = _started(data)
    now = NOW
    for _cycle in range(data.draw(st.integers(1, 8))):
        for _ in range(data.draw(st.integers(0, 3))):
            edit = data.draw(st.sampled_from(EDITS))
            edit(sheet, data.draw(st.sampled_from(SKUS)), data)
        now += data.draw(st.sampled_from(STEPS))
        lines = _lines(data, now)
        snapshot = sheet.snapshot(reparse=data.draw(st.booleans()))
        kw: dict[str, Any] = {"orders_from": None, "pending_window": timedelta(days=60)}
        plan = engine.step(state, snapshot, lines, now, **kw)
        _same(plan, _from_scratch(state, snapshot, lines, now, kw), snapshot.invalid_skus)
        if data.draw(st.integers(0, 4)) == 0:
            continue  # the commit failed: the next snapshot's claim is two maps back
        sheet.land(plan)
        state = _worker(state, plan, data, now)
        sheet.resend = frozenset()


# --------------------------------------------------------------------------- the parser


def _row(sku: str, stock: Any, code: str) -> list[Any]:
    return prow(sku=sku, name=f"商品{sku}", stock=stock, code_rakuten=code)


ROWS = st.lists(
    st.tuples(
        st.sampled_from(("A", "B", "C", "D", "")),
        st.sampled_from((3, 5, -1, "abc", "")),
        st.sampled_from(("a:1", "b:1", "c:1", "a:1", "bad code", "")),
    ),
    max_size=6,
)


SETS = st.lists(  # a set whose definition is broken leaves its row out of the products
    st.tuples(st.sampled_from(("C", "D")), st.sampled_from(("A", "B")), st.sampled_from((1, 0))),
    max_size=2,
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(ROWS, st.booleans(), st.sets(st.integers(0, 5)), SETS), min_size=1))
def test_what_a_parse_claims_changed_holds(
    steps: list[tuple[list[tuple[str, Any, str]], bool, set[int], list[Any]]],
) -> None:
    memo = ProductsMemo()
    kept: list[ProductMap] = []  # every map stays alive: each claim is checked
    grid: list[list[Any]] = []
    for rows, whole, edited, sets in steps:
        if whole:  # a new grid, rows in any order
            grid = [_row(*r) for r in rows]
        else:  # the grid cache's way: unchanged rows are the same lists
            grid = [
                _row(*rows[i]) if i in edited and i < len(rows) else r for i, r in enumerate(grid)
            ]
        values = {"products": [HEAD, *grid], "sets": [SET_HEAD, *(list(r) for r in sets)]}
        products = parse(values, memo=memo).snapshot.products
        assert isinstance(products, ProductMap)
        for ref, claim in products.since:
            old = ref()
            assert old is not None and any(old is k for k in kept[-3:])
            assert set(changed_keys(old, products)[0]) <= claim
            assert _common_order_kept(old, products)
        kept.append(products)


def test_a_stock_edit_claims_its_row_alone_since_the_last_parses() -> None:
    memo = ProductsMemo()
    grid = [_row(s, 5, f"{s.lower()}:1") for s in "ABCDE"]
    first = parse({"products": [HEAD, *grid]}, memo=memo).snapshot.products
    grid[1] = _row("B", 4, "b:1")
    second = parse({"products": [HEAD, *grid]}, memo=memo).snapshot.products
    grid[3] = _row("D", 2, "d:1")
    third = parse({"products": [HEAD, *grid]}, memo=memo).snapshot.products
    assert isinstance(third, ProductMap)
    assert [(ref(), claim) for ref, claim in third.since] == [
        (second, {"D"}),
        (first, {"B", "D"}),
    ]


# --------------------------------------------------------------------------- the usual step


def test_the_usual_step_compares_only_the_rows_the_parse_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    memo = ProductsMemo()
    grid = [_row(s, 5, f"{s.lower()}:1") for s in "ABCDE"]
    first = parse({"products": [HEAD, *grid]}, memo=memo).snapshot
    state = engine.committed(engine.step(engine.EngineState(), first, [], NOW))
    grid[2] = _row("C", 1, "c:1")
    second = parse({"products": [HEAD, *grid]}, memo=memo).snapshot
    now = NOW + timedelta(seconds=15)
    want = _from_scratch(state, second, [], now, {})

    def whole(*_: object) -> None:
        raise AssertionError("compared every row")

    monkeypatch.setattr(memo_module, "changed_keys", whole)
    plan = engine.step(state, second, [], now)

    _same(plan, want, second.invalid_skus)
    assert plan.stock == {}  # staff's 1 is what the sheet holds: nothing to write
    assert [t.quantity for t in plan.targets if t.sku == "C"] == [1]
