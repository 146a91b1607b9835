"""Yahoo!ショッピング adapter: stock by getStock/setStock, orders by orderList/orderInfo.

Wire facts are in ``docs/api/yahoo.md`` (section numbers below); each class attribute
cites its source. What shapes this module:

- setStock answers success for a code that does not exist (Yahoo keeps the number and
  attaches it if the item is registered later, §2), so a success proves nothing. The
  adapter learns which codes exist from getStock (Status 1) and reports the others as
  ``unknown_code`` without sending them (the contract suite requires it of every channel).
- A setStock refused as a whole (400) does not say which code was bad, so the batch is
  halved until the bad one is alone: one bad item never sinks its batch.
- orderList has no "updated since" condition (§3). Cancels of older orders are found by
  a second search over the cancellation window limited to OrderStatus 4; orderInfo (one
  order per call at ~1 req/s) is called only for orders not seen before or whose status
  changed, and the rest are re-reported from memory (the engine reconciles repeats).
- Tokens rotate (YConnect v2, :mod:`adapters.yahoo.auth`); the order APIs carry the
  public-key signature; a daily cap of 50,000 calls per application is counted here.
"""

from __future__ import annotations

import random
import re
import threading
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import ClassVar, TypeVar

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import Field, SecretStr, field_validator

from adapters.base import (
    AuthError,
    BuildContext,
    Channel,
    ChannelConfig,
    KnownCodes,
    MallError,
    MallRejected,
    MemoryTokens,
    RateLimited,
    Stopped,
    TokenBucket,
    TokenStore,
    Url,
    chunks,
    describe_settings,
    redact,
    rejected,
    request_with_retry,
    screen_pushes,
)
from adapters.yahoo.auth import (
    AUTH_BASE_URL,
    REFRESH_TOKEN_LIFETIME,
    REFRESH_TOKEN_LIFETIME_UNSIGNED,
    YahooAuthorization,
    YConnectSession,
    load_public_key,
    sws_signature,
)
from adapters.yahoo.wire import (
    REAUTH_HINT,
    OrderDetail,
    SessionRejected,
    TokenRejected,
    canonical_code,
    classify,
    match_codes,
    order_info_request,
    order_list_request,
    parse_get_stock,
    parse_order_info,
    parse_order_list,
    parse_set_stock,
    parse_xml,
    valid_code,
)
from bot.core.domain import CheckResult, OrderLine, PushResult, PushStatus, StockPush
from bot.infra.clock import JST, Clock, to_jst

_T = TypeVar("_T")

ORDER_STATUS_WORDS: Mapping[int, str] = {
    # Quoted from the orderList/orderInfo docs by public clients (§3).
    1: "予約中",
    2: "処理中",
    3: "保留",
    4: "キャンセル",
    5: "完了",
}


class YahooConfig(ChannelConfig):
    """``[malls.yahoo]``: ストアクリエイターPro's store APIs through YConnect v2.

    Secrets (environment only): ``ZAIKO_YAHOO_CLIENT_ID``, ``ZAIKO_YAHOO_CLIENT_SECRET``
    (Yahoo!デベロッパーネットワーク → アプリケーションの管理), ``ZAIKO_YAHOO_PUBLIC_KEY``
    (ストアクリエイターPro → 設定 → 暗号鍵管理) and optionally
    ``ZAIKO_YAHOO_REFRESH_TOKEN`` (the first one; ``auth yahoo`` stores newer ones).
    """

    required: ClassVar[Mapping[str, str]] = {
        "client_id": "Client ID（アプリケーションID）",
        "client_secret": "シークレット",
        "public_key": "公開鍵（ストアクリエイターPro の暗号鍵管理）",
    }

    base_url: Url = "https://circus.shopping.yahooapis.jp"
    auth_base_url: Url = AUTH_BASE_URL
    seller_id: str = ""
    """ストアアカウント (lower-case alphanumerics, - and _, up to 128 characters)."""
    public_key_version: int = Field(default=1, ge=1)
    public_key_expires_on: str = ""
    """YYYY-MM-DD shown in 暗号鍵管理; '' when not entered (then check cannot warn)."""
    redirect_uri: str = ""
    """A callback URL registered for the application (``auth yahoo`` sends it)."""
    daily_request_limit: int = Field(default=50_000, ge=1)
    restocks_on_cancel: bool = True
    client_id: SecretStr | None = None
    client_secret: SecretStr | None = None
    refresh_token: SecretStr | None = None
    public_key: SecretStr | None = None

    @field_validator("seller_id")
    @classmethod
    def _check_seller_id(cls, value: str) -> str:
        # seller_id: lower-case alphanumerics, "-" and "_", up to 128 characters.
        # https://developer.yahoo.co.jp/webapi/shopping/getStock.html
        value = value.strip()
        if value and not re.fullmatch(r"[a-z0-9_-]{1,128}", value):
            raise ValueError(
                f"ストアアカウントは半角小文字英数字・ハイフン・アンダーバーで入力してください（{value!r}）"
            )
        return value

    @field_validator("public_key_expires_on")
    @classmethod
    def _check_expiry(cls, value: str) -> str:
        value = value.strip()
        if value:
            try:
                date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"日付は YYYY-MM-DD で入力してください（{value!r}）") from None
        return value


YAHOO = Channel(
    key="yahoo",
    label="Yahoo",
    name="Yahoo!ショッピング",
    aliases=("Yahoo!", "Yahoo!ショッピング", "Yahooショッピング", "ヤフー", "ヤフーショッピング"),
    code_note=(
        "Yahoo!ショッピングの商品コード。個別商品コードがある商品は「商品コード:個別商品コード」"
        "（例 tshirt-01:red-m）。半角英数字とハイフン。複数あるときはカンマ（,）区切り。"
        "空欄＝Yahooでは売っていない。"
    ),
    auth_hint=(
        "python -m bot auth yahoo を実行して Yahoo! ビジネスIDで再認可してください。"
        "公開鍵の期限切れのときは、ストアクリエイターPro の 設定 → 暗号鍵管理 で公開鍵を発行し、"
        "ZAIKO_YAHOO_PUBLIC_KEY と public_key_version を更新してからボットを再起動してください。"
    ),
    expiry_note="リフレッシュトークンは 4 週間ごとに再認可、公開鍵は 1 年ごとに再発行が必要です",
    rotating_tokens=True,
    code_width=180,
    authorization=YahooAuthorization(),
)


@dataclass(frozen=True)
class _SeenOrder:
    """What the adapter last saw of one order (from orderInfo), for skipping refetches."""

    status: int | None
    ordered_at: datetime | None
    lines: tuple[OrderLine, ...]


class _DailyCap:
    """Counts calls per JST day against Yahoo's 50,000 a day per application (§4).

    The count lives in the process: after a restart it starts again from zero, which
    can only under-count; the cap is there to stop a runaway loop from locking the
    application out for the rest of the day.
    """

    def __init__(self, limit: int, clock: Clock) -> None:
        self.limit = limit
        self._clock = clock
        self._day: date | None = None
        self.count = 0
        self._lock = threading.Lock()

    def take(self) -> None:
        """Count one call, or raise RateLimited until JST midnight when the cap is reached."""
        now = to_jst(self._clock.now())
        with self._lock:
            if self._day != now.date():
                self._day, self.count = now.date(), 0
            if self.count >= self.limit:
                midnight = datetime.combine(now.date() + timedelta(days=1), time(), JST)
                raise RateLimited(
                    f"Yahoo: 1日のAPI呼び出し上限（{self.limit:,}回）に達したため、"
                    "日本時間の0時まで呼び出しを控えます",
                    retry_after=(midnight - now).total_seconds(),
                )
            self.count += 1


class YahooAdapter:
    """Yahoo!ショッピング via the store APIs: stock by ``item_code[:sub_code]``."""

    name: ClassVar[str] = "yahoo"
    channel: ClassVar[Channel] = YAHOO
    Config: ClassVar[type[ChannelConfig]] = YahooConfig
    secret_fields: ClassVar[tuple[str, ...]] = (
        "client_id",
        "client_secret",
        "refresh_token",
        "public_key",
    )

    BASE_URL: ClassVar[str] = "https://circus.shopping.yahooapis.jp"  # §0 production host
    PATH_PREFIX: ClassVar[str] = "/ShoppingWebService/V1/"  # §0
    # getStock and setStock take ≤ 1,000 codes per call.
    # https://developer.yahoo.co.jp/webapi/shopping/getStock.html
    # https://developer.yahoo.co.jp/webapi/shopping/setStock.html
    GET_BATCH: ClassVar[int] = 1000
    SET_BATCH: ClassVar[int] = 1000
    # setStock quantity range -999,999,999 … 999,999,999 (we push ≥ 0). [setStock.html]
    MAX_QUANTITY: ClassVar[int] = 999_999_999
    # "1 query/second" guide per API; more gets the URL blocked for a while.
    # https://developer.yahoo.co.jp/webapi/shopping/stock (an older help page says 10/s)
    RATE_PER_S: ClassVar[float] = 1.0
    # 50,000 requests a day per application ID; raises are no longer granted.
    # https://developer.yahoo.co.jp/webapi/shopping/help
    DAILY_LIMIT: ClassVar[int] = 50_000
    # Order APIs carry X-sws-signature (§1; the exact list is UNCONFIRMED, stock APIs
    # are not known to need it). https://hocchi.com/yahoo_shopping_api_public_key
    SIGNED_APIS: ClassVar[frozenset[str]] = frozenset({"orderList", "orderInfo"})
    # Stock APIs take a form body; order APIs an XML body (§2, §3).
    FORM_CONTENT_TYPE: ClassVar[str] = "application/x-www-form-urlencoded"
    XML_CONTENT_TYPE: ClassVar[str] = "text/xml;charset=UTF-8"
    # orderList page size: the doc sets no upper limit, clients use 1000-2000 (§3,
    # UNCONFIRMED); paging follows the rows actually returned, so a lower cap is harmless.
    # https://developer.yahoo.co.jp/webapi/shopping/orderList.html
    ORDER_PAGE_SIZE: ClassVar[int] = 1000
    ORDER_LIST_FIELDS: ClassVar[tuple[str, ...]] = ("OrderId", "OrderTime", "OrderStatus")
    ORDER_INFO_FIELDS: ClassVar[tuple[str, ...]] = (
        "OrderId",
        "OrderTime",
        "OrderStatus",
        "LineId",
        "ItemId",
        "SubCode",
        "Quantity",
    )
    # OrderStatus 4 = キャンセル (§3).
    CANCELLED_STATUS: ClassVar[int] = 4
    # orderInfo's "Not Exists : <id>" (§3, public GitHub code).
    ORDER_NOT_FOUND_CODE: ClassVar[str] = "od91801"
    MAX_BISECT_SPLITS: ClassVar[int] = 24
    # How long a code seen on getStock is trusted to exist (ours: items are rarely deleted).
    KNOWN_CODE_TTL_S: ClassVar[float] = 3600.0

    def __init__(
        self,
        client: httpx.Client,
        *,
        seller_id: str,
        client_id: str,
        client_secret: str,
        clock: Clock,
        refresh_token: str = "",
        public_key: str = "",
        public_key_version: int = 1,
        public_key_expires_on: date | None = None,
        tokens: TokenStore | None = None,
        stop: threading.Event | None = None,
        rng: random.Random | None = None,
        auth_base_url: str = AUTH_BASE_URL,
        cancel_window_days: int = 60,
        daily_request_limit: int = DAILY_LIMIT,
        restocks_on_cancel: bool = True,
        max_tries: int = 5,
        max_total_wait: float = 60.0,
    ) -> None:
        self._client = client
        self.seller_id = seller_id
        self._clock = clock
        self._stop = stop
        self._rng = rng if rng is not None else random.Random()
        self._max_tries = max_tries
        self._max_total_wait = max_total_wait
        self.public_key_version = public_key_version
        self.public_key_expires_on = public_key_expires_on
        self.cancel_window = timedelta(days=cancel_window_days)
        self.restocks_on_cancel = restocks_on_cancel
        self._public_key: rsa.RSAPublicKey | None = None
        self._public_key_problem = (
            "" if public_key else "公開鍵（ZAIKO_YAHOO_PUBLIC_KEY）が未設定です"
        )
        if public_key:
            try:
                self._public_key = load_public_key(public_key)
            except ValueError as err:
                self._public_key_problem = str(err)
        self._session = YConnectSession(
            client,
            client_id=client_id,
            client_secret=client_secret,
            configured_refresh_token=refresh_token,
            tokens=tokens if tokens is not None else MemoryTokens(),
            clock=clock,
            stop=stop,
            rng=self._rng,
            auth_base_url=auth_base_url,
            refresh_lifetime=REFRESH_TOKEN_LIFETIME
            if self._public_key is not None
            else REFRESH_TOKEN_LIFETIME_UNSIGNED,
            max_tries=max_tries,
            max_total_wait=max_total_wait,
        )
        self._fixed_secrets = [s for s in (public_key.strip(),) if s]
        self._daily = _DailyCap(daily_request_limit, clock)
        self._buckets = {
            api: TokenBucket(self.RATE_PER_S, 1, clock)
            for api in ("getStock", "setStock", "orderList", "orderInfo")
        }
        self._known = KnownCodes(clock, self.KNOWN_CODE_TTL_S)
        """The canonical codes getStock showed lately (pushes go only to those)."""
        self._seen_orders: dict[str, _SeenOrder] = {}

    @classmethod
    def from_config(
        cls, config: YahooConfig, client: httpx.Client, context: BuildContext
    ) -> YahooAdapter:
        """The adapter ``run`` uses: secrets from the config, tokens in ``context.tokens``."""
        expires = config.public_key_expires_on
        return cls(
            client,
            seller_id=config.seller_id,
            client_id=config.secret("client_id"),
            client_secret=config.secret("client_secret"),
            refresh_token=config.secret("refresh_token"),
            public_key=config.secret("public_key"),
            public_key_version=config.public_key_version,
            public_key_expires_on=date.fromisoformat(expires) if expires else None,
            tokens=context.tokens,
            clock=context.clock,
            stop=context.stop,
            auth_base_url=config.auth_base_url,
            cancel_window_days=context.cancel_window_days,
            daily_request_limit=config.daily_request_limit,
            restocks_on_cancel=config.restocks_on_cancel,
        )

    def describe(self) -> dict[str, str]:
        """Settings for logs and 接続テスト, with the credentials masked."""
        return describe_settings(
            {
                "mall": self.name,
                "base_url": str(self._client.base_url),
                "seller_id": self.seller_id,
                "public_key_version": self.public_key_version,
                "public_key": self._fixed_secrets[0] if self._fixed_secrets else "",
                "cancel_window_days": self.cancel_window.days,
                "daily_request_limit": self._daily.limit,
            },
            self.secret_fields,
        )

    @staticmethod
    def canonical_code(code: str) -> str:
        """``item_code`` or ``item_code:sub_code`` without stray spaces."""
        return canonical_code(code)

    # ------------------------------------------------------------------ http

    def _secrets(self) -> list[str]:
        return [*self._session.secrets(), *self._fixed_secrets]

    def _headers(self, api: str, content_type: str) -> dict[str, str]:
        """One attempt's headers: a fresh bearer and, on order APIs, a fresh signature."""
        if not self.seller_id:
            raise AuthError(
                "Yahoo: ストアアカウントが未設定です（zaiko.toml の [malls.yahoo] seller_id）"
            )
        signature: dict[str, str] = {}
        if api in self.SIGNED_APIS:
            if self._public_key is None:
                raise AuthError(f"Yahoo: {self._public_key_problem}")
            signature = {
                "X-sws-signature": sws_signature(
                    self._public_key, self.seller_id, self._clock.now()
                ),
                "X-sws-signature-version": str(self.public_key_version),
            }
        bearer = self._session.bearer()
        self._daily.take()
        return {"Authorization": f"Bearer {bearer}", "Content-Type": content_type, **signature}

    def _call(self, api: str, content: bytes, content_type: str) -> ET.Element:
        """POST one store API call; one token refresh when Yahoo calls the token invalid."""
        for attempt in range(2):
            try:
                response = request_with_retry(
                    self._client,
                    "POST",
                    self.PATH_PREFIX + api,
                    content=content,
                    prepare=lambda: self._headers(api, content_type),
                    classify=lambda r: classify(r, now=self._clock.now(), secrets=self._secrets()),
                    clock=self._clock,
                    stop=self._stop,
                    bucket=self._buckets[api],
                    rng=self._rng,
                    secrets=self._secrets,
                    max_tries=self._max_tries,
                    max_total_wait=self._max_total_wait,
                    label="Yahoo",
                )
            except (TokenRejected, SessionRejected) as err:
                if attempt:
                    if isinstance(err, SessionRejected):
                        raise
                    raise AuthError(f"{err}。{REAUTH_HINT}") from None
                self._session.invalidate()
                continue
            root = parse_xml(response.content)
            assert root is not None  # classify() refuses a 2xx that is not XML
            return root
        raise AssertionError("unreachable")  # pragma: no cover

    def _form(self, **fields: str) -> bytes:
        """A form body (the stock APIs'); urlencode turns a "+" into %2B as Yahoo requires."""
        return urllib.parse.urlencode({"seller_id": self.seller_id, **fields}).encode()

    # ------------------------------------------------------------------ check

    def check(self) -> CheckResult:
        """接続テスト: a token refresh and one signed orderList call (one row).

        That one call proves the client credentials, the refresh token, the order API
        approval and the public-key signature at once; then it reports when the first
        of the refresh token and the public key expires, as far as either is known.
        """
        now = self._clock.now()
        try:
            self._order_page(now - timedelta(days=1), now, (), position=1, size=1)
        except Stopped:
            raise
        except AuthError as err:
            return CheckResult(mall=self.name, ok=False, message=redact(str(err), self._secrets()))
        except MallError as err:
            return CheckResult(
                mall=self.name,
                ok=False,
                message=redact(f"Yahoo: 接続NG（{err}）", self._secrets()),
            )
        return self._check_ok(now)

    def _check_ok(self, now: datetime) -> CheckResult:
        refresh = self._session.refresh_expires_at()
        key = (
            datetime.combine(self.public_key_expires_on, time(23, 59, 59), JST)
            if self.public_key_expires_on is not None
            else None
        )
        today = to_jst(now).date()
        parts = []
        for label, when in (("リフレッシュトークン", refresh), ("公開鍵", key)):
            if when is None:
                parts.append(f"{label}有効期限は不明")
                continue
            days = (to_jst(when).date() - today).days
            parts.append(
                f"{label}有効期限 {to_jst(when):%Y-%m-%d}、"
                + (f"あと{days}日" if days >= 0 else "期限切れ")
            )
        known = [w for w in (refresh, key) if w is not None]
        return CheckResult(
            mall=self.name,
            ok=True,
            message=f"Yahoo: 接続OK（{'、'.join(parts)}）",
            credential_expires_at=min(known) if known else None,
        )

    # ------------------------------------------------------------------ stock

    def _get_stock(self, codes: Sequence[str]) -> dict[str, int]:
        """Quantities of the given valid canonical codes that exist; refreshes the cache."""
        found: dict[str, int] = {}
        for chunk in chunks(list(dict.fromkeys(codes)), self.GET_BATCH):
            root = self._call(
                "getStock", self._form(item_code=",".join(chunk)), self.FORM_CONTENT_TYPE
            )
            rows = parse_get_stock(root).rows
            asked = match_codes(chunk, [row.code for row in rows])
            present: set[str] = set()
            for row in rows:
                code = asked.get(row.code)
                if code is None or not row.found:
                    continue
                present.add(code)
                if row.quantity is not None:
                    found[code] = row.quantity
            self._known.saw(chunk, present)
        return found

    def read_stock(self, codes: Sequence[str]) -> dict[str, int]:
        """Live quantities via getStock (≤1000 per call at 1 req/s), keyed as given.

        Codes Yahoo does not know (Status 0), or could not hold, are left out.
        """
        canonical = {code: canonical_code(code) for code in codes}
        found = self._get_stock([c for c in canonical.values() if valid_code(c)])
        return {code: found[c] for code, c in canonical.items() if c in found}

    def push_stock(self, pushes: Sequence[StockPush]) -> list[PushResult]:
        """Absolute setStock calls (≤1000 codes per call at 1 req/s); one result per push.

        ``compare_to`` is not sent (Yahoo has no compare-and-set; the engine's read-back
        covers it, §4.5), nor ``backorder``: whether setStock still takes
        ``allow_overdraft`` is UNCONFIRMED (§2), so 在庫切れ時の注文受付 stays an item setting.
        """
        results: list[PushResult | None] = [None] * len(pushes)
        last_index = self._screen(pushes, results)
        to_send, unknown = self._known.sort_out(last_index, self._get_stock)
        for i, code in unknown:
            results[i] = PushResult(
                code=pushes[i].code,
                status=PushStatus.UNKNOWN_CODE,
                message=(
                    f"Yahoo!ショッピングに商品コード『{code}』の商品が見つかりません"
                    "（Yahoo は存在しない商品への在庫更新もエラーにしないため送信していません）"
                ),
            )
        for chunk in chunks(to_send, self.SET_BATCH):
            self._set_stock(pushes, chunk, results)
        final = [r for r in results if r is not None]
        assert len(final) == len(pushes), "every push gets a result"
        return final

    def _screen(
        self, pushes: Sequence[StockPush], results: list[PushResult | None]
    ) -> dict[str, int]:
        """Reject what Yahoo would refuse anyway; canonical code → index of its last push."""
        return screen_pushes(
            pushes,
            results,
            canonical=canonical_code,
            problem=self._push_problem,
            code_word="Yahooコード",
        )

    def _push_problem(self, push: StockPush, code: str) -> str | None:
        """Why Yahoo would refuse this push, before any call; None when it may be sent."""
        if not valid_code(code):
            return (
                f"Yahooコード『{push.code}』は「商品コード」または「商品コード:個別商品コード」の形式で、"
                "半角英数字とハイフン（各99文字以内）で入力してください"
            )
        if push.quantity > self.MAX_QUANTITY:
            return f"在庫数 {push.quantity} は Yahoo の上限 {self.MAX_QUANTITY:,} を超えるため送信しませんでした"
        return None

    def _set_stock(
        self,
        pushes: Sequence[StockPush],
        batch: list[tuple[int, str]],
        results: list[PushResult | None],
    ) -> None:
        """Send one batch; when Yahoo refuses it as a whole, halve until the bad code is alone.

        A small split budget bounds the calls (1 req/s) a strange answer can cost.
        """
        pending = [batch]
        splits_left = self.MAX_BISECT_SPLITS
        while pending:
            part = pending.pop()
            if not part:
                continue
            codes = [code for _i, code in part]
            quantities = [str(pushes[i].quantity) for i, _code in part]
            try:
                root = self._call(
                    "setStock",
                    self._form(item_code=",".join(codes), quantity=",".join(quantities)),
                    self.FORM_CONTENT_TYPE,
                )
            except MallRejected as err:
                if len(part) > 1 and splits_left > 0:
                    splits_left -= 1
                    mid = len(part) // 2
                    pending.extend([part[mid:], part[:mid]])
                else:
                    for i, _code in part:
                        results[i] = rejected(pushes[i], f"Yahoo が更新を拒否しました（{err}）")
                continue
            answered = parse_set_stock(root)
            after = {
                asked: answered[code] for code, asked in match_codes(codes, list(answered)).items()
            }
            for i, code in part:
                shown = after.get(code)
                results[i] = PushResult(
                    code=pushes[i].code,
                    status=PushStatus.APPLIED,
                    quantity=shown if shown is not None else pushes[i].quantity,
                )

    # ------------------------------------------------------------------ orders

    def fetch_order_lines(self, since: datetime, until: datetime) -> list[OrderLine]:
        """Lines of orders placed in [since, until], plus cancels within the cancel window.

        Two orderList searches: every order placed in [since, until], and the orders of
        [until − window, since] now in OrderStatus 4. orderInfo is called only for an
        order not seen before, whose status changed, or that left status 4 while inside
        the window (a withdrawn cancel). Memory is per process: after a restart every
        listed order is fetched and re-reported, which the engine reconciles.
        """
        if until < since:
            return []
        listed = self._search(since, until, ())
        watch_start = until - self.cancel_window
        if watch_start < since:
            watched = self._search(watch_start, since, (self.CANCELLED_STATUS,))
            listed = {**watched, **listed}
        to_fetch = [
            number
            for number, status in listed.items()
            if number not in self._seen_orders or self._seen_orders[number].status != status
        ]
        to_fetch += [
            number
            for number, seen in self._seen_orders.items()
            if number not in listed
            and seen.status == self.CANCELLED_STATUS
            and (seen.ordered_at is None or seen.ordered_at >= watch_start)
        ]
        fetched = {n: seen for n in to_fetch if (seen := self._order_info(n)) is not None}
        memory: dict[str, _SeenOrder] = {}
        lines: list[OrderLine] = []
        for number in dict.fromkeys([*listed, *to_fetch]):
            seen = fetched.get(number) or self._seen_orders.get(number)
            if seen is None:
                continue
            lines.extend(seen.lines)
            memory[number] = seen
        # Commit memory only after every call succeeded: a failed fetch must not hide
        # orders from the next one.
        self._seen_orders = memory
        now = self._clock.now()
        lines.sort(key=lambda ln: (ln.ordered_at or now, ln.order_id, ln.line_id))
        return lines

    def _search(
        self, start: datetime, end: datetime, statuses: Sequence[int]
    ) -> dict[str, int | None]:
        """Order id → OrderStatus of every order placed in [start, end], over all pages."""
        found: dict[str, int | None] = {}
        position = 1
        while True:
            total, page = self._order_page(
                start, end, statuses, position=position, size=self.ORDER_PAGE_SIZE
            )
            for order_id, status in page:
                found[order_id] = status
            position += len(page)
            if not page or position > total:
                return found

    def _order_page(
        self,
        start: datetime,
        end: datetime,
        statuses: Sequence[int],
        *,
        position: int,
        size: int,
    ) -> tuple[int, list[tuple[str, int | None]]]:
        """(TotalCount, [(order id, OrderStatus)]) of one orderList page (§3)."""
        body = order_list_request(
            self.seller_id,
            start=position,
            result=size,
            time_from=start,
            time_to=end,
            statuses=statuses,
            fields=self.ORDER_LIST_FIELDS,
        )
        total, orders = parse_order_list(self._call("orderList", body, self.XML_CONTENT_TYPE))
        return total, [(order.order_id, order.status) for order in orders]

    def _order_info(self, order_id: str) -> _SeenOrder | None:
        """What orderInfo says of one order now; None when Yahoo no longer has it."""
        try:
            root = self._call(
                "orderInfo",
                order_info_request(self.seller_id, order_id, self.ORDER_INFO_FIELDS),
                self.XML_CONTENT_TYPE,
            )
        except MallRejected as err:
            if err.code == self.ORDER_NOT_FOUND_CODE:
                return None
            raise
        detail = parse_order_info(root)
        return None if detail is None else self._seen(detail)

    def _seen(self, detail: OrderDetail) -> _SeenOrder:
        cancelled = detail.status == self.CANCELLED_STATUS
        word = ORDER_STATUS_WORDS.get(detail.status or 0, str(detail.status))
        lines = tuple(
            OrderLine(
                mall=self.name,
                order_id=detail.order_id,
                line_id=item.line_id or str(n),
                code=item.code,
                units=0 if cancelled else item.quantity,
                ordered_at=detail.ordered_at,
                status=word,
                mall_restocks=cancelled and self.restocks_on_cancel,
            )
            for n, item in enumerate(detail.items, start=1)
        )
        return _SeenOrder(status=detail.status, ordered_at=detail.ordered_at, lines=lines)


# --------------------------------------------------------------------------- helpers
