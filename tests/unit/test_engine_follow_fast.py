"""The read-back and the order lines' holds take their cheap paths, deciding what the plain ones do.

``detect_drift`` leaves out, in C, the readings it changes nothing for (``feedback._read``)
while no drift or shortfall condition is raised; its plain path (every reading looked
at) is the oracle. ``holds.follow_lines`` follows one listing state once per change of
units, however many listings share it; the oracle is the same lines on listings that
share no state object (each one followed on its own).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core import engine
from bot.core.domain import OrderLine, PushResult, PushStatus
from bot.core.engine import feedback, holds
from bot.core.engine.state import LineState, ListingState
from tests.unit.test_engine_feedback_fast import CODES, _state
from tests.unit.test_engine_incremental import NOW, SKUS, _product, _Sheet

_EXAMPLES = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_EXAMPLES
@given(data=st.data())
def test_detect_drift_leaves_out_only_readings_it_changes_nothing_for(data: st.DataObject) -> None:
    state = _state(data)
    raised = data.draw(st.sampled_from([frozenset(), frozenset({"short:rakuten:r-p00"})]))
    state = engine.replace_conditions(state, state.conditions | raised)
    keys = data.draw(st.lists(st.sampled_from(CODES), unique=True, max_size=12))
    readings = {key: data.draw(st.integers(0, 6)) for key in keys}
    shortfalls = data.draw(st.booleans())
    got = engine.detect_drift(state, readings, NOW, shortfalls=shortfalls)
    plain = feedback._read
    with mock.patch.object(feedback, "_read", lambda r, k, *, quiet: plain(r, k, quiet=False)):
        want = engine.detect_drift(state, readings, NOW, shortfalls=shortfalls)
    assert list(got[0].listings.items()) == list(want[0].listings.items())
    assert got[0].conditions == want[0].conditions
    assert got[0].memo == want[0].memo
    assert got[1:] == want[1:]


def test_a_read_back_as_expected_leaves_out_every_reading() -> None:
    """The usual read-back (each listing shows its number, nothing sold since): no
    reading reaches the loop; one that differs does."""
    sheet = _Sheet(rows={s: _product(s, 5, i + 2) for i, s in enumerate(SKUS)})
    plan = engine.step(engine.EngineState(), sheet.snapshot(reparse=False), [], NOW)
    applied = [PushResult(code=p.code, status=PushStatus.APPLIED) for p in plan.pushes]
    state, _, _ = engine.after_push(engine.committed(plan), list(plan.pushes), applied, NOW)
    readings = {key: listing.expected or 0 for key, listing in state.listings.items()}
    assert len(readings) > 2
    assert list(feedback._read(readings, state.listings, quiet=True)) == []
    key = next(iter(readings))
    readings[key] += 1
    assert [r for r, _ in feedback._read(readings, state.listings, quiet=True)] == [
        (key, readings[key])
    ]


_PUSHED = ListingState(pushed=5, expected=5, at=NOW)
_HELD = replace(_PUSHED, short=2, short_since=NOW - timedelta(minutes=3))


def _line(key: tuple[str, str], order: int, units: int, restocks: bool) -> OrderLine:
    mall, code = key
    return OrderLine(
        mall=mall,
        order_id=f"o{order}",
        line_id="1",
        code=code,
        units=units,
        ordered_at=NOW,
        mall_restocks=restocks,
    )


def _follow(
    listings: dict[tuple[str, str], ListingState],
    lines: list[OrderLine],
    reported: dict[str, int],
) -> tuple[Any, ...]:
    prior = {
        ln.key: LineState.of(
            mall=ln.mall,
            order_id=ln.order_id,
            line_id=ln.line_id,
            code=ln.code,
            sku=None,
            applied=reported[ln.key],
            reported=reported[ln.key],
            key=ln.key,
        )
        for ln in lines
        if ln.key in reported
    }
    return holds.follow_lines(
        listings, prior, holds.latest(lines), {}, NOW, fresh=False, horizon=NOW - timedelta(1)
    )


@_EXAMPLES
@given(data=st.data())
def test_follow_lines_on_shared_states_gives_what_each_followed_alone_gives(
    data: st.DataObject,
) -> None:
    states = st.sampled_from([_PUSHED, _HELD, replace(_PUSHED, sold=1)])
    listings = {key: data.draw(states) for key in CODES}
    lines = [
        _line(key, order, data.draw(st.integers(0, 3)), data.draw(st.booleans()))
        for order, key in enumerate(data.draw(st.lists(st.sampled_from(CODES), max_size=10)))
    ]
    reported = {ln.key: data.draw(st.integers(0, 3)) for ln in lines if data.draw(st.booleans())}
    alone = {key: replace(state) for key, state in listings.items()}  # no state shared
    got, want = _follow(listings, lines, reported), _follow(alone, lines, reported)
    assert list(got[0].items()) == list(want[0].items())
    assert got[1:] == want[1:]


def test_listings_sharing_a_state_follow_it_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cycle's sales on listings pushed the same number: one ``_follow`` for all,
    and they share its result."""
    calls: list[ListingState] = []
    plain = holds._follow

    def counted(listing: ListingState, line: OrderLine, delta: int) -> ListingState:
        calls.append(listing)
        return plain(listing, line, delta)

    monkeypatch.setattr(holds, "_follow", counted)
    keys = CODES[:3]
    lines = [_line(key, order, 1, False) for order, key in enumerate(keys)]
    listed, _, changed = _follow(dict.fromkeys(keys, _PUSHED), lines, {})
    assert len(calls) == 1
    assert changed == set(keys)
    assert len({id(listed[key]) for key in keys}) == 1
    assert listed[keys[0]].sold == 1
