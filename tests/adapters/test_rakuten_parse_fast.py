"""parse_order builds each line once per order's shared facts and through OrderLine's own
validator: it must say exactly what the plain line-by-line construction says."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from adapters.rakuten.orders import (
    _CHANGE_TIMES,
    CANCELLED_PROGRESS,
    ORDER_PROGRESS_WORDS,
    SeenOrder,
    _restocks,
    line_code,
    parse_order,
    parse_order_datetime,
)
from adapters.rakuten.wire import int_or
from bot.core.domain import OrderLine


def plain_parse_order(order: Mapping[str, Any], *, mall: str, restock_default: bool) -> SeenOrder:
    """The reference: every line built on its own with ``OrderLine(...)`` (the former code)."""
    progress = int_or(order.get("orderProgress"), 0)
    ordered_at = parse_order_datetime(order.get("orderDatetime"))
    lines: list[OrderLine] = []
    for package in order.get("PackageModelList") or []:
        if not isinstance(package, dict):
            continue
        package_deleted = int_or(package.get("packageDeleteFlag"), 0) == 1
        for item in package.get("ItemModelList") or []:
            if isinstance(item, dict):
                lines.append(
                    plain_line(
                        order, item, mall, progress, ordered_at, package_deleted, restock_default
                    )
                )
    changes = [c for c in order.get("ChangeReasonModelList") or [] if isinstance(c, dict)]
    times = [t for c in changes for k in _CHANGE_TIMES if (t := parse_order_datetime(c.get(k)))]
    return SeenOrder(
        progress=progress,
        change_count=len(changes),
        ordered_at=ordered_at,
        lines=tuple(lines),
        last_change=max(times) if times else None,
    )


def plain_line(
    order: Mapping[str, Any],
    item: Mapping[str, Any],
    mall: str,
    progress: int,
    ordered_at: datetime | None,
    package_deleted: bool,
    restock_default: bool,
) -> OrderLine:
    cancelled = progress in CANCELLED_PROGRESS
    status = ORDER_PROGRESS_WORDS.get(progress, str(progress))
    removed = package_deleted or int_or(item.get("deleteItemFlag"), 0) == 1
    gone = cancelled or removed
    changed = bool(order.get("ChangeReasonModelList"))
    return OrderLine(
        mall=mall,
        order_id=str(order["orderNumber"]),
        line_id=str(item.get("itemDetailId", "")),
        code=line_code(item),
        units=0 if gone else max(int_or(item.get("units"), 0), 0),
        ordered_at=ordered_at,
        status=f"{status}（明細削除）" if removed and not cancelled else status,
        mall_restocks=(gone or changed)
        and _restocks(item.get("restoreInventoryFlag"), restock_default),
    )


# JSON values as a malformed or odd answer may hold them (JSON has no NaN or infinity),
# next to the usual ones.
ODD = st.one_of(
    st.none(), st.booleans(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=4)
)
FLAG = st.one_of(st.sampled_from([0, 1, 2, "1", "2"]), ODD)
TIME = st.one_of(
    st.sampled_from(["2026-11-23T09:00:00+0900", "2026-11-24T10:30:00+09:00", "", "bad"]), ODD
)
ITEM = st.fixed_dictionaries(
    {},
    optional={
        "itemDetailId": st.one_of(st.integers(0, 10**6), ODD),
        "manageNumber": st.one_of(st.sampled_from(["Mug", "item-1", " a "]), ODD),
        "units": st.one_of(st.integers(-3, 99), st.sampled_from(["2", "x"]), ODD),
        "inventoryType": FLAG,
        "restoreInventoryFlag": FLAG,
        "deleteItemFlag": FLAG,
        "SkuModelList": st.one_of(
            st.lists(
                st.fixed_dictionaries(
                    {}, optional={"variantId": st.one_of(st.sampled_from(["Red", " b "]), ODD)}
                ),
                max_size=2,
            ),
            st.none(),
        ),
    },
)
PACKAGE = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "packageDeleteFlag": FLAG,
            "ItemModelList": st.one_of(st.lists(st.one_of(ITEM, ODD), max_size=3), st.none()),
        },
    ),
    ODD,
)
ORDER = st.fixed_dictionaries(
    {"orderNumber": st.one_of(st.text(min_size=1, max_size=8), st.integers(1, 10**9))},
    optional={
        "orderProgress": st.one_of(
            st.sampled_from([100, 200, 300, 400, 500, 800, 900, "900"]), ODD
        ),
        "orderDatetime": TIME,
        "ChangeReasonModelList": st.one_of(
            st.lists(
                st.one_of(
                    st.fixed_dictionaries({}, optional={k: TIME for k in _CHANGE_TIMES}), ODD
                ),
                max_size=2,
            ),
            st.none(),
        ),
        "PackageModelList": st.one_of(st.lists(PACKAGE, max_size=3), st.none()),
    },
)


@settings(max_examples=400, deadline=None)
@given(ORDER, st.booleans())
def test_parse_order_says_what_the_plain_construction_says(
    order: dict[str, Any], restock_default: bool
) -> None:
    got = parse_order(order, mall="rakuten", restock_default=restock_default)
    want = plain_parse_order(order, mall="rakuten", restock_default=restock_default)
    assert got == want
    assert [ln.model_dump() for ln in got.lines] == [ln.model_dump() for ln in want.lines]
    assert all(type(ln) is OrderLine for ln in got.lines)
    assert all(ln.ordered_at is got.ordered_at for ln in got.lines)
    # The fingerprint made while parsing is the one made from the lines afterwards.
    assert "_fingerprint" in got.__dict__ and "_fingerprint" not in want.__dict__
    assert got.unshipped() == want.unshipped()
    # So is the sort's (time, number, lines by id), kept for report_lines.
    assert "_by_line" in got.__dict__ and "_by_line" not in want.__dict__
    assert got.by_line() == want.by_line()


def test_a_line_is_still_validated_as_an_order_line() -> None:
    """What OrderLine refuses, the fast construction refuses too (mall is its caller's)."""
    order = {"orderNumber": "1-1", "PackageModelList": [{"ItemModelList": [{"units": 1}]}]}
    with pytest.raises(ValidationError, match="mall"):
        parse_order(order, mall=7, restock_default=True)  # type: ignore[arg-type]
