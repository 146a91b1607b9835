"""The 楽天 order side's shortcuts give the plain answers: parsed times and the book.

``parse_order_datetime`` looks a text up before parsing it; ``UnshippedBook.remember``
leaves an order read again unchanged as it was, and ``SeenOrder`` makes its fingerprint
once. Each is checked against the plain computation.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.rakuten import orders
from adapters.rakuten.orders import (
    SeenOrder,
    Unshipped,
    UnshippedBook,
    parse_order_datetime,
)
from bot.core.domain import OrderLine
from bot.infra.clock import JST

AT = datetime(2026, 11, 23, 9, 0, tzinfo=JST)

_TEXTS = st.one_of(
    st.builds(
        lambda d, h, m, zone: f"2026-11-{d:02d}T{h:02d}:{m:02d}:00{zone}",
        st.integers(1, 30),
        st.integers(0, 23),
        st.integers(0, 59),
        st.sampled_from(["+0900", "+09:00", "+0000", "-0130", "Z", "", "+09"]),
    ),
    st.text(max_size=26),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_TEXTS, max_size=40))
def test_a_looked_up_time_is_the_time_a_fresh_parse_gives(texts: list[str]) -> None:
    for text in texts * 2:
        got = parse_order_datetime(text)
        plain = orders._parse_order_datetime(text)
        assert got == plain
        assert (got is None) == (plain is None)
        if got is not None and plain is not None:
            assert got.utcoffset() == plain.utcoffset() and got.tzinfo is plain.tzinfo
        assert len(orders._PARSED) <= orders._PARSED_MAX


def test_a_time_read_again_is_the_same_object_and_the_memory_stays_bounded() -> None:
    text = "2026-11-23T09:00:00+0900"
    first = parse_order_datetime(text)
    assert first is not None and parse_order_datetime(text) is first  # the look-up path
    for minute in range(orders._PARSED_MAX + 10):
        parse_order_datetime(f"2026-11-24T{minute // 60 % 24:02d}:{minute % 60:02d}:00+0900")
    assert len(orders._PARSED) <= orders._PARSED_MAX


class PlainBook:
    """``UnshippedBook.remember`` as it was: every read order stored afresh."""

    def __init__(self) -> None:
        self.orders: dict[str, Unshipped] = {}
        self.placed: list[tuple[datetime, str]] = []

    def remember(
        self, read: Mapping[str, SeenOrder], watch_start: datetime, unshipped: Collection[int]
    ) -> None:
        while self.placed and self.placed[0][0] < watch_start:
            _, number = heapq.heappop(self.placed)
            kept = self.orders.get(number)
            if kept is not None and kept.ordered_at is not None and kept.ordered_at < watch_start:
                del self.orders[number]
        for number, seen in read.items():
            if seen.progress not in unshipped:
                self.orders.pop(number, None)
                continue
            prior = self.orders.get(number)
            kept = Unshipped(seen.ordered_at, seen.progress, hash(frozenset(seen.units().items())))
            if prior is None and seen.ordered_at is not None:
                heapq.heappush(self.placed, (seen.ordered_at, number))
            elif prior is not None and prior.ordered_at == kept.ordered_at:
                kept = Unshipped(prior.ordered_at, kept.progress, kept.lines)
            self.orders[number] = kept


def _seen(minutes: int | None, progress: int, units: int, code: str) -> SeenOrder:
    at = None if minutes is None else AT + timedelta(minutes=minutes)  # a fresh object each read
    line = OrderLine(mall="rakuten", order_id="n", line_id="1", code=code, units=units)
    return SeenOrder(progress=progress, change_count=0, ordered_at=at, lines=(line,))


_READ = st.dictionaries(
    st.sampled_from(["a", "b", "c", "d"]),
    st.builds(
        _seen,
        st.one_of(st.none(), st.integers(0, 30)),
        st.sampled_from([100, 300, 400, 500, 900]),
        st.integers(0, 2),
        st.sampled_from(["mug:blue", "mug:red"]),
    ),
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_READ, st.integers(0, 40)), max_size=8))
def test_the_book_keeps_what_the_plain_book_keeps(
    reads: list[tuple[dict[str, SeenOrder], int]],
) -> None:
    book, plain = UnshippedBook(), PlainBook()
    unshipped = (100, 200, 300, 400)
    for read, start in reads:
        book.remember(read, AT + timedelta(minutes=start), unshipped)
        plain.remember(read, AT + timedelta(minutes=start), unshipped)
        assert len(book) == len(plain.orders)
        for number, want in plain.orders.items():
            got = book.get(number)
            assert got == want
            assert got is not None and got.ordered_at is want.ordered_at  # the first kept object


def test_an_order_read_again_unchanged_keeps_its_entry() -> None:
    book = UnshippedBook()
    book.remember({"a": _seen(0, 100, 1, "mug:blue")}, AT, (100,))
    first = book.get("a")
    book.remember({"a": _seen(0, 100, 1, "mug:blue")}, AT, (100,))
    assert book.get("a") is first


def test_an_orders_fingerprint_is_made_once() -> None:
    seen = _seen(0, 100, 2, "mug:blue")
    assert seen.unshipped().lines == hash(frozenset(seen.units().items()))
    assert "_fingerprint" in vars(seen)  # kept: the re-read's comparison and the book share it
    assert seen.unshipped() == seen.unshipped()


def test_orders_placed_in_one_second_share_one_heap_entry_until_they_leave() -> None:
    book = UnshippedBook()
    book.remember({n: _seen(0, 100, 1, "mug:blue") for n in "abc"}, AT, (100,))
    book.remember({"d": _seen(1, 100, 1, "mug:red")}, AT, (100,))
    assert book._placed == [AT, AT + timedelta(minutes=1)]  # a time once, not a pair an order
    assert book._at == {AT: ["a", "b", "c"], AT + timedelta(minutes=1): "d"}
    book.remember({}, AT + timedelta(minutes=1), (100,))
    assert [n for n in "abcd" if book.get(n)] == ["d"]
    assert book._placed == [AT + timedelta(minutes=1)] and list(book._at) == book._placed
