"""Rakuten RMS simulator: InventoryAPI 2.0/2.1, RakutenPay Order API and licence expiry.

It is an httpx transport (``httpx.MockTransport(sim.handle)``), so the Rakuten adapter
under test runs exactly its production code against
``httpx.Client(transport=sim.transport, base_url="https://api.rms.rakuten.co.jp")``.
Every wire fact below comes from ``docs/api/rakuten.md``; the tag in the comment
beside it ([S1], [S3], …) names that file's source. Where the document marks a fact
UNCONFIRMED, the simulator makes it a constructor argument or a class attribute.

What it models, in the order a request meets it:

1. latency (``clock.sleep``), then any injected fault (:meth:`RakutenSimulator.fail_next`);
2. the gateway: ESA auth and licence expiry, 401 in the ``Results`` envelope;
3. routing (unknown path → 400 GE0007) and the per-function rate limit (429);
4. the API itself: validation that rejects a whole batch and lists every error,
   stock records with push lag, orphan records, orders that decrement stock.

Stock has two layers per (manageNumber, variantId): the *live* number (what the shop
page shows, what bulk-get returns, what orders are checked against) and the writes
still in flight, each of which becomes live ``push_lag`` seconds after it was sent.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
from collections import deque
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, ClassVar, Literal

import httpx

from bot.infra.clock import JST, Clock
from bot.sandbox.simulators.buyer import sentinel_buyer

__all__ = [
    "HOST",
    "ContentTypeRule",
    "FailKind",
    "Family",
    "RakutenSimulator",
    "SimOrder",
    "SimOrderLine",
    "SimRequest",
]

HOST = "https://api.rms.rakuten.co.jp"  # §0: every endpoint shares this host

# Sources, as tagged in docs/api/rakuten.md (official pages under
# https://webservice.rms.rakuten.co.jp/merchant-portal/view/ja/common/1-1_service_index/):
#   [S1]  …/inventoryapi2_1/inventories_variants_upsert/   [S2] …/inventoryapi2_1/inventories_bulk_get/
#   [S3]  …/inventoryapi2_1/codereference/                 [S4] …/inventoryapi2_1/inventories_variant-lists_get/
#   [S5]  transcription of the InventoryAPI 2.0 page (function/rate table, bulk-upsert)
#   [S10] …/rakutenpayorderapi/searchorder                 [S11] …/rakutenpayorderapi/getorder
#   [S12] https://qiita.com/mometasone/items/ef92bbc7dd867446377b (ESA header, 90-day key)
#   [S13] https://manual.sokuhan.jp/renkei/mallcart/rakuten/rakuten/ (key lifetime)
#   [S15] https://support.raku2han.jp/?p=9370 (ES01-01 Un-Authorised)
#   [S19] JakeJP/Rakuten.RMS.Api LicenseManagementAPI (expiry-date endpoint)
#   [S24] kukumaomao2022-dotcom/inventory-system knowledge base (low trust)
#   [S25] JakeJP/Rakuten.RMS.Api InventoryAPI20 (MaxUpdateRecord 400, MaxGetStatusRecord 1000)

Family = Literal["inventory-write", "inventory-read", "order", "license"]
FailKind = Literal["429", "503", "409", "500", "timeout", "401"]
ContentTypeRule = Literal["charset", "no-space", "any-json"]

# [S1][S3] manageNumber and variantId: ≤ 32 bytes of a-z A-Z 0-9 - _
_ID_RE = re.compile(r"[A-Za-z0-9_-]+")
_ID_MAX_BYTES = 32
# [S3][S5] quantity 0..99999; RELATIVE takes negative deltas
_QTY_MIN, _QTY_MAX = 0, 99999
# [S10] searchOrder datetimes: yyyy-MM-ddTHH:mm:ss+0900, no colon in the offset
_ORDER_DT_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+0900")

_INV = r"/es/(?P<version>2\.[01])/inventories"
_ROUTES: list[tuple[str, re.Pattern[str]]] = [
    # [S5][S25] bulk-upsert, bulk-get, range, single variant — 2.0 and 2.1 share shapes
    ("bulk-upsert", re.compile(rf"{_INV}/bulk-upsert")),
    ("bulk-get-range", re.compile(rf"{_INV}/bulk-get/range")),
    ("bulk-get", re.compile(rf"{_INV}/bulk-get")),
    ("variant", re.compile(rf"{_INV}/manage-numbers/(?P<mn>[^/]+)/variants/(?P<vid>[^/]+)")),
    # [S4] variant-lists exists only in 2.1
    (
        "variant-lists",
        re.compile(r"/es/2\.1/inventories/variant-lists/manage-numbers/(?P<mn>[^/]+)"),
    ),
    # §0 note: official order paths end in "/", one client omits it; accept both
    ("searchOrder", re.compile(r"/es/2\.0/order/searchOrder/?")),
    ("getOrder", re.compile(r"/es/2\.0/order/getOrder/?")),
    # [S19] LicenseManagementAPI expiry date
    ("license", re.compile(r"/es/1\.0/license-management/license-key/expiry-date")),
]
_METHODS: dict[str, frozenset[str]] = {
    "bulk-upsert": frozenset({"POST"}),
    "bulk-get": frozenset({"POST"}),
    "bulk-get-range": frozenset({"GET"}),
    "variant": frozenset({"GET", "PUT", "DELETE"}),
    "variant-lists": frozenset({"GET"}),
    "searchOrder": frozenset({"POST"}),  # [S10] every order call is POST
    "getOrder": frozenset({"POST"}),
    "license": frozenset({"GET"}),
}

_SEARCH = "ORDER_EXT_API_SEARCH_ORDER"
_GET = "ORDER_EXT_API_GET_ORDER"


@dataclass
class SimRequest:
    """One request as the simulator saw it (the request log)."""

    at: datetime
    method: str
    path: str
    json: Any
    """Parsed JSON body, or None when the body was empty or not JSON."""
    status: int
    """HTTP status answered; 0 when an injected timeout raised instead."""
    family: Family
    params: dict[str, str] = field(default_factory=dict)
    """Query parameters (bulk-get/range, licence expiry)."""


@dataclass
class SimOrderLine:
    """One ItemModel of an order: a SKU and the units the customer still takes."""

    item_detail_id: int
    manage_number: str
    variant_id: str
    units: int
    price: int
    item_id: int
    item_name: str
    merchant_defined_sku_id: str | None = None
    sku_info: str | None = None
    restore_inventory_flag: int = 0
    """[S11] 0 follow the SKU's restockOnCancel, 1 restock on cancel, 2 don't."""
    package: int = 0
    """Index of the PackageModel (ship-to) the line belongs to."""
    deleted: bool = False
    """[S11] deleteItemFlag: the line was removed by an order change (it stays listed)."""

    @property
    def code(self) -> str:
        """Canonical code ``manageNumber:variantId`` (manageNumber folded to lower)."""
        return f"{self.manage_number}:{self.variant_id}"


@dataclass
class SimOrder:
    """One RakutenPay order with its status and change history."""

    order_number: str
    ordered_at: datetime
    basket_id: int
    lines: list[SimOrderLine]
    progress: int = 100
    """[S10][S11] orderProgress: 100 awaiting confirmation … 900 cancelled."""
    change_reasons: list[dict[str, Any]] = field(default_factory=list)
    """ChangeReasonModelList entries, exactly as getOrder returns them."""
    shop_order_cfm_at: datetime | None = None
    order_fix_at: datetime | None = None
    shipping_inst_at: datetime | None = None
    shipping_cmpl_rpt_at: datetime | None = None
    payment_fix_at: datetime | None = None
    deleted_packages: set[int] = field(default_factory=set)
    """[S11] PackageModel indexes with packageDeleteFlag 1 (removed by an order change)."""
    progress_before_change: int | None = None
    """The progress a pending change (400) returns to once it is confirmed."""

    @property
    def goods_price(self) -> int:
        """Sum of price × units over the lines the customer still takes."""
        return sum(line.price * line.units for line in self.lines if self.takes(line))

    def takes(self, line: SimOrderLine) -> bool:
        """Whether the customer still takes ``line`` (not removed, nor its package)."""
        return not line.deleted and line.package not in self.deleted_packages


@dataclass
class _Variant:
    restock_on_cancel: bool
    back_order: bool
    price: int
    merchant_defined_sku_id: str | None
    sku_info: str | None


@dataclass
class _Item:
    manage_number: str
    item_id: int
    name: str
    created: datetime
    updated: datetime
    variants: dict[str, _Variant] = field(default_factory=dict)


@dataclass
class _Write:
    live_at: datetime
    mode: str
    quantity: int
    extras: dict[str, Any] | None
    """2.1 lead-time fields (full replace); None for a 2.0 write, which leaves them."""


@dataclass
class _Record:
    """A stock record; ``quantity`` is None until its first write goes live."""

    quantity: int | None
    created: datetime
    updated: datetime
    last_write: datetime
    pending: list[_Write] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)


class _Rejected(Exception):
    """Raised inside a handler to answer with a prepared error response."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def _ie(code: str, message: str, path: str | None = None) -> dict[str, Any]:
    """One element of the Inventory/Items 2.x error envelope ([S3])."""
    error: dict[str, Any] = {"code": code, "message": message}
    if path is not None:
        error["metadata"] = {"propertyPath": path}
    return error


def _errors(status: int, *errors: dict[str, Any]) -> httpx.Response:
    # [S3][S5] {"errors":[{"code","message","metadata":{"propertyPath"}}]}
    return httpx.Response(status, json={"errors": list(errors)})


def _results(status: int, code: str, message: str) -> httpx.Response:
    # §1/§6 gateway envelope {"Results":{"errorCode","message"}} — (public GitHub code)
    return httpx.Response(status, json={"Results": {"errorCode": code, "message": message}})


def _msg(kind: str, code: str, message: str, order_number: str | None = None) -> dict[str, Any]:
    # [S10][S11] MessageModel {messageType, messageCode, message}; getOrder adds orderNumber
    model: dict[str, Any] = {"messageType": kind, "messageCode": code, "message": message}
    if order_number is not None:
        model["orderNumber"] = order_number
    return model


def _shown(value: Any) -> str:
    """A rejected value as IE0002 messages print it (``… invalid value : a.``)."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _inv_time(when: datetime) -> str:
    # [S2][S4][S5] inventory timestamps: ISO 8601 JST with a colon, 2022-01-01T19:00:00+09:00
    return when.astimezone(JST).strftime("%Y-%m-%dT%H:%M:%S+09:00")


def _order_time(when: datetime | None) -> str | None:
    # [S10][S11] order datetimes: 2017-09-25T20:03:43+0900, no colon
    return None if when is None else when.astimezone(JST).strftime("%Y-%m-%dT%H:%M:%S+0900")


def _parse_order_time(text: str) -> datetime | None:
    if not _ORDER_DT_RE.fullmatch(text):
        return None
    try:
        return datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=JST)
    except ValueError:
        return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _split_code(code: str) -> tuple[str, str]:
    manage_number, sep, variant_id = code.partition(":")
    if not sep or not manage_number or not variant_id:
        raise ValueError(f"code {code!r} is not 'manageNumber:variantId'")
    return manage_number.lower(), variant_id


def _check_id(value: Any, name: str, path: str, errors: list[dict[str, Any]]) -> str | None:
    """Validate a manageNumber/variantId ([S1][S3]); None (and an error) when invalid."""
    if value is None or value == "":
        errors.append(_ie("IE0001", f"{name} is mandatory.", path))
    elif not isinstance(value, str):
        errors.append(_ie("IE0002", f"{name} has an invalid value : {_shown(value)}.", path))
    elif len(value.encode("utf-8")) > _ID_MAX_BYTES:
        errors.append(
            _ie("IE0004", f"Max length of {name} must be within {_ID_MAX_BYTES} bytes.", path)
        )
    elif not _ID_RE.fullmatch(value):
        errors.append(_ie("IE0002", f"{name} has an invalid value : {value}.", path))
    else:
        return value
    return None


def _entry_key(entry: Any, path: str, errors: list[dict[str, Any]]) -> tuple[str, str] | None:
    """One bulk element's key: (manageNumber folded to lower case, variantId).

    None, with errors added, when the element or either id is invalid ([S1][S3]).
    """
    if not isinstance(entry, dict):
        errors.append(_ie("IE0002", f"{path} has an invalid value : {_shown(entry)}.", path))
        return None
    mn = _check_id(entry.get("manageNumber"), "manageNumber", f"{path}.manageNumber", errors)
    vid = _check_id(entry.get("variantId"), "variantId", f"{path}.variantId", errors)
    if mn is None or vid is None:
        return None
    return mn.lower(), vid


def _check_write(body: Any, prefix: str, errors: list[dict[str, Any]]) -> tuple[str, int] | None:
    """Validate ``mode`` and ``quantity`` of one write ([S3][S5])."""
    dot = f"{prefix}." if prefix else ""
    mode = body.get("mode")
    ok_mode: str | None = None
    if mode is None or mode == "":
        errors.append(_ie("IE0001", "mode is mandatory.", f"{dot}mode"))  # [S5] mode required
    elif mode not in ("ABSOLUTE", "RELATIVE"):
        errors.append(_ie("IE0002", f"mode has an invalid value : {_shown(mode)}.", f"{dot}mode"))
    else:
        ok_mode = mode
    quantity = body.get("quantity")
    qpath = f"{dot}quantity"
    if quantity is None:
        errors.append(_ie("IE0001", "quantity is mandatory.", qpath))
        return None
    if not _is_int(quantity):
        errors.append(_ie("IE0002", f"quantity has an invalid value : {_shown(quantity)}.", qpath))
        return None
    # [S3][S5] ABSOLUTE 0..99999; RELATIVE deltas may be negative (e.g. -2)
    low = _QTY_MIN if ok_mode != "RELATIVE" else -_QTY_MAX
    if not low <= quantity <= _QTY_MAX:
        errors.append(_ie("IE0003", f"quantity must be between {low} and {_QTY_MAX}.", qpath))
        return None
    return (ok_mode, quantity) if ok_mode is not None else None


def _check_extras(
    version: str, body: Any, prefix: str, errors: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """2.1 lead-time fields ([S1]): returned as the full replacement, None on 2.0."""
    if version != "2.1":
        return None
    dot = f"{prefix}." if prefix else ""
    extras: dict[str, Any] = {}
    lead = body.get("operationLeadTime")
    if lead is not None:
        keys = ("normalDeliveryTimeId", "backOrderDeliveryTimeId")
        if not isinstance(lead, dict) or any(
            k not in keys or not _is_int(v) for k, v in lead.items()
        ):
            errors.append(
                _ie(
                    "IE0002",
                    f"operationLeadTime has an invalid value : {_shown(lead)}.",
                    f"{dot}operationLeadTime",
                )
            )
        else:
            extras["operationLeadTime"] = dict(lead)
    ship = body.get("shipFromIds")
    if ship is not None:
        if not isinstance(ship, list) or not all(_is_int(v) for v in ship):
            errors.append(
                _ie(
                    "IE0002",
                    f"shipFromIds has an invalid value : {_shown(ship)}.",
                    f"{dot}shipFromIds",
                )
            )
        else:
            extras["shipFromIds"] = list(ship)
    return extras


class RakutenSimulator:
    """In-memory Rakuten RMS speaking the real wire format, as an httpx transport.

    Test controls: :meth:`add_item`, :meth:`place_order`, :meth:`cancel_order`,
    :meth:`change_line_units`, :meth:`set_stock` (a hand edit on RMS),
    :meth:`fail_next`, :meth:`expire_credentials`, :meth:`renew_license`; state is
    readable through :meth:`stock`, :meth:`pending_stock`, :attr:`orders` and the
    request log :attr:`requests`. Codes are ``manageNumber:variantId`` with the
    manageNumber folded to lower case, as the server folds it ([S1]).
    """

    # [S5] (transcribed function table) requests per second per API function: bulk-get
    # and range 5/s; single get, upsert, delete and bulk-upsert 1/s. Order and licence
    # rates are UNCONFIRMED (§6), so they are not limited.
    RATE_LIMITS: ClassVar[dict[str, float]] = {
        "bulk-upsert": 1.0,
        "variant-put": 1.0,
        "variant-get": 1.0,
        "variant-delete": 1.0,
        "bulk-get": 5.0,
        "bulk-get-range": 5.0,
    }
    BULK_UPSERT_MAX: ClassVar[int] = 400  # [S5][S25] bulk-upsert 1..400, else IE1101
    BULK_GET_MAX: ClassVar[int] = 1000  # [S2][S5] bulk-get 1..1000, else IE1101
    RANGE_MAX_HITS: ClassVar[int] = 1000  # [S3][S24] range over 1000 hits → IE0116
    VARIANTS_PER_ITEM_MAX: ClassVar[int] = 400  # [S3] > 400 variantIds per item → IE0121
    # [S1][S5] an orphan stock record is deleted about 24 h after its last update
    ORPHAN_TTL: ClassVar[timedelta] = timedelta(hours=24)
    SEARCH_MAX_SPAN: ClassVar[timedelta] = timedelta(days=63)  # [S10] end ≤ start + 63 days
    SEARCH_MAX_AGE: ClassVar[timedelta] = timedelta(days=730)  # [S10] start within 730 days
    SEARCH_PAGE_MAX: ClassVar[int] = 1000  # [S10] requestRecordsAmount ≤ 1000
    SEARCH_PAGE_DEFAULT: ClassVar[int] = 30  # [S10] default 30
    SEARCH_HIT_CAP: ClassVar[int] = 15000  # [S10] hits from 15,001 on cannot be retrieved
    GET_ORDER_MAX: ClassVar[int] = 100  # [S11][S30] getOrder ≤ 100 order numbers
    # [S11] listed versions 3..10; 1 and 2 are rejected (public GitHub code)
    GET_ORDER_VERSIONS: ClassVar[frozenset[int]] = frozenset(range(3, 11))
    SKU_MODEL_MIN_VERSION: ClassVar[int] = 7  # [S11] SkuModelList from version 7
    LICENSE_LIFETIME: ClassVar[timedelta] = timedelta(days=90)  # [S12][S13][S14] 90 days
    CANCEL_DUE: ClassVar[timedelta] = timedelta(days=60)  # cancelDueDate: UNCONFIRMED offset

    def __init__(
        self,
        *,
        clock: Clock,
        service_secret: str = "SP123456_sim",
        license_key: str = "SL123456_sim",
        shop_id: str = "123456",
        latency: float = 0.0,
        push_lag: float = 0.0,
        enforce_rate_limits: bool = True,
        auth_error_code: str = "ES01-01",
        license_expiry: datetime | None = None,
        restock_on_cancel_default: bool = True,
        rate_limit_error_code: str = "SIM-429",
        search_range_error_code: str = f"{_SEARCH}_ERROR_023",
        auth_error_status: int = 401,
        order_content_type: ContentTypeRule = "charset",
        fold_variant_id: Collection[str] = (),
        change_via_400: bool = True,
    ) -> None:
        """Build an empty shop.

        ``auth_error_code`` is ``ES01-01`` ([S15]) or ``GA0001`` (observed 2026, public
        GitHub code). ``license_expiry`` defaults to 23:59:59 JST of the day 90 days
        from now, as one project measured (issued 8/30, expiry 11/28; §1). RMS is not
        known to send 429 at all (§6), so its body code ``rate_limit_error_code`` is a
        placeholder; the searchOrder span/age error code is UNCONFIRMED too ([S10]).

        Switches for readings rakuten.md marks UNCONFIRMED:

        - ``auth_error_status``: the HTTP status of a credential refusal. 401 for
          ES01-01/GA0001; the gateway's GK0001/GK0005/GK0006 and ES04-01 come as 400.
        - ``order_content_type``: what the order API accepts (§4.1). ``"charset"``
          (default): ``application/json`` with a charset parameter, as the docs write
          it [S10]; ``"no-space"``: only ``application/json;charset=utf-8`` [S24];
          ``"any-json"``: any ``application/json*``. Others get 415 ES04-03 [S24].
        - ``fold_variant_id``: routes (``"bulk-upsert"``, ``"bulk-get"``, ``"variant"``)
          that fold variantId to lower case. The InventoryAPI pages keep its case
          ([S5]: 大文字・小文字は、異なる文字として扱う), so none by default; a test can
          make an endpoint fold it to prove the adapter still lands the right SKU.
        - ``change_via_400``: whether an order change shows orderProgress 400 until it
          is confirmed (§4.4: "via change requests") or is made in place.
        """
        self._clock = clock
        self._secret = service_secret
        self._license_key = license_key
        self.shop_id = shop_id
        self.latency = latency
        self.push_lag = push_lag
        self.enforce_rate_limits = enforce_rate_limits
        self.auth_error_code = auth_error_code
        self.rate_limit_error_code = rate_limit_error_code
        self.search_range_error_code = search_range_error_code
        self.restock_on_cancel_default = restock_on_cancel_default
        self.auth_error_status = auth_error_status
        self.order_content_type: ContentTypeRule = order_content_type
        self.fold_variant_id = frozenset(fold_variant_id)
        self.change_via_400 = change_via_400
        self.search_errors: deque[str] = deque()
        """messageCodes the next searchOrder calls answer in a 200 (:meth:`fail_next_search`)."""
        self.unreadable_orders: dict[str, str] = {}
        """Order number → per-order messageCode getOrder answers instead of the order."""
        self._license_expiry = license_expiry or self._default_expiry()
        self._expired = False
        self._lock = threading.RLock()
        self._transport = httpx.MockTransport(self.handle)
        self._items: dict[str, _Item] = {}
        self._records: dict[tuple[str, str], _Record] = {}
        self._in_flight: set[tuple[str, str]] = set()
        self._orphans: set[tuple[str, str]] = set()
        self._faults: deque[FailKind] = deque()
        self._hits: dict[str, deque[float]] = {}
        self._seq = {"order": 0, "detail": 0, "basket": 0, "item": 0, "change": 0}
        self.requests: list[SimRequest] = []
        """Every request handled, in order."""
        self.orders: dict[str, SimOrder] = {}
        """Every order placed, by order number."""

    # ------------------------------------------------------------------ SimulatedChannel

    key: ClassVar[str] = "rakuten"
    # Bulk-upsert takes 1..400 elements ([S3]).
    max_write_batch: ClassVar[int] = 400

    def config(self) -> dict[str, Any]:
        """The ``[malls.rakuten]`` table this simulator accepts."""
        return {
            "enabled": True,
            "service_secret": self._secret,
            "license_key": self._license_key,
        }

    def sample_code(self, n: int) -> str:
        """A valid ``manageNumber:variantId`` for listing ``n``."""
        return f"item-{n:04d}:Var-{n}"

    def add_listing(self, code: str, qty: int) -> str:
        """List ``manageNumber:variantId`` with ``qty`` in stock."""
        manage_number, variant_id = code.split(":", 1)
        return self.add_item(manage_number, variant_id, qty)

    def write_batch_sizes(self) -> list[int]:
        """Elements per bulk-upsert received, in order."""
        return [
            len(r.json["inventories"])
            for r in self.requests
            if r.method == "POST" and r.path.endswith("/inventories/bulk-upsert")
        ]

    def refused_quantity(self) -> int:
        """Over 楽天's 0..99999 range: refused for that element alone ([S3])."""
        return 100_000

    # ------------------------------------------------------------------ test controls

    @property
    def transport(self) -> httpx.BaseTransport:
        """The transport to mount under ``httpx.Client``."""
        return self._transport

    @property
    def license_key(self) -> str:
        """The licence key the gateway currently accepts."""
        return self._license_key

    @property
    def license_expiry(self) -> datetime:
        """When the current licence key stops working."""
        return self._license_expiry

    def add_item(
        self,
        manage_number: str,
        variant_id: str,
        quantity: int = 0,
        *,
        restock_on_cancel: bool | None = None,
        back_order: bool = False,
        name: str | None = None,
        price: int = 1000,
        merchant_defined_sku_id: str | None = None,
        sku_info: str | None = None,
    ) -> str:
        """Register a SKU on an item (created if new) with live stock; return its code.

        Adding an existing SKU updates its settings and sets its stock (an item edit);
        a pending orphan record for the pair is adopted.
        """
        errors: list[dict[str, Any]] = []
        mn = _check_id(manage_number, "manageNumber", "manageNumber", errors)
        vid = _check_id(variant_id, "variantId", "variantId", errors)
        if mn is None or vid is None:
            raise ValueError("; ".join(e["message"] for e in errors))
        self._check_quantity(quantity)
        with self._lock:
            now = self._clock.now()
            mn = mn.lower()
            item = self._items.get(mn)
            if item is None:
                self._seq["item"] += 1
                item = _Item(mn, 10_000_000 + self._seq["item"], name or mn, now, now)
                self._items[mn] = item
            elif name is not None:
                item.name = name
            item.updated = now
            item.variants[vid] = _Variant(
                restock_on_cancel=(
                    self.restock_on_cancel_default
                    if restock_on_cancel is None
                    else restock_on_cancel
                ),
                back_order=back_order,
                price=price,
                merchant_defined_sku_id=merchant_defined_sku_id,
                sku_info=sku_info,
            )
            self._set_live((mn, vid), quantity, now)
            return f"{mn}:{vid}"

    def set_stock(self, code: str, quantity: int) -> None:
        """A hand edit on the RMS screen: live at once (writes in flight still land)."""
        self._check_quantity(quantity)
        with self._lock:
            key = self._known(code)
            self._tick()
            self._set_live(key, quantity, self._clock.now())

    def stock(self, code: str) -> int | None:
        """The live (displayed) quantity; None for an unknown SKU or one with no record."""
        with self._lock:
            self._tick()
            key = _split_code(code)
            if self._is_orphan(key):
                return None
            record = self._records.get(key)
            return None if record is None else record.quantity

    def pending_stock(self, code: str) -> int | None:
        """The quantity once every write in flight is live (the latest pushed value)."""
        with self._lock:
            self._tick()
            key = _split_code(code)
            return None if self._is_orphan(key) else self._projected(key)

    def orphans(self) -> dict[str, int | None]:
        """Stock records written for pairs that are no item's SKU (§2.1: 204, not an error)."""
        with self._lock:
            self._tick()
            return {
                f"{mn}:{vid}": self._projected((mn, vid))
                for mn, vid in sorted(self._orphans)
                if (mn, vid) in self._records and self._is_orphan((mn, vid))
            }

    def place_order(
        self,
        lines: Sequence[tuple[str, int]],
        *,
        at: datetime | None = None,
        packages: Sequence[int] | None = None,
    ) -> str | None:
        """A customer order; the order number, or None when the shop page refuses it.

        Like the real shop page it is accepted only if the live stock covers every
        line (or the SKU takes back orders), and it decrements that stock (§4.4).
        ``at`` backdates the order datetime; ``packages`` gives each line's ship-to
        (PackageModel index, default all 0). An unregistered code raises KeyError.
        """
        if not lines:
            raise ValueError("an order needs at least one line")
        with self._lock:
            self._tick()
            wanted: dict[tuple[str, str], int] = {}
            for code, units in lines:
                if units < 1:
                    raise ValueError(f"units must be ≥ 1, got {units}")
                key = self._known(code)
                wanted[key] = wanted.get(key, 0) + units
            for key, units in wanted.items():
                record = self._records.get(key)
                live = None if record is None else record.quantity
                if self._variant(key).back_order:
                    continue
                if live is None or live < units:
                    return None
            now = self._clock.now()
            for key, units in wanted.items():
                record = self._records.get(key)
                if record is not None and record.quantity is not None:
                    record.quantity = max(record.quantity - units, 0)
                    record.updated = now
            ordered_at = (at or now).replace(microsecond=0)
            self._seq["order"] += 1
            self._seq["basket"] += 1
            # [S10] order number <shopId>-<yyyymmdd>-<digits> (8-digit tail in samples)
            number = f"{self.shop_id}-{ordered_at.astimezone(JST):%Y%m%d}-{self._seq['order']:08d}"
            order_lines = []
            for n, (code, units) in enumerate(lines):
                mn, vid = _split_code(code)
                variant = self._variant((mn, vid))
                self._seq["detail"] += 1
                order_lines.append(
                    SimOrderLine(
                        item_detail_id=self._seq["detail"],
                        manage_number=mn,
                        variant_id=vid,
                        units=units,
                        price=variant.price,
                        item_id=self._items[mn].item_id,
                        item_name=self._items[mn].name,
                        merchant_defined_sku_id=variant.merchant_defined_sku_id,
                        sku_info=variant.sku_info,
                        package=packages[n] if packages else 0,
                    )
                )
            self.orders[number] = SimOrder(number, ordered_at, self._seq["basket"], order_lines)
            return number

    def cancel_order(self, order_number: str, *, restock: bool | None = None) -> None:
        """A cancel as RMS's cancelOrder makes it: applied (800), then confirmed (900).

        Both steps happen now; :meth:`request_cancel` and :meth:`confirm_cancel` make
        them one at a time, so a poll can see 800 first.
        """
        self.request_cancel(order_number, restock=restock)
        self.confirm_cancel(order_number)

    def request_cancel(self, order_number: str, *, restock: bool | None = None) -> None:
        """キャンセル確定待ち: orderProgress 800 plus a ChangeReasonModel changeType 0.

        ``restock`` sets every line's restoreInventoryFlag (None → 0, follow the SKU's
        restockOnCancel; True → 1; False → 2) ([S11]). Stock comes back on confirmation.
        """
        with self._lock:
            self._tick()
            order = self.orders[order_number]
            if order.progress in (800, 900):
                raise ValueError(f"order {order_number} is already cancelled")
            flag = 0 if restock is None else (1 if restock else 2)
            for line in order.lines:
                line.restore_inventory_flag = flag
            order.progress = 800  # [S10][S11] 800 キャンセル確定待ち
            # [S11] changeType 0 cancel applied; changeReason 0 shop; detail 1 cancel
            self._add_change(order, change_type=0, detail=None, reason_detail=1)

    def confirm_cancel(self, order_number: str) -> None:
        """キャンセル確定: orderProgress 900, changeType 1; restocks where restock applies."""
        with self._lock:
            self._tick()
            order = self.orders[order_number]
            if order.progress != 800:
                raise ValueError(f"order {order_number} has no cancel to confirm")
            for line in order.lines:
                if order.takes(line) and self._restocks(line):
                    self._give_back(line, line.units)
            order.progress = 900  # [S10][S11] 900 キャンセル確定
            self._add_change(order, change_type=1, detail=None, reason_detail=1)

    def change_line_units(
        self, order_number: str, line_index: int, units: int, *, via_400: bool | None = None
    ) -> None:
        """A partial change: the line keeps fewer units (0 keeps it with 0 units).

        Via 400 (``change_via_400``, or ``via_400``) the order shows 変更確定待ち with a
        ChangeReasonModel changeType 4 (change applied) until :meth:`confirm_change`;
        in place it keeps its progress and gets changeType 5 (confirmed) at once. Both
        use changeTypeDetail 0 (decrease); the units taken back return to stock when
        restock applies to the line ([S11]; how RMS shows this is UNCONFIRMED, §4.4).
        """
        with self._lock:
            self._tick()
            order = self._changeable(order_number)
            line = order.lines[line_index]
            if not 0 <= units < line.units:
                raise ValueError(f"units must be reduced below {line.units}, got {units}")
            taken_back = line.units - units
            line.units = units
            if self._restocks(line):
                self._give_back(line, taken_back)
            self._changed(order, via_400)

    def remove_line(
        self, order_number: str, line_index: int, *, via_400: bool | None = None
    ) -> None:
        """A line removed by an order change: it stays, with deleteItemFlag 1 ([S11])."""
        with self._lock:
            self._tick()
            order = self._changeable(order_number)
            line = order.lines[line_index]
            if not order.takes(line):
                raise ValueError(f"line {line_index} of {order_number} is already removed")
            if self._restocks(line):
                self._give_back(line, line.units)
            line.deleted = True
            self._changed(order, via_400)

    def remove_package(
        self, order_number: str, package: int, *, via_400: bool | None = None
    ) -> None:
        """A ship-to removed by an order change: packageDeleteFlag 1 on it ([S11])."""
        with self._lock:
            self._tick()
            order = self._changeable(order_number)
            lines = [ln for ln in order.lines if ln.package == package]
            if not lines or package in order.deleted_packages:
                raise ValueError(f"no package {package} to remove on {order_number}")
            for line in lines:
                if not line.deleted and self._restocks(line):
                    self._give_back(line, line.units)
            order.deleted_packages.add(package)
            self._changed(order, via_400)

    def confirm_change(self, order_number: str) -> None:
        """A pending change (400) is confirmed: back to its progress, changeType 5."""
        with self._lock:
            self._tick()
            order = self.orders[order_number]
            if order.progress != 400 or order.progress_before_change is None:
                raise ValueError(f"order {order_number} has no change pending")
            order.progress = order.progress_before_change
            order.progress_before_change = None
            self._add_change(order, change_type=5, detail=0, reason_detail=None)

    def ship(self, order_number: str) -> None:
        """発送済: orderProgress 500 (the order leaves the not-yet-shipped statuses)."""
        with self._lock:
            self._tick()
            order = self.orders[order_number]
            order.progress = 500  # [S10] 500 発送済
            order.shipping_inst_at = self._clock.now()

    def fail_next_search(self, code: str = f"{_SEARCH}_ERROR_SIM", times: int = 1) -> None:
        """The next ``times`` searchOrder calls answer 200 with an ERROR MessageModel.

        [S10]: every response carries MessageModelList; a 200 whose list holds an
        ERROR (and a null orderNumberList) must not read as "no orders".
        """
        with self._lock:
            self.search_errors.extend([code] * times)

    def fail_next(self, kind: FailKind, times: int = 1) -> None:
        """Answer the next ``times`` requests with a fault instead of serving them.

        429 and 503 and 401 use the gateway ``Results`` envelope (§6), 409 is CE0001
        and 500 is X0000 in the inventory envelope ([S3]); ``timeout`` raises
        ``httpx.ReadTimeout`` and the request has no effect.
        """
        with self._lock:
            self._faults.extend([kind] * times)

    def expire_credentials(self) -> None:
        """The licence key expires now: every call gets 401 until :meth:`renew_license`."""
        with self._lock:
            self._expired = True

    def renew_license(self, new_key: str, *, expiry: datetime | None = None) -> None:
        """A new licence key is issued; the old one stops at once.

        §1: sources conflict on whether the old key keeps working; the adapter must
        treat a key change as an immediate cut-over, so the simulator does.
        """
        with self._lock:
            self._license_key = new_key
            self._license_expiry = expiry or self._default_expiry()
            self._expired = False

    # ------------------------------------------------------------------ the transport

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one request as RMS would."""
        request.read()
        if self.latency > 0:
            self._clock.sleep(self.latency)
        with self._lock:
            self._tick()
            path = request.url.path
            body = self._parse_json(request.content)
            route, match = self._route(path)
            family = self._family(route, request.method, path)
            log = SimRequest(
                at=self._clock.now(),
                method=request.method,
                path=path,
                json=body,
                status=0,
                family=family,
                params=dict(request.url.params),
            )
            self.requests.append(log)
            if self._faults:
                kind = self._faults.popleft()
                if kind == "timeout":
                    raise httpx.ReadTimeout("simulated read timeout", request=request)
                response = self._fault(kind)
            else:
                response = self._serve(request, route, match, body)
            log.status = response.status_code
            return response

    def _serve(
        self,
        request: httpx.Request,
        route: str | None,
        match: re.Match[str] | None,
        body: Any,
    ) -> httpx.Response:
        if not self._authorised(request.headers.get("Authorization")):
            # §1 ES01-01 / GA0001 "Un-Authorised", HTTP 401 — [S15] and public GitHub code
            return _results(self.auth_error_status, self.auth_error_code, "Un-Authorised")
        method = request.method
        if route is None or match is None or method not in _METHODS[route]:
            # [S3] GE0007 request path doesn't exist
            return _errors(
                400, _ie("GE0007", f"Request path does not exist: {method} {request.url.path}")
            )
        bucket = f"{route}-{method.lower()}" if route == "variant" else route
        if not self._admit(bucket):
            return _results(429, self.rate_limit_error_code, "Too Many Requests")
        try:
            return self._dispatch(request, route, match, body)
        except _Rejected as rejected:
            return rejected.response

    def _dispatch(
        self, request: httpx.Request, route: str, match: re.Match[str], body: Any
    ) -> httpx.Response:
        groups = match.groupdict()
        version = groups.get("version") or "2.1"
        if route in ("searchOrder", "getOrder"):
            if not self._content_type_ok(request.headers.get("Content-Type", "")):
                return _results(415, "ES04-03", "Unsupported Media Type")  # [S24] low confidence
            order_body = body if isinstance(body, dict) else {}
            if route == "searchOrder":
                return self._search_order(order_body)
            return self._get_order(order_body)
        if route == "license":
            return self._license(request.url.params.get("licenseKey"))
        if route == "bulk-upsert":
            return self._bulk_upsert(version, self._require_body(request, body))
        if route == "bulk-get":
            return self._bulk_get(version, self._require_body(request, body))
        if route == "bulk-get-range":
            return self._range(version, request.url.params)
        if route == "variant-lists":
            return self._variant_lists(groups["mn"])
        folded = self._fold("variant", self._path_ids(groups["mn"], groups["vid"]))
        assert folded is not None
        mn, vid = folded
        if request.method == "GET":
            return self._variant_get(version, mn, vid)
        if request.method == "DELETE":
            return self._variant_delete(mn, vid)
        return self._variant_put(version, mn, vid, self._require_body(request, body))

    # ------------------------------------------------------------------ inventory API

    def _bulk_upsert(self, version: str, body: dict[str, Any]) -> httpx.Response:
        entries = self._entries(body, self.BULK_UPSERT_MAX)
        errors: list[dict[str, Any]] = []
        valid: list[tuple[str, tuple[str, str], str, int, dict[str, Any] | None]] = []
        seen: set[tuple[str, str]] = set()
        for i, entry in enumerate(entries):
            path = f"inventories[{i}]"
            key = self._fold("bulk-upsert", _entry_key(entry, path, errors))
            if not isinstance(entry, dict):
                continue
            write = _check_write(entry, path, errors)
            extras = _check_extras(version, entry, path, errors)
            if key is None or write is None:
                continue
            if key in seen:
                errors.append(self._duplicate(path, key))  # [S3] IE1102
                continue
            seen.add(key)
            valid.append((path, key, write[0], write[1], extras))
        new_per_item: dict[str, int] = {}
        for path, key, mode, quantity, _ in valid:
            errors.extend(self._semantic_errors(path, key, mode, quantity, new_per_item))
        if errors:
            # [S5] one 400 listing every error; the whole batch is rejected (UNCONFIRMED)
            return _errors(400, *errors)
        for _, key, mode, quantity, extras in valid:
            self._write(key, mode, quantity, extras)
        return httpx.Response(204)  # [S5] 204 No Content, empty body

    def _variant_put(self, version: str, mn: str, vid: str, body: dict[str, Any]) -> httpx.Response:
        errors: list[dict[str, Any]] = []
        write = _check_write(body, "", errors)
        extras = _check_extras(version, body, "", errors)
        if write is not None:
            errors.extend(self._semantic_errors(None, (mn, vid), write[0], write[1], {}))
        if errors or write is None:
            return _errors(400, *errors)
        self._write((mn, vid), write[0], write[1], extras)
        return httpx.Response(204)  # [S1] 204 No Content

    def _semantic_errors(
        self,
        path: str | None,
        key: tuple[str, str],
        mode: str,
        quantity: int,
        new_per_item: dict[str, int],
    ) -> list[dict[str, Any]]:
        mn, vid = key
        current = self._projected(key)
        where = f"{path}.quantity" if path else "quantity"
        if mode == "RELATIVE":
            if current is None:
                # [S1][S3] the first write must be ABSOLUTE; RELATIVE on a missing pair → IE0500
                return [
                    _ie(
                        "IE0500",
                        f"Inventory does not exist for inputs; manageNumber={mn}, variantId={vid}",
                        path or "mode",
                    )
                ]
            if not _QTY_MIN <= current + quantity <= _QTY_MAX:
                # [S3] IE0117 quantity after update out of 0..99999
                return [
                    _ie(
                        "IE0117",
                        f"quantity after update must be between {_QTY_MIN} and {_QTY_MAX}.",
                        where,
                    )
                ]
        elif current is None:
            new_per_item[mn] = new_per_item.get(mn, 0) + 1
            count = sum(1 for m, _ in self._records if m == mn) + new_per_item[mn]
            if count > self.VARIANTS_PER_ITEM_MAX:
                # [S3] IE0121 more than 400 variantIds on one manageNumber
                return [
                    _ie(
                        "IE0121",
                        f"variantIds of manageNumber {mn} must be within {self.VARIANTS_PER_ITEM_MAX}.",
                        f"{path}.variantId" if path else "variantId",
                    )
                ]
        return []

    def _bulk_get(self, version: str, body: dict[str, Any]) -> httpx.Response:
        entries = self._entries(body, self.BULK_GET_MAX)
        errors: list[dict[str, Any]] = []
        keys: list[tuple[str, str]] = []
        seen: set[tuple[str, str]] = set()
        for i, entry in enumerate(entries):
            key = self._fold("bulk-get", _entry_key(entry, f"inventories[{i}]", errors))
            if key is None:
                continue
            path = f"inventories[{i}]"
            if key in seen:
                errors.append(self._duplicate(path, key))  # [S3] IE1102
                continue
            seen.add(key)
            keys.append(key)
        if errors:
            return _errors(400, *errors)
        # [S2] 200 {"inventories":[…]}; pairs that do not exist are left out (UNCONFIRMED)
        found = [self._element(version, key) for key in keys if self._visible(key)]
        return httpx.Response(200, json={"inventories": found})

    def _range(self, version: str, params: httpx.QueryParams) -> httpx.Response:
        errors: list[dict[str, Any]] = []
        bounds: dict[str, int | None] = {}
        for name in ("minQuantity", "maxQuantity"):
            raw = params.get(name)
            if raw is None or raw == "":
                bounds[name] = None
            elif not re.fullmatch(r"-?\d+", raw):
                errors.append(_ie("IE0002", f"{name} has an invalid value : {raw}.", name))
            elif not _QTY_MIN <= int(raw) <= _QTY_MAX:
                errors.append(
                    _ie("IE0003", f"{name} must be between {_QTY_MIN} and {_QTY_MAX}.", name)
                )
            else:
                bounds[name] = int(raw)
        if errors:
            return _errors(400, *errors)
        low, high = bounds["minQuantity"], bounds["maxQuantity"]
        if low is None and high is None:
            # [S3] IE0105 neither minQuantity nor maxQuantity
            return _errors(400, _ie("IE0105", "Either minQuantity or maxQuantity is mandatory."))
        if low is not None and high is not None and low > high:
            # [S3] IE0113 minQuantity > maxQuantity
            return _errors(
                400, _ie("IE0113", "minQuantity must be less than or equal to maxQuantity.")
            )
        hits = [
            (key, record)
            for key, record in self._records.items()
            if self._visible(key)
            and record.quantity is not None
            and (low is None or record.quantity >= low)
            and (high is None or record.quantity <= high)
        ]
        if len(hits) > self.RANGE_MAX_HITS:
            # [S3][S24] 400 IE0116 over 1000 hits; narrow the range
            return _errors(
                400,
                _ie("IE0116", "Too many search results. Please narrow down the search conditions."),
            )
        # [S3][S5] sorted by updated, newest first
        hits.sort(key=lambda hit: (hit[1].updated, hit[0]), reverse=True)
        return httpx.Response(
            200, json={"inventories": [self._element(version, key) for key, _ in hits]}
        )

    def _variant_get(self, version: str, mn: str, vid: str) -> httpx.Response:
        if not self._visible((mn, vid)):
            return self._not_found(mn, vid)
        return httpx.Response(200, json=self._element(version, (mn, vid)))

    def _variant_delete(self, mn: str, vid: str) -> httpx.Response:
        if (mn, vid) not in self._records:
            return self._not_found(mn, vid)
        del self._records[(mn, vid)]
        self._in_flight.discard((mn, vid))
        return httpx.Response(204)  # [S5] DELETE → 204

    def _variant_lists(self, raw_mn: str) -> httpx.Response:
        errors: list[dict[str, Any]] = []
        mn = _check_id(raw_mn, "manageNumber", "manageNumber", errors)
        if mn is None:
            return _errors(400, *errors)
        item = self._items.get(mn.lower())
        if item is None:
            # [S4] unknown item → 404 GE0014
            return _errors(404, _ie("GE0014", f"Not found for inputs; manageNumber={mn.lower()}"))
        # [S4] {"manageNumber","variantList":[…],"created","updated"}
        return httpx.Response(
            200,
            json={
                "manageNumber": item.manage_number,
                "variantList": list(item.variants),
                "created": _inv_time(item.created),
                "updated": _inv_time(item.updated),
            },
        )

    # ------------------------------------------------------------------ order API

    def _search_order(self, body: dict[str, Any]) -> httpx.Response:
        messages: list[dict[str, Any]] = []

        def error(code: str, text: str) -> None:
            messages.append(_msg("ERROR", code, text))

        bounds = self._search_bounds(body, error)
        progress = body.get("orderProgressList")
        if progress is not None and (
            not isinstance(progress, list) or not all(_is_int(p) for p in progress)
        ):
            error(f"{_SEARCH}_ERROR_SIM_PARAM", "orderProgressListの値が不正です。")  # UNCONFIRMED
        page_model, amount, page = self._search_paging(body, error)
        if messages:
            # [S10] validation errors: HTTP 400, list and pagination null
            return httpx.Response(
                400,
                json={
                    "orderNumberList": None,
                    "MessageModelList": messages,
                    "PaginationResponseModel": None,
                },
            )
        if self.search_errors:
            # [S10] a 200 whose MessageModelList holds an ERROR: list and pagination null
            code = self.search_errors.popleft()
            return httpx.Response(
                200,
                json={
                    "orderNumberList": None,
                    "MessageModelList": [_msg("ERROR", code, "注文検索に失敗しました。")],
                    "PaginationResponseModel": None,
                },
            )
        numbers = self._search_hits(body.get("dateType"), bounds, progress, page_model)
        return self._search_page(numbers, amount, page)

    def _search_bounds(
        self, body: dict[str, Any], error: Callable[[str, str], None]
    ) -> dict[str, datetime]:
        """DateType and the [start, end] window, each refused as [S10] documents."""
        date_type: Any = body.get("dateType")
        if date_type is None:
            error(f"{_SEARCH}_ERROR_009", "dateTypeの項目を指定して下さい。")  # [S10]
        elif not _is_int(date_type) or not 1 <= date_type <= 6:
            error(f"{_SEARCH}_ERROR_009", "dateTypeの値が不正です。")  # code UNCONFIRMED
        bounds: dict[str, datetime] = {}
        for name in ("startDatetime", "endDatetime"):
            raw = body.get(name)
            if raw is None or raw == "":
                error(
                    f"{_SEARCH}_ERROR_010", f"{name}の値を指定して下さい。"
                )  # (public GitHub code)
                continue
            parsed = _parse_order_time(raw) if isinstance(raw, str) else None
            if parsed is None:
                # [S10] only yyyy-MM-ddTHH:mm:ss+0900; +09:00, Z, +0000 → ERROR_011
                error(f"{_SEARCH}_ERROR_011", f"{name}の書式が不正です。")
            else:
                bounds[name] = parsed
        if len(bounds) == 2:
            start, end = bounds["startDatetime"], bounds["endDatetime"]
            if start > end or end - start > self.SEARCH_MAX_SPAN:
                # [S10] end at most 63 days after start; the code is UNCONFIRMED (ERROR_023?)
                error(self.search_range_error_code, "検索期間は63日以内で指定して下さい。")
            if start < self._clock.now() - self.SEARCH_MAX_AGE:
                # [S10] start within the last 730 days; the code is UNCONFIRMED
                error(self.search_range_error_code, "startDatetimeは730日以内で指定して下さい。")
        return bounds

    def _search_paging(
        self, body: dict[str, Any], error: Callable[[str, str], None]
    ) -> tuple[dict[str, Any], Any, Any]:
        """PaginationRequestModel, its page size and page number (refused when out of range)."""
        page_model = body.get("PaginationRequestModel") or {}
        if not isinstance(page_model, dict):
            page_model = {}
            error(f"{_SEARCH}_ERROR_SIM_PARAM", "PaginationRequestModelの値が不正です。")
        amount = page_model.get("requestRecordsAmount", self.SEARCH_PAGE_DEFAULT)
        page = page_model.get("requestPage", 1)
        if not _is_int(amount) or not 1 <= amount <= self.SEARCH_PAGE_MAX:
            # [S10] requestRecordsAmount max 1000; the code is UNCONFIRMED
            error(f"{_SEARCH}_ERROR_SIM_PARAM", "requestRecordsAmountの値が不正です。")
        if not _is_int(page) or page < 1:
            error(f"{_SEARCH}_ERROR_SIM_PARAM", "requestPageの値が不正です。")
        return page_model, amount, page

    def _search_hits(
        self,
        date_type: Any,
        bounds: dict[str, datetime],
        progress: list[int] | None,
        page_model: dict[str, Any],
    ) -> list[str]:
        """Order numbers in the window, sorted as asked, at most SEARCH_HIT_CAP ([S10])."""
        start, end = bounds["startDatetime"], bounds["endDatetime"]
        wanted = set(progress) if progress else None
        hits: list[tuple[datetime, SimOrder]] = []
        for order in self.orders.values():
            when = self._date_of(order, date_type)
            if when is None or not start <= when <= end:
                continue
            if wanted is not None and order.progress not in wanted:
                continue
            hits.append((order.ordered_at, order))
        descending = False
        for sort in page_model.get("SortModelList") or []:
            # [S10] sortColumn 1 = order datetime; sortDirection 1 asc, 2 desc
            if isinstance(sort, dict) and sort.get("sortColumn") == 1:
                descending = sort.get("sortDirection") == 2
        hits.sort(key=lambda hit: (hit[0], hit[1].order_number), reverse=descending)
        return [order.order_number for _, order in hits][: self.SEARCH_HIT_CAP]

    @staticmethod
    def _search_page(numbers: list[str], amount: int, page: int) -> httpx.Response:
        if not numbers:
            # [S10] zero hits: INFO_102, empty list, all-null pagination fields
            return httpx.Response(
                200,
                json={
                    "orderNumberList": [],
                    "MessageModelList": [
                        _msg(
                            "INFO", f"{_SEARCH}_INFO_102", "注文検索に成功しました。(検索結果０件)"
                        )
                    ],
                    "PaginationResponseModel": {
                        "totalRecordsAmount": None,
                        "totalPages": None,
                        "requestPage": None,
                    },
                },
            )
        total_pages = -(-len(numbers) // amount)
        return httpx.Response(
            200,
            json={
                "orderNumberList": numbers[(page - 1) * amount : page * amount],
                "MessageModelList": [
                    _msg("INFO", f"{_SEARCH}_INFO_101", "注文検索に成功しました。")
                ],
                "PaginationResponseModel": {
                    "totalRecordsAmount": len(numbers),
                    "totalPages": total_pages,
                    "requestPage": page,
                },
            },
        )

    def _get_order(self, body: dict[str, Any]) -> httpx.Response:
        numbers = body.get("orderNumberList")
        version = body.get("version")
        messages: list[dict[str, Any]] = []
        if not isinstance(numbers, list) or not numbers:
            # (public GitHub code) missing orderNumberList → GET_ORDER_ERROR_009
            messages.append(
                _msg("ERROR", f"{_GET}_ERROR_009", "orderNumberListの項目を指定してください。")
            )
        elif len(numbers) > self.GET_ORDER_MAX or not all(isinstance(n, str) for n in numbers):
            # [S11] at most 100 order numbers; the code is UNCONFIRMED
            messages.append(
                _msg(
                    "ERROR",
                    f"{_GET}_ERROR_SIM_LIMIT",
                    "orderNumberListは100件以内で指定してください。",
                )
            )
        if version is None:
            # [S11] version required since doc v5.6; missing → GET_ORDER_ERROR_009
            messages.append(_msg("ERROR", f"{_GET}_ERROR_009", "versionの項目を指定してください。"))
        elif not _is_int(version) or version not in self.GET_ORDER_VERSIONS:
            # [S11] 1 and 2 are rejected (public GitHub code); the code is UNCONFIRMED
            messages.append(_msg("ERROR", f"{_GET}_ERROR_SIM_VERSION", "versionの値が不正です。"))
        if messages:
            return httpx.Response(
                400, json={"MessageModelList": messages, "OrderModelList": None, "version": version}
            )
        assert isinstance(numbers, list) and isinstance(version, int)
        oldest = self._clock.now() - self.SEARCH_MAX_AGE
        models: list[dict[str, Any]] = []
        warnings: list[dict[str, Any]] = []
        for number in numbers:
            order = self.orders.get(number)
            if number in self.unreadable_orders:
                # [S11] per-order message (carries orderNumber); the order is left out
                code = self.unreadable_orders[number]
                warnings.append(_msg("ERROR", code, "受注情報の取得に失敗しました。", number))
                continue
            if order is None or order.ordered_at < oldest:
                # [S11] unknown numbers left out with a per-order message (UNCONFIRMED)
                warnings.append(
                    _msg(
                        "WARNING",
                        f"{_GET}_WARNING_SIM_NOT_FOUND",
                        "指定された注文番号が存在しません。",
                        number,
                    )
                )
                continue
            models.append(self._order_model(order, version))
        info = _msg(
            "INFO", f"{_GET}_INFO_101", f"受注情報取得に成功しました。(取得件数{len(models)}件)"
        )
        return httpx.Response(
            200,
            json={
                "MessageModelList": [info, *warnings],
                "OrderModelList": models,
                "version": version,
            },
        )

    def _order_model(self, order: SimOrder, version: int) -> dict[str, Any]:
        # [S11] OrderModel; fields the bot does not use are left at their "not set" value
        goods = order.goods_price
        cancel_due: date = (order.ordered_at.astimezone(JST) + self.CANCEL_DUE).date()
        packages = sorted({line.package for line in order.lines})
        return {
            "orderNumber": order.order_number,
            "orderProgress": order.progress,
            "subStatusId": None,
            "subStatusName": None,
            "orderDatetime": _order_time(order.ordered_at),
            "shopOrderCfmDatetime": _order_time(order.shop_order_cfm_at),
            "orderFixDatetime": _order_time(order.order_fix_at),
            "shippingInstDatetime": _order_time(order.shipping_inst_at),
            "shippingCmplRptDatetime": _order_time(order.shipping_cmpl_rpt_at),
            "cancelDueDate": cancel_due.isoformat(),  # §6 Date fields are YYYY-MM-DD
            "orderType": 1,
            "reserveNumber": None,
            "goodsPrice": goods,
            "postagePrice": 0,
            "totalPrice": goods,
            "requestPrice": goods,
            "ChangeReasonModelList": [dict(change) for change in order.change_reasons],
            "OrdererModel": _person_model(order.order_number, with_email=True),
            "PackageModelList": [self._package_model(order, n, version) for n in packages],
        }

    def _package_model(self, order: SimOrder, package: int, version: int) -> dict[str, Any]:
        # [S11] PackageModel: one per ship-to; removed ones stay with packageDeleteFlag 1
        lines = [line for line in order.lines if line.package == package]
        goods = sum(line.price * line.units for line in lines if order.takes(line))
        return {
            "basketId": order.basket_id * 100 + package,
            "postagePrice": 0,
            "deliveryPrice": 0,
            "goodsPrice": goods,
            "totalPrice": goods,
            "noshi": None,
            "packageDeleteFlag": 1 if package in order.deleted_packages else 0,
            "SenderModel": _person_model(order.order_number, with_email=False),
            "ItemModelList": [self._item_model(line, version) for line in lines],
        }

    def _item_model(self, line: SimOrderLine, version: int) -> dict[str, Any]:
        item: dict[str, Any] = {
            "itemDetailId": line.item_detail_id,
            "itemName": line.item_name,
            "itemId": line.item_id,
            "itemNumber": line.manage_number,
            "manageNumber": line.manage_number,
            "price": line.price,
            "priceTaxIncl": line.price,
            "units": line.units,
            "includePostageFlag": 0,
            "includeTaxFlag": 1,
            "includeCashOnDeliveryPostageFlag": 0,
            "selectedChoice": None,
            "taxRate": 0.1,
            "delvdateInfo": None,
            "inventoryType": 1,  # [S11] legacy field: 1 normal stock
            "restoreInventoryFlag": line.restore_inventory_flag,
            "deleteItemFlag": 1 if line.deleted else 0,  # [S11] removed by an order change
        }
        if version >= self.SKU_MODEL_MIN_VERSION:
            # [S11] v7+: one SkuModel {variantId, merchantDefinedSkuId, skuInfo} per line
            item["SkuModelList"] = [
                {
                    "variantId": line.variant_id,
                    "merchantDefinedSkuId": line.merchant_defined_sku_id,
                    "skuInfo": line.sku_info,
                }
            ]
        return item

    # ------------------------------------------------------------------ licence API

    def _license(self, key: str | None) -> httpx.Response:
        if key is not None and key != self._license_key:
            return _errors(404, _ie("GE0014", "Not found for inputs; licenseKey"))
        # [S19] 200 {"expiryDate":"2026-11-28T23:59:59"}: JST, no offset
        expiry = self._license_expiry.astimezone(JST).strftime("%Y-%m-%dT%H:%M:%S")
        return httpx.Response(200, json={"expiryDate": expiry})

    # ------------------------------------------------------------------ internals

    def _default_expiry(self) -> datetime:
        day = (self._clock.now().astimezone(JST) + self.LICENSE_LIFETIME).date()
        return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=JST)

    def _fold(self, route: str, key: tuple[str, str] | None) -> tuple[str, str] | None:
        """The key with variantId lower-cased on routes set to fold it (``fold_variant_id``)."""
        if key is None or route not in self.fold_variant_id:
            return key
        return key[0], key[1].lower()

    def _content_type_ok(self, value: str) -> bool:
        """The order API's Content-Type check (§4.1; the rule is ``order_content_type``)."""
        text = value.strip().lower()
        if self.order_content_type == "no-space":
            return text == "application/json;charset=utf-8"  # [S24]
        media, _, params = text.partition(";")
        if media.strip() != "application/json":
            return False
        if self.order_content_type == "any-json":
            return True
        # [S10] "application/json; charset=utf-8": the charset parameter is required
        return any(p.strip().startswith("charset=") for p in params.split(";"))

    def _authorised(self, header: str | None) -> bool:
        # §1 [S12] Authorization: ESA base64(serviceSecret:licenseKey)
        if self._expired or self._clock.now() > self._license_expiry:
            return False
        if header is None or not header.startswith("ESA "):
            return False
        try:
            decoded = base64.b64decode(header[4:], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return decoded == f"{self._secret}:{self._license_key}"

    def _admit(self, bucket: str) -> bool:
        rate = self.RATE_LIMITS.get(bucket)
        if rate is None or not self.enforce_rate_limits:
            return True
        now = self._clock.monotonic()
        hits = self._hits.setdefault(bucket, deque())
        while hits and hits[0] <= now - 1.0 + 1e-9:
            hits.popleft()
        if len(hits) >= rate:
            return False
        hits.append(now)
        return True

    def _fault(self, kind: FailKind) -> httpx.Response:
        if kind == "401":
            return _results(self.auth_error_status, self.auth_error_code, "Un-Authorised")
        if kind == "429":
            return _results(429, self.rate_limit_error_code, "Too Many Requests")
        if kind == "503":
            # [S10] 503 overload or maintenance; body UNCONFIRMED
            return _results(503, "SIM-503", "Service Unavailable")
        if kind == "409":
            # [S3] 409 CE0001 conflict with another process; retry after a short wait
            return _errors(
                409, _ie("CE0001", "Conflict with another process. Please try again later.")
            )
        # [S3] 500 X0000 unexpected error
        return _errors(500, _ie("X0000", "Unexpected error."))

    @staticmethod
    def _route(path: str) -> tuple[str | None, re.Match[str] | None]:
        for name, pattern in _ROUTES:
            match = pattern.fullmatch(path)
            if match is not None:
                return name, match
        return None, None

    @staticmethod
    def _family(route: str | None, method: str, path: str) -> Family:
        if route in ("searchOrder", "getOrder") or (route is None and "/order/" in path):
            return "order"
        if route == "license" or (route is None and "license" in path):
            return "license"
        if method == "GET" or route == "bulk-get":
            return "inventory-read"
        return "inventory-write"

    @staticmethod
    def _parse_json(content: bytes) -> Any:
        if not content.strip():
            return None
        try:
            return json.loads(content)
        except (ValueError, UnicodeDecodeError):
            return None

    @staticmethod
    def _require_body(request: httpx.Request, body: Any) -> dict[str, Any]:
        if not request.content.strip():
            # [S3] GE0011 body missing or empty
            raise _Rejected(_errors(400, _ie("GE0011", "Request body is missing or empty.")))
        if not isinstance(body, dict):
            raise _Rejected(_errors(400, _ie("GE0011", "Request body is not a JSON object.")))
        return body

    @staticmethod
    def _entries(body: dict[str, Any], limit: int) -> list[Any]:
        entries = body.get("inventories")
        if entries is None:
            raise _Rejected(_errors(400, _ie("IE0001", "inventories is mandatory.", "inventories")))
        if not isinstance(entries, list):
            raise _Rejected(
                _errors(
                    400,
                    _ie(
                        "IE0002",
                        f"inventories has an invalid value : {_shown(entries)}.",
                        "inventories",
                    ),
                )
            )
        if not 1 <= len(entries) <= limit:
            # [S3] IE1101 list has too many entries (also used for an empty list)
            raise _Rejected(
                _errors(
                    400,
                    _ie(
                        "IE1101",
                        f"inventories must have between 1 and {limit} entries.",
                        "inventories",
                    ),
                )
            )
        return entries

    @staticmethod
    def _duplicate(path: str, key: tuple[str, str]) -> dict[str, Any]:
        return _ie(
            "IE1102",
            f"Duplicate inventory in the request; manageNumber={key[0]}, variantId={key[1]}",
            path,
        )

    @staticmethod
    def _not_found(mn: str, vid: str) -> httpx.Response:
        # [S5] 404 {"errors":[{"code":"GE0014","message":"Not found for inputs; manageNumber=…, variantId=…"}]}
        return _errors(
            404, _ie("GE0014", f"Not found for inputs; manageNumber={mn}, variantId={vid}")
        )

    @staticmethod
    def _path_ids(raw_mn: str, raw_vid: str) -> tuple[str, str]:
        errors: list[dict[str, Any]] = []
        mn = _check_id(raw_mn, "manageNumber", "manageNumber", errors)
        vid = _check_id(raw_vid, "variantId", "variantId", errors)
        if mn is None or vid is None:
            raise _Rejected(_errors(400, *errors))
        return mn.lower(), vid

    @staticmethod
    def _check_quantity(quantity: int) -> None:
        if not _QTY_MIN <= quantity <= _QTY_MAX:
            raise ValueError(f"quantity must be between {_QTY_MIN} and {_QTY_MAX}")

    def _known(self, code: str) -> tuple[str, str]:
        key = _split_code(code)
        item = self._items.get(key[0])
        if item is None or key[1] not in item.variants:
            raise KeyError(f"no SKU {code!r} on this shop (add_item first)")
        return key

    def _variant(self, key: tuple[str, str]) -> _Variant:
        return self._items[key[0]].variants[key[1]]

    def _is_orphan(self, key: tuple[str, str]) -> bool:
        item = self._items.get(key[0])
        return item is None or key[1] not in item.variants

    def _visible(self, key: tuple[str, str]) -> bool:
        """Readable through the API: a live record of a real SKU (orphans are not)."""
        record = self._records.get(key)
        return record is not None and record.quantity is not None and not self._is_orphan(key)

    def _element(self, version: str, key: tuple[str, str]) -> dict[str, Any]:
        # [S2][S5] element: manageNumber, variantId, quantity, created, updated (+2.1 extras)
        record = self._records[key]
        element: dict[str, Any] = {
            "manageNumber": key[0],
            "variantId": key[1],
            "quantity": record.quantity,
            "created": _inv_time(record.created),
            "updated": _inv_time(record.updated),
        }
        if version == "2.1":
            element.update(record.extras)  # [S2] returned only when not auto-select
        return element

    def _projected(self, key: tuple[str, str]) -> int | None:
        """The quantity once every write in flight is live; None without a record."""
        record = self._records.get(key)
        if record is None:
            return None
        value = record.quantity
        for write in record.pending:
            value = self._apply(value, write)
        return value

    @staticmethod
    def _apply(value: int | None, write: _Write) -> int:
        if write.mode == "ABSOLUTE":
            return write.quantity
        # orders landing between a RELATIVE write and its going live can push it out of range
        return min(max((value or 0) + write.quantity, _QTY_MIN), _QTY_MAX)

    def _write(
        self, key: tuple[str, str], mode: str, quantity: int, extras: dict[str, Any] | None
    ) -> None:
        now = self._clock.now()
        record = self._records.get(key)
        if record is None:
            # [S1][S5] a write to an unknown pair creates a record (an orphan if no SKU)
            record = _Record(quantity=None, created=now, updated=now, last_write=now)
            self._records[key] = record
            if self._is_orphan(key):
                self._orphans.add(key)
        record.last_write = now
        record.pending.append(
            _Write(now + timedelta(seconds=self.push_lag), mode, quantity, extras)
        )
        self._in_flight.add(key)
        self._tick()

    def _set_live(self, key: tuple[str, str], quantity: int, now: datetime) -> None:
        record = self._records.get(key)
        if record is None:
            self._records[key] = _Record(quantity, now, now, now)
        else:
            record.quantity = quantity
            record.updated = now
            record.last_write = now

    def _tick(self) -> None:
        """Make writes whose push lag has passed live; drop expired orphan records."""
        now = self._clock.now()
        for key in list(self._in_flight):
            record = self._records.get(key)
            if record is None:
                self._in_flight.discard(key)
                continue
            while record.pending and record.pending[0].live_at <= now:
                write = record.pending.pop(0)
                record.quantity = self._apply(record.quantity, write)
                record.updated = write.live_at
                if write.extras is not None:
                    record.extras = write.extras  # [S1] 2.1 is a full replace
            if not record.pending:
                self._in_flight.discard(key)
        for key in list(self._orphans):
            orphan = self._records.get(key)
            if orphan is None or not self._is_orphan(key):
                self._orphans.discard(key)  # deleted, or adopted by add_item
            elif now - orphan.last_write >= self.ORPHAN_TTL:
                del self._records[key]
                self._in_flight.discard(key)
                self._orphans.discard(key)

    @staticmethod
    def _date_of(order: SimOrder, date_type: int) -> datetime | None:
        # [S10] dateType 1 order, 2 confirmed, 3 fixed, 4 shipping, 5 ship report, 6 payment
        return {
            1: order.ordered_at,
            2: order.shop_order_cfm_at,
            3: order.order_fix_at,
            4: order.shipping_inst_at,
            5: order.shipping_cmpl_rpt_at,
            6: order.payment_fix_at,
        }.get(date_type)

    def _restocks(self, line: SimOrderLine) -> bool:
        # §4.4 stock returns when restoreInventoryFlag is 1, or 0 with restockOnCancel true
        if line.restore_inventory_flag == 1:
            return True
        if line.restore_inventory_flag == 2:
            return False
        item = self._items.get(line.manage_number)
        variant = None if item is None else item.variants.get(line.variant_id)
        return variant is not None and variant.restock_on_cancel

    def _give_back(self, line: SimOrderLine, units: int) -> None:
        record = self._records.get((line.manage_number, line.variant_id))
        if record is not None and record.quantity is not None and units > 0:
            record.quantity = min(record.quantity + units, _QTY_MAX)
            record.updated = self._clock.now()

    def _changeable(self, order_number: str) -> SimOrder:
        order = self.orders[order_number]
        if order.progress not in (100, 200, 300, 400):
            raise ValueError(f"order {order_number} is not an unshipped order")
        return order

    def _changed(self, order: SimOrder, via_400: bool | None) -> None:
        """Record a decrease: through 400 (applied, pending) or in place (confirmed)."""
        if via_400 if via_400 is not None else self.change_via_400:
            if order.progress != 400:
                order.progress_before_change = order.progress
                order.progress = 400  # [S10] 400 変更確定待ち
            self._add_change(order, change_type=4, detail=0, reason_detail=None)
        else:
            self._add_change(order, change_type=5, detail=0, reason_detail=None)

    def _add_change(
        self, order: SimOrder, *, change_type: int, detail: int | None, reason_detail: int | None
    ) -> None:
        # [S11] ChangeReasonModel fields
        now = _order_time(self._clock.now())
        self._seq["change"] += 1
        order.change_reasons.append(
            {
                "changeId": self._seq["change"],
                "changeType": change_type,
                "changeTypeDetail": detail,
                "changeReason": 0,
                "changeReasonDetail": reason_detail,
                "changeApplyDatetime": now,
                "changeFixDatetime": now,
                "changeCmplDatetime": None,
            }
        )


def _person_model(order_number: str, *, with_email: bool) -> dict[str, Any]:
    """[S11] OrdererModel (購入者) / SenderModel (送付先), as sentinels.

    The buyer's personal data no adapter may pass on (:mod:`bot.sandbox.simulators.buyer`).
    """
    buyer = sentinel_buyer(order_number)
    zip1, zip2 = buyer.zip_parts
    tel1, tel2, tel3 = buyer.phone_parts
    model: dict[str, Any] = {
        "zipCode1": zip1,
        "zipCode2": zip2,
        "prefecture": buyer.prefecture,
        "city": buyer.city,
        "subAddress": buyer.street,
        "familyName": buyer.family_name,
        "firstName": buyer.first_name,
        "familyNameKana": buyer.family_name_kana,
        "firstNameKana": buyer.first_name_kana,
        "phoneNumber1": tel1,
        "phoneNumber2": tel2,
        "phoneNumber3": tel3,
    }
    if with_email:
        model["emailAddress"] = buyer.email
    return model


Simulator = RakutenSimulator
"""The name :func:`bot.sandbox.simulators.simulator_class` looks up."""
