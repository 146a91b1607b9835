"""BASE (thebase.in) simulator: OAuth 2.0 with refresh, items and their stock, orders.

It is an httpx transport (``httpx.MockTransport(sim.handle)``), so the BASE adapter
under test runs exactly its production code against
``httpx.Client(transport=sim.transport, base_url="https://api.thebase.in")``. Every
wire fact comes from ``docs/api/other-channels.md`` §4 and the official docs it cites
(keys below); where a point is UNCONFIRMED the simulator takes it from
:class:`Unconfirmed`, so a test can run the adapter against either answer.

What a request meets, in order:

1. latency (``clock.sleep``), then any injected fault (:meth:`BaseSimulator.fail_next`);
2. https only (``access_denied``), then the OAuth endpoints, which need no token;
3. the bearer token (``invalid_request`` "アクセストークンが無効です。"), the user's hourly
   and daily call counts (``hour_api_limit`` / ``day_api_limit``), the route and
   method (``not_post_method``), the token's scope (``invalid_scope``);
4. the API: item and variation ids (``bad_item_id`` / ``bad_variation_id`` /
   ``no_item``), parameters (``bad_params`` / ``validation_error``), orders
   (``no_order``), stock that orders decrement and cancels give back.

Every refusal is HTTP 400 with ``{"error", "error_description"}`` and the documented
description [B-readme]; :meth:`BaseSimulator.rejections` lists them.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import threading
import urllib.parse
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

import httpx

from bot.infra.clock import JST, Clock

__all__ = [
    "API_HOST",
    "BaseSimulator",
    "FailKind",
    "SimItem",
    "SimOrder",
    "SimOrderItem",
    "SimRequest",
    "Unconfirmed",
]

# Sources (official docs repository, commit 2760123; current home docs.thebase.in):
#   [B-readme]    https://github.com/baseinc/api-docs/blob/2760123/README.md
#   [B-authorize] https://github.com/baseinc/api-docs/blob/2760123/base_api_v1_oauth_authorize.md
#   [B-token]     https://github.com/baseinc/api-docs/blob/2760123/base_api_v1_oauth_access_token.md
#   [B-refresh]   https://github.com/baseinc/api-docs/blob/2760123/base_api_v1_oauth_refresh_token.md
#   [B-stock]     https://github.com/baseinc/api-docs/blob/2760123/base_api_v1_items_edit_stock.md
#   [B-items]     https://github.com/baseinc/api-docs/blob/2760123/base_api_v1_items.md
#   [B-detail]    https://github.com/baseinc/api-docs/blob/2760123/base_api_v1_items_detail.md
#   [B-orders]    https://github.com/baseinc/api-docs/blob/2760123/base_api_v1_orders.md
#   [B-order]     https://github.com/baseinc/api-docs/blob/2760123/base_api_v1_orders_detail.md

API_HOST = "api.thebase.in"  # [B-readme] "https://api.thebase.in/ 配下 (httpsのみ)"

FailKind = Literal["429", "503", "500", "timeout"]

# Documented error bodies, word for word: error code → error_description.
ERRORS: dict[str, str] = {
    "https": "httpsでアクセスしてください。",  # access_denied [B-stock]
    "invalid_token": "アクセストークンが無効です。",  # invalid_request [B-readme]
    "invalid_scope": "スコープが無効です。",  # [B-stock]
    "not_post_method": "POSTで送信してください。",  # [B-stock]
    "bad_item_id": "不正なitem_idです。",  # [B-stock]
    "bad_params": "不正なパラメーターです。",  # [B-stock]
    "bad_variation_id": "不正なvariation_idです。",  # [B-stock]
    "validation_error": "バリデーションエラーです。",  # [B-stock]
    "no_item_id": "item_idは必須です。",  # [B-detail]
    "no_item": "商品が見つかりませんでした。",  # [B-detail]
    "no_unique_key": "unique_keyは必須です。",  # [B-order]
    "no_order": "注文情報が見つかりませんでした。",  # [B-order]
    "hour_api_limit": "1時間のAPIの利用上限を超えました。時間が変わってからもう一度アクセスしてください。",  # [B-readme]
    "day_api_limit": "1日のAPIの利用上限を超えました。日付が変わってからもう一度アクセスしてください。",  # [B-readme]
    # token endpoint [B-token][B-refresh]
    "token_not_post": "POSTで送信してください。",
    "bad_grant_type": "不正なgrant_typeです。",
    "token_bad_params": "不正なパラメーターです。",
    "no_client": "client_idもしくはclient_secretがありません。",
    "unknown_client": "クライアントが見つかりませんでした。",
    "bad_code": "不正な認可コードです。",
    "expired_code": "認可コードの有効期限が切れています。",
    "bad_refresh": "不正なリフレッシュトークンです。",
    "expired_refresh": "リフレッシュトークンの有効期限が切れています。",
}
# The wire's error code for each key above (the key is ours where two share a code).
CODES: dict[str, str] = {
    "https": "access_denied",
    "invalid_token": "invalid_request",
    "token_not_post": "access_denied",
    "bad_grant_type": "invalid_request",
    "token_bad_params": "invalid_request",
    "no_client": "invalid_request",
    "unknown_client": "unauthorized_client",
    "bad_code": "invalid_request",
    "expired_code": "invalid_request",
    "bad_refresh": "invalid_request",
    "expired_refresh": "invalid_request",
}

SCOPES = frozenset(
    {"read_users", "read_users_mail", "read_items", "read_orders", "read_savings"}
    | {"write_items", "write_orders"}
)  # [B-readme]
_ORDERED_RE = re.compile(r"(\d{4}-\d{2}-\d{2})(?: (\d{2}:\d{2}:\d{2}))?")  # [B-orders]
_INT_RE = re.compile(r"\d{1,19}")


@dataclass(frozen=True)
class Unconfirmed:
    """The simulator's answer to each point the docs leave open (UNCONFIRMED).

    Every field can be set either way, so a test runs the adapter against both answers.
    """

    hourly_limit: int = 5_000
    """Calls an hour per user: 5,000 in the 2019 docs [B-readme]; today's figure is open."""
    daily_limit: int = 100_000
    """Calls a day per user: 100,000 in the 2019 docs [B-readme]."""
    limit_status: int = 400
    """HTTP status of hour_api_limit / day_api_limit: 400 as every documented error
    [B-readme], or 429 as many APIs answer."""
    invalid_token_status: int = 400
    """HTTP status of "アクセストークンが無効です。": 400 [B-readme], or RFC 6750's 401."""
    rotate_refresh_token: bool = True
    """A refresh grant hands out a new refresh token and the old one stops working
    (the answer carries one [B-refresh]); False: the same token comes back and lives
    its 30 days from issue."""
    item_stock_with_variations: Literal["ignored", "rejected"] = "ignored"
    """edit_stock with ``stock`` alone for an item with variations: the sum stays as it
    is (200), or ``validation_error``. [B-stock] says only that the sum becomes stock."""
    max_stock: int = 99_999_999
    """The largest stock edit_stock takes (beyond: ``validation_error``); undocumented."""
    restock_on_cancel: bool = True
    """A cancelled order's (or line's) units go back to the item's stock."""
    newest_orders_first: bool = True
    """The order of /1/orders rows (not documented; paging must not depend on it)."""
    code_lifetime: timedelta = timedelta(minutes=10)
    """How long an authorization code is valid (undocumented)."""


@dataclass
class SimRequest:
    """One request as the simulator saw it (the request log)."""

    at: datetime
    method: str
    path: str
    api: str
    """``edit_stock``, ``items``, ``item``, ``orders``, ``order``, ``users_me``,
    ``token``, ``authorize``; '' for an unknown path."""
    params: dict[str, str]
    """Query parameters and form fields."""
    status: int = 0
    """HTTP status answered; 0 when an injected timeout raised instead."""
    error: str = ""
    """The ``error`` code answered ('' for a success)."""
    description: str = ""
    injected: bool = False
    """Answered by :meth:`BaseSimulator.fail_next`, not by the API."""


@dataclass
class SimVariation:
    variation_id: int
    name: str
    stock: int
    identifier: str | None = None


@dataclass
class SimItem:
    """One item; with variations its stock is their sum [B-stock]."""

    item_id: int
    title: str
    stock: int
    identifier: str | None = None
    visible: int = 1
    modified: int = 0
    variations: dict[int, SimVariation] = field(default_factory=dict)

    def total(self) -> int:
        return sum(v.stock for v in self.variations.values()) if self.variations else self.stock


@dataclass
class SimOrderItem:
    order_item_id: int
    item_id: int
    variation_id: int | None
    title: str
    amount: int
    price: int = 1000
    status: str = "ordered"
    modified: int = 0


@dataclass
class SimOrder:
    """One order; a cancel keeps it with ``cancelled`` set [B-orders]."""

    unique_key: str
    ordered: int
    items: list[SimOrderItem]
    dispatch_status: str = "ordered"
    cancelled: int | None = None
    dispatched: int | None = None
    modified: int = 0
    payment: str = "creditcard"


@dataclass
class _Grant:
    expires: datetime
    scopes: frozenset[str] = SCOPES
    redirect_uri: str = ""


class _Answer(Exception):
    """A finished response raised from deep inside validation."""

    def __init__(self, response: httpx.Response, error: str = "", description: str = "") -> None:
        super().__init__(error)
        self.response = response
        self.error = error
        self.description = description


def _json(status: int, body: Any) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps(body, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )


def refusal(key: str, status: int = 400) -> _Answer:
    """The documented error body for ``key`` of :data:`ERRORS`. [B-readme]"""
    code = CODES.get(key, key)
    body = {"error": code, "error_description": ERRORS[key]}
    return _Answer(_json(status, body), code, ERRORS[key])


_Handler = Callable[[str, dict[str, str]], httpx.Response]


def _unix(when: datetime) -> int:
    return int(when.timestamp())


# --------------------------------------------------------------------------- simulator


class BaseSimulator:
    """In-memory BASE shop speaking the real wire format, as an httpx transport.

    Shop-world controls: :meth:`add_listing`, :meth:`set_stock` (a hand edit in the
    shop's admin), :meth:`place_order`, :meth:`cancel_order`, :meth:`cancel_line`,
    :meth:`dispatch_order`; credentials: :meth:`expire_credentials`,
    :meth:`expire_access_tokens`, :meth:`issue_refresh_token`, :meth:`authorize`;
    faults: :meth:`fail_next`. State: :meth:`stock`, :attr:`items`, :attr:`orders`, the
    request log :attr:`requests` and :meth:`rejections` (what the API refused).
    """

    key: ClassVar[str] = "base"
    # One item (or one variation) per edit_stock request. [B-stock]
    max_write_batch: ClassVar[int] = 1
    PAGE_MAX: ClassVar[int] = 100  # limit MAX 100 [B-items][B-orders]
    PAGE_DEFAULT: ClassVar[int] = 20  # [B-items][B-orders]
    ACCESS_LIFETIME: ClassVar[timedelta] = timedelta(hours=1)  # [B-token]
    REFRESH_LIFETIME: ClassVar[timedelta] = timedelta(days=30)  # [B-refresh]

    def __init__(
        self,
        *,
        clock: Clock,
        client_id: str = "sim-base-client-0123456789abcdef",
        client_secret: str = "sim-base-secret-fedcba9876543210",
        redirect_uris: Sequence[str] = ("https://zaiko.example.com/base/callback",),
        latency: float = 0.0,
        push_lag: float = 0.0,
        facts: Unconfirmed = Unconfirmed(),
        seed: int = 0,
    ) -> None:
        """An empty shop with one application and one refresh token (as if authorized).

        ``push_lag`` is accepted for the SimulatedChannel signature; BASE's edit_stock
        answers with the item as it now is [B-stock], so writes are live at once.
        """
        self._clock = clock
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uris = tuple(redirect_uris)
        self.latency = latency
        self.push_lag = push_lag
        self.facts = facts
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self._transport = httpx.MockTransport(self.handle)
        self._access: dict[str, _Grant] = {}
        self._refresh: dict[str, _Grant] = {}
        self._codes: dict[str, _Grant] = {}
        self._faults: deque[FailKind] = deque()
        self._hours: dict[tuple[str, int], int] = {}
        self._days: dict[str, int] = {}
        self._order_seq = itertools.count(1)
        self._line_seq = itertools.count(500_001)
        self.items: dict[int, SimItem] = {}
        self.orders: dict[str, SimOrder] = {}
        self.requests: list[SimRequest] = []
        """Every request handled, in order."""
        self.refresh_token = self.issue_refresh_token()
        """The refresh token :meth:`config` hands out (as if the owner had authorized)."""

    # ------------------------------------------------------------------ SimulatedChannel

    def config(self) -> dict[str, Any]:
        """The ``[malls.base]`` table (credentials included) this simulator accepts."""
        return {
            "enabled": True,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
            "redirect_uri": self.redirect_uris[0],
            "hourly_request_limit": self.facts.hourly_limit,
            "daily_request_limit": self.facts.daily_limit,
        }

    @property
    def transport(self) -> httpx.BaseTransport:
        """The transport to mount under ``httpx.Client``."""
        return self._transport

    def sample_code(self, n: int) -> str:
        """A valid code for listing ``n``: odd numbers are a variation of their item."""
        return f"{100_000 + n}:{200_000 + n}" if n % 2 else f"{100_000 + n}"

    def add_listing(self, code: str, qty: int) -> str:
        """Register ``item_id`` (or a variation ``item_id:variation_id``) with ``qty``."""
        item_id, variation_id = self._split(code)
        with self._lock:
            now = _unix(self._clock.now())
            item = self.items.get(item_id)
            if item is None:
                item = SimItem(item_id, f"商品 {item_id}", 0, modified=now)
                self.items[item_id] = item
            if variation_id is None:
                if item.variations:
                    raise ValueError(f"item {item_id} has variations: list one of them")
                item.stock = qty
            else:
                if not item.variations and item.stock:
                    raise ValueError(f"item {item_id} has stock of its own: no variations")
                item.variations[variation_id] = SimVariation(
                    variation_id, f"種類 {variation_id}", qty
                )
                item.stock = item.total()
            item.modified = now
            return code

    def set_stock(self, code: str, quantity: int) -> None:
        """A hand edit in the shop's admin."""
        with self._lock:
            self._write(code, quantity)

    def stock(self, code: str) -> int | None:
        """The live quantity of a listing; None for an unknown code."""
        with self._lock:
            item_id, variation_id = self._split(code)
            item = self.items.get(item_id)
            if item is None:
                return None
            if variation_id is None:
                return item.total()
            variation = item.variations.get(variation_id)
            return None if variation is None else variation.stock

    def pending_stock(self, code: str) -> int | None:
        """Writes are live at once on BASE: the same as :meth:`stock`."""
        return self.stock(code)

    def place_order(
        self, lines: Sequence[tuple[str, int]], *, at: datetime | None = None
    ) -> str | None:
        """A customer order; its unique_key, or None when the shop refuses it (no stock)."""
        if not lines:
            raise ValueError("an order needs at least one line")
        with self._lock:
            wanted: dict[str, int] = {}
            for code, units in lines:
                if units < 1:
                    raise ValueError(f"units must be ≥ 1, got {units}")
                if self.stock(code) is None:
                    raise KeyError(f"no listing {code!r} in the simulated shop")
                wanted[code] = wanted.get(code, 0) + units
            if any((self.stock(code) or 0) < units for code, units in wanted.items()):
                return None
            for code, units in wanted.items():
                self._write(code, (self.stock(code) or 0) - units)
            now = _unix(at or self._clock.now())
            key = f"{self._rng.getrandbits(64):016X}"
            items = []
            for code, units in lines:
                item_id, variation_id = self._split(code)
                items.append(
                    SimOrderItem(
                        next(self._line_seq),
                        item_id,
                        variation_id,
                        f"商品 {item_id}",
                        units,
                        modified=now,
                    )
                )
            self.orders[key] = SimOrder(key, now, items, modified=now)
            next(self._order_seq)
            return key

    def cancel_order(self, order_number: str) -> None:
        """The shop cancels the whole order: ``cancelled``, dispatch_status and lines."""
        with self._lock:
            order = self.orders[order_number]
            if order.cancelled is not None:
                raise ValueError(f"order {order_number} is already cancelled")
            now = _unix(self._clock.now())
            order.cancelled, order.dispatch_status, order.modified = now, "cancelled", now
            for line in order.items:
                if line.status != "cancelled":
                    self._cancel(line, now)

    def cancel_line(self, order_number: str, order_item_id: int) -> None:
        """One line of the order is cancelled (``order_items[].status``) [B-order]."""
        with self._lock:
            order = self.orders[order_number]
            now = _unix(self._clock.now())
            [line] = [ln for ln in order.items if ln.order_item_id == order_item_id]
            self._cancel(line, now)
            order.modified = now

    def dispatch_order(self, order_number: str) -> None:
        """The shop ships the order."""
        with self._lock:
            order = self.orders[order_number]
            now = _unix(self._clock.now())
            order.dispatch_status, order.dispatched, order.modified = "dispatched", now, now
            for line in order.items:
                if line.status == "ordered":
                    line.status, line.modified = "dispatched", now

    def expire_credentials(self) -> None:
        """Every token stops working (30 days passed, or the owner disconnected the app)."""
        with self._lock:
            self._access.clear()
            self._refresh.clear()

    def fail_next(self, kind: FailKind, times: int = 1) -> None:
        """Answer the next ``times`` API requests with a fault instead of serving them.

        ``429`` is a bare Too Many Requests (a gateway's, with Retry-After: 1), not BASE's
        hourly limit; 500/503 carry ``server_error``; ``timeout`` raises
        ``httpx.ReadTimeout`` and the request has no effect.
        """
        with self._lock:
            self._faults.extend([kind] * times)

    def write_batch_sizes(self) -> list[int]:
        """Listings per edit_stock request received (always one), in order."""
        return [1 for r in self.requests if r.api == "edit_stock" and not r.injected]

    def refused_quantity(self) -> int:
        """Over the largest stock BASE takes: ``validation_error`` for that listing."""
        return self.facts.max_stock + 1

    # ------------------------------------------------------------------ more controls

    def issue_refresh_token(self) -> str:
        """A new refresh token, as after the owner authorizes again (30 days)."""
        with self._lock:
            token = self._token()
            self._refresh[token] = _Grant(self._clock.now() + self.REFRESH_LIFETIME)
            return token

    def refresh_tokens_issued(self) -> set[str]:
        """Every refresh token the token endpoint still honours."""
        with self._lock:
            now = self._clock.now()
            return {t for t, g in self._refresh.items() if now < g.expires}

    def authorize(
        self, redirect_uri: str, scope: str = "read_items write_items read_orders"
    ) -> str:
        """The owner logs in and allows the app: an authorization code for ``redirect_uri``."""
        with self._lock:
            code = self._token()
            scopes = frozenset(scope.split()) | {"read_users"}
            expires = self._clock.now() + self.facts.code_lifetime
            self._codes[code] = _Grant(expires, scopes, redirect_uri)
            return code

    def expire_access_tokens(self) -> None:
        """Access tokens stop working (refresh tokens still do)."""
        with self._lock:
            self._access.clear()

    def rejections(self) -> list[SimRequest]:
        """Requests the API itself refused (status ≥ 400, injected faults excluded)."""
        return [r for r in self.requests if r.status >= 400 and not r.injected]

    def hour_count(self) -> int:
        """API calls counted against this hour's limit."""
        with self._lock:
            return self._hours.get(self._hour_key(), 0)

    def day_count(self) -> int:
        """API calls counted against today's (JST) limit."""
        with self._lock:
            return self._days.get(self._day_key(), 0)

    # ------------------------------------------------------------------ the transport

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one request as BASE would."""
        request.read()
        if self.latency > 0:
            self._clock.sleep(self.latency)
        with self._lock:
            log = self._log(request)
            self.requests.append(log)
            if log.api not in ("token", "authorize") and self._faults:
                log.injected = True
                kind = self._faults.popleft()
                if kind == "timeout":
                    raise httpx.ReadTimeout("simulated read timeout", request=request)
                response = self._fault(kind)
            else:
                try:
                    response = self._serve(request, log)
                except _Answer as answer:
                    response = answer.response
                    log.error, log.description = answer.error, answer.description
            log.status = response.status_code
            return response

    def _log(self, request: httpx.Request) -> SimRequest:
        params = dict(request.url.params)
        if request.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            body = request.content.decode("utf-8", "replace")
            params.update(urllib.parse.parse_qsl(body, keep_blank_values=True))
        return SimRequest(
            at=self._clock.now(),
            method=request.method,
            path=request.url.path,
            api=self._api(request.url.path),
            params=params,
        )

    @staticmethod
    def _api(path: str) -> str:
        fixed = {
            "/1/oauth/token": "token",
            "/1/oauth/authorize": "authorize",
            "/1/items/edit_stock": "edit_stock",
            "/1/items": "items",
            "/1/orders": "orders",
            "/1/users/me": "users_me",
        }
        if path in fixed:
            return fixed[path]
        if path.startswith("/1/items/detail/"):
            return "item"
        if path.startswith("/1/orders/detail/"):
            return "order"
        return ""

    def _fault(self, kind: FailKind) -> httpx.Response:
        if kind == "429":
            response = _json(
                429, {"error": "too_many_requests", "error_description": "Too Many Requests"}
            )
            response.headers["Retry-After"] = "1"
            return response
        return _json(int(kind), {"error": "server_error", "error_description": "Server Error"})

    def _serve(self, request: httpx.Request, log: SimRequest) -> httpx.Response:
        if request.url.scheme != "https":
            raise refusal("https")
        if log.api == "token":
            return self._token_endpoint(request, log.params)
        if log.api == "authorize":
            return self._authorize_endpoint(log.params)
        grant = self._bearer(request.headers.get("Authorization", ""))
        if grant is None:
            raise refusal("invalid_token", self.facts.invalid_token_status)
        self._count()
        handler, method, scope = self._route(log.api)
        if handler is None:
            raise _Answer(
                _json(404, {"error": "not_found", "error_description": "Not Found"}), "not_found"
            )
        if request.method != method:
            if method == "POST":
                raise refusal("not_post_method")
            raise _Answer(
                _json(405, {"error": "method_not_allowed", "error_description": ""}),
                "method_not_allowed",
            )
        if scope not in grant.scopes:
            raise refusal("invalid_scope")
        return handler(request.url.path, log.params)

    def _route(self, api: str) -> tuple[_Handler | None, str, str]:
        routes: dict[str, tuple[_Handler | None, str, str]] = {
            "edit_stock": (self._edit_stock, "POST", "write_items"),
            "items": (self._items, "GET", "read_items"),
            "item": (self._item, "GET", "read_items"),
            "orders": (self._orders, "GET", "read_orders"),
            "order": (self._order, "GET", "read_orders"),
            "users_me": (self._users_me, "GET", "read_users"),
        }
        return routes.get(api, (None, "", ""))

    # ------------------------------------------------------------------ OAuth

    def _token(self) -> str:
        return f"{self._rng.getrandbits(128):032x}"  # 32 hex, as in [B-token]'s example

    def _bearer(self, header: str) -> _Grant | None:
        # "Authorization: Bearer {Access_Token}" [B-readme]
        if not header.startswith("Bearer "):
            return None
        grant = self._access.get(header[7:].strip())
        if grant is None or self._clock.now() >= grant.expires:
            return None
        return grant

    def _authorize_endpoint(self, params: dict[str, str]) -> httpx.Response:
        # [B-authorize]: the owner is taken as logged in and consenting.
        redirect = params.get("redirect_uri", "")
        if (
            params.get("response_type") != "code"
            or params.get("client_id") != self.client_id
            or redirect not in self.redirect_uris
        ):
            raise refusal("token_bad_params")
        code = self.authorize(redirect, params.get("scope", "read_users"))
        query = urllib.parse.urlencode({"code": code, "state": params.get("state", "")})
        return httpx.Response(302, headers={"Location": f"{redirect}?{query}"})

    def _token_endpoint(self, request: httpx.Request, form: dict[str, str]) -> httpx.Response:
        # [B-token][B-refresh]: POST with client_id, client_secret (or Basic) and redirect_uri
        if request.method != "POST":
            raise refusal("token_not_post")
        if not form.get("client_id") or not form.get("client_secret"):
            raise refusal("no_client")
        if form["client_id"] != self.client_id or form["client_secret"] != self.client_secret:
            raise refusal("unknown_client")
        grant_type = form.get("grant_type")
        if grant_type not in ("authorization_code", "refresh_token"):
            raise refusal("bad_grant_type")
        if form.get("redirect_uri") not in self.redirect_uris:
            raise refusal("token_bad_params")
        now = self._clock.now()
        if grant_type == "authorization_code":
            grant = self._codes.pop(form.get("code", ""), None)  # a code works once
            if grant is None or grant.redirect_uri != form.get("redirect_uri"):
                raise refusal("bad_code")
            if now >= grant.expires:
                raise refusal("expired_code")
            return self._issue(grant.scopes, self.issue_refresh_token())
        old = form.get("refresh_token", "")
        grant = self._refresh.get(old)
        if grant is None:
            raise refusal("bad_refresh")
        if now >= grant.expires:
            raise refusal("expired_refresh")
        if self.facts.rotate_refresh_token:
            del self._refresh[old]
            return self._issue(grant.scopes, self.issue_refresh_token())
        return self._issue(grant.scopes, old)

    def _issue(self, scopes: frozenset[str], refresh_token: str) -> httpx.Response:
        access = self._token()
        self._refresh[refresh_token].scopes = scopes
        self._access[access] = _Grant(self._clock.now() + self.ACCESS_LIFETIME, scopes)
        body = {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": int(self.ACCESS_LIFETIME.total_seconds()),
            "refresh_token": refresh_token,
        }
        return _json(200, body)

    # ------------------------------------------------------------------ limits

    def _hour_key(self) -> tuple[str, int]:
        local = self._clock.now().astimezone(JST)
        return local.date().isoformat(), local.hour

    def _day_key(self) -> str:
        return self._clock.now().astimezone(JST).date().isoformat()

    def _count(self) -> None:
        """Count one call; refuse it over the hourly or daily limit (reset at :00) [B-readme]."""
        hour, day = self._hour_key(), self._day_key()
        self._hours[hour] = self._hours.get(hour, 0) + 1
        self._days[day] = self._days.get(day, 0) + 1
        if self._days[day] > self.facts.daily_limit:
            raise refusal("day_api_limit", self.facts.limit_status)
        if self._hours[hour] > self.facts.hourly_limit:
            raise refusal("hour_api_limit", self.facts.limit_status)

    # ------------------------------------------------------------------ items

    def _users_me(self, _path: str, _params: dict[str, str]) -> httpx.Response:
        return _json(200, {"user": {"shop_id": "zaiko_sim", "shop_name": "在庫シミュレーター"}})

    def _item_body(self, item: SimItem) -> dict[str, Any]:
        # [B-stock][B-items] (image fields left out)
        return {
            "item_id": item.item_id,
            "title": item.title,
            "detail": "",
            "price": 1000,
            "proper_price": None,
            "stock": item.total(),
            "visible": item.visible,
            "list_order": item.item_id,
            "identifier": item.identifier,
            "modified": item.modified,
            "variations": [
                {
                    "variation_id": v.variation_id,
                    "variation": v.name,
                    "variation_stock": v.stock,
                    "variation_identifier": v.identifier,
                }
                for v in item.variations.values()
            ],
        }

    def _page(self, params: dict[str, str]) -> tuple[int, int]:
        limit = self._number(params.get("limit"), self.PAGE_DEFAULT)
        offset = self._number(params.get("offset"), 0)
        if not 1 <= limit <= self.PAGE_MAX:
            raise refusal("bad_params")
        return limit, offset

    @staticmethod
    def _number(raw: str | None, default: int) -> int:
        if raw is None or raw == "":
            return default
        if not _INT_RE.fullmatch(raw):
            raise refusal("bad_params")
        return int(raw)

    def _items(self, _path: str, params: dict[str, str]) -> httpx.Response:
        limit, offset = self._page(params)
        items = sorted(self.items.values(), key=lambda i: i.item_id)
        return _json(200, {"items": [self._item_body(i) for i in items[offset : offset + limit]]})

    def _item(self, path: str, _params: dict[str, str]) -> httpx.Response:
        raw = path.removeprefix("/1/items/detail/")
        if not raw:
            raise refusal("no_item_id")
        item = self.items.get(int(raw)) if _INT_RE.fullmatch(raw) else None
        if item is None:
            raise refusal("no_item")
        return _json(200, {"item": self._item_body(item)})

    def _edit_stock(self, _path: str, form: dict[str, str]) -> httpx.Response:
        # [B-stock] item_id (必須), stock, or variation_id + variation_stock
        raw_item = form.get("item_id", "")
        item = self.items.get(int(raw_item)) if _INT_RE.fullmatch(raw_item) else None
        if item is None:
            raise refusal("bad_item_id")
        if "variation_id" in form or "variation_stock" in form:
            raw_var = form.get("variation_id", "")
            variation = item.variations.get(int(raw_var)) if _INT_RE.fullmatch(raw_var) else None
            if variation is None:
                raise refusal("bad_variation_id")
            variation.stock = self._stock_value(form.get("variation_stock"))
        else:
            value = self._stock_value(form.get("stock"))
            if item.variations:
                if self.facts.item_stock_with_variations == "rejected":
                    raise refusal("validation_error")
            else:
                item.stock = value
        item.stock = item.total()
        item.modified = _unix(self._clock.now())
        return _json(200, {"item": self._item_body(item)})

    def _stock_value(self, raw: str | None) -> int:
        if raw is None or raw == "":
            raise refusal("bad_params")
        if not _INT_RE.fullmatch(raw) or int(raw) > self.facts.max_stock:
            raise refusal("validation_error")
        return int(raw)

    # ------------------------------------------------------------------ orders

    def _ordered_bound(self, raw: str | None, *, end: bool) -> int | None:
        # "yyyy-mm-dd または yyyy-mm-dd hh:mm:ss" [B-orders], read as JST
        if raw is None or raw == "":
            return None
        match = _ORDERED_RE.fullmatch(raw)
        if match is None:
            raise refusal("bad_params")
        day, clock = match.groups()
        try:
            when = datetime.fromisoformat(f"{day}T{clock or ('23:59:59' if end else '00:00:00')}")
        except ValueError:
            raise refusal("bad_params") from None
        return _unix(when.replace(tzinfo=JST))

    def _orders(self, _path: str, params: dict[str, str]) -> httpx.Response:
        limit, offset = self._page(params)
        start = self._ordered_bound(params.get("start_ordered"), end=False)
        end = self._ordered_bound(params.get("end_ordered"), end=True)
        hits = [
            o
            for o in self.orders.values()
            if (start is None or o.ordered >= start) and (end is None or o.ordered <= end)
        ]
        hits.sort(key=lambda o: (o.ordered, o.unique_key), reverse=self.facts.newest_orders_first)
        rows = [self._order_row(o) for o in hits[offset : offset + limit]]
        return _json(200, {"orders": rows})

    @staticmethod
    def _order_row(order: SimOrder) -> dict[str, Any]:
        # [B-orders]
        return {
            "unique_key": order.unique_key,
            "ordered": order.ordered,
            "cancelled": order.cancelled,
            "dispatched": order.dispatched,
            "payment": order.payment,
            "first_name": "太郎",
            "last_name": "山田",
            "total": sum(line.price * line.amount for line in order.items),
            "terminated": order.dispatch_status in ("dispatched", "cancelled"),
            "dispatch_status": order.dispatch_status,
            "modified": order.modified,
        }

    def _order(self, path: str, _params: dict[str, str]) -> httpx.Response:
        key = path.removeprefix("/1/orders/detail/")
        if not key:
            raise refusal("no_unique_key")
        order = self.orders.get(key)
        if order is None:
            raise refusal("no_order")
        body = self._order_row(order)
        body["order_items"] = [
            {
                "order_item_id": line.order_item_id,
                "item_id": line.item_id,
                "variation_id": line.variation_id,
                "title": line.title,
                "variation": None if line.variation_id is None else f"種類 {line.variation_id}",
                "price": line.price,
                "amount": line.amount,
                "total": line.price * line.amount,
                "status": line.status,
                "shipping_method": None,
                "shipping_fee": 0,
                "modified": line.modified,
            }
            for line in order.items
        ]  # [B-order]
        return _json(200, {"order": body})

    # ------------------------------------------------------------------ internals

    @staticmethod
    def _split(code: str) -> tuple[int, int | None]:
        item, sep, variation = code.partition(":")
        if not _INT_RE.fullmatch(item) or (sep and not _INT_RE.fullmatch(variation)):
            raise ValueError(f"not a BASE code: {code!r}")
        return int(item), int(variation) if sep else None

    def _write(self, code: str, quantity: int) -> None:
        item_id, variation_id = self._split(code)
        item = self.items[item_id]
        if variation_id is None:
            item.stock = quantity
        else:
            item.variations[variation_id].stock = quantity
            item.stock = item.total()
        item.modified = _unix(self._clock.now())

    def _cancel(self, line: SimOrderItem, now: int) -> None:
        line.status, line.modified = "cancelled", now
        if not self.facts.restock_on_cancel:
            return
        code = (
            f"{line.item_id}"
            if line.variation_id is None
            else f"{line.item_id}:{line.variation_id}"
        )
        if self.stock(code) is not None:
            self._write(code, (self.stock(code) or 0) + line.amount)


Simulator = BaseSimulator
"""The name :func:`bot.sandbox.simulators.simulator_class` looks up."""
