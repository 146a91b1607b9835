"""BASE orders: ``GET /1/orders`` by order date, lines from ``/1/orders/detail/:unique_key``.

The list call filters by order date only and carries no lines [B-orders]; its rows do
carry ``modified``, ``cancelled`` and ``dispatch_status``, so :class:`OrderBook` calls
the detail (one call per order) only for an order it has not seen or whose row
changed, and re-reports the others from memory (the engine reconciles repeats).

Cancels of older orders: a second search over the cancellation window before
``since`` finds orders whose row changed. It costs one call per 100 orders of the
window, so it runs every ``rescan_seconds`` (not every 15 s cycle) and only while the
hourly budget has room (:meth:`Budget.spare`). Lines it finds are reported until the
worker has committed them, as the Amazon adapter does: until a call arrives whose
``since`` is later than that of the call that first returned them.

After a restart the memory is empty: the first rescan reads the detail of every
cancelled order of the window and of every order changed since it was placed and not
dispatched (a partial cancel), at most :attr:`OrderBook.MAX_RESCAN_DETAILS` a rescan;
the rest wait for the next rescan. A line cancelled in an order that was dispatched
afterwards, while the bot was down, is the one change a restart does not see.

[B-orders] https://github.com/baseinc/api-docs/blob/2760123/base_api_v1_orders.md
           (unchanged on https://docs.thebase.in/api/orders)
[B-order]  https://github.com/baseinc/api-docs/blob/2760123/base_api_v1_orders_detail.md
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from adapters.base import MallRejected
from adapters.thebase.wire import Budget, line_code, ordered_param
from bot.core.domain import OrderLine
from bot.infra.clock import Clock

GetJson = Callable[[str, Mapping[str, str] | None], dict[str, Any]]
"""One authorised GET returning the JSON object (the adapter's ``_get``)."""

# dispatch_status [B-orders] and order_items[].status [B-order], in staff's words.
ORDER_STATUS_WORDS: Mapping[str, str] = {
    "ordered": "発送待ち",
    "unpaid": "入金待ち",
    "shipping": "配送中",
    "dispatched": "発送済み",
    "cancelled": "キャンセル",
}
LINE_CANCELLED = "cancelled"


@dataclass(frozen=True)
class _Row:
    """One order as ``GET /1/orders`` lists it: enough to tell whether it changed."""

    key: str
    ordered: int
    modified: int
    status: str
    cancelled: bool

    @property
    def signature(self) -> tuple[int, str, bool]:
        return self.modified, self.status, self.cancelled


@dataclass(frozen=True)
class _Seen:
    """What the book last read of one order."""

    signature: tuple[int, str, bool]
    lines: tuple[OrderLine, ...]
    ordered: int


class OrderBook:
    """New orders every call, changes of older ones by a paced rescan of the window."""

    PATH_ORDERS: ClassVar[str] = "/1/orders"  # [B-orders]
    PATH_DETAIL: ClassVar[str] = "/1/orders/detail/"  # [B-order]
    # limit: default 20, MAX 100 [B-orders]
    PAGE_SIZE: ClassVar[int] = 100
    # Rescans stop once this share of the hour's or day's calls is used, keeping the
    # rest for pushes and new orders.
    RESCAN_BUDGET_SHARE: ClassVar[float] = 0.6
    MAX_RESCAN_DETAILS: ClassVar[int] = 200
    NO_ORDER: ClassVar[str] = "no_order"  # [B-order] "注文情報が見つかりませんでした。"

    def __init__(
        self,
        get: GetJson,
        *,
        clock: Clock,
        budget: Budget,
        cancel_window: timedelta,
        rescan_seconds: float,
        restocks_on_cancel: bool,
    ) -> None:
        self._get = get
        self._clock = clock
        self._budget = budget
        self.cancel_window = cancel_window
        self.rescan_seconds = rescan_seconds
        self.restocks_on_cancel = restocks_on_cancel
        self._seen: dict[str, _Seen] = {}
        self._pending: dict[str, tuple[OrderLine, datetime]] = {}
        """line key → (its latest state, ``since`` of the call that first returned it)."""
        self._last_rescan: float | None = None
        self.rescans = 0
        self.details = 0

    def fetch(self, since: datetime, until: datetime) -> list[OrderLine]:
        """Lines of orders placed in [since, until], plus uncommitted changes of older ones."""
        if until < since:
            return []
        self._pending = {k: v for k, v in self._pending.items() if not since > v[1]}
        lines: dict[str, OrderLine] = {}
        for row in self._rows(since, until):
            seen = self._current(row)
            if seen is not None:
                lines.update((line.key, line) for line in seen.lines)
        if self._rescan_due():
            self._rescan(until - self.cancel_window, since, since)
        horizon = int((until - self.cancel_window).timestamp()) - 86_400
        self._seen = {k: v for k, v in self._seen.items() if v.ordered >= horizon}
        for key, (line, _since) in self._pending.items():
            lines.setdefault(key, line)
        result = list(lines.values())
        result.sort(key=lambda ln: (ln.ordered_at or until, ln.order_id, ln.line_id))
        return result

    # ------------------------------------------------------------------ rescans

    def _rescan_due(self) -> bool:
        now = self._clock.monotonic()
        if self._last_rescan is not None and now - self._last_rescan < self.rescan_seconds:
            return False
        return self._budget.spare(self.RESCAN_BUDGET_SHARE)

    def _rescan(self, start: datetime, end: datetime, since: datetime) -> None:
        """Orders of [start, end] whose row changed: their lines wait to be committed."""
        self._last_rescan = self._clock.monotonic()
        self.rescans += 1
        if end <= start:
            return
        details_left = self.MAX_RESCAN_DETAILS
        for row in self._rows(start, end):
            before = self._seen.get(row.key)
            if before is not None and before.signature == row.signature:
                continue
            if before is None and not self._worth_reading(row):
                self._seen[row.key] = _Seen(row.signature, (), row.ordered)
                continue
            if details_left <= 0:
                continue  # not remembered: the next rescan reads it
            details_left -= 1
            seen = self._current(row)
            if seen is None:
                continue
            old = {ln.key: ln for ln in before.lines} if before is not None else {}
            for line in seen.lines:
                if old.get(line.key) != line:
                    self._pending[line.key] = (line, since)

    @staticmethod
    def _worth_reading(row: _Row) -> bool:
        """An order first met in a rescan (a restart): cancelled, or changed and not shipped."""
        return row.cancelled or (row.modified > row.ordered and row.status != "dispatched")

    # ------------------------------------------------------------------ calls

    def _rows(self, start: datetime, end: datetime) -> Iterator[_Row]:
        """Every order placed in [start, end], over all pages (any order of rows)."""
        offset = 0
        while True:
            params = {
                "start_ordered": ordered_param(start),
                "end_ordered": ordered_param(end),
                "limit": str(self.PAGE_SIZE),
                "offset": str(offset),
            }
            page = self._get(self.PATH_ORDERS, params).get("orders")
            rows = [r for r in page if isinstance(r, dict)] if isinstance(page, list) else []
            for raw in rows:
                row = _row(raw)
                if row is not None:
                    yield row
            if len(rows) < self.PAGE_SIZE:
                return
            offset += len(rows)

    def _current(self, row: _Row) -> _Seen | None:
        """The order's lines: from memory when its row is unchanged, else from the detail."""
        before = self._seen.get(row.key)
        if before is not None and before.signature == row.signature:
            return before
        try:
            body = self._get(self.PATH_DETAIL + row.key, None)
        except MallRejected as err:
            if err.code == self.NO_ORDER:
                self._seen.pop(row.key, None)
                return None
            raise
        self.details += 1
        order = body.get("order")
        if not isinstance(order, dict):
            return before
        seen = _Seen(row.signature, tuple(self._lines(order)), row.ordered)
        self._seen[row.key] = seen
        return seen

    def _lines(self, order: Mapping[str, Any]) -> Iterator[OrderLine]:
        key = str(order.get("unique_key") or "")
        status = str(order.get("dispatch_status") or "")
        gone = order.get("cancelled") not in (None, "", 0) or status == LINE_CANCELLED
        ordered_at = _when(order.get("ordered"))
        for item in order.get("order_items") or []:
            if not isinstance(item, dict):
                continue
            line_gone = gone or item.get("status") == LINE_CANCELLED
            amount = item.get("amount")
            word = ORDER_STATUS_WORDS.get(status, status)
            if line_gone and not gone:
                word += "（明細キャンセル）"
            yield OrderLine(
                mall="base",
                order_id=key,
                line_id=str(item.get("order_item_id") or ""),
                code=line_code(item.get("item_id"), item.get("variation_id")),
                units=0 if line_gone else max(amount if isinstance(amount, int) else 0, 0),
                ordered_at=ordered_at,
                status=word,
                mall_restocks=line_gone and self.restocks_on_cancel,
            )


def _row(raw: Mapping[str, Any]) -> _Row | None:
    key = raw.get("unique_key")
    if not isinstance(key, str) or not key:
        return None
    status = str(raw.get("dispatch_status") or "")
    return _Row(
        key=key,
        ordered=_int(raw.get("ordered")),
        modified=_int(raw.get("modified")),
        status=status,
        cancelled=raw.get("cancelled") not in (None, "", 0) or status == LINE_CANCELLED,
    )


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0


def _when(value: object) -> datetime | None:
    """A unix time of the order bodies [B-orders] as an aware datetime."""
    return datetime.fromtimestamp(value, UTC) if isinstance(value, int) and value > 0 else None
