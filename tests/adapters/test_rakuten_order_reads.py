"""OrderReads: an order getOrder answers again unchanged is not parsed again.

The fast path (the SeenOrder made last fetch, found by the order's answer bytes) must
give exactly what parse_order gives, which stays the oracle; and the usual cycle, whose
order overlap reads last cycle's new orders again, must take it.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.rakuten import RakutenAdapter, orders
from adapters.rakuten import adapter as rakuten_adapter
from adapters.rakuten.orders import OrderReads, SeenOrder, parse_order
from bot.sandbox.clock import VirtualClock
from bot.sandbox.simulators.rakuten import RakutenSimulator

START = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)

# Values that compare equal as Python values but not as JSON (1 == 1.0 == True, while
# str() of them differs), and the kinds of text and flags an OrderModel holds.
_SCALAR = st.one_of(
    st.sampled_from([0, 1, 2, 1.0, True, False, None, "1", "2", "", float("nan")]),
    st.integers(-3, 3),
)
_TEXT = st.sampled_from(["item-1", "Item-1", " item-1 ", "mug", "", None, 7])
_ITEM = st.fixed_dictionaries(
    {"itemDetailId": _SCALAR, "manageNumber": _TEXT, "units": _SCALAR},
    optional={
        "inventoryType": _SCALAR,
        "restoreInventoryFlag": _SCALAR,
        "deleteItemFlag": _SCALAR,
        "SkuModelList": st.one_of(
            st.none(), st.lists(st.fixed_dictionaries({"variantId": _TEXT}), max_size=2)
        ),
    },
)
_ORDER = st.fixed_dictionaries(
    {
        "orderNumber": st.sampled_from(["a", "b", "c"]),
        "orderProgress": st.sampled_from([100, 300, 400, 800, 900, "100", None]),
        "orderDatetime": st.sampled_from(
            ["2026-11-23T09:00:00+0900", "2026-11-23T09:00:01+0900", None, "garbage"]
        ),
    },
    optional={
        "ChangeReasonModelList": st.one_of(
            st.none(),
            st.lists(
                st.fixed_dictionaries(
                    {"changeApplyDatetime": st.sampled_from(["2026-11-23T10:00:00+0900", None])}
                ),
                max_size=2,
            ),
        ),
        "PackageModelList": st.lists(
            st.fixed_dictionaries(
                {"ItemModelList": st.lists(_ITEM, max_size=3)},
                optional={"packageDeleteFlag": _SCALAR},
            ),
            max_size=2,
        ),
    },
)


def _same(got: SeenOrder, want: SeenOrder) -> None:
    assert got == want
    assert got.lines == want.lines
    assert [ln.model_dump() for ln in got.lines] == [ln.model_dump() for ln in want.lines]
    assert got.unshipped() == want.unshipped()


_FETCHES = st.lists(
    st.tuples(st.lists(st.integers(0, 5), max_size=4), st.booleans(), st.booleans()), max_size=6
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_ORDER, min_size=1, max_size=6), _FETCHES)
def test_a_read_gives_what_parse_order_gives(
    pool: list[dict[str, Any]], fetches: list[tuple[list[int], bool, bool]]
) -> None:
    """Whatever was read before (the same order, another one, a failed fetch)."""
    reads = OrderReads("rakuten")
    last: dict[str, tuple[dict[str, Any], bool, SeenOrder]] = {}
    for picks, restock_default, succeeded in fetches:
        reads.start()
        now: dict[str, tuple[dict[str, Any], bool, SeenOrder]] = {}
        for model in (pool[i % len(pool)] for i in picks):
            number = model["orderNumber"]
            got = reads.parse(number, model, restock_default=restock_default)
            _same(got, parse_order(model, mall="rakuten", restock_default=restock_default))
            before = last.get(number)
            if before is not None and before[0] is model and before[1] is restock_default:
                assert got is before[2]  # the fast path: the same model read again
            now[number] = (model, restock_default, got)
        if succeeded:
            reads.done()
            last = now


def _model(units: Any = 1, detail: Any = 11) -> dict[str, Any]:
    return {
        "orderNumber": "n-1",
        "orderProgress": 100,
        "orderDatetime": "2026-11-23T09:00:00+0900",
        "PackageModelList": [
            {
                "packageDeleteFlag": 0,
                "ItemModelList": [
                    {
                        "itemDetailId": detail,
                        "manageNumber": "mug",
                        "units": units,
                        "SkuModelList": [{"variantId": "blue"}],
                    }
                ],
            }
        ],
    }


def test_an_unchanged_order_is_the_seen_order_of_last_fetch() -> None:
    reads = OrderReads("rakuten")
    reads.start()
    first = reads.parse("n-1", _model(), restock_default=True)
    reads.done()
    reads.start()
    again = reads.parse("n-1", _model(), restock_default=True)
    assert again is first
    assert again.unshipped() is first.unshipped()  # the book finds it by identity


@pytest.mark.parametrize(
    ("before", "after", "restock_after"),
    [
        (_model(units=1), _model(units=2), True),  # changed units
        (_model(detail=1), _model(detail=1.0), True),  # equal as values, "1" vs "1.0"
        (_model(detail=1), _model(detail=True), True),  # equal as values, "1" vs "True"
        (_model(), _model(), False),  # the shop default the lines' restock falls back to
    ],
)
def test_an_order_whose_answer_differs_is_parsed_afresh(
    before: dict[str, Any], after: dict[str, Any], restock_after: bool
) -> None:
    reads = OrderReads("rakuten")
    reads.start()
    first = reads.parse("n-1", before, restock_default=True)
    reads.done()
    reads.start()
    got = reads.parse("n-1", after, restock_default=restock_after)
    assert got is not first
    _same(got, parse_order(after, mall="rakuten", restock_default=restock_after))


def test_only_the_last_fetchs_reads_are_kept() -> None:
    reads = OrderReads("rakuten")
    reads.start()
    first = reads.parse("n-1", _model(), restock_default=True)
    reads.done()
    reads.start()  # a fetch that reads other orders only
    reads.parse("n-2", {**_model(), "orderNumber": "n-2"}, restock_default=True)
    reads.done()
    assert len(reads) == 1
    reads.start()
    assert reads.parse("n-1", _model(), restock_default=True) is not first


def test_the_usual_cycle_reads_the_overlaps_orders_without_parsing_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The 2-minute order overlap reads last cycle's new orders again: none is parsed again,
    and their lines are the same objects (only the new order is parsed)."""
    clock = VirtualClock(START)
    sim = RakutenSimulator(clock=clock)
    code = sim.add_item("mug", "blue", 100)
    adapter = RakutenAdapter(
        httpx.Client(transport=sim.transport, base_url=RakutenAdapter.BASE_URL),
        service_secret="SP123456_sim",
        license_key="SL123456_sim",
        clock=clock,
        rng=random.Random(0),
    )
    for _ in range(3):
        assert sim.place_order([(code, 1)]) is not None
    clock.advance(15)
    first = adapter.fetch_order_lines(clock.now() - timedelta(minutes=2), clock.now())
    assert len(first) == 3

    parsed: list[Mapping[str, Any]] = []

    def counting(order: Mapping[str, Any], *, mall: str, restock_default: bool) -> SeenOrder:
        parsed.append(order)
        return parse_order(order, mall=mall, restock_default=restock_default)

    monkeypatch.setattr(orders, "parse_order", counting)
    new = sim.place_order([(code, 1)])
    clock.advance(15)
    second = adapter.fetch_order_lines(clock.now() - timedelta(minutes=2), clock.now())

    assert [o["orderNumber"] for o in parsed] == [new]
    assert len(second) == 4
    again = {ln.order_id: ln for ln in second}
    assert all(again[ln.order_id] is ln for ln in first)
    assert rakuten_adapter.OrderReads is OrderReads  # the adapter's reads are these
