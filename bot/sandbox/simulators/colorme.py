"""カラーミーショップ simulator: API v1 products, stock writes and sales over an httpx transport.

The adapter under test runs its production code against
``httpx.Client(transport=sim.transport, base_url="https://api.shop-pro.jp")``. Every
wire fact comes from ``docs/api/other-channels.md`` §5 and the sources below; where a
point is UNCONFIRMED the simulator takes it from :class:`Unconfirmed`, so a test can run
the adapter against either answer.

What a request meets, in order:

1. latency (``clock.sleep``), then any injected fault (:meth:`ColorMeSimulator.fail_next`);
2. routing (``/v1/<resource>[.json]``: a path the API does not serve is a bare 404),
   the bearer token (401), the 120 calls/min guide per token (429, if enforced);
3. the resource: reads with ``ids``/``fields``/``limit``/``offset`` and ``meta``,
   stock writes validated as a whole, 404100 for a record that does not exist.

Sources:
  [CM-readme] https://github.com/pepabo/colormeshop-ruby/blob/e280973/README.md
              (official SDK: token lifetime, the error envelope and its 404100 example)
  [CM-spec]   https://github.com/ryhrm-gz/colormeshop-js/blob/b0aa5e1/src/generated/types.gen.ts
              (generated from https://api.shop-pro.jp/v1/swagger.json)
  [CM-limit]  https://shop-pro.jp/?mode=api_call_limit (quoted at
              https://naeco.jp/colorme-shop-api-practice): 120 requests/min per token,
              "現在は超過したときの制限はありません"
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import unicodedata
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, ClassVar, Literal

import httpx

from bot.infra.clock import JST, Clock

__all__ = ["ColorMeSimulator", "SimRequest", "SimSale", "Simulator", "Unconfirmed"]

API_HOST = "api.shop-pro.jp"  # [CM-readme]
FailKind = Literal["429", "503", "500", "timeout", "401"]

# The one documented error: {"errors": [{"code": 404100, "message": …, "status": 404}]}.
RECORD_NOT_FOUND = (404100, "レコードが見つかりませんでした。")  # [CM-readme]
# The codes of every other refusal are not published: UNCONFIRMED placeholders in the
# documented envelope.
UNAUTHORIZED = (401000, "アクセストークンが無効です。")
TOO_MANY = (429000, "リクエスト数が多すぎます。")
INVALID = (400000, "パラメータが不正です。")

_ROUTE_RE = re.compile(r"^/v1/(shop|products|sales)(?:/(\d+))?(/cancel)?(\.json)?$")
_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2}))?")


@dataclass(frozen=True)
class Unconfirmed:
    """The simulator's answer to each point the sources leave open (see the module doc)."""

    path_suffix: Literal["both", "json", "bare"] = "both"
    """Which spelling of the paths is served: ``/v1/products/1.json`` as the official SDK
    calls it [CM-readme], ``/v1/products/1`` as the current spec lists it [CM-spec], or both."""
    date_params: Literal["datetime", "date_only"] = "datetime"
    """Whether a time of day in ``after``/``update_date_min``/… counts (JST), or only the date."""
    week_default_with_update_filter: bool = True
    """Without ``after``/``before`` the order-date window is the last 7 days [CM-spec];
    whether that still holds when ``update_date_min`` is given."""
    product_stocks_per_option: Literal["sum", "null"] = "sum"
    """What a product that keeps stock per option shows in its own ``stocks``."""
    unknown_variant: Literal["ignore", "reject"] = "ignore"
    """A ``variants[]`` element naming no variant: dropped silently, or refused (404100)."""
    auth_error_body: Literal["errors", "empty"] = "errors"
    """A 401's body: the API's envelope, or none (``WWW-Authenticate`` only, as OAuth servers do)."""
    enforce_call_limit: bool = True
    """Refuse calls over 120/min per token with 429 (the guide is not enforced today [CM-limit])."""
    max_stocks: int = 2_147_483_647
    """Largest ``stocks`` accepted (the range is not published)."""


@dataclass
class SimRequest:
    """One request as the simulator saw it (the request log)."""

    at: datetime
    method: str
    path: str
    route: str
    """``shop``, ``products``, ``product``, ``sales``, ``sale``, ``cancel``; '' when unrouted."""
    params: dict[str, str]
    body: Any
    status: int = 0
    code: int = 0
    """The ``errors[0].code`` answered (0 for none)."""
    injected: bool = False
    listings: int = 0
    """Listings a stock write named (the product itself counts one)."""


@dataclass
class _Variant:
    option1: str
    option2: str | None
    stocks: int
    model_number: str = ""


@dataclass
class _Product:
    product_id: int
    name: str
    stock_managed: bool
    stocks: int
    per_option: bool
    variants: list[_Variant]
    made: datetime
    updated: datetime


@dataclass
class SimDetail:
    """One ``details[]`` element of a sale."""

    detail_id: int
    product_id: int
    option1: str | None
    option2: str | None
    product_num: int


@dataclass
class SimSale:
    """One sale; a cancel keeps it with ``canceled: true`` and every line at 0 [CM-spec]."""

    sale_id: int
    made: datetime
    updated: datetime
    details: list[SimDetail]
    canceled: bool = False
    paid: bool = False
    delivered: bool = False


class _Answer(Exception):
    def __init__(self, response: httpx.Response, code: int = 0) -> None:
        super().__init__(code)
        self.response = response
        self.code = code


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def _json(status: int, body: Any) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps(body, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )


def error_response(status: int, code: int, message: str) -> httpx.Response:
    """``{"errors": [{"code", "message", "status"}]}``, the API's error envelope [CM-readme]."""
    return _json(status, {"errors": [{"code": code, "message": message, "status": status}]})


def _refuse(status: int, error: tuple[int, str]) -> _Answer:
    return _Answer(error_response(status, *error), error[0])


def _unix(when: datetime) -> int:
    return int(when.timestamp())


class ColorMeSimulator:
    """In-memory カラーミーショップ speaking API v1, as an httpx transport.

    Shop-world controls: :meth:`add_listing`, :meth:`add_product`, :meth:`set_stock` (a
    hand edit in the shop admin), :meth:`place_order`, :meth:`cancel_order`,
    :meth:`remove_line`; credentials: :meth:`expire_credentials`; faults:
    :meth:`fail_next`. State is readable through :meth:`pending_stock`, :attr:`sales`
    and the request log :attr:`requests` (:meth:`rejections` lists what the API refused).
    """

    key: ClassVar[str] = "colorme"
    # No published cap on variants per stock write: the adapter's own (VARIANTS_PER_PUT).
    max_write_batch: ClassVar[int] = 100
    CALLS_PER_MINUTE: ClassVar[int] = 120  # [CM-limit]
    PRODUCTS_MAX_LIMIT: ClassVar[int] = 50  # [CM-spec] getProducts "最大50"
    SALES_MAX_LIMIT: ClassVar[int] = 100  # [CM-spec] getSales "最大100"
    DEFAULT_LIMIT: ClassVar[int] = 10  # [CM-spec] "指定がない場合は10"
    DEFAULT_WINDOW: ClassVar[timedelta] = timedelta(days=7)  # [CM-spec] getSales after/before

    def __init__(
        self,
        *,
        clock: Clock,
        access_token: str = "sim-colorme-token-0123456789abcdef",
        account_id: str = "PA01234567",
        latency: float = 0.0,
        facts: Unconfirmed = Unconfirmed(),
    ) -> None:
        self._clock = clock
        self.access_token = access_token
        self.account_id = account_id
        self.latency = latency
        self.facts = facts
        self._lock = threading.RLock()
        self._transport = httpx.MockTransport(self.handle)
        self._tokens: set[str] = {access_token}
        self._products: dict[int, _Product] = {}
        self._faults: deque[FailKind] = deque()
        self._hits: dict[str, deque[float]] = {}
        self._sale_seq = itertools.count(50_000_001)
        self._detail_seq = itertools.count(90_000_001)
        self.requests: list[SimRequest] = []
        """Every request handled, in order."""
        self.sales: dict[str, SimSale] = {}
        """Every sale placed, by sale id."""

    # ------------------------------------------------------------------ SimulatedChannel

    def config(self) -> dict[str, Any]:
        """The ``[malls.colorme]`` table (credentials included) this simulator accepts."""
        return {"enabled": True, "access_token": self.access_token}

    @property
    def transport(self) -> httpx.BaseTransport:
        """The transport to mount under ``httpx.Client``."""
        return self._transport

    def sample_code(self, n: int) -> str:
        """Listing ``n``: a product, a one-option variant or a two-option variant in turn."""
        product_id = 100_000_000 + n
        if n % 3 == 1:
            return f"{product_id}:ブラック:M"
        if n % 3 == 2:
            return f"{product_id}:レッド"
        return str(product_id)

    def add_listing(self, code: str, qty: int) -> str:
        """List ``code`` (``商品ID[:値1[:値2]]``) with ``qty``; its canonical code.

        A product code makes a product managed as a whole; a variant code adds the
        variant to a product that keeps stock per option.
        """
        product_id, values = self._split(code)
        with self._lock:
            now = self._clock.now()
            product = self._products.get(product_id)
            if not values:
                if product is not None and product.per_option:
                    raise ValueError(f"product {product_id} keeps stock per option")
                if product is None:
                    self.add_product(product_id, stocks=qty)
                else:
                    product.stocks, product.updated = qty, now
                return str(product_id)
            if product is None:
                product = self.add_product(product_id, per_option=True, variants=[])
            elif not product.per_option:
                raise ValueError(f"product {product_id} keeps stock as a whole")
            variant = self._variant(product, values)
            if variant is None:
                second = values[1] if len(values) > 1 else None
                product.variants.append(_Variant(values[0], second, qty))
            else:
                variant.stocks = qty
            product.updated = now
            return ":".join([str(product_id), *(_fold(v) for v in values)])

    def set_stock(self, code: str, quantity: int) -> None:
        """A hand edit in the shop admin, live at once."""
        with self._lock:
            product, variant = self._listing(code)
            if variant is None:
                product.stocks = quantity
            else:
                variant.stocks = quantity
            product.updated = self._clock.now()

    def pending_stock(self, code: str) -> int | None:
        """The listing's stock (writes are live at once); None for an unknown code."""
        with self._lock:
            try:
                product, variant = self._listing(code)
            except KeyError:
                return None
            return variant.stocks if variant is not None else product.stocks

    def place_order(
        self, lines: Sequence[tuple[str, int]], *, at: datetime | None = None
    ) -> str | None:
        """A customer buys; the sale id, or None when the shop page refuses (out of stock).

        A line's code may name an option of a product kept as a whole (the customer
        still chooses it): the line records the option, the product's stock pays.
        """
        if not lines:
            raise ValueError("an order needs at least one line")
        with self._lock:
            resolved = [(self._listing(code, choice=True), units) for code, units in lines]
            taken: dict[int, int] = {}
            for (product, variant), units in resolved:
                if units < 1:
                    raise ValueError(f"units must be ≥ 1, got {units}")
                holder: _Product | _Variant = (
                    variant if variant is not None and product.per_option else product
                )
                taken[id(holder)] = taken.get(id(holder), 0) + units
                if product.stock_managed and holder.stocks < taken[id(holder)]:
                    return None
            now = self._clock.now()
            details = []
            for (product, variant), units in resolved:
                if product.stock_managed:
                    if variant is not None and product.per_option:
                        variant.stocks -= units
                    else:
                        product.stocks -= units
                    product.updated = now
                details.append(
                    SimDetail(
                        next(self._detail_seq),
                        product.product_id,
                        variant.option1 if variant else None,
                        variant.option2 if variant else None,
                        units,
                    )
                )
            made = (at or now).replace(microsecond=0)
            sale = SimSale(next(self._sale_seq), made, now.replace(microsecond=0), details)
            self.sales[str(sale.sale_id)] = sale
            return str(sale.sale_id)

    def cancel_order(self, order_number: str, *, restock: bool = False) -> None:
        """The shop cancels: ``canceled`` true, every line's 購入数 0; stock back if ``restock``.

        As the cancel API describes it, including its ``restock`` flag [CM-spec].
        """
        with self._lock:
            sale = self.sales[order_number]
            if sale.canceled:
                raise ValueError(f"sale {order_number} is already cancelled")
            now = self._clock.now()
            for detail in sale.details:
                if restock:
                    self._give_back(detail, now)
                detail.product_num = 0
            sale.canceled, sale.updated = True, now.replace(microsecond=0)

    def expire_credentials(self) -> None:
        """The owner revokes the app in 許可済みアプリケーション [CM-readme]."""
        with self._lock:
            self._tokens.clear()

    def fail_next(self, kind: FailKind, times: int = 1) -> None:
        """Answer the next ``times`` requests with a fault (``timeout`` raises ReadTimeout)."""
        with self._lock:
            self._faults.extend([kind] * times)

    def write_batch_sizes(self) -> list[int]:
        """Listings per stock write received, in order."""
        return [r.listings for r in self.requests if r.route == "product" and r.method == "PUT"]

    def refused_quantity(self) -> int:
        """Above the largest ``stocks`` this simulator accepts (:class:`Unconfirmed`)."""
        return self.facts.max_stocks + 1

    # ------------------------------------------------------------------ more controls

    def add_product(
        self,
        product_id: int,
        *,
        stocks: int = 0,
        per_option: bool = False,
        stock_managed: bool = True,
        variants: Sequence[tuple[str, str | None, int]] | None = None,
        name: str = "",
    ) -> _Product:
        """Register a product as the shop admin would, its variants as (値1, 値2, 在庫数)."""
        with self._lock:
            now = self._clock.now()
            product = _Product(
                product_id=product_id,
                name=name or f"商品 {product_id}",
                stock_managed=stock_managed,
                stocks=stocks,
                per_option=per_option,
                variants=[_Variant(a, b, n) for a, b, n in (variants or [])],
                made=now,
                updated=now,
            )
            self._products[product_id] = product
            return product

    def delete_product(self, product_id: int) -> None:
        """Staff delete a product in the admin."""
        with self._lock:
            del self._products[product_id]

    def remove_line(self, order_number: str, detail_id: int) -> None:
        """Staff delete one line of a sale in the admin (its stock goes back)."""
        with self._lock:
            sale = self.sales[order_number]
            detail = next(d for d in sale.details if d.detail_id == detail_id)
            now = self._clock.now()
            self._give_back(detail, now)
            sale.details.remove(detail)
            sale.updated = now.replace(microsecond=0)

    def rejections(self) -> list[SimRequest]:
        """Requests the API itself refused (status ≥ 400, injected faults excluded)."""
        return [r for r in self.requests if r.status >= 400 and not r.injected]

    # ------------------------------------------------------------------ the transport

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one request as カラーミー would."""
        request.read()
        if self.latency > 0:
            self._clock.sleep(self.latency)
        with self._lock:
            log = self._log(request)
            self.requests.append(log)
            if self._faults:
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
        body: Any = None
        if request.content:
            try:
                body = json.loads(request.content.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                body = request.content.decode("utf-8", "replace")
        return SimRequest(
            at=self._clock.now(),
            method=request.method,
            path=request.url.path,
            route="",
            params=dict(request.url.params),
            body=body,
        )

    def _fault(self, kind: FailKind) -> httpx.Response:
        if kind == "401":
            return error_response(401, *UNAUTHORIZED)
        if kind == "429":
            return error_response(429, *TOO_MANY)
        return error_response(int(kind), int(kind) * 1000, "サーバーエラーが発生しました。")

    def _serve(self, request: httpx.Request, log: SimRequest) -> httpx.Response:
        match = _ROUTE_RE.fullmatch(request.url.path)
        suffix_ok = match is not None and (
            self.facts.path_suffix == "both"
            or (self.facts.path_suffix == "json") == bool(match.group(4))
        )
        if match is None or not suffix_ok or request.url.host != API_HOST:
            # Not one of the API's routes: the web server's plain 404, not the envelope.
            raise _Answer(httpx.Response(404, text="Not Found"))
        resource, record, cancel = match.group(1), match.group(2), match.group(3)
        log.route = "cancel" if cancel else resource.rstrip("s") if record else resource
        self._authorize(request)
        key = (request.method, log.route)
        if key == ("GET", "shop"):
            return _json(200, {"shop": self._shop()})
        if key == ("GET", "products"):
            return self._list_products(log.params)
        if key == ("GET", "product"):
            return _json(200, {"product": self._product_json(self._record(int(record or 0)))})
        if key == ("PUT", "product"):
            return self._update_product(int(record or 0), log)
        if key == ("GET", "sales"):
            return self._list_sales(log.params)
        if key == ("GET", "sale"):
            sale = self.sales.get(record or "")
            if sale is None:
                raise _refuse(404, RECORD_NOT_FOUND)
            return _json(200, {"sale": self._sale_json(sale)})
        raise _Answer(httpx.Response(404, text="Not Found"))

    def _authorize(self, request: httpx.Request) -> None:
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header.startswith("Bearer ") else ""
        if token not in self._tokens:
            if self.facts.auth_error_body == "empty":
                challenge = 'Bearer realm="api", error="invalid_token"'
                raise _Answer(httpx.Response(401, headers={"WWW-Authenticate": challenge}))
            raise _refuse(401, UNAUTHORIZED)
        if not self.facts.enforce_call_limit:
            return
        now = self._clock.monotonic()
        hits = self._hits.setdefault(token, deque())
        while hits and now - hits[0] >= 60.0:
            hits.popleft()
        if len(hits) >= self.CALLS_PER_MINUTE:
            raise _refuse(429, TOO_MANY)
        hits.append(now)

    # ------------------------------------------------------------------ products

    def _shop(self) -> dict[str, Any]:
        # [CM-spec] shop: id, state (enabled / suspended / unsigned), url, …
        return {"id": self.account_id, "state": "enabled", "url": "https://sim.shop-pro.jp"}

    def _record(self, product_id: int) -> _Product:
        product = self._products.get(product_id)
        if product is None:
            raise _refuse(404, RECORD_NOT_FOUND)
        return product

    def _product_json(self, product: _Product, fields: set[str] | None = None) -> dict[str, Any]:
        stocks: int | None = product.stocks
        if product.per_option:
            total = sum(v.stocks for v in product.variants)
            stocks = total if self.facts.product_stocks_per_option == "sum" else None
        body: dict[str, Any] = {
            "account_id": self.account_id,
            "id": product.product_id,
            "name": product.name,
            "stocks": stocks if product.stock_managed else None,
            "stock_managed": product.stock_managed,
            "model_number": "",
            "display_state": "showing",
            "variants": [
                {
                    "product_id": product.product_id,
                    "account_id": self.account_id,
                    "option1_value": v.option1,
                    "option2_value": v.option2,
                    "title": v.option1 if v.option2 is None else f"{v.option1}　x　{v.option2}",
                    "stocks": v.stocks if product.per_option and product.stock_managed else None,
                    "model_number": v.model_number,
                }
                for v in product.variants
            ],
            "make_date": _unix(product.made),
            "update_date": _unix(product.updated),
        }
        return {k: v for k, v in body.items() if k in fields} if fields else body

    def _list_products(self, params: dict[str, str]) -> httpx.Response:
        limit, offset = self._paging(params, self.PRODUCTS_MAX_LIMIT)
        found = sorted(self._products.values(), key=lambda p: p.product_id)
        if params.get("ids"):
            ids = {int(i) for i in params["ids"].split(",") if i.strip().isdigit()}
            found = [p for p in found if p.product_id in ids]
        fields = self._fields(params)
        page = [self._product_json(p, fields) for p in found[offset : offset + limit]]
        meta = {"total": len(found), "limit": limit, "offset": offset}
        return _json(200, {"products": page, "meta": meta})

    def _update_product(self, product_id: int, log: SimRequest) -> httpx.Response:
        product = self._record(product_id)
        body = log.body
        wanted = body.get("product") if isinstance(body, dict) else None
        if not isinstance(wanted, dict):
            raise _refuse(400, INVALID)
        variants = wanted.get("variants")
        log.listings = len(variants) if isinstance(variants, list) else 1
        writes: list[tuple[_Variant | None, int]] = []
        if "stocks" in wanted and product.stock_managed and not product.per_option:
            # Ignored for a product that keeps stock per option [CM-spec].
            writes.append((None, self._new_stocks(wanted["stocks"], product.stocks)))
        if variants is not None:
            writes.extend(self._variant_writes(product, variants))
        now = self._clock.now()
        for variant, stocks in writes:
            if variant is None:
                product.stocks = stocks
            else:
                variant.stocks = stocks
        product.updated = now
        return _json(200, {"product": self._product_json(product)})

    def _variant_writes(self, product: _Product, variants: Any) -> list[tuple[_Variant, int]]:
        if not isinstance(variants, list):
            raise _refuse(400, INVALID)
        writes: list[tuple[_Variant, int]] = []
        for element in variants:
            if not isinstance(element, dict) or "stocks" not in element:
                raise _refuse(400, INVALID)
            values = [
                str(element[k])
                for k in ("option1_value", "option2_value")
                if element.get(k) not in (None, "")
            ]
            variant = self._variant(product, values, exact=True)
            if variant is None or not product.per_option:
                if self.facts.unknown_variant == "reject":
                    raise _refuse(404, RECORD_NOT_FOUND)
                continue
            writes.append((variant, self._new_stocks(element["stocks"], variant.stocks)))
        return writes

    def _new_stocks(self, value: Any, current: int) -> int:
        """A number, or ``{"increment": n}`` (the recommended delta form) [CM-spec]."""
        if isinstance(value, dict) and set(value) == {"increment"}:
            delta = value["increment"]
            if not isinstance(delta, int) or isinstance(delta, bool):
                raise _refuse(400, INVALID)
            result = current + delta
        elif isinstance(value, int) and not isinstance(value, bool):
            result = value
        else:
            raise _refuse(400, INVALID)
        if not 0 <= result <= self.facts.max_stocks:
            raise _refuse(400, INVALID)
        return result

    # ------------------------------------------------------------------ sales

    def _list_sales(self, params: dict[str, str]) -> httpx.Response:
        limit, offset = self._paging(params, self.SALES_MAX_LIMIT)
        after = self._date(params, "after", "make_date_min", upper=False)
        before = self._date(params, "before", "make_date_max", upper=True)
        updated_min = self._date(params, "update_date_min", "", upper=False)
        updated_max = self._date(params, "update_date_max", "", upper=True)
        has_update = updated_min is not None or updated_max is not None
        if after is None and (not has_update or self.facts.week_default_with_update_filter):
            # [CM-spec] "after 未指定時は before の7日前の0時、before 未指定時は現在から7日前の0時"
            anchor = (before or self._clock.now()).astimezone(JST) - self.DEFAULT_WINDOW
            after = datetime.combine(anchor.date(), time(), JST)
        found = [
            s
            for s in self.sales.values()
            if (after is None or s.made >= after)
            and (before is None or s.made <= before)
            and (updated_min is None or s.updated >= updated_min)
            and (updated_max is None or s.updated <= updated_max)
            and (params.get("canceled") != "true" or s.canceled)
        ]
        found.sort(key=lambda s: (s.made, s.sale_id), reverse=True)
        fields = self._fields(params)
        page = [self._sale_json(s, fields) for s in found[offset : offset + limit]]
        meta = {"total": len(found), "limit": limit, "offset": offset}
        return _json(200, {"sales": page, "meta": meta})

    def _sale_json(self, sale: SimSale, fields: set[str] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": sale.sale_id,
            "account_id": self.account_id,
            "make_date": _unix(sale.made),
            "update_date": _unix(sale.updated),
            "paid": sale.paid,
            "delivered": sale.delivered,
            "canceled": sale.canceled,
            "details": [
                {
                    "id": d.detail_id,
                    "sale_id": sale.sale_id,
                    "account_id": self.account_id,
                    "product_id": d.product_id,
                    "option1_value": d.option1,
                    "option2_value": d.option2,
                    "product_num": d.product_num,
                }
                for d in sale.details
            ],
        }
        return {k: v for k, v in body.items() if k in fields} if fields else body

    def _date(
        self, params: dict[str, str], name: str, alias: str, *, upper: bool
    ) -> datetime | None:
        raw = params.get(name) or (params.get(alias) if alias else None)
        if not raw:
            return None
        match = _DATE_RE.fullmatch(raw.strip())
        if match is None:
            raise _refuse(400, INVALID)
        y, m, d, hh, mm, ss = (int(g) if g is not None else None for g in match.groups())
        assert y is not None and m is not None and d is not None
        try:
            day = datetime(y, m, d, tzinfo=JST)
        except ValueError:
            raise _refuse(400, INVALID) from None
        if hh is None or self.facts.date_params == "date_only":
            return day + timedelta(days=1, seconds=-1) if upper else day
        return day.replace(hour=hh or 0, minute=mm or 0, second=ss or 0)

    # ------------------------------------------------------------------ helpers

    def _paging(self, params: dict[str, str], maximum: int) -> tuple[int, int]:
        """(実効limit, offset): a limit over the maximum is cut to it (meta shows it) [CM-spec]."""
        try:
            limit = int(params.get("limit", self.DEFAULT_LIMIT))
            offset = int(params.get("offset", 0))
        except ValueError:
            raise _refuse(400, INVALID) from None
        if limit < 1 or offset < 0:
            raise _refuse(400, INVALID)
        return min(limit, maximum), offset

    @staticmethod
    def _fields(params: dict[str, str]) -> set[str] | None:
        raw = params.get("fields", "")
        return {f.strip() for f in raw.split(",") if f.strip()} or None

    @staticmethod
    def _split(code: str) -> tuple[int, list[str]]:
        head, _sep, rest = code.strip().partition(":")
        values = [v.strip() for v in rest.split(":")] if rest else []
        return int(_fold(head)), values

    @staticmethod
    def _variant(
        product: _Product, values: Sequence[str], *, exact: bool = False
    ) -> _Variant | None:
        """The variant with these option values (raw when ``exact``, else folded)."""
        norm = (lambda s: s) if exact else _fold
        wanted = [norm(v) for v in values]
        for variant in product.variants:
            have = [norm(variant.option1)] + ([norm(variant.option2)] if variant.option2 else [])
            if have == wanted:
                return variant
        return None

    def _listing(self, code: str, *, choice: bool = False) -> tuple[_Product, _Variant | None]:
        """The product and variant of a code; KeyError when it names no listing.

        With ``choice``, an option of a product kept as a whole is found too (an order).
        """
        product_id, values = self._split(code)
        product = self._products.get(product_id)
        if product is None:
            raise KeyError(code)
        if not values:
            if product.per_option:
                raise KeyError(code)
            return product, None
        variant = self._variant(product, values) if product.per_option or choice else None
        if variant is None:
            raise KeyError(code)
        return product, variant

    def _give_back(self, detail: SimDetail, now: datetime) -> None:
        product = self._products.get(detail.product_id)
        if product is None or not product.stock_managed or detail.product_num <= 0:
            return
        values = [v for v in (detail.option1, detail.option2) if v]
        variant = self._variant(product, values, exact=True) if values else None
        if product.per_option and variant is not None:
            variant.stocks += detail.product_num
        elif not product.per_option:
            product.stocks += detail.product_num
        product.updated = now


Simulator = ColorMeSimulator
