"""The Amazon simulator: gateway (LWA, access tokens, rate limits, faults) and shop controls.

The operations themselves live in ``listings``, ``orders`` and ``jobs`` (feeds,
reports and the presigned document URLs); this module routes to them.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import urllib.parse
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

import httpx

from bot.infra.clock import Clock
from bot.sandbox.simulators.amazon import jobs, listings, orders
from bot.sandbox.simulators.amazon.state import (
    LWA_HOST,
    MARKETPLACE_ID,
    S3_HOST,
    SP_HOST,
    Refused,
    SimDocument,
    SimJob,
    SimListing,
    SimOrder,
    SimOrderItem,
    SimRequest,
    errors_body,
    json_response,
)

FailKind = Literal["429", "503", "500", "timeout", "403"]
Handler = Callable[[Any, httpx.Request, dict[str, str], Any], httpx.Response]

_ITEM = r"/listings/2021-08-01/items/(?P<seller>[^/]+)/(?P<sku>[^/]+)"
# (operation, method, path pattern, handler); [SPM] paths of each model.
_ROUTES: list[tuple[str, str, re.Pattern[str], Handler]] = [
    ("getListingsItem", "GET", re.compile(_ITEM), listings.get_item),
    ("patchListingsItem", "PATCH", re.compile(_ITEM), listings.patch_item),
    (
        "searchListingsItems",
        "GET",
        re.compile(r"/listings/2021-08-01/items/(?P<seller>[^/]+)"),
        listings.search_items,
    ),
    ("searchOrders", "GET", re.compile(r"/orders/2026-01-01/orders"), orders.search_orders),
    (
        "createFeedDocument",
        "POST",
        re.compile(r"/feeds/2021-06-30/documents"),
        jobs.create_feed_document,
    ),
    (
        "getFeedDocument",
        "GET",
        re.compile(r"/feeds/2021-06-30/documents/(?P<id>[^/]+)"),
        jobs.get_feed_document,
    ),
    ("createFeed", "POST", re.compile(r"/feeds/2021-06-30/feeds"), jobs.create_feed),
    ("getFeed", "GET", re.compile(r"/feeds/2021-06-30/feeds/(?P<id>[^/]+)"), jobs.get_feed),
    ("createReport", "POST", re.compile(r"/reports/2021-06-30/reports"), jobs.create_report),
    ("getReport", "GET", re.compile(r"/reports/2021-06-30/reports/(?P<id>[^/]+)"), jobs.get_report),
    (
        "getReportDocument",
        "GET",
        re.compile(r"/reports/2021-06-30/documents/(?P<id>[^/]+)"),
        jobs.get_report_document,
    ),
]


@dataclass
class _Bucket:
    tokens: float
    last: float


class AmazonSimulator:
    """In-memory SP-API (JP) speaking the real wire format, as an httpx transport.

    Hosts: the LWA token endpoint, the SP-API Far East endpoint, and S3 for presigned
    document URLs. Shop controls: :meth:`add_listing` (``fba=True`` for an FBA
    listing), :meth:`set_stock`, :meth:`place_order`, :meth:`cancel_order`,
    :meth:`expire_credentials`, :meth:`fail_next`; state through :meth:`stock`,
    :meth:`pending_stock`, :attr:`orders`, :attr:`requests` and :meth:`refusals`.
    UNCONFIRMED facts (docs/api/amazon.md §8) are constructor arguments.
    """

    key: ClassVar[str] = "amazon"
    # A JSON_LISTINGS_FEED takes at most 25,000 messages (PATCH takes one listing).
    # https://developer-docs.amazon.com/sp-api/changelog/update-feed-size-and-rate-limit-changes-for-the-json_listings_feed
    max_write_batch: ClassVar[int] = 25_000

    # [SPM] usage plan (requests per second, burst) of every operation served.
    RATES: ClassVar[dict[str, tuple[float, int]]] = {
        "getListingsItem": (5.0, 10),
        "patchListingsItem": (5.0, 5),
        "searchListingsItems": (5.0, 5),
        "searchOrders": (0.0056, 20),
        "createFeedDocument": (0.5, 15),
        "getFeedDocument": (0.0222, 10),
        "createFeed": (0.0083, 15),
        "getFeed": (2.0, 15),
        "createReport": (0.0167, 15),
        "getReport": (2.0, 15),
        "getReportDocument": (0.0167, 15),
    }
    # JSON_LISTINGS_FEED: 5 submissions per 5 minutes (changelog above).
    LISTINGS_FEEDS_PER_WINDOW: ClassVar[int] = 5
    LISTINGS_FEED_WINDOW: ClassVar[timedelta] = timedelta(minutes=5)
    TOKEN_LIFETIME: ClassVar[timedelta] = timedelta(hours=1)  # docs/api/amazon.md §1
    DOCUMENT_URL_LIFETIME: ClassVar[timedelta] = timedelta(minutes=5)  # §3 step 1
    FEED_MAX_MESSAGES: ClassVar[int] = 25_000
    # Most seller-fulfilled orders stay Pending ~30 minutes (Seller Central help 200200040).
    PENDING_HOLD: ClassVar[timedelta] = timedelta(minutes=30)

    def __init__(
        self,
        *,
        clock: Clock,
        client_id: str = "amzn1.application-oa2-client.sim0000000000000001",
        client_secret: str = "amzn1.oa2-cs.v1.sim-secret-000000000000000001",
        refresh_token: str = "Atzr|sim-refresh-token-0000000000000001",
        seller_id: str = "A1SIMSELLER00001",
        latency: float = 0.0,
        push_lag: float = 0.0,
        feed_seconds: float = 60.0,
        report_seconds: float = 45.0,
        enforce_rate_limits: bool = True,
        max_quantity: int = 99_999,
        bad_request_code: str = "InvalidInput",
        retry_after_on_429: float | None = None,
        token_response_has_refresh_token: bool = True,
        report_locale: Literal["en", "ja"] = "en",
        report_charset: Literal["utf-8", "cp932"] = "utf-8",
        report_charset_in_header: bool = True,
        gzip_documents: bool = False,
        order_index_delay: float = 0.0,
        restock_on_no_inventory_cancel: bool = False,
    ) -> None:
        """Build an empty shop.

        UNCONFIRMED readings, each switchable: ``max_quantity`` (the quantity ceiling
        the product type enforces), ``bad_request_code`` (``InvalidInput`` in the docs'
        example, ``BAD_REQUEST`` in the listings sandbox), ``retry_after_on_429`` (the
        models list no Retry-After), the LWA answer's key set, the listings report's
        header locale and charset (JP reports seen in Shift_JIS with Japanese headers),
        ``order_index_delay`` (how long until an updated order is searchable) and
        whether a "no inventory" cancel gives the units back.
        """
        self._clock = clock
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token
        self.seller_id = seller_id
        self.latency = latency
        self.push_lag = push_lag
        self.feed_seconds = feed_seconds
        self.report_seconds = report_seconds
        self.enforce_rate_limits = enforce_rate_limits
        self.max_quantity = max_quantity
        self.bad_request_code = bad_request_code
        self.retry_after_on_429 = retry_after_on_429
        self.token_response_has_refresh_token = token_response_has_refresh_token
        self.report_locale = report_locale
        self.report_charset = report_charset
        self.report_charset_in_header = report_charset_in_header
        self.gzip_documents = gzip_documents
        self.order_index_delay = order_index_delay
        self.restock_on_no_inventory_cancel = restock_on_no_inventory_cancel
        self._lock = threading.RLock()
        self._transport = httpx.MockTransport(self.handle)
        self._access_tokens: dict[str, datetime] = {}
        self._faults: deque[FailKind] = deque()
        self._buckets: dict[str, _Bucket] = {}
        self._feed_times: deque[datetime] = deque()
        self._in_flight: set[str] = set()
        self._pending_orders: set[str] = set()
        self._seq = itertools.count(1)
        self.listings: dict[str, SimListing] = {}
        self.orders: dict[str, SimOrder] = {}
        self.documents: dict[str, SimDocument] = {}
        self.jobs: dict[str, SimJob] = {}
        self.page_tokens: dict[str, tuple[dict[str, str], int]] = {}
        self.requests: list[SimRequest] = []
        self.fba_conversions: list[str] = []
        """SKUs an FBA listing of which a DEFAULT quantity turned merchant-fulfilled."""
        self.batch_sizes: list[int] = []

    # ------------------------------------------------------------------ SimulatedChannel

    @property
    def transport(self) -> httpx.BaseTransport:
        """The transport to mount under ``httpx.Client``."""
        return self._transport

    def config(self) -> dict[str, Any]:
        """The ``[malls.amazon]`` table (credentials included) this simulator accepts."""
        return {
            "enabled": True,
            "lwa_client_id": self.client_id,
            "lwa_client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
            "seller_id": self.seller_id,
            # LWA client secrets must be rotated every 180 days; the app shows the date.
            # https://developer-docs.amazon.com/sp-api/docs/rotating-your-apps-lwa-credentials
            "lwa_secret_expires_on": (self._clock.now() + timedelta(days=180)).date().isoformat(),
        }

    def sample_code(self, n: int) -> str:
        """A valid seller SKU for listing ``n``."""
        return f"ZK-{n:04d}.RED"

    def add_listing(
        self, code: str, qty: int, *, fba: bool = False, product_type: str = "HOME"
    ) -> str:
        """List ``code``; ``fba`` puts ``qty`` units in Amazon's warehouse instead."""
        with self._lock:
            now = self._clock.now()
            self.listings[code] = SimListing(
                sku=code,
                quantity=qty,
                afn=fba,
                product_type=product_type,
                asin=f"B0{next(self._seq):08d}",
                created=now,
                updated=now,
            )
            return code

    def set_stock(self, code: str, quantity: int) -> None:
        """A hand edit in Seller Central: live at once, replacing writes in flight."""
        with self._lock:
            listing = self.listings[code]
            listing.quantity = quantity
            listing.writes.clear()
            listing.updated = self._clock.now()

    def stock(self, code: str) -> int | None:
        """The live quantity (what buyers can order now); None for an unknown SKU."""
        with self._lock:
            self._tick()
            listing = self.listings.get(code)
            return None if listing is None else listing.quantity

    def pending_stock(self, code: str) -> int | None:
        """What the listing shows once accepted writes are live."""
        with self._lock:
            self._tick()
            listing = self.listings.get(code)
            if listing is None:
                return None
            return listing.writes[-1][1] if listing.writes else listing.quantity

    def write_batch_sizes(self) -> list[int]:
        """Listings per stock write received: 1 per PATCH, the messages of each feed."""
        with self._lock:
            return list(self.batch_sizes)

    def refused_quantity(self) -> int:
        """Above the product type's quantity ceiling: INVALID for that listing alone."""
        return self.max_quantity + 1

    def place_order(
        self, lines: Sequence[tuple[str, int]], *, at: datetime | None = None
    ) -> str | None:
        """A buyer orders; Amazon takes the units off the listing at once (Pending).

        FBA and merchant lines become separate orders, as Amazon splits them; the id of
        the first is returned. None when a SKU is unknown or short of stock.
        """
        with self._lock:
            self._tick()
            wanted = [(self.listings.get(code), units) for code, units in lines]
            if not wanted or any(
                listing is None or units < 1 or listing.quantity < units
                for listing, units in wanted
            ):
                return None
            ids = []
            for afn in (False, True):
                group = [(lst, u) for lst, u in wanted if lst is not None and lst.afn == afn]
                if group:
                    ids.append(self._new_order(group, afn, at or self._clock.now()))
            return ids[0]

    def _new_order(self, group: list[tuple[SimListing, int]], afn: bool, at: datetime) -> str:
        n = next(self._seq)
        order_id = f"503-{n:07d}-{(n * 7919) % 10_000_000:07d}"
        items = []
        for k, (listing, units) in enumerate(group, start=1):
            listing.quantity -= units
            items.append(
                SimOrderItem(
                    item_id=f"{n:07d}{k:07d}",
                    sku=listing.sku,
                    quantity=units,
                    asin=listing.asin,
                    title=f"商品 {listing.sku}",
                )
            )
        self.orders[order_id] = SimOrder(
            order_id=order_id,
            created=at,
            updated=at,
            status="UNSHIPPED" if afn else "PENDING",
            fulfilled_by="AMAZON" if afn else "MERCHANT",
            items=items,
            pending_until=None if afn else at + self.PENDING_HOLD,
        )
        if not afn:
            self._pending_orders.add(order_id)
        return order_id

    def cancel_order(self, order_number: str, *, reason: str = "BuyerCanceled") -> None:
        """The order is cancelled; its units go back to the listing (see constructor)."""
        with self._lock:
            self._tick()
            order = self.orders[order_number]
            if order.status == "CANCELLED":
                return
            order.status = "CANCELLED"
            order.updated = self._clock.now()
            restock = self.restock_on_no_inventory_cancel or "inventory" not in reason.lower()
            for item in order.items:
                item.cancel_execution = {"cancelledBy": "BUYER", "cancelReason": reason}
                listing = self.listings.get(item.sku)
                if listing is not None and restock:
                    listing.quantity += item.quantity

    def expire_credentials(self) -> None:
        """The seller revokes the app: the refresh token and every access token die."""
        with self._lock:
            self.refresh_token = f"revoked-{self.refresh_token}"
            self._access_tokens.clear()

    def fail_next(self, kind: FailKind, times: int = 1) -> None:
        """The next ``times`` SP-API calls fail with ``kind`` (LWA and S3 are not affected)."""
        with self._lock:
            self._faults.extend([kind] * times)

    def refusals(self) -> list[SimRequest]:
        """Requests the API refused on their merits (not injected faults).

        4xx answers, S3 and LWA refusals, INVALID submissions and feed errors: the
        adapter must cause none of them in a normal run.
        """
        with self._lock:
            return [r for r in self.requests if not r.injected and _refused(r)]

    # ------------------------------------------------------------------ the transport

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one request as Amazon (LWA, SP-API or S3) would."""
        request.read()
        if self.latency > 0:
            self._clock.sleep(self.latency)
        with self._lock:
            self._tick()
            log = SimRequest(
                at=self._clock.now(),
                method=request.method,
                host=request.url.host,
                path=request.url.path,
                params=dict(request.url.params),
                body=_body_of(request),
                op="",
            )
            self.requests.append(log)
            response = self._route(request, log)
            log.status = response.status_code
            log.response = _json_of(response)
            return response

    def _route(self, request: httpx.Request, log: SimRequest) -> httpx.Response:
        host = request.url.host
        if host == LWA_HOST:
            log.op = "lwaToken"
            return listings.lwa_token(self, request)
        if host == S3_HOST:
            log.op = f"s3{request.method.title()}"
            return jobs.s3(self, request)
        if host != SP_HOST:
            return httpx.Response(502, text=f"simulator does not serve {host}")
        if self._faults:
            log.injected = True
            return self._fault(self._faults.popleft(), request)
        try:
            return self._serve(request, log)
        except Refused as refused:
            return refused.response

    def _serve(self, request: httpx.Request, log: SimRequest) -> httpx.Response:
        raw_path = request.url.raw_path.decode("ascii").split("?", 1)[0]
        for op, method, pattern, handler in _ROUTES:
            match = pattern.fullmatch(raw_path)
            if match is not None and method == request.method:
                log.op = op
                self._authorise(request)
                self._admit(op)
                groups = {k: urllib.parse.unquote(v) for k, v in match.groupdict().items()}
                return handler(self, request, groups, log.body)
        log.op = "unknown"
        return self.respond("", 404, errors_body("NotFound", "Resource not found"))

    def respond(self, op: str, status: int, body: Any) -> httpx.Response:
        """An SP-API answer with the headers the models list for its status."""
        headers = {"x-amzn-RequestId": f"sim-{next(self._seq)}"}
        if status in (200, 201, 202, 400, 404) and op in self.RATES:
            headers["x-amzn-RateLimit-Limit"] = str(self.RATES[op][0])
        return json_response(status, body, headers)

    def refuse(self, op: str, status: int, message: str, details: str | None = None) -> Refused:
        """A 4xx refusal with the ``{"errors":[...]}`` body (raise it)."""
        code = self.bad_request_code if status == 400 else str(status)
        return Refused(self.respond(op, status, errors_body(code, message, details)))

    def now(self) -> datetime:
        """Virtual time."""
        return self._clock.now()

    def next_id(self) -> int:
        """A fresh serial for ids."""
        return next(self._seq)

    # ------------------------------------------------------------------ gateway

    def issue_token(self) -> str:
        """A new one-hour access token."""
        token = f"Atza|sim-{next(self._seq):08d}"
        self._access_tokens[token] = self._clock.now() + self.TOKEN_LIFETIME
        return token

    def _authorise(self, request: httpx.Request) -> None:
        # docs/api/amazon.md §1: x-amz-access-token on every call; 403 Unauthorized with
        # the details text public client logs show (wording UNCONFIRMED).
        token = request.headers.get("x-amz-access-token")
        if not token:
            details = "Access token is missing in the request header."
        elif token not in self._access_tokens:
            details = "The access token you provided is revoked, malformed or invalid."
        elif self._access_tokens[token] <= self._clock.now():
            details = "The access token you provided has expired."
        else:
            return
        raise Refused(
            self.respond(
                "",
                403,
                errors_body("Unauthorized", "Access to requested resource is denied.", details),
            )
        )

    def _admit(self, op: str) -> None:
        """Amazon's token bucket per operation; 429 QuotaExceeded without a rate header."""
        if not self.enforce_rate_limits:
            return
        rate, burst = self.RATES[op]
        now = self._clock.monotonic()
        bucket = self._buckets.setdefault(op, _Bucket(tokens=float(burst), last=now))
        bucket.tokens = min(float(burst), bucket.tokens + (now - bucket.last) * rate)
        bucket.last = now
        if bucket.tokens < 1.0 - 1e-6:
            raise self.quota_exceeded()
        bucket.tokens = max(bucket.tokens - 1.0, 0.0)

    def quota_exceeded(self) -> Refused:
        """§5: HTTP 429, QuotaExceeded, only x-amzn-RequestId (no rate header)."""
        headers = {"x-amzn-RequestId": f"sim-{next(self._seq)}"}
        if self.retry_after_on_429 is not None:
            headers["Retry-After"] = str(self.retry_after_on_429)
        body = errors_body("QuotaExceeded", "You exceeded your quota for the requested resource.")
        return Refused(json_response(429, body, headers))

    def admit_listings_feed(self) -> None:
        """At most 5 JSON_LISTINGS_FEED submissions per 5 minutes (sliding window)."""
        now = self._clock.now()
        while self._feed_times and self._feed_times[0] <= now - self.LISTINGS_FEED_WINDOW:
            self._feed_times.popleft()
        if self.enforce_rate_limits and len(self._feed_times) >= self.LISTINGS_FEEDS_PER_WINDOW:
            raise self.quota_exceeded()
        self._feed_times.append(now)

    def _fault(self, kind: FailKind, request: httpx.Request) -> httpx.Response:
        if kind == "timeout":
            raise httpx.ReadTimeout("simulated read timeout", request=request)
        if kind == "429":
            return self.quota_exceeded().response
        if kind == "403":
            body = errors_body("Unauthorized", "Access to requested resource is denied.", "")
            return self.respond("", 403, body)
        status = int(kind)
        return self.respond(
            "",
            status,
            errors_body("InternalFailure", "We encountered an internal error. Please try again."),
        )

    # ------------------------------------------------------------------ virtual time

    def _tick(self) -> None:
        """Make due writes live, move orders out of Pending, finish due feeds/reports."""
        now = self._clock.now()
        for sku in list(self._in_flight):
            listing = self.listings[sku]
            while listing.writes and listing.writes[0][0] <= now:
                listing.quantity = listing.writes.pop(0)[1]
                listing.updated = now
            if not listing.writes:
                self._in_flight.discard(sku)
        for order_id in list(self._pending_orders):
            order = self.orders[order_id]
            if order.status != "PENDING":
                self._pending_orders.discard(order_id)
            elif order.pending_until and order.pending_until <= now:
                order.status = "UNSHIPPED"
                order.updated = order.pending_until
                self._pending_orders.discard(order_id)
        jobs.advance(self, now)

    def write(self, listing: SimListing, quantity: int, at: datetime) -> None:
        """Accept an absolute merchant quantity; live ``push_lag`` seconds after ``at``."""
        if listing.afn:
            # A DEFAULT quantity on an FBA listing makes it merchant-fulfilled: the
            # reason the adapter must never push one (docs/api/amazon.md FBA note).
            listing.afn = False
            self.fba_conversions.append(listing.sku)
        if self.push_lag <= 0:
            listing.quantity = quantity
            listing.writes.clear()
            listing.updated = at
        else:
            listing.writes.append((at + timedelta(seconds=self.push_lag), quantity))
            self._in_flight.add(listing.sku)


def _refused(request: SimRequest) -> bool:
    if request.op == "getListingsItem" and request.status == 404:
        return False  # how a lookup learns that a SKU does not exist: an answer, not a refusal
    if request.status >= 400:
        return True
    body = request.response
    return isinstance(body, dict) and body.get("status") == "INVALID"


def _body_of(request: httpx.Request) -> Any:
    content = request.content
    if not content:
        return None
    if request.url.host == S3_HOST:
        return content
    if request.url.host == LWA_HOST:
        return dict(urllib.parse.parse_qsl(content.decode("utf-8", "replace")))
    try:
        return json.loads(content)
    except ValueError:
        return None


def _json_of(response: httpx.Response) -> Any:
    if not response.headers.get("Content-Type", "").startswith("application/json"):
        return None
    try:
        return response.json()
    except ValueError:
        return None


__all__ = ["MARKETPLACE_ID", "AmazonSimulator", "FailKind"]
