"""The Rakuten RMS simulator, driven with raw httpx requests against docs/api/rakuten.md."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from bot.infra.clock import JST
from bot.sandbox.clock import VirtualClock
from bot.sandbox.simulators.rakuten import ContentTypeRule, RakutenSimulator

BASE = "https://api.rms.rakuten.co.jp"
AUTH = "ESA " + base64.b64encode(b"SP123456_sim:SL123456_sim").decode()
START = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 10:00 JST
UPSERT = "/es/2.0/inventories/bulk-upsert"
BULK_GET = "/es/2.0/inventories/bulk-get"
SEARCH = "/es/2.0/order/searchOrder/"
GET_ORDER = "/es/2.0/order/getOrder/"
LICENSE = "/es/1.0/license-management/license-key/expiry-date"
JSON_UTF8 = "application/json;charset=utf-8"


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START)


@pytest.fixture
def sim(clock: VirtualClock) -> RakutenSimulator:
    return RakutenSimulator(clock=clock, enforce_rate_limits=False)


def connect(sim: RakutenSimulator, auth: str | None = AUTH) -> httpx.Client:
    # The order API wants a charset on its JSON (rakuten.md §4.1); a request that sets
    # its own Content-Type overrides this default.
    headers = {"Content-Type": JSON_UTF8}
    if auth is not None:
        headers["Authorization"] = auth
    return httpx.Client(transport=sim.transport, base_url=BASE, headers=headers)


@pytest.fixture
def http(sim: RakutenSimulator) -> Iterator[httpx.Client]:
    with connect(sim) as client:
        yield client


def inv(mn: str, vid: str, quantity: int | None = None, mode: str = "ABSOLUTE") -> dict[str, Any]:
    element: dict[str, Any] = {"manageNumber": mn, "variantId": vid}
    if quantity is not None:
        element |= {"mode": mode, "quantity": quantity}
    return element


def upsert(http: httpx.Client, *elements: dict[str, Any], version: str = "2.0") -> httpx.Response:
    return http.post(f"/es/{version}/inventories/bulk-upsert", json={"inventories": list(elements)})


def bulk_get(http: httpx.Client, *pairs: tuple[str, str], version: str = "2.0") -> Any:
    response = http.post(
        f"/es/{version}/inventories/bulk-get",
        json={"inventories": [inv(mn, vid) for mn, vid in pairs]},
    )
    assert response.status_code == 200, response.text
    return response.json()["inventories"]


def codes(response: httpx.Response) -> list[str]:
    return [error["code"] for error in response.json()["errors"]]


def order_time(when: datetime) -> str:
    return when.astimezone(JST).strftime("%Y-%m-%dT%H:%M:%S+0900")


def search(http: httpx.Client, **fields: Any) -> httpx.Response:
    body = {
        "dateType": 1,
        "startDatetime": order_time(START - timedelta(days=1)),
        "endDatetime": order_time(START + timedelta(days=1)),
    } | fields
    return http.post(SEARCH, json={k: v for k, v in body.items() if v is not None})


def message_codes(response: httpx.Response) -> list[str]:
    return [m["messageCode"] for m in response.json()["MessageModelList"]]


# ------------------------------------------------------------------------------ auth


def test_esa_header_matches_the_documented_example(clock: VirtualClock) -> None:
    # rakuten.md §1: secret aaa, key bbb → "ESA YWFhOmJiYg=="
    sim = RakutenSimulator(clock=clock, service_secret="aaa", license_key="bbb")
    with connect(sim, "ESA YWFhOmJiYg==") as http:
        assert http.get(LICENSE).status_code == 200


@pytest.mark.parametrize(
    "auth",
    [None, "ESA " + base64.b64encode(b"SP123456_sim:wrong").decode(), "Bearer x", "ESA !!!"],
)
def test_bad_credentials_get_the_documented_401_body(
    sim: RakutenSimulator, auth: str | None
) -> None:
    with connect(sim, auth) as http:
        response = upsert(http, inv("a", "b", 1))
    assert response.status_code == 401
    assert response.json() == {"Results": {"errorCode": "ES01-01", "message": "Un-Authorised"}}
    assert sim.orphans() == {}


def test_expired_credentials_answer_ga0001_on_every_api(clock: VirtualClock) -> None:
    sim = RakutenSimulator(clock=clock, auth_error_code="GA0001")
    sim.expire_credentials()
    with connect(sim) as http:
        for response in (
            http.post(BULK_GET, json={"inventories": [inv("a", "b")]}),
            search(http),
            http.get(LICENSE),
        ):
            assert response.status_code == 401
            assert response.json() == {
                "Results": {"errorCode": "GA0001", "message": "Un-Authorised"}
            }


def test_key_stops_working_after_its_expiry(clock: VirtualClock) -> None:
    sim = RakutenSimulator(clock=clock, license_expiry=START + timedelta(hours=1))
    with connect(sim) as http:
        assert http.get(LICENSE).status_code == 200
        clock.advance(3601)
        assert http.get(LICENSE).status_code == 401


def test_license_expiry_defaults_to_end_of_day_90_days_on(clock: VirtualClock) -> None:
    # rakuten.md §1: issued 8/30, expiry 11/28, returned in JST without an offset
    sim = RakutenSimulator(clock=VirtualClock(datetime(2026, 8, 30, 9, 0, tzinfo=JST)))
    with connect(sim) as http:
        response = http.get(LICENSE, params={"licenseKey": "SL123456_sim"})
    assert response.status_code == 200
    assert response.json() == {"expiryDate": "2026-11-28T23:59:59"}


def test_renewed_license_cuts_over_at_once(sim: RakutenSimulator) -> None:
    new_expiry = datetime(2027, 2, 20, 23, 59, 59, tzinfo=JST)
    sim.expire_credentials()
    sim.renew_license("SL123456_new", expiry=new_expiry)
    new_auth = "ESA " + base64.b64encode(b"SP123456_sim:SL123456_new").decode()
    with connect(sim) as old, connect(sim, new_auth) as new:
        assert old.get(LICENSE).status_code == 401
        response = new.get(LICENSE, params={"licenseKey": "SL123456_new"})
    assert response.json() == {"expiryDate": "2027-02-20T23:59:59"}


# ------------------------------------------------------------------------------ inventory


def test_documented_bulk_upsert_example_then_bulk_get(
    sim: RakutenSimulator, http: httpx.Client
) -> None:
    sim.add_item("mng1234", "sku1", 5)
    sim.add_item("mng1234", "sku2", 10)
    clock_now = "2026-11-23T10:00:00+09:00"
    # the request body exactly as rakuten.md §2.2 shows it
    response = http.post(
        UPSERT,
        json={
            "inventories": [
                {
                    "manageNumber": "mng1234",
                    "variantId": "sku1",
                    "mode": "ABSOLUTE",
                    "quantity": 70,
                },
                {
                    "manageNumber": "mng1234",
                    "variantId": "sku2",
                    "mode": "RELATIVE",
                    "quantity": -2,
                },
            ]
        },
    )
    assert response.status_code == 204
    assert response.content == b""
    assert bulk_get(http, ("mng1234", "sku1"), ("mng1234", "sku2")) == [
        {
            "manageNumber": "mng1234",
            "variantId": "sku1",
            "quantity": 70,
            "created": clock_now,
            "updated": clock_now,
        },
        {
            "manageNumber": "mng1234",
            "variantId": "sku2",
            "quantity": 8,
            "created": clock_now,
            "updated": clock_now,
        },
    ]


def test_manage_number_is_folded_and_variant_id_is_case_sensitive(
    sim: RakutenSimulator, http: httpx.Client
) -> None:
    assert sim.add_item("MNG-1", "SkuA", 1) == "mng-1:SkuA"
    assert upsert(http, inv("Mng-1", "SkuA", 7)).status_code == 204
    assert sim.stock("MNG-1:SkuA") == 7
    found = bulk_get(http, ("MNG-1", "SkuA"), ("mng-1", "skua"))
    assert [(e["manageNumber"], e["variantId"], e["quantity"]) for e in found] == [
        ("mng-1", "SkuA", 7)
    ]


def test_bulk_get_leaves_out_missing_pairs(sim: RakutenSimulator, http: httpx.Client) -> None:
    sim.add_item("item", "a", 3)
    assert [
        e["variantId"] for e in bulk_get(http, ("item", "zzz"), ("item", "a"), ("nope", "a"))
    ] == ["a"]


@pytest.mark.parametrize(("path", "limit"), [(UPSERT, 400), (BULK_GET, 1000)])
def test_oversize_or_empty_batches_are_ie1101(http: httpx.Client, path: str, limit: int) -> None:
    for size in (limit + 1, 0):
        elements = [inv("item", f"v{i}", 1) for i in range(size)]
        response = http.post(path, json={"inventories": elements})
        assert response.status_code == 400
        assert codes(response) == ["IE1101"]


def test_a_full_batch_is_accepted(sim: RakutenSimulator, http: httpx.Client) -> None:
    for i in range(400):
        sim.add_item(f"item{i // 100}", f"v{i}")
    assert (
        upsert(http, *[inv(f"item{i // 100}", f"v{i}", i) for i in range(400)]).status_code == 204
    )
    assert sim.stock("item3:v399") == 399


@pytest.mark.parametrize("path", [UPSERT, BULK_GET])
def test_duplicate_pairs_are_ie1102(sim: RakutenSimulator, http: httpx.Client, path: str) -> None:
    sim.add_item("item", "a", 1)
    response = http.post(path, json={"inventories": [inv("item", "a", 2), inv("ITEM", "a", 3)]})
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "IE1102"
    assert response.json()["errors"][0]["metadata"] == {"propertyPath": "inventories[1]"}
    assert sim.stock("item:a") == 1


@pytest.mark.parametrize(
    ("element", "code", "path"),
    [
        ({"manageNumber": "i", "variantId": "a", "quantity": 1}, "IE0001", "inventories[0].mode"),
        (
            {"manageNumber": "i", "variantId": "a", "mode": "SET", "quantity": 1},
            "IE0002",
            "inventories[0].mode",
        ),
        (
            {"manageNumber": "i", "variantId": "a", "mode": "ABSOLUTE"},
            "IE0001",
            "inventories[0].quantity",
        ),
        (
            {"manageNumber": "i", "variantId": "a", "mode": "ABSOLUTE", "quantity": 100000},
            "IE0003",
            "inventories[0].quantity",
        ),
        (
            {"manageNumber": "i", "variantId": "a", "mode": "ABSOLUTE", "quantity": -1},
            "IE0003",
            "inventories[0].quantity",
        ),
        (
            {"manageNumber": "i", "variantId": "a", "mode": "ABSOLUTE", "quantity": 1.5},
            "IE0002",
            "inventories[0].quantity",
        ),
        (
            {"manageNumber": "i", "variantId": "a", "mode": "ABSOLUTE", "quantity": True},
            "IE0002",
            "inventories[0].quantity",
        ),
        (
            {"variantId": "a", "mode": "ABSOLUTE", "quantity": 1},
            "IE0001",
            "inventories[0].manageNumber",
        ),
        (
            {"manageNumber": "x" * 33, "variantId": "a", "mode": "ABSOLUTE", "quantity": 1},
            "IE0004",
            "inventories[0].manageNumber",
        ),
        (
            {"manageNumber": "商品", "variantId": "a", "mode": "ABSOLUTE", "quantity": 1},
            "IE0002",
            "inventories[0].manageNumber",
        ),
        (
            {"manageNumber": "i", "variantId": "v" * 33, "mode": "ABSOLUTE", "quantity": 1},
            "IE0004",
            "inventories[0].variantId",
        ),
        (
            {"manageNumber": "i", "variantId": "a b", "mode": "ABSOLUTE", "quantity": 1},
            "IE0002",
            "inventories[0].variantId",
        ),
        (
            {"manageNumber": "i", "variantId": "new", "mode": "RELATIVE", "quantity": 1},
            "IE0500",
            "inventories[0]",
        ),
        (
            {"manageNumber": "i", "variantId": "a", "mode": "RELATIVE", "quantity": -6},
            "IE0117",
            "inventories[0].quantity",
        ),
        (
            {"manageNumber": "i", "variantId": "a", "mode": "RELATIVE", "quantity": 99999},
            "IE0117",
            "inventories[0].quantity",
        ),
    ],
)
def test_each_invalid_element_is_rejected_with_its_code(
    sim: RakutenSimulator, http: httpx.Client, element: dict[str, Any], code: str, path: str
) -> None:
    sim.add_item("i", "a", 5)
    response = upsert(http, element)
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "code": code,
            "message": response.json()["errors"][0]["message"],
            "metadata": {"propertyPath": path},
        }
    ]
    assert sim.stock("i:a") == 5


def test_32_byte_identifiers_and_relative_to_the_bounds_are_fine(
    sim: RakutenSimulator, http: httpx.Client
) -> None:
    code = sim.add_item("m" * 32, "V_-9" * 8, 5)
    assert upsert(http, inv("m" * 32, "V_-9" * 8, -5, "RELATIVE")).status_code == 204
    assert sim.stock(code) == 0
    assert upsert(http, inv("m" * 32, "V_-9" * 8, 99999, "RELATIVE")).status_code == 204
    assert sim.stock(code) == 99999


def test_one_bad_element_rejects_the_whole_batch_listing_every_error(
    sim: RakutenSimulator, http: httpx.Client
) -> None:
    for vid in "abcd":
        sim.add_item("item", vid, 1)
    response = upsert(
        http,
        inv("item", "a", 10),
        inv("item", "b", "a"),  # type: ignore[arg-type]
        inv("item", "c", 10),
        inv("item", "d", 100000),
    )
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "code": "IE0002",
                "message": "quantity has an invalid value : a.",
                "metadata": {"propertyPath": "inventories[1].quantity"},
            },
            {
                "code": "IE0003",
                "message": "quantity must be between 0 and 99999.",
                "metadata": {"propertyPath": "inventories[3].quantity"},
            },
        ]
    }
    assert [sim.stock(f"item:{v}") for v in "abcd"] == [1, 1, 1, 1]


def test_single_put_invalid_quantity_matches_the_documented_error_body(
    sim: RakutenSimulator, http: httpx.Client
) -> None:
    sim.add_item("mng1234", "sku1", 1)
    response = http.put(
        "/es/2.0/inventories/manage-numbers/mng1234/variants/sku1",
        json={"mode": "ABSOLUTE", "quantity": "a"},
    )
    assert response.status_code == 400
    # rakuten.md §2.3 envelope example, byte for byte
    assert response.json() == {
        "errors": [
            {
                "code": "IE0002",
                "message": "quantity has an invalid value : a.",
                "metadata": {"propertyPath": "quantity"},
            }
        ]
    }


def test_missing_or_empty_body_is_ge0011(http: httpx.Client) -> None:
    for response in (
        http.post(UPSERT),
        http.post(BULK_GET, content=b"   ", headers={"Content-Type": "application/json"}),
        http.put("/es/2.0/inventories/manage-numbers/a/variants/b"),
    ):
        assert response.status_code == 400
        assert codes(response) == ["GE0011"]


def test_missing_inventories_list_is_ie0001(http: httpx.Client) -> None:
    response = http.post(UPSERT, json={"items": []})
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "IE0001"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/es/2.0/inventories/bulk-update"),
        ("GET", UPSERT),
        ("POST", "/es/2.0/inventories/variant-lists/manage-numbers/item"),  # 2.1 only
        ("GET", "/es/2.0/inventories/variant-lists/manage-numbers/item"),
        ("POST", "/es/3.0/inventories/bulk-get"),
        ("POST", UPSERT + "/"),
    ],
)
def test_unknown_path_is_ge0007(http: httpx.Client, method: str, path: str) -> None:
    response = http.request(method, path, json={"inventories": [inv("a", "b", 1)]})
    assert response.status_code == 400
    assert codes(response) == ["GE0007"]


def test_write_to_unknown_pair_is_204_but_an_invisible_orphan(
    sim: RakutenSimulator, clock: VirtualClock, http: httpx.Client
) -> None:
    sim.add_item("item", "a", 1)
    assert upsert(http, inv("item", "typo", 5), inv("ghost", "x", 2)).status_code == 204
    assert bulk_get(http, ("item", "typo"), ("ghost", "x")) == []
    assert http.get("/es/2.0/inventories/manage-numbers/item/variants/typo").status_code == 404
    assert sim.stock("item:typo") is None
    assert sim.orphans() == {"ghost:x": 2, "item:typo": 5}
    # the record exists, so RELATIVE on it is accepted
    assert upsert(http, inv("item", "typo", 1, "RELATIVE")).status_code == 204
    clock.advance(24 * 3600)
    assert sim.orphans() == {}
    # …and once deleted, RELATIVE is IE0500 again
    assert codes(upsert(http, inv("item", "typo", 1, "RELATIVE"))) == ["IE0500"]


def test_too_many_variants_on_one_item_is_ie0121(sim: RakutenSimulator, http: httpx.Client) -> None:
    for i in range(399):
        sim.add_item("big", f"v{i}")
    response = upsert(http, inv("big", "new1", 1), inv("big", "new2", 1))
    assert codes(response) == ["IE0121"]
    assert upsert(http, inv("big", "new1", 1)).status_code == 204


def test_single_get_put_delete(
    sim: RakutenSimulator, clock: VirtualClock, http: httpx.Client
) -> None:
    sim.add_item("item", "a", 3)
    path = "/es/2.0/inventories/manage-numbers/ITEM/variants/a"
    clock.advance(60)
    assert http.put(path, json={"mode": "RELATIVE", "quantity": 4}).status_code == 204
    response = http.get(path)
    assert response.status_code == 200
    assert response.json() == {
        "manageNumber": "item",
        "variantId": "a",
        "quantity": 7,
        "created": "2026-11-23T10:00:00+09:00",
        "updated": "2026-11-23T10:01:00+09:00",
    }
    assert http.delete(path).status_code == 204
    assert http.get(path).status_code == 404
    assert sim.stock("item:a") is None
    assert sim.place_order([("item:a", 1)]) is None


def test_unknown_pair_is_the_documented_404_ge0014(http: httpx.Client) -> None:
    response = http.delete("/es/2.0/inventories/manage-numbers/mng123/variants/sku2")
    assert response.status_code == 404
    assert response.json() == {
        "errors": [
            {
                "code": "GE0014",
                "message": "Not found for inputs; manageNumber=mng123, variantId=sku2",
            }
        ]
    }
    assert (
        http.get("/es/2.1/inventories/manage-numbers/mng123/variants/sku2").json()
        == response.json()
    )


def test_invalid_path_identifier_is_rejected(http: httpx.Client) -> None:
    response = http.get("/es/2.0/inventories/manage-numbers/" + "x" * 33 + "/variants/a")
    assert response.status_code == 400
    assert codes(response) == ["IE0004"]


def test_variant_lists_matches_the_documented_shape(
    sim: RakutenSimulator, http: httpx.Client
) -> None:
    sim.add_item("mng1234", "sku-1", 1)
    sim.add_item("mng1234", "sku-2", 1)
    response = http.get("/es/2.1/inventories/variant-lists/manage-numbers/MNG1234")
    assert response.json() == {
        "manageNumber": "mng1234",
        "variantList": ["sku-1", "sku-2"],
        "created": "2026-11-23T10:00:00+09:00",
        "updated": "2026-11-23T10:00:00+09:00",
    }
    missing = http.get("/es/2.1/inventories/variant-lists/manage-numbers/nothing")
    assert missing.status_code == 404
    assert codes(missing) == ["GE0014"]


def test_v21_lead_time_fields_are_a_full_replace(sim: RakutenSimulator, http: httpx.Client) -> None:
    sim.add_item("item", "a", 1)
    lead = {"normalDeliveryTimeId": 1, "backOrderDeliveryTimeId": 2}
    element = inv("item", "a", 4) | {"operationLeadTime": lead, "shipFromIds": [3]}
    assert upsert(http, element, version="2.1").status_code == 204
    got = bulk_get(http, ("item", "a"), version="2.1")[0]
    assert got["operationLeadTime"] == lead and got["shipFromIds"] == [3]
    assert "shipFromIds" not in bulk_get(http, ("item", "a"))[0]
    assert upsert(http, inv("item", "a", 5)).status_code == 204  # 2.0 leaves them
    assert bulk_get(http, ("item", "a"), version="2.1")[0]["shipFromIds"] == [3]
    assert upsert(http, inv("item", "a", 6), version="2.1").status_code == 204  # 2.1 clears them
    assert "shipFromIds" not in bulk_get(http, ("item", "a"), version="2.1")[0]
    bad = upsert(http, inv("item", "a", 6) | {"shipFromIds": "x"}, version="2.1")
    assert codes(bad) == ["IE0002"]


# ------------------------------------------------------------------------------ range


def test_range_query_as_clients_send_it(
    sim: RakutenSimulator, clock: VirtualClock, http: httpx.Client
) -> None:
    for i, quantity in enumerate([400, 450, 499, 500, 399]):
        sim.add_item("item", f"v{i}", quantity)
        clock.advance(1)
    response = http.get("/es/2.1/inventories/bulk-get/range?minQuantity=400&maxQuantity=499")
    assert response.status_code == 200
    found = response.json()["inventories"]
    # newest update first
    assert [e["variantId"] for e in found] == ["v2", "v1", "v0"]
    assert found[0]["updated"] == "2026-11-23T10:00:02+09:00"
    only_min = http.get("/es/2.0/inventories/bulk-get/range", params={"minQuantity": 500})
    assert [e["variantId"] for e in only_min.json()["inventories"]] == ["v3"]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "IE0105"),
        ({"minQuantity": "", "maxQuantity": ""}, "IE0105"),
        ({"minQuantity": 5, "maxQuantity": 4}, "IE0113"),
        ({"minQuantity": "x"}, "IE0002"),
        ({"maxQuantity": 100000}, "IE0003"),
    ],
)
def test_range_bad_parameters(http: httpx.Client, params: dict[str, Any], code: str) -> None:
    response = http.get("/es/2.0/inventories/bulk-get/range", params=params)
    assert response.status_code == 400
    assert codes(response) == [code]


def test_range_over_1000_hits_is_ie0116(sim: RakutenSimulator, http: httpx.Client) -> None:
    for i in range(1001):
        sim.add_item(f"item{i // 400}", f"v{i}", 1)
    response = http.get("/es/2.0/inventories/bulk-get/range", params={"minQuantity": 0})
    assert response.status_code == 400
    assert codes(response) == ["IE0116"]
    assert (
        len(
            http.get("/es/2.0/inventories/bulk-get/range", params={"minQuantity": 2}).json()[
                "inventories"
            ]
        )
        == 0
    )


# ------------------------------------------------------------------------------ push lag


def test_push_lag_keeps_the_old_value_live_until_it_passes(clock: VirtualClock) -> None:
    sim = RakutenSimulator(clock=clock, push_lag=60, enforce_rate_limits=False)
    code = sim.add_item("item", "a", 2)
    with connect(sim) as http:
        assert upsert(http, inv("item", "a", 10)).status_code == 204
        assert sim.stock(code) == 2
        assert sim.pending_stock(code) == 10
        assert bulk_get(http, ("item", "a"))[0]["quantity"] == 2
        # orders are checked against what the shop page shows
        assert sim.place_order([(code, 3)]) is None
        assert sim.place_order([(code, 2)]) is not None
        assert sim.stock(code) == 0
        clock.advance(60)
        assert sim.stock(code) == 10  # the absolute push lands over the sale
        assert bulk_get(http, ("item", "a"))[0]["updated"] == "2026-11-23T10:01:00+09:00"


def test_relative_push_in_flight_applies_to_the_live_value(clock: VirtualClock) -> None:
    sim = RakutenSimulator(clock=clock, push_lag=30, enforce_rate_limits=False)
    code = sim.add_item("item", "a", 5)
    with connect(sim) as http:
        assert upsert(http, inv("item", "a", 3, "RELATIVE")).status_code == 204
        assert sim.pending_stock(code) == 8
        sim.place_order([(code, 4)])
        clock.advance(30)
        assert sim.stock(code) == 4


def test_a_new_record_is_not_visible_before_its_first_write_is_live(clock: VirtualClock) -> None:
    sim = RakutenSimulator(clock=clock, push_lag=10, enforce_rate_limits=False)
    code = sim.add_item("item", "a", 1)
    with connect(sim) as http:
        assert http.delete("/es/2.0/inventories/manage-numbers/item/variants/a").status_code == 204
        assert upsert(http, inv("item", "a", 9)).status_code == 204
        assert bulk_get(http, ("item", "a")) == []
        assert sim.pending_stock(code) == 9
        clock.advance(10)
        assert bulk_get(http, ("item", "a"))[0]["quantity"] == 9


def test_hand_edit_is_live_at_once(sim: RakutenSimulator, http: httpx.Client) -> None:
    code = sim.add_item("item", "a", 1)
    sim.set_stock(code, 42)
    assert bulk_get(http, ("item", "a"))[0]["quantity"] == 42
    with pytest.raises(KeyError):
        sim.set_stock("item:unknown", 1)


# ------------------------------------------------------------------------------ rate limits and faults


def test_writes_over_one_per_second_get_429(clock: VirtualClock) -> None:
    sim = RakutenSimulator(clock=clock)
    sim.add_item("item", "a")
    with connect(sim) as http:
        assert upsert(http, inv("item", "a", 1)).status_code == 204
        response = upsert(http, inv("item", "a", 2))
        assert response.status_code == 429
        assert response.json() == {
            "Results": {"errorCode": "SIM-429", "message": "Too Many Requests"}
        }
        assert sim.stock("item:a") == 1
        clock.advance(1)
        assert upsert(http, inv("item", "a", 3)).status_code == 204


def test_bulk_get_allows_five_per_second(clock: VirtualClock) -> None:
    sim = RakutenSimulator(clock=clock, rate_limit_error_code="ES04-29")
    with connect(sim) as http:
        statuses = [
            http.post(BULK_GET, json={"inventories": [inv("a", "b")]}).status_code for _ in range(6)
        ]
        assert statuses == [200] * 5 + [429]
        assert http.get("/es/2.0/inventories/bulk-get/range?minQuantity=1").status_code == 200
        clock.advance(0.5)
        assert http.post(BULK_GET, json={"inventories": [inv("a", "b")]}).status_code == 429
        clock.advance(0.5)
        assert http.post(BULK_GET, json={"inventories": [inv("a", "b")]}).status_code == 200


def test_single_get_is_one_per_second_and_orders_are_not_limited(clock: VirtualClock) -> None:
    sim = RakutenSimulator(clock=clock)
    sim.add_item("item", "a")
    with connect(sim) as http:
        path = "/es/2.0/inventories/manage-numbers/item/variants/a"
        assert [http.get(path).status_code for _ in range(2)] == [200, 429]
        assert all(search(http).status_code == 200 for _ in range(10))


def test_rate_limits_can_be_switched_off(sim: RakutenSimulator, http: httpx.Client) -> None:
    sim.add_item("item", "a")
    assert all(upsert(http, inv("item", "a", i)).status_code == 204 for i in range(5))


def test_latency_advances_the_virtual_clock(clock: VirtualClock) -> None:
    sim = RakutenSimulator(clock=clock, latency=0.25)
    with connect(sim) as http:
        http.get(LICENSE)
        http.get(LICENSE)
    assert clock.now() == START + timedelta(seconds=0.5)
    assert sim.requests[1].at == START + timedelta(seconds=0.5)


@pytest.mark.parametrize(
    ("kind", "status", "body"),
    [
        ("429", 429, {"Results": {"errorCode": "SIM-429", "message": "Too Many Requests"}}),
        ("503", 503, {"Results": {"errorCode": "SIM-503", "message": "Service Unavailable"}}),
        (
            "409",
            409,
            {
                "errors": [
                    {
                        "code": "CE0001",
                        "message": "Conflict with another process. Please try again later.",
                    }
                ]
            },
        ),
        ("500", 500, {"errors": [{"code": "X0000", "message": "Unexpected error."}]}),
        ("401", 401, {"Results": {"errorCode": "ES01-01", "message": "Un-Authorised"}}),
    ],
)
def test_injected_faults(
    sim: RakutenSimulator, http: httpx.Client, kind: Any, status: int, body: dict[str, Any]
) -> None:
    code = sim.add_item("item", "a", 1)
    sim.fail_next(kind, times=2)
    for _ in range(2):
        response = upsert(http, inv("item", "a", 9))
        assert (response.status_code, response.json()) == (status, body)
    assert sim.stock(code) == 1
    assert upsert(http, inv("item", "a", 9)).status_code == 204
    assert sim.stock(code) == 9


def test_injected_timeout_raises_and_changes_nothing(
    sim: RakutenSimulator, http: httpx.Client
) -> None:
    code = sim.add_item("item", "a", 1)
    sim.fail_next("timeout")
    with pytest.raises(httpx.ReadTimeout):
        upsert(http, inv("item", "a", 9))
    assert sim.stock(code) == 1
    assert sim.requests[-1].status == 0


def test_request_log(sim: RakutenSimulator, http: httpx.Client) -> None:
    sim.add_item("item", "a", 1)
    upsert(http, inv("item", "a", 2))
    bulk_get(http, ("item", "a"))
    search(http)
    http.get(LICENSE, params={"licenseKey": "SL123456_sim"})
    log = [(r.method, r.path, r.status, r.family) for r in sim.requests]
    assert log == [
        ("POST", UPSERT, 204, "inventory-write"),
        ("POST", BULK_GET, 200, "inventory-read"),
        ("POST", SEARCH, 200, "order"),
        ("GET", LICENSE, 200, "license"),
    ]
    assert sim.requests[0].json == {"inventories": [inv("item", "a", 2)]}
    assert sim.requests[3].params == {"licenseKey": "SL123456_sim"}


# ------------------------------------------------------------------------------ orders


def test_orders_decrement_stock_and_are_refused_beyond_it(sim: RakutenSimulator) -> None:
    a = sim.add_item("item", "a", 3)
    b = sim.add_item("item", "b", 1)
    number = sim.place_order([(a, 2), (b, 1)])
    assert number == "123456-20261123-00000001"
    assert (sim.stock(a), sim.stock(b)) == (1, 0)
    assert sim.place_order([(a, 1), (b, 1)]) is None  # one line short → nothing taken
    assert sim.place_order([(a, 1), (a, 1)]) is None  # lines of one SKU add up
    assert sim.stock(a) == 1
    assert sim.orders[number].progress == 100
    with pytest.raises(KeyError):
        sim.place_order([("item:zzz", 1)])


def test_back_order_flag_accepts_orders_at_zero(sim: RakutenSimulator) -> None:
    code = sim.add_item("item", "a", 1, back_order=True)
    assert sim.place_order([(code, 3)]) is not None
    assert sim.stock(code) == 0


def test_order_number_uses_the_jst_date(sim: RakutenSimulator) -> None:
    code = sim.add_item("item", "a", 5)
    number = sim.place_order([(code, 1)], at=datetime(2026, 11, 23, 16, 0, tzinfo=UTC))
    assert number == "123456-20261124-00000001"


@pytest.mark.parametrize(
    ("restock_on_cancel", "restock", "flag", "stock_after"),
    [(True, None, 0, 5), (False, None, 0, 3), (False, True, 1, 5), (True, False, 2, 3)],
)
def test_cancel_restocks_per_flag(
    sim: RakutenSimulator,
    http: httpx.Client,
    restock_on_cancel: bool,
    restock: bool | None,
    flag: int,
    stock_after: int,
) -> None:
    code = sim.add_item("item", "a", 5, restock_on_cancel=restock_on_cancel)
    number = sim.place_order([(code, 2)])
    assert number is not None
    sim.cancel_order(number, restock=restock)
    assert sim.stock(code) == stock_after
    order = http.post(GET_ORDER, json={"orderNumberList": [number], "version": 7}).json()[
        "OrderModelList"
    ][0]
    assert order["orderProgress"] == 900
    # cancelOrder is an application: 0 cancel applied (800), then 1 confirmed (900). [S11]
    assert [c["changeType"] for c in order["ChangeReasonModelList"]] == [0, 1]
    change = order["ChangeReasonModelList"][-1]
    assert change["changeFixDatetime"] == "2026-11-23T10:00:00+0900"
    line = order["PackageModelList"][0]["ItemModelList"][0]
    assert line["restoreInventoryFlag"] == flag
    assert line["units"] == 2
    with pytest.raises(ValueError):
        sim.cancel_order(number)


def get_order(http: httpx.Client, number: str) -> dict[str, Any]:
    body = http.post(GET_ORDER, json={"orderNumberList": [number], "version": 7}).json()
    order: dict[str, Any] = body["OrderModelList"][0]
    return order


def test_a_cancel_passes_800_before_900_and_restocks_on_confirmation(
    sim: RakutenSimulator, http: httpx.Client
) -> None:
    code = sim.add_item("item", "a", 5)
    number = sim.place_order([(code, 2)])
    assert number is not None
    sim.request_cancel(number)
    order = get_order(http, number)
    assert order["orderProgress"] == 800
    assert [c["changeType"] for c in order["ChangeReasonModelList"]] == [0]
    assert sim.stock(code) == 3  # nothing back until the cancel is confirmed
    sim.confirm_cancel(number)
    assert get_order(http, number)["orderProgress"] == 900
    assert sim.stock(code) == 5
    with pytest.raises(ValueError):
        sim.confirm_cancel(number)


def test_a_change_via_400_stays_pending_until_confirmed(
    sim: RakutenSimulator, http: httpx.Client
) -> None:
    code = sim.add_item("item", "a", 5)
    number = sim.place_order([(code, 3)])
    assert number is not None
    sim.orders[number].progress = 300
    sim.change_line_units(number, 0, 1)  # change_via_400 is the default reading (§4.4)
    order = get_order(http, number)
    assert order["orderProgress"] == 400
    assert [c["changeType"] for c in order["ChangeReasonModelList"]] == [4]
    assert order["PackageModelList"][0]["ItemModelList"][0]["units"] == 1
    assert sim.stock(code) == 4
    sim.confirm_change(number)
    order = get_order(http, number)
    assert order["orderProgress"] == 300
    assert [c["changeType"] for c in order["ChangeReasonModelList"]] == [4, 5]
    with pytest.raises(ValueError):
        sim.confirm_change(number)


def test_removed_lines_and_packages_stay_listed_with_their_delete_flags(
    clock: VirtualClock,
) -> None:
    sim = RakutenSimulator(clock=clock, enforce_rate_limits=False, change_via_400=False)
    a = sim.add_item("item", "a", 5)
    b = sim.add_item("item", "b", 5)
    number = sim.place_order([(a, 1), (b, 2), (a, 1)], packages=[0, 0, 1])
    assert number is not None
    sim.remove_line(number, 1)
    sim.remove_package(number, 1)
    with connect(sim) as http:
        order = get_order(http, number)
    assert order["orderProgress"] == 100  # in place: no 400
    first, second = order["PackageModelList"]
    assert (first["packageDeleteFlag"], second["packageDeleteFlag"]) == (0, 1)
    assert [i["deleteItemFlag"] for i in first["ItemModelList"]] == [0, 1]
    assert [i["units"] for i in first["ItemModelList"]] == [1, 2]  # units kept as ordered
    assert (sim.stock(a), sim.stock(b)) == (4, 5)
    assert order["goodsPrice"] == 1000
    with pytest.raises(ValueError):
        sim.remove_line(number, 1)


def test_partial_change_in_place_reduces_units_and_keeps_status(
    sim: RakutenSimulator, http: httpx.Client
) -> None:
    a = sim.add_item("item", "a", 5)
    b = sim.add_item("item", "b", 5, restock_on_cancel=False)
    number = sim.place_order([(a, 3), (b, 2)])
    assert number is not None
    sim.change_line_units(number, 0, 1, via_400=False)
    sim.change_line_units(number, 1, 0, via_400=False)
    assert (sim.stock(a), sim.stock(b)) == (4, 3)
    order = http.post(GET_ORDER, json={"orderNumberList": [number], "version": 7}).json()[
        "OrderModelList"
    ][0]
    assert order["orderProgress"] == 100
    assert [c["changeType"] for c in order["ChangeReasonModelList"]] == [5, 5]
    assert [i["units"] for i in order["PackageModelList"][0]["ItemModelList"]] == [1, 0]
    assert order["goodsPrice"] == 1000
    with pytest.raises(ValueError):
        sim.change_line_units(number, 0, 2)


def test_order_model_shape(sim: RakutenSimulator, http: httpx.Client) -> None:
    code = sim.add_item(
        "Shirt-01",
        "red-M",
        5,
        name="Tシャツ",
        price=2500,
        merchant_defined_sku_id="TS-RED-M",
        sku_info="カラー:赤\nサイズ:M",
    )
    number = sim.place_order([(code, 2)])
    response = http.post(
        "/es/2.0/order/getOrder",
        json={"orderNumberList": [number], "version": 7},
        headers={"Content-Type": "application/json;charset=utf-8"},
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"MessageModelList", "OrderModelList", "version"}
    assert body["version"] == 7
    assert body["MessageModelList"] == [
        {
            "messageType": "INFO",
            "messageCode": "ORDER_EXT_API_GET_ORDER_INFO_101",
            "message": "受注情報取得に成功しました。(取得件数1件)",
        }
    ]
    order = body["OrderModelList"][0]
    assert order["orderNumber"] == number
    assert order["orderDatetime"] == "2026-11-23T10:00:00+0900"
    assert order["cancelDueDate"] == "2027-01-22"
    assert order["ChangeReasonModelList"] == []
    package = order["PackageModelList"][0]
    assert isinstance(package["basketId"], int)
    item = package["ItemModelList"][0]
    assert {
        k: item[k]
        for k in (
            "itemName",
            "itemNumber",
            "manageNumber",
            "units",
            "price",
            "restoreInventoryFlag",
        )
    } == {
        "itemName": "Tシャツ",
        "itemNumber": "shirt-01",
        "manageNumber": "shirt-01",
        "units": 2,
        "price": 2500,
        "restoreInventoryFlag": 0,
    }
    assert isinstance(item["itemDetailId"], int) and isinstance(item["itemId"], int)
    assert item["SkuModelList"] == [
        {"variantId": "red-M", "merchantDefinedSkuId": "TS-RED-M", "skuInfo": "カラー:赤\nサイズ:M"}
    ]


def test_get_order_versions_gate_the_sku_model(sim: RakutenSimulator, http: httpx.Client) -> None:
    number = sim.place_order([(sim.add_item("item", "a", 1), 1)])
    for version, has_sku in ((3, False), (6, False), (7, True), (10, True)):
        body = http.post(GET_ORDER, json={"orderNumberList": [number], "version": version}).json()
        assert (
            "SkuModelList" in body["OrderModelList"][0]["PackageModelList"][0]["ItemModelList"][0]
        ) is has_sku
    for version in (1, 2, "7"):
        response = http.post(GET_ORDER, json={"orderNumberList": [number], "version": version})
        assert response.status_code == 400
        assert response.json()["OrderModelList"] is None
        assert response.json()["MessageModelList"][0]["messageType"] == "ERROR"


def test_get_order_requires_version_and_numbers(http: httpx.Client) -> None:
    response = http.post(GET_ORDER, json={"orderNumberList": ["123456-20261123-00000001"]})
    assert response.status_code == 400
    assert message_codes(response) == ["ORDER_EXT_API_GET_ORDER_ERROR_009"]
    response = http.post(GET_ORDER, json={"version": 7})
    assert response.status_code == 400
    assert response.json()["MessageModelList"] == [
        {
            "messageType": "ERROR",
            "messageCode": "ORDER_EXT_API_GET_ORDER_ERROR_009",
            "message": "orderNumberListの項目を指定してください。",
        }
    ]


def test_get_order_at_most_100_numbers(sim: RakutenSimulator, http: httpx.Client) -> None:
    numbers = [f"123456-20261123-{i:08d}" for i in range(101)]
    response = http.post(GET_ORDER, json={"orderNumberList": numbers, "version": 7})
    assert response.status_code == 400
    assert response.json()["MessageModelList"][0]["messageType"] == "ERROR"
    assert (
        http.post(GET_ORDER, json={"orderNumberList": numbers[:100], "version": 7}).status_code
        == 200
    )


def test_get_order_leaves_out_unknown_numbers_with_a_warning(
    sim: RakutenSimulator, http: httpx.Client
) -> None:
    number = sim.place_order([(sim.add_item("item", "a", 1), 1)])
    body = http.post(
        GET_ORDER, json={"orderNumberList": ["123456-20200101-99999999", number], "version": 7}
    ).json()
    assert [o["orderNumber"] for o in body["OrderModelList"]] == [number]
    assert body["MessageModelList"][0]["message"] == "受注情報取得に成功しました。(取得件数1件)"
    warning = body["MessageModelList"][1]
    assert warning["messageType"] == "WARNING"
    assert warning["orderNumber"] == "123456-20200101-99999999"


def test_search_order_pagination_matches_the_documented_example(
    sim: RakutenSimulator, http: httpx.Client
) -> None:
    code = sim.add_item("item", "a", 100)
    numbers = [
        sim.place_order([(code, 1)], at=START - timedelta(minutes=79 - i)) for i in range(79)
    ]
    response = search(http, PaginationRequestModel={"requestRecordsAmount": 30, "requestPage": 1})
    assert response.status_code == 200
    assert response.json() == {
        "orderNumberList": numbers[:30],
        "MessageModelList": [
            {
                "messageType": "INFO",
                "messageCode": "ORDER_EXT_API_SEARCH_ORDER_INFO_101",
                "message": "注文検索に成功しました。",
            }
        ],
        "PaginationResponseModel": {"totalRecordsAmount": 79, "totalPages": 3, "requestPage": 1},
    }
    collected: list[str] = []
    for page in (1, 2, 3):
        body = search(http, PaginationRequestModel={"requestPage": page}).json()
        assert body["PaginationResponseModel"]["requestPage"] == page
        collected += body["orderNumberList"]
    assert collected == numbers  # default 30 per page, oldest first
    newest_first = search(
        http,
        PaginationRequestModel={
            "requestRecordsAmount": 5,
            "requestPage": 1,
            "SortModelList": [{"sortColumn": 1, "sortDirection": 2}],
        },
    ).json()
    assert newest_first["orderNumberList"] == numbers[::-1][:5]
    assert newest_first["PaginationResponseModel"]["totalPages"] == 16


def test_search_order_zero_hits_is_info_102(http: httpx.Client) -> None:
    response = search(http)
    assert response.status_code == 200
    assert response.json() == {
        "orderNumberList": [],
        "MessageModelList": [
            {
                "messageType": "INFO",
                "messageCode": "ORDER_EXT_API_SEARCH_ORDER_INFO_102",
                "message": "注文検索に成功しました。(検索結果０件)",
            }
        ],
        "PaginationResponseModel": {
            "totalRecordsAmount": None,
            "totalPages": None,
            "requestPage": None,
        },
    }


def test_search_order_filters_by_progress_and_window(
    sim: RakutenSimulator, http: httpx.Client
) -> None:
    code = sim.add_item("item", "a", 10)
    kept = sim.place_order([(code, 1)])
    cancelled = sim.place_order([(code, 1)])
    old = sim.place_order([(code, 1)], at=START - timedelta(days=3))
    assert cancelled is not None and old is not None
    sim.cancel_order(cancelled)
    assert search(http).json()["orderNumberList"] == [kept, cancelled]
    assert search(http, orderProgressList=[800, 900]).json()["orderNumberList"] == [cancelled]
    assert search(http, dateType=2).json()["orderNumberList"] == []  # nothing confirmed yet
    edge = search(http, startDatetime=order_time(START), endDatetime=order_time(START)).json()
    assert edge["orderNumberList"] == [kept, cancelled]  # both ends inclusive


def test_search_order_documented_error_example(http: httpx.Client) -> None:
    response = http.post(
        SEARCH,
        json={
            "startDatetime": "2017-12-14T00:00:00+09:00",
            "endDatetime": "2018-01-14T00:00:00+0900",
        },
    )
    assert response.status_code == 400
    assert response.json() == {
        "orderNumberList": None,
        "MessageModelList": [
            {
                "messageType": "ERROR",
                "messageCode": "ORDER_EXT_API_SEARCH_ORDER_ERROR_009",
                "message": "dateTypeの項目を指定して下さい。",
            },
            {
                "messageType": "ERROR",
                "messageCode": "ORDER_EXT_API_SEARCH_ORDER_ERROR_011",
                "message": "startDatetimeの書式が不正です。",
            },
        ],
        "PaginationResponseModel": None,
    }


def test_search_order_requires_both_datetimes(http: httpx.Client) -> None:
    response = http.post(SEARCH, json={"dateType": 1, "startDatetime": "", "endDatetime": None})
    assert response.status_code == 400
    assert [m["message"] for m in response.json()["MessageModelList"]] == [
        "startDatetimeの値を指定して下さい。",
        "endDatetimeの値を指定して下さい。",
    ]
    assert message_codes(response) == ["ORDER_EXT_API_SEARCH_ORDER_ERROR_010"] * 2


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-23T00:00:00+09:00",
        "2026-11-23T00:00:00Z",
        "2026-11-23T00:00:00+0000",
        "2026-11-23T00:00:00",
        "2026-11-23 00:00:00+0900",
        "2026-13-01T00:00:00+0900",
        "2026-11-23T00:00:00.000+0900",
    ],
)
def test_search_order_rejects_every_other_datetime_format(http: httpx.Client, text: str) -> None:
    response = search(http, startDatetime=text)
    assert response.status_code == 400
    assert message_codes(response) == ["ORDER_EXT_API_SEARCH_ORDER_ERROR_011"]


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (START - timedelta(days=64), START),  # span over 63 days
        (START - timedelta(days=731), START - timedelta(days=700)),  # older than 730 days
        (START, START - timedelta(seconds=1)),  # end before start
    ],
)
def test_search_order_window_limits(http: httpx.Client, start: datetime, end: datetime) -> None:
    response = search(http, startDatetime=order_time(start), endDatetime=order_time(end))
    assert response.status_code == 400
    assert message_codes(response) == ["ORDER_EXT_API_SEARCH_ORDER_ERROR_023"]
    assert (
        search(
            http,
            startDatetime=order_time(START - timedelta(days=63)),
            endDatetime=order_time(START),
        ).status_code
        == 200
    )


def test_search_order_range_error_code_is_configurable(clock: VirtualClock) -> None:
    sim = RakutenSimulator(
        clock=clock, search_range_error_code="ORDER_EXT_API_SEARCH_ORDER_ERROR_012"
    )
    with connect(sim) as http:
        response = search(
            http,
            startDatetime=order_time(START - timedelta(days=64)),
            endDatetime=order_time(START),
        )
    assert message_codes(response) == ["ORDER_EXT_API_SEARCH_ORDER_ERROR_012"]


@pytest.mark.parametrize(
    "page_model", [{"requestRecordsAmount": 1001}, {"requestRecordsAmount": 0}, {"requestPage": 0}]
)
def test_search_order_page_limits(http: httpx.Client, page_model: dict[str, int]) -> None:
    response = search(http, PaginationRequestModel=page_model)
    assert response.status_code == 400
    assert response.json()["orderNumberList"] is None
    assert search(http, PaginationRequestModel={"requestRecordsAmount": 1000}).status_code == 200


def test_search_order_bad_date_type(http: httpx.Client) -> None:
    response = search(http, dateType=7)
    assert response.status_code == 400
    assert message_codes(response) == ["ORDER_EXT_API_SEARCH_ORDER_ERROR_009"]


def test_search_order_hit_cap(
    sim: RakutenSimulator, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(RakutenSimulator, "SEARCH_HIT_CAP", 5)
    code = sim.add_item("item", "a", 10)
    numbers = [sim.place_order([(code, 1)]) for _ in range(7)]
    body = search(http).json()
    assert body["orderNumberList"] == numbers[:5]
    assert body["PaginationResponseModel"]["totalRecordsAmount"] == 5


def test_order_paths_with_and_without_slash_and_content_types(http: httpx.Client) -> None:
    window = {"dateType": 1, "startDatetime": order_time(START), "endDatetime": order_time(START)}
    body = httpx.Request("POST", "/", json=window).content
    for path in (SEARCH, SEARCH.rstrip("/")):
        for content_type in ("application/json; charset=utf-8", "application/json;charset=utf-8"):
            response = http.post(path, content=body, headers={"Content-Type": content_type})
            assert response.status_code == 200, (path, content_type)
    for refused in ("application/json", "text/plain", "application/jsonp; charset=utf-8"):
        response = http.post(SEARCH, content=body, headers={"Content-Type": refused})
        assert response.status_code == 415, refused
        assert response.json() == {
            "Results": {"errorCode": "ES04-03", "message": "Unsupported Media Type"}
        }


@pytest.mark.parametrize(
    ("rule", "accepted", "refused"),
    [
        ("no-space", "application/json;charset=utf-8", "application/json; charset=utf-8"),
        ("any-json", "application/json", "text/plain"),
    ],
)
def test_the_content_type_rule_is_configurable(
    clock: VirtualClock, rule: ContentTypeRule, accepted: str, refused: str
) -> None:
    """rakuten.md §4.1 marks the 415 reading UNCONFIRMED: both other readings can be run."""
    sim = RakutenSimulator(clock=clock, enforce_rate_limits=False, order_content_type=rule)
    window = {"dateType": 1, "startDatetime": order_time(START), "endDatetime": order_time(START)}
    body = httpx.Request("POST", "/", json=window).content
    with connect(sim) as http:
        assert (
            http.post(SEARCH, content=body, headers={"Content-Type": accepted}).status_code == 200
        )
        assert http.post(SEARCH, content=body, headers={"Content-Type": refused}).status_code == 415


def test_variant_id_keeps_its_case_unless_an_endpoint_is_set_to_fold_it(
    clock: VirtualClock,
) -> None:
    """[S5]: variantId 「大文字・小文字は、異なる文字として扱う」; folding is a switch."""
    sim = RakutenSimulator(clock=clock, enforce_rate_limits=False, fold_variant_id={"variant"})
    sim.add_item("item", "Red", 1)
    sim.add_item("item", "red", 1)
    with connect(sim) as http:
        assert upsert(http, inv("ITEM", "Red", 7)).status_code == 204
        assert (sim.stock("item:Red"), sim.stock("item:red")) == (7, 1)
        put = http.put(
            "/es/2.0/inventories/manage-numbers/item/variants/Red",
            json={"mode": "ABSOLUTE", "quantity": 9},
        )
        assert put.status_code == 204
    assert (sim.stock("item:Red"), sim.stock("item:red")) == (7, 9)  # folded onto "red"


def test_credential_refusals_can_come_as_400_with_gateway_codes(clock: VirtualClock) -> None:
    sim = RakutenSimulator(
        clock=clock, enforce_rate_limits=False, auth_error_code="GK0001", auth_error_status=400
    )
    sim.expire_credentials()
    with connect(sim) as http:
        response = upsert(http, inv("item", "a", 1))
    assert response.status_code == 400
    assert response.json() == {"Results": {"errorCode": "GK0001", "message": "Un-Authorised"}}


def test_a_search_can_answer_200_with_an_error_and_an_order_can_be_unreadable(
    sim: RakutenSimulator, http: httpx.Client
) -> None:
    code = sim.add_item("item", "a", 5)
    number = sim.place_order([(code, 1)])
    assert number is not None
    sim.fail_next_search("ORDER_EXT_API_SEARCH_ORDER_ERROR_SIM")
    body = search(http).json()
    assert body["orderNumberList"] is None
    assert body["MessageModelList"][0]["messageType"] == "ERROR"
    assert search(http).json()["orderNumberList"] == [number]
    sim.unreadable_orders[number] = "ORDER_EXT_API_GET_ORDER_ERROR_SIM"
    body = http.post(GET_ORDER, json={"orderNumberList": [number], "version": 7}).json()
    assert body["OrderModelList"] == []
    assert {(m["messageType"], m.get("orderNumber")) for m in body["MessageModelList"]} >= {
        ("ERROR", number)
    }
