"""Read-only smoke test against the real RMS (skipped without real credentials).

Runs `check`, one order search and one bulk-get: nothing is written to the shop.
Set ZAIKO_RAKUTEN_SERVICE_SECRET, ZAIKO_RAKUTEN_LICENSE_KEY and optionally
ZAIKO_TEST_RAKUTEN_CODE (a `manageNumber:variantId` that exists) and run
`pytest -m live tests/adapters/test_rakuten_live.py`.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

from adapters.rakuten import RakutenAdapter
from adapters.rakuten.adapter import RakutenConfig
from bot.infra.clock import RealClock

SECRET = os.environ.get("ZAIKO_RAKUTEN_SERVICE_SECRET", "")
KEY = os.environ.get("ZAIKO_RAKUTEN_LICENSE_KEY", "")

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not (SECRET and KEY), reason="needs real RMS credentials"),
]


def test_read_calls_against_real_rms() -> None:
    clock = RealClock()
    adapter = RakutenAdapter(
        RakutenConfig().http_client(), service_secret=SECRET, license_key=KEY, clock=clock
    )
    result = adapter.check()
    assert result.ok, result.message
    assert result.credential_expires_at is not None
    now = clock.now()
    lines = adapter.fetch_order_lines(now - timedelta(hours=1), now)
    assert all(line.mall == "rakuten" for line in lines)
    code = os.environ.get("ZAIKO_TEST_RAKUTEN_CODE")
    if code:
        stock = adapter.read_stock([code])
        assert set(stock) <= {code}
