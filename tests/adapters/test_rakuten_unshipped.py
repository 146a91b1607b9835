"""What the 楽天 adapter keeps of a not-yet-shipped order: a fingerprint of its lines."""

from __future__ import annotations

from datetime import datetime

from adapters.rakuten.orders import SeenOrder
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
