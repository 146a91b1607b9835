"""Shopify (Admin GraphQL API, one pinned version): the channel adapter.

Wire facts are in ``docs/api/shopify.md``; each class attribute cites its source. The
package is split by concern: ``config`` (``[malls.shopify]`` and the declaration),
``adapter`` (check, read, push), ``stock`` (what Shopify should show, for
compare-and-set), ``catalog`` (SKU → inventory item, the owned location), ``orders``
(polling by ``updated_at``), ``wire`` (one GraphQL call, error reading, cost pacing).
Design decisions:

- **One version, pinned.** ``api_version`` (default 2026-04) decides the wire shape:
  ``compareQuantity`` before 2026-01, ``changeFromQuantity`` and ``@idempotent(key:)``
  from 2026-01 (both mandatory from 2026-04). A version Shopify no longer serves
  answers 404, reported like refused credentials (the settings must change).
- **Compare-and-set, never over a sale.** Every quantity is sent with the number the
  adapter expects Shopify to show (``stock.Ledger``; the engine's ``compare_to`` when it
  gives one). A stale compare means Shopify sold (or staff edited) since: the listing
  is read again and set to the target less the units Shopify sold meanwhile, so the
  sale is kept; the result says so and carries the number Shopify now shows. After
  the engine's next read-back its shortfall hold takes those units over (§4.5).
- **Idempotency.** One UUID per distinct mutation; a network retry resends the same
  body with the same key, as Shopify's idempotency rules ask.
- **SKU lookup, exact.** ``productVariants(query: "sku:…")`` is tokenised search: every
  answer is filtered to the exact SKU. A SKU on two variants is refused, not guessed.
  Once a SKU's inventory item is known, its quantity is read by id
  (``nodes(ids:)``, up to 250 a call), never by search again unless the item is gone
  or carries another SKU; the item's identity is searched again after an hour.
- **Location.** Stock lives per location; ``location`` (name or id) says which one the
  bot owns. With one active location it is that one; with several and none configured
  every call fails with a message naming them, so nothing is written to the wrong one.
- **Orders.** ``orders(query: "updated_at:>=… AND updated_at:<=…")``, 25 a page. A
  cancel (``cancelledAt``) reports 0 units; refunds lower a line by what they returned
  to stock (``restockType``), and whether Shopify restocked the bot's location is
  reported with the line. Lines without a SKU are not listings and are left out.
- **Throttling.** Cost-based: every answer's ``extensions.cost.throttleStatus`` tells
  the bucket and restore rate; the adapter waits before a query that would not fit.
  THROTTLED inside a 200 and HTTP 429 are both read as rate limits and retried after
  the time the bucket needs. The drift read-back (``read_stock``) starts only the
  reads the bucket affords now (by id for known items, searches for the rest),
  leaving a reserve for the cycle's pushes, and queues the SKUs it could not read for
  its next calls (oldest ask first).
"""

from __future__ import annotations

from adapters.shopify.adapter import ShopifyAdapter
from adapters.shopify.config import SHOPIFY, ShopifyConfig, normalize_shop

__all__ = ["SHOPIFY", "ShopifyAdapter", "ShopifyConfig", "normalize_shop"]
