"""Read-only smoke test against the real Yahoo!ショッピング (skipped without credentials).

Runs ``check`` (a token refresh and one signed orderList), one order search over the
last hour and, when ZAIKO_TEST_YAHOO_CODE names an existing code, one getStock:
nothing is written to the store. Set ZAIKO_YAHOO_CLIENT_ID, ZAIKO_YAHOO_CLIENT_SECRET,
ZAIKO_YAHOO_REFRESH_TOKEN, ZAIKO_YAHOO_PUBLIC_KEY, ZAIKO_MALLS__YAHOO__SELLER_ID and
ZAIKO_MALLS__YAHOO__PUBLIC_KEY_VERSION (default 1), then run
``pytest -m live tests/adapters/test_yahoo_live.py``. The machine's IP must be a
registered request source of the application. Yahoo may hand out a new refresh token
during the run; it is printed masked only, so keep using the one you set until
``auth yahoo`` is wired.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

from adapters.yahoo import YahooAdapter
from adapters.yahoo.adapter import YahooConfig
from bot.infra.clock import RealClock

CLIENT_ID = os.environ.get("ZAIKO_YAHOO_CLIENT_ID", "")
CLIENT_SECRET = os.environ.get("ZAIKO_YAHOO_CLIENT_SECRET", "")
REFRESH_TOKEN = os.environ.get("ZAIKO_YAHOO_REFRESH_TOKEN", "")
PUBLIC_KEY = os.environ.get("ZAIKO_YAHOO_PUBLIC_KEY", "")
SELLER_ID = os.environ.get("ZAIKO_MALLS__YAHOO__SELLER_ID", "")

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not (CLIENT_ID and CLIENT_SECRET and REFRESH_TOKEN and PUBLIC_KEY and SELLER_ID),
        reason="needs real Yahoo!ショッピング credentials",
    ),
]


def test_read_calls_against_real_yahoo() -> None:
    clock = RealClock()
    adapter = YahooAdapter(
        YahooConfig().http_client(),
        seller_id=SELLER_ID,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        refresh_token=REFRESH_TOKEN,
        public_key=PUBLIC_KEY,
        public_key_version=int(os.environ.get("ZAIKO_MALLS__YAHOO__PUBLIC_KEY_VERSION", "1")),
        clock=clock,
        daily_request_limit=20,  # a smoke test, not a load test
    )
    result = adapter.check()
    assert result.ok, result.message
    for secret in (CLIENT_SECRET, REFRESH_TOKEN):
        assert secret not in result.message
    now = clock.now()
    lines = adapter.fetch_order_lines(now - timedelta(hours=1), now)
    assert all(line.mall == "yahoo" for line in lines)
    code = os.environ.get("ZAIKO_TEST_YAHOO_CODE")
    if code:
        stock = adapter.read_stock([code])
        assert set(stock) <= {code}
