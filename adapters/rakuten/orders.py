"""Reading 楽天's RakutenPay order API: getOrder bodies into order lines, and its datetimes.

Pure functions over parsed JSON, so the order side can grow (re-reading unshipped orders,
per-order messages) without the adapter class growing with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from adapters.rakuten.wire import int_or
from bot.core.domain import OrderLine
from bot.infra.clock import to_jst

# Order API datetimes: yyyy-MM-ddTHH:mm:ss+0900, no colon; other forms are ERROR_011. [S10]
ORDER_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S+0900"
# キャンセル確定待ち and キャンセル確定: the customer takes nothing any more. [S10][S11]
CANCELLED_PROGRESS: frozenset[int] = frozenset({800, 900})


def canonical_code(code: str) -> str:
    """``manageNumber:variantId`` with manageNumber lower-cased, variantId as is.

    楽天 folds manageNumber to lower case and answers in lower case, but variantId
    is case-sensitive, so only the first half may be folded. A code that is not of
    this form is returned trimmed and unchanged; pushes reject it with a message.
    """
    code = code.strip()
    manage_number, sep, variant_id = code.partition(":")
    if not sep:
        return code
    return f"{manage_number.strip().lower()}:{variant_id.strip()}"


ORDER_PROGRESS_WORDS: Mapping[int, str] = {
    # [S10] https://webservice.rms.rakuten.co.jp/merchant-portal/view/ja/common/1-1_service_index/rakutenpayorderapi/searchorder
    100: "注文確認待ち",
    200: "楽天処理中",
    300: "発送待ち",
    400: "変更確定待ち",
    500: "発送済",
    600: "支払手続き中",
    700: "支払手続き済",
    800: "キャンセル確定待ち",
    900: "キャンセル確定",
}


@dataclass(frozen=True)
class SeenOrder:
    """What the adapter last saw of one order (from getOrder), for skipping refetches."""

    progress: int
    change_count: int
    ordered_at: datetime | None
    lines: tuple[OrderLine, ...]


def parse_order(order: Mapping[str, Any], *, mall: str, restock_default: bool) -> SeenOrder:
    """What one getOrder ``OrderModel`` says now: its progress and every line's units."""
    number = str(order["orderNumber"])
    progress = int_or(order.get("orderProgress"), 0)
    ordered_at = parse_order_datetime(order.get("orderDatetime"))
    cancelled = progress in CANCELLED_PROGRESS
    status = ORDER_PROGRESS_WORDS.get(progress, str(progress))
    lines: list[OrderLine] = []
    for package in order.get("PackageModelList") or []:
        if not isinstance(package, dict):
            continue
        package_deleted = int_or(package.get("packageDeleteFlag"), 0) == 1
        for item in package.get("ItemModelList") or []:
            if not isinstance(item, dict):
                continue
            skus = item.get("SkuModelList") or []
            variant_id = ""
            if skus and isinstance(skus[0], dict):
                variant_id = str(skus[0].get("variantId") or "")
            # A line removed by an order change stays with deleteItemFlag 1 (or its
            # package with packageDeleteFlag 1): the customer no longer takes it.
            removed = package_deleted or int_or(item.get("deleteItemFlag"), 0) == 1
            gone = cancelled or removed
            line_status = f"{status}（明細削除）" if removed and not cancelled else status
            lines.append(
                OrderLine(
                    mall=mall,
                    order_id=number,
                    line_id=str(item.get("itemDetailId", "")),
                    code=canonical_code(f"{item.get('manageNumber') or ''}:{variant_id}"),
                    units=0 if gone else max(int_or(item.get("units"), 0), 0),
                    ordered_at=ordered_at,
                    status=line_status,
                    mall_restocks=gone
                    and _restocks(item.get("restoreInventoryFlag"), restock_default),
                )
            )
    return SeenOrder(
        progress=progress,
        change_count=len(order.get("ChangeReasonModelList") or []),
        ordered_at=ordered_at,
        lines=tuple(lines),
    )


def _restocks(flag: object, default: bool) -> bool:
    """restoreInventoryFlag: 1 楽天 restocks, 2 it does not, 0 the item's setting.

    The item setting (restockOnCancel) is not in the order, so 0 falls back to the
    shop-wide キャンセル時在庫戻し default this adapter was built with. [S11]
    """
    value = int_or(flag, 0)
    if value == 1:
        return True
    if value == 2:
        return False
    return default


def format_order_datetime(when: datetime, *, ceil: bool = False) -> str:
    """``2026-11-23T09:00:00+0900``: the only form the order API accepts.

    ``ceil`` rounds up to the next second, so a window's end never drops an order
    placed within its last fraction of a second.
    """
    jst = to_jst(when)
    if ceil and jst.microsecond:
        jst = jst.replace(microsecond=0) + timedelta(seconds=1)
    return jst.strftime(ORDER_DATETIME_FORMAT)


def parse_order_datetime(value: object) -> datetime | None:
    """Parse ``2017-09-25T20:03:43+0900`` (``+09:00`` also accepted) to an aware datetime."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return None
    return parsed
