"""The Shopify adapter against its simulator: compare-and-set, versions, lookup, orders, limits."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from adapters.base import AuthError, MallError, RateLimited
from adapters.shopify import ShopifyAdapter, ShopifyConfig, normalize_shop
from adapters.shopify.config import ADMIN_HOST
from bot.core.domain import OrderLine, PushStatus, StockPush
from bot.sandbox.clock import VirtualClock
from bot.sandbox.simulators.shopify import ShopifySimulator, Unconfirmed

VERSIONS = ("2025-10", "2026-01", "2026-04")


def make(
    sim: ShopifySimulator,
    *,
    version: str = "2026-04",
    location: str = "",
    transport: httpx.BaseTransport | None = None,
    **kwargs: Any,
) -> ShopifyAdapter:
    client = httpx.Client(transport=transport or sim.transport)
    return ShopifyAdapter(
        client,
        shop_url=f"https://{sim.shop}",
        access_token=sim.token,
        clock=sim._clock,  # the simulator's virtual clock
        api_version=version,
        location=location,
        rng=random.Random(7),
        **kwargs,
    )


def push(code: str, qty: int, compare_to: int | None = None) -> StockPush:
    return StockPush(mall="shopify", code=code, quantity=qty, compare_to=compare_to)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def sim(clock: VirtualClock) -> ShopifySimulator:
    return ShopifySimulator(clock=clock)


def stale_codes(sim: ShopifySimulator) -> list[str]:
    return [c for r in sim.requests for c in r.codes if c.endswith("_STALE")]


# --------------------------------------------------------------------------- compare-and-set


@pytest.mark.parametrize("version", VERSIONS)
def test_compare_and_set_refuses_a_push_over_an_unseen_sale_and_the_adapter_keeps_the_sale(
    sim: ShopifySimulator, version: str
) -> None:
    sim.add_listing("MUG-1", 10)
    adapter = make(sim, version=version)
    [first] = adapter.push_stock([push("MUG-1", 10)])
    assert first.status is PushStatus.APPLIED

    # A customer buys 2 on Shopify; the bot has not fetched that order yet. Staff book
    # 5 more in, so the engine (which has not seen the sale) asks for 15.
    order = sim.place_order([("MUG-1", 2)])
    assert sim.stock("MUG-1") == 8
    [result] = adapter.push_stock([push("MUG-1", 15)])

    # Shopify refused the stale compare (10 ≠ 8); the adapter read 8 and set 15 − 2.
    expected_code = (
        "COMPARE_QUANTITY_STALE" if version < "2026-01" else "CHANGE_FROM_QUANTITY_STALE"
    )
    assert stale_codes(sim) == [expected_code]
    assert sim.stock("MUG-1") == 13
    assert result.status is PushStatus.APPLIED
    assert result.quantity == 13
    assert "2 点" in result.message and "13" in result.message

    # The order arrives; the engine applies it (15 − 2 = 13) and pushes 13: no conflict.
    lines = adapter.fetch_order_lines(sim.now() - timedelta(hours=1), sim.now())
    assert [(ln.order_id, ln.code, ln.units) for ln in lines] == [(order, "MUG-1", 2)]
    [again] = adapter.push_stock([push("MUG-1", 13)])
    assert (again.status, again.quantity, again.message) == (PushStatus.APPLIED, 13, "")
    assert sim.stock("MUG-1") == 13
    assert len(stale_codes(sim)) == 1


def test_a_second_push_before_the_order_arrives_still_keeps_the_sale(sim: ShopifySimulator) -> None:
    sim.add_listing("MUG-1", 10)
    adapter = make(sim)
    adapter.push_stock([push("MUG-1", 10)])
    sim.place_order([("MUG-1", 2)])
    adapter.push_stock([push("MUG-1", 15)])  # refused, recovered to 13
    # Another 入荷 of 1 before the order is fetched: the engine asks for 16.
    [result] = adapter.push_stock([push("MUG-1", 16)])
    assert (result.quantity, sim.stock("MUG-1")) == (14, 14)
    # Once a read-back shows the engine the shortfall (it holds the units itself),
    # the adapter stops holding them back: the engine's lowered target goes through.
    assert adapter.read_stock(["MUG-1"]) == {"MUG-1": 14}
    [after_read] = adapter.push_stock([push("MUG-1", 14)])
    assert (after_read.quantity, sim.stock("MUG-1")) == (14, 14)


def test_a_hand_edit_raising_shopify_is_overwritten(sim: ShopifySimulator) -> None:
    sim.add_listing("MUG-1", 10)
    adapter = make(sim)
    adapter.push_stock([push("MUG-1", 10)])
    sim.set_stock("MUG-1", 30)
    [result] = adapter.push_stock([push("MUG-1", 9)])
    assert (result.status, result.quantity, sim.stock("MUG-1")) == (PushStatus.APPLIED, 9, 9)


def test_the_engines_compare_to_is_used_when_given(sim: ShopifySimulator) -> None:
    sim.add_listing("MUG-1", 7)
    adapter = make(sim)
    [result] = adapter.push_stock([push("MUG-1", 9, compare_to=10)])  # the engine expected 10
    assert stale_codes(sim) == ["CHANGE_FROM_QUANTITY_STALE"]
    assert (result.quantity, sim.stock("MUG-1")) == (6, 6)


def test_unseen_units_are_released_after_the_engines_time_out(
    sim: ShopifySimulator, clock: VirtualClock
) -> None:
    sim.add_listing("MUG-1", 10)
    adapter = make(sim)
    adapter.push_stock([push("MUG-1", 10)])
    sim.set_stock("MUG-1", 7)  # looks like a sale, but no order ever comes
    adapter.push_stock([push("MUG-1", 10)])
    assert sim.stock("MUG-1") == 7
    clock.advance(31 * 60)
    adapter.push_stock([push("MUG-1", 10)])
    assert sim.stock("MUG-1") == 10


def test_a_cancel_shopify_restocked_makes_the_adapter_read_again(sim: ShopifySimulator) -> None:
    sim.add_listing("MUG-1", 10)
    adapter = make(sim)
    adapter.push_stock([push("MUG-1", 10)])
    order = sim.place_order([("MUG-1", 3)])
    assert order is not None
    window = (sim.now() - timedelta(hours=1), sim.now())
    adapter.fetch_order_lines(*window)
    sim.cancel_order(order)
    [line] = adapter.fetch_order_lines(window[0], sim.now())
    assert (line.units, line.mall_restocks) == (0, True)
    [result] = adapter.push_stock([push("MUG-1", 10)])
    assert (result.quantity, sim.stock("MUG-1")) == (10, 10)
    assert stale_codes(sim) == []


# --------------------------------------------------------------------------- versions


@pytest.mark.parametrize("version", VERSIONS)
def test_the_mutation_speaks_the_pinned_version(sim: ShopifySimulator, version: str) -> None:
    sim.add_listing("MUG-1", 1)
    adapter = make(sim, version=version)
    adapter.push_stock([push("MUG-1", 4)])
    [request] = [r for r in sim.requests if r.root == "inventorySetQuantities"]
    assert request.path == f"/admin/api/{version}/graphql.json"
    [quantity] = request.variables["input"]["quantities"]
    if version < "2026-01":
        assert "@idempotent" not in request.query
        assert quantity["compareQuantity"] == 1 and "changeFromQuantity" not in quantity
    else:
        assert '@idempotent(key: "' in request.query
        assert quantity["changeFromQuantity"] == 1 and "compareQuantity" not in quantity
    assert request.variables["input"]["name"] == "available"
    assert sim.rejections() == []


def test_a_lost_answer_is_retried_with_the_same_idempotency_key(sim: ShopifySimulator) -> None:
    sim.add_listing("MUG-1", 1)
    lost = {"left": 1}

    def lose_first_set(request: httpx.Request) -> httpx.Response:
        response = sim.handle(request)
        if b"inventorySetQuantities" in request.content and lost["left"]:
            lost["left"] -= 1
            raise httpx.ReadTimeout("answer lost", request=request)
        return response

    adapter = make(sim, transport=httpx.MockTransport(lose_first_set))
    [result] = adapter.push_stock([push("MUG-1", 4)])
    sets = [r for r in sim.requests if r.root == "inventorySetQuantities"]
    assert len(sets) == 2 and sets[0].query == sets[1].query  # same key, same body
    assert result.status is PushStatus.APPLIED and sim.stock("MUG-1") == 4
    assert sim.rejections() == []


def test_distinct_pushes_use_distinct_keys(sim: ShopifySimulator) -> None:
    sim.add_listing("MUG-1", 1)
    adapter = make(sim)
    adapter.push_stock([push("MUG-1", 4)])
    adapter.push_stock([push("MUG-1", 4)])
    queries = [r.query for r in sim.requests if r.root == "inventorySetQuantities"]
    assert len(set(queries)) == 2
    assert sim.rejections() == []


# --------------------------------------------------------------------------- lookup


def test_the_fuzzy_sku_search_is_filtered_to_the_exact_sku(sim: ShopifySimulator) -> None:
    for sku, qty in (("ZK-1", 1), ("ZK-10", 10), ("ZK-1-RED", 5)):
        sim.add_listing(sku, qty)
    adapter = make(sim)
    assert adapter.read_stock(["ZK-1"]) == {"ZK-1": 1}
    [result] = adapter.push_stock([push("ZK-1", 3)])
    assert result.status is PushStatus.APPLIED
    assert (sim.stock("ZK-1"), sim.stock("ZK-10"), sim.stock("ZK-1-RED")) == (3, 10, 5)


@pytest.mark.parametrize("fuzzy", [True, False])
def test_a_sku_on_two_variants_is_refused_not_guessed(clock: VirtualClock, fuzzy: bool) -> None:
    sim = ShopifySimulator(clock=clock, facts=Unconfirmed(fuzzy_sku_search=fuzzy))
    sim.add_listing("MUG-1", 1)
    sim.add_duplicate("MUG-1", 2)
    [result] = make(sim).push_stock([push("MUG-1", 5)])
    assert result.status is PushStatus.REJECTED and "2 件" in result.message
    assert sim.write_batch_sizes() == []


def test_an_untracked_variant_is_refused(sim: ShopifySimulator) -> None:
    sim.add_listing("MUG-1", 1, tracked=False)
    [result] = make(sim).push_stock([push("MUG-1", 5)])
    assert result.status is PushStatus.REJECTED and "追跡" in result.message


# --------------------------------------------------------------------------- locations


def test_several_locations_and_none_configured_refuses_to_guess(clock: VirtualClock) -> None:
    sim = ShopifySimulator(clock=clock, locations=("本店倉庫", "渋谷店"))
    sim.add_listing("MUG-1", 4)
    adapter = make(sim)
    result = adapter.check()
    assert not result.ok
    assert "本店倉庫" in result.message and "渋谷店" in result.message
    with pytest.raises(MallError, match="location"):
        adapter.push_stock([push("MUG-1", 1)])
    assert sim.stock("MUG-1") == 4


@pytest.mark.parametrize("how", ["name", "id", "gid"])
def test_the_configured_location_is_the_one_written(clock: VirtualClock, how: str) -> None:
    sim = ShopifySimulator(clock=clock, locations=("本店倉庫", "渋谷店"))
    sim.add_listing("MUG-1", 4)
    sim.stock_at("MUG-1", 1, 9)
    shibuya = sim.locations[1]
    wanted = {
        "name": "渋谷店",
        "id": str(shibuya.location_id),
        "gid": f"gid://shopify/Location/{shibuya.location_id}",
    }[how]
    adapter = make(sim, location=wanted)
    assert adapter.check().ok
    assert "渋谷店" in adapter.check().message
    assert adapter.read_stock(["MUG-1"]) == {"MUG-1": 9}
    adapter.push_stock([push("MUG-1", 2)])
    assert (sim.stock("MUG-1", 0), sim.stock("MUG-1", 1)) == (4, 2)


def test_an_unknown_location_is_named_in_the_message(sim: ShopifySimulator) -> None:
    result = make(sim, location="倉庫B").check()
    assert not result.ok and "倉庫B" in result.message and "本店倉庫" in result.message


def test_a_sku_not_stocked_at_the_location_is_refused(clock: VirtualClock) -> None:
    sim = ShopifySimulator(clock=clock, locations=("本店倉庫", "渋谷店"))
    sim.add_listing("MUG-1", 4)  # stocked at 本店倉庫 only
    [result] = make(sim, location="渋谷店").push_stock([push("MUG-1", 2)])
    assert result.status is PushStatus.REJECTED and "渋谷店" in result.message


# --------------------------------------------------------------------------- orders


def lines_of(adapter: ShopifyAdapter, sim: ShopifySimulator) -> dict[str, OrderLine]:
    got = adapter.fetch_order_lines(sim.now() - timedelta(days=1), sim.now())
    return {f"{ln.order_id}:{ln.code}": ln for ln in got}


def test_orders_are_polled_by_updated_at(sim: ShopifySimulator, clock: VirtualClock) -> None:
    sim.add_listing("MUG-1", 10)
    adapter = make(sim)
    old = sim.place_order([("MUG-1", 1)])
    clock.advance(3600)
    since = sim.now()
    new = sim.place_order([("MUG-1", 2)])
    lines = adapter.fetch_order_lines(since, sim.now())
    assert [ln.order_id for ln in lines] == [new]
    [request] = [r for r in sim.requests if r.root == "orders"]
    assert request.variables["q"].startswith("updated_at:>=")
    assert "updated_at:<=" in request.variables["q"]
    sim.cancel_order(str(old))  # a cancel bumps updatedAt: the old order shows again
    lines = adapter.fetch_order_lines(since, sim.now())
    assert {ln.order_id: ln.units for ln in lines} == {old: 0, new: 2}


def test_refunds_by_restock_type(sim: ShopifySimulator) -> None:
    sim.add_listing("MUG-1", 10)
    sim.add_listing("CUP-1", 10)
    adapter = make(sim)
    order = sim.place_order([("MUG-1", 3), ("CUP-1", 2)])
    assert order is not None
    sim.refund(order, "MUG-1", 1, "RETURN")  # came back to the shelf
    sim.refund(order, "CUP-1", 2, "NO_RESTOCK")  # money back, goods gone
    lines = lines_of(adapter, sim)
    mug, cup = lines[f"{order}:MUG-1"], lines[f"{order}:CUP-1"]
    assert (mug.units, mug.mall_restocks) == (2, True)
    assert (cup.units, cup.mall_restocks) == (2, False)
    assert (sim.stock("MUG-1"), sim.stock("CUP-1")) == (8, 8)


@pytest.mark.parametrize("refund_lines", [True, False])
@pytest.mark.parametrize("restocks", [True, False])
def test_a_cancel_reports_zero_units_and_whether_shopify_restocked(
    clock: VirtualClock, refund_lines: bool, restocks: bool
) -> None:
    facts = Unconfirmed(cancel_refund_lines=refund_lines, restock_on_cancel=restocks)
    sim = ShopifySimulator(clock=clock, facts=facts)
    sim.add_listing("MUG-1", 10)
    # Without refund lines Shopify says nothing: the config's reading decides.
    adapter = make(sim, restocks_on_cancel=restocks)
    order = sim.place_order([("MUG-1", 3)])
    assert order is not None
    sim.cancel_order(order)
    line = lines_of(adapter, sim)[f"{order}:MUG-1"]
    assert (line.units, line.mall_restocks, line.status) == (0, restocks, "CANCELLED")
    assert sim.stock("MUG-1") == (10 if restocks else 7)


def test_a_restock_at_another_location_is_not_ours(clock: VirtualClock) -> None:
    sim = ShopifySimulator(clock=clock, locations=("本店倉庫", "渋谷店"))
    sim.add_listing("MUG-1", 10)
    sim.stock_at("MUG-1", 1, 10)
    adapter = make(sim, location="本店倉庫")
    order = sim.place_order([("MUG-1", 2)], location=1)  # fulfilled from 渋谷店
    assert order is not None
    sim.refund(order, "MUG-1", 2, "RETURN")
    line = lines_of(adapter, sim)[f"{order}:MUG-1"]
    assert (line.units, line.mall_restocks) == (0, False)


def test_many_orders_and_long_orders_are_paged(sim: ShopifySimulator, clock: VirtualClock) -> None:
    sim.add_listing("MUG-1", 10_000)
    for _ in range(60):
        clock.advance(1)
        sim.place_order([("MUG-1", 1)])
    skus = [f"SKU-{n:02d}" for n in range(30)]
    for sku in skus:
        sim.add_listing(sku, 5)
    big = sim.place_order([(sku, 1) for sku in skus])
    lines = make(sim).fetch_order_lines(sim.now() - timedelta(days=1), sim.now())
    assert len(lines) == 60 + 30
    assert {ln.code for ln in lines if ln.order_id == big} == set(skus)
    assert sim.rejections() == []


# --------------------------------------------------------------------------- limits and errors


@pytest.mark.parametrize("status", [200, 429])
def test_throttled_in_a_200_or_a_429_is_waited_out(clock: VirtualClock, status: int) -> None:
    sim = ShopifySimulator(clock=clock, facts=Unconfirmed(throttle_status=status))
    sim.add_listing("MUG-1", 1)
    adapter = make(sim)
    adapter.check()  # the location is resolved; MUG-1 is not known yet: a search (403)
    sim.spend_points(1990)  # another process of the same app emptied the bucket
    started = clock.monotonic()
    assert adapter.read_stock(["MUG-1"]) == {"MUG-1": 1}
    throttled = [r for r in sim.requests if "THROTTLED" in r.codes]
    assert [r.status for r in throttled] == [status]
    assert clock.monotonic() - started >= (403 - 10) / 100 - 0.5


def test_the_pacer_keeps_a_large_catalogue_under_the_bucket(clock: VirtualClock) -> None:
    sim = ShopifySimulator(clock=clock, facts=Unconfirmed(bucket_size=1000, restore_rate=50))
    codes = [sim.add_listing(f"SKU-{n:04d}", n) for n in range(600)]
    adapter = make(sim)
    # The read-back reads what the bucket affords each cycle and the rest on later ones.
    read: dict[str, int] = {}
    for _cycle in range(60):
        read.update(adapter.read_stock(codes))
        clock.advance(15)
    assert read == {code: n for n, code in enumerate(codes)}
    # A push looks all 600 up at once: the pacer waits for the bucket between searches.
    results = make(sim).push_stock([push(code, 1) for code in codes])
    assert {r.status for r in results} == {PushStatus.APPLIED}
    assert all(r.codes == [] for r in sim.requests)  # never THROTTLED: the adapter waited


def test_a_persistent_throttle_surfaces_as_rate_limited(sim: ShopifySimulator) -> None:
    sim.add_listing("MUG-1", 1)
    sim.fail_next("429", times=50)
    with pytest.raises(RateLimited):
        make(sim).read_stock(["MUG-1"])


def test_a_version_shopify_does_not_serve_is_a_settings_problem(clock: VirtualClock) -> None:
    sim = ShopifySimulator(clock=clock, versions=("2026-04",))
    adapter = make(sim, version="2025-10")
    with pytest.raises(AuthError, match="2025-10"):
        adapter.read_stock(["MUG-1"])


def test_the_token_never_reaches_a_message(sim: ShopifySimulator) -> None:
    sim.expire_credentials()
    adapter = make(sim)
    result = adapter.check()
    assert not result.ok and sim.token not in result.message
    with pytest.raises(AuthError) as err:
        adapter.push_stock([push("MUG-1", 1)])
    assert sim.token not in str(err.value)
    assert sim.token not in json.dumps(adapter.describe())


def test_check_names_the_shop_location_and_version(sim: ShopifySimulator) -> None:
    result = make(sim).check()
    assert result.ok
    assert "本店倉庫" in result.message and "2026-04" in result.message


# --------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    "typed",
    [
        "example",
        "example.myshopify.com",
        " Example.myshopify.com ",
        "https://example.myshopify.com/admin/products",
        f"https://{ADMIN_HOST}/store/example/orders",  # pasted text, never fetched
    ],
)
def test_the_shop_is_accepted_as_staff_paste_it(typed: str) -> None:
    assert normalize_shop(typed) == "example.myshopify.com"
    config = ShopifyConfig(shop=typed)
    assert config.shop_url() == "https://example.myshopify.com"


@pytest.mark.parametrize("typed", ["www.example.jp", "https://shop.example.com/", "ex ample"])
def test_a_custom_domain_is_refused_with_a_hint(typed: str) -> None:
    with pytest.raises(ValidationError, match=r"myshopify\.com"):
        ShopifyConfig(shop=typed)


def test_api_version_must_be_a_release(sim: ShopifySimulator) -> None:
    assert ShopifyConfig().api_version == "2026-04"
    with pytest.raises(ValidationError, match="api_version"):
        ShopifyConfig(api_version="2026-05")
