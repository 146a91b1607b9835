"""Orders API v2026-01-01 ``searchOrders`` of the Amazon simulator ([SPM] orders_2026-01-01.json)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx

from bot.sandbox.simulators.amazon.state import MARKETPLACE_ID, SimOrder, iso, parse_iso
from bot.sandbox.simulators.buyer import sentinel_buyer

if TYPE_CHECKING:
    from bot.sandbox.simulators.amazon.core import AmazonSimulator

OP = "searchOrders"
INCLUDED = frozenset(
    {
        "BUYER",
        "RECIPIENT",
        "PROCEEDS",
        "EXPENSE",
        "PROMOTION",
        "CANCELLATION",
        "FULFILLMENT",
        "PACKAGES",
        "TAX",
        "PAYMENT",
        "FULFILLMENT_ORDERS",
    }
)
STATUSES = frozenset(
    {
        "PENDING_AVAILABILITY",
        "PENDING",
        "UNSHIPPED",
        "PARTIALLY_SHIPPED",
        "SHIPPED",
        "CANCELLED",
        "UNFULFILLABLE",
    }
)
FULFILLED_BY = frozenset({"MERCHANT", "AMAZON"})
# createdBefore / lastUpdatedBefore must be at least two minutes before the request.
BEFORE_MARGIN = timedelta(minutes=2)
PAGE_MAX = 100
TOKEN_LIFETIME = timedelta(hours=24)  # migration guide: pagination tokens expire after 24 h


def search_orders(
    sim: AmazonSimulator, request: httpx.Request, path: dict[str, str], body: Any
) -> httpx.Response:
    """Orders created or updated in a window, oldest update first, 1..100 per page."""
    params = dict(request.url.params)
    token = params.get("paginationToken")
    offset = 0
    if token is not None:
        if token not in sim.page_tokens:
            raise sim.refuse(OP, 400, "Invalid paginationToken.")
        params, offset = sim.page_tokens.pop(token)
    field, after, before = _window(sim, params)
    filters = _filters(sim, params)
    included = filters.pop("includedData")
    size = _page_size(sim, params)
    matched = [
        order
        for order in sorted(sim.orders.values(), key=lambda o: (getattr(o, field), o.order_id))
        if after <= getattr(order, field) <= before and _passes(order, filters)
    ]
    page = matched[offset : offset + size]
    answer: dict[str, Any] = {"orders": [order_json(order, included) for order in page]}
    if offset + size < len(matched):
        next_token = f"sim-page-{sim.next_id()}"
        sim.page_tokens[next_token] = (params, offset + size)
        answer["pagination"] = {"nextToken": next_token}
    answer["lastUpdatedBefore" if field == "updated" else "createdBefore"] = iso(before)
    return sim.respond(OP, 200, answer)


def _window(sim: AmazonSimulator, params: dict[str, str]) -> tuple[str, datetime, datetime]:
    """(order field, after, before): exactly one of createdAfter / lastUpdatedAfter [SPM]."""
    created, updated = params.get("createdAfter"), params.get("lastUpdatedAfter")
    if (created is None) == (updated is None):
        raise sim.refuse(OP, 400, "Exactly one of createdAfter and lastUpdatedAfter is required.")
    mixed = ("lastUpdatedBefore" in params) if created is not None else ("createdBefore" in params)
    if mixed:
        raise sim.refuse(
            OP,
            400,
            "createdAfter/createdBefore and lastUpdatedAfter/lastUpdatedBefore cannot be combined.",
        )
    name_before = "createdBefore" if created is not None else "lastUpdatedBefore"
    after = parse_iso(created if created is not None else updated)
    if after is None:
        raise sim.refuse(OP, 400, "Dates must be in ISO 8601 format.")
    now = sim.now()
    latest = now - timedelta(seconds=sim.order_index_delay)
    before = latest
    if name_before in params:
        given = parse_iso(params[name_before])
        if given is None or given < after or given > now - BEFORE_MARGIN:
            raise sim.refuse(
                OP, 400, f"{name_before} must be after the start and at least 2 minutes before now."
            )
        before = min(given, latest)
    return ("created" if created is not None else "updated"), after, before


def _filters(sim: AmazonSimulator, params: dict[str, str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for name, allowed in (
        ("fulfillmentStatuses", STATUSES),
        ("fulfilledBy", FULFILLED_BY),
        ("includedData", INCLUDED),
    ):
        values = {v for v in params.get(name, "").split(",") if v}
        if values - allowed:
            raise sim.refuse(OP, 400, f"Invalid {name}: {','.join(sorted(values - allowed))}")
        out[name] = values
    markets = {v for v in params.get("marketplaceIds", "").split(",") if v}
    if markets and MARKETPLACE_ID not in markets:
        raise sim.refuse(OP, 400, f"Invalid marketplaceIds: {','.join(sorted(markets))}")
    return out


def _page_size(sim: AmazonSimulator, params: dict[str, str]) -> int:
    raw = params.get("maxResultsPerPage", str(PAGE_MAX))
    if not raw.isdigit() or not 1 <= int(raw) <= PAGE_MAX:
        raise sim.refuse(OP, 400, "maxResultsPerPage must be between 1 and 100.")
    return int(raw)


def _passes(order: SimOrder, filters: dict[str, set[str]]) -> bool:
    statuses, by = filters["fulfillmentStatuses"], filters["fulfilledBy"]
    return (not statuses or order.status in statuses) and (not by or order.fulfilled_by in by)


def order_json(order: SimOrder, included: set[str]) -> dict[str, Any]:
    """An ``Order``: fulfillment and cancellation only when asked for ([SPM] includedData)."""
    items: list[dict[str, Any]] = []
    for item in order.items:
        entry: dict[str, Any] = {
            "orderItemId": item.item_id,
            "quantityOrdered": item.quantity,
            "product": {"asin": item.asin, "title": item.title, "sellerSku": item.sku},
        }
        if "FULFILLMENT" in included:
            shipped = item.quantity if order.status == "SHIPPED" else 0
            entry["fulfillment"] = {
                "quantityFulfilled": shipped,
                "quantityUnfulfilled": item.quantity - shipped,
            }
        if "CANCELLATION" in included and item.cancel_execution is not None:
            entry["cancellation"] = {"cancellationExecution": dict(item.cancel_execution)}
        items.append(entry)
    out: dict[str, Any] = {
        "orderId": order.order_id,
        "createdTime": iso(order.created),
        "lastUpdatedTime": iso(order.updated),
        "salesChannel": {
            "channelName": "AMAZON",
            "marketplaceId": MARKETPLACE_ID,
            "marketplaceName": "Amazon.co.jp",
        },
        "orderItems": items,
    }
    if "FULFILLMENT" in included:
        out["fulfillment"] = {"fulfillmentStatus": order.status, "fulfilledBy": order.fulfilled_by}
    # [SPM] includedData BUYER / RECIPIENT: personal data, as sentinels no adapter may
    # pass on (bot.sandbox.simulators.buyer).
    buyer = sentinel_buyer(order.order_id)
    if "BUYER" in included:
        out["buyer"] = {
            "buyerName": f"{buyer.family_name} {buyer.first_name}",
            "buyerEmail": buyer.email,
        }
    if "RECIPIENT" in included:
        out["recipient"] = {
            "deliveryAddress": {
                "name": f"{buyer.family_name} {buyer.first_name}",
                "addressLine1": buyer.street,
                "city": buyer.city,
                "stateOrRegion": buyer.prefecture,
                "postalCode": buyer.zip_code,
                "countryCode": "JP",
                "phone": buyer.phone,
            }
        }
    return out
