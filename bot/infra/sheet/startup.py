"""What the worker reads once, at start-up, to rebuild the engine state.

One ``values:batchGet``: 販売ログ (the ledger), 出品状況 and ``_state`` whole; of the other
log tabs their header row and first column, to count the rows kept for trimming.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.engine import LedgerEntry
from bot.infra.sheet import layout
from bot.infra.sheet.listing_book import ListingBook
from bot.infra.sheet.logs import LogTabs
from bot.infra.sheet.rows import parse_ledger
from bot.infra.sheet.spec import Template
from bot.infra.sheet.state import state_dict
from bot.infra.sheet.tabs import ERROR_LOG, LISTINGS, LOG_TABS, MALL_LOG, OPS_LOG, SALES_LOG, STATE
from bot.infra.sheet.values import dates_of, text_of, value_at

_WHOLE = (SALES_LOG, LISTINGS, STATE)
_COUNTED = (OPS_LOG, MALL_LOG, ERROR_LOG)


@dataclass
class StartupData:
    """What the worker needs once, at start-up, to rebuild the engine state."""

    ledger: list[LedgerEntry]
    listings: dict[tuple[str, str], int]
    state: dict[str, str]


def load_startup(
    batch_get: Callable[[Sequence[str]], list[list[list[Any]]]],
    whole: Callable[[str], str],
    template: Template,
    logs: LogTabs,
    book: ListingBook,
) -> StartupData:
    """Ledger, pushed numbers and ``_state``; ``logs`` and ``book`` take what they keep."""
    ranges = [whole(k) for k in _WHOLE] + [f"{whole(k)}!1:1" for k in _COUNTED]
    ranges += [f"{whole(k)}!A:A" for k in _COUNTED]
    got = batch_get(ranges)
    tabs = (*_WHOLE, *_COUNTED)
    values = dict(zip(tabs, got[: len(tabs)], strict=True))
    for key, column in zip(_COUNTED, got[len(tabs) :], strict=True):
        logs.rows[key] = max(0, len(column) - 1)
    for tab in template.tabs:
        if tab.retention is not None and tab.key not in logs.retention:
            logs.retention[tab.key] = (tab.retention.max_rows, tab.retention.min_days)
    for key in LOG_TABS:
        rows = values.get(key) or [[]]
        logs.headers[key] = layout.header_map(template.tab(key), rows[0] if rows else [])
    sales = values.get(SALES_LOG) or []
    logs.rows[SALES_LOG] = max(0, len(sales) - 1)
    at_col = logs.headers[SALES_LOG].col("at")
    logs.sales_dates.clear()
    logs.sales_dates.extend(dates_of(value_at(row, at_col) for row in sales[1:]))
    ledger = parse_ledger(sales, logs.headers[SALES_LOG], template)
    listing_rows = values.get(LISTINGS) or []
    book.load(listing_rows, template)  # the book starts from the same read
    listings = pushed_listings(listing_rows, template)
    return StartupData(ledger=ledger, listings=listings, state=state_dict(values.get(STATE) or []))


def pushed_listings(
    rows: Sequence[Sequence[Any]], template: Template
) -> dict[tuple[str, str], int]:
    """出品状況 表示在庫 per (mall, code): what each listing was last sent."""
    header = layout.header_map(template.tab(LISTINGS), rows[0] if rows else [])
    listings: dict[tuple[str, str], int] = {}
    for row in rows[1:]:
        mall_text = text_of(value_at(row, header.col("mall")))
        mall = template.mall_key(mall_text) or mall_text
        code = text_of(value_at(row, header.col("code")))
        qty = value_at(row, header.col("quantity"))
        if mall and code and isinstance(qty, int | float) and not isinstance(qty, bool):
            listings[(mall, code)] = int(qty)
    return listings
