"""LWA token endpoint and Listings Items API 2021-08-01 of the Amazon simulator."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import httpx

from bot.sandbox.simulators.amazon.state import (
    FBA_CHANNEL,
    MARKETPLACE_ID,
    MERCHANT,
    Refused,
    SimListing,
    errors_body,
    iso,
    json_response,
)

if TYPE_CHECKING:
    from bot.sandbox.simulators.amazon.core import AmazonSimulator

# [SPM] enums of the listings model
INCLUDED_GET = frozenset(
    {
        "summaries",
        "attributes",
        "issues",
        "offers",
        "fulfillmentAvailability",
        "procurement",
        "relationships",
        "productTypes",
    }
)
INCLUDED_PATCH = frozenset({"identifiers", "issues"})
PATCH_OPS = frozenset({"add", "replace", "merge", "delete"})
QUANTITY_PATH = "/attributes/fulfillment_availability"
GENERIC_PRODUCT_TYPE = "PRODUCT"  # docs/api/amazon.md §2: a generic offer-only type
SEARCH_PAGE_MAX = 20  # [SPM] searchListingsItems pageSize ≤ 20


# --------------------------------------------------------------------------- LWA


def lwa_token(sim: AmazonSimulator, request: httpx.Request) -> httpx.Response:
    """``POST /auth/o2/token``: refresh-token grant, form-encoded (docs/api/amazon.md §1).

    Errors follow OAuth 2.0 (RFC 6749 §5.2): ``invalid_request`` 400, ``invalid_client``
    401, ``invalid_grant`` 400, ``unsupported_grant_type`` 400.
    """
    content_type = request.headers.get("Content-Type", "")
    if request.method != "POST" or request.url.path != "/auth/o2/token":
        return _oauth(400, "invalid_request", "Unsupported request")
    if not content_type.startswith("application/x-www-form-urlencoded"):
        return _oauth(400, "invalid_request", "The request has an invalid parameter : Content-Type")
    form = dict(httpx.QueryParams(request.content.decode("utf-8", "replace")))
    if form.get("grant_type") != "refresh_token":
        return _oauth(
            400, "unsupported_grant_type", "The authorization grant type is not supported"
        )
    if form.get("client_id") != sim.client_id or form.get("client_secret") != sim.client_secret:
        return _oauth(401, "invalid_client", "Client authentication failed")
    if form.get("refresh_token") != sim.refresh_token:
        return _oauth(
            400, "invalid_grant", "The request has an invalid grant parameter : refresh_token"
        )
    body: dict[str, Any] = {
        "access_token": sim.issue_token(),
        "token_type": "bearer",
        "expires_in": int(sim.TOKEN_LIFETIME.total_seconds()),
    }
    if sim.token_response_has_refresh_token:
        body["refresh_token"] = sim.refresh_token
    return json_response(200, body)


def _oauth(status: int, error: str, description: str) -> httpx.Response:
    return json_response(status, {"error_description": description, "error": error})


# --------------------------------------------------------------------------- shared checks


def require_marketplace(sim: AmazonSimulator, op: str, params: httpx.QueryParams) -> None:
    """``marketplaceIds`` is required on every listings call and must name JP here."""
    ids = [m for m in params.get("marketplaceIds", "").split(",") if m]
    if not ids:
        raise sim.refuse(op, 400, "Missing required parameter marketplaceIds.")
    if ids != [MARKETPLACE_ID]:
        raise sim.refuse(op, 400, f"Invalid marketplaceIds: {','.join(ids)}")


def require_seller(sim: AmazonSimulator, op: str, seller: str) -> None:
    """A sellerId other than the authorising seller's is not this app's to touch."""
    if seller != sim.seller_id:
        body = errors_body("Unauthorized", "Access to requested resource is denied.", "")
        raise Refused(sim.respond(op, 403, body))


def _included(
    sim: AmazonSimulator, op: str, params: httpx.QueryParams, allowed: frozenset[str], default: str
) -> set[str]:
    values = {v for v in params.get("includedData", default).split(",") if v}
    bad = values - allowed
    if bad:
        raise sim.refuse(op, 400, f"Invalid includedData: {','.join(sorted(bad))}")
    return values


# --------------------------------------------------------------------------- GET


def item_json(listing: SimListing, included: set[str]) -> dict[str, Any]:
    """An ``Item`` ([SPM]) with the requested data sets."""
    item: dict[str, Any] = {"sku": listing.sku}
    if "summaries" in included:
        item["summaries"] = [
            {
                "marketplaceId": MARKETPLACE_ID,
                "asin": listing.asin,
                "productType": listing.product_type,
                "conditionType": "new_new",
                "status": ["BUYABLE", "DISCOVERABLE"] if listing.quantity > 0 else ["DISCOVERABLE"],
                "itemName": f"商品 {listing.sku}",
                "createdDate": iso(listing.created),
                "lastUpdatedDate": iso(listing.updated),
            }
        ]
    if "fulfillmentAvailability" in included:
        code = FBA_CHANNEL if listing.afn else MERCHANT
        item["fulfillmentAvailability"] = [
            {"fulfillmentChannelCode": code, "quantity": listing.quantity}
        ]
    return item


def get_item(
    sim: AmazonSimulator, request: httpx.Request, path: dict[str, str], body: Any
) -> httpx.Response:
    """getListingsItem: 404 NOT_FOUND for a SKU the seller does not have."""
    op = "getListingsItem"
    require_seller(sim, op, path["seller"])
    require_marketplace(sim, op, request.url.params)
    included = _included(sim, op, request.url.params, INCLUDED_GET, "summaries")
    listing = sim.listings.get(path["sku"])
    if listing is None:
        return sim.respond(
            op,
            404,
            errors_body(
                "NOT_FOUND", f"SKU '{path['sku']}' not found in marketplace {MARKETPLACE_ID}"
            ),
        )
    return sim.respond(op, 200, item_json(listing, included))


def search_items(
    sim: AmazonSimulator, request: httpx.Request, path: dict[str, str], body: Any
) -> httpx.Response:
    """SearchListingsItems (the cheap call ``check`` makes): first page only."""
    op = "searchListingsItems"
    require_seller(sim, op, path["seller"])
    require_marketplace(sim, op, request.url.params)
    included = _included(sim, op, request.url.params, INCLUDED_GET, "summaries")
    raw = request.url.params.get("pageSize", "10")
    if not raw.isdigit() or not 1 <= int(raw) <= SEARCH_PAGE_MAX:
        raise sim.refuse(op, 400, f"Invalid pageSize: {raw}")
    listings = sorted(sim.listings.values(), key=lambda lst: lst.sku)
    items = [item_json(lst, included) for lst in listings[: int(raw)]]
    return sim.respond(op, 200, {"numberOfResults": len(listings), "items": items})


# --------------------------------------------------------------------------- PATCH


def body_problem(body: Any) -> str | None:
    """Why a ListingsItemPatchRequest is malformed ([SPM] required fields, enums), or None."""
    if not isinstance(body, dict):
        return "Request body must be a JSON object."
    product_type = body.get("productType")
    if not isinstance(product_type, str) or not product_type:
        return "productType is required."
    patches = body.get("patches")
    if not isinstance(patches, list) or not patches:
        return "patches must contain at least one operation."
    for n, patch in enumerate(patches):
        if not isinstance(patch, dict) or patch.get("op") not in PATCH_OPS:
            return f"patches[{n}].op must be one of add, replace, merge, delete."
        if not isinstance(patch.get("path"), str):
            return f"patches[{n}].path is required."
        value = patch.get("value")
        if value is not None and (
            not isinstance(value, list) or not all(isinstance(v, dict) for v in value)
        ):
            return f"patches[{n}].value must be an array of objects."
    return None


def _issue(code: str, message: str, attribute: str = "fulfillment_availability") -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "severity": "ERROR",
        "attributeNames": [attribute],
        "categories": ["INVALID_ATTRIBUTE"],
    }


def patch_issues(
    sim: AmazonSimulator, listing: SimListing | None, sku: str, body: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], int | None]:
    """(ERROR issues, new merchant quantity) of a well-formed patch request.

    Amazon only validates here and queues the change; the issue codes are the
    sandbox's generic "attributes are invalid" (90000900) where the real code is
    UNCONFIRMED.
    """
    if listing is None:
        return [
            _issue(
                "4000003",
                f"SKU '{sku}' does not exist; only existing listings can be patched.",
                "sku",
            )
        ], None
    product_type = body["productType"]
    if product_type not in (listing.product_type, GENERIC_PRODUCT_TYPE):
        return [
            _issue(
                "4000001",
                f"productType '{product_type}' does not match the listing ({listing.product_type}).",
                "product_type",
            )
        ], None
    quantity: int | None = None
    issues: list[dict[str, Any]] = []
    for patch in body["patches"]:
        if patch["path"] != QUANTITY_PATH or patch["op"] == "delete":
            continue
        for entry in patch.get("value") or []:
            code = entry.get("fulfillment_channel_code")
            value = entry.get("quantity")
            if not isinstance(code, str) or not code:
                issues.append(_issue("90000900", "fulfillment_channel_code is required."))
            elif code != MERCHANT:
                issues.append(
                    _issue(
                        "90000900",
                        f"fulfillment_channel_code '{code}' cannot be set by the seller.",
                    )
                )
            elif (
                isinstance(value, bool)
                or not isinstance(value, int)
                or not 0 <= value <= sim.max_quantity
            ):
                issues.append(
                    _issue("90000900", f"quantity must be an integer from 0 to {sim.max_quantity}.")
                )
            else:
                quantity = value
    return issues, (None if issues else quantity)


def patch_item(
    sim: AmazonSimulator, request: httpx.Request, path: dict[str, str], body: Any
) -> httpx.Response:
    """patchListingsItem: 400 for a malformed body, INVALID inside a 200 for a bad item."""
    op = "patchListingsItem"
    require_seller(sim, op, path["seller"])
    require_marketplace(sim, op, request.url.params)
    _included(sim, op, request.url.params, INCLUDED_PATCH, "issues")
    if not request.headers.get("Content-Type", "").startswith("application/json"):
        return sim.respond(
            op, 415, errors_body("UnsupportedMediaType", "Content-Type must be application/json")
        )
    problem = body_problem(body)
    if problem is not None:
        raise sim.refuse(op, 400, "Invalid input", problem)
    sku = path["sku"]
    listing = sim.listings.get(sku)
    issues, quantity = patch_issues(sim, listing, sku, body)
    preview = request.url.params.get("mode") == "VALIDATION_PREVIEW"
    if listing is not None and quantity is not None and not preview:
        sim.write(listing, quantity, sim.now())
    if not preview:
        sim.batch_sizes.append(1)
    status = "INVALID" if issues else ("VALID" if preview else "ACCEPTED")
    answer = {
        "sku": sku,
        "status": status,
        "submissionId": f"sim-submission-{sim.next_id()}",
        "issues": issues,
    }
    return sim.respond(op, 200, answer)
