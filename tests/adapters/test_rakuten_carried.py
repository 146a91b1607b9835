"""Orders of the fetch overlap the last fetch read are carried over, not asked again.

The worker asks 楽天 for orders from two minutes before its cursor, so most of a fetch's
placed orders were read a cycle ago. ``RakutenAdapter._carried`` re-reports those as
read then unless the watch search (which spans the placed window too) lists them in
400/800/900 now, or they were in one of those then. The property holds the adapter to
the same adapter reading every placed order (the former fetch, kept as the oracle) on
two identical shops for changes a poll can see; the cases pin the getOrder calls saved
and show that a change made in place (never 400) still arrives within the re-read's
five minutes.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.rakuten import RakutenAdapter
from adapters.rakuten.orders import SeenOrder
from bot.core.domain import OrderLine
from tests.adapters.test_rakuten_orders import Shop, status, units


class _ReadsEveryPlacedOrder(RakutenAdapter):
    """The fetch as it was: every order of the placed window is asked again."""

    def _carried(self, placed: list[str], watched: list[str]) -> dict[str, SeenOrder]:
        return {}


def _shop(oracle: bool = False) -> Shop:
    shop = Shop(enforce_rate_limits=False)
    if oracle:
        shop.adapter = _ReadsEveryPlacedOrder(
            shop.client,
            service_secret="SP123456_sim",
            license_key="SL123456_sim",
            clock=shop.clock,
        )
    shop.sim.add_item("tshirt", "M", 500)
    shop.sim.add_item("mug", "blue", 500)
    return shop


def _asked(shop: Shop, since: int = 0) -> list[str]:
    """Order numbers getOrder was asked for, in the simulator's requests from ``since``."""
    calls = [r for r in shop.sim.requests[since:] if r.path.rstrip("/").endswith("getOrder")]
    return [n for r in calls for n in r.json["orderNumberList"]]


EVENTS = st.lists(
    st.one_of(
        st.tuples(st.just("place"), st.integers(1, 3)),
        st.tuples(
            st.sampled_from(["cancel", "request", "confirm", "change", "settle"]), st.integers(0, 9)
        ),
        st.tuples(st.just("ship"), st.integers(0, 9)),
        st.tuples(st.just("cycle"), st.integers(1, 3)),
    ),
    min_size=1,
    max_size=30,
)


def _apply(shop: Shop, placed: list[str], event: tuple[str, int]) -> None:
    """One change a poll can see (no change in place: the re-read finds those later)."""
    kind, n = event
    if kind == "place":
        placed.append(shop.order(("tshirt:M", n), ("mug:blue", 1)))
        return
    if not placed:
        return
    number = placed[n % len(placed)]
    order = shop.sim.orders[number]
    progress = order.progress
    if kind == "cancel" and progress in (100, 200, 300):
        shop.sim.cancel_order(number)
    elif kind == "request" and progress in (100, 200, 300):
        shop.sim.request_cancel(number)
    elif kind == "confirm" and progress == 800:
        shop.sim.confirm_cancel(number)
    elif kind == "change" and progress in (100, 200, 300) and order.lines[0].units > 1:
        shop.sim.change_line_units(number, 0, order.lines[0].units - 1, via_400=True)
    elif kind == "settle" and progress == 400:
        shop.sim.confirm_change(number)
    elif kind == "ship" and progress in (100, 200, 300):
        shop.sim.ship(number)


def _facts(lines: list[OrderLine]) -> list[dict[str, object]]:
    """Each line but the mall's status word, which nothing the bot keeps or writes
    reads (a carried order keeps the word it was read with: a shipment inside the
    overlap is not read again for it)."""
    return [ln.model_dump(exclude={"status"}) for ln in lines]


def _same_time(*shops: Shop) -> None:
    """The oracle asks more, so its order-call pacing sleeps longer: both start a cycle
    at the later of their two times (an order is placed at the same time in both)."""
    latest = max(shop.clock.now() for shop in shops)
    for shop in shops:
        shop.clock.advance((latest - shop.clock.now()).total_seconds())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EVENTS)
def test_a_fetch_reports_what_reading_every_placed_order_reports(
    events: list[tuple[str, int]],
) -> None:
    shops = (_shop(), _shop(oracle=True))
    placed: tuple[list[str], list[str]] = ([], [])
    for event in [*events, ("cycle", 9)]:
        if event[0] != "cycle":
            _same_time(*shops)
            for shop, numbers in zip(shops, placed, strict=True):
                _apply(shop, numbers, event)
            continue
        for _ in range(event[1]):
            _same_time(*shops)
            got, want = (shop.cycle() for shop in shops)
            assert _facts(got) == _facts(want)
    assert placed[0] == placed[1]  # the two shops stayed the same shop


def test_an_order_read_in_the_overlap_is_not_asked_again() -> None:
    """The usual cycle: last cycle's new orders come back in the placed window; only the
    new order is asked about, and the others are reported as read (the same lines)."""
    shop = _shop()
    shop.cycle()
    first = [shop.order(("tshirt:M", 1)) for _ in range(3)]
    read = shop.cycle()
    assert sorted(_asked(shop)) == sorted(first)
    new = shop.order(("mug:blue", 2))
    before = len(shop.sim.requests)
    again = shop.cycle()
    assert _asked(shop, before) == [new]
    assert {ln.order_id for ln in again} == {*first, new}
    same = {ln.order_id: ln for ln in again}
    assert all(same[ln.order_id] is ln for ln in read)
    for _ in range(10):  # the rest of the overlap and past it: never asked again
        before = len(shop.sim.requests)
        shop.cycle()
        assert not set(_asked(shop, before)) & {*first, new}


def test_a_cancel_inside_the_overlap_is_seen_the_next_cycle() -> None:
    shop = _shop()
    shop.cycle()
    number = shop.order(("tshirt:M", 2))
    assert units(shop.cycle(), number) == {"tshirt:M": 2}
    shop.sim.request_cancel(number)
    lines = shop.cycle()
    assert status(lines, number) == {"キャンセル確定待ち"}
    shop.sim.confirm_cancel(number)
    lines = shop.cycle()
    assert units(lines, number) == {"tshirt:M": 0}
    assert status(lines, number) == {"キャンセル確定"}


def test_a_change_pending_and_settled_inside_the_overlap_is_read_again() -> None:
    """400 shows in the watch; once confirmed the order has left 400, and is read again."""
    shop = _shop()
    shop.cycle()
    number = shop.order(("tshirt:M", 3))
    shop.cycle()
    shop.sim.change_line_units(number, 0, 2, via_400=True)
    assert status(shop.cycle(), number) == {"変更確定待ち"}
    shop.sim.confirm_change(number)
    before = len(shop.sim.requests)
    lines = shop.cycle()
    assert number in _asked(shop, before)
    assert units(lines, number) == {"tshirt:M": 2}
    assert status(lines, number) == {"注文確認待ち"}


def test_a_change_in_place_inside_the_overlap_arrives_within_the_reread() -> None:
    """Never 400: no poll can see it; the re-read of unshipped orders finds it, as it
    finds one made to any older order (test_rakuten_orders.py)."""
    shop = _shop()
    shop.cycle()
    number = shop.order(("tshirt:M", 3), ("mug:blue", 1))
    shop.cycle()
    shop.sim.change_line_units(number, 0, 1, via_400=False)
    changed_at = shop.clock.now()
    lines = shop.until(lambda lines: units(lines, number).get("tshirt:M") == 1, minutes=7)
    assert units(lines, number) == {"tshirt:M": 1, "mug:blue": 1}
    assert shop.clock.now() - changed_at <= timedelta(minutes=7)
    assert isinstance(shop.adapter, RakutenAdapter)
