"""A product with one listing decided again hashes no target (listings.py).

A ``ListingTarget``'s hash costs most of the ~6 µs a product's targets took to compare
with the last step's (``_kept`` and the changed keys), ~1,000 products a cycle at 100k.
With one listing on each side, the new target either is the old one or differs: what
the comparison by value gives (hypothesis, against it), and the usual step takes it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core import engine
from bot.core.domain import ListingTarget, PushReason
from bot.core.engine.listings import _differing, _kept
from tests.unit.test_engine_fast_paths import _snapshot, _steady

targets = st.builds(
    ListingTarget,
    mall=st.sampled_from(("rakuten", "yahoo")),
    code=st.sampled_from(("a", "b", "c")),
    sku=st.just("P"),
    quantity=st.integers(0, 2),
    reason=st.sampled_from((PushReason.RULE, PushReason.STOPPED)),
    backorder=st.booleans(),
)


def _kept_by_value(
    before: tuple[ListingTarget, ...], found: tuple[ListingTarget, ...]
) -> tuple[ListingTarget, ...]:
    if before == found:
        return before
    by_value = {t: t for t in before}
    return tuple(by_value.get(t, t) for t in found)


@settings(max_examples=500, deadline=None)
@given(st.lists(targets, max_size=4), st.data())
def test_one_listing_gives_what_the_comparison_by_value_gives(
    before_list: list[ListingTarget], data: st.DataObject
) -> None:
    before = tuple(before_list)
    if before and data.draw(st.booleans()):  # the same listings, a quantity changed
        found_list = [replace(b, quantity=data.draw(st.integers(0, 2))) for b in before]
    else:
        found_list = data.draw(st.lists(targets, max_size=4))
    found = tuple(
        ListingTarget(t.mall, t.code, t.sku, t.quantity, t.reason, t.backorder) for t in found_list
    )  # fresh objects, as a decision makes

    kept = _kept(before, found)
    want = _kept_by_value(before, found)
    assert kept == want and all(a is b for a, b in zip(kept, want, strict=True))
    assert set(_differing(before, kept)) == {t.key for t in set(before) ^ set(kept)}


def test_a_steady_step_with_a_stock_change_hashes_no_target(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state, snapshot, now = _steady()
    stock = {s: p.stock for s, p in snapshot.products.items()}
    stock["P03"] = 2
    edited = _snapshot(stock)
    later = now + timedelta(seconds=15)
    want = engine.step(state, edited, [], later)

    def unhashable(_: ListingTarget) -> int:
        raise AssertionError("a target was hashed")

    monkeypatch.setattr(ListingTarget, "__hash__", unhashable)
    plan = engine.step(state, edited, [], later)

    assert plan.targets == want.targets and plan.pushes == want.pushes
    assert plan.changed_targets is not None
    assert plan.changed_targets.keys == {("rakuten", "r-p03")}
