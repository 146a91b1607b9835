"""The Shopify drift read-back never waits on the cost bucket (issue 10).

``read_stock`` reads what the bucket affords now, keeps a reserve for the pushes of the
same cycle and queues the rest; later calls read the queue first. Time here is the
simulator's virtual clock: "no wait" means it moved by the calls' latency alone.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from adapters.shopify import ShopifyAdapter
from adapters.shopify.catalog import Catalog, ReadQueue
from bot.core.domain import PushStatus, StockPush
from bot.sandbox.clock import VirtualClock
from bot.sandbox.simulators.shopify import ShopifySimulator, Unconfirmed
from tests.adapters.test_shopify import make

LATENCY = 0.05
SEARCH = Catalog.SEARCH_COST  # requested: 2 + 1 + 100 × 4
SEARCH_ACTUAL = 2 + 1 + Catalog.SKUS_PER_SEARCH * 4  # 25 exact SKUs found


SMALL = Unconfirmed(bucket_size=1000, restore_rate=50)
DEFAULT = Unconfirmed()


def shop(
    products: int, *, latency: float = LATENCY, facts: Unconfirmed = DEFAULT
) -> ShopifySimulator:
    sim = ShopifySimulator(clock=VirtualClock(), latency=latency, facts=facts)
    for n in range(products):
        sim.add_listing(f"SKU-{n:04d}", n)
    return sim


def codes(products: int) -> list[str]:
    return [f"SKU-{n:04d}" for n in range(products)]


def leave_in_bucket(sim: ShopifySimulator, adapter: ShopifyAdapter, points: float) -> None:
    """Leave ``points`` in the bucket and let the adapter see it (a cheap check)."""
    adapter.check()  # resolves the location
    sim._clock.advance(sim.facts.bucket_size / sim.facts.restore_rate)  # a full bucket
    sim.leave_points(points)
    adapter.check()  # the shop query costs 1: the pacer now knows what is left


def read_timed(
    sim: ShopifySimulator, adapter: ShopifyAdapter, asked: list[str]
) -> tuple[dict[str, int], float, int]:
    """The answer, the virtual seconds it took and the requests it made."""
    clock = sim._clock
    before, started = len(sim.requests), clock.monotonic()
    answer = adapter.read_stock(asked)
    return answer, clock.monotonic() - started, len(sim.requests) - before


def test_a_nearly_empty_bucket_makes_no_call_and_no_wait() -> None:
    sim = shop(100)
    adapter = make(sim)
    leave_in_bucket(sim, adapter, 100)
    answer, took, calls = read_timed(sim, adapter, codes(100))
    assert (answer, took, calls) == ({}, 0.0, 0)
    assert len(adapter.unread) == 100  # all asked, none read: they wait their turn
    adapter.read_stock(codes(100)[50:] + codes(100)[:10])
    assert len(adapter.unread) == 100  # asked again: no SKU is queued twice


def test_a_part_full_bucket_answers_a_subset_without_waiting() -> None:
    sim = shop(400)
    adapter = make(sim)
    # Room for the reserve, one search admitted at 403 and two more after refunds.
    leave_in_bucket(sim, adapter, ShopifyAdapter.READ_RESERVE + SEARCH + 1 + 2 * SEARCH_ACTUAL + 10)
    answer, took, calls = read_timed(sim, adapter, codes(400))
    assert calls == 3 and took == pytest.approx(calls * LATENCY)
    assert answer == {f"SKU-{n:04d}": n for n in range(75)}  # the first three searches
    assert len(adapter.unread) == 400 - 75
    assert all(r.codes == [] for r in sim.requests)  # nothing THROTTLED either


def test_the_reserve_is_left_for_the_pushes_that_follow() -> None:
    sim = shop(1000, latency=0.0)
    adapter = make(sim)
    adapter.read_stock(codes(1000))
    assert len(adapter.unread) > 0  # the bucket did not afford all 1,000
    available = adapter._api.pacer.available_now()  # what the last answer said is left
    assert ShopifyAdapter.READ_RESERVE <= available < ShopifyAdapter.READ_RESERVE + SEARCH + 1
    # 40 SKUs the read-back did not reach: two searches to look up, two to read, a set.
    pushes = [StockPush(mall="shopify", code=c, quantity=1) for c in codes(1000)[-40:]]
    started = sim._clock.monotonic()
    results = adapter.push_stock(pushes)
    assert {r.status for r in results} == {PushStatus.APPLIED}
    assert sim._clock.monotonic() == started  # the push did not wait on the bucket


def test_queued_skus_are_read_first_and_an_ask_again_keeps_its_place() -> None:
    sim = shop(100, latency=0.0, facts=SMALL)
    adapter = make(sim)
    leave_in_bucket(sim, adapter, ShopifyAdapter.READ_RESERVE + SEARCH + 10)  # one search
    first = adapter.read_stock(codes(50))
    assert set(first) == set(codes(25))
    # SKU-0025..49 wait; 50..99 are asked now behind them, the waiting ones again.
    leave_in_bucket(sim, adapter, ShopifyAdapter.READ_RESERVE + SEARCH + 10)
    second = adapter.read_stock(list(reversed(codes(100))))
    assert set(second) == set(codes(50)) - set(codes(25))


def fuzzy_shop(prefixed: int) -> ShopifySimulator:
    """``P`` and ``prefixed`` SKUs ``P-…`` it prefixes (the fuzzy search finds them all)."""
    sim = shop(0, latency=0.0)
    sim.add_listing("P", 7)
    for n in range(prefixed):
        sim.add_listing(f"P-{n}", 1)
    return sim


def test_a_started_search_spends_the_reserve_on_its_further_pages() -> None:
    sim = fuzzy_shop(150)  # two pages of 100
    adapter = make(sim)
    # The first page fits with the reserve to spare (403 reserved, 403 used: 100 nodes).
    leave_in_bucket(sim, adapter, ShopifyAdapter.READ_RESERVE + SEARCH + 10)
    started = sim._clock.monotonic()
    assert adapter.read_stock(["P"]) == {"P": 7}
    assert sim._clock.monotonic() == started  # the second page came out of the reserve
    assert [r.root for r in sim.requests[-2:]] == ["productVariants"] * 2


def test_a_sku_prefixing_hundreds_does_not_block_the_queue() -> None:
    """Five pages for ``P``: dropped unfinished it would head the queue for ever."""
    sim = fuzzy_shop(450)
    others = [sim.add_listing(f"Q{n}", n) for n in range(60)]
    adapter = make(sim)
    read: dict[str, int] = {}
    for _cycle in range(10):
        read.update(adapter.read_stock(["P", *others]))
        sim._clock.advance(15)
    assert read == {"P": 7, **{code: n for n, code in enumerate(others)}}
    assert len(adapter.unread) <= 1 + len(others)
    assert all(r.codes == [] for r in sim.requests)  # the pages were paced, not THROTTLED


def test_an_unthrottled_full_bucket_reads_a_small_shop_at_once() -> None:
    sim = shop(200)
    answer, took, calls = read_timed(sim, make(sim), codes(200))
    assert answer == {f"SKU-{n:04d}": n for n in range(200)}
    assert took == pytest.approx(calls * LATENCY)


# --------------------------------------------------------------------------- properties


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    products=st.integers(min_value=1, max_value=120),
    restores=st.lists(st.floats(min_value=1.0, max_value=12.0), min_size=1, max_size=8),
)
def test_asking_the_same_skus_again_reads_each_once_before_any_twice(
    products: int, restores: list[float]
) -> None:
    """Fairness: however much the bucket holds per call, the read goes round every SKU."""
    sim = shop(products, latency=0.0, facts=SMALL)
    adapter = make(sim)
    asked = [*codes(products), "NOT-IN-SHOP"]
    counts: dict[str, int] = {}
    calls = 0
    while len(counts) < products:
        calls += 1
        assert calls < 200, "the read-back stopped making progress"
        for sku in adapter.read_stock(asked):
            counts[sku] = counts.get(sku, 0) + 1
        if len(counts) < products:  # the call that completes the round may fill its search
            assert set(counts.values()) == {1}  # with SKUs read before: none before that
        sim._clock.advance(restores[calls % len(restores)])
    assert set(counts) == set(codes(products))
    assert len(adapter.unread) <= len(asked)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    asks=st.lists(
        st.lists(st.integers(min_value=0, max_value=89), min_size=1, max_size=60, unique=True),
        min_size=1,
        max_size=10,
    ),
    restores=st.lists(st.floats(min_value=0.0, max_value=6.0), min_size=1, max_size=10),
    start=st.floats(min_value=0.0, max_value=1000.0),
)
@example(  # SKU-0050..59 wait from the first ask; the second names new SKUs before them
    asks=[list(range(60)), [*range(60, 80), *range(50, 60)]], restores=[3.0], start=1000.0
)
def test_the_queue_keeps_the_order_of_asks_and_no_more_than_was_asked(
    asks: list[list[int]], restores: list[float], start: float
) -> None:
    """Against a model: a SKU waits from its first unread ask; the oldest is read first.

    Reads go in queue order, the head first. A SKU whose item is known is read by id
    with the known SKUs behind it, passing SKUs that wait for a search; a search takes
    the SKUs not known in queue order. So a SKU read by search is older than every SKU
    not known that is left unread.
    """
    sim = shop(85, latency=0.0, facts=SMALL)  # 85..89 are not in the shop
    adapter = make(sim)
    adapter.check()
    sim.leave_points(start)
    adapter.check()
    items = {f"gid://shopify/InventoryItem/{v.item_id}": v.sku for v in sim.variants}
    model: dict[str, tuple[int, int]] = {}  # SKU → (ask, position) it has waited since
    distinct: set[str] = set()
    for n, ask in enumerate(asks):
        asked = [f"SKU-{i:04d}" for i in ask]
        distinct |= set(asked)
        for position, sku in enumerate(asked):
            model.setdefault(sku, (n, position))
        not_known = {sku for sku in asked if not adapter._catalog.readable(sku)}
        sent = len(sim.requests)
        answer = adapter.read_stock(asked)
        assert set(answer) <= set(asked)
        assert all(answer[sku] == int(sku[4:]) for sku in answer)
        read = {sku for sku in asked if sku not in adapter.unread}
        assert set(answer) <= read  # unknown SKUs are read too, and left out
        oldest_first = sorted(set(asked), key=model.__getitem__)
        assert not read or oldest_first[0] in read  # the head is read first
        by_id = {
            items[i] for r in sim.requests[sent:] if r.root == "nodes" for i in r.variables["ids"]
        }
        left = [model[sku] for sku in not_known - read]
        assert all(model[sku] < min(left) for sku in read - by_id if left)
        for sku in read:
            del model[sku]
        assert set(model) == {s for s in distinct if s in adapter.unread}
        assert len(adapter.unread) <= len(distinct)
        sim._clock.advance(restores[n % len(restores)])


def test_the_queue_order_is_oldest_ask_first() -> None:
    queue = ReadQueue()
    assert queue.order(["b", "a", "b"]) == ["b", "a"]
    assert queue.order(["c", "a"]) == ["a", "c"]  # a keeps its place ahead of c
    queue.done(["a"])
    assert queue.order(["a", "c", "b"]) == ["b", "c", "a"]  # a read: queued behind
    assert len(queue) == 3 and "a" in queue


# --------------------------------------------------------------------------- reads by id

ROOMY = Unconfirmed(bucket_size=100_000, restore_rate=10_000)  # nothing waits on the bucket


def read_all(sim: ShopifySimulator, adapter: ShopifyAdapter, asked: list[str]) -> dict[str, int]:
    """Read-backs over cycles until every SKU asked was read once."""
    read: dict[str, int] = {}
    for _cycle in range(100):
        read.update(adapter.read_stock(asked))
        if not adapter.unread:
            return read
        sim._clock.advance(15)
    raise AssertionError("the read-back stopped making progress")


def test_known_skus_are_read_by_id_one_call_per_250() -> None:
    sim = shop(600, latency=0.0, facts=ROOMY)
    adapter = make(sim)
    adapter.read_stock(codes(600))  # the first read searches: the items are learnt
    assert not adapter.unread
    for n in (1, 2, 3):
        sim.set_stock(f"SKU-{n:04d}", 100 + n)  # hand edits the exact read must see
    sent = len(sim.requests)
    answer = adapter.read_stock(codes(600))
    assert answer == {f"SKU-{n:04d}": 100 + n if n in (1, 2, 3) else n for n in range(600)}
    calls = sim.requests[sent:]
    assert [r.root for r in calls] == ["nodes"] * 3
    assert [len(r.variables["ids"]) for r in calls] == [250, 250, 100]
    assert [(r.cost, r.actual_cost) for r in calls] == [(750, 750), (750, 750), (300, 300)]
    assert all(r.codes == [] for r in sim.requests)


def test_prefix_skus_are_never_paged_through_again_once_known() -> None:
    """The fuzzy search finds ZK-10..19, ZK-100.. for ZK-1: a read by id finds one item."""
    sim = ShopifySimulator(clock=VirtualClock(), facts=Unconfirmed(fuzzy_sku_search=True))
    asked = [sim.add_listing(sim.sample_code(n), n) for n in range(1, 301)]
    adapter = make(sim)
    assert read_all(sim, adapter, asked) == {f"ZK-{n}": n for n in range(1, 301)}
    first = [r for r in sim.requests if r.root == "productVariants"]
    assert len(first) > len(asked) / Catalog.SKUS_PER_SEARCH  # fuzzy pages were read
    sim._clock.advance(15)
    sent = len(sim.requests)
    started = sim._clock.monotonic()
    answer = adapter.read_stock(asked)
    assert answer == {f"ZK-{n}": n for n in range(1, 301)}
    assert [r.root for r in sim.requests[sent:]] == ["nodes", "nodes"]  # 250 + 50 ids
    assert sim._clock.monotonic() == started  # no wait on the bucket either


def test_a_deleted_item_is_searched_again_and_a_recreated_one_is_found() -> None:
    sim = shop(30, latency=0.0)
    adapter = make(sim)
    adapter.read_stock(codes(30))
    old_item = adapter._catalog.known("SKU-0003")
    sim.remove_listing("SKU-0003")
    sim.add_listing("SKU-0003", 42)  # staff recreated it: a new variant, a new item
    sim.remove_listing("SKU-0004")  # and deleted this one for good
    sent = len(sim.requests)
    answer = adapter.read_stock(codes(30))
    assert answer == {**{c: n for n, c in enumerate(codes(30)) if n != 4}, "SKU-0003": 42}
    assert [r.root for r in sim.requests[sent:]] == ["nodes", "productVariants"]
    search = sim.requests[-1].variables["q"]
    assert search == 'sku:"SKU-0003" OR sku:"SKU-0004"'  # only what the read by id lost
    new_item = adapter._catalog.known("SKU-0003")
    assert old_item is not None and new_item is not None
    assert new_item.item_id != old_item.item_id
    gone = adapter._catalog.known("SKU-0004")
    assert gone is not None and not gone.exists
    sent = len(sim.requests)
    adapter.read_stock(["SKU-0003", "SKU-0004"])  # the one gone is looked up each time
    assert [r.root for r in sim.requests[sent:]] == ["nodes", "productVariants"]


def test_an_item_whose_sku_was_retyped_is_not_read_as_the_old_sku() -> None:
    sim = shop(5, latency=0.0)
    adapter = make(sim)
    adapter.read_stock(codes(5))
    sim.change_sku("SKU-0002", "SKU-0002-OLD")  # the item now carries another SKU
    answer = adapter.read_stock(codes(5))
    assert answer == {c: n for n, c in enumerate(codes(5)) if n != 2}
    assert [r.root for r in sim.requests[-2:]] == ["nodes", "productVariants"]
    variant = adapter._catalog.known("SKU-0002")
    assert variant is not None and not variant.exists


def test_a_read_by_id_asks_only_as_many_ids_as_the_bucket_affords() -> None:
    sim = shop(400, latency=0.0, facts=ROOMY)
    adapter = make(sim)
    adapter.read_stock(codes(400))
    # 100 ids (300 points) fit with the reserve and the pacer's point of slack to spare.
    leave_in_bucket(sim, adapter, ShopifyAdapter.READ_RESERVE + 1 + 1 + 300)
    answer, took, calls = read_timed(sim, adapter, codes(400))
    assert (len(answer), took, calls) == (100, 0.0, 1)
    assert answer == {f"SKU-{n:04d}": n for n in range(100)}
    assert len(sim.requests[-1].variables["ids"]) == 100
    assert len(adapter.unread) == 300
    # Room for 24 ids while 300 wait: not worth a call; nothing is sent, nothing waits.
    leave_in_bucket(sim, adapter, ShopifyAdapter.READ_RESERVE + 1 + 1 + 3 * 24)
    answer, took, calls = read_timed(sim, adapter, codes(400))
    assert (answer, took, calls) == ({}, 0.0, 0)


def test_a_stale_compare_is_read_again_by_id() -> None:
    sim = shop(3, latency=0.0)
    adapter = make(sim)
    adapter.read_stock(codes(3))
    assert sim.place_order([("SKU-0002", 1)]) is not None  # a sale the bot has not seen
    sent = len(sim.requests)
    [result] = adapter.push_stock([StockPush(mall="shopify", code="SKU-0002", quantity=5)])
    assert result.status == PushStatus.APPLIED and sim.stock("SKU-0002") == 4
    roots = [r.root for r in sim.requests[sent:]]
    assert "productVariants" not in roots and "nodes" in roots


def test_a_first_push_reads_each_quantity_once() -> None:
    """The lookup's search read the quantities just now: no read by id after it."""
    sim = shop(300, latency=0.0, facts=ROOMY)
    adapter = make(sim)
    results = adapter.push_stock(
        [StockPush(mall="shopify", code=c, quantity=1) for c in codes(300)]
    )
    assert {r.status for r in results} == {PushStatus.APPLIED}
    roots = [r.root for r in sim.requests]
    assert roots.count("productVariants") == 300 // Catalog.SKUS_PER_SEARCH
    assert "nodes" not in roots
    assert all(r.codes == [] for r in sim.requests)  # every compare was the number shown
    assert all(sim.stock(c) == 1 for c in codes(300))
