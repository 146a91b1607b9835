"""Read-only smoke test against the real カラーミーショップ API (skipped without a token).

Runs `check`, one sales search and one product read: nothing is written to the shop.
Set ZAIKO_COLORME_ACCESS_TOKEN and optionally ZAIKO_TEST_COLORME_CODE (a `商品ID` or
`商品ID:オプション値` that exists) and run `pytest -m live tests/adapters/test_colorme_live.py`.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

from adapters.colorme import ColorMeAdapter
from adapters.colorme.adapter import ColorMeConfig
from bot.infra.clock import RealClock

TOKEN = os.environ.get("ZAIKO_COLORME_ACCESS_TOKEN", "")

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not TOKEN, reason="needs a real カラーミーショップ access token"),
]


def test_read_calls_against_the_real_api() -> None:
    clock = RealClock()
    adapter = ColorMeAdapter(ColorMeConfig().http_client(), access_token=TOKEN, clock=clock)
    result = adapter.check()
    assert result.ok, result.message
    assert TOKEN not in result.message
    now = clock.now()
    lines = adapter.fetch_order_lines(now - timedelta(hours=1), now)
    assert all(line.mall == "colorme" for line in lines)
    code = os.environ.get("ZAIKO_TEST_COLORME_CODE")
    if code:
        stock = adapter.read_stock([code])
        assert set(stock) <= {code}
