"""The Amazon channel's declaration, its settings and :class:`AmazonAdapter`.

The design is in the package docstring (``adapters/amazon/__init__.py``); wire facts
are in ``docs/api/amazon.md`` and, beside each class attribute, its public source.
[SPM] means Amazon's published models (github.com/amzn/selling-partner-api-models,
mirrored under tests/fixtures/amazon-sp-api-models).
"""

from __future__ import annotations

import logging
import random
import threading
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, ClassVar

import httpx
from pydantic import SecretStr, field_validator

from adapters.amazon.bulk import MERCHANT_CHANNEL, Bulk, ListingRow
from adapters.amazon.feeds import FeedBook
from adapters.amazon.orders import OrderBook
from adapters.amazon.readback import ReportReads
from adapters.amazon.wire import LwaTokens, NotFound, SpApi
from adapters.base import (
    AuthError,
    BuildContext,
    Channel,
    ChannelConfig,
    MallError,
    MallRejected,
    RateLimited,
    Stopped,
    TokenBucket,
    TransientError,
    Url,
    describe_settings,
    redact,
    rejected,
    screen_pushes,
)
from bot.core.domain import CheckResult, OrderLine, PushResult, PushStatus, StockPush
from bot.infra.clock import JST, Clock, to_jst

log = logging.getLogger(__name__)

FBA_MESSAGE = "FBA（Amazon 在庫）の出品なので送信しません"
ACCEPTED_MESSAGE = "Amazon が受け付けました（反映待ち）"


class AmazonConfig(ChannelConfig):
    """``[malls.amazon]``: Selling Partner API, Japan marketplace.

    Secrets ``ZAIKO_AMAZON_LWA_CLIENT_ID``, ``ZAIKO_AMAZON_LWA_CLIENT_SECRET``,
    ``ZAIKO_AMAZON_REFRESH_TOKEN`` and ``ZAIKO_AMAZON_SELLER_ID`` (Seller Central →
    アプリとサービス → アプリの開発, and 設定 → 出品用アカウント情報 for the seller id).
    """

    required: ClassVar[Mapping[str, str]] = {
        "lwa_client_id": "LWA クライアント ID",
        "lwa_client_secret": "LWA クライアントシークレット（180 日ごとに更新）",
        "refresh_token": "リフレッシュトークン",
        "seller_id": "出品者 ID（セラー ID）",
    }

    base_url: Url = "https://sellingpartnerapi-fe.amazon.com"
    token_url: Url = "https://api.amazon.com/auth/o2/token"
    marketplace_id: str = "A1VC38T7YXB528"
    lwa_secret_expires_on: str = ""
    """YYYY-MM-DD shown in Seller Central for the LWA client secret ('' = not told)."""
    lwa_client_id: SecretStr | None = None
    lwa_client_secret: SecretStr | None = None
    refresh_token: SecretStr | None = None
    seller_id: SecretStr | None = None

    @field_validator("lwa_secret_expires_on")
    @classmethod
    def _a_date_or_blank(cls, value: str) -> str:
        value = value.strip()
        if value:
            try:
                date.fromisoformat(value)
            except ValueError:
                raise ValueError(
                    f"lwa_secret_expires_on は YYYY-MM-DD で入力してください（{value!r}）"
                ) from None
        return value

    @field_validator("marketplace_id")
    @classmethod
    def _marketplace(cls, value: str) -> str:
        value = value.strip()
        if not value.isalnum():
            raise ValueError(f"marketplace_id が正しくありません（{value!r}）")
        return value


AMAZON = Channel(
    key="amazon",
    label="Amazon",
    name="Amazon",
    aliases=("アマゾン", "amazon.co.jp"),
    code_note=(
        "Amazon の出品者SKU（セラーSKU、大文字小文字も正確に）。複数あるときはカンマ（,）区切り。"
        "FBA の SKU はボットが在庫を送らず、その注文も在庫数を減らしません。空欄＝Amazonでは売っていない。"
    ),
    auth_hint=(
        "Seller Central の「アプリの開発」で LWA クライアントシークレット（180 日ごとに更新）と"
        "リフレッシュトークンを確認し、環境変数 ZAIKO_AMAZON_* を直してからボットを再起動してください。"
    ),
    expiry_note=(
        "LWA クライアントシークレットは 180 日ごとの更新が必要です（リフレッシュトークンは自己承認なら期限なし）"
    ),
)


@dataclass(frozen=True)
class _Listing:
    """What the adapter knows of one SKU (from getListingsItem or the listings report)."""

    exists: bool
    afn: bool = False
    quantity: int | None = None
    product_type: str = ""
    seen_at: float = 0.0


class AmazonAdapter:
    """Amazon.co.jp via SP-API: stock by seller SKU, orders by Orders API v2026-01-01."""

    name: ClassVar[str] = "amazon"
    channel: ClassVar[Channel] = AMAZON
    Config: ClassVar[type[ChannelConfig]] = AmazonConfig
    secret_fields: ClassVar[tuple[str, ...]] = (
        "lwa_client_id",
        "lwa_client_secret",
        "refresh_token",
        "seller_id",
    )

    BASE_URL: ClassVar[str] = "https://sellingpartnerapi-fe.amazon.com"
    # https://developer-docs.amazon.com/sp-api/docs/sp-api-endpoints (Far East: JP)
    TOKEN_URL: ClassVar[str] = "https://api.amazon.com/auth/o2/token"
    # https://developer-docs.amazon.com/sp-api/docs/marketplace-ids (Japan)
    MARKETPLACE_ID: ClassVar[str] = "A1VC38T7YXB528"
    # Listings Items 2021-08-01 usage plans [SPM]
    # https://developer-docs.amazon.com/sp-api/docs/listings-items-api-v2021-08-01-reference
    PATCH_RATE: ClassVar[tuple[float, int]] = (5.0, 5)
    GET_RATE: ClassVar[tuple[float, int]] = (5.0, 10)
    SEARCH_LISTINGS_RATE: ClassVar[tuple[float, int]] = (5.0, 5)
    PATH_ITEMS: ClassVar[str] = "/listings/2021-08-01/items"
    # Quantity is set on the merchant channel with a JSON Patch "merge", which leaves
    # lead_time_to_ship_max_days and restock_date alone (since 2025-06-16).
    # https://developer-docs.amazon.com/sp-api/docs/merge-a-listing
    QUANTITY_PATH: ClassVar[str] = "/attributes/fulfillment_availability"
    PATCH_OP: ClassVar[str] = "merge"
    # A generic product type that carries offer attributes; used when the real one is
    # not known (many public clients do this; docs/api/amazon.md §7).
    FALLBACK_PRODUCT_TYPE: ClassVar[str] = "PRODUCT"
    # A JSON_LISTINGS_FEED takes 1..25,000 messages.
    # https://developer-docs.amazon.com/sp-api/changelog/update-feed-size-and-rate-limit-changes-for-the-json_listings_feed
    FEED_MAX_MESSAGES: ClassVar[int] = 25_000
    # PATCH or feed: PATCH costs 0.2 s a listing at 5 req/s, plus a read-back; a feed
    # costs one of only 5 feed slots per 5 minutes and minutes of processing. 50
    # listings (~10 s of PATCH, ~10 s of reads) fit in one 15 s cycle; above that the
    # push is a start-up or bulk push where a feed's minutes do not matter and a PATCH
    # loop would hold the cycle for minutes (25,000 PATCHes = 83 minutes).
    PATCH_MAX: ClassVar[int] = 50
    # Reading back a few SKUs costs one getListingsItem each (5 req/s); more than this
    # goes through one listings report (a minute or two, but one call per step).
    READ_ITEMS_MAX: ClassVar[int] = 50
    # How long what getListingsItem or a report said about a SKU (exists, FBA, product
    # type) is trusted. Ours: listings change fulfilment channel rarely.
    LISTING_TTL_S: ClassVar[float] = 3600.0
    # Ours: a report in flight answers a push's existence check if it was asked for at
    # most this long ago (a listing created on Amazon since may be missing from it).
    REPORT_REUSE_S: ClassVar[float] = 60.0
    ISSUE_LOCALE: ClassVar[str] = "ja_JP"

    def __init__(
        self,
        client: httpx.Client,
        *,
        lwa_client_id: str,
        lwa_client_secret: str,
        refresh_token: str,
        seller_id: str,
        clock: Clock,
        stop: threading.Event | None = None,
        rng: random.Random | None = None,
        marketplace_id: str = MARKETPLACE_ID,
        token_url: str = TOKEN_URL,
        lwa_secret_expires_on: date | None = None,
        max_tries: int = 5,
        max_total_wait: float = 60.0,
        feed_poll_seconds: float = 30.0,
        feed_max_wait_seconds: float = 1800.0,
    ) -> None:
        self._client = client
        self._clock = clock
        self._seller_id = seller_id
        self.marketplace_id = marketplace_id
        self.lwa_secret_expires_on = lwa_secret_expires_on
        rng = rng if rng is not None else random.Random()
        tokens = LwaTokens(
            client,
            token_url=token_url,
            client_id=lwa_client_id,
            client_secret=lwa_client_secret,
            refresh_token=refresh_token,
            clock=clock,
            stop=stop,
            rng=rng,
        )
        self._api = SpApi(
            client,
            tokens,
            clock=clock,
            stop=stop,
            rng=rng,
            extra_secrets=(seller_id,),
            max_tries=max_tries,
            max_total_wait=max_total_wait,
        )
        self._bulk = Bulk(
            self._api,
            seller_id=seller_id,
            marketplace_id=marketplace_id,
            poll_seconds=feed_poll_seconds,
            max_wait_seconds=feed_max_wait_seconds,
        )
        self._orders = OrderBook(self._api, marketplace_id=marketplace_id, is_fba=self._is_fba)
        self._patch_bucket = TokenBucket(self.PATCH_RATE[0], 1, clock)
        self._get_bucket = TokenBucket(self.GET_RATE[0], 1, clock)
        self._search_bucket = TokenBucket(self.SEARCH_LISTINGS_RATE[0], 1, clock)
        self._listings: dict[str, _Listing] = {}
        self._reads = ReportReads(self._bulk, clock)
        self._feeds = FeedBook(
            self._bulk,
            clock,
            message=self._feed_message,
            redact=self._redact,
            max_messages=self.FEED_MAX_MESSAGES,
            give_up_s=feed_max_wait_seconds,
        )

    @classmethod
    def from_config(
        cls, config: AmazonConfig, client: httpx.Client, context: BuildContext
    ) -> AmazonAdapter:
        """The adapter ``run`` uses: secrets from the config, waits on the stop event."""
        expires = config.lwa_secret_expires_on
        return cls(
            client,
            lwa_client_id=config.secret("lwa_client_id"),
            lwa_client_secret=config.secret("lwa_client_secret"),
            refresh_token=config.secret("refresh_token"),
            seller_id=config.secret("seller_id"),
            clock=context.clock,
            stop=context.stop,
            marketplace_id=config.marketplace_id,
            token_url=config.token_url,
            lwa_secret_expires_on=date.fromisoformat(expires) if expires else None,
        )

    def describe(self) -> dict[str, str]:
        """Settings for logs and 接続テスト, with the credentials masked."""
        return describe_settings(
            {
                "mall": self.name,
                "base_url": str(self._client.base_url),
                "marketplace_id": self.marketplace_id,
                "seller_id": self._seller_id,
            },
            self.secret_fields,
        )

    @property
    def token_exchanges(self) -> int:
        """LWA token calls made so far (the cache should keep this near one an hour)."""
        return self._api.tokens.exchanges

    @staticmethod
    def canonical_code(code: str) -> str:
        """The seller SKU as typed, trimmed: Amazon compares SKUs exactly."""
        return code.strip()

    # ------------------------------------------------------------------ check

    def check(self) -> CheckResult:
        """接続テスト: an LWA exchange and one searchListingsItems call (page size 1).

        The search needs the seller id, so a wrong one fails here too. Refresh tokens of
        a self-authorised (private) app do not expire on a schedule; a public app must
        be re-authorised every 365 days
        (https://developer-docs.amazon.com/sp-api/docs/renew-authorizations), and every
        app's LWA client secret must be rotated every 180 days
        (https://developer-docs.amazon.com/sp-api/docs/rotating-your-apps-lwa-credentials),
        which Amazon does not expose through an API: staff copy the date into
        ``lwa_secret_expires_on`` and ``check`` counts the days.
        """
        try:
            self._api.tokens.invalidate()
            response = self._api.call(
                "GET",
                f"{self.PATH_ITEMS}/{_quote(self._seller_id)}",
                self._search_bucket,
                params={"marketplaceIds": self.marketplace_id, "pageSize": "1"},
            )
            total = self._api.json(response).get("numberOfResults")
        except Stopped:
            raise
        except AuthError as err:
            return CheckResult(mall=self.name, ok=False, message=self._redact(str(err)))
        except MallError as err:
            return CheckResult(
                mall=self.name, ok=False, message=self._redact(f"Amazon: 接続NG（{err}）")
            )
        listings = f"出品 {total} 件、" if isinstance(total, int) else ""
        return CheckResult(
            mall=self.name,
            ok=True,
            message=f"Amazon: 接続OK（{listings}{self._expiry_words()}）",
            credential_expires_at=self._secret_expiry(),
        )

    def _secret_expiry(self) -> datetime | None:
        day = self.lwa_secret_expires_on
        return (
            None if day is None else datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=JST)
        )

    def _expiry_words(self) -> str:
        expires = self._secret_expiry()
        if expires is None:
            return "LWA クライアントシークレットは 180 日ごとに更新が必要です"
        days_left = (expires.date() - to_jst(self._clock.now()).date()).days
        remaining = f"あと{days_left}日" if days_left >= 0 else "期限切れ"
        return f"LWA クライアントシークレット期限 {expires:%Y-%m-%d}、{remaining}"

    def _redact(self, text: str) -> str:
        return redact(text, self._api.secrets)

    # ------------------------------------------------------------------ listings

    def _item_path(self, sku: str) -> str:
        # Seller id and SKU are path segments: URL-encode them whole (a SKU may hold "/").
        return f"{self.PATH_ITEMS}/{_quote(self._seller_id)}/{_quote(sku)}"

    def _get_listing(self, sku: str) -> _Listing:
        """One getListingsItem (summaries, fulfillmentAvailability), remembered."""
        try:
            response = self._api.call(
                "GET",
                self._item_path(sku),
                self._get_bucket,
                params={
                    "marketplaceIds": self.marketplace_id,
                    "includedData": "summaries,fulfillmentAvailability",
                    "issueLocale": self.ISSUE_LOCALE,
                },
            )
        except NotFound:
            listing = _Listing(exists=False, seen_at=self._clock.monotonic())
        else:
            listing = self._listing_from_item(self._api.json(response))
        self._listings[sku] = listing
        return listing

    def _listing_from_item(self, item: Mapping[str, Any]) -> _Listing:
        afn, quantity = False, None
        for entry in item.get("fulfillmentAvailability") or []:
            if not isinstance(entry, dict):
                continue
            if entry.get("fulfillmentChannelCode") == MERCHANT_CHANNEL:
                value = entry.get("quantity")
                quantity = value if isinstance(value, int) else 0
            else:
                afn = True  # AMAZON_JP: Amazon holds this listing's stock
        product_type = ""
        for summary in item.get("summaries") or []:
            if isinstance(summary, dict) and summary.get("marketplaceId") == self.marketplace_id:
                product_type = str(summary.get("productType") or "")
        return _Listing(
            exists=True,
            afn=afn,
            quantity=None if afn else quantity,
            product_type=product_type,
            seen_at=self._clock.monotonic(),
        )

    def _remember(
        self, rows: Mapping[str, ListingRow], skus: Sequence[str], at: float | None = None
    ) -> None:
        """Fold a listings report asked for at ``at`` (default now) into the cache.

        Asked SKUs missing from it do not exist. A report's rows are dated when it was
        asked for: its data is from then or later, so the read-back's settle rule errs
        on the safe side.
        """
        now = self._clock.monotonic() if at is None else at
        for sku, row in rows.items():
            known = self._listings.get(sku)
            self._listings[sku] = _Listing(
                exists=True,
                afn=row.afn,
                quantity=row.quantity,
                product_type=known.product_type if known else "",
                seen_at=now,
            )
        for sku in skus:
            if sku not in rows:
                self._listings[sku] = _Listing(exists=False, seen_at=now)

    def _learn(self, skus: Sequence[str], *, fresh: bool = False) -> dict[str, _Listing]:
        """What each SKU is now: per-SKU reads for a few, the listings report for many."""
        now = self._clock.monotonic()
        stale = [
            sku
            for sku in skus
            if fresh
            or now - self._listings.get(sku, _Listing(False, seen_at=-1e18)).seen_at
            > self.LISTING_TTL_S
        ]
        if len(stale) > self.READ_ITEMS_MAX:
            done = self._reads.wait(newer_than=now if fresh else now - self.REPORT_REUSE_S)
            self._remember(done.rows, stale, at=done.asked_at)
        else:
            for sku in stale:
                self._get_listing(sku)
        return {sku: self._listings[sku] for sku in skus}

    def _is_fba(self, sku: str) -> bool:
        listing = self._listings.get(sku)
        return listing is not None and listing.afn

    def read_stock(self, codes: Sequence[str]) -> dict[str, int]:
        """Merchant-fulfilled quantities, keyed as given.

        Up to :attr:`READ_ITEMS_MAX` SKUs are read live, one getListingsItem each. More
        are answered from the newest listings report without waiting for one
        (:mod:`adapters.amazon.readback`): a SKU that report cannot speak for yet is left
        out this time. Unknown SKUs and FBA listings are left out too: an FBA quantity is
        Amazon's stock in its warehouses, not the shop's, so it must never look like drift.
        """
        canonical = {code: self.canonical_code(code) for code in codes}
        skus = list(dict.fromkeys(c for c in canonical.values() if c))
        if len(skus) > self.READ_ITEMS_MAX:
            return self._read_from_reports(canonical)
        listings = self._learn(skus, fresh=True)
        return {
            code: listing.quantity
            for code, sku in canonical.items()
            if (listing := listings.get(sku)) is not None
            and listing.exists
            and not listing.afn
            and listing.quantity is not None
            and not self._feeds.holds(sku)
        }

    def _read_from_reports(self, canonical: Mapping[str, str]) -> dict[str, int]:
        """The read-back of many SKUs: one step of the report cycle, then what may be used."""
        done = self._reads.step()
        if done is not None:
            self._remember(done.rows, (), at=done.asked_at)
        usable = self._reads.usable
        return {
            code: listing.quantity
            for code, sku in canonical.items()
            if (listing := self._listings.get(sku)) is not None
            and listing.exists
            and not listing.afn
            and listing.quantity is not None
            and usable(sku, listing.seen_at)
            and not self._feeds.holds(sku)
        }

    # ------------------------------------------------------------------ push

    def push_stock(self, pushes: Sequence[StockPush]) -> list[PushResult]:
        """Absolute merchant-fulfilled quantities; one result per push, in order.

        Up to :attr:`PATCH_MAX` listings go as one PATCH each and are read back (APPLIED
        when live, ACCEPTED while Amazon processes them). More go as JSON_LISTINGS_FEED
        documents of up to 25,000 messages, never waited for: they answer PENDING and
        :meth:`push_outcomes` reports them in a later cycle (:mod:`adapters.amazon.feeds`).
        A listing with a push still pending is queued behind it (PENDING too). FBA
        listings and unknown SKUs are never sent. ``compare_to`` and ``backorder`` have
        no SP-API counterpart and are not sent.
        """
        results: list[PushResult | None] = [None] * len(pushes)
        last = screen_pushes(
            pushes,
            results,
            canonical=self.canonical_code,
            problem=lambda _push, sku: None if sku else "Amazon の出品者SKUが空です",
            code_word="出品者SKU",
        )
        listings = self._learn(list(last))
        to_send: list[tuple[int, str]] = []
        for sku, i in last.items():
            listing = listings[sku]
            if not listing.exists:
                results[i] = PushResult(
                    code=pushes[i].code,
                    status=PushStatus.UNKNOWN_CODE,
                    message=f"Amazon に出品者SKU『{sku}』の出品が見つかりません",
                )
            elif listing.afn:
                results[i] = _skipped(pushes[i])
            else:
                to_send.append((i, sku))
        to_send.sort()
        self._reads.touch(sku for _i, sku in to_send)
        now = [(i, sku) for i, sku in to_send if not self._feeds.holds(sku)]
        if len(now) > self.PATCH_MAX:
            now = []
        patched = set(now)
        queued = [pair for pair in to_send if pair not in patched]
        self._send_patches(pushes, now, results)
        self._confirm(pushes, now, results)
        self._queue(pushes, queued, results)
        return [_done(i, r) for i, r in enumerate(results)]

    def _queue(
        self,
        pushes: Sequence[StockPush],
        queued: Sequence[tuple[int, str]],
        results: list[PushResult | None],
    ) -> None:
        """Hand pushes to the feed book, send what a free feed slot allows: PENDING."""
        if not queued:
            return
        for i, sku in queued:
            self._feeds.queue(sku, pushes[i])
        try:
            self._feeds.flush()
        except (RateLimited, TransientError) as err:
            # Still queued: push_outcomes sends them when Amazon takes a feed again.
            log.warning("Amazon: feed not created this cycle (%s)", self._redact(str(err)))
        for i, sku in queued:
            results[i] = self._feeds.pending_result(sku, pushes[i])

    def pending_pushes(self) -> int:
        """Pushes answered PENDING whose outcome :meth:`push_outcomes` has not reported."""
        return len(self._feeds)

    def push_outcomes(self) -> list[tuple[StockPush, PushResult]]:
        """What Amazon made of the feeds in flight (one getFeed each), then the queue sent.

        Each listing's newest PENDING push is reported once: ACCEPTED, or REJECTED with
        Amazon's words from the feed's processing report. Never waits for Amazon.
        """
        if not len(self._feeds):
            return []
        found = self._feeds.outcomes()
        self._reads.touch(sku for sku, _push, _result in found)
        self._feeds.flush()
        return [(push, result) for _sku, push, result in found]

    def _patch_body(self, sku: str, quantity: int) -> dict[str, Any]:
        listing = self._listings.get(sku)
        product_type = (listing.product_type if listing else "") or self.FALLBACK_PRODUCT_TYPE
        return {
            "productType": product_type,
            "patches": [
                {
                    "op": self.PATCH_OP,
                    "path": self.QUANTITY_PATH,
                    "value": [{"fulfillment_channel_code": MERCHANT_CHANNEL, "quantity": quantity}],
                }
            ],
        }

    def _send_patches(
        self,
        pushes: Sequence[StockPush],
        to_send: Sequence[tuple[int, str]],
        results: list[PushResult | None],
    ) -> None:
        """One patchListingsItem per listing; INVALID inside a 200 rejects that one."""
        for i, sku in to_send:
            try:
                response = self._api.call(
                    "PATCH",
                    self._item_path(sku),
                    self._patch_bucket,
                    params={
                        "marketplaceIds": self.marketplace_id,
                        "issueLocale": self.ISSUE_LOCALE,
                    },
                    json=self._patch_body(sku, pushes[i].quantity),
                )
            except NotFound:
                self._listings.pop(sku, None)
                results[i] = PushResult(
                    code=pushes[i].code,
                    status=PushStatus.UNKNOWN_CODE,
                    message=f"Amazon に出品者SKU『{sku}』の出品が見つかりません",
                )
                continue
            except MallRejected as err:
                results[i] = rejected(pushes[i], f"Amazon が更新を拒否しました（{err}）")
                continue
            body = self._api.json(response)
            if body.get("status") == "ACCEPTED":
                results[i] = _accepted(pushes[i])
            else:
                issues = _issue_text(body.get("issues"))
                results[i] = rejected(
                    pushes[i],
                    self._redact(f"Amazon が更新を拒否しました（{issues or body.get('status')}）"),
                )

    def _feed_message(self, sku: str, push: StockPush) -> dict[str, Any]:
        """One JSON_LISTINGS_FEED message (its messageId is added by the feed book)."""
        return {"sku": sku, "operationType": "PATCH", **self._patch_body(sku, push.quantity)}

    def _confirm(
        self,
        pushes: Sequence[StockPush],
        sent: Sequence[tuple[int, str]],
        results: list[PushResult | None],
    ) -> None:
        """Read back what Amazon accepted: APPLIED where the new quantity is live."""
        accepted = [(i, sku) for i, sku in sent if _status(results[i]) is PushStatus.ACCEPTED]
        if not accepted:
            return
        live = self._learn([sku for _i, sku in accepted], fresh=True)
        for i, sku in accepted:
            if live[sku].exists and live[sku].quantity == pushes[i].quantity:
                results[i] = PushResult(
                    code=pushes[i].code, status=PushStatus.APPLIED, quantity=pushes[i].quantity
                )

    # ------------------------------------------------------------------ orders

    def fetch_order_lines(self, since: datetime, until: datetime) -> list[OrderLine]:
        """Merchant-fulfilled order lines changed since ``since`` (see :class:`OrderBook`)."""
        lines = self._orders.fetch(since, until)
        self._reads.touch(self.canonical_code(line.code) for line in lines)
        return lines


# --------------------------------------------------------------------------- helpers


def _quote(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")


def _skipped(push: StockPush) -> PushResult:
    """An FBA listing: Amazon owns its stock, so nothing is sent (not an error)."""
    return PushResult(code=push.code, status=PushStatus.SKIPPED, message=FBA_MESSAGE)


def _accepted(push: StockPush, message: str = ACCEPTED_MESSAGE) -> PushResult:
    return PushResult(
        code=push.code, status=PushStatus.ACCEPTED, quantity=push.quantity, message=message
    )


def _status(result: PushResult | None) -> PushStatus | None:
    return None if result is None else result.status


def _done(index: int, result: PushResult | None) -> PushResult:
    assert result is not None, f"push {index} got no result"
    return result


def _issue_text(issues: object) -> str:
    """ERROR issues of a ListingsItemSubmissionResponse as one line."""
    if not isinstance(issues, list):
        return ""
    texts = [
        " ".join(str(issue.get(k) or "") for k in ("code", "message")).strip()
        for issue in issues
        if isinstance(issue, dict) and issue.get("severity") == "ERROR"
    ]
    return " / ".join(texts[:3])
