"""The Amazon simulator against Amazon's published models, and every documented refusal.

Responses are validated with ``jsonschema.Draft4Validator`` against the operation's
``responses.<status>.schema`` with the model's ``definitions`` (Swagger 2.0, as
tests/fixtures/amazon-sp-api-models/README.md says); feed documents and processing
reports against the draft-07 JSON Schemas with ``jsonschema.Draft7Validator``.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft4Validator, Draft7Validator

from bot.sandbox.clock import VirtualClock
from bot.sandbox.simulators.amazon import AmazonSimulator, SimRequest
from bot.sandbox.simulators.amazon.state import LWA_HOST, SP_HOST

MODELS = Path(__file__).resolve().parents[1] / "fixtures" / "amazon-sp-api-models"
MODEL_FILES = {
    "listings": "models/listings-items-api-model/listingsItems_2021-08-01.json",
    "orders": "models/orders-api-model/orders_2026-01-01.json",
    "feeds": "models/feeds-api-model/feeds_2021-06-30.json",
    "reports": "models/reports-api-model/reports_2021-06-30.json",
}
FEED_SCHEMA = "schemas/feeds/listings-feed-schema-v2.json"
REPORT_SCHEMA = "schemas/feeds/listings-feed-processing-report-schema-v2.json"
START = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
BASE = f"https://{SP_HOST}"
TOKEN_URL = f"https://{LWA_HOST}/auth/o2/token"
SELLER = "A1SIMSELLER00001"
JP = "A1VC38T7YXB528"


# --------------------------------------------------------------------------- model helpers


@cache
def _load(relative: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((MODELS / relative).read_text(encoding="utf-8"))
    return loaded


@cache
def _operations() -> dict[str, tuple[str, dict[str, Any]]]:
    """operationId → (model key, operation object) over the four models."""
    ops: dict[str, tuple[str, dict[str, Any]]] = {}
    for key, relative in MODEL_FILES.items():
        for methods in _load(relative)["paths"].values():
            for method, op in methods.items():
                if method != "parameters":
                    ops[op["operationId"]] = (key, op)
    return ops


def _with_definitions(key: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "definitions": _load(MODEL_FILES[key])["definitions"]}


def response_errors(op: str, status: int, body: Any) -> list[str]:
    """Where ``body`` breaks the model's schema for (op, status); [] when it conforms."""
    key, operation = _operations()[op]
    response = operation["responses"].get(str(status))
    assert response is not None, f"{op} has no documented {status} response"
    validator = Draft4Validator(_with_definitions(key, response["schema"]))
    return [e.message for e in validator.iter_errors(body)]


def request_errors(op: str, body: Any) -> list[str]:
    """Where a request body breaks the model's body parameter schema."""
    key, operation = _operations()[op]
    [param] = [p for p in operation["parameters"] if p.get("in") == "body"]
    validator = Draft4Validator(_with_definitions(key, param["schema"]))
    return [e.message for e in validator.iter_errors(body)]


def feed_errors(document: Any) -> list[str]:
    """Where a feed document breaks listings-feed-schema-v2.json."""
    return [e.message for e in Draft7Validator(_load(FEED_SCHEMA)).iter_errors(document)]


def processing_report_errors(report: Any) -> list[str]:
    """Where a processing report breaks listings-feed-processing-report-schema-v2.json."""
    return [e.message for e in Draft7Validator(_load(REPORT_SCHEMA)).iter_errors(report)]


def assert_exchanges_match_models(sim: AmazonSimulator) -> int:
    """Every SP-API request body and JSON response the simulator logged fits the models."""
    checked = 0
    for r in sim.requests:
        if r.host != SP_HOST or r.op not in _operations():
            continue
        if isinstance(r.body, dict | list):
            assert request_errors(r.op, r.body) == [], (r.op, r.body)
        if r.response is not None:
            assert response_errors(r.op, r.status, r.response) == [], (r.op, r.status, r.response)
            checked += 1
    return checked


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START)


@pytest.fixture
def sim(clock: VirtualClock) -> AmazonSimulator:
    return AmazonSimulator(clock=clock)


@pytest.fixture
def client(sim: AmazonSimulator) -> httpx.Client:
    return httpx.Client(base_url=BASE, transport=sim.transport)


def _token(client: httpx.Client, sim: AmazonSimulator) -> str:
    response = client.post(
        TOKEN_URL,
        data={
            "grant_type": "refresh_token",
            "refresh_token": sim.refresh_token,
            "client_id": sim.client_id,
            "client_secret": sim.client_secret,
        },
    )
    assert response.status_code == 200
    token: str = response.json()["access_token"]
    return token


def _auth(client: httpx.Client, sim: AmazonSimulator) -> dict[str, str]:
    return {"x-amz-access-token": _token(client, sim)}


def _item(sku: str) -> str:
    return f"/listings/2021-08-01/items/{SELLER}/{sku}"


def _patch_body(
    quantity: Any, code: str = "DEFAULT", product_type: str = "PRODUCT"
) -> dict[str, Any]:
    return {
        "productType": product_type,
        "patches": [
            {
                "op": "merge",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": code, "quantity": quantity}],
            }
        ],
    }


def _last(sim: AmazonSimulator, op: str) -> SimRequest:
    return [r for r in sim.requests if r.op == op][-1]


# --------------------------------------------------------------------------- baseline


def test_the_models_own_sandbox_bodies_pass_the_validator() -> None:
    checked = 0
    for op, (_key, operation) in _operations().items():
        for status, response in operation["responses"].items():
            for case in response.get("x-amzn-api-sandbox", {}).get("static", []):
                if "schema" in response and "response" in case:
                    assert response_errors(op, int(status), case["response"]) == [], (op, status)
                    checked += 1
    assert checked > 20
    assert feed_errors(_load("schemas/feeds/listings-feed-schema-v2.example.json")) == []
    example = _load("schemas/feeds/listings-feed-processing-report-schema-v2.example.json")
    assert processing_report_errors(example) == []


# --------------------------------------------------------------------------- LWA


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "amzn1.application-oa2-client.other"}, 401, "invalid_client"),
        ({"refresh_token": "Atzr|wrong"}, 400, "invalid_grant"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
    ],
)
def test_lwa_refuses_wrong_credentials(
    client: httpx.Client, sim: AmazonSimulator, change: dict[str, str], status: int, error: str
) -> None:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": sim.refresh_token,
        "client_id": sim.client_id,
        "client_secret": sim.client_secret,
        **change,
    }
    response = client.post(TOKEN_URL, data=form)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.json()["error_description"]


def test_lwa_wants_a_form_body(client: httpx.Client, sim: AmazonSimulator) -> None:
    response = client.post(TOKEN_URL, json={"grant_type": "refresh_token"})
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


def test_lwa_answer_and_its_unconfirmed_key_set(clock: VirtualClock) -> None:
    for with_refresh in (True, False):
        sim = AmazonSimulator(clock=clock, token_response_has_refresh_token=with_refresh)
        client = httpx.Client(transport=sim.transport)
        body = client.post(
            TOKEN_URL,
            data={
                "grant_type": "refresh_token",
                "refresh_token": sim.refresh_token,
                "client_id": sim.client_id,
                "client_secret": sim.client_secret,
            },
        ).json()
        assert body["access_token"].startswith("Atza|")
        assert (body["token_type"], body["expires_in"]) == ("bearer", 3600)
        assert ("refresh_token" in body) is with_refresh


# --------------------------------------------------------------------------- access token


@pytest.mark.parametrize("header", [None, "Atza|forged"])
def test_calls_without_a_live_token_are_403(
    client: httpx.Client, sim: AmazonSimulator, header: str | None
) -> None:
    sim.add_listing("A-1", 3)
    headers = {"x-amz-access-token": header} if header else {}
    response = client.get(_item("A-1"), params={"marketplaceIds": JP}, headers=headers)
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "Unauthorized"
    assert response_errors("getListingsItem", 403, response.json()) == []
    assert "x-amzn-RateLimit-Limit" not in response.headers


def test_an_access_token_dies_after_an_hour(
    client: httpx.Client, sim: AmazonSimulator, clock: VirtualClock
) -> None:
    sim.add_listing("A-1", 3)
    headers = _auth(client, sim)
    assert (
        client.get(_item("A-1"), params={"marketplaceIds": JP}, headers=headers).status_code == 200
    )
    clock.advance(3601)
    response = client.get(_item("A-1"), params={"marketplaceIds": JP}, headers=headers)
    assert response.status_code == 403
    assert "expired" in response.json()["errors"][0]["details"]


def test_expire_credentials_kills_refresh_and_access_tokens(
    client: httpx.Client, sim: AmazonSimulator
) -> None:
    sim.add_listing("A-1", 3)
    headers = _auth(client, sim)
    old = dict(sim.config())
    sim.expire_credentials()
    assert (
        client.get(_item("A-1"), params={"marketplaceIds": JP}, headers=headers).status_code == 403
    )
    response = client.post(
        TOKEN_URL,
        data={
            "grant_type": "refresh_token",
            "refresh_token": old["refresh_token"],
            "client_id": old["lwa_client_id"],
            "client_secret": old["lwa_client_secret"],
        },
    )
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


def test_another_sellers_listings_are_forbidden(client: httpx.Client, sim: AmazonSimulator) -> None:
    response = client.get(
        "/listings/2021-08-01/items/AOTHERSELLER/A-1",
        params={"marketplaceIds": JP},
        headers=_auth(client, sim),
    )
    assert response.status_code == 403


# --------------------------------------------------------------------------- rate limits


def test_rate_over_the_burst_is_429_quota_exceeded_without_rate_header(
    client: httpx.Client, sim: AmazonSimulator, clock: VirtualClock
) -> None:
    sim.add_listing("A-1", 3)
    headers = _auth(client, sim)
    statuses = [
        client.get(_item("A-1"), params={"marketplaceIds": JP}, headers=headers).status_code
        for _ in range(11)
    ]
    assert statuses == [200] * 10 + [429]  # getListingsItem: burst 10 [SPM]
    refused = _last(sim, "getListingsItem")
    assert refused.response == {
        "errors": [
            {
                "code": "QuotaExceeded",
                "message": "You exceeded your quota for the requested resource.",
            }
        ]
    }
    assert response_errors("getListingsItem", 429, refused.response) == []
    response = client.get(_item("A-1"), params={"marketplaceIds": JP}, headers=headers)
    assert response.status_code == 429
    assert "x-amzn-RateLimit-Limit" not in response.headers
    assert "Retry-After" not in response.headers
    clock.advance(0.2)  # 5 per second refill
    ok = client.get(_item("A-1"), params={"marketplaceIds": JP}, headers=headers)
    assert ok.status_code == 200
    assert ok.headers["x-amzn-RateLimit-Limit"] == "5.0"


def test_search_orders_allows_a_burst_of_20_then_one_per_180_s(
    client: httpx.Client, sim: AmazonSimulator, clock: VirtualClock
) -> None:
    headers = _auth(client, sim)
    params = {"lastUpdatedAfter": "2026-11-22T00:00:00Z", "marketplaceIds": JP}
    statuses = [
        client.get("/orders/2026-01-01/orders", params=params, headers=headers).status_code
        for _ in range(21)
    ]
    assert statuses == [200] * 20 + [429]
    clock.advance(170)
    assert (
        client.get("/orders/2026-01-01/orders", params=params, headers=headers).status_code == 429
    )
    clock.advance(10)
    assert (
        client.get("/orders/2026-01-01/orders", params=params, headers=headers).status_code == 200
    )


def test_retry_after_on_429_is_configurable(clock: VirtualClock) -> None:
    sim = AmazonSimulator(clock=clock, retry_after_on_429=2.0)
    sim.fail_next("429")
    client = httpx.Client(base_url=BASE, transport=sim.transport)
    response = client.get(_item("A-1"), params={"marketplaceIds": JP})
    assert (response.status_code, response.headers["Retry-After"]) == (429, "2.0")


# --------------------------------------------------------------------------- listings


def test_get_listings_item_shapes_and_404(client: httpx.Client, sim: AmazonSimulator) -> None:
    sim.add_listing("A-1", 3)
    sim.add_listing("F-1", 8, fba=True)
    headers = _auth(client, sim)
    params = {"marketplaceIds": JP, "includedData": "summaries,fulfillmentAvailability"}
    mfn = client.get(_item("A-1"), params=params, headers=headers).json()
    fba = client.get(_item("F-1"), params=params, headers=headers).json()
    assert mfn["fulfillmentAvailability"] == [{"fulfillmentChannelCode": "DEFAULT", "quantity": 3}]
    assert fba["fulfillmentAvailability"][0]["fulfillmentChannelCode"] == "AMAZON_JP"
    assert mfn["summaries"][0]["productType"] == "HOME"
    missing = client.get(_item("NOPE"), params=params, headers=headers)
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["code"] == "NOT_FOUND"
    assert assert_exchanges_match_models(sim) == 3


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({"patches": _patch_body(1)["patches"]}, "productType"),
        ({"productType": "PRODUCT", "patches": []}, "patches"),
        ({"productType": "PRODUCT", "patches": [{"op": "upsert", "path": "/x"}]}, "op"),
        ({"productType": "PRODUCT", "patches": [{"op": "merge"}]}, "path"),
        (
            {"productType": "PRODUCT", "patches": [{"op": "merge", "path": "/x", "value": 3}]},
            "value",
        ),
        ([1, 2], "object"),
    ],
)
def test_malformed_patch_bodies_are_400_with_the_errors_body(
    client: httpx.Client, sim: AmazonSimulator, body: Any, details: str
) -> None:
    sim.add_listing("A-1", 3)
    response = client.patch(
        _item("A-1"), params={"marketplaceIds": JP}, json=body, headers=_auth(client, sim)
    )
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["code"] == "InvalidInput"
    assert details in error["details"]
    assert response_errors("patchListingsItem", 400, response.json()) == []
    assert sim.stock("A-1") == 3


def test_missing_marketplace_is_400(client: httpx.Client, sim: AmazonSimulator) -> None:
    sim.add_listing("A-1", 3)
    response = client.patch(_item("A-1"), json=_patch_body(1), headers=_auth(client, sim))
    assert response.status_code == 400
    assert response_errors("patchListingsItem", 400, response.json()) == []


def test_bad_request_code_is_configurable(clock: VirtualClock) -> None:
    sim = AmazonSimulator(clock=clock, bad_request_code="BAD_REQUEST")
    client = httpx.Client(base_url=BASE, transport=sim.transport)
    response = client.patch(_item("A-1"), json=_patch_body(1), headers=_auth(client, sim))
    assert response.json()["errors"][0]["code"] == "BAD_REQUEST"


@pytest.mark.parametrize(
    "body",
    [
        _patch_body(100_000),
        _patch_body(-1),
        _patch_body("5"),
        _patch_body(5, code="AMAZON_JP"),
        _patch_body(5, product_type="SHOES"),
    ],
)
def test_a_bad_item_is_invalid_inside_a_200(
    client: httpx.Client, sim: AmazonSimulator, body: dict[str, Any]
) -> None:
    sim.add_listing("A-1", 3)
    response = client.patch(
        _item("A-1"), params={"marketplaceIds": JP}, json=body, headers=_auth(client, sim)
    )
    assert response.status_code == 200
    answer = response.json()
    assert answer["status"] == "INVALID"
    assert answer["issues"][0]["severity"] == "ERROR"
    assert response_errors("patchListingsItem", 200, answer) == []
    assert sim.pending_stock("A-1") == 3


def test_accepted_goes_live_after_the_push_lag(clock: VirtualClock) -> None:
    sim = AmazonSimulator(clock=clock, push_lag=90)
    client = httpx.Client(base_url=BASE, transport=sim.transport)
    sim.add_listing("A-1", 3)
    response = client.patch(
        _item("A-1"), params={"marketplaceIds": JP}, json=_patch_body(9), headers=_auth(client, sim)
    )
    assert response.json()["status"] == "ACCEPTED"
    assert (sim.stock("A-1"), sim.pending_stock("A-1")) == (3, 9)
    clock.advance(89)
    assert sim.stock("A-1") == 3
    clock.advance(1)
    assert sim.stock("A-1") == 9


def test_a_default_quantity_turns_an_fba_listing_merchant_fulfilled(
    client: httpx.Client, sim: AmazonSimulator
) -> None:
    """The hazard the adapter guards against: never send DEFAULT to an FBA SKU."""
    sim.add_listing("F-1", 8, fba=True)
    client.patch(
        _item("F-1"), params={"marketplaceIds": JP}, json=_patch_body(2), headers=_auth(client, sim)
    )
    assert sim.fba_conversions == ["F-1"]
    assert not sim.listings["F-1"].afn


def test_validation_preview_changes_nothing(client: httpx.Client, sim: AmazonSimulator) -> None:
    sim.add_listing("A-1", 3)
    response = client.patch(
        _item("A-1"),
        params={"marketplaceIds": JP, "mode": "VALIDATION_PREVIEW"},
        json=_patch_body(9),
        headers=_auth(client, sim),
    )
    assert response.json()["status"] == "VALID"
    assert sim.pending_stock("A-1") == 3
    assert sim.write_batch_sizes() == []


# --------------------------------------------------------------------------- orders


def _search(client: httpx.Client, headers: dict[str, str], **params: str) -> httpx.Response:
    return client.get("/orders/2026-01-01/orders", params=params, headers=headers)


def test_orders_pending_unshipped_cancelled_and_fba(
    client: httpx.Client, sim: AmazonSimulator, clock: VirtualClock
) -> None:
    sim.add_listing("A-1", 10)
    sim.add_listing("F-1", 10, fba=True)
    clock.advance(1)
    first = sim.place_order([("A-1", 2)])
    fba = sim.place_order([("F-1", 1)])
    second = sim.place_order([("A-1", 1)])
    assert first and fba and second
    assert (sim.stock("A-1"), sim.stock("F-1")) == (7, 9)  # Pending takes the units at once
    clock.advance(60)
    sim.cancel_order(second)
    headers = _auth(client, sim)
    answer = _search(
        client,
        headers,
        lastUpdatedAfter="2026-11-22T00:00:00Z",
        includedData="FULFILLMENT,CANCELLATION",
    ).json()
    by_id = {o["orderId"]: o for o in answer["orders"]}
    assert by_id[first]["fulfillment"] == {
        "fulfillmentStatus": "PENDING",
        "fulfilledBy": "MERCHANT",
    }
    assert by_id[fba]["fulfillment"]["fulfilledBy"] == "AMAZON"
    assert by_id[second]["fulfillment"]["fulfillmentStatus"] == "CANCELLED"
    assert (
        by_id[second]["orderItems"][0]["cancellation"]["cancellationExecution"]["cancelledBy"]
        == "BUYER"
    )
    assert sim.stock("A-1") == 8  # a buyer's cancel gives the unit back
    clock.advance(30 * 60)
    later = _search(
        client, headers, lastUpdatedAfter="2026-11-23T00:10:00Z", includedData="FULFILLMENT"
    ).json()
    assert [o["fulfillment"]["fulfillmentStatus"] for o in later["orders"]] == ["UNSHIPPED"]
    assert assert_exchanges_match_models(sim) == 2


def test_without_included_data_orders_carry_no_fulfillment(
    client: httpx.Client, sim: AmazonSimulator
) -> None:
    sim.add_listing("A-1", 10)
    sim.place_order([("A-1", 1)])
    answer = _search(client, _auth(client, sim), lastUpdatedAfter="2026-11-22T00:00:00Z").json()
    assert "fulfillment" not in answer["orders"][0]
    assert response_errors("searchOrders", 200, answer) == []


def test_a_no_inventory_cancel_does_not_restock_unless_configured(clock: VirtualClock) -> None:
    for restock, expected in ((False, 8), (True, 10)):
        sim = AmazonSimulator(clock=clock, restock_on_no_inventory_cancel=restock)
        sim.add_listing("A-1", 10)
        order = sim.place_order([("A-1", 2)])
        assert order is not None
        sim.cancel_order(order, reason="NoInventory")
        assert sim.stock("A-1") == expected


def test_search_orders_pages_through_next_token(
    client: httpx.Client, sim: AmazonSimulator, clock: VirtualClock
) -> None:
    sim.add_listing("A-1", 1000)
    for _ in range(5):
        clock.advance(1)
        sim.place_order([("A-1", 1)])
    headers = _auth(client, sim)
    page = _search(
        client, headers, lastUpdatedAfter="2026-11-22T00:00:00Z", maxResultsPerPage="2"
    ).json()
    seen = [o["orderId"] for o in page["orders"]]
    while "pagination" in page:
        page = _search(
            client,
            headers,
            lastUpdatedAfter="2026-11-22T00:00:00Z",
            maxResultsPerPage="2",
            paginationToken=page["pagination"]["nextToken"],
        ).json()
        seen += [o["orderId"] for o in page["orders"]]
    assert len(seen) == len(set(seen)) == 5


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"createdAfter": "2026-11-22T00:00:00Z", "lastUpdatedAfter": "2026-11-22T00:00:00Z"},
        {"lastUpdatedAfter": "2026-11-22T00:00:00Z", "createdBefore": "2026-11-22T01:00:00Z"},
        {"lastUpdatedAfter": "2026-11-22T00:00:00Z", "lastUpdatedBefore": "2026-11-22T23:59:00Z"},
        {"lastUpdatedAfter": "yesterday"},
        {"lastUpdatedAfter": "2026-11-22T00:00:00Z", "maxResultsPerPage": "101"},
        {"lastUpdatedAfter": "2026-11-22T00:00:00Z", "fulfillmentStatuses": "Pending"},
        {"lastUpdatedAfter": "2026-11-22T00:00:00Z", "paginationToken": "forged"},
    ],
)
def test_bad_order_searches_are_400(
    client: httpx.Client, sim: AmazonSimulator, params: dict[str, str]
) -> None:
    response = _search(client, _auth(client, sim), **params)
    assert response.status_code == 400
    assert response_errors("searchOrders", 400, response.json()) == []


# --------------------------------------------------------------------------- feeds


def _feed(messages: list[dict[str, Any]], seller: str = SELLER) -> bytes:
    document = {"header": {"sellerId": seller, "version": "2.0"}, "messages": messages}
    return json.dumps(document).encode()


def _message(n: int, sku: str, quantity: Any) -> dict[str, Any]:
    return {"messageId": n, "sku": sku, "operationType": "PATCH", **_patch_body(quantity)}


def _submit(
    client: httpx.Client,
    headers: dict[str, str],
    content: bytes,
    content_type: str = "application/json; charset=UTF-8",
    upload_type: str | None = None,
) -> httpx.Response:
    created = client.post(
        "/feeds/2021-06-30/documents", json={"contentType": content_type}, headers=headers
    ).json()
    upload = client.put(
        created["url"], content=content, headers={"Content-Type": upload_type or content_type}
    )
    assert upload.status_code == 200, upload.text
    return client.post(
        "/feeds/2021-06-30/feeds",
        json={
            "feedType": "JSON_LISTINGS_FEED",
            "marketplaceIds": [JP],
            "inputFeedDocumentId": created["feedDocumentId"],
        },
        headers=headers,
    )


def _processing_report(
    client: httpx.Client, headers: dict[str, str], feed_id: str
) -> tuple[dict[str, Any], Any]:
    feed = client.get(f"/feeds/2021-06-30/feeds/{feed_id}", headers=headers).json()
    meta = client.get(
        f"/feeds/2021-06-30/documents/{feed['resultFeedDocumentId']}", headers=headers
    ).json()
    raw = client.get(meta["url"]).content
    return feed, json.loads(
        gzip.decompress(raw) if meta.get("compressionAlgorithm") == "GZIP" else raw
    )


def test_a_feed_is_processed_over_virtual_time_with_per_message_issues(
    client: httpx.Client, sim: AmazonSimulator, clock: VirtualClock
) -> None:
    for n in range(3):
        sim.add_listing(f"A-{n}", 1)
    headers = _auth(client, sim)
    messages = [
        _message(1, "A-0", 5),
        _message(2, "A-1", 100_000),
        _message(3, "A-2", 7),
        _message(4, "NOPE", 1),
    ]
    assert feed_errors(json.loads(_feed(messages))) == []
    feed_id = _submit(client, headers, _feed(messages)).json()["feedId"]
    status = client.get(f"/feeds/2021-06-30/feeds/{feed_id}", headers=headers).json()[
        "processingStatus"
    ]
    assert status == "IN_QUEUE"
    clock.advance(sim.feed_seconds)
    feed, report = _processing_report(client, headers, feed_id)
    assert feed["processingStatus"] == "DONE"
    assert processing_report_errors(report) == []
    assert sorted({i["messageId"] for i in report["issues"]}) == [2, 4]
    assert report["summary"]["messagesAccepted"] == 2
    assert [sim.stock(f"A-{n}") for n in range(3)] == [5, 1, 7]
    assert sim.write_batch_sizes() == [4]
    assert assert_exchanges_match_models(sim) >= 5


def test_an_oversize_feed_ends_fatal(
    client: httpx.Client, sim: AmazonSimulator, clock: VirtualClock
) -> None:
    sim.add_listing("A-0", 1)
    headers = _auth(client, sim)
    messages = [_message(n, "A-0", 2) for n in range(1, 25_002)]
    feed_id = _submit(client, headers, _feed(messages)).json()["feedId"]
    clock.advance(sim.feed_seconds)
    feed, report = _processing_report(client, headers, feed_id)
    assert feed["processingStatus"] == "FATAL"
    assert processing_report_errors(report) == []
    assert "25000" in report["issues"][0]["message"]
    assert sim.stock("A-0") == 1


@pytest.mark.parametrize("content", [b"not json", _feed([_message(1, "A-0", 2)], seller="AOTHER")])
def test_a_malformed_feed_ends_fatal(
    client: httpx.Client, sim: AmazonSimulator, clock: VirtualClock, content: bytes
) -> None:
    sim.add_listing("A-0", 1)
    headers = _auth(client, sim)
    feed_id = _submit(client, headers, content).json()["feedId"]
    clock.advance(sim.feed_seconds)
    feed, report = _processing_report(client, headers, feed_id)
    assert feed["processingStatus"] == "FATAL"
    assert processing_report_errors(report) == []


def test_an_upload_with_another_content_type_is_refused_by_s3(
    client: httpx.Client, sim: AmazonSimulator
) -> None:
    headers = _auth(client, sim)
    created = client.post(
        "/feeds/2021-06-30/documents",
        json={"contentType": "application/json; charset=UTF-8"},
        headers=headers,
    ).json()
    response = client.put(
        created["url"], content=b"{}", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 403
    assert b"SignatureDoesNotMatch" in response.content


def test_an_expired_upload_url_is_refused(
    client: httpx.Client, sim: AmazonSimulator, clock: VirtualClock
) -> None:
    headers = _auth(client, sim)
    created = client.post(
        "/feeds/2021-06-30/documents", json={"contentType": "text/plain"}, headers=headers
    ).json()
    clock.advance(301)
    response = client.put(created["url"], content=b"x", headers={"Content-Type": "text/plain"})
    assert response.status_code == 403
    assert b"expired" in response.content


def test_bad_feed_requests_are_400(client: httpx.Client, sim: AmazonSimulator) -> None:
    headers = _auth(client, sim)
    no_type = client.post("/feeds/2021-06-30/documents", json={}, headers=headers)
    assert no_type.status_code == 400
    assert response_errors("createFeedDocument", 400, no_type.json()) == []
    unknown_doc = client.post(
        "/feeds/2021-06-30/feeds",
        json={
            "feedType": "JSON_LISTINGS_FEED",
            "marketplaceIds": [JP],
            "inputFeedDocumentId": "nope",
        },
        headers=headers,
    )
    assert unknown_doc.status_code == 400
    assert response_errors("createFeed", 400, unknown_doc.json()) == []


def test_a_sixth_listings_feed_in_five_minutes_is_429(
    client: httpx.Client, sim: AmazonSimulator, clock: VirtualClock
) -> None:
    sim.add_listing("A-0", 1)
    headers = _auth(client, sim)
    statuses = []
    for _ in range(6):
        statuses.append(_submit(client, headers, _feed([_message(1, "A-0", 2)])).status_code)
        clock.advance(10)
    assert statuses == [202] * 5 + [429]
    assert _last(sim, "createFeed").response["errors"][0]["code"] == "QuotaExceeded"
    clock.advance(300)
    assert _submit(client, headers, _feed([_message(1, "A-0", 2)])).status_code == 202


# --------------------------------------------------------------------------- reports


def _report(
    client: httpx.Client, sim: AmazonSimulator, clock: VirtualClock
) -> tuple[httpx.Response, dict[str, Any]]:
    headers = _auth(client, sim)
    created = client.post(
        "/reports/2021-06-30/reports",
        json={"reportType": "GET_MERCHANT_LISTINGS_ALL_DATA", "marketplaceIds": [JP]},
        headers=headers,
    )
    assert created.status_code == 202
    clock.advance(sim.report_seconds)
    report = client.get(
        f"/reports/2021-06-30/reports/{created.json()['reportId']}", headers=headers
    ).json()
    meta = client.get(
        f"/reports/2021-06-30/documents/{report['reportDocumentId']}", headers=headers
    ).json()
    return client.get(meta["url"]), meta


def test_the_listings_report_is_tab_separated_with_fulfillment_channel(
    client: httpx.Client, sim: AmazonSimulator, clock: VirtualClock
) -> None:
    sim.add_listing("A-1", 3)
    sim.add_listing("F-1", 8, fba=True)
    download, _meta = _report(client, sim, clock)
    lines = download.text.splitlines()
    header = lines[0].split("\t")
    rows = [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]
    assert [(r["seller-sku"], r["quantity"], r["fulfillment-channel"]) for r in rows] == [
        ("A-1", "3", "DEFAULT"),
        ("F-1", "", "AMAZON_JP"),
    ]
    assert assert_exchanges_match_models(sim) == 3


def test_a_japanese_cp932_gzip_report(clock: VirtualClock) -> None:
    sim = AmazonSimulator(
        clock=clock,
        report_locale="ja",
        report_charset="cp932",
        report_charset_in_header=False,
        gzip_documents=True,
    )
    client = httpx.Client(base_url=BASE, transport=sim.transport)
    sim.add_listing("赤-1", 3)
    download, meta = _report(client, sim, clock)
    assert meta["compressionAlgorithm"] == "GZIP"
    text = gzip.decompress(download.content).decode("cp932")
    assert text.splitlines()[0].split("\t")[3] == "出品者SKU"
    assert "赤-1" in text


def test_an_unsupported_report_type_is_400(client: httpx.Client, sim: AmazonSimulator) -> None:
    response = client.post(
        "/reports/2021-06-30/reports",
        json={"reportType": "GET_SOMETHING", "marketplaceIds": [JP]},
        headers=_auth(client, sim),
    )
    assert response.status_code == 400
    assert response_errors("createReport", 400, response.json()) == []


# --------------------------------------------------------------------------- controls


def test_place_order_refuses_unknown_or_short_stock(sim: AmazonSimulator) -> None:
    sim.add_listing("A-1", 1)
    assert sim.place_order([("A-1", 2)]) is None
    assert sim.place_order([("NOPE", 1)]) is None
    assert sim.stock("A-1") == 1


def test_an_order_mixing_fba_and_merchant_lines_is_split(sim: AmazonSimulator) -> None:
    sim.add_listing("A-1", 5)
    sim.add_listing("F-1", 5, fba=True)
    first = sim.place_order([("A-1", 1), ("F-1", 2)])
    assert first is not None
    assert sorted(o.fulfilled_by for o in sim.orders.values()) == ["AMAZON", "MERCHANT"]
    assert sim.orders[first].fulfilled_by == "MERCHANT"


def test_faults_hit_sp_api_only(client: httpx.Client, sim: AmazonSimulator) -> None:
    sim.fail_next("503")
    headers = _auth(client, sim)  # the LWA call is not affected
    response = client.get(_item("A-1"), params={"marketplaceIds": JP}, headers=headers)
    assert response.status_code == 503
    assert response_errors("getListingsItem", 503, response.json()) == []
    assert sim.refusals() == []  # injected faults are not refusals
