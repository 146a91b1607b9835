"""The part of the Admin GraphQL schema the simulator serves, and its execution.

Objects are dicts with ``__typename``; a field with arguments is a callable
``(args, field) -> value``. :func:`project` walks the selection set: a field the
object does not have is refused (UNDEFINED_FIELD, §1.7), so the simulator answers
only what Shopify would.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.sandbox.simulators.shopify.graphql import Field, Operation, resolve
from bot.sandbox.simulators.shopify.world import (
    SimLine,
    SimLocation,
    SimOrder,
    SimRefund,
    SimRefundLine,
    SimRequest,
    SimVariant,
)

if TYPE_CHECKING:
    from bot.sandbox.simulators.shopify.core import ShopifySimulator

Obj = dict[str, Any]
Resolver = Callable[[Mapping[str, Any], Field], Any]

CHANGE_FROM_SINCE = "2026-01"  # §1.4 [S6]
CHANGE_FROM_REQUIRED = "2026-04"  # §1.4 [S6]: compareQuantity removed, @idempotent mandatory
STALE_NEW = "CHANGE_FROM_QUANTITY_STALE"
STALE_OLD = "COMPARE_QUANTITY_STALE"


class TopLevelError(Exception):
    """An error that replaces ``data`` (validation, variables, input size)."""

    def __init__(self, message: str, code: str, **extra: Any) -> None:
        super().__init__(message)
        self.entry = {"message": message, "extensions": {"code": code, **extra}}


def check_input_size(size: int) -> None:
    """[S2] an input array holds at most 250 items (the error code is UNCONFIRMED)."""
    if size > 250:
        raise TopLevelError(
            f"The input array size of {size} is greater than the maximum allowed of 250.",
            "MAX_INPUT_SIZE_EXCEEDED",
        )


def gid(kind: str, number: int) -> str:
    """``gid://shopify/<kind>/<number>`` (§1.3)."""
    return f"gid://shopify/{kind}/{number}"


def gid_number(value: object, kind: str) -> int | None:
    """The number of a gid of ``kind``, None for anything else."""
    prefix = f"gid://shopify/{kind}/"
    if isinstance(value, str) and value.startswith(prefix) and value[len(prefix) :].isdigit():
        return int(value[len(prefix) :])
    return None


def project(obj: Obj, fields: Sequence[Field], variables: Mapping[str, Any]) -> Obj:
    """The response object for ``fields`` selected on ``obj``."""
    out: Obj = {}
    for f in fields:
        if f.on:
            # An inline fragment applies to objects of its type (``nodes`` checks the
            # fragment's fields against its type before anything is answered).
            if obj["__typename"] == f.on:
                out.update(project(obj, f.selections, variables))
            continue
        if f.name == "__typename":
            out[f.key] = obj["__typename"]
            continue
        if f.name not in obj:
            raise TopLevelError(
                f"Field '{f.name}' doesn't exist on type '{obj['__typename']}'",
                "UNDEFINED_FIELD",
                typeName=obj["__typename"],
                fieldName=f.name,
            )
        value = obj[f.name]
        if callable(value):
            value = value({k: resolve(v, variables) for k, v in f.args.items()}, f)
        out[f.key] = _shape(value, f, variables)
    return out


def _shape(value: Any, f: Field, variables: Mapping[str, Any]) -> Any:
    if value is None:
        return None
    if isinstance(value, list):
        return [_shape(v, f, variables) for v in value]
    if isinstance(value, dict):
        if not f.selections:
            raise TopLevelError(
                f"Field must have selections (field '{f.name}' returns {value['__typename']} "
                "but has no selections)",
                "SELECTION_MISMATCH",
            )
        return project(value, f.selections, variables)
    if f.selections:
        raise TopLevelError(
            f"Selections can't be made on scalars (field '{f.name}')", "SELECTION_MISMATCH"
        )
    return value


def connection(items: Sequence[Any], args: Mapping[str, Any], make: Callable[[Any], Obj]) -> Obj:
    """A cursor connection over ``items`` (``first`` ≤ 250, ``after``) [S2]."""
    from bot.sandbox.simulators.shopify.core import cursor, uncursor

    first = args.get("first")
    if not isinstance(first, int):
        raise TopLevelError("you must provide one of first or last", "BAD_REQUEST")
    if first > 250:
        raise TopLevelError(
            f"The first argument exceeds the maximum of 250 ({first})", "MAX_PAGE_SIZE"
        )
    start = uncursor(args.get("after")) + 1
    page = [(n, items[n]) for n in range(start, min(start + first, len(items)))]
    nodes = [make(item) for _n, item in page]
    return {
        "__typename": "Connection",
        "nodes": nodes,
        "edges": [
            {"__typename": "Edge", "cursor": cursor(n), "node": node}
            for (n, _item), node in zip(page, nodes, strict=True)
        ],
        "pageInfo": {
            "__typename": "PageInfo",
            "hasNextPage": start + first < len(items),
            "hasPreviousPage": start > 0,
            "startCursor": cursor(page[0][0]) if page else None,
            "endCursor": cursor(page[-1][0]) if page else None,
        },
    }


# --------------------------------------------------------------------------- search


_TERM_RE = re.compile(r"""(\w+):(>=|<=|>|<)?("(?:[^"\\]|\\.)*"|'[^']*'|\S+)""")


def search_terms(query: str) -> list[tuple[str, str, str]]:
    """``field:op value`` terms of a Shopify search query (search syntax)."""
    terms = []
    for match in _TERM_RE.finditer(query or ""):
        name, op, raw = match.group(1), match.group(2) or "", match.group(3)
        if raw.startswith('"'):
            raw = json.loads(raw)
        elif raw.startswith("'"):
            raw = raw[1:-1]
        terms.append((name, op, raw))
    return terms


def _when(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _compare(left: datetime, op: str, right: datetime) -> bool:
    return {
        ">=": left >= right,
        "<=": left <= right,
        ">": left > right,
        "<": left < right,
        "": left == right,
    }[op]


# --------------------------------------------------------------------------- executor


class Executor:
    """Runs one operation against the simulated shop."""

    def __init__(
        self,
        sim: ShopifySimulator,
        version: str,
        variables: Mapping[str, Any],
        log: SimRequest,
    ) -> None:
        self.sim = sim
        self.version = version
        self.variables = variables
        self.log = log
        self.errors: list[dict[str, Any]] = []
        self.user_error_codes: list[str] = []

    def run(self, operation: Operation) -> Obj | None:
        """``data`` of the operation, or None with :attr:`errors` set."""
        root = self._mutation_root() if operation.kind == "mutation" else self._query_root()
        try:
            if operation.kind == "mutation":
                _check_payload_fields(operation.selections)
            return project(root, operation.selections, self.variables)
        except TopLevelError as err:
            self.errors.append(err.entry)
            return None

    # ------------------------------------------------------------------ objects

    def _query_root(self) -> Obj:
        sim = self.sim
        return {
            "__typename": "QueryRoot",
            "shop": {
                "__typename": "Shop",
                "id": gid("Shop", 1),
                "name": "ざいこ雑貨店（シミュレーター）",
                "myshopifyDomain": sim.shop,
            },
            "locations": lambda args, f: connection(
                [loc for loc in sim.locations if loc.active or args.get("includeInactive")],
                args,
                self._location,
            ),
            "productVariants": lambda args, f: connection(
                self._variants(str(args.get("query") or "")), args, self._variant
            ),
            "orders": lambda args, f: connection(self._orders(args), args, self._order),
            "nodes": lambda args, f: self._nodes(args, f),
            "order": lambda args, f: self._order_by_id(args.get("id")),
        }

    def _mutation_root(self) -> Obj:
        from bot.sandbox.simulators.shopify.inventory import set_quantities

        return {
            "__typename": "Mutation",
            "inventorySetQuantities": lambda args, f: set_quantities(self, args, f),
        }

    @staticmethod
    def _location(loc: SimLocation) -> Obj:
        return {
            "__typename": "Location",
            "id": gid("Location", loc.location_id),
            "name": loc.name,
            "isActive": loc.active,
        }

    def _variant(self, variant: SimVariant) -> Obj:
        return {
            "__typename": "ProductVariant",
            "id": gid("ProductVariant", variant.variant_id),
            "sku": variant.sku,
            "title": "Default Title",
            "inventoryItem": self.item(variant),
        }

    def item(self, variant: SimVariant) -> Obj:
        """An InventoryItem object."""

        def level(args: Mapping[str, Any], f: Field) -> Obj | None:
            where = gid_number(args.get("locationId"), "Location")
            if where is None or where not in variant.levels:
                return None
            available = variant.levels[where]
            return {
                "__typename": "InventoryLevel",
                "id": gid("InventoryLevel", variant.item_id * 1000 + where),
                "quantities": lambda a, _f: [
                    {
                        "__typename": "InventoryQuantity",
                        "name": n,
                        "quantity": _quantity(n, available),
                    }
                    for n in a.get("names") or []
                ],
            }

        return {
            "__typename": "InventoryItem",
            "id": gid("InventoryItem", variant.item_id),
            "sku": variant.sku,
            "tracked": variant.tracked,
            "inventoryLevel": level,
        }

    def _nodes(self, args: Mapping[str, Any], f: Field) -> list[Obj | None]:
        """``nodes(ids:)``: the object of each id, in order; null for an id not found.

        https://shopify.dev/docs/api/admin-graphql/latest/queries/nodes — ``ids: [ID!]!``,
        returns ``[Node]!`` (any object implementing Node, selected with inline
        fragments). At most 250 ids: input arrays are capped at 250
        (https://shopify.dev/docs/api/usage/limits), the changelog's example of a
        refused request is ``nodes(ids: [… "id251", "id252"])``
        (https://shopify.dev/changelog/graphql-input-objects-limited-to-250-items).
        An id of another shop, or of an object deleted, answers null (Relay: a node
        not found is null). The simulator serves InventoryItem, ProductVariant and
        Location nodes.
        """
        ids = args.get("ids")
        if not isinstance(ids, list):
            raise TopLevelError("Argument 'ids' on Field 'nodes' is required", "MISSING_REQUIRED")
        check_input_size(len(ids))
        self._check_node_selections(f)
        items = {v.item_id: v for v in self.sim.variants}
        variants = {v.variant_id: v for v in self.sim.variants}
        found: list[Obj | None] = []
        for value in ids:
            match = _GID_RE.fullmatch(value) if isinstance(value, str) else None
            if match is None:
                # UNCONFIRMED wording; a malformed id is refused, not answered null.
                raise TopLevelError(f"Invalid global id '{value}'", "INVALID_VARIABLE")
            kind, number = match.group(1), int(match.group(2))
            if kind == "InventoryItem" and number in items:
                found.append(self.item(items[number]))
            elif kind == "ProductVariant" and number in variants:
                found.append(self._variant(variants[number]))
            elif kind == "Location" and (where := self.sim.location(number)) is not None:
                found.append(self._location(where))
            else:
                found.append(None)
        return found

    def _check_node_selections(self, f: Field) -> None:
        """The ``Node`` interface has only ``id``; each fragment is checked on its type."""
        for sub in f.selections:
            if sub.on:
                probe = self._probes().get(sub.on)
                if probe is None:
                    raise TopLevelError(
                        f"No such type {sub.on}, so it can't be a fragment condition",
                        "UNDEFINED_TYPE",
                    )
                project(probe, sub.selections, self.variables)
            elif sub.name not in ("id", "__typename"):
                raise TopLevelError(
                    f"Field '{sub.name}' doesn't exist on type 'Node'",
                    "UNDEFINED_FIELD",
                    typeName="Node",
                    fieldName=sub.name,
                )

    def _probes(self) -> dict[str, Obj]:
        """One object of each type ``nodes`` serves, stocked everywhere, to check fields on."""
        probe = SimVariant(0, 0, "", levels=_Everywhere())
        return {
            "InventoryItem": self.item(probe),
            "ProductVariant": self._variant(probe),
            "Location": self._location(SimLocation(0, "")),
        }

    def _variants(self, query: str) -> Sequence[SimVariant]:
        wanted = [value for name, _op, value in search_terms(query) if name == "sku"]
        if not query.strip():
            return self.sim.variants
        # §1.2: tokenised search; the fuzzy reading also finds longer SKUs
        return self.sim.with_skus(wanted, fuzzy=self.sim.facts.fuzzy_sku_search)

    def _orders(self, args: Mapping[str, Any]) -> list[SimOrder]:
        orders = list(self.sim.orders.values())
        for name, op, value in search_terms(str(args.get("query") or "")):
            if name not in ("updated_at", "created_at"):
                continue
            when = _when(value)
            if when is None:
                return []  # an unreadable date matches nothing
            attr = "updated" if name == "updated_at" else "created"
            orders = [o for o in orders if _compare(getattr(o, attr), op, when)]
        key = str(args.get("sortKey") or "ID")
        if key == "UPDATED_AT":
            orders.sort(key=lambda o: (o.updated, o.order_id))
        elif key == "CREATED_AT":
            orders.sort(key=lambda o: (o.created, o.order_id))
        else:
            orders.sort(key=lambda o: o.order_id)
        if args.get("reverse"):
            orders.reverse()
        return orders

    def _order_by_id(self, value: object) -> Obj | None:
        number = gid_number(value, "Order")
        found = [o for o in self.sim.orders.values() if o.order_id == number]
        return self._order(found[0]) if found else None

    def _order(self, order: SimOrder) -> Obj:
        from bot.sandbox.simulators.shopify.core import iso

        lines = {line.line_id: line for line in order.lines}
        return {
            "__typename": "Order",
            "id": gid("Order", order.order_id),
            "name": order.name,
            "createdAt": iso(order.created),
            "updatedAt": iso(order.updated),
            "cancelledAt": iso(order.cancelled) if order.cancelled else None,
            "cancelReason": "CUSTOMER" if order.cancelled else None,
            "test": False,
            "displayFinancialStatus": _financial(order),
            "displayFulfillmentStatus": "UNFULFILLED",
            "lineItems": lambda args, f: connection(order.lines, args, self._line),
            "refunds": lambda args, f: [
                self._refund(r, lines) for r in order.refunds[: args.get("first") or None]
            ],
        }

    def _line(self, line: SimLine) -> Obj:
        variant = next((v for v in self.sim.variants if v.variant_id == line.variant_id), None)
        return {
            "__typename": "LineItem",
            "id": gid("LineItem", line.line_id),
            "sku": line.sku,
            "name": f"商品 {line.sku}",
            "quantity": line.quantity,
            "currentQuantity": line.current,
            "variant": self._variant(variant) if variant else None,
        }

    def _refund(self, refund: SimRefund, lines: Mapping[int, SimLine]) -> Obj:
        from bot.sandbox.simulators.shopify.core import iso

        def refund_line(item: SimRefundLine) -> Obj:
            where = self.sim.location(item.location_id) if item.location_id else None
            return {
                "__typename": "RefundLineItem",
                "quantity": item.quantity,
                "restockType": item.restock_type,
                "restocked": item.restock_type != "NO_RESTOCK",
                "location": self._location(where) if where else None,
                "lineItem": self._line(lines[item.line_id]),
            }

        return {
            "__typename": "Refund",
            "id": gid("Refund", refund.refund_id),
            "createdAt": iso(refund.at),
            "refundLineItems": lambda args, f: connection(refund.lines, args, refund_line),
        }


_GID_RE = re.compile(r"gid://shopify/(\w+)/(\d+)")


class _Everywhere(dict[int, int]):
    """Levels of a probe item: stocked (0) at any location asked, so fields nest."""

    def __contains__(self, key: object) -> bool:
        return True

    def __missing__(self, key: int) -> int:
        return 0


def _quantity(name: str, available: int) -> int:
    # No reservations in the simulator: on_hand equals available, the rest are 0.
    return available if name in ("available", "on_hand") else 0


def _financial(order: SimOrder) -> str:
    if not order.refunds:
        return "PAID"
    return "REFUNDED" if all(line.current == 0 for line in order.lines) else "PARTIALLY_REFUNDED"


PAYLOAD_FIELDS = {
    "inventorySetQuantities": {"inventoryAdjustmentGroup", "userErrors", "__typename"},
}


def _check_payload_fields(selections: Sequence[Field]) -> None:
    """A mutation is validated before it runs: an unknown payload field changes nothing."""
    for f in selections:
        allowed = PAYLOAD_FIELDS.get(f.name)
        if allowed is None:
            raise TopLevelError(
                f"Field '{f.name}' doesn't exist on type 'Mutation'",
                "UNDEFINED_FIELD",
                typeName="Mutation",
                fieldName=f.name,
            )
        for sub in f.selections:
            if sub.name not in allowed:
                raise TopLevelError(
                    f"Field '{sub.name}' doesn't exist on type 'InventorySetQuantitiesPayload'",
                    "UNDEFINED_FIELD",
                    typeName="InventorySetQuantitiesPayload",
                    fieldName=sub.name,
                )
