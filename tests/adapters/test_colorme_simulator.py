"""The カラーミーショップ simulator refuses what the API refuses, with the API's bodies, and
the adapter's normal runs (the contract scenarios, a day of orders) trigger none of it.

The one documented error body is 404100 [CM-readme]; the envelope
``{"errors": [{"code", "message", "status"}]}`` is the API's only error shape, and the
codes of the other refusals are the simulator's UNCONFIRMED placeholders in it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from bot.core.domain import PushStatus, StockPush
from bot.infra.clock import JST
from bot.sandbox.clock import VirtualClock
from bot.sandbox.simulators.colorme import ColorMeSimulator, Unconfirmed
from tests.adapters import test_contract as contract
from tests.adapters.harness import Harness

START = datetime(2026, 11, 23, 9, 0, tzinfo=JST)
NOT_FOUND = {
    "errors": [{"code": 404100, "message": "レコードが見つかりませんでした。", "status": 404}]
}


def world(facts: Unconfirmed | None = None) -> tuple[ColorMeSimulator, httpx.Client, VirtualClock]:
    clock = VirtualClock(START)
    sim = ColorMeSimulator(clock=clock, facts=facts or Unconfirmed())
    client = httpx.Client(
        base_url="https://api.shop-pro.jp",
        transport=sim.transport,
        headers={"Authorization": f"Bearer {sim.access_token}"},
    )
    return sim, client, clock


def errors_of(response: httpx.Response) -> list[dict[str, Any]]:
    body = response.json()
    assert set(body) == {"errors"}
    assert all(set(e) == {"code", "message", "status"} for e in body["errors"])
    assert body["errors"][0]["status"] == response.status_code
    errors: list[dict[str, Any]] = body["errors"]
    return errors


# --------------------------------------------------------------------------- documented: 404100


def test_a_record_that_does_not_exist_is_404100() -> None:
    sim, client, _ = world()
    for method, path in [
        ("GET", "/v1/products/999.json"),
        ("PUT", "/v1/products/999.json"),
        ("GET", "/v1/sales/1.json"),
    ]:
        response = client.request(method, path, json={"product": {"stocks": 1}})
        assert response.status_code == 404
        assert response.json() == NOT_FOUND
    assert [r.code for r in sim.rejections()] == [404100] * 3


# --------------------------------------------------------------------------- credentials


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", "Basic abc"])
def test_a_wrong_or_missing_token_is_401(header: str | None) -> None:
    _sim, client, _ = world()
    headers = {"Authorization": header} if header else {}
    client.headers.pop("Authorization")
    response = client.get("/v1/shop.json", headers=headers)
    assert response.status_code == 401
    assert errors_of(response)[0]["code"] == 401000  # placeholder: the code is not published


def test_a_revoked_token_is_401_in_either_body() -> None:
    sim, client, _ = world()
    assert client.get("/v1/shop.json").status_code == 200
    sim.expire_credentials()
    assert errors_of(client.get("/v1/shop.json"))[0]["status"] == 401

    sim, client, _ = world(Unconfirmed(auth_error_body="empty"))
    sim.expire_credentials()
    response = client.get("/v1/shop.json")
    assert response.status_code == 401 and response.content == b""
    assert "invalid_token" in response.headers["WWW-Authenticate"]


# --------------------------------------------------------------------------- call limit


def test_calls_over_120_a_minute_per_token_are_429() -> None:
    _sim, client, clock = world()
    statuses = [client.get("/v1/shop.json").status_code for _ in range(121)]
    assert statuses[:120] == [200] * 120
    assert statuses[120] == 429
    assert errors_of(client.get("/v1/shop.json"))[0]["status"] == 429
    clock.advance(60)
    assert client.get("/v1/shop.json").status_code == 200

    _sim, client, _ = world(Unconfirmed(enforce_call_limit=False))  # the guide as published today
    assert {client.get("/v1/shop.json").status_code for _ in range(200)} == {200}


# --------------------------------------------------------------------------- stock writes


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"stocks": 3},
        {"product": "3"},
        {"product": {"stocks": "3"}},
        {"product": {"stocks": True}},
        {"product": {"stocks": 3.5}},
        {"product": {"stocks": -1}},
        {"product": {"stocks": 2_147_483_648}},
        {"product": {"stocks": {"increment": "1"}}},
        {"product": {"stocks": {"decrement": 1}}},
        {"product": {"stocks": {"increment": -9}}},
    ],
)
def test_a_malformed_product_write_is_refused_as_a_whole(body: Any) -> None:
    sim, client, _ = world()
    sim.add_product(10, stocks=5)
    response = client.put("/v1/products/10.json", json=body)
    assert response.status_code == 400
    assert errors_of(response)[0]["code"] == 400000  # placeholder
    assert sim.pending_stock("10") == 5


@pytest.mark.parametrize(
    "variants",
    [
        "A",
        [{"option1_value": "A"}],
        [{"option1_value": "A", "stocks": 9}, {"option1_value": "B", "stocks": "x"}],
    ],
)
def test_a_malformed_variant_write_changes_nothing(variants: Any) -> None:
    sim, client, _ = world()
    sim.add_product(11, per_option=True, variants=[("A", None, 1), ("B", None, 1)])
    response = client.put("/v1/products/11.json", json={"product": {"variants": variants}})
    assert response.status_code == 400
    assert (sim.pending_stock("11:A"), sim.pending_stock("11:B")) == (1, 1)


def test_writes_in_both_documented_forms() -> None:
    sim, client, _ = world()
    sim.add_product(12, stocks=5)
    sim.add_product(13, per_option=True, variants=[("赤", "S", 4), ("赤", "M", 4)])
    assert client.put("/v1/products/12.json", json={"product": {"stocks": 8}}).status_code == 200
    answer = client.put("/v1/products/12.json", json={"product": {"stocks": {"increment": -3}}})
    assert answer.json()["product"]["stocks"] == 5
    variants = [{"option1_value": "赤", "option2_value": "M", "stocks": {"increment": 2}}]
    answer = client.put("/v1/products/13.json", json={"product": {"variants": variants}})
    stored = {
        (v["option1_value"], v["option2_value"]): v["stocks"]
        for v in answer.json()["product"]["variants"]
    }
    assert stored == {("赤", "S"): 4, ("赤", "M"): 6}
    assert sim.rejections() == []


@pytest.mark.parametrize("product_stocks", ["sum", "null"])
def test_top_level_stocks_of_a_per_option_product_are_ignored(product_stocks: str) -> None:
    # "商品オプションごとに在庫管理している場合、このパラメータは無視されます" [CM-spec]
    sim, client, _ = world(Unconfirmed(product_stocks_per_option=product_stocks))  # type: ignore[arg-type]
    sim.add_product(14, per_option=True, variants=[("A", None, 2), ("B", None, 3)])
    answer = client.put("/v1/products/14.json", json={"product": {"stocks": 40}})
    assert answer.status_code == 200
    assert answer.json()["product"]["stocks"] == (5 if product_stocks == "sum" else None)
    assert (sim.pending_stock("14:A"), sim.pending_stock("14:B")) == (2, 3)


@pytest.mark.parametrize("reading", ["ignore", "reject"])
def test_a_variant_that_does_not_exist(reading: str) -> None:
    sim, client, _ = world(Unconfirmed(unknown_variant=reading))  # type: ignore[arg-type]
    sim.add_product(15, per_option=True, variants=[("A", None, 2)])
    body = {"product": {"variants": [{"option1_value": "Z", "stocks": 9}]}}
    response = client.put("/v1/products/15.json", json=body)
    if reading == "ignore":
        assert response.status_code == 200
    else:
        assert response.status_code == 404 and response.json() == NOT_FOUND
    assert sim.pending_stock("15:A") == 2


# --------------------------------------------------------------------------- routes, reads


@pytest.mark.parametrize(
    ("served", "path", "status"),
    [
        ("both", "/v1/shop", 200),
        ("both", "/v1/shop.json", 200),
        ("json", "/v1/shop", 404),
        ("bare", "/v1/shop.json", 404),
        ("both", "/v1/nothing.json", 404),
        ("both", "/v2/shop.json", 404),
    ],
)
def test_paths_the_api_does_not_serve_are_a_plain_404(served: str, path: str, status: int) -> None:
    _, client, _ = world(Unconfirmed(path_suffix=served))  # type: ignore[arg-type]
    response = client.get(path)
    assert response.status_code == status
    if status == 404:
        assert response.text == "Not Found"  # not the API's envelope


def test_reads_cut_an_oversized_limit_and_say_so_in_meta() -> None:
    sim, client, _ = world()
    for n in range(60):
        sim.add_product(100 + n, stocks=1)
    body = client.get("/v1/products.json", params={"limit": 500}).json()
    assert (len(body["products"]), body["meta"]) == (50, {"total": 60, "limit": 50, "offset": 0})
    assert client.get("/v1/products.json").json()["meta"]["limit"] == 10
    body = client.get("/v1/sales.json", params={"limit": 500}).json()
    assert body["meta"]["limit"] == 100
    ids = client.get("/v1/products.json", params={"ids": "101,105,999", "fields": "id,stocks"})
    assert ids.json()["products"] == [{"id": 101, "stocks": 1}, {"id": 105, "stocks": 1}]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "ten"},
        {"limit": "0"},
        {"offset": "-1"},
        {"after": "2026/11/01"},
        {"update_date_min": "yesterday"},
        {"before": "2026-13-01"},
    ],
)
def test_bad_search_parameters_are_400(params: dict[str, str]) -> None:
    _sim, client, _ = world()
    response = client.get("/v1/sales.json", params=params)
    assert response.status_code == 400
    assert errors_of(response)[0]["code"] == 400000


def test_sales_default_to_the_last_seven_days() -> None:
    sim, client, clock = world()
    code = sim.add_listing("20", 10)
    old = sim.place_order([(code, 1)])
    clock.advance(9 * 24 * 3600)
    new = sim.place_order([(code, 1)])

    def ids(**params: str) -> set[str]:
        return {str(s["id"]) for s in client.get("/v1/sales.json", params=params).json()["sales"]}

    assert ids() == {new}
    assert ids(after="2026-11-01") == {old, new}
    since = (clock.now() - timedelta(days=30)).astimezone(JST).strftime("%Y-%m-%d %H:%M:%S")
    assert ids(update_date_min=since) == {new}  # the 7-day default still applies (one reading)

    _sim2, client2, _ = world(Unconfirmed(week_default_with_update_filter=False))
    assert client2.get("/v1/sales.json").status_code == 200


def test_a_cancel_zeroes_the_lines_and_moves_the_update_date() -> None:
    sim, client, clock = world()
    code = sim.add_listing("21", 10)
    order = sim.place_order([(code, 3)])
    assert order is not None
    clock.advance(120)
    sim.cancel_order(order, restock=True)
    sale = client.get(f"/v1/sales/{order}.json").json()["sale"]
    assert sale["canceled"] is True
    assert [d["product_num"] for d in sale["details"]] == [0]
    assert sale["update_date"] - sale["make_date"] == 120
    assert sim.pending_stock(code) == 10


# --------------------------------------------------------------------------- normal runs


CONTRACT: list[Callable[[Harness], None]] = [
    contract.test_check_succeeds_with_good_credentials,
    contract.test_a_429_is_retried,
    contract.test_push_twice_gives_the_same_end_state,
    contract.test_unknown_code_fails_alone,
    contract.test_one_bad_item_never_sinks_its_batch,
    contract.test_batches_never_exceed_the_mall_limit,
    contract.test_orders_appear_as_lines_with_their_units,
    contract.test_a_cancel_reports_zero_units,
    contract.test_the_same_fetch_twice_gives_the_same_lines,
    contract.test_read_stock_returns_live_quantities,
]


@pytest.mark.parametrize("scenario", CONTRACT, ids=lambda f: f.__name__)
def test_contract_scenarios_trigger_no_refusal(scenario: Callable[[Harness], None]) -> None:
    h = Harness("colorme", VirtualClock(START))
    scenario(h)
    assert isinstance(h.sim, ColorMeSimulator)
    assert h.sim.rejections() == []


def test_a_day_of_orders_triggers_no_refusal() -> None:
    """A shop day: sales, cancels and hand edits, a fetch every minute, pushes after sales."""
    clock = VirtualClock(START)
    sim = ColorMeSimulator(clock=clock)
    h = Harness("colorme", clock, sim=sim)
    codes = [sim.add_listing(sim.sample_code(n), 40) for n in range(9)]
    rng = random.Random(7)
    placed: set[str] = set()
    cancelled: set[str] = set()
    seen: dict[tuple[str, str], int] = {}
    cursor = clock.now()
    for _tick in range(60 * 12):  # twelve hours, one cycle a minute
        clock.advance(60)
        roll = rng.random()
        if roll < 0.2:
            order = sim.place_order([(rng.choice(codes), rng.randint(1, 2))])
            if order is not None:
                placed.add(order)
        elif roll < 0.23 and placed - cancelled:
            victim = rng.choice(sorted(placed - cancelled))
            sim.cancel_order(victim, restock=rng.random() < 0.5)
            cancelled.add(victim)
        elif roll < 0.24:
            sim.set_stock(rng.choice(codes), rng.randint(0, 40))
        now = clock.now()
        lines = h.adapter.fetch_order_lines(cursor - timedelta(minutes=2), now)
        cursor = now
        for line in lines:
            seen[(line.order_id, line.line_id)] = line.units
        if lines:
            pushes = [StockPush(mall="colorme", code=c, quantity=rng.randint(5, 40)) for c in codes]
            assert {r.status for r in h.adapter.push_stock(pushes)} == {PushStatus.APPLIED}
    assert {order for order, _line in seen} == placed
    assert all(seen[key] == 0 for key in seen if key[0] in cancelled)
    assert len(placed) > 100 and cancelled
    assert sim.rejections() == []
