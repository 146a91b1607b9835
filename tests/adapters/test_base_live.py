"""Read-only smoke test against the real BASE API (skipped without real credentials).

Runs `check`, one order fetch over the last hour and, when a code is given, one stock
read: nothing is written to the shop. BASE may hand out a new refresh token on refresh
and retire the old one (UNCONFIRMED), so the newest one is written to a file of yours.

    ZAIKO_BASE_CLIENT_ID=… ZAIKO_BASE_CLIENT_SECRET=… ZAIKO_BASE_REFRESH_TOKEN=… \
    ZAIKO_BASE_REDIRECT_URI=https://… ZAIKO_TEST_BASE_TOKEN_FILE=/path/to/keep/it \
    [ZAIKO_TEST_BASE_CODE=12345678 or 12345678:23456789] \
    pytest -m live tests/adapters/test_base_live.py
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

from adapters.base import MemoryTokens
from adapters.oauth import REFRESH_TOKEN_KEY
from adapters.thebase import TheBaseAdapter
from adapters.thebase.adapter import TheBaseConfig
from bot.infra.clock import RealClock

CLIENT_ID = os.environ.get("ZAIKO_BASE_CLIENT_ID", "")
CLIENT_SECRET = os.environ.get("ZAIKO_BASE_CLIENT_SECRET", "")
REFRESH_TOKEN = os.environ.get("ZAIKO_BASE_REFRESH_TOKEN", "")
REDIRECT_URI = os.environ.get("ZAIKO_BASE_REDIRECT_URI", "")
TOKEN_FILE = os.environ.get("ZAIKO_TEST_BASE_TOKEN_FILE", "")

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not (CLIENT_ID and CLIENT_SECRET and REFRESH_TOKEN and REDIRECT_URI and TOKEN_FILE),
        reason="needs real BASE credentials and a file for the newest refresh token",
    ),
]


def test_read_calls_against_real_base() -> None:
    clock = RealClock()
    tokens = MemoryTokens()
    adapter = TheBaseAdapter(
        TheBaseConfig().http_client(),
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uri=REDIRECT_URI,
        refresh_token=REFRESH_TOKEN,
        tokens=tokens,
        clock=clock,
    )
    try:
        result = adapter.check()
        assert result.ok, result.message
        now = clock.now()
        lines = adapter.fetch_order_lines(now - timedelta(hours=1), now)
        assert all(line.mall == "base" for line in lines)
        code = os.environ.get("ZAIKO_TEST_BASE_CODE")
        if code:
            assert set(adapter.read_stock([code])) <= {code}
    finally:
        newest = tokens.load(REFRESH_TOKEN_KEY)
        if newest:
            path = Path(TOKEN_FILE)
            path.write_text(newest + "\n", encoding="utf-8")
            path.chmod(0o600)
