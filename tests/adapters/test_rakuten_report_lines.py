"""The fetch's lines sorted an order at a time (orders.report_lines) are the lines sorted
one by one (orders.sorted_lines, the plain sort kept as its fallback): the same lines,
the same objects, in the same order; and a fetch takes the order-at-a-time path."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.rakuten import orders as orders_module
from adapters.rakuten.orders import SeenOrder, report_lines, sorted_lines
from bot.core.domain import OrderLine
from bot.infra.clock import JST
from tests.adapters.test_rakuten_orders import Shop

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=JST)
TIMES = st.sampled_from([None, NOW - timedelta(minutes=1), NOW, NOW + timedelta(seconds=1)])


@st.composite
def seen_orders(draw: st.DrawFn) -> SeenOrder:
    """An order as parse_order makes it (lines sharing time and number), or not quite."""
    order_id = draw(st.sampled_from(["1", "2", "10", "3"]))
    at = draw(TIMES)
    count = draw(st.integers(0, 4))
    mixed = draw(st.integers(0, 9)) == 0  # now and then lines of another time or number
    lines = tuple(
        OrderLine(
            mall="rakuten",
            order_id=draw(st.sampled_from(["1", "2"])) if mixed else order_id,
            line_id=draw(st.sampled_from(["a", "b", "c", "10", "9"])),
            code=f"item:{i}",
            units=i,
            ordered_at=draw(TIMES) if mixed else at,
        )
        for i in range(count)
    )
    return SeenOrder(progress=100, change_count=0, ordered_at=at, lines=lines)


@given(st.lists(seen_orders(), max_size=8))
def test_report_lines_are_the_lines_sorted_one_by_one(orders: list[SeenOrder]) -> None:
    fast = report_lines(orders, NOW)
    again = report_lines(orders, NOW)  # the second time from what the orders kept
    plain = sorted_lines(orders, NOW)
    assert [id(ln) for ln in fast] == [id(ln) for ln in plain]
    assert [id(ln) for ln in again] == [id(ln) for ln in plain]


def test_a_fetch_sorts_an_order_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    shop = Shop()
    shop.sim.add_item("tshirt", "M", 50)
    shop.sim.add_item("mug", "blue", 50)
    first = shop.order(("tshirt:M", 1), ("mug:blue", 2))
    second = shop.order(("mug:blue", 1))

    def line_by_line(*args: object) -> list[OrderLine]:
        raise AssertionError("sorted line by line")

    monkeypatch.setattr(orders_module, "sorted_lines", line_by_line)
    lines = shop.cycle()
    assert [ln.order_id for ln in lines] == [first, first, second]
    assert lines == sorted(lines, key=lambda ln: (ln.ordered_at, ln.order_id, ln.line_id))
