"""Feeds API and Reports API 2021-06-30 of the Amazon simulator, with the S3 side.

A feed or report is a job processed over virtual time: IN_QUEUE, IN_PROGRESS after a
tenth of its time, then DONE or FATAL ([SPM] processingStatus). Documents live behind
presigned URLs on S3 that expire after 5 minutes; an upload must repeat the
Content-Type given to createFeedDocument, else S3 answers 403 SignatureDoesNotMatch.
"""

from __future__ import annotations

import gzip
import json
import zlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx

from bot.sandbox.simulators.amazon.listings import body_problem, patch_issues
from bot.sandbox.simulators.amazon.state import (
    FBA_CHANNEL,
    MARKETPLACE_ID,
    MERCHANT,
    S3_HOST,
    SimDocument,
    SimJob,
    iso,
    s3_error,
)

if TYPE_CHECKING:
    from bot.sandbox.simulators.amazon.core import AmazonSimulator

FEED_TYPE = "JSON_LISTINGS_FEED"
REPORT_TYPE = "GET_MERCHANT_LISTINGS_ALL_DATA"
OPERATION_TYPES = frozenset({"UPDATE", "PARTIAL_UPDATE", "PATCH", "DELETE"})
# https://developer-docs.amazon.com/sp-api/docs/report-type-values-inventory (column order)
REPORT_COLUMNS_EN = (
    "item-name", "item-description", "listing-id", "seller-sku", "price", "quantity", "open-date",
    "image-url", "item-is-marketplace", "product-id-type", "zshop-shipping-fee", "item-note",
    "item-condition", "zshop-category1", "zshop-browse-path", "zshop-storefront-feature", "asin1",
    "asin2", "asin3", "will-ship-internationally", "expedited-shipping", "zshop-boldface",
    "product-id", "bid-for-featured-placement", "add-delete", "pending-quantity",
    "fulfillment-channel", "merchant-shipping-group", "status",
)  # fmt: skip
# Localised JP headers (amzn/selling-partner-api-models#2293); wording UNCONFIRMED.
REPORT_COLUMNS_JA = {
    "item-name": "商品名",
    "listing-id": "出品ID",
    "seller-sku": "出品者SKU",
    "price": "価格",
    "quantity": "数量",
    "open-date": "出品日",
    "asin1": "ASIN 1",
    "fulfillment-channel": "フルフィルメント・チャネル",
    "status": "ステータス",
}


# --------------------------------------------------------------------------- documents


def _new_document(
    sim: AmazonSimulator, content_type: str, content: bytes | None = None
) -> SimDocument:
    number = sim.next_id()
    doc = SimDocument(
        document_id=f"amzn1.tortuga.4.fe.sim{number:06d}",
        content_type=content_type,
        expires=sim.now() + sim.DOCUMENT_URL_LIFETIME,
        content=content,
    )
    sim.documents[doc.document_id] = doc
    return doc


def _url(doc: SimDocument) -> str:
    return f"https://{S3_HOST}/{doc.document_id}?X-Amz-Expires=300&X-Amz-Signature=sim{zlib.crc32(doc.document_id.encode()):010d}"


def s3(sim: AmazonSimulator, request: httpx.Request) -> httpx.Response:
    """PUT uploads a feed document, GET downloads a result or report document."""
    doc = sim.documents.get(request.url.path.lstrip("/"))
    if doc is None or "X-Amz-Signature" not in request.url.params:
        return s3_error(403, "AccessDenied", "Access Denied")
    if sim.now() > doc.expires:
        return s3_error(403, "AccessDenied", "Request has expired")
    if request.method == "PUT":
        if request.headers.get("Content-Type", "") != doc.content_type:
            return s3_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        doc.content = request.content
        return httpx.Response(200)
    if request.method == "GET" and doc.content is not None:
        content = gzip.compress(doc.content) if doc.gzip else doc.content
        return httpx.Response(200, content=content, headers={"Content-Type": doc.content_type})
    return s3_error(
        404 if request.method == "GET" else 405, "NoSuchKey", "The specified key does not exist."
    )


def create_feed_document(
    sim: AmazonSimulator, request: httpx.Request, path: dict[str, str], body: Any
) -> httpx.Response:
    """CreateFeedDocument → 201 {feedDocumentId, url}."""
    op = "createFeedDocument"
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("contentType"), str)
        or not body["contentType"]
    ):
        raise sim.refuse(op, 400, "Invalid input", "contentType is required.")
    doc = _new_document(sim, body["contentType"])
    return sim.respond(op, 201, {"feedDocumentId": doc.document_id, "url": _url(doc)})


def _document_answer(sim: AmazonSimulator, op: str, document_id: str) -> httpx.Response:
    doc = sim.documents.get(document_id)
    if doc is None or doc.content is None:
        raise sim.refuse(op, 404, "Resource not found", f"No document with id {document_id}")
    doc.expires = sim.now() + sim.DOCUMENT_URL_LIFETIME
    answer: dict[str, Any] = {
        "reportDocumentId" if op == "getReportDocument" else "feedDocumentId": doc.document_id,
        "url": _url(doc),
    }
    if doc.gzip:
        answer["compressionAlgorithm"] = "GZIP"
    return sim.respond(op, 200, answer)


def get_feed_document(
    sim: AmazonSimulator, request: httpx.Request, path: dict[str, str], body: Any
) -> httpx.Response:
    """GetFeedDocument → {feedDocumentId, url, compressionAlgorithm?}."""
    return _document_answer(sim, "getFeedDocument", path["id"])


def get_report_document(
    sim: AmazonSimulator, request: httpx.Request, path: dict[str, str], body: Any
) -> httpx.Response:
    """GetReportDocument → {reportDocumentId, url, compressionAlgorithm?}."""
    return _document_answer(sim, "getReportDocument", path["id"])


# --------------------------------------------------------------------------- jobs


def _marketplaces_ok(body: dict[str, Any]) -> bool:
    ids = body.get("marketplaceIds")
    return isinstance(ids, list) and len(ids) >= 1 and ids == [MARKETPLACE_ID]


def _new_job(
    sim: AmazonSimulator, kind: str, type_: str, seconds: float, document: str = ""
) -> SimJob:
    now = sim.now()
    job = SimJob(
        job_id=f"{sim.next_id()}0{'1' if kind == 'feed' else '2'}",
        kind=kind,
        type=type_,
        created=now,
        start_at=now + timedelta(seconds=seconds / 10),
        done_at=now + timedelta(seconds=seconds),
        input_document=document,
    )
    sim.jobs[job.job_id] = job
    return job


def create_feed(
    sim: AmazonSimulator, request: httpx.Request, path: dict[str, str], body: Any
) -> httpx.Response:
    """CreateFeed → 202 {feedId}; 5 JSON_LISTINGS_FEED per 5 minutes."""
    op = "createFeed"
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("feedType"), str)
        or not _marketplaces_ok(body)
    ):
        raise sim.refuse(
            op,
            400,
            "Invalid input",
            "feedType, marketplaceIds and inputFeedDocumentId are required.",
        )
    doc = sim.documents.get(str(body.get("inputFeedDocumentId") or ""))
    if doc is None or doc.content is None:
        raise sim.refuse(
            op, 400, "Invalid input", "inputFeedDocumentId does not name an uploaded document."
        )
    if body["feedType"] != FEED_TYPE:
        raise sim.refuse(
            op, 400, "Invalid input", f"Feed type {body['feedType']} is not supported."
        )
    sim.admit_listings_feed()
    job = _new_job(sim, "feed", FEED_TYPE, sim.feed_seconds, doc.document_id)
    messages = _messages_of(doc.content)
    job.messages = len(messages) if isinstance(messages, list) else 0
    sim.batch_sizes.append(job.messages)
    return sim.respond(op, 202, {"feedId": job.job_id})


def create_report(
    sim: AmazonSimulator, request: httpx.Request, path: dict[str, str], body: Any
) -> httpx.Response:
    """CreateReport → 202 {reportId} (only the merchant-listings report is modelled)."""
    op = "createReport"
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("reportType"), str)
        or not _marketplaces_ok(body)
    ):
        raise sim.refuse(op, 400, "Invalid input", "reportType and marketplaceIds are required.")
    if body["reportType"] != REPORT_TYPE:
        raise sim.refuse(
            op,
            400,
            "Invalid input",
            f"Report type {body['reportType']} is not supported by the simulator.",
        )
    job = _new_job(sim, "report", REPORT_TYPE, sim.report_seconds)
    return sim.respond(op, 202, {"reportId": job.job_id})


def _job_answer(sim: AmazonSimulator, op: str, job_id: str, kind: str) -> httpx.Response:
    job = sim.jobs.get(job_id)
    if job is None or job.kind != kind:
        raise sim.refuse(op, 404, "Resource not found", f"No {kind} with id {job_id}")
    answer: dict[str, Any] = {
        f"{kind}Id": job.job_id,
        f"{kind}Type": job.type,
        "marketplaceIds": [MARKETPLACE_ID],
        "createdTime": iso(job.created),
        "processingStatus": job.status,
    }
    if job.status != "IN_QUEUE":
        answer["processingStartTime"] = iso(job.start_at)
    if job.status in ("DONE", "FATAL", "CANCELLED"):
        answer["processingEndTime"] = iso(job.done_at)
    if job.result_document:
        answer["resultFeedDocumentId" if kind == "feed" else "reportDocumentId"] = (
            job.result_document
        )
    return sim.respond(op, 200, answer)


def get_feed(
    sim: AmazonSimulator, request: httpx.Request, path: dict[str, str], body: Any
) -> httpx.Response:
    """GetFeed → Feed."""
    return _job_answer(sim, "getFeed", path["id"], "feed")


def get_report(
    sim: AmazonSimulator, request: httpx.Request, path: dict[str, str], body: Any
) -> httpx.Response:
    """GetReport → Report."""
    return _job_answer(sim, "getReport", path["id"], "report")


def advance(sim: AmazonSimulator, now: datetime) -> None:
    """Move every job along virtual time; finish those that are due."""
    for job in sim.jobs.values():
        if job.status == "IN_QUEUE" and now >= job.start_at:
            job.status = "IN_PROGRESS"
        if job.status == "IN_PROGRESS" and now >= job.done_at:
            if job.kind == "feed":
                _finish_feed(sim, job)
            else:
                _finish_report(sim, job)


# --------------------------------------------------------------------------- feed processing


def _messages_of(content: bytes | None) -> Any:
    try:
        document = json.loads(content or b"")
    except ValueError:
        return None
    return document.get("messages") if isinstance(document, dict) else None


def _feed_fatal(sim: AmazonSimulator, document: Any) -> str | None:
    """Why the whole feed fails (listings-feed-schema-v2 header and size), or None."""
    if not isinstance(document, dict):
        return "The feed is not a valid JSON document."
    header = document.get("header")
    if not isinstance(header, dict) or header.get("version") != "2.0":
        return "The feed header is missing or its version is not 2.0."
    if header.get("sellerId") != sim.seller_id:
        return "The feed header sellerId does not match the submitting seller."
    messages = document.get("messages")
    if not isinstance(messages, list) or not messages:
        return "The feed contains no messages."
    if len(messages) > sim.FEED_MAX_MESSAGES:
        return (
            f"The feed contains {len(messages)} messages; the maximum is {sim.FEED_MAX_MESSAGES}."
        )
    return None


def _message_issues(sim: AmazonSimulator, message: Any, seen: set[int]) -> list[dict[str, Any]]:
    """ERROR issues of one message; applies it when it has none."""
    if not isinstance(message, dict):
        return [
            {"severity": "ERROR", "code": "4000000", "message": "A message must be a JSON object."}
        ]
    message_id, sku = message.get("messageId"), message.get("sku")
    if not isinstance(message_id, int) or message_id < 1 or message_id in seen:
        return [
            {
                "severity": "ERROR",
                "code": "4000000",
                "message": "messageId must be a unique integer ≥ 1.",
            }
        ]
    seen.add(message_id)
    base = {"messageId": message_id, "severity": "ERROR"}
    if not isinstance(sku, str) or not sku or message.get("operationType") not in OPERATION_TYPES:
        return [
            {**base, "code": "4000000", "message": "sku and a valid operationType are required."}
        ]
    if message["operationType"] != "PATCH":
        return [
            {
                **base,
                "sku": sku,
                "code": "4000000",
                "message": "The simulator models PATCH messages only.",
            }
        ]
    problem = body_problem(
        {"productType": message.get("productType"), "patches": message.get("patches")}
    )
    if problem is not None:
        return [{**base, "sku": sku, "code": "4000000", "message": problem}]
    listing = sim.listings.get(sku)
    issues, quantity = patch_issues(sim, listing, sku, message)
    if issues:
        return [{**base, "sku": sku, "code": i["code"], "message": i["message"]} for i in issues]
    if listing is not None and quantity is not None:
        sim.write(listing, quantity, sim.now())
    return []


def _finish_feed(sim: AmazonSimulator, job: SimJob) -> None:
    job.status = "DONE"  # before applying: nothing re-enters a finished job
    doc = sim.documents[job.input_document]
    try:
        document = json.loads(doc.content or b"")
    except ValueError:
        document = None
    fatal = _feed_fatal(sim, document)
    issues: list[dict[str, Any]] = []
    processed = accepted = 0
    if fatal is not None:
        issues.append({"severity": "ERROR", "code": "4000000", "message": fatal})
    else:
        seen: set[int] = set()
        for message in document["messages"]:
            found = _message_issues(sim, message, seen)
            processed += 1
            accepted += 0 if found else 1
            issues.extend(found)
    report = {
        "header": {"sellerId": sim.seller_id, "version": "2.0", "feedId": job.job_id},
        "issues": issues,
        "summary": {
            "errors": len(issues),
            "warnings": 0,
            "messagesProcessed": processed,
            "messagesAccepted": accepted,
            "messagesInvalid": processed - accepted,
        },
    }
    result = _new_document(sim, "application/json", json.dumps(report, ensure_ascii=False).encode())
    result.gzip = sim.gzip_documents
    job.result_document = result.document_id
    job.status = "FATAL" if fatal is not None else "DONE"


def _finish_report(sim: AmazonSimulator, job: SimJob) -> None:
    listings = sorted(sim.listings.values(), key=lambda lst: lst.sku)
    if not listings:
        job.status = "CANCELLED"  # [SPM]: CANCELLED also means "no data to return"
        return
    names = [
        REPORT_COLUMNS_JA.get(c, c) if sim.report_locale == "ja" else c for c in REPORT_COLUMNS_EN
    ]
    rows = ["\t".join(names)]
    for n, listing in enumerate(listings, start=1):
        values = dict.fromkeys(REPORT_COLUMNS_EN, "")
        values.update(
            {
                "item-name": f"商品 {listing.sku}",
                "listing-id": f"0{n:09d}",
                "seller-sku": listing.sku,
                "quantity": "" if listing.afn else str(listing.quantity),
                "open-date": listing.created.strftime("%Y/%m/%d %H:%M:%S JST"),
                "asin1": listing.asin,
                "fulfillment-channel": FBA_CHANNEL if listing.afn else MERCHANT,
                "status": "Active" if listing.quantity > 0 else "Inactive",
            }
        )
        rows.append("\t".join(values[c] for c in REPORT_COLUMNS_EN))
    charset = sim.report_charset
    content_type = (
        f"text/plain; charset={charset}" if sim.report_charset_in_header else "text/plain"
    )
    doc = _new_document(sim, content_type, ("\n".join(rows) + "\n").encode(charset))
    doc.gzip = sim.gzip_documents
    job.result_document = doc.document_id
    job.status = "DONE"
