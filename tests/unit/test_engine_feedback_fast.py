"""``after_push`` folds push results exactly as the plain fold does (hypothesis).

``after_push`` finds a sent listing's new state by a small tuple (the number, the
backorder flag, the hold it keeps) instead of building it with ``replace`` and hashing
it, and writes on a layer over the state's listings instead of a copy; ``edited`` looks
the pushed listings up in bulk. The plain fold — a dict copy, ``replace`` per push, equal
outcomes shared by value — is kept here as the oracle.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core import engine
from bot.core.domain import PushResult, PushStatus, StockPush
from bot.core.engine import feedback
from bot.core.engine.feedback import SENT
from bot.core.engine.layered import Layered
from bot.core.engine.state import ListingState
from tests.unit.test_engine_incremental import NOW, SKUS, _product, _Sheet

CODES = [("rakuten", f"r-{s.lower()}") for s in SKUS] + [("yahoo", "y-x"), ("rakuten", "r-zz")]


def _plain(
    state: engine.EngineState, pushes: list[StockPush], results: list[PushResult]
) -> dict[tuple[str, str], ListingState]:
    """The fold as it was written first: a copy, ``replace`` per push, shared by value."""
    listings = dict(state.listings)
    outcomes: dict[ListingState, ListingState] = {}
    for push, result in zip(pushes, results, strict=True):
        prior = listings.get(push.key) or ListingState()
        if result.status in SENT:
            done = replace(
                prior,
                pushed=push.quantity,
                expected=push.quantity,
                backorder=push.backorder if push.backorder is not None else prior.backorder,
                failed=None,
                at=NOW,
                sold=0,
                drifted=0,
            )
        else:
            done = replace(prior, failed=push.quantity, at=NOW)
        listings[push.key] = outcomes.setdefault(done, done)
    return listings


def _state(data: st.DataObject) -> engine.EngineState:
    """A state a step made (with its memo), its listings varied: holds, sales, refusals."""
    sheet = _Sheet(rows={s: _product(s, 5, i + 2) for i, s in enumerate(SKUS)})
    plan = engine.step(engine.EngineState(), sheet.snapshot(reparse=False), [], NOW)
    applied = [PushResult(code=p.code, status=PushStatus.APPLIED) for p in plan.pushes]
    state, _, _ = engine.after_push(engine.committed(plan), list(plan.pushes), applied, NOW)
    varied = {
        key: replace(
            listing,
            short=data.draw(st.sampled_from([0, 0, 2])),
            short_since=data.draw(st.sampled_from([None, NOW - timedelta(minutes=3)])),
            sold=data.draw(st.integers(0, 2)),
            failed=data.draw(st.sampled_from([None, 4])),
            backorder=data.draw(st.sampled_from([None, True, False])),
        )
        for key, listing in state.listings.items()
        if data.draw(st.booleans())
    }
    if not varied:
        return state
    listings = Layered(state.listings) if data.draw(st.booleans()) else dict(state.listings)
    return engine.replace_listings(state, engine.with_changes(listings, varied))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_after_push_folds_what_the_plain_fold_gives(data: st.DataObject) -> None:
    state = _state(data)
    pushes = [
        StockPush(
            mall=mall,
            code=code,
            quantity=data.draw(st.integers(0, 3)),
            backorder=data.draw(st.sampled_from([None, True, False])),
        )
        for mall, code in data.draw(st.lists(st.sampled_from(CODES), max_size=12))
    ]
    statuses = st.sampled_from(list(PushStatus))
    results = [PushResult(code=p.code, status=data.draw(statuses)) for p in pushes]
    before = dict(state.listings)
    out, logs, _alerts = engine.after_push(state, pushes, results, NOW)
    want = _plain(state, pushes, results)
    assert list(out.listings.items()) == list(want.items())
    assert dict(state.listings) == before  # the state folded from is left as it was
    assert len(logs) == len(pushes)
    # Equal outcomes are one object, as the plain fold shares them.
    folded = [out.listings[p.key] for p in pushes]
    assert len({id(v) for v in folded}) == len(set(folded))
    # The memo names every listing whose state is another object (and only those).
    if state.memo is not None and state.memo.listings is state.listings:
        assert out.memo is not None
        moved = {k for k in want if out.listings.get(k) is not state.listings.get(k)}
        assert out.memo.edited == state.memo.edited | moved


def test_a_cycles_pushes_of_one_number_build_one_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """The usual push results — many listings sent the same number, none holding —
    build the listing state once (one ``replace``), not once per push."""
    sheet = _Sheet(rows={s: _product(s, 5, i + 2) for i, s in enumerate(SKUS)})
    plan = engine.step(engine.EngineState(), sheet.snapshot(reparse=False), [], NOW)
    state = engine.committed(plan)
    pushes = [StockPush(mall=t.mall, code=t.code, quantity=5) for t in plan.targets]
    results = [PushResult(code=p.code, status=PushStatus.APPLIED) for p in pushes]
    built: list[ListingState] = []

    def counted(obj: Any, **changes: Any) -> Any:
        if isinstance(obj, ListingState):
            built.append(obj)
        return replace(obj, **changes)

    monkeypatch.setattr(feedback, "replace", counted)
    out, _, _ = engine.after_push(state, pushes, results, NOW)
    assert len(pushes) > 2
    assert len(built) == 1
    assert len({id(out.listings[p.key]) for p in pushes}) == 1
