"""Read-only smoke test against a real Shopify shop (skipped without real credentials).

Runs `check`, one order poll and one SKU read: nothing is written to the shop. Set
ZAIKO_SHOPIFY_ACCESS_TOKEN and ZAIKO_SHOPIFY_SHOP (example.myshopify.com), optionally
ZAIKO_SHOPIFY_LOCATION (name or id, needed when the shop has several locations),
ZAIKO_SHOPIFY_API_VERSION and ZAIKO_TEST_SHOPIFY_SKU (a SKU that exists), and run
`pytest -m live tests/adapters/test_shopify_live.py`.
"""

from __future__ import annotations

import os
from datetime import timedelta

import httpx
import pytest

from adapters.shopify import ShopifyAdapter, ShopifyConfig
from bot.infra.clock import RealClock

TOKEN = os.environ.get("ZAIKO_SHOPIFY_ACCESS_TOKEN", "")
SHOP = os.environ.get("ZAIKO_SHOPIFY_SHOP", "")

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not (TOKEN and SHOP), reason="needs a real Shopify shop and token"),
]


def test_read_calls_against_a_real_shop() -> None:
    config = ShopifyConfig(
        shop=SHOP,
        location=os.environ.get("ZAIKO_SHOPIFY_LOCATION", ""),
        api_version=os.environ.get("ZAIKO_SHOPIFY_API_VERSION", "") or ShopifyConfig().api_version,
    )
    clock = RealClock()
    adapter = ShopifyAdapter(
        httpx.Client(timeout=httpx.Timeout(10.0)),
        shop_url=config.shop_url(),
        access_token=TOKEN,
        clock=clock,
        api_version=config.api_version,
        location=config.location,
    )
    result = adapter.check()
    assert result.ok, result.message
    assert TOKEN not in result.message
    now = clock.now()
    lines = adapter.fetch_order_lines(now - timedelta(hours=1), now)
    assert all(line.mall == "shopify" and line.units >= 0 for line in lines)
    sku = os.environ.get("ZAIKO_TEST_SHOPIFY_SKU")
    if sku:
        assert set(adapter.read_stock([sku])) <= {sku}
