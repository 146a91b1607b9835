"""The worker forgets what a listing shows when the mall restocked a cancel itself.

It copies the listing knowledge only when there is something to forget: the usual cycle
(no new restocking cancel) keeps the very mapping, and any cycle gives what forgetting
listing by listing in a copy of the whole map gives.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.domain import OrderLine
from tests.e2e.conftest import MALL_STOCK, Shop, make_shop


def line(code: str, n: int, *, restocks: bool, mall: str = "rakuten") -> OrderLine:
    return OrderLine(
        mall=mall, order_id=f"o-{n}", line_id=str(n), code=code, units=0, mall_restocks=restocks
    )


def plain_forget(shop: Shop, lines: list[OrderLine]) -> dict[tuple[str, str], object]:
    """The reference: the whole map copied, each new restocking listing forgotten in it."""
    worker = shop.worker
    seen = frozenset().union(*worker._restocks_seen.values())
    listings = dict(worker.state.listings)
    for ln in lines:
        key = (ln.mall, ln.code)
        listing = listings.get(key)
        fresh = ln.mall_restocks and ln.key not in seen
        if fresh and listing is not None and listing.expected is not None:
            listings[key] = replace(listing, expected=None)
    return listings


def test_a_cycle_without_a_new_restocking_cancel_keeps_the_listing_map(shop: Shop) -> None:
    before = shop.worker.state
    codes = [code for _, code in before.listings]
    shop.worker._forget_restocked([line(c, n, restocks=False) for n, c in enumerate(codes)])
    assert shop.worker.state is before  # nothing forgotten: no copy, no new state


@pytest.fixture(scope="module")
def started() -> Iterator[Shop]:
    s = make_shop()
    s.cycle()
    yield s
    s.alerts.close()


# The shop's 楽天 codes (tests/e2e/conftest.py MALL_STOCK), one no listing has, and cases.
CODES = [*sorted(MALL_STOCK), "nowhere:x"]
PICKS = st.lists(st.tuples(st.sampled_from(CODES), st.booleans(), st.integers(0, 3)), max_size=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(picks=PICKS)
def test_forgetting_gives_what_the_whole_copy_gives(
    started: Shop, picks: list[tuple[str, bool, int]]
) -> None:
    worker = started.worker
    start = worker.state
    # Some lines count as seen before (they were taken into account last cycle).
    seen = [line(c, n, restocks=True) for c, r, n in picks if r and n == 0]
    worker._restocks_seen = {"rakuten": frozenset(ln.key for ln in seen)}
    lines = [line(c, n, restocks=r) for c, r, n in picks]
    try:
        want = plain_forget(started, lines)
        worker._forget_restocked(lines)
        assert dict(worker.state.listings) == want
        assert list(worker.state.listings) == list(want)
        if want == dict(start.listings):
            assert worker.state is start
    finally:
        worker.state = start
        worker._restocks_seen = {}


def test_the_cases_forget_something(started: Shop) -> None:
    assert any(
        ls.expected is not None
        for (mall, code), ls in started.worker.state.listings.items()
        if code in CODES
    )
