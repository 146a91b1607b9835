"""The Amazon simulator's records and the wire helpers its parts share."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

SP_HOST = "sellingpartnerapi-fe.amazon.com"  # https://developer-docs.amazon.com/sp-api/docs/sp-api-endpoints
LWA_HOST = "api.amazon.com"  # docs/api/amazon.md §1
# Presigned document URLs point at S3; the bucket name is Amazon's business (UNCONFIRMED).
S3_HOST = "tortuga-prod-fe.s3-us-west-2.amazonaws.com"
MARKETPLACE_ID = "A1VC38T7YXB528"  # https://developer-docs.amazon.com/sp-api/docs/marketplace-ids
MERCHANT = "DEFAULT"
FBA_CHANNEL = "AMAZON_JP"


@dataclass
class SimRequest:
    """One request as the simulator saw it (the request log)."""

    at: datetime
    method: str
    host: str
    path: str
    params: dict[str, str]
    body: Any
    """Parsed JSON body; the form as a dict for the token call; raw bytes for uploads."""
    op: str
    """Operation name (``patchListingsItem``, ``lwaToken``, ``s3Put`` …)."""
    status: int = 0
    """HTTP status answered; 0 when an injected timeout raised instead."""
    response: Any = None
    """Parsed JSON answer (None for non-JSON answers)."""
    injected: bool = False
    """The answer was a fault injected with ``fail_next``."""


@dataclass
class SimListing:
    """One seller SKU in the JP marketplace."""

    sku: str
    quantity: int
    """Live quantity: the merchant quantity, or the FBA warehouse quantity when ``afn``."""
    afn: bool
    product_type: str
    asin: str
    created: datetime
    updated: datetime
    writes: list[tuple[datetime, int]] = field(default_factory=list)
    """Accepted quantities not live yet: (when it goes live, quantity)."""


@dataclass
class SimOrderItem:
    """One orderItem: a SKU and the units ordered."""

    item_id: str
    sku: str
    quantity: int
    asin: str
    title: str
    cancel_execution: dict[str, str] | None = None


@dataclass
class SimOrder:
    """One Amazon order (v2026-01-01 shape)."""

    order_id: str
    created: datetime
    updated: datetime
    status: str
    """[SPM] FulfillmentStatus: PENDING → UNSHIPPED, or CANCELLED."""
    fulfilled_by: str
    """``MERCHANT`` or ``AMAZON``."""
    items: list[SimOrderItem]
    pending_until: datetime | None = None


@dataclass
class SimDocument:
    """A feed or report document behind a presigned S3 URL."""

    document_id: str
    content_type: str
    expires: datetime
    content: bytes | None = None
    gzip: bool = False


@dataclass
class SimJob:
    """A feed or a report being processed over virtual time."""

    job_id: str
    kind: str
    """``feed`` or ``report``."""
    type: str
    created: datetime
    start_at: datetime
    done_at: datetime
    input_document: str = ""
    status: str = "IN_QUEUE"
    result_document: str = ""
    messages: int = 0


def iso(when: datetime) -> str:
    """ISO 8601 UTC with a Z, as SP-API writes timestamps."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str | None) -> datetime | None:
    """An ISO 8601 timestamp with a zone, else None (a timestamp without one is refused)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    """A JSON answer with the given headers."""
    return httpx.Response(
        status,
        content=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def errors_body(code: str, message: str, details: str | None = None) -> dict[str, Any]:
    """``{"errors":[{code, message, details?}]}`` ([SPM] ErrorList)."""
    error: dict[str, str] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"errors": [error]}


def s3_error(status: int, code: str, message: str) -> httpx.Response:
    """An S3 XML error (presigned URL refused: signature, expiry, missing key)."""
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    )
    return httpx.Response(status, content=xml.encode(), headers={"Content-Type": "application/xml"})


class Refused(Exception):
    """A request the API refuses: carries the answer to give."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.response = response
