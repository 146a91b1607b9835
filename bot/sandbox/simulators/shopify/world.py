"""The simulated shop's records: variants, locations, orders, refunds, the request log."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# docs/api/shopify.md §1.1: stable versions named YYYY-MM. 2026-07 and 2026-10 are
# listed on shopify.dev (https://shopify.dev/docs/api/admin-graphql/2026-10/...).
STABLE_VERSIONS = (
    "2024-07",
    "2024-10",
    "2025-01",
    "2025-04",
    "2025-07",
    "2025-10",
    "2026-01",
    "2026-04",
    "2026-07",
    "2026-10",
)


@dataclass(frozen=True)
class Unconfirmed:
    """The simulator's answer to each point docs/api/shopify.md marks UNCONFIRMED.

    Every field can be set either way, so a test runs the adapter against both answers.
    """

    fuzzy_sku_search: bool = True
    """``sku:ABC-1`` also finds ``ABC-10``, ``ABC-1-RED`` (exact match not documented). §1.2"""
    throttle_status: int = 200
    """HTTP status of a THROTTLED answer: 200 (a connector's reading) or 429 (community). §1.7"""
    bucket_size: float = 2000.0
    """``maximumAvailable`` (recent answers show 2,000; older ones 1,000). §1.7"""
    restore_rate: float = 100.0
    """``restoreRate`` (Standard plan, official). §1.7"""
    max_query_cost: int = 1000
    """A single query above this cost is refused with MAX_COST_EXCEEDED (third party). §1.6"""
    cancel_refund_lines: bool = True
    """A cancel records refund line items (restockType CANCEL, or NO_RESTOCK). §1.6"""
    restock_on_cancel: bool = True
    """A cancel puts the units back at the location (the admin's default). §1.6"""
    reasons: frozenset[str] = frozenset(
        {
            "correction",
            "cycle_count_available",
            "damaged",
            "other",
            "promotion",
            "received",
            "restock",
            "shrinkage",
        }
    )
    """Accepted ``reason`` codes (SHOPLINE's clone of the list). §1.4"""


@dataclass
class SimVariant:
    """One product variant and its inventory item."""

    variant_id: int
    item_id: int
    sku: str
    tracked: bool = True
    levels: dict[int, int] = field(default_factory=dict)
    """Location id → ``available`` (a location without a level does not stock it)."""


@dataclass
class SimLocation:
    """One location."""

    location_id: int
    name: str
    active: bool = True


@dataclass
class SimLine:
    """One line item."""

    line_id: int
    sku: str
    quantity: int
    variant_id: int | None
    current: int = 0
    """``currentQuantity``: quantity less what refunds and edits removed."""


@dataclass
class SimRefundLine:
    """One refund line item."""

    line_id: int
    quantity: int
    restock_type: str
    location_id: int | None


@dataclass
class SimRefund:
    """One refund of an order."""

    refund_id: int
    at: datetime
    lines: list[SimRefundLine]


@dataclass
class SimOrder:
    """One order; a cancel keeps it with ``cancelledAt`` set."""

    order_id: int
    name: str
    created: datetime
    updated: datetime
    lines: list[SimLine]
    location_id: int
    cancelled: datetime | None = None
    refunds: list[SimRefund] = field(default_factory=list)


@dataclass
class SimRequest:
    """One request as the simulator saw it."""

    at: datetime
    path: str
    root: str = ""
    """The operation's root field (``inventorySetQuantities``, ``orders``, …)."""
    variables: dict[str, Any] = field(default_factory=dict)
    query: str = ""
    status: int = 0
    codes: list[str] = field(default_factory=list)
    """Top-level ``errors[].extensions.code`` and ``userErrors[].code`` answered."""
    injected: bool = False
    cost: int = 0
    """Requested cost (reserved from the bucket when admitted)."""
    actual_cost: int | None = None
    """Actual cost of a served answer (the rest of ``cost`` was refunded)."""
