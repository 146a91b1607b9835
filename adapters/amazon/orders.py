"""Amazon orders: Orders API v2026-01-01 ``searchOrders`` paced to its usage plan.

searchOrders allows 0.0056 requests per second with a burst of 20
(https://developer-docs.amazon.com/sp-api/docs/orders-api-v2026-01-01-reference,
[SPM] orders_2026-01-01.json): one search every ~180 s sustained, while the worker asks
every 15 s and moves its cursor on after every successful cycle. :class:`OrderBook`
therefore keeps its own high-water mark (``mark``: everything last updated before it
has been searched) and searches from ``min(since, mark)`` only when its own bucket,
mirroring Amazon's, holds a token beyond a small reserve for further pages. Otherwise
it answers from memory.

Memory holds each line found by a search until the worker has committed it: a line is
returned on every call until a call arrives whose ``since`` is later than the ``since``
of the call that first returned it (the worker advances its cursor only after a
successful commit). Reporting a line again is harmless (the engine reconciles, it
never counts), so nothing found is ever dropped before it is committed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

from adapters.amazon.wire import Pace, SpApi, iso, parse_iso
from bot.core.domain import OrderLine

# Staff's words for fulfillment statuses (販売ログ). [SPM] FulfillmentStatus
STATUS_WORDS: Mapping[str, str] = {
    "PENDING_AVAILABILITY": "予約注文",
    "PENDING": "保留中（Pending）",
    "UNSHIPPED": "未発送",
    "PARTIALLY_SHIPPED": "一部発送済",
    "SHIPPED": "発送済",
    "CANCELLED": "キャンセル",
    "UNFULFILLABLE": "出荷不能",
}


class OrderBook:
    """searchOrders by lastUpdatedAfter, paced, with the lines not yet committed."""

    PATH_ORDERS: ClassVar[str] = "/orders/2026-01-01/orders"
    # [SPM] searchOrders usage plan: 0.0056 req/s, burst 20.
    SEARCH_RATE: ClassVar[tuple[float, int]] = (0.0056, 20)
    # Tokens kept back for next pages and retries, so a search never stalls on page 2.
    TOKEN_RESERVE: ClassVar[float] = 2.0
    # [SPM] maxResultsPerPage 1..100.
    PAGE_SIZE: ClassVar[int] = 100
    # lastUpdatedBefore must be at least two minutes before the request [SPM]: Amazon
    # does not promise the last two minutes are searchable yet, so the mark stays two
    # minutes behind the search and the next search covers them again.
    INDEX_MARGIN: ClassVar[timedelta] = timedelta(minutes=2)
    # Without FULFILLMENT an order has no status nor fulfilledBy; CANCELLATION says who
    # cancelled and why. [SPM] includedData
    INCLUDED_DATA: ClassVar[str] = "FULFILLMENT,CANCELLATION"
    CANCELLED: ClassVar[str] = "CANCELLED"
    # Amazon fulfils these orders from FBA stock: never the shop's own sales.
    FULFILLED_BY_AMAZON: ClassVar[str] = "AMAZON"
    # Amazon gives the units of a cancelled Pending order back to the listing, except
    # (per a 2011 seller-support post; UNCONFIRMED today) when the seller cancels for
    # lack of stock. docs/api/amazon.md §4
    NO_RESTOCK_WORDS: ClassVar[tuple[str, ...]] = ("noinventory", "no_inventory", "out_of_stock")

    def __init__(self, api: SpApi, *, marketplace_id: str, is_fba: Callable[[str], bool]) -> None:
        self._api = api
        self._marketplace_id = marketplace_id
        self._is_fba = is_fba
        self._pace = Pace(self.SEARCH_RATE[0], self.SEARCH_RATE[1], api.clock)
        self.mark: datetime | None = None
        self._pending: dict[str, tuple[OrderLine, datetime]] = {}
        """line key → (its latest state, ``since`` of the call that first returned it)."""
        self.searches = 0

    def fetch(self, since: datetime, until: datetime) -> list[OrderLine]:
        """Lines changed since ``since`` (or the mark), from a search or from memory."""
        self._pending = {k: v for k, v in self._pending.items() if not since > v[1]}
        if self._pace.ready(self.TOKEN_RESERVE):
            start = since if self.mark is None else min(since, self.mark)
            searched_at = self._api.clock.now()
            upper = self._search(start)
            for line in upper[0]:
                self._pending[line.key] = (line, since)
            bound = min(upper[1] or searched_at, searched_at) - self.INDEX_MARGIN
            self.mark = bound if self.mark is None else max(self.mark, bound)
        lines = [line for line, _ in self._pending.values()]
        lines.sort(key=lambda ln: (ln.ordered_at or until, ln.order_id, ln.line_id))
        return lines

    def _search(self, start: datetime) -> tuple[list[OrderLine], datetime | None]:
        """Every page of one search: its lines and the response's lastUpdatedBefore."""
        lines: list[OrderLine] = []
        upper: datetime | None = None
        for page in self._pages(start):
            upper = parse_iso(page.get("lastUpdatedBefore")) or upper
            for order in page.get("orders") or []:
                if isinstance(order, dict):
                    lines.extend(self._lines_of(order))
        self.searches += 1
        return lines, upper

    def _pages(self, start: datetime) -> Iterator[dict[str, Any]]:
        params = {
            "lastUpdatedAfter": iso(start),
            "marketplaceIds": self._marketplace_id,
            "includedData": self.INCLUDED_DATA,
            "maxResultsPerPage": str(self.PAGE_SIZE),
        }
        while True:
            page = self._api.json(
                self._api.call("GET", self.PATH_ORDERS, self._pace, params=params)
            )
            yield page
            pagination = page.get("pagination")
            token = pagination.get("nextToken") if isinstance(pagination, dict) else None
            if not isinstance(token, str) or not token:
                return
            # The next page repeats the filters and adds paginationToken ([SPM]).
            params = {**params, "paginationToken": token}

    def _lines_of(self, order: Mapping[str, Any]) -> list[OrderLine]:
        fulfillment = order.get("fulfillment")
        fulfillment = fulfillment if isinstance(fulfillment, dict) else {}
        if fulfillment.get("fulfilledBy") == self.FULFILLED_BY_AMAZON:
            return []
        status = str(fulfillment.get("fulfillmentStatus") or "")
        ordered_at = parse_iso(order.get("createdTime"))
        lines: list[OrderLine] = []
        for item in order.get("orderItems") or []:
            if not isinstance(item, dict):
                continue
            product = item.get("product")
            sku = str(product.get("sellerSku") or "").strip() if isinstance(product, dict) else ""
            if not sku or self._is_fba(sku):
                continue  # an FBA listing's sale is Amazon's stock, whatever the order says
            execution = _execution(item)
            gone = status == self.CANCELLED or execution is not None
            quantity = item.get("quantityOrdered")
            lines.append(
                OrderLine(
                    mall="amazon",
                    order_id=str(order.get("orderId") or ""),
                    line_id=str(item.get("orderItemId") or ""),
                    code=sku,
                    units=0 if gone else max(quantity if isinstance(quantity, int) else 0, 0),
                    ordered_at=ordered_at,
                    status=STATUS_WORDS.get(status, status)
                    + ("（明細キャンセル）" if execution and status != self.CANCELLED else ""),
                    mall_restocks=gone and self._restocks(execution),
                )
            )
        return lines

    def _restocks(self, execution: Mapping[str, Any] | None) -> bool:
        reason = str((execution or {}).get("cancelReason") or "").lower().replace(" ", "")
        return not any(word in reason for word in self.NO_RESTOCK_WORDS)


def _execution(item: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The item's cancellationExecution (a cancel carried out), or None.

    A ``cancellationRequest`` alone is the buyer asking; it changes nothing until the
    seller or Amazon carries it out.
    """
    cancellation = item.get("cancellation")
    if not isinstance(cancellation, dict):
        return None
    execution = cancellation.get("cancellationExecution")
    return execution if isinstance(execution, dict) else None
