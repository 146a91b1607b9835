"""YahooSimulator on the wire: what it refuses, how it answers, the shop-world it keeps.

These tests speak raw HTTP to the simulator (no adapter), so each documented rejection
is pinned down by itself; the adapter's side is in test_yahoo.py.
"""

from __future__ import annotations

import base64
import re
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from adapters.yahoo.auth import basic_auth, load_public_key, sws_signature
from bot.sandbox.clock import VirtualClock
from bot.sandbox.simulators import simulator_class
from bot.sandbox.simulators.yahoo import (
    AUTH_HOST,
    ORDER_FORMAT_CODE,
    SimRequest,
    Unconfirmed,
    YahooSimulator,
)
from tests.adapters.test_yahoo_fixtures import (
    CASSETTES,
    STATIC,
    get_stock_interaction,
    load_cassette,
    missing_item_interaction,
    timeout_xml,
)

START = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # 09:00 JST
API = "https://circus.shopping.yahooapis.jp/ShoppingWebService/V1/"
TOKEN_URL = f"https://{AUTH_HOST}/yconnect/v2/token"  # served by the simulator
FORM = "application/x-www-form-urlencoded"


class Wire:
    """A raw client on a simulator, with the few helpers every test needs."""

    def __init__(self, sim: YahooSimulator, clock: VirtualClock) -> None:
        self.sim = sim
        self.clock = clock
        self.client = httpx.Client(transport=sim.transport)
        self.token = self.refresh()["access_token"]

    def refresh(self, token: str | None = None, secret: str | None = None) -> dict[str, str]:
        response = self.client.post(
            TOKEN_URL,
            content=urllib.parse.urlencode(
                {"grant_type": "refresh_token", "refresh_token": token or self.sim.refresh_token}
            ).encode(),
            headers={
                "Authorization": basic_auth(self.sim.client_id, secret or self.sim.client_secret),
                "Content-Type": FORM,
            },
        )
        result: dict[str, str] = response.json()
        return result

    def form(self, api: str, fields: dict[str, str], **headers: str) -> httpx.Response:
        self.clock.advance(1)  # stay under 1 req/s unless a test wants otherwise
        body = urllib.parse.urlencode({"seller_id": self.sim.seller_id, **fields}).encode()
        return self.client.post(
            API + api,
            content=body,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": FORM, **headers},
        )

    def signature(
        self, *, at: datetime | None = None, version: int | None = None
    ) -> dict[str, str]:
        key = load_public_key(self.sim.public_key)
        return {
            "X-sws-signature": sws_signature(key, self.sim.seller_id, at or self.clock.now()),
            "X-sws-signature-version": str(version or self.sim.public_key_version),
        }

    def xml(self, api: str, body: str, headers: dict[str, str] | None = None) -> httpx.Response:
        self.clock.advance(1)
        return self.client.post(
            API + api,
            content=body.encode(),
            headers={
                "Authorization": f"Bearer {self.token}",
                "Content-Type": "text/xml;charset=UTF-8",
                **(self.signature() if headers is None else headers),
            },
        )

    def order_list(self, condition: str = "", extra: str = "", **kw: str) -> httpx.Response:
        field = kw.get("field", "OrderId,OrderTime,OrderStatus")
        body = (
            f"<Req><Search><Result>{kw.get('result', '100')}</Result><Start>{kw.get('start', '1')}"
            f"</Start>{extra}<Condition>{condition}</Condition><Field>{field}</Field></Search>"
            f"<SellerId>{kw.get('seller', self.sim.seller_id)}</SellerId></Req>"
        )
        return self.xml("orderList", body, kw.get("headers"))  # type: ignore[arg-type]

    def order_info(
        self, order_id: str, field: str = "OrderId,OrderStatus,LineId,ItemId,SubCode,Quantity"
    ) -> httpx.Response:
        body = (
            f"<Req><Target><OrderId>{order_id}</OrderId><Field>{field}</Field></Target>"
            f"<SellerId>{self.sim.seller_id}</SellerId></Req>"
        )
        return self.xml("orderInfo", body)


def _sim(clock: VirtualClock, **kw: object) -> YahooSimulator:
    return YahooSimulator(clock=clock, **kw)  # type: ignore[arg-type]


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START)


@pytest.fixture
def w(clock: VirtualClock) -> Iterator[Wire]:
    yield Wire(_sim(clock), clock)


def _code(response: httpx.Response) -> str:
    root = ET.fromstring(response.content)
    return root.findtext("Code") or ""


def _last(sim: YahooSimulator) -> SimRequest:
    return sim.requests[-1]


# --------------------------------------------------------------------------- protocol


def test_it_is_the_registered_simulator_and_offers_the_shop_controls(clock: VirtualClock) -> None:
    assert simulator_class("yahoo") is YahooSimulator
    sim = _sim(clock)
    assert (sim.key, sim.max_write_batch) == ("yahoo", 1000)
    config = sim.config()
    assert set(config) >= {"enabled", "seller_id", "client_id", "client_secret", "public_key"}
    assert config["public_key"].startswith("-----BEGIN PUBLIC KEY-----")
    assert sim.sample_code(1) == "item-0001:sub-1" and sim.sample_code(2) == "item-0002"
    assert sim.add_listing(sim.sample_code(1), 4) == "item-0001:sub-1"
    sim.set_stock("item-0001:sub-1", 9)
    assert (sim.stock("item-0001:sub-1"), sim.pending_stock("item-0001:sub-1")) == (9, 9)
    assert sim.pending_stock("item-9999") is None
    assert sim.refused_quantity() == 1_000_000_000
    with pytest.raises(ValueError, match="not a Yahoo item code"):
        sim.add_listing("bad_code", 1)


# --------------------------------------------------------------------------- tokens


def test_wrong_or_expired_tokens_get_401_invalid_token(w: Wire) -> None:
    w.sim.add_listing("a", 1)
    good = w.form("getStock", {"item_code": "a"})
    assert good.status_code == 200

    w.token = "sim-at-forged"
    forged = w.form("getStock", {"item_code": "a"})
    assert forged.status_code == 401
    assert 'error="invalid_token"' in forged.headers["WWW-Authenticate"]
    assert b"Please provide valid credentials." in forged.content

    w.token = w.refresh()["access_token"]
    w.clock.advance(3600)  # access tokens live 1 h
    assert w.form("getStock", {"item_code": "a"}).status_code == 401

    missing = w.client.post(
        API + "getStock", content=b"seller_id=x", headers={"Content-Type": FORM}
    )
    assert missing.status_code == 401


def test_token_endpoint_refuses_bad_client_and_dead_refresh_tokens(w: Wire) -> None:
    assert w.refresh(secret="wrong")["error"] == "invalid_client"
    assert _last(w.sim).status == 401
    assert w.refresh(token="sim-rt-unknown")["error"] == "invalid_grant"
    assert _last(w.sim).status == 400
    w.clock.advance(timedelta(weeks=4).total_seconds())  # refresh tokens live 4 weeks
    assert w.refresh()["error"] == "invalid_grant"


def test_token_answers_have_the_recorded_content_type(w: Wire) -> None:
    recorded = load_cassette(CASSETTES / "stock" / "test_get_stock.yml")[0]
    response = w.client.post(
        TOKEN_URL,
        content=urllib.parse.urlencode(
            {"grant_type": "refresh_token", "refresh_token": w.sim.refresh_token}
        ).encode(),
        headers={
            "Authorization": basic_auth(w.sim.client_id, w.sim.client_secret),
            "Content-Type": FORM,
        },
    )
    assert response.headers["Content-Type"] == recorded.content_type
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["expires_in"] == 3600


@pytest.mark.parametrize("rotate", [False, True])
def test_refresh_rotation_is_configurable_both_ways(clock: VirtualClock, rotate: bool) -> None:
    w = Wire(_sim(clock, facts=Unconfirmed(rotate_refresh_token=rotate)), clock)
    first = w.sim.issue_refresh_token()  # (Wire already used, and maybe rotated, the first)
    answer = w.refresh(token=first)
    if rotate:
        assert answer["refresh_token"] != first
        assert w.refresh(token=first)["error"] == "invalid_grant"  # the old one died
        assert "access_token" in w.refresh(token=answer["refresh_token"])
    else:
        assert "refresh_token" not in answer
        assert "access_token" in w.refresh(token=first)


def test_authorization_redirects_with_a_single_use_code(w: Wire) -> None:
    redirect = w.sim.redirect_uris[0]
    query = urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": w.sim.client_id,
            "redirect_uri": redirect,
            "scope": "openid profile",
            "state": "s-123",
        }
    )
    page = w.client.get(f"https://{AUTH_HOST}/yconnect/v2/authorization?{query}")
    assert page.status_code == 302
    location = urllib.parse.urlsplit(page.headers["Location"])
    params = dict(urllib.parse.parse_qsl(location.query))
    assert params["state"] == "s-123"
    assert page.headers["Location"].startswith(redirect + "?")

    def exchange(redirect_uri: str) -> httpx.Response:
        return w.client.post(
            TOKEN_URL,
            content=urllib.parse.urlencode(
                {
                    "grant_type": "authorization_code",
                    "code": params["code"],
                    "redirect_uri": redirect_uri,
                }
            ).encode(),
            headers={
                "Authorization": basic_auth(w.sim.client_id, w.sim.client_secret),
                "Content-Type": FORM,
            },
        )

    tokens = exchange(redirect).json()
    assert {"access_token", "refresh_token", "id_token", "expires_in"} <= set(tokens)
    assert exchange(redirect).json()["error"] == "invalid_grant"  # used once already

    other = w.sim.authorize(redirect)
    params["code"] = other
    assert exchange("https://elsewhere.example.com/").json()["error"] == "invalid_grant"


def test_authorization_refuses_an_unregistered_redirect(w: Wire) -> None:
    query = urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": w.sim.client_id,
            "redirect_uri": "https://evil.example.com/",
            "scope": "openid",
        }
    )
    page = w.client.get(f"https://{AUTH_HOST}/yconnect/v2/authorization?{query}")
    assert page.status_code == 400


# --------------------------------------------------------------------------- signature


def test_order_apis_need_a_valid_fresh_signature(w: Wire) -> None:
    assert w.order_list().status_code == 200
    assert _last(w.sim).headers["x-sws-signature-version"] == "1"

    cases = {
        "missing": {},
        "garbage": {
            "X-sws-signature": base64.b64encode(b"x" * 256).decode(),
            "X-sws-signature-version": "1",
        },
        "stale": w.signature(at=w.clock.now() - timedelta(hours=1)),
        "wrong version": w.signature(version=7),
    }
    for name, headers in cases.items():
        response = w.order_list(headers=headers)  # type: ignore[arg-type]
        assert response.status_code == 401, name
        assert _code(response) == "px-04102", name
        assert b"AccessToken has been expired." in response.content


def test_a_signature_from_another_store_is_refused(w: Wire) -> None:
    key = load_public_key(w.sim.public_key)
    headers = {
        "X-sws-signature": sws_signature(key, "another-store", w.clock.now()),
        "X-sws-signature-version": "1",
    }
    assert _code(w.order_list(headers=headers)) == "px-04102"  # type: ignore[arg-type]


def test_an_expired_public_key_is_refused_and_a_new_one_works(w: Wire) -> None:
    w.sim.expire_public_key(1)
    assert _code(w.order_list()) == "px-04102"
    version, pem = w.sim.issue_public_key()
    w.sim.public_key_version, w.sim.public_key = version, pem
    assert w.order_list().status_code == 200


def test_signature_rules_are_configurable(clock: VirtualClock) -> None:
    lenient = Wire(
        _sim(
            clock,
            facts=Unconfirmed(
                signature_required=False, signature_error_status=403, authorize_status=None
            ),
        ),
        clock,
    )
    ok = lenient.order_list(headers={})  # type: ignore[arg-type]
    assert ok.status_code == 200 and "X-SWS-Authorize-Status" not in ok.headers
    bad = lenient.order_list(headers=lenient.signature(version=9))
    assert (bad.status_code, _code(bad)) == (403, "px-04102")

    stock_signed = Wire(_sim(clock, facts=Unconfirmed(signed_apis=frozenset({"getStock"}))), clock)
    stock_signed.sim.add_listing("a", 1)
    assert _code(stock_signed.form("getStock", {"item_code": "a"})) == "px-04102"
    assert stock_signed.order_list(headers={}).status_code == 200  # type: ignore[arg-type]


def test_stock_apis_ignore_the_signature_by_default(w: Wire) -> None:
    w.sim.add_listing("a", 1)
    assert w.form("getStock", {"item_code": "a"}).status_code == 200
    assert w.order_list().headers["X-SWS-Authorize-Status"] == "authorized"


# --------------------------------------------------------------------------- gateway


def test_calls_over_one_per_second_are_throttled(w: Wire) -> None:
    w.sim.add_listing("a", 1)
    body = urllib.parse.urlencode({"seller_id": w.sim.seller_id, "item_code": "a"}).encode()
    headers = {"Authorization": f"Bearer {w.token}", "Content-Type": FORM}
    first = w.client.post(API + "getStock", content=body, headers=headers)
    second = w.client.post(API + "getStock", content=body, headers=headers)
    other_api = w.client.post(
        API + "setStock",
        content=urllib.parse.urlencode(
            {"seller_id": w.sim.seller_id, "item_code": "a", "quantity": "2"}
        ).encode(),
        headers=headers,
    )
    assert (first.status_code, second.status_code, other_api.status_code) == (200, 429, 200)
    w.clock.advance(1)
    assert w.client.post(API + "getStock", content=body, headers=headers).status_code == 200


def test_the_throttle_answer_is_configurable(clock: VirtualClock) -> None:
    w = Wire(_sim(clock, facts=Unconfirmed(throttle_status=403)), clock)
    w.sim.add_listing("a", 1)
    w.form("getStock", {"item_code": "a"})
    body = urllib.parse.urlencode({"seller_id": w.sim.seller_id, "item_code": "a"}).encode()
    again = w.client.post(
        API + "getStock",
        content=body,
        headers={"Authorization": f"Bearer {w.token}", "Content-Type": FORM},
    )
    assert again.status_code == 403 and b"Your Request was Forbidden" in again.content


def test_the_daily_cap_answers_forbidden(clock: VirtualClock) -> None:
    w = Wire(_sim(clock, daily_limit=2), clock)
    w.sim.add_listing("a", 1)
    assert [w.form("getStock", {"item_code": "a"}).status_code for _ in range(3)] == [200, 200, 403]
    assert b"Your Request was Forbidden" in _last_response_body(w)
    w.clock.advance(24 * 3600)  # a new JST day
    w.token = w.refresh()["access_token"]
    assert w.form("getStock", {"item_code": "a"}).status_code == 200


def _last_response_body(w: Wire) -> bytes:
    return w.form("getStock", {"item_code": "a"}).content


@pytest.mark.parametrize("code", ["px-04306", "px-09999"])
def test_an_unregistered_ip_gets_403_with_the_configured_code(
    clock: VirtualClock, code: str
) -> None:
    w = Wire(_sim(clock, facts=Unconfirmed(ip_error_code=code)), clock)
    w.sim.block_ip()
    response = w.form("getStock", {"item_code": "a"})
    assert (response.status_code, _code(response)) == (403, code)


def test_unknown_api_and_wrong_method_are_refused(w: Wire) -> None:
    response = w.client.post(
        API + "deleteEverything", headers={"Authorization": f"Bearer {w.token}"}
    )
    assert response.status_code == 400
    response = w.client.get(API + "getStock", headers={"Authorization": f"Bearer {w.token}"})
    assert response.status_code == 400


def test_injected_faults_come_first_and_are_marked(w: Wire) -> None:
    w.sim.add_listing("a", 1)
    w.sim.fail_next("503")
    w.sim.fail_next("401")
    assert w.form("getStock", {"item_code": "a"}).status_code == 503
    assert w.form("getStock", {"item_code": "a"}).status_code == 401
    assert w.form("getStock", {"item_code": "a"}).status_code == 200
    assert [r.injected for r in w.sim.requests[-3:]] == [True, True, False]
    assert w.sim.rejections() == []
    w.sim.fail_next("timeout")
    with pytest.raises(httpx.ReadTimeout):
        w.form("getStock", {"item_code": "a"})


# --------------------------------------------------------------------------- stock APIs


def test_get_stock_answers_each_code_with_its_status(w: Wire) -> None:
    w.sim.add_listing("item-1:red", 12)
    response = w.form("getStock", {"item_code": "item-1:red,nothing-here"})
    root = ET.fromstring(response.content)
    assert (root.get("ok"), root.get("ng")) == ("1", "1")
    found, missing = root.findall("Result")
    assert [c.tag for c in found] == [
        "ItemCode",
        "SubCode",
        "Status",
        "Quantity",
        "AllowOverdraft",
        "IsPublished",
        "UpdateTime",
    ]
    assert (found.findtext("SubCode"), found.findtext("Quantity")) == ("red", "12")
    assert [c.tag for c in missing] == ["ItemCode", "SubCode", "Status"]
    assert missing.findtext("Status") == "0"


def test_oversize_batches_are_refused(w: Wire) -> None:
    codes = ",".join(f"c-{i}" for i in range(1001))
    get = w.form("getStock", {"item_code": codes})
    put = w.form("setStock", {"item_code": codes, "quantity": ",".join(["1"] * 1001)})
    assert (get.status_code, _code(get)) == (400, "st-01101")
    assert (put.status_code, _code(put)) == (400, "st-02101")
    ok = w.form(
        "setStock", {"item_code": codes.rsplit(",", 1)[0], "quantity": ",".join(["1"] * 1000)}
    )
    assert ok.status_code == 200


@pytest.mark.parametrize(
    ("fields", "code", "message"),
    [
        ({"item_code": "a_b", "quantity": "1"}, "st-02101", "item_code(a_b) is invalid format."),
        ({"item_code": "a:", "quantity": "1"}, "st-02101", "item_code(a:) is invalid format."),
        ({"item_code": "x" * 100, "quantity": "1"}, "st-02101", "is invalid format."),
        ({"item_code": "", "quantity": "1"}, "st-02101", "item_code() is invalid format."),
        ({"item_code": "a,b", "quantity": "1"}, "st-02101", "quantity(1) is invalid format."),
        (
            {"item_code": "a", "quantity": "1000000000"},
            "st-02101",
            "quantity(1000000000) is invalid format.",
        ),
        ({"item_code": "a", "quantity": "three"}, "st-02101", "quantity(three) is invalid format."),
        (
            {"item_code": "a", "quantity": "INI"},
            "st-02104",
            "quantity(INI) is no longer available.",
        ),
        (
            {"item_code": "a", "quantity": "1", "seller_id": "another-store"},
            "st-02101",
            "seller_id(another-store)",
        ),
    ],
)
def test_bad_set_stock_bodies_are_refused_whole(
    w: Wire, fields: dict[str, str], code: str, message: str
) -> None:
    w.sim.add_listing("a", 5)
    response = w.form("setStock", fields)
    assert (response.status_code, _code(response)) == (400, code)
    assert message in response.text
    assert w.sim.stock("a") == 5


def test_a_raw_plus_is_not_a_relative_quantity(w: Wire) -> None:
    w.sim.add_listing("a", 5)
    raw = f"seller_id={w.sim.seller_id}&item_code=a&quantity=+2".encode()
    w.clock.advance(1)
    response = w.client.post(
        API + "setStock",
        content=raw,
        headers={"Authorization": f"Bearer {w.token}", "Content-Type": FORM},
    )
    assert response.status_code == 400  # "+" decodes to a space: Yahoo wants %2B
    assert (
        w.form("setStock", {"item_code": "a", "quantity": "+2"}).status_code == 200
    )  # sent as %2B
    assert w.sim.stock("a") == 7
    w.form("setStock", {"item_code": "a", "quantity": "-3"})
    assert w.sim.stock("a") == 4


def test_stock_apis_want_a_form_body(w: Wire) -> None:
    response = w.form("getStock", {"item_code": "a"}, **{"Content-Type": "application/json"})
    assert (response.status_code, _code(response)) == (400, "st-01101")


def test_unknown_codes_are_stored_silently_and_attached_later(w: Wire) -> None:
    response = w.form("setStock", {"item_code": "later-item", "quantity": "6"})
    assert response.status_code == 200
    assert w.sim.orphans() == {"later-item": 6}
    assert w.sim.stock("later-item") is None
    status = ET.fromstring(w.form("getStock", {"item_code": "later-item"}).content)
    assert status.findtext("Result/Status") == "0"
    w.sim.add_listing("later-item", 2)
    assert w.sim.orphans() == {}


def test_allow_overdraft_is_configurable_both_ways(clock: VirtualClock) -> None:
    accepting = Wire(_sim(clock), clock)
    accepting.sim.add_listing("a", 0)
    assert (
        accepting.form(
            "setStock", {"item_code": "a", "quantity": "0", "allow_overdraft": "1"}
        ).status_code
        == 200
    )
    assert accepting.sim.place_order([("a", 1)]) is not None  # taken although out of stock

    refusing = Wire(_sim(clock, facts=Unconfirmed(accept_allow_overdraft=False)), clock)
    refusing.sim.add_listing("a", 0)
    response = refusing.form(
        "setStock", {"item_code": "a", "quantity": "0", "allow_overdraft": "1"}
    )
    assert (response.status_code, _code(response)) == (400, "st-02101")


def test_push_lag_keeps_the_old_number_live_for_a_while(clock: VirtualClock) -> None:
    w = Wire(_sim(clock, push_lag=30.0), clock)
    w.sim.add_listing("a", 5)
    w.form("setStock", {"item_code": "a", "quantity": "9"})
    assert (w.sim.stock("a"), w.sim.pending_stock("a")) == (5, 9)
    clock.advance(30)
    assert w.sim.stock("a") == 9


def test_refuse_code_refuses_the_whole_request(w: Wire) -> None:
    w.sim.add_listing("a", 1)
    w.sim.add_listing("b", 1)
    w.sim.refuse_code("b")
    response = w.form("setStock", {"item_code": "a,b", "quantity": "3,3"})
    assert response.status_code == 400
    assert (w.sim.stock("a"), w.sim.stock("b")) == (1, 1)


# --------------------------------------------------------------------------- orders


def test_orders_take_stock_and_refuse_beyond_it(w: Wire) -> None:
    w.sim.add_listing("a", 3)
    order = w.sim.place_order([("a", 2)])
    assert order is not None and order.startswith(w.sim.seller_id + "-")
    assert w.sim.stock("a") == 1
    assert w.sim.place_order([("a", 2)]) is None
    with pytest.raises(KeyError):
        w.sim.place_order([("never-listed", 1)])


@pytest.mark.parametrize("restock", [True, False])
def test_cancel_sets_status_4_and_restocks_as_configured(
    clock: VirtualClock, restock: bool
) -> None:
    w = Wire(_sim(clock, facts=Unconfirmed(restock_on_cancel=restock)), clock)
    w.sim.add_listing("a", 3)
    order = w.sim.place_order([("a", 2)])
    assert order is not None
    w.sim.cancel_order(order)
    assert w.sim.orders[order].status == 4
    assert w.sim.stock("a") == (3 if restock else 1)
    with pytest.raises(ValueError, match="already cancelled"):
        w.sim.cancel_order(order)


def test_order_list_pages_and_filters(w: Wire) -> None:
    w.sim.add_listing("a", 10)
    ids = []
    for _ in range(5):
        w.clock.advance(60)
        order = w.sim.place_order([("a", 1)])
        assert order is not None
        ids.append(order)
    w.sim.cancel_order(ids[1])
    page = ET.fromstring(w.order_list(result="2", start="3").content)
    assert page.tag == "Result" and page.findtext("Status") == "OK"
    assert page.findtext("Search/TotalCount") == "5"
    assert [i.findtext("OrderId") for i in page.findall("Search/OrderInfo")] == ids[2:4]
    assert [c.tag for c in page.find("Search/OrderInfo")] == ["OrderId", "OrderTime", "OrderStatus"]  # type: ignore[union-attr]
    cancelled = ET.fromstring(w.order_list("<OrderStatus>4</OrderStatus>").content)
    assert [i.findtext("OrderId") for i in cancelled.findall("Search/OrderInfo")] == [ids[1]]
    jst_from = (START + timedelta(hours=9, minutes=4)).strftime(
        "%Y%m%d%H%M%S"
    )  # conditions are JST
    window = ET.fromstring(w.order_list(f"<OrderTimeFrom>{jst_from}</OrderTimeFrom>").content)
    assert window.findtext("Search/TotalCount") == "2"


def test_order_page_cap_is_configurable(clock: VirtualClock) -> None:
    w = Wire(_sim(clock, facts=Unconfirmed(max_order_page=2)), clock)
    w.sim.add_listing("a", 10)
    for _ in range(3):
        w.sim.place_order([("a", 1)])
    page = ET.fromstring(w.order_list(result="1000").content)
    assert page.findtext("Search/TotalCount") == "3"
    assert len(page.findall("Search/OrderInfo")) == 2


@pytest.mark.parametrize(
    ("kw", "fragment"),
    [
        ({"field": ""}, "Field is required."),
        ({"result": "0"}, "Result(0) is invalid."),
        ({"start": "x"}, "Start(x) is invalid."),
        ({"seller": "another-store"}, "SellerId(another-store) is invalid."),
        ({"extra": "<Sort>price</Sort>"}, "Sort(price) is invalid."),
        (
            {"condition": "<OrderTimeFrom>2026-11-23</OrderTimeFrom>"},
            "OrderTimeFrom(2026-11-23) is invalid format.",
        ),
        ({"condition": "<OrderStatus>9</OrderStatus>"}, "OrderStatus(9) is invalid."),
    ],
)
def test_bad_order_list_requests_are_refused(w: Wire, kw: dict[str, str], fragment: str) -> None:
    response = w.order_list(**kw)
    assert (response.status_code, _code(response)) == (400, ORDER_FORMAT_CODE)
    assert fragment in response.text


def test_order_apis_want_an_xml_body(w: Wire) -> None:
    not_xml = w.xml("orderList", "OrderId=1")
    assert (not_xml.status_code, _code(not_xml)) == (400, ORDER_FORMAT_CODE)
    w.clock.advance(1)
    as_form = w.client.post(
        API + "orderList",
        content=b"<Req/>",
        headers={"Authorization": f"Bearer {w.token}", "Content-Type": FORM, **w.signature()},
    )
    assert as_form.status_code == 400


def test_order_info_lists_every_line_and_names_unknown_orders(w: Wire) -> None:
    w.sim.add_listing("a", 5)
    w.sim.add_listing("b:red", 5)
    order = w.sim.place_order([("a", 1), ("b:red", 2)])
    assert order is not None
    root = ET.fromstring(w.order_info(order).content)
    assert root.tag == "ResultSet" and root.findtext("Result/Status") == "OK"
    items = root.findall("Result/OrderInfo/Item")
    assert [
        (i.findtext("ItemId"), i.findtext("SubCode"), i.findtext("Quantity")) for i in items
    ] == [
        ("a", "", "1"),
        ("b", "red", "2"),
    ]
    missing = w.order_info("zaiko-sim-1")
    assert (missing.status_code, _code(missing)) == (400, "od91801")
    assert "Not Exists : zaiko-sim-1" in missing.text


# --------------------------------------------------------------------------- recorded shapes


def _shape(body: bytes) -> tuple[str, list[str], list[list[str]]]:
    root = ET.fromstring(body)
    return root.tag, list(root.attrib), [[c.tag for c in child] for child in root]


def test_get_stock_body_has_the_recorded_shape(w: Wire) -> None:
    recorded = get_stock_interaction()
    w.sim.add_listing("test1234", 12)
    response = w.form("getStock", {"item_code": "test1234"})
    assert response.headers["Content-Type"] == recorded.content_type == "text/xml"
    assert _shape(response.content) == _shape(recorded.body)
    assert b"<SubCode></SubCode>" in response.content and b"<SubCode></SubCode>" in recorded.body
    assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<ResultSet ')
    # Same bytes apart from the update time.
    strip = re.compile(rb"<UpdateTime>[^<]*</UpdateTime>|<IsPublished>\d</IsPublished>")
    assert strip.sub(b"", response.content) == strip.sub(b"", recorded.body)


def test_set_stock_body_has_the_static_shape(w: Wire) -> None:
    w.sim.add_listing("item-01:sub-01", 1)
    response = w.form("setStock", {"item_code": "item-01:sub-01", "quantity": "11"})
    static = (STATIC / "stock" / "set.xml").read_bytes()
    assert _shape(response.content) == _shape(static)


def test_error_body_has_the_recorded_shape(w: Wire) -> None:
    recorded = missing_item_interaction()
    response = w.form("setStock", {"item_code": "a_b", "quantity": "1"})
    assert response.headers["Content-Type"] == recorded.content_type == "application/xml"
    assert _shape(response.content) == _shape(recorded.body)
    assert [c.tag for c in ET.fromstring(response.content)] == ["Message", "Detail", "Code"]
    assert b"<Message><![CDATA[" in response.content and b"<Message><![CDATA[" in recorded.body


def test_invalid_token_body_has_the_recorded_shape(w: Wire) -> None:
    w.token = "sim-at-forged"
    response = w.form("getStock", {"item_code": "a"})
    assert _shape(response.content) == _shape(timeout_xml())
    assert ET.fromstring(response.content).findtext("Message", "").strip() == (
        ET.fromstring(timeout_xml()).findtext("Message", "").strip()
    )
