"""The BASE simulator refuses what BASE documents refusing, with BASE's own bodies.

Every refusal is checked against the error body of the official docs (keys as in
bot/sandbox/simulators/base.py), and a normal run of the adapter — the contract
scenarios and a day of orders — meets none of them (``rejections()`` stays empty).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from adapters.thebase import TheBaseAdapter
from bot.core.domain import PushStatus, StockPush
from bot.infra.clock import JST
from bot.sandbox.clock import VirtualClock
from bot.sandbox.simulators.base import BaseSimulator, Unconfirmed

START = datetime(2026, 11, 23, 9, 0, 5, tzinfo=JST)
HOST = "https://api.thebase.in"


def _sim(facts: Unconfirmed | None = None) -> tuple[BaseSimulator, VirtualClock]:
    clock = VirtualClock(START)
    return BaseSimulator(clock=clock, facts=facts or Unconfirmed()), clock


def _client(sim: BaseSimulator, base_url: str = HOST) -> httpx.Client:
    return httpx.Client(base_url=base_url, transport=sim.transport)


def _token(sim: BaseSimulator, **form: str) -> httpx.Response:
    body = {
        "grant_type": "refresh_token",
        "client_id": sim.client_id,
        "client_secret": sim.client_secret,
        "refresh_token": sim.refresh_token,
        "redirect_uri": sim.redirect_uris[0],
        **form,
    }
    return _client(sim).post("/1/oauth/token", data={k: v for k, v in body.items() if v != "-"})


def _bearer(sim: BaseSimulator) -> dict[str, str]:
    response = _token(sim)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _refused(response: httpx.Response, error: str, description: str, status: int = 400) -> None:
    assert response.status_code == status, response.text
    assert response.json() == {"error": error, "error_description": description}


def _adapter(sim: BaseSimulator, clock: VirtualClock, **options: Any) -> TheBaseAdapter:
    return TheBaseAdapter(
        _client(sim),
        client_id=sim.client_id,
        client_secret=sim.client_secret,
        redirect_uri=sim.redirect_uris[0],
        refresh_token=sim.refresh_token,
        clock=clock,
        rng=random.Random(0),
        **options,
    )


# --------------------------------------------------------------------------- refusals


def test_http_is_refused_https_only() -> None:
    sim, _ = _sim()
    response = _client(sim, "http://api.thebase.in").get("/1/orders", headers=_bearer(sim))
    _refused(response, "access_denied", "httpsでアクセスしてください。")


@pytest.mark.parametrize("status", [400, 401])
def test_a_missing_wrong_or_expired_access_token(status: int) -> None:
    sim, clock = _sim(Unconfirmed(invalid_token_status=status))
    client = _client(sim)
    expected = ("invalid_request", "アクセストークンが無効です。", status)
    _refused(client.get("/1/orders"), *expected)
    _refused(client.get("/1/orders", headers={"Authorization": "Bearer nope"}), *expected)
    headers = _bearer(sim)
    assert client.get("/1/orders", headers=headers).status_code == 200
    clock.advance(3600)  # the access token lives one hour
    _refused(client.get("/1/orders", headers=headers), *expected)


def test_a_token_without_the_scope() -> None:
    sim, _ = _sim()
    sim.add_listing("100", 1)
    code = sim.authorize(sim.redirect_uris[0], scope="read_items")
    response = _token(sim, grant_type="authorization_code", code=code, refresh_token="-")
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    client = _client(sim)
    assert client.get("/1/items/detail/100", headers=headers).status_code == 200
    edit = client.post(
        "/1/items/edit_stock", data={"item_id": "100", "stock": "2"}, headers=headers
    )
    _refused(edit, "invalid_scope", "スコープが無効です。")
    _refused(client.get("/1/orders", headers=headers), "invalid_scope", "スコープが無効です。")


def test_edit_stock_refusals() -> None:
    sim, _ = _sim()
    sim.add_listing("100", 1)
    sim.add_listing("200:201", 1)
    client, headers = _client(sim), _bearer(sim)

    def edit(**form: str) -> httpx.Response:
        return client.post("/1/items/edit_stock", data=form, headers=headers)

    _refused(
        client.get("/1/items/edit_stock", params={"item_id": "100", "stock": "1"}, headers=headers),
        "not_post_method",
        "POSTで送信してください。",
    )
    _refused(edit(item_id="999", stock="1"), "bad_item_id", "不正なitem_idです。")
    _refused(edit(stock="1"), "bad_item_id", "不正なitem_idです。")
    _refused(edit(item_id="100"), "bad_params", "不正なパラメーターです。")
    _refused(
        edit(item_id="200", variation_id="999", variation_stock="1"),
        "bad_variation_id",
        "不正なvariation_idです。",
    )
    _refused(
        edit(item_id="100", variation_id="201", variation_stock="1"),
        "bad_variation_id",
        "不正なvariation_idです。",
    )
    _refused(edit(item_id="100", stock="-1"), "validation_error", "バリデーションエラーです。")
    _refused(edit(item_id="100", stock="1.5"), "validation_error", "バリデーションエラーです。")
    _refused(
        edit(item_id="100", stock=str(sim.refused_quantity())),
        "validation_error",
        "バリデーションエラーです。",
    )
    assert (sim.stock("100"), sim.stock("200:201")) == (1, 1)
    ok = edit(item_id="200", variation_id="201", variation_stock="7")
    assert ok.status_code == 200
    item = ok.json()["item"]
    assert item["stock"] == 7
    assert item["variations"][0]["variation_stock"] == 7


@pytest.mark.parametrize("reading", ["ignored", "rejected"])
def test_item_level_stock_for_an_item_with_variations(reading: str) -> None:
    sim, _ = _sim(Unconfirmed(item_stock_with_variations=reading))  # type: ignore[arg-type]
    sim.add_listing("200:201", 3)
    response = _client(sim).post(
        "/1/items/edit_stock", data={"item_id": "200", "stock": "9"}, headers=_bearer(sim)
    )
    if reading == "rejected":
        _refused(response, "validation_error", "バリデーションエラーです。")
    else:
        assert response.json()["item"]["stock"] == 3  # still the variations' sum
    assert sim.stock("200") == 3


def test_item_and_order_reads_refusals() -> None:
    sim, _ = _sim()
    client, headers = _client(sim), _bearer(sim)
    _refused(client.get("/1/items/detail/", headers=headers), "no_item_id", "item_idは必須です。")
    _refused(
        client.get("/1/items/detail/42", headers=headers), "no_item", "商品が見つかりませんでした。"
    )
    _refused(
        client.get("/1/orders/detail/", headers=headers), "no_unique_key", "unique_keyは必須です。"
    )
    _refused(
        client.get("/1/orders/detail/ABCDEF0123456789", headers=headers),
        "no_order",
        "注文情報が見つかりませんでした。",
    )
    for params in ({"limit": "101"}, {"start_ordered": "2026/11/23"}, {"offset": "-1"}):
        _refused(
            client.get("/1/orders", params=params, headers=headers),
            "bad_params",
            "不正なパラメーターです。",
        )
    _refused(
        client.get("/1/items", params={"limit": "500"}, headers=headers),
        "bad_params",
        "不正なパラメーターです。",
    )


@pytest.mark.parametrize("status", [400, 429])
def test_the_hourly_limit_resets_at_the_hour(status: int) -> None:
    sim, clock = _sim(Unconfirmed(hourly_limit=3, limit_status=status))
    client, headers = _client(sim), _bearer(sim)
    assert [client.get("/1/orders", headers=headers).status_code for _ in range(3)] == [200] * 3
    _refused(
        client.get("/1/orders", headers=headers),
        "hour_api_limit",
        "1時間のAPIの利用上限を超えました。時間が変わってからもう一度アクセスしてください。",
        status,
    )
    clock.set(START.replace(hour=10, minute=0, second=0))  # reset at :00, not 60 min later
    assert client.get("/1/orders", headers=headers).status_code == 200


@pytest.mark.parametrize("status", [400, 429])
def test_the_daily_limit_resets_at_midnight_jst(status: int) -> None:
    sim, clock = _sim(Unconfirmed(daily_limit=2, limit_status=status, rotate_refresh_token=False))
    client, headers = _client(sim), _bearer(sim)
    for _ in range(2):
        assert client.get("/1/orders", headers=headers).status_code == 200
    clock.advance(3600)
    headers = _bearer(sim)
    _refused(
        client.get("/1/orders", headers=headers),
        "day_api_limit",
        "1日のAPIの利用上限を超えました。日付が変わってからもう一度アクセスしてください。",
        status,
    )
    clock.set(datetime(2026, 11, 24, 0, 0, tzinfo=JST))
    headers = _bearer(sim)
    assert client.get("/1/orders", headers=headers).status_code == 200


def test_token_endpoint_refusals() -> None:
    sim, clock = _sim()
    client = _client(sim)
    _refused(client.get("/1/oauth/token"), "access_denied", "POSTで送信してください。")
    _refused(_token(sim, grant_type="password"), "invalid_request", "不正なgrant_typeです。")
    _refused(
        _token(sim, client_secret="-"),
        "invalid_request",
        "client_idもしくはclient_secretがありません。",
    )
    _refused(
        _token(sim, client_id="someone-else"),
        "unauthorized_client",
        "クライアントが見つかりませんでした。",
    )
    _refused(
        _token(sim, redirect_uri="https://evil.example.com/cb"),
        "invalid_request",
        "不正なパラメーターです。",
    )
    _refused(
        _token(sim, refresh_token="nope"), "invalid_request", "不正なリフレッシュトークンです。"
    )
    code = sim.authorize(sim.redirect_uris[0])
    _refused(
        _token(sim, grant_type="authorization_code", code="nope", refresh_token="-"),
        "invalid_request",
        "不正な認可コードです。",
    )
    clock.advance(601)
    _refused(
        _token(sim, grant_type="authorization_code", code=code, refresh_token="-"),
        "invalid_request",
        "認可コードの有効期限が切れています。",
    )
    old = sim.refresh_token
    clock.advance(30 * 86400)
    _refused(
        _token(sim, refresh_token=old),
        "invalid_request",
        "リフレッシュトークンの有効期限が切れています。",
    )


@pytest.mark.parametrize("rotate", [True, False])
def test_a_refresh_rotates_the_refresh_token_or_not(rotate: bool) -> None:
    sim, _ = _sim(Unconfirmed(rotate_refresh_token=rotate))
    first = _token(sim).json()
    assert first["token_type"] == "bearer"
    assert first["expires_in"] == 3600
    if rotate:
        assert first["refresh_token"] != sim.refresh_token
        _refused(_token(sim), "invalid_request", "不正なリフレッシュトークンです。")
        assert _token(sim, refresh_token=first["refresh_token"]).status_code == 200
    else:
        assert first["refresh_token"] == sim.refresh_token
        assert _token(sim).status_code == 200


def test_authorize_redirects_with_the_code_and_state() -> None:
    sim, _ = _sim()
    response = _client(sim).get(
        "/1/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": sim.client_id,
            "redirect_uri": sim.redirect_uris[0],
            "scope": "read_items write_items read_orders",
            "state": "xyz",
        },
    )
    assert response.status_code == 302
    location = httpx.URL(response.headers["Location"])
    assert location.params["state"] == "xyz"
    token = _token(
        sim, grant_type="authorization_code", code=location.params["code"], refresh_token="-"
    )
    assert token.status_code == 200
    assert sim.rejections() == []


# --------------------------------------------------------------------------- world


def test_orders_decrement_and_cancels_restock_per_the_reading() -> None:
    for restock in (True, False):
        sim, _ = _sim(Unconfirmed(restock_on_cancel=restock))
        sim.add_listing("100", 5)
        sim.add_listing("200:201", 5)
        order = sim.place_order([("100", 2), ("200:201", 1)])
        assert order is not None
        assert (sim.stock("100"), sim.stock("200:201"), sim.stock("200")) == (3, 4, 4)
        assert sim.place_order([("100", 4)]) is None  # not enough stock
        sim.cancel_order(order)
        expected = (5, 5) if restock else (3, 4)
        assert (sim.stock("100"), sim.stock("200:201")) == expected


@pytest.mark.parametrize("newest_first", [True, False])
def test_order_list_pages_by_offset_in_either_order(newest_first: bool) -> None:
    sim, clock = _sim(Unconfirmed(newest_orders_first=newest_first))
    sim.add_listing("100", 500)
    keys = []
    for _ in range(130):
        clock.advance(7)
        keys.append(sim.place_order([("100", 1)]))
    client, headers = _client(sim), _bearer(sim)
    seen: list[str] = []
    for offset in (0, 100):
        page = client.get(
            "/1/orders", params={"limit": "100", "offset": str(offset)}, headers=headers
        ).json()["orders"]
        seen += [row["unique_key"] for row in page]
    assert sorted(seen) == sorted(k for k in keys if k)
    assert ("unique_key" in page[0]) and ("order_items" not in page[0])  # lines only in detail


# --------------------------------------------------------------------------- normal runs


def test_normal_runs_meet_no_refusal() -> None:
    """The adapter's pushes, reads, checks and a day of orders, every 60 s: no refusal."""
    sim, clock = _sim()
    adapter = _adapter(sim, clock, cancel_rescan_seconds=300)
    codes = [sim.add_listing(sim.sample_code(n), 50) for n in range(12)]
    assert adapter.check().ok
    rng = random.Random(7)
    started = clock.now()
    orders: list[str] = []
    cursor = started
    for minute in range(24 * 60):
        clock.advance(60)
        if rng.random() < 0.15:
            order = sim.place_order([(rng.choice(codes), 1)])
            if order:
                orders.append(order)
        if orders and rng.random() < 0.02:
            victim = orders.pop(rng.randrange(len(orders)))
            sim.cancel_order(victim)
        now = clock.now()
        lines = adapter.fetch_order_lines(cursor - timedelta(minutes=2), now)
        assert all(line.mall == "base" for line in lines)
        cursor = now
        if minute % 10 == 0:
            stock = adapter.read_stock(codes)
            pushes = [StockPush(mall="base", code=c, quantity=q + 1) for c, q in stock.items()]
            results = adapter.push_stock(pushes)
            assert {r.status for r in results} <= {PushStatus.APPLIED}
    assert sim.rejections() == []
    assert max(sim._hours.values()) <= 5000
