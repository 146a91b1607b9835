"""Tab keys of ``sheets_template/template.json`` and the cell addresses a write uses."""

from __future__ import annotations

from typing import Any

PRODUCTS = "products"
SETS = "sets"
MOVEMENTS = "movements"
SETTINGS = "settings"
LISTINGS = "listings"
OPS_LOG = "ops_log"
SALES_LOG = "sales_log"
MALL_LOG = "mall_log"
ERROR_LOG = "error_log"
STATE = "state"

CYCLE_TABS = (PRODUCTS, SETS, MOVEMENTS, SETTINGS, STATE)
"""Tabs a whole read takes whole."""
HOT_TABS = (MOVEMENTS, SETTINGS, STATE)
"""Tabs read every cycle (入出庫 below its settled top); 商品マスタ's hot columns and the
cache give the rest (:mod:`bot.infra.sheet.hot`)."""
LOG_TABS = (OPS_LOG, SALES_LOG, MALL_LOG, ERROR_LOG)
HEADER_TABS = (*LOG_TABS, LISTINGS)
"""Tabs a cycle reads the header row of: the log tabs (appends follow staff's column
order) and 出品状況, which the bot knows from its own writes (sheet/listing_book.py)."""

Request = dict[str, Any]
"""One sub-request of a ``spreadsheets:batchUpdate``."""
CellAt = tuple[str, int, int]
"""(tab key, grid row, column) of one cell."""
Placed = dict[CellAt, tuple[str | None, Any]]
"""Cells one batchUpdate writes: where → (key of the row it is meant for, value)."""
