"""_state's negative stocks are found from what changed between successive states.

``NegativeStocks`` (bot/shell/state_rows.py) answers ``{sku: qty for sku, qty in
stock.items() if qty < 0}`` for each cycle's next stock; for stocks on the same layered
base it looks only at the keys ``keys_apart`` names. The property holds it to the plain
filter over chains of overlays, folds, plain dicts and states handed in out of order;
the pin holds that the usual successive states are not walked whole.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.engine.layered import Layered, Overlay, keys_apart
from bot.shell.state_rows import NegativeStocks

KEYS = st.sampled_from([f"s{i}" for i in range(10)])
QTYS = st.integers(-3, 3)
STEP = st.lists(
    st.one_of(
        st.tuples(st.just("set"), KEYS, QTYS),
        st.tuples(st.just("del"), KEYS, st.just(0)),
    ),
    max_size=6,
)
CHAIN = st.lists(
    st.tuples(STEP, st.sampled_from(["layer", "fold", "dict", "older"])), min_size=1, max_size=25
)


def _negative(stock: Mapping[str, int]) -> dict[str, int]:
    return {sku: qty for sku, qty in stock.items() if qty < 0}


@given(start=st.dictionaries(KEYS, QTYS), chain=CHAIN)
def test_negative_stocks_equal_the_plain_filter(
    start: dict[str, int], chain: list[tuple[list[tuple[str, str, int]], str]]
) -> None:
    negatives = NegativeStocks()
    states: list[Mapping[str, int]] = [Layered(start)]
    assert negatives(states[0]) == _negative(start)
    for ops, kind in chain:
        before = states[-1] if kind != "older" else states[len(states) // 2]
        overlay = Overlay(before)
        for op, sku, qty in ops:
            if op == "set":
                overlay[sku] = qty
            elif sku in overlay:
                del overlay[sku]
        nxt: Mapping[str, int] = overlay.freeze(fold_min=1 if kind == "fold" else 10**6)
        if kind == "dict":
            nxt = dict(nxt)
        apart = keys_apart(before, nxt)
        if apart is not None:  # the keys it leaves out hold the same value in both
            for sku in {*before, *nxt} - apart:
                assert before.get(sku) == nxt.get(sku)
        assert negatives(nxt) == _negative(nxt)
        states.append(nxt)


def test_successive_states_on_one_base_are_not_walked_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The worker's usual cycle: the next stock is an overlay of the last one, frozen
    on the same base (tests/unit/test_engine_layered.py pins that the step keeps it)."""
    base = Layered({f"s{i}": (i % 7) - 2 for i in range(200)})
    negatives = NegativeStocks()
    assert negatives(base) == _negative(base)
    overlay = Overlay(base)
    overlay["s3"], overlay["s4"] = 5, -9
    del overlay["s0"]
    nxt = overlay.freeze()
    assert keys_apart(base, nxt) == {"s0", "s3", "s4"}

    def walked(self: object) -> None:
        raise AssertionError("the whole stock was walked")

    monkeypatch.setattr(Layered, "items", walked)
    got = negatives(nxt)
    monkeypatch.undo()
    assert got == _negative(nxt)
    assert got["s4"] == -9 and "s0" not in got and "s3" not in got
