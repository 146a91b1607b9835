"""BASE adapter: stock by ``POST /1/items/edit_stock``, orders by ``GET /1/orders``.

Wire facts are in ``docs/api/other-channels.md`` §4; each class attribute cites its
source (keys as in :mod:`adapters.thebase.wire`). What shapes this module:

- One item or one variation per edit_stock call [B-stock], so a push is one call per
  listing, paced and counted against BASE's 5,000 calls an hour and 100,000 a day per
  user [B-readme] (:class:`~adapters.thebase.wire.Budget`). A code BASE does not know
  is refused by BASE itself (``bad_item_id`` / ``bad_variation_id``): ``unknown_code``
  for that listing alone, with no existence check spent beforehand.
- A code is ``item_id`` or ``item_id:variation_id``. An item with variations keeps its
  stock as their sum [B-stock], so ``item_id`` alone for such an item cannot be pushed:
  it is refused for that listing with a message saying which form to use, whether BASE
  would ignore or refuse the item-level number (UNCONFIRMED).
- Reads: ``/1/items/detail/:item_id`` per item for a few items, ``/1/items`` pages of
  100 for many [B-items][B-detail].
- Tokens rotate (:mod:`adapters.thebase.auth`): the newest refresh token lives in the
  channel's TokenStore, kept encrypted in ``_state`` by the worker.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar

import httpx
from pydantic import Field, SecretStr

from adapters.base import (
    AuthError,
    BuildContext,
    Channel,
    ChannelConfig,
    MallError,
    MallRejected,
    MemoryTokens,
    Stopped,
    TokenBucket,
    TokenStore,
    Url,
    describe_settings,
    redact,
    rejected,
    screen_pushes,
)
from adapters.thebase.auth import TheBaseAuthorization, TokenSession
from adapters.thebase.orders import OrderBook
from adapters.thebase.wire import (
    UNKNOWN_CODE_ERRORS,
    Budget,
    TokenRejected,
    Wire,
    canonical_code,
    code_problem,
    json_body,
    parse_code,
)
from bot.core.domain import CheckResult, OrderLine, PushResult, PushStatus, StockPush
from bot.infra.clock import Clock, to_jst

BASE_URL = "https://api.thebase.in"  # "https://api.thebase.in/ 配下 (httpsのみ)" [B-readme]


class TheBaseConfig(ChannelConfig):
    """``[malls.base]``: a BASE Developers application connected to the shop by OAuth.

    Secrets (environment only): ``ZAIKO_BASE_CLIENT_ID``, ``ZAIKO_BASE_CLIENT_SECRET``
    (BASE Developers → アプリ) and optionally ``ZAIKO_BASE_REFRESH_TOKEN`` (the first one;
    ``auth base`` stores newer ones).
    """

    required: ClassVar[Mapping[str, str]] = {
        "client_id": "client_id（BASE Developers のアプリ）",
        "client_secret": "client_secret（BASE Developers のアプリ）",
    }

    base_url: Url = BASE_URL
    redirect_uri: str = ""
    """The application's registered callback URL (login and every token refresh send it)."""
    hourly_request_limit: int = Field(default=5_000, ge=1)
    daily_request_limit: int = Field(default=100_000, ge=1)
    cancel_rescan_seconds: int = Field(default=300, ge=15, le=86_400)
    restocks_on_cancel: bool = True
    client_id: SecretStr | None = None
    client_secret: SecretStr | None = None
    refresh_token: SecretStr | None = None


THEBASE = Channel(
    key="base",
    label="BASE",
    name="BASE",
    aliases=("ベイス", "BASE（ベイス）", "thebase", "thebase.in"),
    code_note=(
        "BASEの商品ID（item_id、半角数字）。バリエーションがある商品は「商品ID:バリエーションID」"
        "（例 12345678:23456789）。複数あるときはカンマ（,）区切り。空欄＝BASEでは売っていない。"
    ),
    auth_hint=(
        "python -m bot auth base を実行して BASE のアプリ連携を再認可してください"
        "（リフレッシュトークンは 30 日で期限切れになります）。"
        "client_id・client_secret を変えたときは ZAIKO_BASE_CLIENT_ID と "
        "ZAIKO_BASE_CLIENT_SECRET を更新してボットを再起動してください。"
    ),
    expiry_note="リフレッシュトークンの有効期限は 30 日です。切れたら python -m bot auth base で再認可します",
    rotating_tokens=True,
    code_width=160,
    authorization=TheBaseAuthorization(),
    code_problem=code_problem,
)


class TheBaseAdapter:
    """BASE via its public API v1: stock by ``item_id[:variation_id]``."""

    name: ClassVar[str] = "base"
    channel: ClassVar[Channel] = THEBASE
    Config: ClassVar[type[ChannelConfig]] = TheBaseConfig
    secret_fields: ClassVar[tuple[str, ...]] = ("client_id", "client_secret", "refresh_token")

    BASE_URL: ClassVar[str] = BASE_URL
    PATH_EDIT_STOCK: ClassVar[str] = "/1/items/edit_stock"  # [B-stock] POST, form
    PATH_ITEMS: ClassVar[str] = "/1/items"  # [B-items]
    PATH_ITEM: ClassVar[str] = "/1/items/detail/"  # [B-detail]
    PATH_ORDERS: ClassVar[str] = "/1/orders"  # [B-orders]
    # One item (or one of its variations) per edit_stock call. [B-stock]
    WRITE_BATCH: ClassVar[int] = 1
    # /1/items limit: default 20, MAX 100. [B-items]
    ITEMS_PAGE: ClassVar[int] = 100
    # Up to this many items are read one by one (/1/items/detail); more by listing.
    DETAIL_READS_MAX: ClassVar[int] = 10
    # 5,000 calls an hour and 100,000 a day per user, reset at :00 [B-readme] (2019; the
    # current figures are UNCONFIRMED, hence settings). Paced to the hourly figure
    # spread over the hour, with a burst of a few cycles' calls.
    HOURLY_LIMIT: ClassVar[int] = 5_000
    DAILY_LIMIT: ClassVar[int] = 100_000
    BURST: ClassVar[int] = 60
    # Read-backs give way once this share of the hour's budget is used.
    READ_BUDGET_SHARE: ClassVar[float] = 0.8

    def __init__(
        self,
        client: httpx.Client,
        *,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        clock: Clock,
        refresh_token: str = "",
        tokens: TokenStore | None = None,
        stop: threading.Event | None = None,
        rng: random.Random | None = None,
        cancel_window_days: int = 60,
        hourly_request_limit: int = HOURLY_LIMIT,
        daily_request_limit: int = DAILY_LIMIT,
        cancel_rescan_seconds: float = 300.0,
        restocks_on_cancel: bool = True,
        max_tries: int = 5,
        max_total_wait: float = 60.0,
    ) -> None:
        self._client = client
        self._clock = clock
        self._client_id = client_id
        self.redirect_uri = redirect_uri
        self.budget = Budget(hourly_request_limit, daily_request_limit, clock)
        self._wire = Wire(
            client=client,
            clock=clock,
            stop=stop,
            budget=self.budget,
            bucket=TokenBucket(hourly_request_limit / 3600.0, self.BURST, clock),
            rng=rng if rng is not None else random.Random(),
            secrets=self._secrets,
            max_tries=max_tries,
            max_total_wait=max_total_wait,
        )
        self.session = TokenSession(
            self._wire,
            client_id=client_id,
            client_secret=client_secret,
            redirect_uri=redirect_uri,
            configured_refresh_token=refresh_token,
            tokens=tokens if tokens is not None else MemoryTokens(),
        )
        self.orders = OrderBook(
            self._get,
            clock=clock,
            budget=self.budget,
            cancel_window=timedelta(days=cancel_window_days),
            rescan_seconds=cancel_rescan_seconds,
            restocks_on_cancel=restocks_on_cancel,
        )
        self._variations: dict[str, frozenset[str]] = {}
        """item_id → its variation ids, from every item body seen (pushes screen on it)."""

    @classmethod
    def from_config(
        cls, config: TheBaseConfig, client: httpx.Client, context: BuildContext
    ) -> TheBaseAdapter:
        """The adapter ``run`` uses: secrets from the config, tokens in ``context.tokens``."""
        return cls(
            client,
            client_id=config.secret("client_id"),
            client_secret=config.secret("client_secret"),
            redirect_uri=config.redirect_uri,
            refresh_token=config.secret("refresh_token"),
            tokens=context.tokens,
            clock=context.clock,
            stop=context.stop,
            cancel_window_days=context.cancel_window_days,
            hourly_request_limit=config.hourly_request_limit,
            daily_request_limit=config.daily_request_limit,
            cancel_rescan_seconds=config.cancel_rescan_seconds,
            restocks_on_cancel=config.restocks_on_cancel,
        )

    @staticmethod
    def canonical_code(code: str) -> str:
        """``item_id`` or ``item_id:variation_id`` without stray spaces."""
        return canonical_code(code)

    def describe(self) -> dict[str, str]:
        """Settings for logs and 接続テスト, with the credentials masked."""
        return describe_settings(
            {
                "mall": self.name,
                "base_url": str(self._client.base_url),
                "redirect_uri": self.redirect_uri,
                "hourly_request_limit": self.budget.hourly,
                "daily_request_limit": self.budget.daily,
                "client_id": self._client_id,
            },
            self.secret_fields,
        )

    def _secrets(self) -> list[str]:
        return self.session.secrets()

    # ------------------------------------------------------------------ calls

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """One authorised call; a refused access token is refreshed once, then AuthError."""
        for attempt in (0, 1):
            try:
                response = self._wire.send(
                    method, path, headers=self.session.headers, params=params, form=form
                )
            except TokenRejected as err:
                if attempt:
                    raise AuthError(str(err)) from None
                self.session.invalidate()
                continue
            return json_body(response)
        raise AssertionError("unreachable")  # pragma: no cover

    def _get(self, path: str, params: Mapping[str, str] | None) -> dict[str, Any]:
        return self._call("GET", path, params=params)

    # ------------------------------------------------------------------ check

    def check(self) -> CheckResult:
        """接続テスト: a token refresh and one order-list call (one row).

        That call proves the application's credentials, the refresh token and the
        read_orders scope at once; then it says when the refresh token expires.
        """
        now = self._clock.now()
        try:
            self._get(
                self.PATH_ORDERS,
                {
                    "limit": "1",
                    "start_ordered": to_jst(now - timedelta(days=1)).strftime("%Y-%m-%d"),
                },
            )
        except Stopped:
            raise
        except MallError as err:
            message = str(err) if isinstance(err, AuthError) else f"BASE: 接続NG（{err}）"
            return CheckResult(mall=self.name, ok=False, message=redact(message, self._secrets()))
        expires = self.session.refresh_expires_at()
        if expires is None:
            note = "リフレッシュトークン有効期限は不明"
        else:
            days = (to_jst(expires).date() - to_jst(now).date()).days
            note = f"リフレッシュトークン有効期限 {to_jst(expires):%Y-%m-%d}、あと{days}日"
        usage = f"今時間のAPI呼び出し {self.budget.hour_count:,}/{self.budget.hourly:,}回"
        return CheckResult(
            mall=self.name,
            ok=True,
            message=f"BASE: 接続OK（{note}、{usage}）",
            credential_expires_at=expires,
        )

    # ------------------------------------------------------------------ stock

    def read_stock(self, codes: Sequence[str]) -> dict[str, int]:
        """Live quantities keyed as given; unknown codes are left out.

        So is ``item_id`` alone for an item with variations: it has no number of its
        own to push (its stock is the variations' sum).
        """
        parsed = {code: parse_code(canonical_code(code)) for code in codes}
        wanted = {p[0] for p in parsed.values() if p is not None}
        if not wanted:
            return {}
        items = self._read_items(sorted(wanted))
        found: dict[str, int] = {}
        for code, part in parsed.items():
            if part is None or part[0] not in items:
                continue
            quantity = items[part[0]].get(part[1] or "")
            if quantity is not None:
                found[code] = quantity
        return found

    def _read_items(self, item_ids: list[str]) -> dict[str, dict[str, int]]:
        """item_id → {'' or variation_id: stock} for the items BASE has."""
        stocks: dict[str, dict[str, int]] = {}
        if len(item_ids) <= self.DETAIL_READS_MAX:
            for item_id in item_ids:
                try:
                    body = self._get(self.PATH_ITEM + item_id, None)
                except MallRejected as err:
                    if err.code in UNKNOWN_CODE_ERRORS:
                        continue  # "no_item" [B-detail]
                    raise
                self._learn(body.get("item"), stocks)
            return stocks
        wanted = set(item_ids)
        offset = 0
        while True:
            params = {"limit": str(self.ITEMS_PAGE), "offset": str(offset)}
            page = self._get(self.PATH_ITEMS, params).get("items")
            rows = [r for r in page if isinstance(r, dict)] if isinstance(page, list) else []
            for item in rows:
                if str(item.get("item_id")) in wanted:
                    self._learn(item, stocks)
            if len(rows) < self.ITEMS_PAGE or wanted <= set(stocks):
                return stocks
            offset += len(rows)

    def _learn(self, item: object, into: dict[str, dict[str, int]] | None = None) -> None:
        """Remember an item body's variations (and collect its stocks into ``into``)."""
        if not isinstance(item, dict) or item.get("item_id") is None:
            return
        item_id = str(item["item_id"])
        stocks: dict[str, int] = {}
        variations = [v for v in item.get("variations") or [] if isinstance(v, dict)]
        for variation in variations:
            value = variation.get("variation_stock")
            if isinstance(value, int) and variation.get("variation_id") is not None:
                stocks[str(variation["variation_id"])] = value
        self._variations[item_id] = frozenset(stocks)
        if not variations and isinstance(item.get("stock"), int):
            stocks[""] = item["stock"]
        if into is not None:
            into[item_id] = stocks

    def push_stock(self, pushes: Sequence[StockPush]) -> list[PushResult]:
        """One edit_stock call per listing (absolute numbers); one result per push.

        ``compare_to`` is not sent (BASE has no compare-and-set; the engine's read-back
        covers it, §4.5), nor ``backorder``: BASE has no "sell when out of stock" flag
        in its API [B-stock]. A later push for the same code wins; the earlier one is
        refused without a call.
        """
        results: list[PushResult | None] = [None] * len(pushes)
        last = screen_pushes(
            pushes,
            results,
            canonical=canonical_code,
            problem=lambda push, code: (
                None if parse_code(code) is not None else code_problem(push.code) or ""
            ),
            code_word="BASEコード",
        )
        for code, i in last.items():
            results[i] = self._push_one(pushes[i], code)
        final = [r for r in results if r is not None]
        assert len(final) == len(pushes), "every push gets a result"
        return final

    def _push_one(self, push: StockPush, code: str) -> PushResult:
        parsed = parse_code(code)
        assert parsed is not None
        item_id, variation_id = parsed
        if variation_id is None and self._variations.get(item_id):
            return _with_variations(push, item_id)
        form = (
            {
                "item_id": item_id,
                "variation_id": variation_id,
                "variation_stock": str(push.quantity),
            }
            if variation_id is not None
            else {"item_id": item_id, "stock": str(push.quantity)}
        )
        try:
            body = self._call("POST", self.PATH_EDIT_STOCK, form=form)
        except MallRejected as err:
            if err.code in UNKNOWN_CODE_ERRORS:
                return PushResult(
                    code=push.code,
                    status=PushStatus.UNKNOWN_CODE,
                    message=f"BASEに{'バリエーション' if err.code == 'bad_variation_id' else '商品'}"
                    f"『{code}』が見つかりません（{err}）",
                )
            if (
                variation_id is None
                and err.code == "validation_error"
                and self._has_variations(item_id)
            ):
                return _with_variations(push, item_id)  # BASE refuses an item-level number
            return rejected(push, f"BASE が更新を拒否しました（{err}）")
        item = body.get("item")
        self._learn(item)
        if variation_id is None and self._variations.get(item_id):
            return _with_variations(push, item_id)  # BASE kept the sum of the variations
        shown = _shown(item, variation_id)
        return PushResult(
            code=push.code,
            status=PushStatus.APPLIED,
            quantity=shown if shown is not None else push.quantity,
        )

    def _has_variations(self, item_id: str) -> bool:
        """Whether the item has variations, read once when not yet known."""
        if item_id not in self._variations:
            self._read_items([item_id])
        return bool(self._variations.get(item_id))

    # ------------------------------------------------------------------ orders

    def fetch_order_lines(self, since: datetime, until: datetime) -> list[OrderLine]:
        """Lines of orders placed in [since, until] and changes of older ones (paced).

        See :class:`~adapters.thebase.orders.OrderBook`.
        """
        return self.orders.fetch(since, until)


# --------------------------------------------------------------------------- helpers


def _with_variations(push: StockPush, item_id: str) -> PushResult:
    return rejected(
        push,
        f"BASEの商品 {item_id} にはバリエーションがあるため、在庫は「商品ID:バリエーションID」"
        "ごとに指定してください（商品全体の在庫数はバリエーションの合計です）",
    )


def _shown(item: object, variation_id: str | None) -> int | None:
    """The number BASE now shows for the listing, from edit_stock's item body [B-stock]."""
    if not isinstance(item, dict):
        return None
    if variation_id is None:
        stock = item.get("stock")
        return stock if isinstance(stock, int) else None
    for variation in item.get("variations") or []:
        if isinstance(variation, dict) and str(variation.get("variation_id")) == variation_id:
            value = variation.get("variation_stock")
            return value if isinstance(value, int) else None
    return None
