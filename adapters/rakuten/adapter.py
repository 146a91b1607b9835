"""楽天市場 (Rakuten Ichiba RMS) adapter: InventoryAPI 2.0 and the RakutenPay Order API.

Wire facts are in ``docs/api/rakuten.md``; each class attribute below cites its
source. Three things shape this module:

- 楽天 answers 204 to a stock write for a code that does not exist (it keeps an
  orphan record for a day), so a 204 proves nothing. Before writing, the adapter
  learns which codes exist with bulk-get and reports the others as ``unknown_code``.
- A bulk-upsert that fails validation is refused as a whole with a 400 naming the bad
  elements (``inventories[3].quantity``). Those items are marked ``rejected`` and the
  rest is sent again, so one bad item never sinks its batch.
- searchOrder returns only order numbers. To see cancels of older orders every cycle
  without fetching every order every time, the adapter remembers what it last saw of
  the orders in the cancellation window and calls getOrder only for new or changed
  ones; lines of unchanged ones are re-reported from memory (the engine reconciles
  repeats harmlessly), which also survives a worker commit that failed after a fetch.
"""

from __future__ import annotations

import base64
import random
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from itertools import filterfalse
from typing import Any, ClassVar, TypeVar

import httpx
from pydantic import SecretStr

from adapters.base import (
    AuthError,
    BuildContext,
    Channel,
    ChannelConfig,
    JsonShape,
    KnownCodes,
    MallError,
    MallRejected,
    RateLimited,
    Stopped,
    TokenBucket,
    TransientError,
    Url,
    chunks,
    describe_settings,
    json_body,
    json_or_none,
    parse_retry_after,
    redact,
    rejected,
    request_with_retry,
    screen_pushes,
)
from adapters.rakuten.codes import canonical_code, code_problem, split_code, split_codes
from adapters.rakuten.orders import (
    CANCELLED_PROGRESS,
    OrderReads,
    SeenOrder,
    UnshippedBook,
    format_order_datetime,
    parse_order_datetime,
    report_lines,
)
from adapters.rakuten.wire import (
    BULK_GET_ANSWER,
    GET_ORDER_ANSWER,
    REQUEST_LEVEL_CODES,
    bulk_get_body,
    bulk_upsert_body,
    error_details,
    int_or,
    is_credential_problem,
    is_request_level,
    order_api_errors,
    parse_license_expiry,
    windows,
)
from bot.core.domain import CheckResult, OrderLine, PushResult, PushStatus, StockPush
from bot.infra.clock import Clock, to_jst

_RMS_DOC = "https://webservice.rms.rakuten.co.jp/merchant-portal/view/ja/common/1-1_service_index"

_T = TypeVar("_T")


class RakutenConfig(ChannelConfig):
    """``[malls.rakuten]``: RMS WEB SERVICE.

    Secrets ``ZAIKO_RAKUTEN_SERVICE_SECRET`` and ``ZAIKO_RAKUTEN_LICENSE_KEY`` (RMS →
    店舗様向け情報・サービス → WEB APIサービス).
    """

    required: ClassVar[Mapping[str, str]] = {
        "service_secret": "serviceSecret",
        "license_key": "licenseKey（90 日ごとに更新）",
    }

    base_url: Url = "https://api.rms.rakuten.co.jp"
    service_secret: SecretStr | None = None
    license_key: SecretStr | None = None


RAKUTEN = Channel(
    key="rakuten",
    label="楽天",
    name="楽天市場",
    aliases=("楽天市場", "Rakuten"),
    code_note=(
        "楽天の「商品管理番号:SKU管理番号」（例 tshirt-01:red-m）。複数あるときはカンマ（,）区切り。"
        "空欄＝楽天では売っていない。"
    ),
    auth_hint="認証キー（licenseKey）を RMS で確認・更新して、環境変数 ZAIKO_RAKUTEN_LICENSE_KEY を新しいキーにしてからボットを再起動してください。",
    expiry_note="licenseKey は 90 日ごとに RMS で更新が必要です",
    code_width=200,
    code_problem=code_problem,
)


class RakutenAdapter:
    """楽天市場 via RMS Web Service: stock by ``manageNumber:variantId``, orders by RakutenPay."""

    name: ClassVar[str] = "rakuten"
    channel: ClassVar[Channel] = RAKUTEN
    Config: ClassVar[type[ChannelConfig]] = RakutenConfig
    secret_fields: ClassVar[tuple[str, ...]] = ("service_secret", "license_key")

    BASE_URL: ClassVar[str] = "https://api.rms.rakuten.co.jp"
    # Bulk-upsert takes 1..400 elements; more is IE1101.
    # [S3] https://webservice.rms.rakuten.co.jp/merchant-portal/view/ja/common/1-1_service_index/inventoryapi2_1/codereference/
    # [S25] https://github.com/JakeJP/Rakuten.RMS.Api (MaxUpdateRecord = 400)
    UPSERT_BATCH: ClassVar[int] = 400
    # Bulk-get takes 1..1000 elements.
    # [S2] https://webservice.rms.rakuten.co.jp/merchant-portal/view/ja/common/1-1_service_index/inventoryapi2_1/inventories_bulk_get/
    BULK_GET_BATCH: ClassVar[int] = 1000
    # Writes (upsert, bulk-upsert) 1 req/s; bulk-get 5 req/s. [S5] InventoryAPI 2.0 function table
    # (transcription of https://webservice.rms.rakuten.co.jp/merchant-portal/view/ja/common/1-1_service_index/inventoryapi2_0/)
    WRITE_RATE_PER_S: ClassVar[float] = 1.0
    BULK_GET_RATE_PER_S: ClassVar[float] = 5.0
    # The order and license APIs publish no rate ([S10], rakuten.md §6): ours, conservative.
    ORDER_RATE_PER_S: ClassVar[float] = 1.0
    # getOrder takes ≤100 order numbers and needs version ≥ 7 for SkuModelList.variantId.
    # [S11] https://webservice.rms.rakuten.co.jp/merchant-portal/view/ja/common/1-1_service_index/rakutenpayorderapi/getorder
    GET_ORDER_BATCH: ClassVar[int] = 100
    GET_ORDER_VERSION: ClassVar[int] = 7
    # searchOrder: ≤1000 per page, window ≤63 days, start within 730 days, ≤15,000 hits.
    # [S10] https://webservice.rms.rakuten.co.jp/merchant-portal/view/ja/common/1-1_service_index/rakutenpayorderapi/searchorder
    SEARCH_PAGE_SIZE: ClassVar[int] = 1000
    SEARCH_MAX_SPAN: ClassVar[timedelta] = timedelta(days=63)
    SEARCH_MAX_AGE: ClassVar[timedelta] = timedelta(days=729)  # 730 minus a day of margin
    SEARCH_HIT_CAP: ClassVar[int] = 15000
    # dateType 1 = 注文日時. [S10]
    DATE_TYPE_ORDER: ClassVar[int] = 1
    # Statuses an old order can move into that change stock: 変更確定待ち, キャンセル確定待ち,
    # キャンセル確定 (a cancel is orderProgress 800/900). [S10][S11] (rakuten.md §4.4)
    CANCEL_WATCH_PROGRESS: ClassVar[tuple[int, ...]] = (400, 800, 900)
    # Only a confirmed cancel (900) is final; 800 is read again until it is confirmed or
    # withdrawn (see orders.CANCELLED_PROGRESS).
    CANCELLED_PROGRESS: ClassVar[frozenset[int]] = CANCELLED_PROGRESS
    # Not yet shipped: 注文確認待ち, 楽天処理中, 発送待ち, 変更確定待ち. [S10] A line can
    # still be reduced or removed in these, with or without passing 400 (rakuten.md §4.4).
    UNSHIPPED_PROGRESS: ClassVar[tuple[int, ...]] = (100, 200, 300, 400)
    # Re-reading the unshipped orders of the cancel window. The order API publishes no
    # rate ([S10][S11], rakuten.md §6), so ORDER_RATE_PER_S (1 req/s) is our own ceiling.
    # A cycle (15 s) already makes two searches plus getOrder for new orders; the re-read
    # adds at most REREAD_BATCHES getOrder calls (300 orders) per cycle plus, once per
    # sweep, one search page per 1,000 unshipped orders: ≤ 5 order calls per 15 s, a
    # third of our ceiling, and a cycle never waits more than ~3 s for it. A sweep of N
    # unshipped orders takes ceil(N / 300) cycles (≤ 5 min up to 6,000 orders) and starts
    # at most every REREAD_INTERVAL, so a change in place reaches the ledger within about
    # five minutes, and a small shop spends one search and a call or two per 5 minutes.
    REREAD_INTERVAL: ClassVar[timedelta] = timedelta(minutes=5)
    REREAD_BATCHES: ClassVar[int] = 3
    # Order API datetimes: yyyy-MM-ddTHH:mm:ss+0900, no colon; other forms are ERROR_011. [S10]
    ORDER_DATETIME_FORMAT: ClassVar[str] = "%Y-%m-%dT%H:%M:%S+0900"
    # The order API documents ``Content-Type: application/json; charset=utf-8`` [S10][S11];
    # one project reports 415 ES04-03 for plain application/json and for the form with a
    # space [S24] (rakuten.md §4.1, low confidence). The no-space form is the same media
    # type (RFC 9110 §5.6.6: whitespace around ";" is optional) and meets both readings,
    # so every JSON body this adapter sends (orders and inventory) carries it.
    JSON_CONTENT_TYPE: ClassVar[str] = "application/json;charset=utf-8"
    ORDER_CONTENT_TYPE: ClassVar[str] = JSON_CONTENT_TYPE
    # quantity must be 0..99999. [S3]
    MAX_QUANTITY: ClassVar[int] = 99999
    REQUEST_LEVEL_CODES: ClassVar[frozenset[str]] = REQUEST_LEVEL_CODES
    MAX_BISECT_SPLITS: ClassVar[int] = 16
    # How long a code seen on bulk-get is trusted to exist (ours: items are rarely deleted).
    KNOWN_CODE_TTL_S: ClassVar[float] = 3600.0

    PATH_BULK_GET: ClassVar[str] = "/es/2.0/inventories/bulk-get"
    PATH_BULK_UPSERT: ClassVar[str] = "/es/2.0/inventories/bulk-upsert"
    PATH_SEARCH_ORDER: ClassVar[str] = "/es/2.0/order/searchOrder/"
    PATH_GET_ORDER: ClassVar[str] = "/es/2.0/order/getOrder/"
    # [S19] https://github.com/JakeJP/Rakuten.RMS.Api (LicenseManagementAPI)
    PATH_LICENSE_EXPIRY: ClassVar[str] = "/es/1.0/license-management/license-key/expiry-date"

    def __init__(
        self,
        client: httpx.Client,
        *,
        service_secret: str,
        license_key: str,
        clock: Clock,
        stop: threading.Event | None = None,
        rng: random.Random | None = None,
        shop_id: str = "",
        cancel_window_days: int = 60,
        restock_on_cancel_default: bool = True,
        max_tries: int = 5,
        max_total_wait: float = 60.0,
    ) -> None:
        if not 1 <= cancel_window_days <= 63:
            raise ValueError("cancel_window_days must be within 1..63 (one searchOrder window)")
        self._client = client
        self._service_secret = service_secret
        self._license_key = license_key
        self._clock = clock
        self._stop = stop
        self._rng = rng if rng is not None else random.Random()
        self.shop_id = shop_id
        self.cancel_window = timedelta(days=cancel_window_days)
        self.restock_on_cancel_default = restock_on_cancel_default
        self._max_tries = max_tries
        self._max_total_wait = max_total_wait
        token = base64.b64encode(f"{service_secret}:{license_key}".encode()).decode()
        self._auth_header = f"ESA {token}"
        self._secrets: tuple[str, ...] = (
            service_secret,
            license_key,
            f"{service_secret}:{license_key}",
            token,
        )
        self._write_bucket = TokenBucket(self.WRITE_RATE_PER_S, 1, clock)
        self._read_bucket = TokenBucket(self.BULK_GET_RATE_PER_S, 1, clock)
        self._order_bucket = TokenBucket(self.ORDER_RATE_PER_S, 1, clock)
        self._urls: dict[str, httpx.URL] = {}
        self._known = KnownCodes(clock, self.KNOWN_CODE_TTL_S)
        """The canonical codes bulk-get showed lately (pushes go only to those)."""
        self._seen_orders: dict[str, SeenOrder] = {}
        self._reads = OrderReads(self.name)
        """The orders the last fetch read, each with its answer (unchanged: not parsed again)."""
        self._unshipped = UnshippedBook()
        """Not-yet-shipped orders of the window as last read (what a re-read compares to)."""
        self._reread_queue: list[str] = []
        self._reread_started: datetime | None = None
        self._origin: datetime | None = None
        """Start of the first window this process fetched (orders before it: not ours)."""

    @classmethod
    def from_config(
        cls, config: RakutenConfig, client: httpx.Client, context: BuildContext
    ) -> RakutenAdapter:
        """The adapter ``run`` uses: secrets from the config, waits on the stop event."""
        return cls(
            client,
            service_secret=config.secret("service_secret"),
            license_key=config.secret("license_key"),
            clock=context.clock,
            stop=context.stop,
            # One searchOrder window is at most 63 days (rakuten.md §4.2).
            cancel_window_days=min(context.cancel_window_days, 63),
        )

    def describe(self) -> dict[str, str]:
        """Settings for logs and 接続テスト, with the credentials masked."""
        return describe_settings(
            {
                "mall": self.name,
                "base_url": str(self._client.base_url),
                "shop_id": self.shop_id,
                "service_secret": self._service_secret,
                "license_key": self._license_key,
                "cancel_window_days": self.cancel_window.days,
            },
            self.secret_fields,
        )

    # ------------------------------------------------------------------ codes

    @staticmethod
    def canonical_code(code: str) -> str:
        """``manageNumber:variantId``, manageNumber folded (see orders.canonical_code)."""
        return canonical_code(code)

    @classmethod
    def _split_code(cls, code: str) -> tuple[str, str] | None:
        """(manageNumber, variantId) of a canonical code, or None if 楽天 would refuse it."""
        return split_code(code)

    def _push_problem(self, push: StockPush, code: str) -> str | None:
        """Why 楽天 would refuse this push, before any call; None when it may be sent."""
        if self._split_code(code) is None:
            return self._bad_code_message(push.code)
        if push.quantity > self.MAX_QUANTITY:
            return f"在庫数 {push.quantity} は楽天の上限 {self.MAX_QUANTITY} を超えるため送信しませんでした"
        return None

    @staticmethod
    def _bad_code_message(code: str) -> str:
        return (
            f"楽天コード『{code}』は「商品管理番号:SKU管理番号」の形式で、"
            "半角英数字・ハイフン・アンダーバー（各32文字以内）で入力してください"
        )

    # ------------------------------------------------------------------ http

    def _classify(self, response: httpx.Response) -> MallError | None:
        """Read a 楽天 response: status first, then the three error envelopes (§6)."""
        status = response.status_code
        if status < 400:
            return None
        body = json_or_none(response)
        code, text, items = error_details(body)
        detail = redact(" ".join(p for p in (code, text) if p), self._secrets)
        suffix = f"（HTTP {status}{' ' + detail if detail else ''}）"
        if status in (401, 403) or is_credential_problem(code):
            return AuthError(
                f"楽天: 認証エラー{suffix}。ライセンスキーの期限切れ・入力誤り、"
                "またはRMSのWEB APIサービスで機能が有効になっていない可能性があります"
            )
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"), self._clock.now())
            return RateLimited(f"楽天: リクエスト数の上限を超えました{suffix}", retry_after)
        if status == 409 or status >= 500:
            return TransientError(f"楽天: 一時的なエラー{suffix}")
        return MallRejected(
            f"楽天: リクエストが拒否されました{suffix}",
            code=code,
            items={i: redact(reason, self._secrets) for i, reason in items.items()},
        )

    def _request(
        self,
        method: str,
        path: str,
        bucket: TokenBucket,
        *,
        json: Any = None,
        body: bytes | None = None,
        params: Mapping[str, str] | None = None,
        order_api: bool = False,
    ) -> httpx.Response:
        """One call; its JSON body is ``json``, or ``body`` when already written as bytes."""
        if json is not None:
            # The bytes httpx would send for json=, made faster (bulk bodies of 1,000 codes).
            body = json_body(json)
        headers = {"Authorization": self._auth_header}
        if body is not None or order_api:
            headers["Content-Type"] = self.JSON_CONTENT_TYPE
        return request_with_retry(
            self._client,
            method,
            self._url(path),
            classify=self._classify,
            clock=self._clock,
            stop=self._stop,
            bucket=bucket,
            rng=self._rng,
            secrets=self._secrets,
            max_tries=self._max_tries,
            max_total_wait=self._max_total_wait,
            params=params,
            content=body,
            headers=headers,
            label="楽天",
        )

    def _url(self, path: str) -> httpx.URL:
        """``path`` on the client's base URL, as httpx would build it, made once per path.

        httpx joins a relative path to ``base_url`` on every request (parsing and
        quoting both, ~0.1 ms); an absolute URL it takes as it is.
        """
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = self._client.build_request("GET", path).url
        return url

    def _json(self, response: httpx.Response, shape: JsonShape | None = None) -> dict[str, Any]:
        """The answer as a JSON object (only ``shape``'s fields when given)."""
        body = json_or_none(response) if shape is None else shape.decode(response)
        if not isinstance(body, dict):
            # A 2xx that is not JSON is a proxy or maintenance page, not an answer.
            raise TransientError(f"楽天: 応答を読み取れませんでした（HTTP {response.status_code}）")
        return body

    # ------------------------------------------------------------------ check

    def check(self) -> CheckResult:
        """接続テスト: one authenticated call that also tells when the key expires.

        The license key lives 90 days and only a person can renew it in RMS, so the
        expiry date is the most useful thing a connection test can report.
        """
        try:
            response = self._request(
                "GET",
                self.PATH_LICENSE_EXPIRY,
                self._order_bucket,
                params={"licenseKey": self._license_key},
            )
            raw = self._json(response).get("expiryDate")
        except Stopped:
            raise
        except AuthError as err:
            return CheckResult(mall=self.name, ok=False, message=redact(str(err), self._secrets))
        except MallError as err:
            return CheckResult(
                mall=self.name,
                ok=False,
                message=redact(f"楽天: 接続NG（{err}）", self._secrets),
            )
        expires = parse_license_expiry(raw)
        if expires is None:
            return CheckResult(
                mall=self.name,
                ok=True,
                message="楽天: 接続OK（ライセンスキー有効期限を読み取れませんでした）",
            )
        days_left = (expires.date() - to_jst(self._clock.now()).date()).days
        remaining = f"あと{days_left}日" if days_left >= 0 else "期限切れ"
        return CheckResult(
            mall=self.name,
            ok=True,
            message=f"楽天: 接続OK（ライセンスキー有効期限 {expires:%Y-%m-%d}、{remaining}）",
            credential_expires_at=expires,
        )

    # ------------------------------------------------------------------ stock

    def _bulk_get(self, codes: Sequence[str]) -> dict[str, int]:
        """Quantities of the given valid canonical codes that exist; refreshes the cache."""
        for code in codes:
            assert self._split_code(code) is not None
        return self._bulk_read(list(dict.fromkeys(codes)))

    def _bulk_read(self, codes: list[str]) -> dict[str, int]:
        """:meth:`_bulk_get` of codes already checked (each code once, in order)."""
        found: dict[str, int] = {}
        for chunk in chunks(codes, self.BULK_GET_BATCH):
            response = self._request(
                "POST", self.PATH_BULK_GET, self._read_bucket, body=bulk_get_body(chunk)
            )
            asked = dict(zip(chunk, chunk, strict=True))
            seen: dict[str, int] = {}
            for item in self._json(response, BULK_GET_ANSWER).get("inventories") or []:
                if not isinstance(item, dict):
                    continue
                get = item.get
                answered = f"{get('manageNumber', '')}:{get('variantId', '')}"
                # The code asked for, not the answer's copy: _known keeps it for the
                # process's life (one string per listing, shared with the sheet's). The
                # asked codes are canonical, so an answer that matches one as it is
                # (楽天 answers manageNumber folded) needs no folding.
                key = asked.get(answered)
                if key is None:
                    folded = self.canonical_code(answered)
                    key = asked.get(folded, folded)
                try:
                    seen[key] = int(get("quantity", 0))
                except (TypeError, ValueError):
                    continue
            self._known.saw(chunk, seen)
            found.update(seen)
        return found

    def read_stock(self, codes: Sequence[str]) -> dict[str, int]:
        """Live quantities via bulk-get (≤1000 per call at 5 req/s), keyed as given.

        Codes 楽天 does not know (or could not hold) are left out.
        """
        canonical, askable = split_codes(codes)
        found = self._bulk_read(askable)
        return {code: found[c] for code, c in canonical.items() if c in found}

    def push_stock(self, pushes: Sequence[StockPush]) -> list[PushResult]:
        """Absolute bulk-upserts (≤400 per call at 1 req/s); one result per push, in order.

        楽天 has neither compare-and-set nor a per-listing back-order switch in the
        inventory API, so ``compare_to`` and ``backorder`` are not sent: the engine's
        read-back (§4.5) covers the first, the item settings in RMS the second.
        """
        results: list[PushResult | None] = [None] * len(pushes)
        # 楽天 refuses a pair twice in one request (IE1102): the later push wins.
        last_index = screen_pushes(
            pushes,
            results,
            canonical=self.canonical_code,
            problem=self._push_problem,
            code_word="楽天コード",
        )

        to_send, unknown = self._known.sort_out(last_index, self._bulk_get)
        for i, code in unknown:
            manage_number, variant_id = code.split(":", 1)
            results[i] = PushResult(
                code=pushes[i].code,
                status=PushStatus.UNKNOWN_CODE,
                message=(
                    f"楽天に商品管理番号『{manage_number}』・SKU管理番号『{variant_id}』の商品が"
                    "見つかりません（楽天は存在しない商品への更新もエラーにしないため送信していません）"
                ),
            )
        for chunk in chunks(to_send, self.UPSERT_BATCH):
            self._upsert(pushes, chunk, results)

        final: list[PushResult] = []
        for i, result in enumerate(results):
            assert result is not None, f"push {i} got no result"
            final.append(result)
        return final

    def _upsert(
        self,
        pushes: Sequence[StockPush],
        batch: list[tuple[int, str]],
        results: list[PushResult | None],
    ) -> None:
        """Send one batch; on a 400, drop what 楽天 named (or bisect) and send again.

        A 400 that names no element is bisected to find the bad one, except for codes
        that are about the request or the shop (not migrated, body missing, ...): every
        half would fail the same way, so the batch is rejected at once. A small split
        budget bounds the calls (1 req/s) a strange answer can cost.
        """
        pending = [batch]
        splits_left = self.MAX_BISECT_SPLITS
        while pending:
            part = pending.pop()
            if not part:
                continue
            items = []
            for i, code in part:
                manage_number, variant_id = code.split(":", 1)
                items.append((manage_number, variant_id, pushes[i].quantity))
            body = bulk_upsert_body(items)
            try:
                self._request("POST", self.PATH_BULK_UPSERT, self._write_bucket, body=body)
            except MallRejected as err:
                named = {k: v for k, v in err.items.items() if 0 <= k < len(part)}
                if named:
                    for k, reason in named.items():
                        i = part[k][0]
                        results[i] = rejected(pushes[i], f"楽天が更新を拒否しました（{reason}）")
                    pending.append([p for k, p in enumerate(part) if k not in named])
                elif len(part) == 1 or splits_left <= 0 or is_request_level(err.code):
                    for i, _code in part:
                        results[i] = rejected(pushes[i], f"楽天が更新を拒否しました（{err}）")
                else:
                    # Rejected without saying which element: halve until the bad one is alone.
                    splits_left -= 1
                    mid = len(part) // 2
                    pending.extend([part[mid:], part[:mid]])
                continue
            applied = PushStatus.APPLIED  # (an enum member looked up once, not a push)
            for i, _code in part:
                push = pushes[i]
                results[i] = PushResult(push.code, applied, push.quantity)

    # ------------------------------------------------------------------ orders

    def fetch_order_lines(self, since: datetime, until: datetime) -> list[OrderLine]:
        """Lines of orders placed in [since, until], plus changed orders of the cancel window.

        searchOrder can only filter by date, so changes to older orders are found two ways:

        - every call, a search of the cancellation window (up to ``until``) limited to
          orderProgress 400/800/900 ([S10] orderProgressList). Of those, getOrder is
          called only for orders not seen before, seen while still pending (400, 800), or
          gone from the result (a withdrawn cancel leaves 800); the rest (900) are
          re-reported from memory. An 800 order keeps its units until the cancel is
          confirmed (900). An order of [since, until] the last call read, outside those
          progresses then and now, is re-reported as read then (:meth:`_carried`).
        - a re-read of every not-yet-shipped order (100–400) of the window, a few
          getOrder calls per cycle (:meth:`_reread_unshipped`), because RMS may change
          a line in place without the order ever showing 400 to a poll.

        Memory is per process: after a restart the watched orders are fetched and
        re-reported, and a re-read order is reported if its lines changed since this
        process last read it, or it was placed, or changed, since this process started.
        """
        now = self._clock.now()
        oldest = now - self.SEARCH_MAX_AGE
        since = max(since, oldest)
        if until < since:
            return []
        if self._origin is None:
            self._origin = since
        self._reads.start()
        placed = self._search_orders(since, until, ())
        watch_start = max(until - self.cancel_window, oldest)
        watched: list[str] = []
        carried: dict[str, SeenOrder] = {}
        if watch_start < since:
            # The watch spans the placed window too, so what it does not list of the
            # orders read last time is carried over unread (_carried).
            watched = self._search_orders(watch_start, until, self.CANCEL_WATCH_PROGRESS)
            carried = self._carried(placed, watched)
        to_fetch = self._to_fetch(
            list(filterfalse(carried.__contains__, placed)), watched, watch_start
        )
        fetched = self._get_orders(to_fetch)
        reread: dict[str, SeenOrder] = {}
        if watch_start < since:
            reread = self._reread_unshipped(watch_start, since, now, set(fetched))

        memory: dict[str, SeenOrder] = {}
        reports: dict[str, SeenOrder] = {}
        # (~3,000 orders a cycle at 100,000 products: the look-ups bound once)
        read, kept, known = fetched.get, carried.get, self._seen_orders.get
        watch = self.CANCEL_WATCH_PROGRESS
        for number in dict.fromkeys([*placed, *watched, *to_fetch]):
            seen = read(number) or kept(number) or known(number)
            if seen is None:
                continue
            reports[number] = seen
            if seen.progress in watch:
                memory[number] = seen
        for number, seen in reread.items():
            if number not in reports and self._changed(number, seen):
                reports[number] = seen
        # Commit memory only after every call succeeded: a failed fetch must not hide
        # orders from the next one.
        self._seen_orders = memory
        self._remember_unshipped({**fetched, **reread}, watch_start)
        self._reads.done()
        return report_lines(reports.values(), now)

    def _carried(self, placed: list[str], watched: list[str]) -> dict[str, SeenOrder]:
        """Orders of the placed window the last fetch read that need no getOrder now.

        The worker asks from a little before its cursor (the overlap: an order can show in
        searchOrder late), so most placed orders were read a cycle ago: ~1,500 of the
        ~2,200 orders a cycle read at 100,000 products (the scale run), 15 getOrder calls
        against the order API's 1 call a second this adapter allows itself. One read
        before is carried over as it was unless the watch search (which spans the placed
        window too) lists it in 400/800/900 now, or it was in one of those then (it left
        it: read again). A line changed in place without passing 400 is found by the
        re-read of unshipped orders (:meth:`_reread_unshipped`), as for any older order.
        """
        return self._reads.carry(
            filterfalse(set(watched).__contains__, placed),
            restock_default=self.restock_on_cancel_default,
            unless=self.CANCEL_WATCH_PROGRESS,
        )

    def _to_fetch(self, placed: list[str], watched: list[str], watch_start: datetime) -> list[str]:
        """New orders, watched ones not known cancelled, and remembered ones that left 400–900."""
        placed_set = set(placed)
        watched_set = set(watched)
        to_fetch = list(placed)
        for number in watched:
            seen = self._seen_orders.get(number)
            if seen is None or seen.progress not in self.CANCELLED_PROGRESS:
                to_fetch.append(number)
        for number, seen in self._seen_orders.items():
            if number in placed_set or number in watched_set:
                continue
            if seen.ordered_at is not None and seen.ordered_at >= watch_start:
                to_fetch.append(number)  # left 400/800/900 while inside the window: look again
        return list(dict.fromkeys(to_fetch))

    def _reread_unshipped(
        self, start: datetime, end: datetime, now: datetime, fresh: set[str]
    ) -> dict[str, SeenOrder]:
        """The next slice of the not-yet-shipped orders of [start, end], read again.

        A sweep lists them once (searchOrder with orderProgressList 100–400) and reads
        ``REREAD_BATCHES`` getOrder calls of them per cycle until the list is done; the
        next sweep starts ``REREAD_INTERVAL`` after the previous one started. The list is
        shortened only after its slice was read, so a failed call re-reads it.
        """
        if not self._reread_queue:
            started = self._reread_started
            if started is not None and now - started < self.REREAD_INTERVAL:
                return {}
            self._reread_queue = self._search_orders(start, end, self.UNSHIPPED_PROGRESS)
            self._reread_started = now
        size = self.REREAD_BATCHES * self.GET_ORDER_BATCH
        batch = self._reread_queue[:size]
        got = self._get_orders([n for n in batch if n not in fresh])
        del self._reread_queue[: len(batch)]
        return got

    def _changed(self, number: str, seen: SeenOrder) -> bool:
        """Whether a re-read order must be reported (see :meth:`fetch_order_lines`)."""
        before = self._unshipped.get(number)
        if before is not None:
            now = seen.unshipped()
            return before.lines != now.lines or before.progress != now.progress
        origin = self._origin
        assert origin is not None
        placed_since = seen.ordered_at is not None and seen.ordered_at >= origin
        changed_since = seen.last_change is not None and seen.last_change >= origin
        # An order placed before the bot first ran is not in the ledger; only a change
        # made after that start (e.g. while the bot was down) is worth reporting.
        return placed_since or changed_since

    def _remember_unshipped(self, read: Mapping[str, SeenOrder], watch_start: datetime) -> None:
        """Keep what the not-yet-shipped orders of the window look like now."""
        self._unshipped.remember(read, watch_start, self.UNSHIPPED_PROGRESS)

    def _search_orders(self, start: datetime, end: datetime, progress: Sequence[int]) -> list[str]:
        """Order numbers placed in [start, end], over ≤63-day windows and all pages."""
        numbers: list[str] = []
        for window_start, window_end in windows(start, end, self.SEARCH_MAX_SPAN):
            numbers.extend(self._search_window(window_start, window_end, progress))
        return list(dict.fromkeys(numbers))

    def _search_window(self, start: datetime, end: datetime, progress: Sequence[int]) -> list[str]:
        numbers: list[str] = []
        page = 1
        while True:
            body: dict[str, Any] = {
                "dateType": self.DATE_TYPE_ORDER,
                "startDatetime": self.format_order_datetime(start),
                "endDatetime": self.format_order_datetime(end, ceil=True),
                "PaginationRequestModel": {
                    "requestRecordsAmount": self.SEARCH_PAGE_SIZE,
                    "requestPage": page,
                    "SortModelList": [{"sortColumn": 1, "sortDirection": 1}],
                },
            }
            if progress:
                body["orderProgressList"] = list(progress)
            data = self._json(
                self._request(
                    "POST", self.PATH_SEARCH_ORDER, self._order_bucket, json=body, order_api=True
                )
            )
            errors = order_api_errors(data)
            if errors:
                # A 200 whose MessageModelList holds an ERROR did not search: never "no
                # orders" (the cursor must not pass orders nobody read). [S10]
                code, text, _ = errors[0]
                raise TransientError(f"楽天: 注文検索がエラーを返しました（{code} {text}）")
            pagination = data.get("PaginationResponseModel") or {}
            total = int_or(pagination.get("totalRecordsAmount"), 0)
            if page == 1 and total >= self.SEARCH_HIT_CAP and end - start > timedelta(minutes=2):
                # At most 15,000 hits can be fetched [S10]: a total at the cap may hide more
                # (hits past 15,000 cannot be paged to), so halve the window instead.
                mid = start + (end - start) / 2
                return [
                    *self._search_window(start, mid, progress),
                    *self._search_window(mid, end, progress),
                ]
            numbers.extend(str(n) for n in data.get("orderNumberList") or [])
            total_pages = int_or(pagination.get("totalPages"), 0)
            if page >= total_pages or not data.get("orderNumberList"):
                return numbers
            page += 1

    def _get_orders(self, numbers: Sequence[str]) -> dict[str, SeenOrder]:
        """Fetch orders with getOrder (version 7, ≤100 per call): what each looks like now."""
        out: dict[str, SeenOrder] = {}
        for chunk in chunks(list(numbers), self.GET_ORDER_BATCH):
            data = self._json(
                self._request(
                    "POST",
                    self.PATH_GET_ORDER,
                    self._order_bucket,
                    json={"orderNumberList": chunk, "version": self.GET_ORDER_VERSION},
                    order_api=True,
                ),
                GET_ORDER_ANSWER,
            )
            failed = {number: f"{code} {text}" for code, text, number in order_api_errors(data)}
            if failed:
                # Per-order messages [S11]: those orders were not read. Failing the call
                # keeps them (and the cursor) to be read again next cycle.
                numbers_text = "、".join(sorted(n or "?" for n in failed))
                first = next(iter(failed.values()))
                raise TransientError(f"楽天: 注文 {numbers_text} を取得できませんでした（{first}）")
            for order in data.get("OrderModelList") or []:
                if isinstance(order, dict) and order.get("orderNumber"):
                    number = str(order["orderNumber"])
                    out[number] = self._reads.parse(
                        number, order, restock_default=self.restock_on_cancel_default
                    )
        return out

    # The order API's datetime form, kept where callers (and tests) look for it.
    format_order_datetime = staticmethod(format_order_datetime)
    parse_order_datetime = staticmethod(parse_order_datetime)
