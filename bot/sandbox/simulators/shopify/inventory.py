"""``inventorySetQuantities`` by API version (§1.4): compare-and-set and idempotency.

- before 2026-01: each quantity needs ``compareQuantity`` unless the input says
  ``ignoreCompareQuantity: true`` (else COMPARE_QUANTITY_REQUIRED); ``changeFromQuantity``
  and ``@idempotent`` do not exist;
- 2026-01: ``changeFromQuantity`` (optional; ``null`` skips the check) and an optional
  ``@idempotent(key:)``; ``compareQuantity`` still works;
- from 2026-04: ``changeFromQuantity`` must be present on every quantity,
  ``compareQuantity``/``ignoreCompareQuantity`` are gone and ``@idempotent`` is required.

The mutation is all-or-nothing: any userError and nothing is set. A replay of an
idempotency key with the same input returns the first answer without setting again;
with another input it is IDEMPOTENCY_KEY_PARAMETER_MISMATCH [S7].
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bot.sandbox.simulators.shopify.graphql import Field, resolve
from bot.sandbox.simulators.shopify.schema import (
    CHANGE_FROM_REQUIRED,
    CHANGE_FROM_SINCE,
    STALE_NEW,
    STALE_OLD,
    Obj,
    TopLevelError,
    check_input_size,
    gid,
    gid_number,
)

if TYPE_CHECKING:
    from bot.sandbox.simulators.shopify.schema import Executor

NAMES = ("available", "on_hand")  # INVALID_NAME: "must be either 'available' or 'on_hand'"
BASE_KEYS = {"inventoryItemId", "locationId", "quantity"}


def _input_keys(version: str) -> tuple[set[str], set[str]]:
    """Input fields and quantity fields the version's schema has (§1.4)."""
    top = {"name", "reason", "referenceDocumentUri", "quantities"}
    if version < CHANGE_FROM_SINCE:
        return top | {"ignoreCompareQuantity"}, BASE_KEYS | {"compareQuantity"}
    if version < CHANGE_FROM_REQUIRED:
        return top | {"ignoreCompareQuantity"}, BASE_KEYS | {
            "compareQuantity",
            "changeFromQuantity",
        }
    return top, BASE_KEYS | {"changeFromQuantity"}


def _invalid(path: str, problem: str) -> TopLevelError:
    return TopLevelError(
        "Variable $input of type InventorySetQuantitiesInput! was provided invalid value "
        f"for {path} ({problem})",
        "INVALID_VARIABLE",
    )


def _check_shape(version: str, data: Mapping[str, Any], field: Field) -> None:
    """Schema-level checks, refused before anything runs (top-level errors)."""
    new = version >= CHANGE_FROM_SINCE
    if "idempotent" in field.directives and not new:
        raise TopLevelError("Directive 'idempotent' is not defined", "UNDEFINED_DIRECTIVE")
    if version >= CHANGE_FROM_REQUIRED and "idempotent" not in field.directives:
        # [S6] "calling these mutations without an idempotency directive will result in
        # an error at runtime" (the error's exact shape is UNCONFIRMED).
        raise TopLevelError(
            "The @idempotent directive is required for this mutation.", "BAD_REQUEST"
        )
    top_keys, quantity_keys = _input_keys(version)
    for key in data:
        if key not in top_keys:
            raise _invalid(key, "Field is not defined on InventorySetQuantitiesInput")
    for key in ("name", "reason", "quantities"):
        if data.get(key) is None:
            raise _invalid(key, "Expected value to not be null")
    _check_quantities(version, data["quantities"], quantity_keys)


def _check_quantities(version: str, quantities: object, quantity_keys: set[str]) -> None:
    if not isinstance(quantities, list):
        raise _invalid("quantities", "Expected a list")
    check_input_size(len(quantities))
    for n, quantity in enumerate(quantities):
        if not isinstance(quantity, dict):
            raise _invalid(f"quantities.{n}", "Expected an object")
        for key in quantity:
            if key not in quantity_keys:
                raise _invalid(
                    f"quantities.{n}.{key}", "Field is not defined on InventoryQuantityInput"
                )
        for key in BASE_KEYS:
            if quantity.get(key) is None:
                raise _invalid(f"quantities.{n}.{key}", "Expected value to not be null")
        if version >= CHANGE_FROM_REQUIRED and "changeFromQuantity" not in quantity:
            # [S5] "This field is mandatory - you must explicitly pass in a value (even if
            # it's null), or else you will get an error."
            raise _invalid(f"quantities.{n}.changeFromQuantity", "Expected value to be present")


def _error(code: str, message: str, *path: object) -> dict[str, Any]:
    return {
        "__typename": "InventorySetQuantitiesUserError",
        "code": code,
        "message": message,
        "field": ["input", *[str(p) for p in path]],
    }


def _quantity_errors(
    ex: Executor, data: Mapping[str, Any], n: int, q: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The userErrors of quantity ``n`` (documented codes [S5])."""
    item = ex.sim.item(gid_number(q["inventoryItemId"], "InventoryItem") or -1)
    where = gid_number(q["locationId"], "Location")
    if item is None:
        return [
            _error(
                "INVALID_INVENTORY_ITEM",
                "The specified inventory item could not be found.",
                "quantities",
                n,
                "inventoryItemId",
            )
        ]
    if where is None or ex.sim.location(where) is None:
        return [
            _error(
                "INVALID_LOCATION",
                "The specified location could not be found.",
                "quantities",
                n,
                "locationId",
            )
        ]
    if where not in item.levels:
        return [
            _error(
                "ITEM_NOT_STOCKED_AT_LOCATION",
                "The specified inventory item is not stocked at the location.",
                "quantities",
                n,
                "inventoryItemId",
            )
        ]
    value = q["quantity"]
    if value > ex.sim.MAX_QUANTITY:
        return [
            _error(
                "INVALID_QUANTITY_TOO_HIGH",
                "The total quantity can't be higher than 1,000,000,000.",
                "quantities",
                n,
                "quantity",
            )
        ]
    if value < -ex.sim.MAX_QUANTITY:
        return [
            _error(
                "INVALID_QUANTITY_TOO_LOW",
                "The total quantity can't be lower than -1,000,000,000.",
                "quantities",
                n,
                "quantity",
            )
        ]
    return _compare_errors(ex.version, data, n, q, item.levels[where])


def _compare_errors(
    version: str, data: Mapping[str, Any], n: int, q: Mapping[str, Any], current: int
) -> list[dict[str, Any]]:
    if version >= CHANGE_FROM_SINCE and "changeFromQuantity" in q:
        expected = q["changeFromQuantity"]
        if expected is not None and expected != current:
            return [
                _error(
                    STALE_NEW,
                    "The changeFromQuantity value does not match persisted value.",
                    "quantities",
                    n,
                    "changeFromQuantity",
                )
            ]
        return []
    if q.get("compareQuantity") is not None:
        if q["compareQuantity"] != current:
            return [
                _error(
                    STALE_OLD,
                    "The compareQuantity value does not match persisted value.",
                    "quantities",
                    n,
                    "compareQuantity",
                )
            ]
        return []
    if data.get("ignoreCompareQuantity") is True:
        return []
    return [
        _error(
            "COMPARE_QUANTITY_REQUIRED",
            "The compareQuantity argument must be given to each quantity or ignored using ignoreCompareQuantity.",
            "quantities",
            n,
            "compareQuantity",
        )
    ]


def _user_errors(ex: Executor, data: Mapping[str, Any]) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    if data["name"] not in NAMES:
        errors.append(
            _error(
                "INVALID_NAME", "The quantity name must be either 'available' or 'on_hand'.", "name"
            )
        )
    if data["reason"] not in ex.sim.facts.reasons:
        errors.append(_error("INVALID_REASON", "The specified reason is invalid.", "reason"))
    seen: set[tuple[object, object]] = set()
    for n, q in enumerate(data["quantities"]):
        pair = (q["inventoryItemId"], q["locationId"])
        if pair in seen:
            errors.append(
                _error(
                    "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
                    "The combination of inventoryItemId and locationId must be unique.",
                    "quantities",
                    n,
                )
            )
            continue
        seen.add(pair)
        errors.extend(_quantity_errors(ex, data, n, q))
    return errors


def _apply(ex: Executor, data: Mapping[str, Any]) -> Obj:
    from bot.sandbox.simulators.shopify.core import iso

    changes = []
    for q in data["quantities"]:
        item = ex.sim.item(gid_number(q["inventoryItemId"], "InventoryItem") or -1)
        where = gid_number(q["locationId"], "Location")
        assert item is not None and where is not None
        delta = q["quantity"] - item.levels[where]
        item.levels[where] = q["quantity"]
        changes.append(
            {
                "__typename": "InventoryChange",
                "name": data["name"],
                "delta": delta,
                "quantityAfterChange": q["quantity"],
                "item": ex.item(item),
                "location": {"__typename": "Location", "id": gid("Location", where)},
            }
        )
    return {
        "__typename": "InventoryAdjustmentGroup",
        "id": gid("InventoryAdjustmentGroup", len(ex.sim.requests)),
        "createdAt": iso(ex.sim.now()),
        "reason": data["reason"],
        "changes": changes,
    }


def set_quantities(ex: Executor, args: Mapping[str, Any], field: Field) -> Obj:
    """Run ``inventorySetQuantities(input:)``; the payload object."""
    data = args.get("input")
    if not isinstance(data, dict):
        raise _invalid("input", "Expected value to not be null")
    _check_shape(ex.version, data, field)
    key = resolve(field.directives.get("idempotent", {}).get("key"), ex.variables)
    fingerprint = json.dumps(data, sort_keys=True)
    if isinstance(key, str):
        known = ex.sim.replay(key)
        if known is not None:
            if known[0] == fingerprint:
                return known[1]
            mismatch = _error(
                "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
                "The same idempotency key cannot be used with different operation parameters.",
            )
            mismatch["field"] = None
            ex.user_error_codes.append(mismatch["code"])
            return {
                "__typename": "InventorySetQuantitiesPayload",
                "inventoryAdjustmentGroup": None,
                "userErrors": [mismatch],
            }
    errors = _user_errors(ex, data)
    payload: Obj = {
        "__typename": "InventorySetQuantitiesPayload",
        "inventoryAdjustmentGroup": None if errors else _apply(ex, data),
        "userErrors": errors,
    }
    ex.user_error_codes.extend(e["code"] for e in errors)
    if isinstance(key, str):
        ex.sim.remember(key, fingerprint, payload)
    return payload
