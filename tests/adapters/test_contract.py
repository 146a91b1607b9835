"""The contract every mall adapter passes, run over the registry (STYLE.md example 8)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters import ADAPTERS
from adapters.base import (
    AuthError,
    LateOutcomes,
    MallAdapter,
    RateLimited,
    pending_pushes,
    push_outcomes,
)
from bot.core.domain import PushStatus, StockPush
from bot.sandbox.clock import VirtualClock
from bot.sandbox.simulators import simulator_class
from tests.adapters.harness import Harness, make_harness


@pytest.fixture(params=sorted(ADAPTERS))
def h(request: pytest.FixtureRequest) -> Iterator[Harness]:
    yield make_harness(request.param, VirtualClock())


def _push(h: Harness, code: str, qty: int) -> StockPush:
    return StockPush(mall=h.mall, code=code, quantity=qty)


LANDED = {PushStatus.APPLIED, PushStatus.ACCEPTED}
"""What a push that reached the mall ends as (ACCEPTED: queued by the mall, e.g. Amazon)."""


def test_every_registered_channel_declares_itself_and_has_a_simulator() -> None:
    for key, cls in ADAPTERS.items():
        assert cls.name == key == cls.channel.key
        assert simulator_class(key).key == key
        assert cls.channel.label and cls.channel.name and cls.channel.auth_hint
        assert cls.channel.code_header == f"{cls.channel.label}コード"


def test_adapter_implements_the_protocol(h: Harness) -> None:
    assert isinstance(h.adapter, MallAdapter)
    assert h.adapter.name == h.mall


def test_check_succeeds_with_good_credentials(h: Harness) -> None:
    result = h.adapter.check()
    assert result.ok
    assert result.mall == h.mall


def test_auth_failure_raises_auth_error_everywhere(h: Harness) -> None:
    code = h.add_listing(h.code(1), 3)
    h.expire_credentials()
    with pytest.raises(AuthError):
        h.adapter.push_stock([_push(h, code, 1)])
    with pytest.raises(AuthError):
        h.adapter.read_stock([code])
    with pytest.raises(AuthError):
        h.adapter.fetch_order_lines(h.started, h.clock.now())
    result = h.adapter.check()
    assert not result.ok
    assert result.message


def test_a_429_is_retried(h: Harness) -> None:
    code = h.add_listing(h.code(1), 3)
    h.fail_next("429")
    [result] = h.adapter.push_stock([_push(h, code, 8)])
    assert result.status is PushStatus.APPLIED
    assert h.stock(code) == 8


def test_a_persistent_429_surfaces_as_rate_limited(h: Harness) -> None:
    code = h.add_listing(h.code(1), 3)
    h.adapter.read_stock([code])  # the push below needs no existence check
    h.fail_next("429", times=100)
    with pytest.raises(RateLimited):
        h.adapter.push_stock([_push(h, code, 8)])
    assert h.stock(code) == 3


@pytest.mark.parametrize("kind", ["503", "timeout"])
def test_transient_failures_are_retried(h: Harness, kind: str) -> None:
    code = h.add_listing(h.code(1), 3)
    h.fail_next(kind, times=2)  # type: ignore[arg-type]
    [result] = h.adapter.push_stock([_push(h, code, 4)])
    assert result.status is PushStatus.APPLIED
    assert h.stock(code) == 4


def test_push_twice_gives_the_same_end_state(h: Harness) -> None:
    a = h.add_listing(h.code(1), 3)
    b = h.add_listing(h.code(2), 9)
    pushes = [_push(h, a, 5), _push(h, b, 0)]
    first = h.adapter.push_stock(pushes)
    state = (h.stock(a), h.stock(b))
    second = h.adapter.push_stock(pushes)
    assert state == (5, 0)
    assert (h.stock(a), h.stock(b)) == state
    assert first == second
    assert [r.status for r in first] == [PushStatus.APPLIED, PushStatus.APPLIED]


def test_unknown_code_fails_alone(h: Harness) -> None:
    a = h.add_listing(h.code(1), 3)
    b = h.add_listing(h.code(2), 3)
    missing = h.code(99)
    results = h.adapter.push_stock([_push(h, a, 1), _push(h, missing, 4), _push(h, b, 2)])
    assert [r.code for r in results] == [a, missing, b]
    assert [r.status for r in results] == [
        PushStatus.APPLIED,
        PushStatus.UNKNOWN_CODE,
        PushStatus.APPLIED,
    ]
    assert results[1].message
    assert (h.stock(a), h.stock(b), h.stock(missing)) == (1, 2, None)


def test_one_bad_item_never_sinks_its_batch(h: Harness) -> None:
    codes = [h.add_listing(h.code(n), 1) for n in range(5)]
    pushes = [_push(h, c, 10 + n) for n, c in enumerate(codes)]
    pushes[2] = h.bad_push(codes[2])
    results = h.adapter.push_stock(pushes)
    assert [r.status for r in results] == [
        PushStatus.APPLIED,
        PushStatus.APPLIED,
        PushStatus.REJECTED,
        PushStatus.APPLIED,
        PushStatus.APPLIED,
    ]
    assert results[2].message
    assert [h.stock(c) for c in codes] == [10, 11, 1, 13, 14]


def test_batches_never_exceed_the_mall_limit(h: Harness) -> None:
    n = h.max_batch * 2 + 3
    codes = [h.add_listing(h.code(i), 0) for i in range(n)]
    pushes = [_push(h, c, 7) for c in codes]
    results = h.settle(pushes, h.adapter.push_stock(pushes))
    assert {r.status for r in results} <= LANDED
    sizes = h.write_batch_sizes()
    assert sum(sizes) == n
    assert max(sizes) <= h.max_batch
    assert all(h.stock(c) == 7 for c in codes)


# --------------------------------------------------------------------------- late outcomes
# A channel may answer PENDING and report the outcome in a later cycle (adapters.base.
# LateOutcomes). 60 listings: more than Amazon PATCHes one by one, so its feed path runs.


def test_a_channel_answers_pending_only_if_it_reports_outcomes_later(h: Harness) -> None:
    codes = [h.add_listing(h.code(n), 1) for n in range(60)]
    results = h.adapter.push_stock([_push(h, c, 4) for c in codes])
    pending = sum(r.status is PushStatus.PENDING for r in results)
    assert pending_pushes(h.adapter) == pending
    if not isinstance(h.adapter, LateOutcomes):
        assert pending == 0
        assert push_outcomes(h.adapter) == []
    assert all(r.message for r in results if r.status is PushStatus.PENDING)


def test_every_pending_push_ends_once_accepted_or_refused_alone(h: Harness) -> None:
    codes = [h.add_listing(h.code(n), 1) for n in range(60)]
    pushes = [_push(h, c, 10 + n % 7) for n, c in enumerate(codes)]
    pushes[2] = h.bad_push(codes[2])
    final = h.settle(pushes, h.adapter.push_stock(pushes))
    assert final[2].status is PushStatus.REJECTED
    assert final[2].message
    assert {r.status for i, r in enumerate(final) if i != 2} <= LANDED
    assert [h.stock(c) for c in codes[:4]] == [10, 11, 1, 13]


def test_a_newer_push_of_a_pending_listing_wins_and_is_the_only_one_reported(
    h: Harness,
) -> None:
    codes = [h.add_listing(h.code(n), 1) for n in range(60)]
    first = [_push(h, c, 5) for c in codes]
    answered = h.adapter.push_stock(first)
    newer = [_push(h, codes[0], 9)]
    again = h.adapter.push_stock(newer)
    # what settle sees reported: each code once, and for codes[0] only the newer push
    final = h.settle([*newer, *first[1:]], [*again, *answered[1:]])
    assert {r.status for r in final} <= LANDED
    assert h.stock(codes[0]) == 9
    assert [h.stock(c) for c in codes[1:4]] == [5, 5, 5]


def test_orders_appear_as_lines_with_their_units(h: Harness) -> None:
    a = h.add_listing(h.code(1), 10)
    b = h.add_listing(h.code(2), 10)
    first = h.place_order(a, 2)
    second = h.place_order(b, 3)
    lines = h.adapter.fetch_order_lines(h.started, h.clock.now())
    by_order = {line.order_id: line for line in lines}
    assert set(by_order) == {first, second}
    assert (by_order[first].code, by_order[first].units) == (a, 2)
    assert (by_order[second].code, by_order[second].units) == (b, 3)
    assert all(line.mall == h.mall for line in lines)


def test_a_cancel_reports_zero_units(h: Harness) -> None:
    a = h.add_listing(h.code(1), 10)
    order = h.place_order(a, 2)
    h.adapter.fetch_order_lines(h.started, h.clock.now())
    h.cancel(order)
    lines = h.adapter.fetch_order_lines(h.started, h.clock.now())
    [line] = [ln for ln in lines if ln.order_id == order]
    assert line.units == 0


def test_the_same_fetch_twice_gives_the_same_lines(h: Harness) -> None:
    a = h.add_listing(h.code(1), 10)
    h.place_order(a, 1)
    cancelled = h.place_order(a, 2)
    h.cancel(cancelled)
    until = h.clock.now()
    assert h.adapter.fetch_order_lines(h.started, until) == h.adapter.fetch_order_lines(
        h.started, until
    )


def test_read_stock_returns_live_quantities(h: Harness) -> None:
    a = h.add_listing(h.code(1), 10)
    b = h.add_listing(h.code(2), 4)
    h.place_order(a, 3)
    h.set_stock(b, 6)  # a hand edit on the mall
    missing = h.code(99)
    assert h.adapter.read_stock([a, b, missing]) == {a: 7, b: 6}


TYPED_CODES = (
    " Item-A : Red-M ",
    "item-a:Red-M",
    "ITEM_1:SKU-x",
    "00123",
    " 123 ",
    "123:レッド:M",
    "123：レッド：Ｍ",
    "12:345",
    "sku-1",
)


@pytest.mark.parametrize("key", sorted(ADAPTERS))
def test_a_canonical_code_is_its_own_canonical_form_and_the_same_string(key: str) -> None:
    """The sheet's code and the Product's code share one string once it is canonical."""
    canonical = ADAPTERS[key].canonical_code
    for typed in TYPED_CODES:
        once = canonical(typed)
        again = canonical(once)
        assert again == once, typed
        assert again is once, typed
