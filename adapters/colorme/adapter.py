"""カラーミーショップ adapter: stock through ``PUT /v1/products/{id}``, orders from ``GET /v1/sales``.

Wire facts are in ``docs/api/other-channels.md`` §5 and :mod:`adapters.colorme.wire`
(sources [CM-readme], [CM-spec], [CM-limit]); each class attribute below cites its
source. What shapes this module:

- A stock write is per product: the product's ``stocks``, or ``variants[]`` elements
  named by their option values. A product that keeps stock per option *ignores* the
  top-level ``stocks`` [CM-spec], and a variant is named only by its values, so the
  adapter reads the product first (``GET /v1/products`` by ids, ≤ 50 a call, cached)
  and sends only writes that can land. The PUT answers with the product as stored;
  a listing whose number is not the one sent is reported ``rejected``, never
  ``applied``, so a write the API dropped silently cannot pass for done.
- A PUT refused as a whole is split until the bad variant is alone; products never
  share a request, so one bad product never sinks another.
- ``GET /v1/sales`` filters by update date (``update_date_min``) and carries the lines
  inline, so one search per cycle sees new sales and cancels of older ones. Its
  order-date window defaults to the last 7 days when no date is given [CM-spec]; the
  adapter always sends ``after`` (the start of the cancellation window) so a cancel of
  an older sale is found whichever reading of "no date" the API has.
- The access token does not expire: the owner may only revoke it [CM-readme]. The
  120 requests/min guide per token [CM-limit] is kept by one token bucket.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar, NamedTuple

import httpx
from pydantic import Field, SecretStr

from adapters.base import (
    AuthError,
    BuildContext,
    Channel,
    ChannelConfig,
    MallError,
    MallRejected,
    Stopped,
    TokenBucket,
    TransientError,
    Url,
    chunks,
    describe_settings,
    json_or_none,
    redact,
    rejected,
    request_with_retry,
    screen_pushes,
)
from adapters.colorme.codes import ColorMeCode, canonical_code, code_problem, line_code, parse_code
from adapters.colorme.orders import Sale, parse_sale, with_vanished
from adapters.colorme.wire import (
    Product,
    RecordNotFound,
    RouteNotFound,
    Variant,
    classify,
    format_param,
    int_or_none,
    parse_product,
)
from bot.core.domain import CheckResult, OrderLine, PushResult, PushStatus, StockPush
from bot.infra.clock import Clock


class ColorMeConfig(ChannelConfig):
    """``[malls.colorme]``: カラーミーショップ API v1 with one OAuth access token.

    Secret (environment only): ``ZAIKO_COLORME_ACCESS_TOKEN``, from the OAuth
    authorization of the shop's own app on カラーミーデベロッパー (scopes
    ``read_products write_products read_sales``). It does not expire [CM-readme].
    """

    required: ClassVar[Mapping[str, str]] = {
        "access_token": "アクセストークン（カラーミーデベロッパーのアプリで認可して取得）",
    }

    base_url: Url = "https://api.shop-pro.jp"
    requests_per_minute: int = Field(default=120, ge=1, le=120)
    """Calls per minute this bot allows itself (the guide is 120 per token [CM-limit];
    lower it when other tools share the same token)."""
    restocks_on_cancel: bool = False
    """Whether the shop cancels with 在庫を戻す (the cancel API's ``restock``): then
    カラーミー has put the units back on its own listing."""
    access_token: SecretStr | None = None


COLORME = Channel(
    key="colorme",
    label="カラーミー",
    name="カラーミーショップ",
    aliases=("カラーミーショップ", "ColorMe", "ColorMeShop", "colorme"),
    code_note=(
        "カラーミーショップの商品ID（管理画面の商品URLの数字、例 123456789）。"
        "オプションごとに在庫管理している商品は「商品ID:オプション1の値」または"
        "「商品ID:オプション1の値:オプション2の値」（例 123456789:レッド:M）。"
        "複数あるときはカンマ（,）区切り。空欄＝カラーミーでは売っていない。"
    ),
    auth_hint=(
        "カラーミーショップがアクセストークンを受け付けません。ショップ管理画面の許可済みアプリ"
        "一覧で取り消されていないか確認し、カラーミーデベロッパーのアプリで read_products・"
        "write_products・read_sales を許可して新しいアクセストークンを取得し、環境変数 "
        "ZAIKO_COLORME_ACCESS_TOKEN を更新してからボットを再起動してください。"
    ),
    expiry_note="アクセストークンに有効期限はありません（ショップが取り消すまで有効）",
    code_width=200,
    code_problem=code_problem,
)


class ColorMeAdapter:
    """カラーミーショップ via API v1: stock by ``商品ID[:オプション値]``, orders by sales."""

    name: ClassVar[str] = "colorme"
    channel: ClassVar[Channel] = COLORME
    Config: ClassVar[type[ChannelConfig]] = ColorMeConfig
    secret_fields: ClassVar[tuple[str, ...]] = ("access_token",)

    # All URIs are relative to https://api.shop-pro.jp. [CM-readme]
    BASE_URL: ClassVar[str] = "https://api.shop-pro.jp"
    API_PREFIX: ClassVar[str] = "/v1/"
    # The official SDK's paths end in ".json" (/v1/products/{productId}.json) [CM-readme];
    # the current spec's paths have no suffix [CM-spec]. Which the API still serves is
    # UNCONFIRMED: the adapter starts with ".json" and switches once on a 404 that is
    # not the API's own error envelope (a missing route, not a missing record).
    PATH_SUFFIXES: ClassVar[tuple[str, str]] = (".json", "")
    # 120 requests a minute per access token, a guide not enforced today. [CM-limit]
    REQUESTS_PER_MINUTE: ClassVar[int] = 120
    # GET /v1/products: limit "最大50"; GET /v1/sales: "最大100". The answer's
    # meta.limit is the "実効limit" (what was applied), so paging follows it. [CM-spec]
    PRODUCTS_PAGE: ClassVar[int] = 50
    SALES_PAGE: ClassVar[int] = 100
    # The keys a stock read needs ("fields で必要なキーを指定することを推奨" [CM-spec]).
    PRODUCT_FIELDS: ClassVar[str] = "id,stock_managed,stocks,variants"
    SALE_FIELDS: ClassVar[str] = "id,make_date,update_date,paid,delivered,canceled,details"
    # No published cap on variants per PUT: ours, to keep one request small.
    VARIANTS_PER_PUT: ClassVar[int] = 100
    # The range of ``stocks`` is not published (UNCONFIRMED); a signed 32-bit integer is
    # assumed, and a number refused anyway comes back as a 4xx for that product alone.
    MAX_QUANTITY: ClassVar[int] = 2_147_483_647
    MAX_BISECT_SPLITS: ClassVar[int] = 16
    # How long a product read is trusted (ours: options change rarely; a code that the
    # cached product lacks is read again at once).
    KNOWN_PRODUCT_TTL_S: ClassVar[float] = 3600.0

    def __init__(
        self,
        client: httpx.Client,
        *,
        access_token: str,
        clock: Clock,
        stop: threading.Event | None = None,
        rng: random.Random | None = None,
        cancel_window_days: int = 60,
        requests_per_minute: int = REQUESTS_PER_MINUTE,
        restocks_on_cancel: bool = False,
        max_tries: int = 5,
        max_total_wait: float = 60.0,
    ) -> None:
        self._client = client
        self._token = access_token
        self._clock = clock
        self._stop = stop
        self._rng = rng if rng is not None else random.Random()
        self.cancel_window = timedelta(days=cancel_window_days)
        self.restocks_on_cancel = restocks_on_cancel
        self._max_tries = max_tries
        self._max_total_wait = max_total_wait
        self._secrets: tuple[str, ...] = (access_token,) if access_token else ()
        self._bucket = TokenBucket(requests_per_minute / 60.0, 1, clock)
        self._suffix = self.PATH_SUFFIXES[0]
        self._suffix_known = False
        self._products: dict[int, tuple[Product, float]] = {}
        """product id → (what a read or a PUT answer showed, monotonic time of it)."""
        self._sales: dict[str, Sale] = {}
        """Sales of the cancel window as last read (for lines that vanish from a sale)."""

    @classmethod
    def from_config(
        cls, config: ColorMeConfig, client: httpx.Client, context: BuildContext
    ) -> ColorMeAdapter:
        """The adapter ``run`` uses: the token from the environment, waits on the stop event."""
        return cls(
            client,
            access_token=config.secret("access_token"),
            clock=context.clock,
            stop=context.stop,
            cancel_window_days=context.cancel_window_days,
            requests_per_minute=config.requests_per_minute,
            restocks_on_cancel=config.restocks_on_cancel,
        )

    def describe(self) -> dict[str, str]:
        """Settings for logs and 接続テスト, with the token masked."""
        return describe_settings(
            {
                "mall": self.name,
                "base_url": str(self._client.base_url),
                "access_token": self._token,
                "requests_per_minute": round(self._bucket.rate_per_s * 60),
                "cancel_window_days": self.cancel_window.days,
            },
            self.secret_fields,
        )

    @staticmethod
    def canonical_code(code: str) -> str:
        """``商品ID[:オプション値]`` folded (see :mod:`adapters.colorme.codes`)."""
        return canonical_code(code)

    # ------------------------------------------------------------------ http

    def _call(
        self,
        method: str,
        name: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
    ) -> dict[str, Any]:
        """One API call on ``/v1/<name>[.json]``; the JSON object it answered."""
        while True:
            try:
                response = request_with_retry(
                    self._client,
                    method,
                    f"{self.API_PREFIX}{name}{self._suffix}",
                    classify=lambda r: classify(r, now=self._clock.now(), secrets=self._secrets),
                    clock=self._clock,
                    stop=self._stop,
                    bucket=self._bucket,
                    rng=self._rng,
                    secrets=self._secrets,
                    max_tries=self._max_tries,
                    max_total_wait=self._max_total_wait,
                    params=params,
                    json=json,
                    headers={
                        "Authorization": f"Bearer {self._token}",
                        "Accept": "application/json",
                    },
                    label="カラーミー",
                )
            except RouteNotFound as err:
                if self._suffix_known:
                    if "/" in name:
                        # The route is known good: a bare 404 on one record is that record.
                        raise RecordNotFound(str(err), code=err.code) from None
                    raise MallError(str(err)) from None
                # The other spelling of the paths; the first answer settles it.
                self._suffix_known = True
                self._suffix = self.PATH_SUFFIXES[1 - self.PATH_SUFFIXES.index(self._suffix)]
                continue
            self._suffix_known = True
            body = json_or_none(response)
            if not isinstance(body, dict):
                # A 2xx that is not JSON is a proxy or maintenance page, not an answer.
                raise TransientError(
                    f"カラーミー: 応答を読み取れませんでした（HTTP {response.status_code}）"
                )
            return body

    # ------------------------------------------------------------------ check

    def check(self) -> CheckResult:
        """接続テスト: the shop (token valid) and one sale (the ``read_sales`` scope)."""
        now = self._clock.now()
        try:
            shop = self._call("GET", "shop").get("shop") or {}
            self._call(
                "GET",
                "sales",
                params={"after": format_param(now - timedelta(days=1)), "limit": "1"},
            )
        except Stopped:
            raise
        except AuthError as err:
            return CheckResult(mall=self.name, ok=False, message=redact(str(err), self._secrets))
        except MallError as err:
            return CheckResult(
                mall=self.name,
                ok=False,
                message=redact(f"カラーミー: 接続NG（{err}）", self._secrets),
            )
        shop_id = str(shop.get("id") or "?") if isinstance(shop, dict) else "?"
        if isinstance(shop, dict) and shop.get("state") == "suspended":
            # shop.state: enabled / suspended / unsigned (お試し期間中). [CM-spec]
            return CheckResult(
                mall=self.name,
                ok=False,
                message=f"カラーミー: ショップ {shop_id} は停止中です（ショップの契約状態を確認してください）",
            )
        return CheckResult(
            mall=self.name,
            ok=True,
            message=f"カラーミー: 接続OK（ショップ {shop_id}、アクセストークンに有効期限はありません）",
        )

    # ------------------------------------------------------------------ products

    def _read_products(self, product_ids: Iterable[int]) -> dict[int, Product]:
        """Read the given products (≤ 50 ids a call); refreshes the cache, drops the missing."""
        wanted = sorted(set(product_ids))
        found: dict[int, Product] = {}
        for chunk in chunks(wanted, self.PRODUCTS_PAGE):
            asked = set(chunk)
            offset = 0
            while True:
                body = self._call(
                    "GET",
                    "products",
                    params={
                        "ids": ",".join(str(i) for i in chunk),
                        "fields": self.PRODUCT_FIELDS,
                        "limit": str(self.PRODUCTS_PAGE),
                        "offset": str(offset),
                    },
                )
                items = body.get("products") or []
                for item in items:
                    product = parse_product(item)
                    if product is not None and product.product_id in asked:
                        found[product.product_id] = product
                following = _next_offset(body, offset, self.PRODUCTS_PAGE)
                if not items or following is None:
                    break
                offset = following
        now = self._clock.monotonic()
        for product_id in wanted:
            if product_id in found:
                self._products[product_id] = (found[product_id], now)
            else:
                self._products.pop(product_id, None)
        return found

    def _cached(self, product_id: int) -> Product | None:
        entry = self._products.get(product_id)
        return entry[0] if entry is not None else None

    def _refresh_for(self, codes: Iterable[ColorMeCode]) -> None:
        """Read the products of ``codes`` whose read is stale or lacks the code's variant."""
        now = self._clock.monotonic()
        stale: set[int] = set()
        for code in codes:
            entry = self._products.get(code.product_id)
            if (
                entry is None
                or now - entry[1] > self.KNOWN_PRODUCT_TTL_S
                or (code.options and code.options not in entry[0].variants)
            ):
                stale.add(code.product_id)
        if stale:
            self._read_products(stale)

    def read_stock(self, codes: Sequence[str]) -> dict[str, int]:
        """What カラーミー shows now for each code it can hold, keyed as given.

        Unknown products and variants, products that keep no stock, and codes of the
        wrong kind for their product (see :meth:`_target`) are left out.
        """
        parsed = {code: parse_code(code) for code in codes}
        products = self._read_products(p.product_id for p in parsed.values() if p is not None)
        out: dict[str, int] = {}
        for code, p in parsed.items():
            if p is None or (product := products.get(p.product_id)) is None:
                continue
            target = _target(product, p)
            if target.problem:
                continue
            variant = target.variant
            shown = variant.stocks if variant is not None else product.stocks
            if shown is not None:
                out[code] = shown
        return out

    # ------------------------------------------------------------------ push

    def push_stock(self, pushes: Sequence[StockPush]) -> list[PushResult]:
        """Absolute stock per listing, one PUT per product; one result per push, in order.

        ``compare_to`` is not sent: the API has no compare-and-set (its ``increment``
        form adds, which a retry would repeat), so the engine's read-back covers
        unseen sales (§4.5). ``backorder`` is not sent either: the API has no field for it.
        """
        results: list[PushResult | None] = [None] * len(pushes)
        last_index = self._screen(pushes, results)
        codes = {code: parse_code(code) for code in last_index}
        self._refresh_for(c for c in codes.values() if c is not None)
        groups: dict[int, list[tuple[int, Variant | None]]] = {}
        for code, i in sorted(last_index.items(), key=lambda kv: kv[1]):
            parsed = codes[code]
            assert parsed is not None  # _screen passes only codes that parse
            product = self._cached(parsed.product_id)
            if product is None:
                results[i] = _unknown(pushes[i], f"商品ID『{parsed.product_id}』の商品")
                continue
            target = _target(product, parsed)
            if target.missing:
                results[i] = _unknown(pushes[i], target.problem)
                continue
            if target.problem:
                results[i] = rejected(pushes[i], target.problem)
                continue
            groups.setdefault(parsed.product_id, []).append((i, target.variant))
        for product_id, items in groups.items():
            if items[0][1] is None:
                self._send(product_id, items, pushes, results)
            else:
                for part in chunks(items, self.VARIANTS_PER_PUT):
                    self._send(product_id, part, pushes, results)
        final = [r for r in results if r is not None]
        assert len(final) == len(pushes), "every push gets a result"
        return final

    def _screen(
        self, pushes: Sequence[StockPush], results: list[PushResult | None]
    ) -> dict[str, int]:
        """Reject what カラーミー would refuse anyway; canonical code → index of its last push."""
        return screen_pushes(
            pushes,
            results,
            canonical=self.canonical_code,
            problem=self._push_problem,
            code_word="カラーミーコード",
        )

    def _push_problem(self, push: StockPush, code: str) -> str | None:
        """Why カラーミー would refuse this push, before any call; None when it may be sent."""
        problem = code_problem(code)
        if problem is not None:
            return f"カラーミーコード『{push.code}』: {problem}"
        if push.quantity > self.MAX_QUANTITY:
            return (
                f"在庫数 {push.quantity} はカラーミーに送れる上限 {self.MAX_QUANTITY:,} を"
                "超えるため送信しませんでした"
            )
        return None

    def _send(
        self,
        product_id: int,
        batch: list[tuple[int, Variant | None]],
        pushes: Sequence[StockPush],
        results: list[PushResult | None],
    ) -> None:
        """PUT one product's listings; a refused request is halved until the bad one is alone."""
        pending = [batch]
        splits_left = self.MAX_BISECT_SPLITS
        while pending:
            part = pending.pop()
            if not part:
                continue
            try:
                answer = self._call("PUT", f"products/{product_id}", json=_put_body(part, pushes))
            except RecordNotFound:
                self._products.pop(product_id, None)  # deleted since it was read
                for i, _variant in part:
                    results[i] = _unknown(pushes[i], f"商品ID『{product_id}』の商品")
                continue
            except MallRejected as err:
                if len(part) > 1 and splits_left > 0:
                    splits_left -= 1
                    mid = len(part) // 2
                    pending.extend([part[mid:], part[:mid]])
                else:
                    for i, _variant in part:
                        results[i] = rejected(pushes[i], f"カラーミーが更新を拒否しました（{err}）")
                continue
            self._record(product_id, part, pushes, results, answer)

    def _record(
        self,
        product_id: int,
        part: list[tuple[int, Variant | None]],
        pushes: Sequence[StockPush],
        results: list[PushResult | None],
        answer: Mapping[str, Any],
    ) -> None:
        """Each listing's result from the product the PUT answered with [CM-spec].

        A write the API dropped without a word (a product switched to per-option
        stock ignores its own ``stocks``; an unknown variant may be skipped) shows as a
        number that is not the one sent, or as a listing of the wrong kind: that push
        is ``rejected``. An answer without the product (or its variants) is trusted.
        """
        raw = answer.get("product")
        stored = parse_product(raw)
        if stored is None or stored.product_id != product_id:
            stored = None
        else:
            self._products[product_id] = (stored, self._clock.monotonic())
        has_variants = isinstance(raw, dict) and "variants" in raw
        for i, variant in part:
            push = pushes[i]
            problem = ""
            if stored is not None and (variant is None or has_variants):
                code = ColorMeCode(product_id, variant.key if variant is not None else "")
                target = _target(stored, code)
                shown = target.variant.stocks if target.variant is not None else stored.stocks
                if target.problem:
                    problem = target.problem
                elif shown is not None and shown != push.quantity:
                    problem = f"送信 {push.quantity}、反映後 {shown}"
            if problem:
                results[i] = rejected(push, f"カラーミーが在庫数を反映しませんでした（{problem}）")
            else:
                results[i] = PushResult(
                    code=push.code, status=PushStatus.APPLIED, quantity=push.quantity
                )

    # ------------------------------------------------------------------ orders

    def fetch_order_lines(self, since: datetime, until: datetime) -> list[OrderLine]:
        """Lines of every sale updated since ``since`` and placed within the cancel window.

        One search by update date: a new sale, a cancel and an edit all move
        ``update_date``. Lines an earlier read of the same sale had and this one lacks
        are reported at 0 units. Memory is per process and committed only after every
        call succeeded, so a failed fetch hides nothing from the next one.
        """
        if until < since:
            return []
        window_start = until - self.cancel_window
        raw = self._search_sales(since, window_start)
        self._learn_option_products(raw)
        reports: dict[str, Sale] = {}
        for item in raw:
            sale = parse_sale(
                item,
                mall=self.name,
                code_of=self._line_code,
                restocks_on_cancel=self.restocks_on_cancel,
            )
            if sale is not None:
                reports[sale.sale_id] = sale
        lines = [
            line
            for sale_id, sale in reports.items()
            for line in with_vanished(sale, self._sales.get(sale_id))
        ]
        memory = {
            sale_id: sale
            for sale_id, sale in {**self._sales, **reports}.items()
            if sale.made is None or sale.made >= window_start
        }
        self._sales = memory
        now = self._clock.now()
        lines.sort(key=lambda ln: (ln.ordered_at or now, ln.order_id, ln.line_id))
        return lines

    def _search_sales(self, since: datetime, window_start: datetime) -> list[dict[str, Any]]:
        """Every sale updated since ``since`` and placed after ``window_start``, all pages."""
        found: dict[str, dict[str, Any]] = {}
        offset = 0
        while True:
            body = self._call(
                "GET",
                "sales",
                params={
                    "update_date_min": format_param(since),
                    "after": format_param(window_start),
                    "fields": self.SALE_FIELDS,
                    "limit": str(self.SALES_PAGE),
                    "offset": str(offset),
                },
            )
            items = body.get("sales") or []
            for item in items:
                if isinstance(item, dict) and int_or_none(item.get("id")) is not None:
                    found[str(item["id"])] = item  # a sale seen twice across pages: once
            offset_next = _next_offset(body, offset, self.SALES_PAGE)
            if not items or offset_next is None:
                return list(found.values())
            offset = offset_next

    def _learn_option_products(self, sales: Sequence[dict[str, Any]]) -> None:
        """Read the products of option lines whose stock mode is not known yet."""
        needed: set[int] = set()
        for sale in sales:
            for detail in sale.get("details") or []:
                if not isinstance(detail, dict) or not (
                    detail.get("option1_value") or detail.get("option2_value")
                ):
                    continue
                product_id = int_or_none(detail.get("product_id"))
                if product_id is not None and product_id not in self._products:
                    needed.add(product_id)
        if needed:
            self._read_products(needed)

    def _line_code(self, product_id: int, option1: Any, option2: Any) -> str:
        """An order line's code: the product alone when its stock is not kept per option."""
        product = self._cached(product_id)
        if product is not None and not product.per_option:
            return str(product_id)
        return line_code(product_id, option1, option2)


# --------------------------------------------------------------------------- helpers


class _Target(NamedTuple):
    """What a code writes on its product: a variant (None: the product itself) or why not."""

    variant: Variant | None = None
    problem: str = ""
    missing: bool = False
    """The listing does not exist (``unknown_code``) rather than being of the wrong kind."""


def _target(product: Product, code: ColorMeCode) -> _Target:
    """The listing a code writes, or why it cannot be written (in staff's words)."""
    if not product.stock_managed:
        return _Target(
            problem=f"商品ID『{product.product_id}』は在庫管理しない設定のため、在庫数を送れません"
            "（カラーミーの商品設定で在庫管理を「する」にしてください）"
        )
    if not code.options:
        if product.per_option:
            return _Target(
                problem=f"商品ID『{product.product_id}』はオプションごとに在庫管理しているため、"
                "商品全体の在庫数はカラーミーに無視されます。「商品ID:オプションの値」の形で"
                "各オプションを登録してください"
            )
        return _Target()
    if product.variants and not product.per_option:
        return _Target(
            problem=f"商品ID『{product.product_id}』はオプションごとではなく商品全体で在庫管理して"
            f"いるため、コードは商品IDだけ（{product.product_id}）にしてください"
        )
    variant = product.variants.get(code.options)
    if variant is None:
        return _Target(
            problem=f"商品ID『{product.product_id}』の『{code.options}』というオプション",
            missing=True,
        )
    return _Target(variant=variant)


def _unknown(push: StockPush, what: str) -> PushResult:
    return PushResult(
        code=push.code,
        status=PushStatus.UNKNOWN_CODE,
        message=f"カラーミーショップに{what}が見つかりません",
    )


def _put_body(part: list[tuple[int, Variant | None]], pushes: Sequence[StockPush]) -> Any:
    """``{"product": {"stocks": n}}`` or ``{"product": {"variants": [...]}}`` [CM-spec].

    The absolute number, not ``{"increment": n}``: repeating an absolute write is
    harmless, repeating an increment after a lost answer is not.
    """
    if part[0][1] is None:
        return {"product": {"stocks": pushes[part[0][0]].quantity}}
    return {
        "product": {
            "variants": [
                {**variant.body(), "stocks": pushes[i].quantity}
                for i, variant in part
                if variant is not None
            ]
        }
    }


def _next_offset(body: Mapping[str, Any], offset: int, asked: int) -> int | None:
    """The next page's offset from ``meta`` (total, 実効limit), or None after the last page."""
    meta = body.get("meta")
    meta = meta if isinstance(meta, dict) else {}
    total = int_or_none(meta.get("total"))
    limit = int_or_none(meta.get("limit")) or asked
    following = offset + max(limit, 1)
    if total is None or following >= total:
        return None
    return following
