"""``_span`` narrowed by the book's marks finds what the plain bisection finds (hypothesis).

A step finds a sku's targets in ``TargetBook.flat`` (sorted by sku) by bisection; the
book's ``marks`` (every ``MARK_STRIDE``-th target's sku) narrow it to one stride first.
The plain bisection over the whole of ``flat`` is the oracle. The marks are handed on
from step to step while no sku's targets move (pinned below).
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core import engine
from bot.core.domain import ListingTarget
from bot.core.engine import listings
from tests.unit.test_engine_incremental import NOW, SKUS, _product, _Sheet, one_unit_on_a

NAMES = st.text(alphabet="abcde", min_size=1, max_size=3)


@settings(max_examples=400, deadline=None)
@given(
    counts=st.dictionaries(NAMES, st.integers(1, 3), max_size=120),
    probes=st.lists(NAMES, max_size=20),
    stride=st.sampled_from([1, 2, 3, 32]),
)
def test_a_span_found_through_the_marks_is_the_plain_bisections(
    counts: dict[str, int], probes: list[str], stride: int
) -> None:
    flat = tuple(
        ListingTarget(mall="m", code=f"{sku}-{n}", sku=sku, quantity=0)
        for sku in sorted(counts)
        for n in range(counts[sku])
    )
    marks = tuple(t.sku for t in flat[::stride])
    saved = listings.MARK_STRIDE
    listings.MARK_STRIDE = stride
    try:
        for sku in [*probes, *counts]:
            assert listings._span(flat, sku, marks) == listings._span(flat, sku), sku
    finally:
        listings.MARK_STRIDE = saved


def test_the_usual_step_hands_the_marks_on() -> None:
    """Orders move stock but no sku's targets: the next book keeps the very marks."""
    sheet = _Sheet(rows={s: _product(s, 50, i + 2) for i, s in enumerate(SKUS)})
    state, now, books = engine.EngineState(), NOW, []
    for order in range(5):
        now += timedelta(seconds=15)
        line = one_unit_on_a(order, now)
        plan = engine.step(state, sheet.snapshot(reparse=False), [line], now)
        sheet.land(plan)
        state = engine.committed(plan)
        assert state.memo is not None
        books.append(state.memo.targets)
    assert books[-1].marks is not None
    assert books[-1].marks is books[-2].marks is books[-3].marks
    assert books[-1].marks == listings._marks(books[-1].flat)
