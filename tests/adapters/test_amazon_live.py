"""Read-only smoke test against the real SP-API (skipped without real credentials).

Runs `check`, one searchOrders and, if a SKU is given, one getListingsItem: nothing is
written to the shop (no PATCH, no feed, no report). Set ZAIKO_AMAZON_LWA_CLIENT_ID,
ZAIKO_AMAZON_LWA_CLIENT_SECRET, ZAIKO_AMAZON_REFRESH_TOKEN, ZAIKO_AMAZON_SELLER_ID and
optionally ZAIKO_TEST_AMAZON_SKU (a merchant-fulfilled seller SKU that exists), then run
`pytest -m live tests/adapters/test_amazon_live.py`.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

from adapters.amazon import AmazonAdapter
from adapters.amazon.adapter import AmazonConfig
from bot.infra.clock import RealClock

CREDENTIALS = {
    name: os.environ.get(f"ZAIKO_AMAZON_{name.upper()}", "")
    for name in ("lwa_client_id", "lwa_client_secret", "refresh_token", "seller_id")
}

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not all(CREDENTIALS.values()), reason="needs real SP-API credentials"),
]


def test_read_calls_against_real_sp_api() -> None:
    clock = RealClock()
    adapter = AmazonAdapter(AmazonConfig().http_client(), clock=clock, **CREDENTIALS)
    result = adapter.check()
    assert result.ok, result.message
    now = clock.now()
    # lastUpdatedAfter an hour ago: one searchOrders call of the 20-call burst.
    lines = adapter.fetch_order_lines(now - timedelta(hours=1), now)
    assert all(line.mall == "amazon" for line in lines)
    sku = os.environ.get("ZAIKO_TEST_AMAZON_SKU")
    if sku:
        stock = adapter.read_stock([sku])
        assert set(stock) <= {sku}
