"""楽天 answers decoded by their shape: only the fields the adapter reads, same readings.

``GET_ORDER_ANSWER`` and ``BULK_GET_ANSWER`` skip the fields the adapter never reads
(buyer, prices, names, timestamps). Whatever the body, what the adapter reads from it
must be what it read from the whole decode (``json_or_none``): the same orders, lines,
per-order messages and quantities, and the same fallback for anything odd.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.base import TransientError, json_body, json_or_none
from adapters.rakuten import RakutenAdapter
from adapters.rakuten.orders import parse_order
from adapters.rakuten.wire import BULK_GET_ANSWER, GET_ORDER_ANSWER, order_api_errors
from bot.sandbox.clock import VirtualClock
from bot.sandbox.simulators.rakuten import RakutenSimulator

START = datetime(2026, 11, 23, tzinfo=UTC)

# Odd values a field can hold: right types, wrong types, nothing.
_LEAF = st.one_of(
    st.sampled_from([0, 1, 2, 100, 400, 800, 900]),  # the values the flags and states take
    st.none(),
    st.booleans(),
    st.integers(-3, 1000),
    st.sampled_from([0.0, 1.5, -2.0, 1e20]),
    st.sampled_from(["", "1", "2", "900", "x", "abc:Red", "2026-11-23T09:00:00+0900"]),
    st.text(max_size=5),
)


def _maybe(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """An object with any subset of ``fields`` plus a field nobody reads."""
    return st.fixed_dictionaries(
        {}, optional={**fields, "unread": st.one_of(_LEAF, st.lists(_LEAF, max_size=2))}
    )


def _list_of(item: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a list of ``item``; sometimes null, a stray element, or not a list at all."""
    return st.one_of(
        st.lists(item, max_size=2),
        st.lists(st.one_of(item, _LEAF), max_size=2),
        _LEAF,
        st.just({}),
    )


_SKU = _maybe({"variantId": _LEAF, "skuInfo": _LEAF})
_ITEM = _maybe(
    {
        "itemDetailId": _LEAF,
        "manageNumber": _LEAF,
        "units": _LEAF,
        "inventoryType": _LEAF,
        "restoreInventoryFlag": _LEAF,
        "deleteItemFlag": _LEAF,
        "itemName": _LEAF,
        "SkuModelList": _list_of(_SKU),
    }
)
_PACKAGE = _maybe({"packageDeleteFlag": _LEAF, "ItemModelList": _list_of(_ITEM)})
_CHANGE = _maybe(
    {"changeApplyDatetime": _LEAF, "changeFixDatetime": _LEAF, "changeCmplDatetime": _LEAF}
)
_ORDER = _maybe(
    {
        "orderNumber": st.one_of(_LEAF, st.sampled_from(["1-2-3", "1-2-4"])),
        "orderProgress": _LEAF,
        "orderDatetime": _LEAF,
        "ChangeReasonModelList": _list_of(_CHANGE),
        "PackageModelList": _list_of(_PACKAGE),
        "OrdererModel": _maybe({"familyName": _LEAF}),
    }
)
_MESSAGE = _maybe(
    {
        "messageType": st.one_of(_LEAF, st.sampled_from(["ERROR", "WARNING", "INFO"])),
        "messageCode": _LEAF,
        "message": _LEAF,
        "orderNumber": _LEAF,
    }
)
_ODD_BODY = _maybe(
    {"MessageModelList": _list_of(_MESSAGE), "OrderModelList": _list_of(_ORDER), "version": _LEAF}
)

# Answers of the documented shape, every field the adapter reads present. [S11]
_FLAG = st.sampled_from([0, 1, 2])
_TIME = st.sampled_from(["2026-11-23T09:00:00+0900", "2026-11-24T10:30:00+0900", None])
_GOOD_ITEM = st.fixed_dictionaries(
    {
        "itemDetailId": st.integers(1, 5),
        "manageNumber": st.sampled_from(["tshirt-01", "Mug"]),
        "units": st.integers(0, 3),
        "inventoryType": st.sampled_from([1, 2]),
        "restoreInventoryFlag": _FLAG,
        "deleteItemFlag": _FLAG,
        "itemName": st.just("名前"),
        "SkuModelList": st.lists(
            st.fixed_dictionaries({"variantId": st.sampled_from(["red-m", ""])}), max_size=1
        ),
    }
)
_GOOD_ORDER = st.fixed_dictionaries(
    {
        "orderNumber": st.sampled_from(["1-20261123-1", "1-20261123-2"]),
        "orderProgress": st.sampled_from([100, 300, 400, 800, 900]),
        "orderDatetime": _TIME,
        "ChangeReasonModelList": st.lists(
            st.fixed_dictionaries(
                {
                    "changeApplyDatetime": _TIME,
                    "changeFixDatetime": _TIME,
                    "changeCmplDatetime": _TIME,
                }
            ),
            max_size=2,
        ),
        "PackageModelList": st.lists(
            st.fixed_dictionaries(
                {"packageDeleteFlag": _FLAG, "ItemModelList": st.lists(_GOOD_ITEM, max_size=2)}
            ),
            max_size=2,
        ),
        "OrdererModel": st.just({"familyName": "山田"}),
    }
)
_GOOD_BODY = st.fixed_dictionaries(
    {
        "MessageModelList": st.lists(_MESSAGE, max_size=1),
        "OrderModelList": st.lists(_GOOD_ORDER, min_size=1, max_size=2),
        "version": st.just(7),
    }
)
_GET_ORDER_BODY = st.one_of(_GOOD_BODY, _ODD_BODY)


def _orders_read(body: Any) -> Any:
    """What ``_get_orders`` reads of a body: its failures, or every order's SeenOrder."""
    try:
        return _orders_of(body)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        return type(err).__name__  # the adapter would fail the same way on both


def _orders_of(body: Any) -> Any:
    if not isinstance(body, dict):
        return "not an object"
    failed = order_api_errors(body)
    if failed:
        return failed
    seen = []
    for order in body.get("OrderModelList") or []:
        if isinstance(order, dict) and order.get("orderNumber"):
            seen.append(parse_order(order, mall="rakuten", restock_default=True))
    return seen


@settings(max_examples=300, deadline=None)
@given(_GET_ORDER_BODY)
def test_a_get_order_answer_reads_the_same_as_the_whole_decode(body: dict[str, Any]) -> None:
    response = httpx.Response(200, content=json.dumps(body).encode())
    assert _orders_read(GET_ORDER_ANSWER.decode(response)) == _orders_read(json_or_none(response))


def _quantities_read(body: Any) -> Any:
    """What ``_bulk_get`` reads of a body: (code, quantity) of every readable element."""
    try:
        return _quantities_of(body)
    except TypeError as err:
        return type(err).__name__


def _quantities_of(body: Any) -> Any:
    if not isinstance(body, dict):
        return "not an object"
    out = []
    for item in body.get("inventories") or []:
        if isinstance(item, dict):
            code = f"{item.get('manageNumber', '')}:{item.get('variantId', '')}"
            try:
                out.append((code, int(item.get("quantity", 0))))
            except (TypeError, ValueError):
                out.append((code, None))
    return out


_INVENTORY = st.one_of(
    _maybe({"manageNumber": _LEAF, "variantId": _LEAF, "quantity": _LEAF, "updated": _LEAF}),
    st.fixed_dictionaries(
        {
            "manageNumber": st.sampled_from(["tshirt-01", "Mug"]),
            "variantId": st.sampled_from(["red-m", "L"]),
            "quantity": st.integers(0, 99999),
            "updated": _TIME,
        }
    ),
)


@settings(max_examples=200, deadline=None)
@given(_maybe({"inventories": _list_of(_INVENTORY)}))
def test_a_bulk_get_answer_reads_the_same_as_the_whole_decode(body: dict[str, Any]) -> None:
    response = httpx.Response(200, content=json.dumps(body).encode())
    read = _quantities_read(BULK_GET_ANSWER.decode(response))
    assert read == _quantities_read(json_or_none(response))


@pytest.mark.parametrize("content", [b"", b"<html>maintenance</html>", b"[1, 2]", b"null", b"{"])
def test_a_body_that_is_no_json_object_decodes_as_the_whole_decode_does(content: bytes) -> None:
    response = httpx.Response(200, content=content)
    assert GET_ORDER_ANSWER.decode(response) == json_or_none(response)
    assert BULK_GET_ANSWER.decode(response) == json_or_none(response)


def _simulator() -> tuple[RakutenSimulator, httpx.Client, RakutenAdapter]:
    clock = VirtualClock(START)
    sim = RakutenSimulator(clock=clock)
    client = httpx.Client(transport=sim.transport, base_url=RakutenAdapter.BASE_URL)
    adapter = RakutenAdapter(
        client,
        service_secret="SP123456_sim",
        license_key="SL123456_sim",
        clock=clock,
        rng=random.Random(0),
    )
    return sim, client, adapter


def test_the_simulators_answers_are_decoded_without_the_unread_fields() -> None:
    """The fast path holds for the documented shape (a fallback would keep the buyer)."""
    sim, _client, adapter = _simulator()
    code = sim.add_item("tshirt-01", "red-m", 5)
    number = sim.place_order([(code, 2)])
    assert number is not None
    sim.cancel_order(number)
    got = adapter._request(
        "POST",
        adapter.PATH_GET_ORDER,
        adapter._order_bucket,
        json={"orderNumberList": [number, "999-x"], "version": 7},
        order_api=True,
    )
    whole = json_or_none(got)
    slim = GET_ORDER_ANSWER.decode(got)
    order = slim["OrderModelList"][0]
    assert "OrdererModel" in whole["OrderModelList"][0]
    assert set(order) == {
        "orderNumber",
        "orderProgress",
        "orderDatetime",
        "ChangeReasonModelList",
        "PackageModelList",
    }
    assert order["ChangeReasonModelList"]  # the cancel's change reason is kept
    assert "version" not in slim
    assert _orders_read(slim) == _orders_read(whole)
    stock = adapter._request(
        "POST",
        adapter.PATH_BULK_GET,
        adapter._read_bucket,
        json={"inventories": [{"manageNumber": "tshirt-01", "variantId": "red-m"}]},
    )
    assert BULK_GET_ANSWER.decode(stock) == {
        "inventories": [{"manageNumber": "tshirt-01", "variantId": "red-m", "quantity": 5}]
    }


def test_a_get_order_answer_that_is_not_json_is_still_a_transient_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/getOrder/"):
            return httpx.Response(200, content=b"<html>maintenance</html>")
        return httpx.Response(
            200,
            json={
                "orderNumberList": ["1-20261123-1"],
                "PaginationResponseModel": {"totalRecordsAmount": 1, "totalPages": 1},
            },
        )

    clock = VirtualClock(START)
    adapter = RakutenAdapter(
        httpx.Client(transport=httpx.MockTransport(handler), base_url=RakutenAdapter.BASE_URL),
        service_secret="SP123456_sim",
        license_key="SL123456_sim",
        clock=clock,
        rng=random.Random(0),
    )
    with pytest.raises(TransientError, match="応答を読み取れませんでした（HTTP 200）"):
        adapter.fetch_order_lines(clock.now(), clock.now())


# Request bodies: what the adapter builds (codes are ASCII; staff text may not be).
_BODY_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=8),  # no lone surrogates
)
_BODIES = st.recursive(
    _BODY_LEAF,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(_BODIES.filter(lambda v: v is not None))  # json=None is no body, content=None too
def test_a_request_body_is_the_bytes_httpx_would_send(value: Any) -> None:
    assert json_body(value) == httpx.Request("POST", "http://127.0.0.1/", json=value).content


def test_the_adapter_sends_the_json_bytes_with_its_content_type(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[httpx.Request] = []

    def slow_path(*args: object, **kwargs: object) -> str:
        raise AssertionError("the body went through httpx's json.dumps")

    monkeypatch.setattr("httpx._content.json_dumps", slow_path)  # httpx 0.28's json= encoder

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, content=b'{"inventories": []}')

    clock = VirtualClock(START)
    adapter = RakutenAdapter(
        httpx.Client(transport=httpx.MockTransport(handler), base_url=RakutenAdapter.BASE_URL),
        service_secret="SP123456_sim",
        license_key="SL123456_sim",
        clock=clock,
        rng=random.Random(0),
    )
    assert adapter.read_stock(["Tshirt-01:red-M", "mug:blue"]) == {}
    (request,) = sent
    body = {
        "inventories": [
            {"manageNumber": "tshirt-01", "variantId": "red-M"},
            {"manageNumber": "mug", "variantId": "blue"},
        ]
    }
    assert request.content == json.dumps(body, separators=(",", ":")).encode()
    assert request.headers["Content-Type"] == "application/json;charset=utf-8"
    assert request.headers["Content-Length"] == str(len(request.content))


_ASKED = st.lists(
    st.tuples(st.sampled_from(["tshirt-01", "Mug", "MUG", "cap"]), st.sampled_from(["red-M", "L"])),
    min_size=1,
    max_size=5,
)


@settings(max_examples=200, deadline=None)
@given(_ASKED, st.lists(st.tuples(st.integers(0, 6), st.booleans(), st.integers(0, 9)), max_size=6))
def test_read_stock_keys_each_answer_by_the_code_asked(
    asked: list[tuple[str, str]], answers: list[tuple[int, bool, int]]
) -> None:
    """An answer element names a code as asked, folded, or not asked at all."""
    codes = [f"{mn}:{vid}" for mn, vid in asked]

    def handler(request: httpx.Request) -> httpx.Response:
        elements = json.loads(request.content)["inventories"]
        out = []
        for index, upper, quantity in answers:
            if index < len(elements):
                element = dict(elements[index])
                if upper:
                    element["manageNumber"] = element["manageNumber"].upper()
            else:
                element = {"manageNumber": "other", "variantId": f"v{index}"}
            out.append({**element, "quantity": quantity})
        return httpx.Response(200, content=json.dumps({"inventories": out}).encode())

    clock = VirtualClock(START)
    adapter = RakutenAdapter(
        httpx.Client(transport=httpx.MockTransport(handler), base_url=RakutenAdapter.BASE_URL),
        service_secret="SP123456_sim",
        license_key="SL123456_sim",
        clock=clock,
        rng=random.Random(0),
    )
    got = adapter.read_stock(codes)
    # The plain computation: every answer folded, keyed back by the code given.
    canonical = {code: RakutenAdapter.canonical_code(code) for code in codes}
    asked_in_order = list(dict.fromkeys(canonical.values()))
    found: dict[str, int] = {}
    for index, _upper, quantity in answers:
        if index < len(asked_in_order):
            found[asked_in_order[index]] = quantity
    assert got == {code: found[c] for code, c in canonical.items() if c in found}
    assert all(c in adapter._known for c in canonical.values() if c in found)
