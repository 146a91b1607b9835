"""楽天 RMS wire helpers: error envelopes, batching, licence dates (no state)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from adapters.base import JSON_VALUE, JsonShape, json_objects
from bot.infra.clock import JST, to_jst

_T = TypeVar("_T")

# An element's position in a rejected bulk-upsert, from the error's propertyPath. [S3]
ELEMENT_PATH_RE = re.compile(r"^inventories\[(\d+)\]")
# Errors about the request or the shop, not one element: splitting a batch cannot help.
# GE0007 path, GE0011 body, IE1101 too many, IE1102 duplicate, IE1105 not migrated. [S3]
REQUEST_LEVEL_CODES: frozenset[str] = frozenset({"GE0007", "GE0011", "IE1101", "IE1102", "IE1105"})
# Refusals that are about the credentials, whatever the HTTP status (RMS answers some
# with 400): the gateway's common authentication errors GK0001/GK0005/GK0006 (added to
# the InventoryAPI 2.0 page in its v1.5 change log entry "共通認証エラー追加" [S5]; the
# codes as issue 7 read them on the published pages) and ES04-01 "Bad Request", which
# vendor help pages name with ES01-01 when an API function is not enabled in RMS
# ([S16] https://manual.sokuhan.jp/ufaq/ , [S18] https://help.teps.io/rakuten-connection-error).
CREDENTIAL_CODES: frozenset[str] = frozenset({"GK0001", "GK0005", "GK0006", "ES04-01"})
# MessageModel.messageType values that mean "not done" for the call or for one order.
# [S10] https://webservice.rms.rakuten.co.jp/merchant-portal/view/ja/common/1-1_service_index/rakutenpayorderapi/searchorder
# [S11] https://webservice.rms.rakuten.co.jp/merchant-portal/view/ja/common/1-1_service_index/rakutenpayorderapi/getorder
FAILED_MESSAGE_TYPES: frozenset[str] = frozenset({"ERROR", "WARNING"})

# The fields of a getOrder answer the adapter reads (orders.parse_order and
# order_api_errors); the buyer, the sender, prices and names are skipped undecoded.
# [S11] MessageModelList, OrderModelList: OrderModel.orderNumber / orderProgress /
# orderDatetime / ChangeReasonModelList / PackageModelList; PackageModel.packageDeleteFlag /
# ItemModelList; ItemModel.itemDetailId / manageNumber / units / inventoryType /
# restoreInventoryFlag / deleteItemFlag / SkuModelList (v7+: SkuModel.variantId).
GET_ORDER_ANSWER = JsonShape(
    MessageModelList=json_objects(
        messageType=JSON_VALUE, messageCode=JSON_VALUE, message=JSON_VALUE, orderNumber=JSON_VALUE
    ),
    OrderModelList=json_objects(
        orderNumber=JSON_VALUE,
        orderProgress=JSON_VALUE,
        orderDatetime=JSON_VALUE,
        ChangeReasonModelList=json_objects(
            changeApplyDatetime=JSON_VALUE,
            changeFixDatetime=JSON_VALUE,
            changeCmplDatetime=JSON_VALUE,
        ),
        PackageModelList=json_objects(
            packageDeleteFlag=JSON_VALUE,
            ItemModelList=json_objects(
                itemDetailId=JSON_VALUE,
                manageNumber=JSON_VALUE,
                units=JSON_VALUE,
                inventoryType=JSON_VALUE,
                restoreInventoryFlag=JSON_VALUE,
                deleteItemFlag=JSON_VALUE,
                SkuModelList=json_objects(variantId=JSON_VALUE),
            ),
        ),
    ),
)
# A bulk-get answer: {"inventories": [{manageNumber, variantId, quantity, created,
# updated, ...}]}; the adapter reads the first three. [S2][S5]
BULK_GET_ANSWER = JsonShape(
    inventories=json_objects(manageNumber=JSON_VALUE, variantId=JSON_VALUE, quantity=JSON_VALUE)
)


def bulk_get_body(codes: Sequence[str]) -> bytes:
    """A bulk-get request body: {"inventories": [{manageNumber, variantId}, ...]}.

    [S2] https://webservice.rms.rakuten.co.jp/merchant-portal/view/ja/common/1-1_service_index/inventoryapi2_1/inventories_bulk_get/

    The same bytes as ``json_body({"inventories": [{"manageNumber": m, "variantId": v},
    ...]})`` of each code's :func:`adapters.rakuten.codes.split_code` halves, written
    from the codes joined at once: ~0.1 ms for 1,000 codes against ~0.4 ms for a string
    a pair, or ~0.25 ms more for dicts and their serialisation (micro-benchmarks; three
    bodies a cycle read back at 100,000 listings). Only for codes ``split_code``
    accepts: both halves are IDs (``[A-Za-z0-9_-]``) around the code's one ":", so no
    character needs escaping and none is a line break.
    """
    if not codes:
        return _inventories([])
    pairs = "\n".join(codes).replace(":", '","variantId":"').replace("\n", '"},{"manageNumber":"')
    return f'{{"inventories":[{{"manageNumber":"{pairs}"}}]}}'.encode()


def bulk_upsert_body(items: Iterable[tuple[str, str, int]]) -> bytes:
    """A bulk-upsert request body of (manageNumber, variantId, quantity), ABSOLUTE mode.

    [S1] The same bytes as ``json_body({"inventories": [{"manageNumber": m,
    "variantId": v, "mode": "ABSOLUTE", "quantity": q}, ...]})``, written directly as
    :func:`bulk_get_body` is (a thousand pushes a cycle at 100,000 listings). Only for
    pairs :func:`adapters.rakuten.codes.split_code` accepts and ``int`` quantities.
    """
    return _inventories(
        [
            f'{{"manageNumber":"{m}","variantId":"{v}","mode":"ABSOLUTE","quantity":{q:d}}}'
            for m, v, q in items
        ]
    )


def _inventories(elements: list[str]) -> bytes:
    return f'{{"inventories":[{",".join(elements)}]}}'.encode()


def is_credential_problem(code: str) -> bool:
    """Any of a response's codes (comma-joined) says the credentials are refused."""
    codes = set(code.split(","))
    return bool(codes & CREDENTIAL_CODES) or any(
        c.startswith("ES01") or c == "GA0001" for c in codes
    )


def order_api_errors(body: Any) -> list[tuple[str, str, str]]:
    """(messageCode, message, orderNumber or "") of every failed MessageModel of a body.

    A 200 can carry these ([S10] every response has MessageModelList): searchOrder's
    ERROR means the search was not done (not "no orders"); getOrder's per-order
    messages (with orderNumber) mean that order was not read.
    """
    if not isinstance(body, dict):
        return []
    out: list[tuple[str, str, str]] = []
    for message in body.get("MessageModelList") or []:
        if not isinstance(message, dict):
            continue
        kind = str(message.get("messageType") or "")
        number = str(message.get("orderNumber") or "")
        if kind == "ERROR" or (number and kind in FAILED_MESSAGE_TYPES):
            out.append(
                (str(message.get("messageCode") or ""), str(message.get("message") or ""), number)
            )
    return out


def is_request_level(code: str) -> bool:
    codes = set(code.split(","))
    return bool(codes & REQUEST_LEVEL_CODES) or any(c.startswith("ES04") for c in codes)


def windows(start: datetime, end: datetime, span: timedelta) -> Iterator[tuple[datetime, datetime]]:
    """[start, end] cut into consecutive windows no longer than ``span``."""
    start = start.replace(microsecond=0)
    while True:
        window_end = min(start + span, end)
        yield start, window_end
        if window_end >= end:
            return
        start = window_end


def int_or(value: object, default: int) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str | float):
        try:
            return int(value)
        except ValueError:
            return default
    return default


def error_details(body: Any) -> tuple[str, str, dict[int, str]]:
    """(code, message, element index → reason) from any of 楽天's three error envelopes."""
    if not isinstance(body, dict):
        return "", "", {}
    results = body.get("Results")
    if isinstance(results, dict):
        return str(results.get("errorCode") or ""), str(results.get("message") or ""), {}
    errors = body.get("errors")
    if isinstance(errors, list):
        codes: list[str] = []
        messages: list[str] = []
        items: dict[int, str] = {}
        for error in errors:
            if not isinstance(error, dict):
                continue
            code = str(error.get("code") or "")
            message = str(error.get("message") or "")
            codes.append(code)
            messages.append(message)
            metadata = error.get("metadata")
            path = metadata.get("propertyPath") if isinstance(metadata, dict) else None
            match = ELEMENT_PATH_RE.match(path) if isinstance(path, str) else None
            if match:
                index = int(match.group(1))
                reason = f"{code} {message}".strip()
                items[index] = f"{items[index]}; {reason}" if index in items else reason
        return ",".join(dict.fromkeys(c for c in codes if c)), " / ".join(messages[:3]), items
    messages_list = body.get("MessageModelList")
    if isinstance(messages_list, list):
        for message in messages_list:
            if isinstance(message, dict) and message.get("messageType") == "ERROR":
                return str(message.get("messageCode") or ""), str(message.get("message") or ""), {}
    return "", "", {}


def parse_license_expiry(value: object) -> datetime | None:
    """``2026-11-28T23:59:59`` (no offset, meant as JST) → an aware JST datetime."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=JST)
    return to_jst(parsed)
