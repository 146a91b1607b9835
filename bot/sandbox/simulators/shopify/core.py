"""Shopify simulator: the Admin GraphQL API of one shop, as an httpx transport.

Every wire fact comes from ``docs/api/shopify.md`` (§ numbers below); what that file
marks UNCONFIRMED is a field of :class:`~.world.Unconfirmed`, so a test can run the
adapter against either answer. What a request meets, in order:

1. latency, then any injected fault (:meth:`ShopifySimulator.fail_next`);
2. routing: the shop's host and ``/admin/api/{version}/graphql.json`` (404 otherwise),
   ``X-Shopify-Access-Token`` (401), a JSON body with ``query`` (400);
3. parsing and cost: a syntax error, a query over the single-query cost cap
   (MAX_COST_EXCEEDED) or a requested cost over what the bucket holds (THROTTLED, as
   200 or 429); the requested cost is reserved, and what the answer did not use
   (requested − actual, by the nodes it returned) is refunded after execution (§1.7);
4. execution: every selected field must exist on its object (UNDEFINED_FIELD), input
   arrays hold ≤ 250 items, and ``inventorySetQuantities`` follows the version's
   compare-and-set and idempotency rules (§1.4) with the documented userErrors.

Every answer carries ``extensions.cost`` with the bucket's throttle status (§1.7).
"""

from __future__ import annotations

import base64
import bisect
import itertools
import json
import threading
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

import httpx

from bot.infra.clock import Clock
from bot.sandbox.simulators.shopify import schema
from bot.sandbox.simulators.shopify.graphql import (
    GraphQLSyntaxError,
    actual_cost,
    parse,
    query_cost,
)
from bot.sandbox.simulators.shopify.world import (
    STABLE_VERSIONS,
    SimLine,
    SimLocation,
    SimOrder,
    SimRefund,
    SimRefundLine,
    SimRequest,
    SimVariant,
    Unconfirmed,
)

FailKind = Literal["429", "503", "500", "timeout", "401"]

# §1.7 [S16] the throttled body; [S17] https://shopify.dev/docs/api/usage/response-codes
THROTTLED_MESSAGE = "Throttled"
THROTTLED_DOC = "https://shopify.dev/api/usage/rate-limits"
# The 401 body Shopify answers for a wrong or revoked token (public client code).
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"
MUTATION_COST = 10  # §1.7 [S8]: a mutation costs 10 points
DEFAULT_FACTS = Unconfirmed()


class _Answer(Exception):
    """A finished response raised from inside validation."""

    def __init__(self, response: httpx.Response, codes: Sequence[str] = ()) -> None:
        super().__init__(",".join(codes))
        self.response = response
        self.codes = list(codes)


def _json_response(
    status: int, body: object, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps(body, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
    )


def top_error(message: str, code: str, **extra: Any) -> dict[str, Any]:
    """One entry of the top-level ``errors`` list (§1.7)."""
    return {"message": message, "extensions": {"code": code, **extra}}


class ShopifySimulator:
    """One simulated Shopify shop speaking the Admin GraphQL API.

    Shop-world controls: :meth:`add_listing`, :meth:`set_stock` (a hand edit in the
    admin), :meth:`add_location`, :meth:`place_order`, :meth:`cancel_order`,
    :meth:`refund`; faults: :meth:`fail_next`, :meth:`expire_credentials`. State is
    readable through :meth:`stock`, :attr:`orders` and the request log :attr:`requests`
    (:meth:`rejections` lists what the API refused).
    """

    key: ClassVar[str] = "shopify"
    # §1.1 [S2] input arrays accept at most 250 items
    max_write_batch: ClassVar[int] = 250
    MAX_INPUT: ClassVar[int] = 250
    # INVALID_QUANTITY_TOO_HIGH: "can't be higher than 1,000,000,000" [S5]
    MAX_QUANTITY: ClassVar[int] = 1_000_000_000
    SHOP: ClassVar[str] = "zaiko-sim.myshopify.com"

    def __init__(
        self,
        *,
        clock: Clock,
        shop: str = SHOP,
        token: str = "shpat_0123456789abcdef0123456789abcdef",
        locations: Sequence[str] = ("本店倉庫",),
        versions: Sequence[str] = STABLE_VERSIONS,
        latency: float = 0.0,
        push_lag: float = 0.0,
        enforce_rate_limits: bool = True,
        facts: Unconfirmed = DEFAULT_FACTS,
    ) -> None:
        """An empty shop with ``locations`` (the first one fulfils orders).

        ``push_lag`` is accepted for the SimulatedChannel signature: Shopify's set is
        live when the mutation answers (it returns the adjustment it made), so it is 0.
        """
        del push_lag
        self._clock = clock
        self.shop = shop
        self.token = token
        self.versions = frozenset(versions)
        self.latency = latency
        self.enforce_rate_limits = enforce_rate_limits
        self.facts = facts
        self._lock = threading.RLock()
        self._transport = httpx.MockTransport(self.handle)
        self._ids = itertools.count(1001)
        self._order_numbers = itertools.count(1001)
        self.locations: list[SimLocation] = []
        for name in locations:
            self.add_location(name)
        self.variants: list[SimVariant] = []
        """Every variant in the order created (``add_listing``, ``remove_listing``)."""
        self._index: _VariantIndex | None = None
        self.orders: dict[str, SimOrder] = {}
        """Every order placed, by name (``#1001``)."""
        self.requests: list[SimRequest] = []
        self._faults: deque[FailKind] = deque()
        self._idempotent: dict[str, tuple[str, dict[str, Any]]] = {}
        self._bucket = facts.bucket_size
        self._bucket_at = clock.monotonic()
        self._valid_token = True

    # ------------------------------------------------------------------ SimulatedChannel

    @property
    def transport(self) -> httpx.BaseTransport:
        """The transport to mount under ``httpx.Client``."""
        return self._transport

    def config(self) -> dict[str, Any]:
        """The ``[malls.shopify]`` table (token included) this simulator accepts."""
        table: dict[str, Any] = {"enabled": True, "shop": self.shop, "access_token": self.token}
        if len(self.locations) > 1:
            table["location"] = self.locations[0].name
        return table

    def sample_code(self, n: int) -> str:
        """A SKU for listing ``n``: ``ZK-1`` is a prefix of ``ZK-10``, as real SKUs are."""
        return f"ZK-{n}"

    def add_listing(self, code: str, qty: int, *, tracked: bool = True) -> str:
        """A product variant with SKU ``code``, stocked at the first location."""
        with self._lock:
            variant = SimVariant(next(self._ids), next(self._ids), code, tracked=tracked)
            variant.levels[self.locations[0].location_id] = qty
            self.variants.append(variant)
            self._index = None
            return code

    def set_stock(self, code: str, quantity: int) -> None:
        """A hand edit in the admin (first location)."""
        with self._lock:
            self._variant(code).levels[self.locations[0].location_id] = quantity

    def stock(self, code: str, location: int = 0) -> int | None:
        """``available`` of SKU ``code`` at location number ``location``; None if unknown."""
        with self._lock:
            found = self._indexed().by_sku.get(code)
            if found is None:
                return None
            return found.levels.get(self.locations[location].location_id)

    def pending_stock(self, code: str) -> int | None:
        """What Shopify shows (sets are live at once)."""
        return self.stock(code)

    def place_order(self, lines: Sequence[tuple[str, int]], *, location: int = 0) -> str | None:
        """A customer order fulfilled from location number ``location``; its name.

        None when stock does not cover it (the variant denies overselling, the default).
        """
        if not lines:
            raise ValueError("an order needs at least one line")
        with self._lock:
            where = self.locations[location].location_id
            wanted: dict[str, int] = {}
            for code, units in lines:
                wanted[code] = wanted.get(code, 0) + units
            for code, units in wanted.items():
                if self._variant(code).levels.get(where, 0) < units:
                    return None
            now = self._clock.now()
            sim_lines = []
            for code, units in lines:
                variant = self._variant(code)
                variant.levels[where] -= units
                sim_lines.append(SimLine(next(self._ids), code, units, variant.variant_id, units))
            name = f"#{next(self._order_numbers)}"
            self.orders[name] = SimOrder(next(self._ids), name, now, now, sim_lines, where)
            return name

    def cancel_order(self, order_number: str) -> None:
        """The shop cancels the order (with a refund and restock, the admin's default)."""
        with self._lock:
            order = self.orders[order_number]
            if order.cancelled is not None:
                raise ValueError(f"order {order_number} is already cancelled")
            now = self._clock.now()
            order.cancelled = order.updated = now
            restock = self.facts.restock_on_cancel
            refund_lines = []
            for line in order.lines:
                if line.current <= 0:
                    continue
                if restock:
                    self._variant_by_id(line.variant_id).levels[order.location_id] += line.current
                kind = "CANCEL" if restock else "NO_RESTOCK"
                refund_lines.append(
                    SimRefundLine(
                        line.line_id, line.current, kind, order.location_id if restock else None
                    )
                )
                line.current = 0
            if self.facts.cancel_refund_lines and refund_lines:
                order.refunds.append(SimRefund(next(self._ids), now, refund_lines))

    def refund(self, order_number: str, sku: str, units: int, restock_type: str = "RETURN") -> None:
        """Refund ``units`` of one line: RETURN/CANCEL put them back, NO_RESTOCK does not."""
        with self._lock:
            order = self.orders[order_number]
            line = next(ln for ln in order.lines if ln.sku == sku)
            if units > line.current:
                raise ValueError("cannot refund more than the line's current quantity")
            now = self._clock.now()
            restocked = restock_type != "NO_RESTOCK"
            if restocked:
                self._variant_by_id(line.variant_id).levels[order.location_id] += units
            line.current -= units
            where = order.location_id if restocked else None
            order.refunds.append(
                SimRefund(
                    next(self._ids), now, [SimRefundLine(line.line_id, units, restock_type, where)]
                )
            )
            order.updated = now

    def expire_credentials(self) -> None:
        """The app is uninstalled: its token stops working (401)."""
        with self._lock:
            self._valid_token = False

    def fail_next(self, kind: FailKind, times: int = 1) -> None:
        """Answer the next ``times`` requests with a fault instead of serving them."""
        with self._lock:
            self._faults.extend([kind] * times)

    def write_batch_sizes(self) -> list[int]:
        """Quantities per ``inventorySetQuantities`` request received, in order."""
        sizes = []
        for request in self.requests:
            if request.root == "inventorySetQuantities" and not request.injected:
                quantities = (request.variables.get("input") or {}).get("quantities") or []
                sizes.append(len(quantities))
        return sizes

    def refused_quantity(self) -> int:
        """Above 1,000,000,000: INVALID_QUANTITY_TOO_HIGH for that quantity [S5]."""
        return self.MAX_QUANTITY + 1

    # ------------------------------------------------------------------ more controls

    def add_location(self, name: str, *, active: bool = True) -> int:
        """Another location (no variant is stocked there until :meth:`stock_at`)."""
        with self._lock:
            location = SimLocation(next(self._ids), name, active)
            self.locations.append(location)
            return location.location_id

    def stock_at(self, code: str, location: int, quantity: int) -> None:
        """Stock SKU ``code`` at location number ``location``."""
        with self._lock:
            self._variant(code).levels[self.locations[location].location_id] = quantity

    def remove_listing(self, code: str) -> None:
        """Staff delete the variant: its inventory item goes with it (1:1)."""
        with self._lock:
            self.variants.remove(self._variant(code))
            self._index = None

    def change_sku(self, code: str, new: str) -> None:
        """Staff retype a variant's SKU (its inventory item stays the same)."""
        with self._lock:
            self._variant(code).sku = new
            self._index = None

    def add_duplicate(self, code: str, qty: int) -> None:
        """A second variant carrying the same SKU (Shopify allows it)."""
        self.add_listing(code, qty)

    def spend_points(self, points: float) -> None:
        """Another process of the same app spends ``points`` of the shared bucket (§1.7)."""
        with self._lock:
            self._restore()
            self._bucket = max(self._bucket - points, 0.0)

    def leave_points(self, points: float) -> None:
        """Other processes of the same app leave only ``points`` in the bucket (§1.7)."""
        with self._lock:
            self._restore()
            self._bucket = min(self._bucket, max(points, 0.0))

    def rejections(self) -> list[SimRequest]:
        """Requests the API refused (an error status, top-level errors or userErrors)."""
        return [r for r in self.requests if (r.status >= 400 or r.codes) and not r.injected]

    # ------------------------------------------------------------------ the transport

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one request as Shopify would."""
        request.read()
        if self.latency > 0:
            self._clock.sleep(self.latency)
        with self._lock:
            log = SimRequest(at=self._clock.now(), path=request.url.path)
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
                    response = answer.response
                    log.codes.extend(answer.codes)
            log.status = response.status_code
            return response

    def _serve(self, request: httpx.Request, log: SimRequest) -> httpx.Response:
        version = self._route(request)
        if request.headers.get("X-Shopify-Access-Token") != self.token or not self._valid_token:
            raise _Answer(_json_response(401, {"errors": INVALID_TOKEN}), ["401"])
        try:
            body = json.loads(request.content or b"{}")
            query = body["query"]
            variables = body.get("variables") or {}
            if not isinstance(query, str) or not isinstance(variables, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            raise _Answer(_json_response(400, {"errors": "Bad Request"}), ["400"]) from None
        log.query, log.variables = query, variables
        try:
            operation = parse(query)
        except GraphQLSyntaxError as err:
            raise self._errors([top_error(str(err), "PARSE_ERROR")]) from None
        log.root = operation.selections[0].name
        cost = (
            MUTATION_COST
            if operation.kind == "mutation"
            else query_cost(operation.selections, variables)
        )
        log.cost = cost
        self._admit(cost)
        executor = schema.Executor(self, version, variables, log)
        data = executor.run(operation)
        if executor.errors:
            raise self._errors(executor.errors, cost, data)
        log.codes.extend(executor.user_error_codes)
        actual = (
            cost
            if operation.kind == "mutation"
            else actual_cost(operation.selections, data, variables)
        )
        self._refund(cost - actual)
        log.actual_cost = actual
        return _json_response(200, {"data": data, "extensions": self._extensions(cost, actual)})

    def _route(self, request: httpx.Request) -> str:
        # §1.1: POST https://{shop}.myshopify.com/admin/api/{version}/graphql.json
        parts = request.url.path.strip("/").split("/")
        ok_path = len(parts) == 4 and parts[:2] == ["admin", "api"] and parts[3] == "graphql.json"
        if request.url.host != self.shop or not ok_path or parts[2] not in self.versions:
            raise _Answer(_json_response(404, {"errors": "Not Found"}), ["404"])
        if request.method != "POST":
            raise _Answer(_json_response(405, {"errors": "Method Not Allowed"}), ["405"])
        return parts[2]

    def _errors(self, errors: list[dict[str, Any]], cost: int = 0, data: object = None) -> _Answer:
        codes = [str(e.get("extensions", {}).get("code", "")) for e in errors]
        body: dict[str, Any] = {"errors": errors, "extensions": self._extensions(cost, cost)}
        if data is not None:
            body["data"] = data
        return _Answer(_json_response(200, body), codes)

    # ------------------------------------------------------------------ cost

    def _restore(self) -> None:
        now = self._clock.monotonic()
        self._bucket = min(
            self.facts.bucket_size, self._bucket + (now - self._bucket_at) * self.facts.restore_rate
        )
        self._bucket_at = now

    def _admit(self, cost: int) -> None:
        """The single-query cap, then the leaky bucket (§1.6, §1.7)."""
        self._restore()
        if cost > self.facts.max_query_cost:
            message = (
                f"Query cost is {cost}, which exceeds the single query max cost limit "
                f"({self.facts.max_query_cost})."
            )
            error = top_error(
                message, "MAX_COST_EXCEEDED", cost=cost, maxCost=self.facts.max_query_cost
            )
            raise self._errors([error], 0)
        if self.enforce_rate_limits and cost > self._bucket:
            body = {
                "errors": [top_error(THROTTLED_MESSAGE, "THROTTLED", documentation=THROTTLED_DOC)],
                "extensions": self._extensions(cost, None),
            }
            raise _Answer(_json_response(self.facts.throttle_status, body), ["THROTTLED"])
        self._bucket -= cost

    def _refund(self, points: int) -> None:
        """Give back what an answer did not use of the cost reserved for it.

        §1.7: "The requested cost is reserved up front and the unused part is refunded"
        [S8] https://shopify.dev/docs/api/usage/rate-limits (actualQueryCost, [S14]).
        """
        self._bucket = min(self.facts.bucket_size, self._bucket + max(points, 0))

    def _extensions(self, requested: int, actual: int | None) -> dict[str, Any]:
        # §1.7: extensions.cost on every answer [S8][S14]
        return {
            "cost": {
                "requestedQueryCost": requested,
                "actualQueryCost": actual,
                "throttleStatus": {
                    "maximumAvailable": self.facts.bucket_size,
                    "currentlyAvailable": int(self._bucket),
                    "restoreRate": self.facts.restore_rate,
                },
            }
        }

    def _fault(self, kind: FailKind) -> httpx.Response:
        if kind == "401":
            return _json_response(401, {"errors": INVALID_TOKEN})
        if kind == "429":
            body = {
                "errors": [top_error(THROTTLED_MESSAGE, "THROTTLED", documentation=THROTTLED_DOC)]
            }
            return _json_response(429, body, {"Retry-After": "1.0"})
        if kind == "503":
            return _json_response(503, {"errors": "Service Unavailable"})
        return _json_response(
            500, {"errors": [top_error("Internal error", "INTERNAL_SERVER_ERROR")]}
        )

    # ------------------------------------------------------------------ lookups for the schema

    def _indexed(self) -> _VariantIndex:
        """The variants by SKU and by id, built again after a variant is added or changed.

        A 50,000-variant shop is looked up thousands of times a cycle: a walk of the list
        each time made the simulator, not the bot, the benchmark's bottleneck.
        """
        index = getattr(self, "_index", None)  # (a state file pickled before it existed)
        if index is None:
            index = self._index = _VariantIndex(self.variants)
        return index

    def _variant(self, code: str) -> SimVariant:
        found = self._indexed().by_sku.get(code)
        if found is None:
            raise KeyError(f"no variant with SKU {code!r} in the simulated shop")
        return found

    def _variant_by_id(self, variant_id: int | None) -> SimVariant:
        found = self._indexed().by_variant.get(variant_id)
        if found is None:
            raise KeyError(f"no variant {variant_id}")
        return found

    def with_skus(self, wanted: Sequence[str], *, fuzzy: bool) -> list[SimVariant]:
        """Variants whose SKU is one of ``wanted`` (or, ``fuzzy``, starts with one, any case)."""
        index, found = self._indexed(), set[int]()
        for sku in wanted:
            found.update(index.at.get(sku, ()))
            if fuzzy:
                low = sku.lower()
                i = bisect.bisect_left(index.lowered, (low, -1))
                while i < len(index.lowered) and index.lowered[i][0].startswith(low):
                    found.add(index.lowered[i][1])
                    i += 1
        return [self.variants[n] for n in sorted(found)]

    def item(self, item_id: int) -> SimVariant | None:
        """The variant whose inventory item is ``item_id``."""
        return self._indexed().by_item.get(item_id)

    def location(self, location_id: int) -> SimLocation | None:
        """The location ``location_id``."""
        return next((loc for loc in self.locations if loc.location_id == location_id), None)

    def now(self) -> datetime:
        """The simulator's clock."""
        return self._clock.now()

    def remember(self, key: str, fingerprint: str, payload: dict[str, Any]) -> None:
        """Keep an idempotent mutation's answer for replays of the same key."""
        self._idempotent[key] = (fingerprint, payload)

    def replay(self, key: str) -> tuple[str, dict[str, Any]] | None:
        """The first answer under ``key`` (and the variables it was given)."""
        return self._idempotent.get(key)


def iso(when: datetime) -> str:
    """ISO 8601 in UTC with ``Z``, as Shopify's DateTime scalar."""
    return when.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def cursor(index: int) -> str:
    """An opaque cursor for position ``index``."""
    return base64.b64encode(f"cursor:{index}".encode()).decode()


def uncursor(value: object) -> int:
    """The position an opaque cursor stands for (-1 for none)."""
    if not isinstance(value, str):
        return -1
    try:
        return int(base64.b64decode(value).decode().split(":", 1)[1])
    except (ValueError, IndexError):
        return -1


class _VariantIndex:
    """Variants by SKU (the first created of those sharing one), variant id and item id."""

    __slots__ = ("at", "by_item", "by_sku", "by_variant", "lowered")

    def __init__(self, variants: Sequence[SimVariant]) -> None:
        self.by_sku = {v.sku: v for v in reversed(variants)}
        self.at: dict[str, list[int]] = {}
        """SKU → the positions of the variants carrying it."""
        for n, v in enumerate(variants):
            self.at.setdefault(v.sku, []).append(n)
        self.lowered = sorted((v.sku.lower(), n) for n, v in enumerate(variants))
        """(lower-cased SKU, position), sorted: a prefix search is a bisection."""
        self.by_variant: dict[int | None, SimVariant] = {v.variant_id: v for v in variants}
        self.by_item = {v.item_id: v for v in variants}
