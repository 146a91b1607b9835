"""What the 楽天 adapter keeps of a not-yet-shipped order: a fingerprint of its lines."""

from __future__ import annotations

from datetime import datetime, timedelta

from adapters.rakuten.orders import SeenOrder, UnshippedBook, parse_order, parse_order_datetime
from bot.core.domain import OrderLine
from bot.infra.clock import JST

AT = datetime(2026, 11, 23, 9, 0, tzinfo=JST)


def order(*lines: tuple[str, str, int], progress: int = 100) -> SeenOrder:
    return SeenOrder(
        progress=progress,
        change_count=0,
        ordered_at=AT,
        lines=tuple(
            OrderLine(mall="rakuten", order_id="1-1", line_id=i, code=c, units=u)
            for i, c, u in lines
        ),
    )


def test_the_same_lines_in_another_order_keep_the_same_fingerprint() -> None:
    a = order(("1", "mug:blue", 1), ("2", "soap:single", 2)).unshipped()
    b = order(("2", "soap:single", 2), ("1", "mug:blue", 1)).unshipped()
    assert a == b
    assert (a.ordered_at, a.progress) == (AT, 100)


def test_units_codes_or_lines_that_changed_change_the_fingerprint() -> None:
    base = order(("1", "mug:blue", 2)).unshipped().lines
    assert order(("1", "mug:blue", 1)).unshipped().lines != base
    assert order(("1", "mug:red", 2)).unshipped().lines != base
    assert order(("1", "mug:blue", 2), ("2", "mug:blue", 1)).unshipped().lines != base
    assert order(("9", "mug:blue", 2)).unshipped().lines != base


def test_it_keeps_no_order_lines() -> None:
    kept = order(("1", "mug:blue", 2)).unshipped()
    assert not hasattr(kept, "__dict__")  # slotted: three fields, no lines
    assert not any(isinstance(getattr(kept, f), tuple) for f in kept.__slots__)


def placed(minutes: int, progress: int = 100) -> SeenOrder:
    o = order(("1", "mug:blue", 1), progress=progress)
    return SeenOrder(o.progress, 0, AT + timedelta(minutes=minutes), o.lines)


def test_the_book_drops_orders_placed_before_the_window_and_shipped_ones() -> None:
    book = UnshippedBook()
    unshipped = (100, 200, 300, 400)
    book.remember({"a": placed(0), "b": placed(10), "c": placed(20)}, AT, unshipped)
    book.remember({"b": placed(10)}, AT, unshipped)  # read again: still one entry
    assert len(book) == 3

    book.remember({"c": placed(20, progress=500)}, AT + timedelta(minutes=5), unshipped)

    assert book.get("a") is None  # placed before the window
    assert book.get("b") == placed(10).unshipped()
    assert book.get("c") is None  # shipped
    book.remember({}, AT + timedelta(minutes=11), unshipped)
    assert len(book) == 0


def test_an_order_without_a_placing_time_stays() -> None:
    book = UnshippedBook()
    o = order(("1", "mug:blue", 1))
    timeless = SeenOrder(o.progress, 0, None, o.lines)
    book.remember({"x": timeless}, AT, (100,))
    book.remember({}, AT + timedelta(days=90), (100,))
    assert book.get("x") == timeless.unshipped()


def test_an_orders_lines_share_its_one_placing_time() -> None:
    """Kept for the cancel window by the adapter and the ledger: one datetime per order,
    not one per line plus one for the order."""
    model = {
        "orderNumber": "1-1",
        "orderProgress": 100,
        "orderDatetime": "2026-11-23T09:00:00+0900",
        "PackageModelList": [
            {
                "ItemModelList": [
                    {"itemDetailId": i, "manageNumber": "mug", "units": 1} for i in (1, 2)
                ]
            }
        ],
    }
    seen = parse_order(model, mall="rakuten", restock_default=True)
    assert seen.ordered_at == AT
    assert [line.ordered_at for line in seen.lines] == [AT, AT]
    assert all(line.ordered_at is seen.ordered_at for line in seen.lines)


def test_parsed_placing_times_share_one_timezone_object() -> None:
    # Each parse would make a timezone of its own (72 bytes per kept datetime).
    a = parse_order_datetime("2026-11-23T09:00:00+0900")
    b = parse_order_datetime("2026-11-23T10:30:00+09:00")
    assert a == AT and b == AT + timedelta(minutes=90)
    assert a is not None and b is not None
    assert a.tzinfo is b.tzinfo
    assert a.utcoffset() == timedelta(hours=9)


def test_a_reread_order_keeps_its_first_placing_time_object() -> None:
    book = UnshippedBook()
    first = placed(0)
    book.remember({"a": first}, AT, (100,))
    again = placed(0)  # parsed afresh: an equal datetime, another object
    assert again.ordered_at == first.ordered_at and again.ordered_at is not first.ordered_at
    book.remember({"a": again}, AT, (100,))
    kept = book.get("a")
    assert kept is not None and kept.ordered_at is first.ordered_at
    assert kept == again.unshipped()
