"""The BASE adapter against its simulator: tokens, limits, pushes, reads and orders.

(``tests/adapters/test_base.py`` is the shared plumbing of ``adapters/base.py``.)
Both readings of every UNCONFIRMED point (bot/sandbox/simulators/base.py
``Unconfirmed``) that changes what the adapter sees are run here.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from adapters.base import AuthError, MemoryTokens, RateLimited, TransientError
from adapters.oauth import REFRESH_EXPIRES_KEY, REFRESH_TOKEN_KEY
from adapters.thebase import THEBASE, TheBaseAdapter
from adapters.thebase.auth import ACCESS_TOKEN_KEY
from adapters.thebase.wire import code_problem
from bot.core.domain import PushStatus, StockPush
from bot.infra.clock import JST
from bot.sandbox.clock import VirtualClock
from bot.sandbox.simulators.base import BaseSimulator, Unconfirmed

START = datetime(2026, 11, 23, 9, 0, 5, tzinfo=JST)
KEPT = (REFRESH_TOKEN_KEY, REFRESH_EXPIRES_KEY, ACCESS_TOKEN_KEY)


def _world(
    facts: Unconfirmed | None = None, **options: Any
) -> tuple[BaseSimulator, VirtualClock, TheBaseAdapter, MemoryTokens]:
    clock = VirtualClock(START)
    sim = BaseSimulator(clock=clock, facts=facts or Unconfirmed())
    tokens = MemoryTokens()
    options.setdefault("refresh_token", sim.refresh_token)
    adapter = TheBaseAdapter(
        httpx.Client(base_url="https://api.thebase.in", transport=sim.transport),
        client_id=sim.client_id,
        client_secret=sim.client_secret,
        redirect_uri=sim.redirect_uris[0],
        clock=clock,
        tokens=tokens,
        rng=random.Random(0),
        **options,
    )
    return sim, clock, adapter, tokens


def _push(code: str, quantity: int) -> StockPush:
    return StockPush(mall="base", code=code, quantity=quantity)


def _calls(sim: BaseSimulator, api: str) -> int:
    return sum(1 for r in sim.requests if r.api == api)


# --------------------------------------------------------------------------- declaration


def test_channel_declares_key_label_and_rotating_tokens() -> None:
    assert (THEBASE.key, THEBASE.label, THEBASE.code_header) == ("base", "BASE", "BASEコード")
    assert THEBASE.rotating_tokens and THEBASE.authorization is not None
    assert "python -m bot auth base" in THEBASE.auth_hint


@pytest.mark.parametrize("code", ["12345678", "12345678:23456789", " 12 : 34 "])
def test_codes_are_item_id_or_item_id_colon_variation_id(code: str) -> None:
    assert code_problem(code) is None


@pytest.mark.parametrize("code", ["abc", "12-34", "12:34:56", "12:", ":34", "ＡＢＣ"])
def test_other_codes_are_a_row_problem_in_japanese(code: str) -> None:
    problem = code_problem(code)
    assert problem and "商品ID" in problem


# --------------------------------------------------------------------------- tokens


@pytest.mark.parametrize("rotate", [True, False])
def test_the_newest_refresh_token_is_kept_with_its_expiry(rotate: bool) -> None:
    sim, clock, adapter, tokens = _world(Unconfirmed(rotate_refresh_token=rotate))
    first = sim.refresh_token
    adapter.check()
    for _ in range(30):  # a day of hourly refreshes
        clock.advance(3600)
        assert adapter.check().ok
    stored = tokens.load(REFRESH_TOKEN_KEY)
    if rotate:
        assert stored != first
        assert stored in sim.refresh_tokens_issued()
        expires = datetime.fromisoformat(tokens.load(REFRESH_EXPIRES_KEY) or "")
        assert expires > clock.now() + timedelta(days=29)  # each new token lives 30 days
    else:
        assert stored == first  # kept, but BASE never said when it was issued
        assert adapter.session.refresh_expires_at() is None
    assert sim.rejections() == []
    assert adapter.session.refreshes == 31  # the first, then once an hour ahead of expiry


def test_a_second_process_uses_the_kept_access_token_instead_of_rotating() -> None:
    # `python -m bot check` beside the running worker: it reads the same _state tokens.
    sim, clock, worker, tokens = _world(Unconfirmed(rotate_refresh_token=True))
    assert worker.check().ok
    checker = TheBaseAdapter(
        httpx.Client(base_url="https://api.thebase.in", transport=sim.transport),
        client_id=sim.client_id,
        client_secret=sim.client_secret,
        redirect_uri=sim.redirect_uris[0],
        refresh_token=sim.refresh_token,
        clock=clock,
        tokens=MemoryTokens({k: v for k in KEPT if (v := tokens.load(k))}),
    )
    clock.advance(600)
    assert checker.check().ok
    assert checker.session.refreshes == 0  # no refresh: the worker's refresh token lives on
    clock.advance(3600)
    assert worker.check().ok
    assert sim.rejections() == []


def test_a_stale_stored_token_falls_back_to_the_configured_one() -> None:
    sim, _, adapter, tokens = _world()
    tokens.save(REFRESH_TOKEN_KEY, "dead-token-from-an-old-state")
    assert adapter.check().ok
    assert tokens.load(REFRESH_TOKEN_KEY) in sim.refresh_tokens_issued()


@pytest.mark.parametrize("status", [400, 401])
def test_a_refused_access_token_is_refreshed_once(status: int) -> None:
    sim, _, adapter, _ = _world(Unconfirmed(invalid_token_status=status))
    code = sim.add_listing("100", 1)
    adapter.check()
    sim.expire_access_tokens()  # e.g. the owner reconnected the app elsewhere
    [result] = adapter.push_stock([_push(code, 4)])
    assert result.status is PushStatus.APPLIED
    assert adapter.session.refreshes == 2


def test_dead_credentials_are_auth_errors_without_secrets() -> None:
    sim, _, adapter, _ = _world()
    adapter.check()
    sim.expire_credentials()
    with pytest.raises(AuthError) as caught:
        adapter.fetch_order_lines(START, START)
    text = str(caught.value)
    assert "python -m bot auth base" in text
    for secret in (sim.client_secret, sim.client_id, sim.refresh_token):
        assert secret not in text
    result = adapter.check()
    assert not result.ok
    assert sim.client_secret not in result.message


def test_no_redirect_uri_is_said_in_japanese() -> None:
    _, _, adapter, _ = _world()
    adapter.session._redirect_uri = ""
    result = adapter.check()
    assert not result.ok
    assert "redirect_uri" in result.message


def test_check_says_when_the_refresh_token_expires() -> None:
    _, clock, adapter, _tokens = _world()
    result = adapter.check()
    assert result.ok
    assert result.credential_expires_at is not None
    assert result.credential_expires_at - clock.now() == timedelta(days=30)
    assert "あと30日" in result.message


# --------------------------------------------------------------------------- limits


@pytest.mark.parametrize("status", [400, 429])
def test_bases_own_limit_is_rate_limited_and_the_adapter_waits_for_the_hour(status: int) -> None:
    # Another tool used most of the hour: BASE refuses before our own count says so.
    sim, clock, adapter, _ = _world(Unconfirmed(hourly_limit=5, limit_status=status))
    code = sim.add_listing("100", 1)
    assert adapter.push_stock([_push(code, 2)])[0].status is PushStatus.APPLIED
    sim._hours[sim._hour_key()] = 5
    with pytest.raises(RateLimited) as caught:
        adapter.push_stock([_push(code, 3)])
    assert caught.value.retry_after is not None and caught.value.retry_after > 60
    sent = len(sim.requests)
    with pytest.raises(RateLimited):
        adapter.push_stock([_push(code, 3)])
    assert len(sim.requests) == sent  # no call until :00
    clock.set(START.replace(hour=10, minute=0, second=1))
    assert adapter.push_stock([_push(code, 3)])[0].status is PushStatus.APPLIED
    assert sim.stock(code) == 3


def test_the_adapter_counts_and_stops_itself_before_base_refuses() -> None:
    sim, clock, adapter, _ = _world(hourly_request_limit=6)
    codes = [sim.add_listing(sim.sample_code(n), 1) for n in range(10)]
    with pytest.raises(RateLimited) as caught:
        adapter.push_stock([_push(c, 5) for c in codes])
    assert "1時間" in str(caught.value)
    assert sim.rejections() == []
    assert sim.hour_count() == 5  # one token refresh + five pushes (the refresh is uncounted)
    clock.set(START.replace(hour=10, minute=0, second=0))
    assert all(r.status is PushStatus.APPLIED for r in adapter.push_stock([_push(codes[9], 5)]))


def test_pushes_are_paced_over_the_hour() -> None:
    sim, clock, adapter, _ = _world(hourly_request_limit=360)  # 0.1 call a second
    codes = [sim.add_listing(sim.sample_code(n), 1) for n in range(TheBaseAdapter.BURST + 10)]
    before = clock.now()
    adapter.push_stock([_push(c, 2) for c in codes])
    assert clock.now() - before >= timedelta(seconds=90)  # 10 calls past the burst at 10 s
    assert sim.rejections() == []


# --------------------------------------------------------------------------- stock


def test_push_item_and_variation_stock_and_unknown_codes() -> None:
    sim, _, adapter, _ = _world()
    plain = sim.add_listing("100", 1)
    variation = sim.add_listing("200:201", 1)
    sim.add_listing("200:202", 4)
    results = adapter.push_stock(
        [
            _push(plain, 5),
            _push(variation, 7),
            _push("999", 1),
            _push("200:999", 1),
            _push("abc", 1),
        ]
    )
    assert [r.status for r in results] == [
        PushStatus.APPLIED,
        PushStatus.APPLIED,
        PushStatus.UNKNOWN_CODE,
        PushStatus.UNKNOWN_CODE,
        PushStatus.REJECTED,
    ]
    assert [r.quantity for r in results[:2]] == [5, 7]
    assert (sim.stock(plain), sim.stock(variation), sim.stock("200")) == (5, 7, 11)
    assert "バリエーション" in results[3].message


@pytest.mark.parametrize("reading", ["ignored", "rejected"])
def test_item_level_code_of_an_item_with_variations_is_refused_alone(reading: str) -> None:
    sim, _, adapter, _ = _world(Unconfirmed(item_stock_with_variations=reading))  # type: ignore[arg-type]
    sim.add_listing("200:201", 3)
    other = sim.add_listing("100", 1)
    first = adapter.push_stock([_push("200", 9), _push(other, 2)])
    assert [r.status for r in first] == [PushStatus.REJECTED, PushStatus.APPLIED]
    assert "商品ID:バリエーションID" in first[0].message
    assert sim.stock("200") == 3
    too_many = adapter.push_stock([_push(other, sim.refused_quantity())])[0]
    assert too_many.status is PushStatus.REJECTED
    assert "バリエーション" not in too_many.message
    adapter.read_stock(["200:201"])  # the adapter now knows the item's variations
    sent = _calls(sim, "edit_stock")
    [again] = adapter.push_stock([_push("200", 9)])
    assert again.status is PushStatus.REJECTED
    assert "商品ID:バリエーションID" in again.message
    assert _calls(sim, "edit_stock") == sent  # refused without a call


def test_a_later_push_for_the_same_code_wins() -> None:
    sim, _, adapter, _ = _world()
    code = sim.add_listing("100", 1)
    results = adapter.push_stock([_push(code, 3), _push(" 100 ", 4)])
    assert [r.status for r in results] == [PushStatus.REJECTED, PushStatus.APPLIED]
    assert sim.stock(code) == 4
    assert _calls(sim, "edit_stock") == 1


def test_read_stock_few_items_by_detail_many_by_listing() -> None:
    sim, _, adapter, _ = _world()
    codes = [sim.add_listing(sim.sample_code(n), n) for n in range(30)]
    sim.add_listing("200:201", 2)
    few = adapter.read_stock([codes[1], codes[2], "200", "4242"])
    assert few == {codes[1]: 1, codes[2]: 2}  # "200" has variations: no number of its own
    assert (_calls(sim, "item"), _calls(sim, "items")) == (4, 0)
    many = adapter.read_stock([*codes, "4242"])
    assert many == {c: n for n, c in enumerate(codes)}
    assert _calls(sim, "items") == 1  # 31 items fit one page of 100


# --------------------------------------------------------------------------- orders


def test_lines_carry_codes_units_and_line_cancels() -> None:
    sim, clock, adapter, _ = _world()
    sim.add_listing("100", 10)
    sim.add_listing("200:201", 10)
    clock.advance(10)
    order = sim.place_order([("100", 2), ("200:201", 3)])
    assert order is not None
    lines = adapter.fetch_order_lines(START, clock.now())
    assert [(ln.order_id, ln.code, ln.units, ln.status) for ln in lines] == [
        (order, "100", 2, "発送待ち"),
        (order, "200:201", 3, "発送待ち"),
    ]
    clock.advance(10)
    sim.cancel_line(order, sim.orders[order].items[1].order_item_id)
    lines = adapter.fetch_order_lines(START, clock.now())
    assert [(ln.units, ln.mall_restocks) for ln in lines] == [(2, False), (0, True)]
    assert lines[1].status.endswith("（明細キャンセル）")


def test_unchanged_orders_are_not_read_again() -> None:
    sim, clock, adapter, _ = _world()
    sim.add_listing("100", 10)
    for _ in range(3):
        clock.advance(5)
        sim.place_order([("100", 1)])
    for _ in range(5):
        clock.advance(15)
        assert len(adapter.fetch_order_lines(START, clock.now())) == 3
    assert _calls(sim, "order") == 3
    sim.dispatch_order(next(iter(sim.orders)))
    adapter.fetch_order_lines(START, clock.now())
    assert _calls(sim, "order") == 4


@pytest.mark.parametrize("restocks", [True, False])
def test_a_cancel_of_an_older_order_comes_from_the_rescan(restocks: bool) -> None:
    sim, clock, adapter, _ = _world(
        Unconfirmed(restock_on_cancel=restocks), restocks_on_cancel=restocks
    )
    sim.add_listing("100", 10)
    clock.advance(5)
    order = sim.place_order([("100", 2)])
    since = clock.now() - timedelta(seconds=1)
    assert [ln.units for ln in adapter.fetch_order_lines(since, clock.now())] == [2]
    clock.advance(3600)  # the order is now far behind the cursor
    sim.cancel_order(order or "")
    since = clock.now() - timedelta(minutes=2)
    lines = adapter.fetch_order_lines(since, clock.now())
    assert [(ln.order_id, ln.units, ln.mall_restocks) for ln in lines] == [(order, 0, restocks)]
    # Reported again while the worker has not committed (same since) …
    clock.advance(15)
    assert [ln.units for ln in adapter.fetch_order_lines(since, clock.now())] == [0]
    # … and no more once its cursor moved on.
    clock.advance(15)
    assert adapter.fetch_order_lines(clock.now() - timedelta(minutes=1), clock.now()) == []


def test_the_rescan_is_paced_and_gives_way_to_a_tight_budget() -> None:
    sim, clock, adapter, _ = _world(cancel_rescan_seconds=300)
    sim.add_listing("100", 1000)
    for _ in range(150):
        clock.advance(60)
        sim.place_order([("100", 1)])
    clock.advance(3600)
    for _ in range(20):  # 5 minutes of 15 s cycles
        clock.advance(15)
        adapter.fetch_order_lines(clock.now() - timedelta(minutes=2), clock.now())
    assert adapter.orders.rescans == 1
    listing_calls = _calls(sim, "orders")
    assert listing_calls == 20 + 2  # one list per cycle + one rescan of two pages
    clock.advance(300)
    adapter.budget.hour_count = int(adapter.budget.hourly * 0.9)
    adapter.fetch_order_lines(clock.now() - timedelta(minutes=2), clock.now())
    assert adapter.orders.rescans == 1  # deferred: the hour's budget is for pushes now


def test_after_a_restart_the_window_cancels_are_reported_once() -> None:
    sim, clock, _, _ = _world()
    sim.add_listing("100", 100)
    kept = sim.place_order([("100", 1)])
    clock.advance(60)
    gone = sim.place_order([("100", 2)])
    sim.cancel_order(gone or "")
    clock.advance(86400)
    _, _, fresh, _ = _world()
    fresh = TheBaseAdapter(
        httpx.Client(base_url="https://api.thebase.in", transport=sim.transport),
        client_id=sim.client_id,
        client_secret=sim.client_secret,
        redirect_uri=sim.redirect_uris[0],
        refresh_token=sim.refresh_token,
        clock=clock,
        rng=random.Random(0),
    )
    lines = fresh.fetch_order_lines(clock.now() - timedelta(minutes=2), clock.now())
    assert [(ln.order_id, ln.units) for ln in lines] == [(gone, 0)]
    assert kept not in {ln.order_id for ln in lines}
    assert _calls(sim, "order") == 1  # the untouched order's detail is not read


def test_a_lost_connection_is_said_as_bases_and_retried() -> None:
    sim, clock, _, _ = _world()
    calls: list[str] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path.startswith("/1/oauth"):
            return sim.transport.handle_request(request)
        raise httpx.ConnectError("refused", request=request)

    adapter = TheBaseAdapter(
        httpx.Client(base_url="https://api.thebase.in", transport=httpx.MockTransport(flaky)),
        client_id=sim.client_id,
        client_secret=sim.client_secret,
        redirect_uri=sim.redirect_uris[0],
        refresh_token=sim.refresh_token,
        clock=clock,
        tokens=MemoryTokens(),
        rng=random.Random(0),
        max_tries=3,
    )
    with pytest.raises(TransientError) as info:
        adapter.read_stock(["1"])
    assert str(info.value) == "BASE: 通信エラー（ConnectError: refused）"
    assert len([p for p in calls if not p.startswith("/1/oauth")]) == 3
