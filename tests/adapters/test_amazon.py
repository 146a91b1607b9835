"""Amazon specifics of AmazonAdapter, against AmazonSimulator."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any

import httpx
import pytest

from adapters import ADAPTERS
from adapters.amazon import AMAZON, AmazonAdapter
from adapters.amazon.adapter import FBA_MESSAGE
from adapters.amazon.bulk import parse_listings_report
from adapters.base import AuthError, RateLimited
from bot.core.domain import PushStatus, StockPush
from bot.sandbox.clock import VirtualClock
from bot.sandbox.simulators.amazon import AmazonSimulator
from bot.sandbox.simulators.amazon.state import SP_HOST
from tests.adapters.harness import Harness
from tests.adapters.test_amazon_simulator import (
    assert_exchanges_match_models,
    feed_errors,
    processing_report_errors,
)

START = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # 09:00 JST


def _push(code: str, qty: int) -> StockPush:
    return StockPush(mall="amazon", code=code, quantity=qty)


def _adapter(sim: AmazonSimulator, clock: VirtualClock, **kw: Any) -> AmazonAdapter:
    config = sim.config()
    return AmazonAdapter(
        httpx.Client(base_url=f"https://{SP_HOST}", transport=sim.transport),
        lwa_client_id=config["lwa_client_id"],
        lwa_client_secret=config["lwa_client_secret"],
        refresh_token=config["refresh_token"],
        seller_id=config["seller_id"],
        clock=clock,
        rng=random.Random(0),
        **kw,
    )


def _ops(sim: AmazonSimulator, op: str) -> list[Any]:
    return [r for r in sim.requests if r.op == op]


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START)


@pytest.fixture
def sim(clock: VirtualClock) -> AmazonSimulator:
    return AmazonSimulator(clock=clock)


@pytest.fixture
def adapter(sim: AmazonSimulator, clock: VirtualClock) -> AmazonAdapter:
    return _adapter(sim, clock)


# --------------------------------------------------------------------------- declaration


def test_declaration() -> None:
    assert ADAPTERS["amazon"] is AmazonAdapter
    assert (AMAZON.key, AMAZON.label, AMAZON.name) == ("amazon", "Amazon", "Amazon")
    assert AMAZON.aliases == ("アマゾン", "amazon.co.jp")
    assert AMAZON.code_header == "Amazonコード"
    config = AmazonAdapter.Config()
    assert config.base_url == "https://sellingpartnerapi-fe.amazon.com"
    assert config.marketplace_id == "A1VC38T7YXB528"
    assert set(config.secret_fields()) == {
        "lwa_client_id",
        "lwa_client_secret",
        "refresh_token",
        "seller_id",
    }
    assert set(config.missing()) == set(config.secret_fields())


def test_a_bad_secret_expiry_date_is_refused() -> None:
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        AmazonAdapter.Config(lwa_secret_expires_on="2026/01/01")


def test_describe_masks_credentials(adapter: AmazonAdapter, sim: AmazonSimulator) -> None:
    described = adapter.describe()
    assert sim.seller_id not in json.dumps(described)


# --------------------------------------------------------------------------- PATCH or feed


def test_three_listings_go_as_three_patches(adapter: AmazonAdapter, sim: AmazonSimulator) -> None:
    codes = [sim.add_listing(f"A-{n}", 1) for n in range(3)]
    results = adapter.push_stock([_push(c, 5 + n) for n, c in enumerate(codes)])
    assert [r.status for r in results] == [PushStatus.APPLIED] * 3
    assert sim.write_batch_sizes() == [1, 1, 1]
    assert len(_ops(sim, "patchListingsItem")) == 3
    assert _ops(sim, "createFeed") == []
    [patch] = _ops(sim, "patchListingsItem")[:1]
    assert patch.body["patches"][0]["op"] == "merge"
    assert patch.body["productType"] == "HOME"  # learnt from getListingsItem
    assert assert_exchanges_match_models(sim) > 0
    assert sim.refusals() == []


def _outcomes(adapter: AmazonAdapter, clock: VirtualClock, seconds: float = 15) -> list[Any]:
    """One later cycle's late outcomes ``seconds`` on; the look itself never waits."""
    clock.advance(seconds)
    before = clock.now()
    found = adapter.push_outcomes()
    assert clock.now() == before, "learning outcomes waited"
    return found


def _until_settled(adapter: AmazonAdapter, clock: VirtualClock) -> dict[str, Any]:
    """Code → outcome of every pending push, cycle by cycle (each reported once)."""
    found: dict[str, Any] = {}
    for _ in range(40):
        for push, result in _outcomes(adapter, clock):
            assert push.code not in found
            found[push.code] = result
        if not adapter.pending_pushes():
            return found
    raise AssertionError("pushes never settled")


def test_25000_listings_go_as_one_feed_never_waited_for(
    adapter: AmazonAdapter, sim: AmazonSimulator, clock: VirtualClock
) -> None:
    codes = [sim.add_listing(f"B-{n:05d}", 0) for n in range(25_000)]
    adapter._learn(codes)  # known listings: the push itself must not wait at all
    before = clock.now()
    results = adapter.push_stock([_push(c, 3) for c in codes])
    assert clock.now() == before
    assert {r.status for r in results} == {PushStatus.PENDING}
    assert "処理中" in results[0].message
    assert adapter.pending_pushes() == 25_000
    assert sim.write_batch_sizes() == [25_000]
    assert _ops(sim, "patchListingsItem") == []
    assert _ops(sim, "getListingsItem") == []  # the catalogue came from the report
    [upload] = _ops(sim, "s3Put")
    document = json.loads(upload.body)
    assert feed_errors(document) == []
    assert len(document["messages"]) == 25_000
    assert document["messages"][0]["operationType"] == "PATCH"
    found = _until_settled(adapter, clock)
    assert set(found) == set(codes)
    assert {r.status for r in found.values()} == {PushStatus.ACCEPTED}
    assert sim.stock(codes[0]) == 3
    assert sim.refusals() == []
    assert assert_exchanges_match_models(sim) > 0


def test_the_threshold_sits_between_the_two(adapter: AmazonAdapter, sim: AmazonSimulator) -> None:
    limit = AmazonAdapter.PATCH_MAX
    codes = [sim.add_listing(f"C-{n}", 0) for n in range(limit + 1)]
    adapter.push_stock([_push(c, 2) for c in codes[:limit]])
    assert sim.write_batch_sizes() == [1] * limit
    adapter.push_stock([_push(c, 4) for c in codes])
    assert sim.write_batch_sizes()[-1] == limit + 1
    assert sim.refusals() == []


def test_a_feed_item_amazon_refuses_is_rejected_alone_in_a_later_cycle(
    adapter: AmazonAdapter, sim: AmazonSimulator, clock: VirtualClock
) -> None:
    codes = [sim.add_listing(f"D-{n}", 1) for n in range(60)]
    pushes = [_push(c, 9) for c in codes]
    pushes[7] = _push(codes[7], sim.refused_quantity())
    results = adapter.push_stock(pushes)
    assert {r.status for r in results} == {PushStatus.PENDING}
    assert _outcomes(adapter, clock) == []  # still processing: one look, nothing known
    found = _until_settled(adapter, clock)
    assert found[codes[7]].status is PushStatus.REJECTED
    assert "Amazon が更新を拒否しました" in found[codes[7]].message
    assert "90000900" in found[codes[7]].message  # Amazon's own issue code
    assert {r.status for c, r in found.items() if c != codes[7]} == {PushStatus.ACCEPTED}
    assert sim.stock(codes[0]) == 9 and sim.stock(codes[7]) == 1
    report = next(r for r in sim.requests if r.op == "s3Get" and r.response is not None)
    assert processing_report_errors(report.response) == []


def test_a_fatal_feed_rejects_its_listings_in_a_later_cycle(
    adapter: AmazonAdapter, sim: AmazonSimulator, clock: VirtualClock
) -> None:
    codes = [sim.add_listing(f"E-{n}", 1) for n in range(60)]
    adapter._bulk._seller_id = "AOTHERSELLER"  # a header Amazon refuses as a whole
    results = adapter.push_stock([_push(c, 9) for c in codes])
    assert {r.status for r in results} == {PushStatus.PENDING}
    found = _until_settled(adapter, clock)
    assert {r.status for r in found.values()} == {PushStatus.REJECTED}
    assert "フィード処理が失敗しました" in found[codes[0]].message
    assert [sim.stock(c) for c in codes[:3]] == [1, 1, 1]


def test_a_pending_listing_is_read_back_only_once_settled(
    adapter: AmazonAdapter, sim: AmazonSimulator, clock: VirtualClock
) -> None:
    codes = [sim.add_listing(f"F-{n}", 1) for n in range(60)]
    adapter.push_stock([_push(c, 9) for c in codes])
    assert adapter.read_stock(codes[:3]) == {}  # the mall still shows 1: not a hand edit
    _until_settled(adapter, clock)
    assert adapter.read_stock(codes[:3]) == {c: 9 for c in codes[:3]}


def test_a_newer_push_of_a_listing_in_a_feed_waits_behind_it_and_wins(
    adapter: AmazonAdapter, sim: AmazonSimulator, clock: VirtualClock
) -> None:
    codes = [sim.add_listing(f"H-{n}", 1) for n in range(60)]
    adapter.push_stock([_push(c, 5) for c in codes])
    [newer] = adapter.push_stock([_push(codes[0], 8)])  # one listing: a PATCH, were it free
    assert newer.status is PushStatus.PENDING
    assert _ops(sim, "patchListingsItem") == []  # the older feed could overwrite a PATCH
    [newest] = adapter.push_stock([_push(codes[0], 2)])
    assert newest.status is PushStatus.PENDING
    found: list[tuple[str, int | None]] = []
    for _ in range(40):
        found += [(p.code, r.quantity) for p, r in _outcomes(adapter, clock) if p.code == codes[0]]
        if not adapter.pending_pushes():
            break
    assert found == [(codes[0], 2)]  # the feed's 5 and the replaced 8 are never reported
    assert sim.stock(codes[0]) == 2
    assert sim.write_batch_sizes() == [60, 1]  # 8 was never sent


def test_no_free_feed_slot_queues_the_push_instead_of_waiting(
    sim: AmazonSimulator, clock: VirtualClock
) -> None:
    adapter = _adapter(sim, clock)
    codes = [sim.add_listing(f"J-{n:03d}", 1) for n in range(60 * 6)]
    adapter._learn(codes)
    before = clock.now()
    for k in range(6):  # six cycles' pushes at once: one feed now, the rest queued
        batch = codes[60 * k : 60 * (k + 1)]
        results = adapter.push_stock([_push(c, 3) for c in batch])
        assert {r.status for r in results} == {PushStatus.PENDING}
    assert clock.now() == before
    assert "順番待ち" in results[0].message
    assert len(_ops(sim, "createFeed")) == 1
    found = _until_settled(adapter, clock)
    assert len(found) == 360 and {r.status for r in found.values()} == {PushStatus.ACCEPTED}
    assert sim.write_batch_sizes() == [60, 300]  # the queue went out as one feed
    assert sim.refusals() == []


def test_feed_slots_are_spread_over_the_window_and_never_overrun(
    sim: AmazonSimulator, clock: VirtualClock
) -> None:
    adapter = _adapter(sim, clock)
    codes = [sim.add_listing(f"L-{n:03d}", 1) for n in range(60)]
    adapter._learn(codes)
    for k in range(40):  # ten minutes of 15 s cycles, each pushing all 60 listings
        adapter.push_stock([_push(c, k % 9) for c in codes])
        adapter.push_outcomes()
        assert adapter.pending_pushes() <= 2 * len(codes)  # one queued, one in flight
        clock.advance(15)
    times = [r.at for r in _ops(sim, "createFeed")]
    gaps = [(b - a).total_seconds() for a, b in pairwise(times)]
    assert gaps and min(gaps) >= 60  # a fifth of the 5-minute window between feeds
    assert sim.refusals() == []  # never a 429 for the sixth feed in five minutes


def test_a_feed_amazon_cannot_take_now_stays_queued_for_a_later_cycle(
    adapter: AmazonAdapter, sim: AmazonSimulator, clock: VirtualClock
) -> None:
    codes = [sim.add_listing(f"K-{n}", 1) for n in range(60)]
    adapter._learn(codes)
    sim.fail_next("503", times=5)  # every try of createFeedDocument, then given up
    results = adapter.push_stock([_push(c, 6) for c in codes])
    assert {r.status for r in results} == {PushStatus.PENDING}
    assert "順番待ち" in results[0].message
    assert _ops(sim, "createFeed") == []
    found = _until_settled(adapter, clock)
    assert {r.status for r in found.values()} == {PushStatus.ACCEPTED}
    assert sim.write_batch_sizes() == [60]
    assert sim.stock(codes[0]) == 6


def test_a_feed_amazon_never_finishes_is_sent_again(clock: VirtualClock) -> None:
    sim = AmazonSimulator(clock=clock, feed_seconds=3600)
    adapter = _adapter(sim, clock, feed_max_wait_seconds=600)
    codes = [sim.add_listing(f"G-{n}", 1) for n in range(60)]
    results = adapter.push_stock([_push(c, 9) for c in codes])
    assert {r.status for r in results} == {PushStatus.PENDING}
    for _ in range(40):  # 10 minutes of cycles: still processing, nothing reported
        assert _outcomes(adapter, clock) == []
        if len(_ops(sim, "createFeed")) == 2:
            break
    assert len(_ops(sim, "createFeed")) == 2  # given up on and sent again, not taken as landed
    assert adapter.pending_pushes() == 60


# --------------------------------------------------------------------------- ACCEPTED vs APPLIED


def test_accepted_is_not_applied_until_live(clock: VirtualClock) -> None:
    sim = AmazonSimulator(clock=clock, push_lag=120)
    adapter = _adapter(sim, clock)
    code = sim.add_listing("A-1", 1)
    [result] = adapter.push_stock([_push(code, 6)])
    assert result.status is PushStatus.ACCEPTED
    assert result.message == "Amazon が受け付けました（反映待ち）"
    assert (sim.stock(code), sim.pending_stock(code)) == (1, 6)
    clock.advance(120)
    [again] = adapter.push_stock([_push(code, 6)])
    assert again.status is PushStatus.APPLIED


def test_invalid_inside_a_200_rejects_that_listing(
    adapter: AmazonAdapter, sim: AmazonSimulator
) -> None:
    a = sim.add_listing("A-1", 1)
    b = sim.add_listing("A-2", 1)
    results = adapter.push_stock([_push(a, sim.refused_quantity()), _push(b, 3)])
    assert [r.status for r in results] == [PushStatus.REJECTED, PushStatus.APPLIED]
    assert "90000900" in results[0].message


# --------------------------------------------------------------------------- FBA


def test_an_fba_listing_is_never_pushed(adapter: AmazonAdapter, sim: AmazonSimulator) -> None:
    fba = sim.add_listing("F-1", 8, fba=True)
    [result] = adapter.push_stock([_push(fba, 2)])
    assert result.status is PushStatus.SKIPPED  # not an error: Amazon owns that stock
    assert result.message == FBA_MESSAGE
    assert _ops(sim, "patchListingsItem") == []
    assert sim.fba_conversions == []
    assert sim.stock(fba) == 8


def test_an_fba_listing_is_never_in_a_feed(adapter: AmazonAdapter, sim: AmazonSimulator) -> None:
    codes = [sim.add_listing(f"M-{n}", 1) for n in range(60)]
    fba = sim.add_listing("F-1", 8, fba=True)
    results = adapter.push_stock([_push(c, 2) for c in [*codes, fba]])
    assert results[-1].message == FBA_MESSAGE
    [upload] = _ops(sim, "s3Put")
    assert "F-1" not in {m["sku"] for m in json.loads(upload.body)["messages"]}
    assert sim.fba_conversions == []


def test_a_product_sold_both_ways_is_handled_per_listing(
    adapter: AmazonAdapter, sim: AmazonSimulator, clock: VirtualClock
) -> None:
    """One product, two Amazon SKUs in its cell: the shop's own and an FBA one."""
    own = sim.add_listing("TEA-001", 10)
    fba = sim.add_listing("TEA-001-FBA", 30, fba=True)
    results = adapter.push_stock([_push(own, 7), _push(fba, 7)])
    assert [r.status for r in results] == [PushStatus.APPLIED, PushStatus.SKIPPED]
    assert (sim.stock(own), sim.stock(fba)) == (7, 30)
    since = clock.now()
    clock.advance(5)
    mine = sim.place_order([(own, 2)])
    theirs = sim.place_order([(fba, 3)])
    lines = adapter.fetch_order_lines(since, clock.now())
    assert [(ln.order_id, ln.code, ln.units) for ln in lines] == [(mine, own, 2)]
    assert theirs not in {ln.order_id for ln in lines}
    assert adapter.read_stock([own, fba]) == {own: 5}  # FBA stock is Amazon's, not drift


def test_fba_lines_are_skipped_even_without_fulfillment_data(
    adapter: AmazonAdapter, sim: AmazonSimulator, clock: VirtualClock
) -> None:
    fba = sim.add_listing("F-1", 30, fba=True)
    adapter.read_stock([fba])  # learns the SKU is FBA
    order = sim.place_order([(fba, 1)])
    assert order is not None
    sim.orders[order].fulfilled_by = "MERCHANT"  # even if the order said otherwise
    assert adapter.fetch_order_lines(START, clock.now()) == []


# --------------------------------------------------------------------------- reads


def test_read_stock_few_by_get_many_by_report(
    adapter: AmazonAdapter, sim: AmazonSimulator, clock: VirtualClock
) -> None:
    few = [sim.add_listing(f"R-{n}", n) for n in range(3)]
    assert adapter.read_stock([*few, "NOPE"]) == {c: n for n, c in enumerate(few)}
    assert len(_ops(sim, "getListingsItem")) == 4
    assert _ops(sim, "createReport") == []
    many = [sim.add_listing(f"S-{n:03d}", n) for n in range(AmazonAdapter.READ_ITEMS_MAX + 1)]
    assert adapter.read_stock(many) == {}  # a report is asked for, not waited for
    assert len(_ops(sim, "createReport")) == 1
    clock.advance(sim.report_seconds)
    stock = adapter.read_stock(many)
    assert stock == {c: n for n, c in enumerate(many)}
    assert len(_ops(sim, "createReport")) == 1
    assert sim.refusals() == []
    assert assert_exchanges_match_models(sim) > 0


@pytest.mark.parametrize(
    "options",
    [
        {"report_locale": "ja", "report_charset": "cp932", "report_charset_in_header": False},
        {"report_locale": "ja", "report_charset": "utf-8", "gzip_documents": True},
        {"report_charset": "cp932", "report_charset_in_header": True},
    ],
)
def test_reports_in_either_locale_charset_and_compression(
    clock: VirtualClock, options: dict[str, Any]
) -> None:
    sim = AmazonSimulator(clock=clock, **options)
    adapter = _adapter(sim, clock)
    codes = [sim.add_listing(f"在庫-{n:03d}", n) for n in range(60)]
    sim.add_listing("F-1", 5, fba=True)
    adapter.read_stock([*codes, "F-1"])  # asks for the report
    clock.advance(sim.report_seconds)
    assert adapter.read_stock([*codes, "F-1"]) == {c: n for n, c in enumerate(codes)}


def test_parse_listings_report_reads_fba_rows() -> None:
    text = "seller-sku\tquantity\tfulfillment-channel\nA\t3\tDEFAULT\nB\t\tAMAZON_JP\n"
    rows = parse_listings_report(text)
    assert (rows["A"].quantity, rows["A"].afn) == (3, False)
    assert (rows["B"].quantity, rows["B"].afn) == (None, True)


def test_skus_are_url_encoded_in_paths(adapter: AmazonAdapter, sim: AmazonSimulator) -> None:
    code = sim.add_listing("緑茶/100g #2", 4)
    assert adapter.read_stock([code]) == {code: 4}
    [result] = adapter.push_stock([_push(code, 1)])
    assert result.status is PushStatus.APPLIED
    assert "%2F" in str(_ops(sim, "patchListingsItem")[0].path) or sim.stock(code) == 1


# --------------------------------------------------------------------------- orders


def test_pending_counts_as_sold_and_cancel_as_zero(
    adapter: AmazonAdapter, sim: AmazonSimulator, clock: VirtualClock
) -> None:
    code = sim.add_listing("A-1", 10)
    order = sim.place_order([(code, 3)])
    [line] = adapter.fetch_order_lines(START, clock.now())
    assert (line.order_id, line.units, line.status) == (order, 3, "保留中（Pending）")
    clock.advance(60)
    assert order is not None
    sim.cancel_order(order)
    lines = adapter.fetch_order_lines(START + timedelta(seconds=30), clock.now())
    [cancelled] = [ln for ln in lines if ln.order_id == order]
    assert (cancelled.units, cancelled.mall_restocks) == (0, True)


def test_a_no_inventory_cancel_is_reported_as_not_restocked(
    adapter: AmazonAdapter, sim: AmazonSimulator, clock: VirtualClock
) -> None:
    code = sim.add_listing("A-1", 10)
    order = sim.place_order([(code, 3)])
    assert order is not None
    sim.cancel_order(order, reason="NoInventory")
    [line] = adapter.fetch_order_lines(START, clock.now())
    assert (line.units, line.mall_restocks) == (0, False)


def test_orders_are_paced_to_the_usage_plan_and_none_is_lost(
    sim: AmazonSimulator, clock: VirtualClock
) -> None:
    """Two hours of 15 s cycles: searches stay within 0.0056 req/s burst 20, every order is seen."""
    adapter = _adapter(sim, clock)
    code = sim.add_listing("A-1", 10_000)
    cursor = clock.now()
    placed: dict[str, datetime] = {}
    reported: dict[str, datetime] = {}
    rng = random.Random(1)
    for _cycle in range(480):
        clock.advance(15)
        if rng.random() < 0.3:
            order = sim.place_order([(code, 1)])
            assert order is not None
            placed[order] = clock.now()
        until = clock.now()
        for line in adapter.fetch_order_lines(cursor - timedelta(seconds=120), until):
            reported.setdefault(line.order_id, until)
        cursor = until  # the worker commits and moves on
    assert sim.refusals() == []
    assert set(reported) == set(placed)
    searches = [r for r in sim.requests if r.op == "searchOrders"]
    assert len(searches) <= 20 + 2 * 3600 * 0.0056 + 1
    late = [reported[o] - placed[o] for o in placed if o in reported]
    assert max(late) <= timedelta(seconds=200)


def test_a_failed_commit_gets_the_same_lines_again(
    adapter: AmazonAdapter, sim: AmazonSimulator, clock: VirtualClock
) -> None:
    code = sim.add_listing("A-1", 10)
    since = clock.now()
    clock.advance(5)
    order = sim.place_order([(code, 1)])
    first = adapter.fetch_order_lines(since, clock.now())
    for _ in range(25):  # burn the burst: later calls answer from memory
        adapter.fetch_order_lines(since, clock.now())
    assert adapter.fetch_order_lines(since, clock.now()) == first
    assert [ln.order_id for ln in first] == [order]
    assert adapter.fetch_order_lines(since + timedelta(seconds=15), clock.now()) == []


def test_search_orders_pages_through(
    adapter: AmazonAdapter, sim: AmazonSimulator, clock: VirtualClock
) -> None:
    code = sim.add_listing("A-1", 1000)
    for _ in range(250):
        clock.advance(1)
        sim.place_order([(code, 1)])
    lines = adapter.fetch_order_lines(START, clock.now())
    assert len({ln.order_id for ln in lines}) == 250
    assert len(_ops(sim, "searchOrders")) == 3
    assert "paginationToken" in _ops(sim, "searchOrders")[1].params


# --------------------------------------------------------------------------- auth and check


def test_the_access_token_is_cached_for_its_hour(
    adapter: AmazonAdapter, sim: AmazonSimulator, clock: VirtualClock
) -> None:
    code = sim.add_listing("A-1", 1)
    for _ in range(5):
        adapter.read_stock([code])
    assert adapter.token_exchanges == 1
    clock.advance(3600)
    adapter.read_stock([code])
    assert adapter.token_exchanges == 2
    assert sim.refusals() == []


def test_a_refused_cached_token_is_exchanged_once(
    adapter: AmazonAdapter, sim: AmazonSimulator
) -> None:
    code = sim.add_listing("A-1", 1)
    adapter.read_stock([code])
    sim._access_tokens.clear()  # Amazon dropped the token early
    assert adapter.read_stock([code]) == {code: 1}
    assert adapter.token_exchanges == 2


def test_revoked_credentials_are_an_auth_error_without_secrets(
    adapter: AmazonAdapter, sim: AmazonSimulator
) -> None:
    code = sim.add_listing("A-1", 1)
    secrets = list(sim.config().values())[1:]
    sim.expire_credentials()
    with pytest.raises(AuthError) as info:
        adapter.read_stock([code])
    assert "invalid_grant" in str(info.value)
    assert not any(s in str(info.value) for s in secrets)


def test_check_reports_the_secret_expiry(sim: AmazonSimulator, clock: VirtualClock) -> None:
    adapter = _adapter(sim, clock, lwa_secret_expires_on=date(2027, 1, 31))
    sim.add_listing("A-1", 1)
    result = adapter.check()
    assert result.ok, result.message
    assert "出品 1 件" in result.message
    assert "2027-01-31" in result.message
    assert result.credential_expires_at is not None
    assert result.credential_expires_at.date() == date(2027, 1, 31)


def test_check_with_a_wrong_seller_id_fails(sim: AmazonSimulator, clock: VirtualClock) -> None:
    config = sim.config()
    adapter = AmazonAdapter(
        httpx.Client(base_url=f"https://{SP_HOST}", transport=sim.transport),
        lwa_client_id=config["lwa_client_id"],
        lwa_client_secret=config["lwa_client_secret"],
        refresh_token=config["refresh_token"],
        seller_id="AWRONGSELLER1",
        clock=clock,
    )
    result = adapter.check()
    assert not result.ok
    assert "AWRONGSELLER1" not in result.message


def test_persistent_429_surfaces_as_rate_limited(
    adapter: AmazonAdapter, sim: AmazonSimulator
) -> None:
    code = sim.add_listing("A-1", 1)
    adapter.read_stock([code])
    sim.fail_next("429", times=50)
    with pytest.raises(RateLimited):
        adapter.push_stock([_push(code, 3)])


# --------------------------------------------------------------------------- normal runs are clean


def test_the_contract_flows_cause_no_refusal(clock: VirtualClock) -> None:
    """Push, read, order, cancel and check through the production wiring: nothing refused."""
    h = Harness("amazon", clock)
    sim = h.sim
    assert isinstance(sim, AmazonSimulator)
    codes = [h.add_listing(h.code(n), 5) for n in range(4)]
    h.adapter.push_stock([StockPush(mall="amazon", code=c, quantity=3) for c in codes])
    order = h.place_order(codes[0], 1)
    h.adapter.fetch_order_lines(h.started, clock.now())
    h.cancel(order)
    h.adapter.fetch_order_lines(h.started, clock.now())
    h.adapter.read_stock(codes)
    assert h.adapter.check().ok
    assert sim.refusals() == []
    assert assert_exchanges_match_models(sim) > 10
