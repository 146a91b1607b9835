"""Yahoo!ショッピング simulator: YConnect v2 login and tokens, the stock and order store APIs.

It is an httpx transport (``httpx.MockTransport(sim.handle)``), so the Yahoo adapter
under test runs exactly its production code against
``httpx.Client(transport=sim.transport, base_url="https://circus.shopping.yahooapis.jp")``.
Requests to ``auth.login.yahoo.co.jp`` reach the YConnect endpoints, every other host
the store APIs. Every wire fact comes from ``docs/api/yahoo.md`` (§ numbers below);
where that file says UNCONFIRMED the simulator takes a constructor argument, so a
test can run the adapter against either answer.

What a store API request meets, in order:

1. latency (``clock.sleep``), then any injected fault (:meth:`YahooSimulator.fail_next`);
2. the gateway: registered source IP (403), bearer token (401 ``invalid_token``),
   the daily cap per application (403), routing, the 1 req/s limit per API;
3. on order APIs, the public-key signature (``px-04102``);
4. the API: validation that refuses the whole request (400 ``<Error>``), stock per
   code with push lag, silent writes to unknown codes, orders that decrement stock.

Response bodies follow the recorded ones in ``tests/fixtures/yahoo/`` byte for byte
where they exist: root element, attribute order, child order, ``<SubCode></SubCode>``
when empty, ``text/xml`` for answers and ``application/xml`` for errors.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import random
import re
import threading
import urllib.parse
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any, ClassVar, Literal
from xml.sax.saxutils import escape

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from bot.infra.clock import JST, Clock
from bot.sandbox.simulators.buyer import sentinel_buyer

__all__ = [
    "API_HOST",
    "AUTH_HOST",
    "FailKind",
    "SimOrder",
    "SimOrderLine",
    "SimRequest",
    "Unconfirmed",
    "YahooSimulator",
]

# Sources, as keyed in docs/api/yahoo.md:
#   [Y-setStock]  https://developer.yahoo.co.jp/webapi/shopping/setStock.html
#   [Y-getStock]  https://developer.yahoo.co.jp/webapi/shopping/getStock.html
#   [Y-stock]     https://developer.yahoo.co.jp/webapi/shopping/stock
#   [Y-orderList] https://developer.yahoo.co.jp/webapi/shopping/orderList.html
#   [Y-help]      https://developer.yahoo.co.jp/webapi/shopping/help
#   [Y-faq]       https://developer.yahoo.co.jp/webapi/shopping/faq.html
#   [YC-token]    https://developer.yahoo.co.jp/yconnect/v2/authorization_code/token.html
#   [YC-faq]      https://developer.yahoo.co.jp/yconnect/faq.html
#   [kamiya54] [t4traw] recorded/static bodies, copied in tests/fixtures/yahoo/

API_HOST = "circus.shopping.yahooapis.jp"  # §0 production; test.circus… is served alike
AUTH_HOST = "auth.login.yahoo.co.jp"  # §1
API_PREFIX = "/ShoppingWebService/V1/"  # §0

FailKind = Literal["429", "503", "500", "timeout", "401"]
Api = Literal["getStock", "setStock", "orderList", "orderInfo"]
_APIS: tuple[Api, ...] = ("getStock", "setStock", "orderList", "orderInfo")

# [Y-getStock][Y-setStock] item_code / sub_code: alphanumerics and "-", ≤ 99 chars each;
# seller_id: lower-case alphanumerics, "-", "_", ≤ 128 chars.
_CODE_PART_RE = re.compile(r"[A-Za-z0-9-]{1,99}")
_SELLER_RE = re.compile(r"[a-z0-9_-]{1,128}")
# [Y-setStock] quantity: -999999999 … 999999999, "+" adds, "-" subtracts.
_QUANTITY_RE = re.compile(r"([+-]?)(\d{1,9})")
# [Y-orderList] OrderTimeFrom/To: YYYYMMDDhhmmss
_ORDER_TIME_RE = re.compile(r"\d{14}")
_XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'

# Error codes. Documented: st-02101 item_code format [kamiya54 invalid_params.xml],
# st-02104 INI abolished [Y-setStock], px-04102 order API session [§1], od91801 unknown
# order [§3]. The others are UNCONFIRMED placeholders in the documented <Error> shape.
FORMAT_CODES: dict[str, str] = {"getStock": "st-01101", "setStock": "st-02101"}
INI_CODE = "st-02104"
SESSION_CODE = "px-04102"
SESSION_MESSAGE = "AccessToken has been expired. This API session is shorter than another API."
ORDER_NOT_FOUND_CODE = "od91801"
ORDER_FORMAT_CODE = "od90001"  # UNCONFIRMED: no public source names it

BUYER_FIELDS = frozenset(
    {
        "BillLastName",
        "BillFirstName",
        "BillMailAddress",
        "BillPhoneNumber",
        "BillZipCode",
        "BillPrefecture",
        "BillCity",
        "BillAddress1",
        "ShipLastName",
        "ShipFirstName",
        "ShipPhoneNumber",
        "ShipZipCode",
        "ShipPrefecture",
        "ShipCity",
        "ShipAddress1",
    }
)
"""orderInfo's buyer (Bill*) and ship-to (Ship*) fields: served when asked for, as
sentinels (:mod:`bot.sandbox.simulators.buyer`) no adapter may pass on."""
ORDER_FIELDS = (
    frozenset(
        {
            "OrderId",
            "OrderTime",
            "OrderStatus",
            "IsActive",
            "PayStatus",
            "SettleStatus",
            "ShipStatus",
        }
    )
    | BUYER_FIELDS
)
ITEM_FIELDS = frozenset({"LineId", "ItemId", "SubCode", "Title", "Quantity", "UnitPrice"})


@dataclass
class SimRequest:
    """One request as the simulator saw it (the request log)."""

    at: datetime
    method: str
    host: str
    path: str
    api: str
    """``getStock`` … ``orderInfo``, ``token``, ``authorization``; '' for an unknown path."""
    form: dict[str, str]
    """Form fields (stock APIs, token endpoint); empty for XML bodies."""
    body: str
    headers: dict[str, str]
    status: int = 0
    """HTTP status answered; 0 when an injected timeout raised instead."""
    code: str = ""
    """The error code answered (Yahoo's ``xx-nnnnn`` or OAuth's ``invalid_grant``)."""
    injected: bool = False
    """Answered by :meth:`YahooSimulator.fail_next`, not by the API."""


@dataclass
class SimOrderLine:
    """One ``<Item>`` of an order."""

    line_id: int
    item_code: str
    sub_code: str
    quantity: int
    title: str = ""
    unit_price: int = 1000

    @property
    def code(self) -> str:
        """``item_code[:sub_code]``."""
        return f"{self.item_code}:{self.sub_code}" if self.sub_code else self.item_code


@dataclass
class SimOrder:
    """One order; a cancel keeps it with OrderStatus 4 (§3)."""

    order_id: str
    ordered_at: datetime
    lines: list[SimOrderLine]
    status: int = 2  # 処理中
    settle_status: int = 3
    pay_status: int = 1
    ship_status: int = 1
    is_active: bool = True


@dataclass
class _Write:
    live_at: datetime
    relative: bool
    quantity: int


@dataclass
class _Stock:
    quantity: int | None
    updated: datetime
    allow_overdraft: bool = False
    published: bool = True
    pending: list[_Write] = field(default_factory=list)


@dataclass
class _Grant:
    client_id: str
    expires: datetime
    redirect_uri: str = ""


@dataclass(frozen=True)
class Unconfirmed:
    """The simulator's answer to each point ``docs/api/yahoo.md`` marks UNCONFIRMED (§7).

    Every field can be set either way, so a test runs the adapter against both answers.
    """

    rotate_refresh_token: bool = False
    """A refresh grant returns a new refresh token (and the old one dies). §1"""
    signed_apis: frozenset[str] = frozenset({"orderList", "orderInfo"})
    """APIs that check X-sws-signature (the order APIs; stock APIs not known to). §1"""
    signature_required: bool = True
    """A signed API without the headers is refused (else only wrong ones are). §1"""
    signature_max_age: float = 600.0
    """Seconds a signature's unix time may lag the server's clock. §1"""
    signature_error_status: int = 401
    """HTTP status of px-04102 (one client reports 401). §1"""
    authorize_status: str | None = "authorized"
    """X-SWS-Authorize-Status on signed answers (a test double's value; None: absent). §1"""
    ip_error_code: str = "px-04306"
    """Code of the 403 for an unregistered source IP (one client's comment). §0"""
    accept_allow_overdraft: bool = True
    """setStock takes ``allow_overdraft`` (else 400). §2"""
    max_order_page: int | None = None
    """orderList's largest page (None: no cap, as the doc says; larger pages are cut). §3"""
    throttle_status: int = 429
    """Answer over the rate limit: 429, or 403 "Your Request was Forbidden". §4"""
    restock_on_cancel: bool = True
    """Yahoo puts a cancelled order's units back on the listing. §3"""


class _Answer(Exception):
    """A finished response raised from deep inside validation."""

    def __init__(self, response: httpx.Response, code: str = "") -> None:
        super().__init__(code)
        self.response = response
        self.code = code


@cache
def sandbox_private_key(index: int = 0) -> rsa.RSAPrivateKey:
    """A 2048-bit RSA key pair for the sandbox (one per index, made once per process)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    """The PEM text a store copies from 暗号鍵管理 for ``key``."""
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


# --------------------------------------------------------------------------- bodies


def _xml(status: int, body: str, content_type: str = "text/xml") -> httpx.Response:
    # [t4traw] getStock 200 is text/xml; the 400 <Error> is application/xml.
    return httpx.Response(status, content=body.encode(), headers={"Content-Type": content_type})


def error_response(status: int, code: str, message: str) -> httpx.Response:
    """``<Error><Message><![CDATA[…]]></Message><Detail></Detail><Code/></Error>`` (§5)."""
    body = (
        '<?xml version="1.0" encoding="UTF-8" ?>\n<Error>\n'
        f"  <Message><![CDATA[{message}]]></Message>\n"
        "  <Detail></Detail>\n"
        f"  <Code>{escape(code)}</Code>\n</Error>\n"
    )
    return _xml(status, body, "application/xml")


def invalid_token_response(description: str = "expired token") -> httpx.Response:
    """401 with ``WWW-Authenticate`` and the body of [kamiya54] ``timeout.xml`` (§1)."""
    challenge = (
        f'Bearer realm="yahooapis.jp", error="invalid_token", error_description="{description}"'
    )
    body = (
        '<?xml version="1.0" encoding="utf-8" ?>\n<Error>\n<Message>\n'
        f"Please provide valid credentials. {escape(challenge)}\n</Message>\n</Error>"
    )
    response = _xml(401, body, "application/xml")
    response.headers["WWW-Authenticate"] = challenge
    return response


def _forbidden() -> httpx.Response:
    # [Y-faq] "Your Request was Forbidden": daily cap exceeded or unknown application
    return _xml(
        403,
        '<?xml version="1.0" encoding="UTF-8" ?>\n<Error>\n'
        "  <Message>Your Request was Forbidden</Message>\n</Error>\n",
        "application/xml",
    )


def _oauth_error(status: int, error: str, description: str) -> httpx.Response:
    # [YC-token] errors are JSON {"error", "error_description"}
    return httpx.Response(
        status,
        content=json.dumps({"error": error, "error_description": description}).encode(),
        headers={"Content-Type": "application/json;charset=UTF-8"},
    )


def _tag(name: str, value: object) -> str:
    return f"<{name}>{escape(str(value))}</{name}>"


def _iso(when: datetime) -> str:
    # [t4traw] UpdateTime 2017-05-11T19:37:45+09:00
    return when.astimezone(JST).replace(microsecond=0).isoformat()


def _split(code: str) -> tuple[str, str]:
    item, _sep, sub = code.partition(":")
    return item, sub


# --------------------------------------------------------------------------- simulator


class YahooSimulator:
    """In-memory Yahoo!ショッピング store speaking the real wire format, as an httpx transport.

    Shop-world controls: :meth:`add_listing`, :meth:`set_stock` (a hand edit in
    ストアクリエイターPro), :meth:`place_order`, :meth:`cancel_order`; credentials:
    :meth:`expire_credentials`, :meth:`expire_access_tokens`, :meth:`issue_refresh_token`,
    :meth:`authorize`, :meth:`issue_public_key`, :meth:`expire_public_key`,
    :meth:`block_ip`; faults: :meth:`fail_next`, :meth:`refuse_code`. State is readable
    through :meth:`stock`, :meth:`pending_stock`, :meth:`orphans`, :attr:`orders` and
    the request log :attr:`requests` (:meth:`rejections` lists what the API refused).
    """

    key: ClassVar[str] = "yahoo"
    # [Y-setStock] item_code takes up to 1,000 codes per call.
    max_write_batch: ClassVar[int] = 1000
    MAX_CODES: ClassVar[int] = 1000  # [Y-getStock][Y-setStock]
    QUANTITY_LIMIT: ClassVar[int] = 999_999_999  # [Y-setStock]
    ACCESS_LIFETIME: ClassVar[timedelta] = timedelta(seconds=3600)  # [YC-faq]
    REFRESH_LIFETIME: ClassVar[timedelta] = timedelta(weeks=4)  # [YC-faq]
    CODE_LIFETIME: ClassVar[timedelta] = timedelta(minutes=10)  # UNCONFIRMED
    PUBLIC_KEY_LIFETIME: ClassVar[timedelta] = timedelta(days=365)  # §1 (next-engine manual)
    DAILY_LIMIT: ClassVar[int] = 50_000  # [Y-help] per application ID

    def __init__(
        self,
        *,
        clock: Clock,
        seller_id: str = "zaiko-sim",
        client_id: str = "dj00aiZpPXNpbS1jbGllbnQtaWQ",
        client_secret: str = "sim-client-secret-0123456789",
        redirect_uris: Sequence[str] = ("https://zaiko.example.com/yahoo/callback",),
        latency: float = 0.0,
        push_lag: float = 0.0,
        enforce_rate_limits: bool = True,
        rate_per_s: float = 1.0,
        daily_limit: int = DAILY_LIMIT,
        facts: Unconfirmed = Unconfirmed(),
        seed: int = 0,
    ) -> None:
        """Build an empty store with one application, one public key and one refresh token.

        ``facts`` chooses the answer to each UNCONFIRMED point (:class:`Unconfirmed`).
        ``rate_per_s`` is the 1 query/s guide per API of [Y-stock] (an older help page
        says 10); ``daily_limit`` the 50,000 calls a day per application of [Y-help].
        """
        self._clock = clock
        self.seller_id = seller_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uris = tuple(redirect_uris)
        self.latency = latency
        self.push_lag = push_lag
        self.enforce_rate_limits = enforce_rate_limits
        self.rate_per_s = rate_per_s
        self.daily_limit = daily_limit
        self.facts = facts
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self._transport = httpx.MockTransport(self.handle)
        self._access: dict[str, _Grant] = {}
        self._refresh: dict[str, _Grant] = {}
        self._codes: dict[str, _Grant] = {}
        self._keys: dict[int, tuple[rsa.RSAPrivateKey, datetime]] = {}
        self._stock: dict[str, _Stock] = {}
        self._listed: set[str] = set()
        self._refused: set[str] = set()
        self._faults: deque[FailKind] = deque()
        self._hits: dict[str, deque[float]] = {}
        self._daily: dict[tuple[str, str], int] = {}
        self._ip_blocked = False
        self._order_seq = itertools.count(10_000_001)
        self._line_seq = itertools.count(1)
        self.requests: list[SimRequest] = []
        """Every request handled, in order."""
        self.orders: dict[str, SimOrder] = {}
        """Every order placed, by order id."""
        self.public_key_version, self.public_key = self.issue_public_key()
        self.refresh_token = self.issue_refresh_token()
        """The refresh token :meth:`config` hands out (as if the owner had authorized)."""

    # ------------------------------------------------------------------ SimulatedChannel

    def config(self) -> dict[str, Any]:
        """The ``[malls.yahoo]`` table (credentials included) this simulator accepts."""
        return {
            "enabled": True,
            "seller_id": self.seller_id,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
            "public_key": self.public_key,
            "public_key_version": self.public_key_version,
            "public_key_expires_on": self._keys[self.public_key_version][1].date().isoformat(),
            "redirect_uri": self.redirect_uris[0],
        }

    @property
    def transport(self) -> httpx.BaseTransport:
        """The transport to mount under ``httpx.Client``."""
        return self._transport

    def sample_code(self, n: int) -> str:
        """A valid code for listing ``n``: odd numbers carry a 個別商品コード."""
        return f"item-{n:04d}:sub-{n}" if n % 2 else f"item-{n:04d}"

    def add_listing(self, code: str, qty: int, *, allow_overdraft: bool = False) -> str:
        """Register item ``code`` with ``qty`` in stock (adopting any stock written before)."""
        self._check_code(code)
        with self._lock:
            self._tick()
            record = self._stock.get(code)
            if record is None:
                record = _Stock(quantity=qty, updated=self._clock.now())
                self._stock[code] = record
            record.quantity, record.pending = qty, []
            record.allow_overdraft = allow_overdraft
            self._listed.add(code)
            return code

    def set_stock(self, code: str, quantity: int) -> None:
        """A hand edit in ストアクリエイターPro: live at once (writes in flight still land)."""
        with self._lock:
            self._tick()
            record = self._listed_record(code)
            record.quantity, record.updated = quantity, self._clock.now()

    def stock(self, code: str) -> int | None:
        """The live quantity of a registered item; None for an unknown code."""
        with self._lock:
            self._tick()
            if code not in self._listed:
                return None
            return self._stock[code].quantity

    def pending_stock(self, code: str) -> int | None:
        """The quantity once every write in flight is live; None for an unknown code."""
        with self._lock:
            self._tick()
            return self._projected(code) if code in self._listed else None

    def orphans(self) -> dict[str, int | None]:
        """Stock written for codes no item has (accepted silently, [Y-setStock])."""
        with self._lock:
            self._tick()
            return {c: self._projected(c) for c in sorted(self._stock) if c not in self._listed}

    def place_order(
        self, lines: Sequence[tuple[str, int]], *, at: datetime | None = None
    ) -> str | None:
        """A customer order; its id, or None when the store page refuses it (out of stock).

        Live stock must cover every line (or the item takes orders when out of stock),
        and the order decrements it. An unregistered code raises KeyError.
        """
        if not lines:
            raise ValueError("an order needs at least one line")
        with self._lock:
            self._tick()
            wanted: dict[str, int] = {}
            for code, units in lines:
                if units < 1:
                    raise ValueError(f"units must be ≥ 1, got {units}")
                self._listed_record(code)
                wanted[code] = wanted.get(code, 0) + units
            for code, units in wanted.items():
                record = self._stock[code]
                if not record.allow_overdraft and (record.quantity or 0) < units:
                    return None
            now = self._clock.now()
            for code, units in wanted.items():
                record = self._stock[code]
                record.quantity, record.updated = (record.quantity or 0) - units, now
            order_id = f"{self.seller_id}-{next(self._order_seq)}"
            order_lines = [
                SimOrderLine(next(self._line_seq), *_split(code), units, title=f"商品 {code}")
                for code, units in lines
            ]
            self.orders[order_id] = SimOrder(
                order_id, (at or now).replace(microsecond=0), order_lines
            )
            return order_id

    def cancel_order(self, order_number: str) -> None:
        """The store cancels: OrderStatus 4, SettleStatus 6; stock back if it restocks (§3)."""
        with self._lock:
            self._tick()
            order = self.orders[order_number]
            if order.status == 4:
                raise ValueError(f"order {order_number} is already cancelled")
            order.status, order.settle_status = 4, 6
            if self.facts.restock_on_cancel:
                for line in order.lines:
                    record = self._stock.get(line.code)
                    if record is not None:
                        record.quantity = (record.quantity or 0) + line.quantity
                        record.updated = self._clock.now()

    def expire_credentials(self) -> None:
        """Every token stops working (4 weeks passed, or the owner withdrew consent [Y-faq])."""
        with self._lock:
            self._access.clear()
            self._refresh.clear()

    def fail_next(self, kind: FailKind, times: int = 1) -> None:
        """Answer the next ``times`` store API requests with a fault instead of serving them.

        429 and 500/503 in the <Error> shape, 401 as ``invalid_token``; ``timeout`` raises
        ``httpx.ReadTimeout`` and the request has no effect. The token endpoint is not hit.
        """
        with self._lock:
            self._faults.extend([kind] * times)

    def write_batch_sizes(self) -> list[int]:
        """Codes per setStock request received, in order."""
        return [
            len(r.form["item_code"].split(","))
            for r in self.requests
            if r.api == "setStock" and r.form.get("item_code")
        ]

    def refused_quantity(self) -> int:
        """Over setStock's ±999,999,999: refused for that code alone ([Y-setStock])."""
        return self.QUANTITY_LIMIT + 1

    # ------------------------------------------------------------------ more controls

    def issue_refresh_token(self) -> str:
        """A new refresh token, as after the owner authorizes again (4 weeks)."""
        with self._lock:
            token = self._token("rt")
            expires = self._clock.now() + self.REFRESH_LIFETIME
            self._refresh[token] = _Grant(self.client_id, expires)
            return token

    def refresh_tokens_issued(self) -> set[str]:
        """Every refresh token the token endpoint still honours (tests look tokens up)."""
        with self._lock:
            return set(self._refresh)

    def authorize(self, redirect_uri: str) -> str:
        """The owner logs in and consents: an authorization code for ``redirect_uri``."""
        with self._lock:
            code = self._token("code")
            expires = self._clock.now() + self.CODE_LIFETIME
            self._codes[code] = _Grant(self.client_id, expires, redirect_uri)
            return code

    def expire_access_tokens(self) -> None:
        """Access tokens stop working (refresh tokens still do)."""
        with self._lock:
            self._access.clear()

    def issue_public_key(self) -> tuple[int, str]:
        """暗号鍵管理 → 公開鍵発行: (version, PEM) of a new key valid for a year."""
        with self._lock:
            version = max(self._keys, default=0) + 1
            key = sandbox_private_key(version - 1)
            self._keys[version] = (key, self._clock.now() + self.PUBLIC_KEY_LIFETIME)
            return version, public_pem(key)

    def expire_public_key(self, version: int) -> None:
        """The key of ``version`` stops being valid."""
        with self._lock:
            key, _expires = self._keys[version]
            self._keys[version] = (key, self._clock.now() - timedelta(seconds=1))

    def block_ip(self, blocked: bool = True) -> None:
        """The caller's IP is (no longer) a registered request source (§0)."""
        with self._lock:
            self._ip_blocked = blocked

    def refuse_code(self, code: str) -> None:
        """Make setStock refuse any request holding ``code`` as a whole (400, no element named)."""
        with self._lock:
            self._refused.add(code)

    def rejections(self) -> list[SimRequest]:
        """Requests the API itself refused (status ≥ 400, injected faults excluded)."""
        return [r for r in self.requests if r.status >= 400 and not r.injected]

    def daily_count(self) -> int:
        """Store API requests counted against the daily cap today (JST)."""
        with self._lock:
            return self._daily.get((self.client_id, self._today()), 0)

    # ------------------------------------------------------------------ the transport

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one request as Yahoo would."""
        request.read()
        if self.latency > 0:
            self._clock.sleep(self.latency)
        with self._lock:
            self._tick()
            log = self._log(request)
            self.requests.append(log)
            if log.api not in ("token", "authorization") and self._faults:
                log.injected = True
                kind = self._faults.popleft()
                if kind == "timeout":
                    raise httpx.ReadTimeout("simulated read timeout", request=request)
                response = self._fault(kind)
            else:
                try:
                    response = self._serve(request, log)
                except _Answer as answer:
                    response, log.code = answer.response, answer.code
            log.status = response.status_code
            return response

    def _log(self, request: httpx.Request) -> SimRequest:
        path = request.url.path
        body = request.content.decode("utf-8", "replace")
        content_type = request.headers.get("Content-Type", "")
        form = (
            dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
            if content_type.startswith("application/x-www-form-urlencoded")
            else {}
        )
        if request.url.host == AUTH_HOST:
            api = {"/yconnect/v2/token": "token", "/yconnect/v2/authorization": "authorization"}
            name = api.get(path, "")
        else:
            name = path.removeprefix(API_PREFIX) if path.startswith(API_PREFIX) else ""
            name = name if name in _APIS else ""
        headers = {
            k: v for k, v in request.headers.items() if k.lower().startswith(("content", "x-sws"))
        }
        return SimRequest(
            at=self._clock.now(),
            method=request.method,
            host=request.url.host,
            path=path,
            api=name,
            form=form,
            body=body,
            headers=headers,
        )

    def _serve(self, request: httpx.Request, log: SimRequest) -> httpx.Response:
        if log.api == "token":
            return self._token_endpoint(request, log)
        if log.api == "authorization":
            return self._authorization_endpoint(request)
        if request.url.host == AUTH_HOST:
            return httpx.Response(404)
        self._gateway(request, log)
        api: Api = log.api  # type: ignore[assignment]
        if api in ("getStock", "setStock"):
            return self._stock_api(request, api, log.form)
        root = self._order_body(request)
        response = self._order_list(root) if api == "orderList" else self._order_info(root)
        if self.facts.authorize_status is not None and api in self.facts.signed_apis:
            response.headers["X-SWS-Authorize-Status"] = self.facts.authorize_status
        return response

    def _gateway(self, request: httpx.Request, log: SimRequest) -> None:
        """IP, bearer token, daily cap, route, rate limit, signature: each may answer."""
        if self._ip_blocked:
            raise _Answer(
                error_response(
                    403, self.facts.ip_error_code, "Forbidden: unregistered request source IP."
                ),
                self.facts.ip_error_code,
            )
        grant = self._bearer(request.headers.get("Authorization", ""))
        if grant is None:
            raise _Answer(invalid_token_response(), "invalid_token")
        day = (grant.client_id, self._today())
        self._daily[day] = self._daily.get(day, 0) + 1
        if self._daily[day] > self.daily_limit:
            raise _Answer(_forbidden(), "forbidden")
        if not log.api or request.method != "POST":
            raise _Answer(error_response(400, "", f"Not Found: {request.method} {log.path}"))
        if not self._admit(log.api):
            raise _Answer(self._throttled(), "throttled")
        if log.api in self.facts.signed_apis:
            self._check_signature(request)

    # ------------------------------------------------------------------ YConnect

    def _token(self, kind: str) -> str:
        return f"sim-{kind}-{self._rng.getrandbits(96):024x}"

    def _bearer(self, header: str) -> _Grant | None:
        # §1 Authorization: Bearer <access_token>
        if not header.startswith("Bearer "):
            return None
        grant = self._access.get(header[7:].strip())
        if grant is None or self._clock.now() >= grant.expires:
            return None
        return grant

    def _client_ok(self, request: httpx.Request, form: dict[str, str]) -> bool:
        # [YC-token] Basic base64(client_id:client_secret), or both in the body
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                decoded = base64.b64decode(header[6:], validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return False
            return decoded == f"{self.client_id}:{self.client_secret}"
        return (
            form.get("client_id") == self.client_id
            and form.get("client_secret") == self.client_secret
        )

    def _token_endpoint(self, request: httpx.Request, log: SimRequest) -> httpx.Response:
        form = log.form
        if request.method != "POST" or not request.headers.get("Content-Type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            raise _Answer(
                _oauth_error(400, "invalid_request", "invalid request"), "invalid_request"
            )
        if not self._client_ok(request, form):
            raise _Answer(_oauth_error(401, "invalid_client", "invalid client"), "invalid_client")
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._code_grant(form)
        if grant_type == "refresh_token":
            return self._refresh_grant(form)
        raise _Answer(
            _oauth_error(400, "unsupported_grant_type", "unsupported grant type"),
            "unsupported_grant_type",
        )

    def _code_grant(self, form: dict[str, str]) -> httpx.Response:
        grant = self._codes.pop(form.get("code", ""), None)  # a code works once
        if (
            grant is None
            or self._clock.now() >= grant.expires
            or grant.redirect_uri != form.get("redirect_uri")
        ):
            raise _Answer(_oauth_error(400, "invalid_grant", "invalid code"), "invalid_grant")
        refresh = self.issue_refresh_token()
        return self._tokens(refresh_token=refresh, id_token=True)

    def _refresh_grant(self, form: dict[str, str]) -> httpx.Response:
        token = form.get("refresh_token", "")
        grant = self._refresh.get(token)
        if grant is None or self._clock.now() >= grant.expires:
            raise _Answer(
                _oauth_error(400, "invalid_grant", "invalid refresh token"), "invalid_grant"
            )
        if not self.facts.rotate_refresh_token:
            return self._tokens(refresh_token=None, id_token=False)
        del self._refresh[token]
        return self._tokens(refresh_token=self.issue_refresh_token(), id_token=False)

    def _tokens(self, *, refresh_token: str | None, id_token: bool) -> httpx.Response:
        # [YC-token] JSON access_token, token_type, expires_in (+ refresh_token, id_token)
        access = self._token("at")
        self._access[access] = _Grant(self.client_id, self._clock.now() + self.ACCESS_LIFETIME)
        body: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": int(self.ACCESS_LIFETIME.total_seconds()),
        }
        if refresh_token is not None:
            body["refresh_token"] = refresh_token
        if id_token:
            body["id_token"] = "eyJhbGciOiJSUzI1NiJ9.e30.c2lt"  # not verified by the bot
        return httpx.Response(
            200,
            content=json.dumps(body).encode(),
            headers={"Content-Type": "application/json;charset=UTF-8"},
        )

    def _authorization_endpoint(self, request: httpx.Request) -> httpx.Response:
        # [Y-help] GET …/authorization?response_type=code&client_id&redirect_uri&scope…
        params = request.url.params
        redirect_uri = params.get("redirect_uri", "")
        if (
            request.method != "GET"
            or params.get("response_type") != "code"
            or params.get("client_id") != self.client_id
            or redirect_uri not in self.redirect_uris
            or "openid" not in params.get("scope", "").split()
        ):
            raise _Answer(
                httpx.Response(400, text="invalid authorization request"), "invalid_request"
            )
        query = {"code": self.authorize(redirect_uri)}
        if "state" in params:
            query["state"] = params["state"]
        location = f"{redirect_uri}?{urllib.parse.urlencode(query)}"
        return httpx.Response(302, headers={"Location": location})

    def _check_signature(self, request: httpx.Request) -> None:
        """§1 X-sws-signature: RSA-PKCS#1 v1.5 of ``seller_id:unixtime``, key by version."""
        signature = request.headers.get("X-sws-signature")
        version = request.headers.get("X-sws-signature-version")
        if signature is None and version is None and not self.facts.signature_required:
            return
        if not self._signature_ok(signature or "", version or ""):
            raise _Answer(
                error_response(self.facts.signature_error_status, SESSION_CODE, SESSION_MESSAGE),
                SESSION_CODE,
            )

    def _signature_ok(self, signature: str, version: str) -> bool:
        entry = self._keys.get(int(version)) if version.isdigit() else None
        if entry is None or self._clock.now() >= entry[1]:
            return False
        try:
            plain = entry[0].decrypt(base64.b64decode(signature, validate=True), padding.PKCS1v15())
            seller, _sep, stamp = plain.decode().partition(":")
            sent = int(stamp)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return False
        age = self._clock.now().timestamp() - sent
        return seller == self.seller_id and -60 <= age <= self.facts.signature_max_age

    # ------------------------------------------------------------------ stock APIs

    def _stock_api(self, request: httpx.Request, api: Api, form: dict[str, str]) -> httpx.Response:
        if not request.headers.get("Content-Type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            self._format_error(api, "Content-Type", request.headers.get("Content-Type", ""))
        if form.get("seller_id") != self.seller_id or not _SELLER_RE.fullmatch(
            form.get("seller_id", "")
        ):
            self._format_error(api, "seller_id", form.get("seller_id", ""))
        codes = self._item_codes(api, form.get("item_code", ""))
        if api == "getStock":
            return self._get_stock(codes)
        return self._set_stock(codes, form)

    def _format_error(self, api: str, name: str, value: str) -> None:
        # [kamiya54] invalid_params.xml: st-02101 "item_code() is invalid format."
        code = FORMAT_CODES[api]
        raise _Answer(error_response(400, code, f"{name}({value}) is invalid format."), code)

    def _item_codes(self, api: str, raw: str) -> list[str]:
        codes = raw.split(",") if raw else []
        if not codes or len(codes) > self.MAX_CODES:
            self._format_error(api, "item_code", raw[:200])
        for code in codes:
            item, sep, sub = code.partition(":")
            if not _CODE_PART_RE.fullmatch(item) or (sep and not _CODE_PART_RE.fullmatch(sub)):
                self._format_error(api, "item_code", code)
        return codes

    def _get_stock(self, codes: list[str]) -> httpx.Response:
        # [t4traw] ResultSet attributes and Result children, in this order
        rows = [self._stock_row(code) for code in codes]
        ok = sum(1 for code in codes if code in self._listed)
        head = (
            f'<ResultSet totalResultsAvailable="{len(codes)}" totalResultsReturned="{len(codes)}"'
            f' firstResultPosition="1" ok="{ok}" ng="{len(codes) - ok}">'
        )
        return _xml(200, f"{_XML_DECL}{head}{''.join(rows)}</ResultSet>\n")

    def _stock_row(self, code: str) -> str:
        item, sub = _split(code)
        head = _tag("ItemCode", item) + _tag("SubCode", sub)
        if code not in self._listed:
            # §2: Status 0 carries only ItemCode, SubCode and Status
            return f"<Result>{head}{_tag('Status', 0)}</Result>"
        record = self._stock[code]
        quantity = "" if record.quantity is None else record.quantity
        return (
            f"<Result>{head}{_tag('Status', 1)}{_tag('Quantity', quantity)}"
            f"{_tag('AllowOverdraft', int(record.allow_overdraft))}"
            f"{_tag('IsPublished', int(record.published))}{_tag('UpdateTime', _iso(record.updated))}"
            "</Result>"
        )

    def _set_stock(self, codes: list[str], form: dict[str, str]) -> httpx.Response:
        raw = form.get("quantity", "")
        values = raw.split(",") if raw else []
        if len(values) != len(codes):
            self._format_error("setStock", "quantity", raw[:200])
        writes = [self._parse_quantity(value) for value in values]
        overdraft = self._allow_overdraft(form)
        refused = [code for code in codes if code in self._refused]
        if refused:
            raise _Answer(
                error_response(400, FORMAT_CODES["setStock"], "item_code is not updatable."),
                FORMAT_CODES["setStock"],
            )
        rows = []
        for code, (relative, quantity) in zip(codes, writes, strict=True):
            self._write(code, relative, quantity, overdraft)
            item, sub = _split(code)
            after = self._projected(code)
            rows.append(
                f"<Result>{_tag('ItemCode', item)}{_tag('SubCode', sub)}"
                f"{_tag('Quantity', '' if after is None else after)}</Result>"
            )
        # [kamiya54] set.xml: no ok/ng attributes on setStock's ResultSet
        head = (
            f'<ResultSet totalResultsAvailable="{len(codes)}" totalResultsReturned="{len(codes)}"'
            ' firstResultPosition="1">'
        )
        return _xml(200, f"{_XML_DECL}{head}{''.join(rows)}</ResultSet>\n")

    def _parse_quantity(self, value: str) -> tuple[bool, int]:
        if value == "INI":
            # [Y-setStock] INI abolished 2018-02-13 → st-02104
            raise _Answer(
                error_response(400, INI_CODE, "quantity(INI) is no longer available."), INI_CODE
            )
        match = _QUANTITY_RE.fullmatch(value)
        if match is None:
            # a raw "+" arrives as a space: Yahoo wants it as %2B [Y-setStock]
            self._format_error("setStock", "quantity", value)
        assert match is not None
        sign, digits = match.groups()
        number = -int(digits) if sign == "-" else int(digits)
        return sign != "", number

    def _allow_overdraft(self, form: dict[str, str]) -> bool | None:
        if "allow_overdraft" not in form:
            return None
        value = form["allow_overdraft"]
        if not self.facts.accept_allow_overdraft or value not in ("0", "1"):
            self._format_error("setStock", "allow_overdraft", value)
        return value == "1"

    # ------------------------------------------------------------------ order APIs

    def _order_body(self, request: httpx.Request) -> ET.Element:
        content_type = request.headers.get("Content-Type", "").lower()
        if not content_type.startswith(("text/xml", "application/xml")):
            self._order_error(f"Content-Type({content_type}) is invalid.")
        try:
            root = ET.fromstring(request.content)
        except ET.ParseError:
            self._order_error("Request XML is invalid.")
        if root.tag != "Req":
            self._order_error("Req is required.")
        if (root.findtext("SellerId") or "").strip() != self.seller_id:
            self._order_error(f"SellerId({root.findtext('SellerId') or ''}) is invalid.")
        return root

    @staticmethod
    def _order_error(message: str) -> None:
        raise _Answer(error_response(400, ORDER_FORMAT_CODE, message), ORDER_FORMAT_CODE)

    def _fields(self, raw: str | None) -> list[str]:
        fields = [f.strip() for f in (raw or "").split(",") if f.strip()]
        if not fields:
            self._order_error("Field is required.")
        return fields

    def _order_list(self, root: ET.Element) -> httpx.Response:
        search = root.find("Search")
        if search is None:
            self._order_error("Search is required.")
        assert search is not None
        fields = self._fields(search.findtext("Field"))
        size = self._positive(search.findtext("Result"), 10, "Result")
        start = self._positive(search.findtext("Start"), 1, "Start")
        if self.facts.max_order_page is not None:
            size = min(size, self.facts.max_order_page)
        sort = (search.findtext("Sort") or "+order_time").strip()
        if sort not in ("+order_time", "-order_time"):
            self._order_error(f"Sort({sort}) is invalid.")
        hits = self._matching(search.find("Condition"))
        hits.sort(key=lambda o: (o.ordered_at, o.order_id), reverse=sort.startswith("-"))
        page = hits[start - 1 : start - 1 + size]
        infos = "".join(
            "<OrderInfo>" + "".join(self._order_field(o, f) for f in fields) + "</OrderInfo>"
            for o in page
        )
        # §3: no ResultSet wrapper on orderList
        body = f"{_XML_DECL}<Result><Status>OK</Status><Search>{_tag('TotalCount', len(hits))}{infos}</Search></Result>\n"
        return _xml(200, body)

    def _positive(self, raw: str | None, default: int, name: str) -> int:
        if raw is None or not raw.strip():
            return default
        if not raw.strip().isdigit() or int(raw) < 1:
            self._order_error(f"{name}({raw}) is invalid.")
        return int(raw)

    def _matching(self, condition: ET.Element | None) -> list[SimOrder]:
        start = self._condition_time(condition, "OrderTimeFrom")
        end = self._condition_time(condition, "OrderTimeTo")
        statuses: set[int] | None = None
        raw = condition.findtext("OrderStatus") if condition is not None else None
        if raw:
            parts = raw.split(",")
            if not all(p.strip() in ("1", "2", "3", "4", "5") for p in parts):
                self._order_error(f"OrderStatus({raw}) is invalid.")
            statuses = {int(p) for p in parts}
        return [
            o
            for o in self.orders.values()
            if (start is None or o.ordered_at >= start)
            and (end is None or o.ordered_at <= end)
            and (statuses is None or o.status in statuses)
        ]

    def _condition_time(self, condition: ET.Element | None, name: str) -> datetime | None:
        raw = (condition.findtext(name) if condition is not None else None) or ""
        if not raw:
            return None
        if not _ORDER_TIME_RE.fullmatch(raw):
            self._order_error(f"{name}({raw}) is invalid format.")
        try:
            return datetime.strptime(raw, "%Y%m%d%H%M%S").replace(tzinfo=JST)
        except ValueError:
            self._order_error(f"{name}({raw}) is invalid.")
        raise AssertionError("unreachable")  # pragma: no cover

    def _order_field(self, order: SimOrder, name: str) -> str:
        values: dict[str, Callable[[], object]] = {
            "OrderId": lambda: order.order_id,
            "OrderTime": lambda: _iso(order.ordered_at),
            "OrderStatus": lambda: order.status,
            "IsActive": lambda: "true" if order.is_active else "false",
            "PayStatus": lambda: order.pay_status,
            "SettleStatus": lambda: order.settle_status,
            "ShipStatus": lambda: order.ship_status,
        }
        buyer = sentinel_buyer(order.order_id)
        person = {
            "LastName": buyer.family_name,
            "FirstName": buyer.first_name,
            "MailAddress": buyer.email,
            "PhoneNumber": buyer.phone,
            "ZipCode": buyer.zip_code,
            "Prefecture": buyer.prefecture,
            "City": buyer.city,
            "Address1": buyer.street,
        }
        if name in BUYER_FIELDS:
            return _tag(name, person[name.removeprefix("Bill").removeprefix("Ship")])
        getter = values.get(name)
        return "" if getter is None else _tag(name, getter())

    def _order_info(self, root: ET.Element) -> httpx.Response:
        target = root.find("Target")
        order_id = (target.findtext("OrderId") if target is not None else None) or ""
        if target is None or not order_id.strip():
            self._order_error("OrderId is required.")
        assert target is not None
        fields = self._fields(target.findtext("Field"))
        order = self.orders.get(order_id.strip())
        if order is None:
            # §3 (public GitHub code): <Error><Code>od91801</Code><Message>Not Exists : <id>
            raise _Answer(
                error_response(400, ORDER_NOT_FOUND_CODE, f"Not Exists : {order_id}"),
                ORDER_NOT_FOUND_CODE,
            )
        head = "".join(self._order_field(order, f) for f in fields if f in ORDER_FIELDS)
        item_fields = [f for f in fields if f in ITEM_FIELDS]
        items = (
            "".join(
                "<Item>" + "".join(self._item_field(line, f) for f in item_fields) + "</Item>"
                for line in order.lines
            )
            if item_fields
            else ""
        )
        body = (
            f'{_XML_DECL}<ResultSet totalResultsAvailable="1" totalResultsReturned="1"'
            f' firstResultPosition="1"><Result><Status>OK</Status><OrderInfo>{head}{items}'
            "</OrderInfo></Result></ResultSet>\n"
        )
        return _xml(200, body)

    @staticmethod
    def _item_field(line: SimOrderLine, name: str) -> str:
        values: dict[str, object] = {
            "LineId": line.line_id,
            "ItemId": line.item_code,
            "SubCode": line.sub_code,
            "Title": line.title,
            "Quantity": line.quantity,
            "UnitPrice": line.unit_price,
        }
        return _tag(name, values[name])

    # ------------------------------------------------------------------ internals

    def _today(self) -> str:
        return self._clock.now().astimezone(JST).date().isoformat()

    def _admit(self, api: str) -> bool:
        if not self.enforce_rate_limits:
            return True
        now = self._clock.monotonic()
        hits = self._hits.setdefault(api, deque())
        while hits and hits[0] <= now - 1.0 + 1e-9:
            hits.popleft()
        if len(hits) >= self.rate_per_s:
            return False
        hits.append(now)
        return True

    def _throttled(self) -> httpx.Response:
        # §4: the throttle answer is UNCONFIRMED; 429, or 403 as for the daily cap
        if self.facts.throttle_status == 403:
            return _forbidden()
        return error_response(self.facts.throttle_status, "", "Too Many Requests")

    def _fault(self, kind: FailKind) -> httpx.Response:
        if kind == "401":
            return invalid_token_response()
        if kind == "429":
            return error_response(429, "", "Too Many Requests")
        if kind == "503":
            return error_response(503, "", "Service Unavailable (maintenance)")
        return error_response(500, "ed-00002", "System error.")

    def _check_code(self, code: str) -> None:
        item, sep, sub = code.partition(":")
        if not _CODE_PART_RE.fullmatch(item) or (sep and not _CODE_PART_RE.fullmatch(sub)):
            raise ValueError(f"not a Yahoo item code: {code!r}")

    def _listed_record(self, code: str) -> _Stock:
        if code not in self._listed:
            raise KeyError(f"no item {code!r} in the simulated store")
        return self._stock[code]

    def _projected(self, code: str) -> int | None:
        record = self._stock.get(code)
        if record is None:
            return None
        value = record.quantity
        for write in record.pending:
            value = self._apply(value, write)
        return value

    @staticmethod
    def _apply(value: int | None, write: _Write) -> int:
        return (value or 0) + write.quantity if write.relative else write.quantity

    def _write(self, code: str, relative: bool, quantity: int, overdraft: bool | None) -> None:
        now = self._clock.now()
        record = self._stock.get(code)
        if record is None:
            # [Y-setStock] an unknown code is stored silently and attached later
            record = _Stock(quantity=None, updated=now)
            self._stock[code] = record
        if overdraft is not None:
            record.allow_overdraft = overdraft
        record.pending.append(_Write(now + timedelta(seconds=self.push_lag), relative, quantity))
        self._tick()

    def _tick(self) -> None:
        """Make writes whose push lag has passed live."""
        now = self._clock.now()
        for record in self._stock.values():
            while record.pending and record.pending[0].live_at <= now:
                write = record.pending.pop(0)
                record.quantity = self._apply(record.quantity, write)
                record.updated = write.live_at


Simulator = YahooSimulator
"""The name :func:`bot.sandbox.simulators.simulator_class` looks up."""
