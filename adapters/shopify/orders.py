"""Order lines from ``orders(query: "updated_at:>=…")`` (§1.6), cancels and refunds included.

A line's units are what the customer still takes (ARCHITECTURE §4.2):

- a cancelled order (``cancelledAt`` set) takes nothing: 0 units;
- otherwise ``currentQuantity`` — the quantity minus what edits and refunds removed.
  Shopify tells partners to use it instead of adding up refund line items
  (https://shopify.dev/changelog/addition-of-lineitem-current_quantity-on-admin-rest-api);
- units refunded with ``restockType: NO_RESTOCK`` are added back: the money went back
  but the goods did not return to stock (kept by the customer or written off), so
  they must not return to 在庫数 either
  (https://shopify.dev/docs/api/admin-graphql/latest/enums/RefundLineItemRestockType).

Whether Shopify put a line's units back on the bot's location (``mall_restocks``) is
read from the refund line items (CANCEL, RETURN, LEGACY_RESTOCK at that location).
A cancel that left no refund line items (an unpaid order cancelled without a refund)
says nothing either way: ``restocks_on_cancel`` (config) decides (UNCONFIRMED).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from adapters.shopify.wire import AdminApi
from bot.core.domain import OrderLine

ORDERS_QUERY = """
query ZaikoOrders($q: String!, $after: String) {
  orders(first: 25, after: $after, sortKey: UPDATED_AT, query: $q) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id name createdAt updatedAt cancelledAt displayFinancialStatus
      lineItems(first: 20) { pageInfo { hasNextPage } nodes { id sku quantity currentQuantity } }
      refunds(first: 5) { id }
    }
  }
}
"""

ORDER_QUERY = """
query ZaikoOrder($id: ID!, $after: String) {
  order(id: $id) {
    id
    lineItems(first: 50, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { id sku quantity currentQuantity }
    }
    refunds(first: 5) {
      id
      refundLineItems(first: 25) {
        nodes { quantity restockType location { id } lineItem { id } }
      }
    }
  }
}
"""

RESTOCKED = frozenset({"CANCEL", "RETURN", "LEGACY_RESTOCK"})
"""restockType values that put units back on the shelf (RefundLineItemRestockType)."""


@dataclass
class _Refunds:
    """Per line item id: units refunded without restock, units restocked at our location."""

    kept: dict[str, int] = field(default_factory=dict)
    restocked: dict[str, int] = field(default_factory=dict)
    any_lines: bool = False


class OrderReader:
    """Polls orders by ``updated_at`` and reports their lines' current state."""

    # Costs by Shopify's rules (§1.7 [S8]: a connection or list costs 2 + first × node,
    # pageInfo 1, objects 1, scalars 0); §1.6: keep first × lineItems.first modest, one
    # query may not exceed 1,000 points.
    LIST_COST: ClassVar[float] = 2 + 1 + 25 * (1 + (2 + 1 + 20) + (2 + 5))
    DETAIL_COST: ClassVar[float] = 1 + (2 + 1 + 50) + (2 + 5 * (1 + 2 + 25 * 3))

    def __init__(self, api: AdminApi, *, mall: str, restocks_on_cancel: bool) -> None:
        self._api = api
        self._mall = mall
        self._restocks_on_cancel = restocks_on_cancel

    def fetch(self, since: datetime, until: datetime, location_id: str) -> list[OrderLine]:
        """Lines of every order updated in [since, until], in Shopify's order."""
        query = f"updated_at:>={_stamp(since)} AND updated_at:<={_stamp(until)}"
        lines: list[OrderLine] = []
        after: str | None = None
        while True:
            data = self._api.call(ORDERS_QUERY, {"q": query, "after": after}, cost=self.LIST_COST)
            connection = data.get("orders")
            for order in _nodes(connection):
                lines.extend(self._order_lines(order, location_id))
            page = connection.get("pageInfo") if isinstance(connection, dict) else None
            if not (isinstance(page, dict) and page.get("hasNextPage") and page.get("endCursor")):
                return lines
            after = str(page["endCursor"])

    def _order_lines(self, order: Mapping[str, Any], location_id: str) -> list[OrderLine]:
        items = _nodes(order.get("lineItems"))
        refunds = _Refunds()
        more = _dig(order, "lineItems", "pageInfo", "hasNextPage") is True
        if more or order.get("refunds"):
            items, refunds = self._detail(str(order.get("id") or ""), location_id)
        cancelled = order.get("cancelledAt") is not None
        status = "CANCELLED" if cancelled else str(order.get("displayFinancialStatus") or "")
        ordered_at = _parse(order.get("createdAt"))
        lines = []
        for item in items:
            sku = item.get("sku")
            if not isinstance(sku, str) or not sku.strip():
                continue  # a custom item or a variant without SKU: no listing to count
            line_id = _numeric(str(item.get("id") or ""))
            lines.append(
                OrderLine(
                    mall=self._mall,
                    order_id=str(order.get("name") or _numeric(str(order.get("id") or ""))),
                    line_id=line_id,
                    code=sku.strip(),
                    units=0 if cancelled else _units(item, refunds),
                    ordered_at=ordered_at,
                    status=status,
                    mall_restocks=self._restocks(item, refunds, cancelled),
                )
            )
        return lines

    def _restocks(self, item: Mapping[str, Any], refunds: _Refunds, cancelled: bool) -> bool:
        item_id = str(item.get("id") or "")
        if refunds.restocked.get(item_id):
            return True
        if cancelled and not refunds.any_lines:
            return self._restocks_on_cancel
        return False

    def _detail(self, order_id: str, location_id: str) -> tuple[list[dict[str, Any]], _Refunds]:
        """Every line item of one order and what its refunds did (paged by line item)."""
        items: list[dict[str, Any]] = []
        refunds = _Refunds()
        after: str | None = None
        while True:
            data = self._api.call(
                ORDER_QUERY, {"id": order_id, "after": after}, cost=self.DETAIL_COST
            )
            order = data.get("order")
            if not isinstance(order, dict):
                return items, refunds
            items.extend(_nodes(order.get("lineItems")))
            if after is None:
                refunds = _read_refunds(order.get("refunds"), location_id)
            page = _dig(order, "lineItems", "pageInfo")
            if not (isinstance(page, dict) and page.get("hasNextPage") and page.get("endCursor")):
                return items, refunds
            after = str(page["endCursor"])


def _read_refunds(refunds: object, location_id: str) -> _Refunds:
    found = _Refunds()
    for refund in refunds if isinstance(refunds, list) else []:
        for line in _nodes(_dig(refund, "refundLineItems")):
            item_id = str(_dig(line, "lineItem", "id") or "")
            quantity = line.get("quantity")
            if not item_id or not isinstance(quantity, int):
                continue
            found.any_lines = True
            kind = str(line.get("restockType") or "")
            where = _dig(line, "location", "id")
            if kind == "NO_RESTOCK":
                found.kept[item_id] = found.kept.get(item_id, 0) + quantity
            elif kind in RESTOCKED and (where is None or where == location_id):
                found.restocked[item_id] = found.restocked.get(item_id, 0) + quantity
    return found


def _units(item: Mapping[str, Any], refunds: _Refunds) -> int:
    quantity = item.get("quantity")
    quantity = quantity if isinstance(quantity, int) else 0
    current = item.get("currentQuantity")
    current = current if isinstance(current, int) else quantity
    kept = refunds.kept.get(str(item.get("id") or ""), 0)
    return max(min(current + kept, quantity), 0)


def _stamp(when: datetime) -> str:
    # §1.6 [S10]: updated_at:>=2025-06-01T00:00:00Z
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _numeric(gid: str) -> str:
    """``gid://shopify/LineItem/123`` → ``123`` (§1.3)."""
    return gid.rsplit("/", 1)[-1]


def _nodes(connection: object) -> list[dict[str, Any]]:
    nodes = connection.get("nodes") if isinstance(connection, dict) else None
    return [n for n in nodes or [] if isinstance(n, dict)]


def _dig(value: object, *keys: str) -> object:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


__all__ = ["ORDERS_QUERY", "ORDER_QUERY", "OrderReader"]
