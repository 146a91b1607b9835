"""The 楽天 adapter joins each path to the client's base URL once, as httpx would."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import httpx
import pytest

from adapters.rakuten import RakutenAdapter
from bot.sandbox.clock import VirtualClock

NOW = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    # the production base (a MockTransport answers: nothing is fetched) and the sandbox's
    "base",
    [RakutenAdapter.BASE_URL, "http://127.0.0.1:8123/channels/rakuten/"],
)
def test_requests_go_where_a_relative_path_would(base: str) -> None:
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, json={"inventories": []})

    client = httpx.Client(transport=httpx.MockTransport(handler), base_url=base)
    adapter = RakutenAdapter(
        client,
        service_secret="s" * 8,
        license_key="k" * 8,
        clock=VirtualClock(NOW),
        rng=random.Random(0),
    )
    adapter.read_stock(["mug:blue"])
    adapter.read_stock(["mug:red"])
    path = RakutenAdapter.PATH_BULK_GET
    assert seen == [client.build_request("POST", path).url] * 2
    assert str(seen[0]) == base.rstrip("/") + path
    assert adapter._url(path) is adapter._url(path)  # made once per path
