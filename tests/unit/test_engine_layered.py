"""Layered mappings (engine/layered.py) behave as dicts, and an old one never changes.

The ledger's lines live in a ``Layered`` mapping: a base shared between states and a
layer of the keys changed since. A step writes into an ``Overlay`` and freezes it into
the next state's mapping. These tests hold the overlay to a plain dict (values, order,
length), hold every mapping frozen earlier to what it was (the worker steps again from
an old state), and pin that the usual step copies no base.
"""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core import engine
from bot.core.domain import OrderLine, PushResult, PushStatus, Snapshot
from bot.core.engine.layered import Layered, Overlay, keys_apart, lookup, plain, with_changes
from tests.unit.test_engine_incremental import (
    EDITS,
    NOW,
    SKUS,
    STEPS,
    _lines,
    _product,
    _same,
    _Sheet,
    _started,
    _worker,
    one_unit_on_a,
)

KEYS = st.integers(0, 12)
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("set"), KEYS, st.integers(0, 99)),
        st.tuples(st.just("del"), KEYS, st.just(0)),
        st.tuples(st.just("freeze"), st.integers(0, 99), st.integers(0, 6)),
    ),
    max_size=60,
)


def _shares_base(a: Any, b: Any) -> bool:
    """Both are layered mappings on the very same base (the step copied no base)."""
    return keys_apart(a, b) is not None


def _same_as(got: Layered[int, int] | Overlay[int, int], want: dict[int, int]) -> None:
    assert list(got) == list(want)
    assert list(got.items()) == list(want.items())
    # The views iterate in C (layered._Values/_Items): the oracle is the plain dict.
    assert list(got.values()) == list(want.values())
    assert list(got.keys()) == list(want.keys())
    assert len(got.values()) == len(got.items()) == len(got.keys()) == len(want)
    assert got.keys() == want.keys()
    assert got.items() == want.items()
    for item in want.items():
        assert item in got.items()
    # The bulk lookup (C when no base key is deleted) against the dict's get.
    probe = [*range(-1, 14), *range(13, -2, -3)]
    assert list(lookup(got, probe)) == [want.get(k) for k in probe]
    assert list(lookup(got, iter(probe))) == [want.get(k) for k in probe]
    assert len(got) == len(want)
    assert got == want
    assert want == got
    for key in range(-1, 14):
        assert (key in got) is (key in want)
        assert got.get(key) == want.get(key)
        assert got.get(key, -5) == want.get(key, -5)
        if key in want:
            assert got[key] == want[key]
        else:
            with pytest.raises(KeyError):
                got[key]


@settings(max_examples=400, deadline=None)
@given(start=st.dictionaries(KEYS, st.integers(0, 99), max_size=8), ops=OPS)
def test_an_overlay_is_a_dict_and_frozen_ones_never_change(
    start: dict[int, int], ops: list[tuple[str, int, int]]
) -> None:
    frozen: list[tuple[Layered[int, int], dict[int, int]]] = [(Layered(start), dict(start))]
    overlay, model = Overlay(frozen[0][0]), dict(start)
    for op, key, value in ops:
        if op == "set":
            overlay[key] = value
            model[key] = value
        elif op == "del":
            if key in model:
                del overlay[key]
                del model[key]
            else:
                with pytest.raises(KeyError):
                    del overlay[key]
        else:  # freeze (folding at a tiny size or not), then go on from an older one
            done = overlay.freeze(fold_min=value)
            _same_as(overlay, model)
            with pytest.raises(TypeError):
                overlay[0] = 1
            frozen.append((done, dict(model)))
            base, model = frozen[len(frozen) - 1 - key % len(frozen)]
            overlay, model = Overlay(base), dict(model)
        _same_as(overlay, model)
    for layered, want in frozen:
        _same_as(layered, want)


def test_an_overlay_copies_a_plain_mapping_it_starts_from() -> None:
    start = {1: 1}
    overlay = Overlay(start)
    overlay[2] = 2
    start[3] = 3
    assert dict(overlay) == {1: 1, 2: 2}
    assert dict(Layered(start)) == {1: 1, 3: 3}


def test_a_layer_grown_past_its_bound_is_folded_into_a_new_base() -> None:
    overlay: Overlay[int, int] = Overlay(Layered({k: k for k in range(100)}))
    for key in range(100, 110):
        overlay[key] = key
    small = overlay.freeze(fold_min=20)
    assert _shares_base(small, overlay)
    assert small.layer_size == 10
    bigger = Overlay(small)
    for key in range(110, 125):
        bigger[key] = key
    folded = bigger.freeze(fold_min=20)
    assert not _shares_base(folded, small)
    assert folded.layer_size == 0
    assert dict(folded) == {k: k for k in range(125)}
    assert dict(small) == {k: k for k in range(110)}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_stepping_again_from_any_older_state_decides_what_it_decided(data: st.DataObject) -> None:
    """The worker steps again from an old state when a commit does not land: every older
    state still holds its lines, and a step from it gives the plan it gave."""
    sheet = _Sheet(rows={s: _product(s, 5, i + 2) for i, s in enumerate(SKUS)})
    state = _started(data)
    now = NOW
    made: list[tuple[engine.EngineState, dict[str, Any], Snapshot, list[OrderLine], Any, Any]] = []
    for _cycle in range(data.draw(st.integers(2, 8))):
        for _ in range(data.draw(st.integers(0, 2))):
            edit = data.draw(st.sampled_from(EDITS))
            edit(sheet, data.draw(st.sampled_from(SKUS)), data)
        now += data.draw(st.sampled_from(STEPS[:3]))
        lines = _lines(data, now)
        snapshot = sheet.snapshot(reparse=False)
        window = data.draw(st.sampled_from([timedelta(days=60), timedelta(minutes=20)]))
        plan = engine.step(state, snapshot, lines, now, pending_window=window)
        made.append((state, dict(state.lines), snapshot, lines, plan, window))
        if data.draw(st.integers(0, 4)):
            sheet.land(plan)
            state = _worker(state, plan, data, now)
    for old, lines_then, snapshot, lines, plan, window in made:
        assert dict(old.lines) == lines_then
        again = engine.step(old, snapshot, lines, plan.now, pending_window=window)
        _same(again, plan, snapshot.invalid_skus)


def test_a_steady_step_copies_no_base_of_the_ledger_lines() -> None:
    """The usual cycle layers its few changed lines on the state's base (no full copy)."""
    sheet = _Sheet(rows={s: _product(s, 50, i + 2) for i, s in enumerate(SKUS)})
    state, now = engine.EngineState(), NOW
    plans = []
    for order in range(6):
        now += timedelta(seconds=15)
        line = one_unit_on_a(order, now)
        plans.append(engine.step(state, sheet.snapshot(reparse=False), [line], now))
        sheet.land(plans[-1])
        state = engine.committed(plans[-1])
    assert len(state.lines) == 6
    assert isinstance(state.lines, Layered)
    for before, after in pairwise(plans[1:]):
        assert _shares_base(before.next_state.lines, after.next_state.lines)
        assert after.next_state.lines.layer_size == before.next_state.lines.layer_size + 1
        # The expiry book too: the new line goes on the top, the base is not copied.
        old, new = before.next_state.memo, after.next_state.memo
        assert old is not None and new is not None
        assert new.lines.book.base_times is old.lines.book.base_times
        assert new.lines.book.top_size == old.lines.book.top_size + 1


@settings(max_examples=300, deadline=None)
@given(
    start=st.dictionaries(KEYS, st.integers(0, 99), max_size=10),
    ops=OPS,
    changes=st.dictionaries(KEYS, st.integers(0, 99), max_size=6),
)
def test_with_changes_is_the_dicts_merge_and_plain_a_dict(
    start: dict[int, int], ops: list[tuple[str, int, int]], changes: dict[int, int]
) -> None:
    """``with_changes`` gives ``{**start, **changes}`` (values and order) on any mapping the
    engine hands it (a dict, a layered one with replaced, deleted and new keys) and leaves
    ``start`` as it was; ``plain`` gives the same mapping as a dict."""
    overlay, model = Overlay(Layered(start)), dict(start)
    for op, key, value in ops:
        if op == "set":
            overlay[key] = value
            model[key] = value
        elif op == "del" and key in model:
            del overlay[key]
            del model[key]
    for mapping in (model, overlay.freeze(fold_min=10**6)):
        before = dict(mapping)
        merged = with_changes(mapping, changes)
        _same_as(merged, {**before, **changes})
        assert dict(mapping) == before
        flat = plain(mapping)
        assert type(flat) is dict
        assert list(flat.items()) == list(before.items())
    assert plain(model) is model


def test_a_steady_cycle_shares_on_hand_and_listing_knowledge_between_states() -> None:
    """The usual cycle — a step, the malls' push results, a read-back — layers its few
    changes on the maps of the state it starts from: on-hand and the listing knowledge
    are not copied, and every older state keeps what it held."""
    sheet = _Sheet(rows={s: _product(s, 50, i + 2) for i, s in enumerate(SKUS)})
    state, now = engine.EngineState(), NOW
    kept: list[tuple[engine.EngineState, dict[str, int], dict[Any, Any]]] = []
    for order in range(6):
        now += timedelta(seconds=15)
        line = one_unit_on_a(order, now)
        plan = engine.step(state, sheet.snapshot(reparse=False), [line], now)
        sheet.land(plan)
        committed = engine.committed(plan)
        results = [PushResult(code=p.code, status=PushStatus.APPLIED) for p in plan.pushes]
        pushed, _, _ = engine.after_push(committed, list(plan.pushes), results, now)
        key = next(k for k, v in pushed.listings.items() if v.expected)
        shown = {key: (pushed.listings[key].expected or 0) - 1}  # a shortfall: held
        read, _, _ = engine.detect_drift(pushed, shown, now)
        if order >= 2:  # the first steps and pushes copy the start-up dicts once
            assert isinstance(plan.next_state.stock, Layered)
            assert _shares_base(state.stock, plan.next_state.stock)
            assert _shares_base(committed.listings, pushed.listings)
            assert _shares_base(pushed.listings, read.listings)
            assert _shares_base(state.listings, plan.next_state.listings)
        kept.append((state, dict(state.stock), dict(state.listings)))
        state = read
    assert state.listings[key].short == 1
    for old, stock, listings in kept:
        assert dict(old.stock) == stock
        assert dict(old.listings) == listings
