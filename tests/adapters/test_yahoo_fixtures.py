"""Recorded Yahoo responses (tests/fixtures/yahoo/) replayed through the adapter's parsers.

The cassettes are VCR YAML; PyYAML is not a dependency, so :func:`load_cassette` reads
the few fields these files use (method, uri, request body, status, Content-Type, body).
"""

from __future__ import annotations

import base64
import random
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from adapters.base import MallRejected
from adapters.yahoo import YahooAdapter
from adapters.yahoo.wire import (
    TokenRejected,
    classify,
    error_body,
    parse_get_stock,
    parse_set_stock,
    parse_xml,
)
from bot.sandbox.clock import VirtualClock

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "yahoo"
CASSETTES = FIXTURES / "yahoo_store_api" / "test" / "cassettes"
STATIC = FIXTURES / "yahoo_shopping_api" / "spec" / "fixtures"
RECORDED_AUTH = "http://127.0.0.1:9001"
RECORDED_API = "http://127.0.0.1:9002"
"""Where the cassettes say they were sent: Yahoo's token and API origins, written as
loopback in this copy (tests/fixtures/yahoo/README.md)."""
NOW = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Interaction:
    method: str
    uri: str
    request_body: str
    status: int
    content_type: str
    body: bytes

    def response(self) -> httpx.Response:
        return httpx.Response(
            self.status, content=self.body, headers={"Content-Type": self.content_type}
        )


def _body(chunk: str) -> bytes:
    """The ``body: string:`` of a response chunk: quoted, literal block or !binary."""
    match = re.search(r"\n    body:\n      encoding: [^\n]*\n      string: ([^\n]*)\n", chunk)
    assert match is not None
    head = match.group(1)
    rest = chunk[match.end() :].splitlines()
    block = []
    for line in rest:
        if not line.startswith("        "):
            break
        block.append(line[8:])
    if head.startswith("!binary"):
        return base64.b64decode("".join(block))
    if head == "|":
        return ("\n".join(block) + "\n").encode()
    assert head.startswith("'") and head.endswith("'")
    return head[1:-1].replace("''", "'").encode()


def load_cassette(path: Path) -> list[Interaction]:
    """The interactions of a VCR cassette, in order."""
    text = path.read_text(encoding="utf-8")
    out = []
    for chunk in text.split("\n- request:\n")[1:]:
        request, response = chunk.split("\n  response:\n", 1)
        method = re.search(r"^    method: (\w+)", request, re.M)
        uri = re.search(r"^    uri: (\S+)", request, re.M)
        req_body = re.search(r"^      string: (.*)$", request, re.M)
        status = re.search(r"status:\n\s+code: (\d+)", response)
        content_type = re.search(r"Content-Type:\n\s+- (\S+)", response)
        assert method and uri and req_body and status and content_type
        out.append(
            Interaction(
                method=method.group(1).upper(),
                uri=uri.group(1),
                request_body=req_body.group(1).strip("'"),
                status=int(status.group(1)),
                content_type=content_type.group(1),
                body=_body("\n" + response),
            )
        )
    return out


def timeout_xml() -> bytes:
    """kamiya54's timeout.xml, unescaped as fixtures/README.md says."""
    raw = (STATIC / "timeout.xml").read_text(encoding="utf-8")
    return raw.replace('\\"', '"').replace("\\n", "\n").encode()


def get_stock_interaction() -> Interaction:
    return load_cassette(CASSETTES / "stock" / "test_get_stock.yml")[1]


def missing_item_interaction() -> Interaction:
    return load_cassette(CASSETTES / "item" / "test_if_dosent_exist_item_code.yml")[1]


# --------------------------------------------------------------------------- the reader


def test_cassettes_read_as_recorded() -> None:
    token, get_stock = load_cassette(CASSETTES / "stock" / "test_get_stock.yml")
    assert (token.method, token.status) == ("POST", 200)
    assert token.uri == f"{RECORDED_AUTH}/yconnect/v2/token"
    assert token.content_type == "application/json;charset=UTF-8"
    assert token.body == b'{"access_token":"<ACCESS_TOKEN>"}'
    assert get_stock.uri.endswith("/ShoppingWebService/V1/getStock")
    assert get_stock.request_body == "seller_id=<YOUR_SELLER_ID>&item_code=test1234"
    assert (get_stock.status, get_stock.content_type) == (200, "text/xml")
    missing = missing_item_interaction()
    assert (missing.status, missing.content_type) == (400, "application/xml")
    assert b"<Code>it-05002</Code>" in missing.body


# --------------------------------------------------------------------------- parsers


def test_recorded_get_stock_parses_to_quantity_12() -> None:
    interaction = get_stock_interaction()
    response = interaction.response()
    assert classify(response, now=NOW, secrets=()) is None
    root = parse_xml(response.content)
    assert root is not None
    answer = parse_get_stock(root)
    assert (answer.ok, answer.ng) == (1, 0)
    [row] = answer.rows
    assert (row.code, row.found, row.quantity) == ("test1234", True, 12)


def test_static_get_stock_keeps_its_hand_cut_counts() -> None:
    root = parse_xml((STATIC / "stock" / "get.xml").read_bytes())
    assert root is not None
    answer = parse_get_stock(root)
    # Cut by hand upstream from two Results to one: ok="2" next to one row.
    assert (answer.ok, answer.ng) == (2, 0)
    assert [(r.code, r.found, r.quantity) for r in answer.rows] == [("kc-d50-w", True, 3)]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("set.xml", {"item_01:sub_01": 11}),
        ("set_array.xml", {"item_01:sub_01": 11, "item_02:sub_01": 1}),
    ],
)
def test_static_set_stock_bodies_parse(name: str, expected: dict[str, int]) -> None:
    body = (STATIC / "stock" / name).read_bytes()
    response = httpx.Response(200, content=body, headers={"Content-Type": "text/xml"})
    assert classify(response, now=NOW, secrets=()) is None
    root = parse_xml(body)
    assert root is not None
    assert parse_set_stock(root) == expected


def test_recorded_400_is_mall_rejected_with_its_code_and_message() -> None:
    response = missing_item_interaction().response()
    body = error_body(response)
    assert body.code == "it-05002"
    assert body.message == "指定された商品コードは存在しません。"
    error = classify(response, now=NOW, secrets=())
    assert isinstance(error, MallRejected)
    assert error.code == "it-05002"
    assert "HTTP 400 it-05002 指定された商品コードは存在しません。" in str(error)


def test_recorded_401_is_an_invalid_token_even_without_the_header() -> None:
    response = httpx.Response(401, content=timeout_xml())
    body = error_body(response)
    assert body.bearer_error == "invalid_token"
    assert body.message.startswith("Please provide valid credentials.")
    assert isinstance(classify(response, now=NOW, secrets=()), TokenRejected)


# --------------------------------------------------------------------------- end to end


def _replaying(interactions: list[httpx.Response], seen: list[httpx.Request]) -> httpx.Client:
    queue = list(interactions)

    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        return queue.pop(0)

    return httpx.Client(base_url=RECORDED_API, transport=httpx.MockTransport(handler))


def _adapter(client: httpx.Client) -> YahooAdapter:
    return YahooAdapter(
        client,
        seller_id="zaiko-shop",
        auth_base_url=RECORDED_AUTH,
        client_id="client-id-0123",
        client_secret="client-secret-0123",
        refresh_token="refresh-token-0123",
        clock=VirtualClock(NOW),
        stop=threading.Event(),
        rng=random.Random(0),
    )


def test_the_recorded_session_replays_through_the_adapter() -> None:
    token, get_stock = load_cassette(CASSETTES / "stock" / "test_get_stock.yml")
    seen: list[httpx.Request] = []
    adapter = _adapter(_replaying([token.response(), get_stock.response()], seen))

    assert adapter.read_stock(["test1234"]) == {"test1234": 12}

    token_request, stock_request = seen
    assert str(token_request.url) == token.uri
    assert parse_qs(token_request.content.decode()) == {
        "grant_type": ["refresh_token"],
        "refresh_token": ["refresh-token-0123"],
    }
    assert (stock_request.method, str(stock_request.url)) == (get_stock.method, get_stock.uri)
    recorded = parse_qs(get_stock.request_body)
    sent = parse_qs(stock_request.content.decode())
    assert set(sent) == set(recorded)
    assert sent["item_code"] == recorded["item_code"]
    assert urlsplit(str(stock_request.url)).path == "/ShoppingWebService/V1/getStock"


def test_a_recorded_invalid_token_costs_one_refresh_then_the_call_succeeds() -> None:
    token, get_stock = load_cassette(CASSETTES / "stock" / "test_get_stock.yml")
    expired = httpx.Response(401, content=timeout_xml())
    seen: list[httpx.Request] = []
    adapter = _adapter(
        _replaying([token.response(), expired, token.response(), get_stock.response()], seen)
    )
    assert adapter.read_stock(["test1234"]) == {"test1234": 12}
    assert [r.url.path for r in seen] == [
        "/yconnect/v2/token",
        "/ShoppingWebService/V1/getStock",
        "/yconnect/v2/token",
        "/ShoppingWebService/V1/getStock",
    ]
