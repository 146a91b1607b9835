"""カラーミーショップ sales (``GET /v1/sales``) read as order lines (no state).

A sale carries its lines inline (``details[]``), its state as booleans (``paid``,
``delivered``, ``canceled``) and unix times (``make_date``, ``update_date``) [CM-spec]:
https://github.com/ryhrm-gz/colormeshop-js/blob/b0aa5e1/src/generated/types.gen.ts
Cancelling "sets every line's 商品購入数 to 0 and ``canceled`` to true" (the cancel
API's description, same source), so a cancelled line reports 0 units whatever
``product_num`` says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from adapters.colorme.wire import int_or_none
from bot.core.domain import OrderLine

LineCode = Callable[[int, Any, Any], str]
"""(product_id, option1_value, option2_value) → the line's canonical code."""


@dataclass(frozen=True)
class Sale:
    """What the adapter keeps of one sale."""

    sale_id: str
    made: datetime | None
    updated: datetime | None
    canceled: bool
    lines: tuple[OrderLine, ...]


def status_word(sale: dict[str, Any]) -> str:
    """The sale's state in 販売ログ words (カラーミー has booleans, not a status)."""
    if sale.get("canceled") is True:
        return "キャンセル"
    if sale.get("delivered") is True:
        return "発送済み"
    if sale.get("paid") is True:
        return "入金済み"
    return "受注"


def unix(value: Any) -> datetime | None:
    seconds = int_or_none(value)
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None


def parse_sale(item: Any, *, mall: str, code_of: LineCode, restocks_on_cancel: bool) -> Sale | None:
    """One ``sales[]`` element as lines; None when it names no sale."""
    if not isinstance(item, dict) or int_or_none(item.get("id")) is None:
        return None
    sale_id = str(item["id"])
    canceled = item.get("canceled") is True
    made = unix(item.get("make_date"))
    word = status_word(item)
    lines: list[OrderLine] = []
    for n, detail in enumerate(item.get("details") or [], start=1):
        if not isinstance(detail, dict):
            continue
        product_id = int_or_none(detail.get("product_id"))
        if product_id is None:
            continue
        units = int_or_none(detail.get("product_num")) or 0
        line_id = int_or_none(detail.get("id"))
        lines.append(
            OrderLine(
                mall=mall,
                order_id=sale_id,
                line_id=str(line_id) if line_id is not None else str(n),
                code=code_of(product_id, detail.get("option1_value"), detail.get("option2_value")),
                units=0 if canceled else max(units, 0),
                ordered_at=made,
                status=word,
                mall_restocks=canceled and restocks_on_cancel,
            )
        )
    return Sale(
        sale_id=sale_id,
        made=made,
        updated=unix(item.get("update_date")),
        canceled=canceled,
        lines=tuple(lines),
    )


def with_vanished(sale: Sale, before: Sale | None) -> tuple[OrderLine, ...]:
    """The sale's lines plus, at 0 units, lines an earlier read had and this one lacks.

    Staff can edit a sale in the shop admin; a line that disappears took its units
    back, and the ledger only learns that from a report of the line (§4.2).
    """
    if before is None:
        return sale.lines
    present = {line.line_id for line in sale.lines}
    gone = tuple(
        line.model_copy(update={"units": 0, "status": sale.lines[0].status if sale.lines else ""})
        for line in before.lines
        if line.line_id not in present
    )
    return sale.lines + gone
