"""Yahoo!ショッピング wire format: codes, XML bodies and what an answer means.

Pure functions only (no I/O, no clock), so the recorded responses in
``tests/fixtures/yahoo/`` can be replayed through exactly the parsers the adapter uses.
Facts and sources: ``docs/api/yahoo.md`` (section numbers below refer to it).

XML comes from Yahoo's own servers over TLS. It is parsed with the standard library:
ElementTree resolves no external entities, and the bundled expat (≥ 2.4.1) refuses
entity-expansion bombs, which is all the hardening a trusted peer needs.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx

from adapters.base import (
    AuthError,
    MallError,
    MallRejected,
    RateLimited,
    TransientError,
    parse_retry_after,
    redact,
)
from bot.infra.clock import JST, to_jst

# item_code and sub_code: half-width alphanumerics and "-", up to 99 characters each;
# an item with 個別商品コード is sent as item_code:sub_code.
# https://developer.yahoo.co.jp/webapi/shopping/getStock.html
# https://developer.yahoo.co.jp/webapi/shopping/setStock.html
_CODE_PART_RE = re.compile(r"[A-Za-z0-9-]{1,99}")

# orderList conditions take JST timestamps as YYYYMMDDhhmmss (§3).
# https://developer.yahoo.co.jp/webapi/shopping/orderList.html
ORDER_TIME_FORMAT = "%Y%m%d%H%M%S"

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


# --------------------------------------------------------------------------- codes


def canonical_code(code: str) -> str:
    """``item_code`` or ``item_code:sub_code`` without stray spaces; case is kept.

    Yahoo documents no case folding for item codes, so none is done here; answers are
    matched back case-insensitively as a fallback (:func:`match_codes`). A code already
    in canonical form comes back as the same object (no duplicate string per listing).
    """
    item, sep, sub = code.strip().partition(":")
    if not sep:
        return item.strip()
    trimmed = f"{item.strip()}:{sub.strip()}"
    return code if trimmed == code else trimmed


def valid_code(code: str) -> bool:
    """Whether Yahoo would accept ``code`` (a canonical code) in item_code."""
    item, sep, sub = code.partition(":")
    if not _CODE_PART_RE.fullmatch(item):
        return False
    return not sep or bool(_CODE_PART_RE.fullmatch(sub))


def join_code(item_code: str, sub_code: str) -> str:
    """The code of an answer's ItemCode/SubCode pair (SubCode empty when none)."""
    return f"{item_code}:{sub_code}" if sub_code else item_code


def match_codes(asked: Sequence[str], answered: Sequence[str]) -> dict[str, str]:
    """Map each answered code to the asked one: exact first, then ignoring case."""
    exact = set(asked)
    folded = {code.casefold(): code for code in asked}
    out: dict[str, str] = {}
    for code in answered:
        if code in exact:
            out[code] = code
        elif code.casefold() in folded:
            out[code] = folded[code.casefold()]
    return out


# --------------------------------------------------------------------------- XML helpers


def parse_xml(content: bytes) -> ET.Element | None:
    """The document's root, or None when the body is not XML (a proxy or maintenance page)."""
    if not content.strip():
        return None
    try:
        return ET.fromstring(content)
    except ET.ParseError:
        return None


def local(tag: str) -> str:
    """A tag without its namespace (errors may carry ``xmlns="urn:yahoo:api"``, §5)."""
    return tag.rsplit("}", 1)[-1]


def children(element: ET.Element, name: str) -> Iterator[ET.Element]:
    """Direct children named ``name``, whatever their namespace."""
    return (child for child in element if local(child.tag) == name)


def child(element: ET.Element | None, name: str) -> ET.Element | None:
    """The first direct child named ``name``."""
    if element is None:
        return None
    return next(children(element, name), None)


def text(element: ET.Element | None, name: str) -> str:
    """Stripped text of the first child named ``name`` ('' when absent or empty)."""
    found = child(element, name)
    return (found.text or "").strip() if found is not None else ""


def int_or_none(value: str) -> int | None:
    """An integer, or None for '' and anything else that is not one."""
    try:
        return int(value)
    except ValueError:
        return None


def to_bytes(root: ET.Element) -> bytes:
    """A request document with its XML declaration, UTF-8."""
    return (XML_DECLARATION + ET.tostring(root, encoding="unicode")).encode()


def _sub(parent: ET.Element, name: str, value: str | None = None) -> ET.Element:
    element = ET.SubElement(parent, name)
    if value is not None:
        element.text = value
    return element


# --------------------------------------------------------------------------- errors


class TokenRejected(AuthError):
    """401 ``invalid_token``: the access token expired or was revoked; refresh once."""


class SessionRejected(AuthError):
    """``px-04102``: the order API session ended (public-key signature missing or wrong)."""


@dataclass(frozen=True)
class ErrorBody:
    """What an ``<Error>`` body (§5) or a ``WWW-Authenticate`` header says."""

    code: str = ""
    message: str = ""
    bearer_error: str = ""
    """``invalid_token`` / ``insufficient_scope`` from WWW-Authenticate or the message."""


_BEARER_ERROR_RE = re.compile(r'error="([a-z_]+)"')


def error_body(response: httpx.Response) -> ErrorBody:
    """Code, message and bearer error of an error response (any part may be '')."""
    root = parse_xml(response.content)
    code = message = ""
    if root is not None and local(root.tag) == "Error":
        code = text(root, "Code")
        message = " ".join(text(root, "Message").split())
    header = response.headers.get("WWW-Authenticate", "")
    match = _BEARER_ERROR_RE.search(header) or _BEARER_ERROR_RE.search(message)
    return ErrorBody(code=code, message=message, bearer_error=match.group(1) if match else "")


IP_HINT = (
    "Yahoo!デベロッパーネットワークの「アプリケーションの管理」で、このボットを動かすサーバーの"
    "IPアドレスがリクエスト元IPとして登録されているか確認してください"
)
FORBIDDEN_HINT = (
    "Yahoo が呼び出しを拒否しました。1日のリクエスト上限（50,000回）の超過、"
    "リクエスト元IPの未登録、または Client ID の誤りが考えられます"
)
REAUTH_HINT = "python -m bot auth yahoo で再認可してください"
PUBLIC_KEY_HINT = (
    "ストアクリエイターPro の 設定 → 暗号鍵管理 で公開鍵が有効・期限内か、"
    "ZAIKO_YAHOO_PUBLIC_KEY と public_key_version がその鍵と一致しているか確認してください"
)


def classify(
    response: httpx.Response, *, now: datetime, secrets: Sequence[str]
) -> MallError | None:
    """Read a store API response: None for success, else the error it means (§1, §4, §5).

    The HTTP status decides, refined by Yahoo's code: 401 ``invalid_token`` is worth one
    token refresh, ``px-04102`` means the public-key signature was refused, 403 is an
    unregistered IP (``px-04306``, UNCONFIRMED) or the daily cap, 429 and 5xx are
    retried, any other 4xx refuses the content (``st-02101`` bad item_code, …).
    A 2xx whose body is not XML is a maintenance page, not an answer.
    """
    status = response.status_code
    if status < 400:
        root = parse_xml(response.content)
        if root is None:
            return TransientError(f"Yahoo: 応答を読み取れませんでした（HTTP {status}）")
        if local(root.tag) != "Error":
            return None
    body = error_body(response)
    detail = redact(" ".join(p for p in (body.code, body.message) if p), secrets)
    suffix = f"（HTTP {status}{' ' + detail if detail else ''}）"
    return _auth_error(status, body, suffix) or _other_error(response, status, body, suffix, now)


def _auth_error(status: int, body: ErrorBody, suffix: str) -> MallError | None:
    if body.code == "px-04102":
        return SessionRejected(f"Yahoo: 注文APIの認証が切れました{suffix}。{PUBLIC_KEY_HINT}")
    if body.code == "px-04306":
        return AuthError(f"Yahoo: 許可されていないIPアドレスからの呼び出しです{suffix}。{IP_HINT}")
    if body.code == "px-04303":
        return AuthError(
            f"Yahoo: このアプリケーションは注文APIの利用申請が承認されていません{suffix}。"
            "Yahoo!デベロッパーネットワークのショッピングAPI利用申請フォームから申請してください"
        )
    if status == 401 and body.bearer_error == "invalid_token":
        return TokenRejected(f"Yahoo: アクセストークンが無効です{suffix}")
    if status == 401 and body.bearer_error == "insufficient_scope":
        return AuthError(
            f"Yahoo: このアプリケーションにはストア向けAPIの権限がありません{suffix}。"
            "「ストア向け操作関連の機能」スコープのある Client ID を使ってください"
        )
    if status == 401:
        return AuthError(f"Yahoo: 認証エラー{suffix}。{REAUTH_HINT}")
    if status == 403:
        return AuthError(f"Yahoo: 呼び出しが拒否されました{suffix}。{FORBIDDEN_HINT}")
    return None


def _other_error(
    response: httpx.Response, status: int, body: ErrorBody, suffix: str, now: datetime
) -> MallError:
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now)
        return RateLimited(f"Yahoo: リクエスト数の上限を超えました{suffix}", retry_after)
    if status == 409 or status >= 500:
        return TransientError(f"Yahoo: 一時的なエラー{suffix}")
    # Any other 4xx, or an <Error> body with a 2xx: the content was refused.
    return MallRejected(f"Yahoo: リクエストが拒否されました{suffix}", code=body.code)


# --------------------------------------------------------------------------- stock


@dataclass(frozen=True)
class StockRow:
    """One getStock ``<Result>``: Status 1 found (with its Quantity), 0 not found (§2)."""

    code: str
    found: bool
    quantity: int | None
    """None for an empty Quantity (the unlimited stock abolished in 2018)."""


@dataclass(frozen=True)
class StockAnswer:
    """A getStock ResultSet: its rows and the ``ok``/``ng`` counts of its root."""

    rows: tuple[StockRow, ...]
    ok: int | None
    ng: int | None


def parse_get_stock(root: ET.Element) -> StockAnswer:
    """``<ResultSet ok ng><Result><ItemCode/><SubCode/><Status/><Quantity/>…`` (§2)."""
    rows = tuple(
        StockRow(
            code=join_code(text(result, "ItemCode"), text(result, "SubCode")),
            found=text(result, "Status") == "1",
            quantity=int_or_none(text(result, "Quantity")),
        )
        for result in children(root, "Result")
    )
    return StockAnswer(
        rows=rows, ok=int_or_none(root.get("ok", "")), ng=int_or_none(root.get("ng", ""))
    )


def parse_set_stock(root: ET.Element) -> dict[str, int | None]:
    """Rows of setStock's ``<Result><ItemCode/><SubCode/><Quantity/>`` rows: code → stock after (§2)."""
    return {
        join_code(text(result, "ItemCode"), text(result, "SubCode")): int_or_none(
            text(result, "Quantity")
        )
        for result in children(root, "Result")
    }


# --------------------------------------------------------------------------- orders


def format_order_time(when: datetime, *, ceil: bool = False) -> str:
    """``20261123090000`` in JST; ``ceil`` rounds a fraction of a second up."""
    jst = to_jst(when)
    if ceil and jst.microsecond:
        jst = jst.replace(microsecond=0) + timedelta(seconds=1)
    return jst.strftime(ORDER_TIME_FORMAT)


def parse_order_time(value: str) -> datetime | None:
    """An OrderTime (ISO 8601 with offset, or YYYYMMDDhhmmss meant as JST)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = datetime.strptime(value, ORDER_TIME_FORMAT)
        except ValueError:
            return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=JST)


def order_list_request(
    seller_id: str,
    *,
    start: int,
    result: int,
    time_from: datetime,
    time_to: datetime,
    statuses: Sequence[int] = (),
    fields: Sequence[str],
) -> bytes:
    """``<Req><Search>…</Search><SellerId/></Req>`` for orderList (§3)."""
    req = ET.Element("Req")
    search = _sub(req, "Search")
    _sub(search, "Result", str(result))
    _sub(search, "Start", str(start))
    _sub(search, "Sort", "+order_time")
    condition = _sub(search, "Condition")
    _sub(condition, "OrderTimeFrom", format_order_time(time_from))
    _sub(condition, "OrderTimeTo", format_order_time(time_to, ceil=True))
    if statuses:
        _sub(condition, "OrderStatus", ",".join(str(s) for s in statuses))
    _sub(search, "Field", ",".join(fields))
    _sub(req, "SellerId", seller_id)
    return to_bytes(req)


@dataclass(frozen=True)
class OrderSummary:
    """One orderList ``<OrderInfo>`` with the fields the adapter asks for."""

    order_id: str
    ordered_at: datetime | None
    status: int | None


def parse_order_list(root: ET.Element) -> tuple[int, list[OrderSummary]]:
    """(TotalCount, orders of this page) from ``<Result><Search>…`` (§3)."""
    search = child(root, "Search")
    total = int_or_none(text(search, "TotalCount")) or 0
    orders = [
        OrderSummary(
            order_id=text(info, "OrderId"),
            ordered_at=parse_order_time(text(info, "OrderTime")),
            status=int_or_none(text(info, "OrderStatus")),
        )
        for info in (children(search, "OrderInfo") if search is not None else iter(()))
        if text(info, "OrderId")
    ]
    return total, orders


def order_info_request(seller_id: str, order_id: str, fields: Sequence[str]) -> bytes:
    """``<Req><Target><OrderId/><Field/></Target><SellerId/></Req>`` for orderInfo (§3)."""
    req = ET.Element("Req")
    target = _sub(req, "Target")
    _sub(target, "OrderId", order_id)
    _sub(target, "Field", ",".join(fields))
    _sub(req, "SellerId", seller_id)
    return to_bytes(req)


@dataclass(frozen=True)
class OrderItem:
    """One ``<Item>`` of orderInfo: a line of the order."""

    line_id: str
    code: str
    quantity: int


@dataclass(frozen=True)
class OrderDetail:
    """What orderInfo says of one order now."""

    order_id: str
    ordered_at: datetime | None
    status: int | None
    items: tuple[OrderItem, ...]


def parse_order_info(root: ET.Element) -> OrderDetail | None:
    """``<ResultSet><Result><Status>OK</Status><OrderInfo>…<Item>…`` (§3); None if absent."""
    result = child(root, "Result") if local(root.tag) == "ResultSet" else root
    info = child(result, "OrderInfo")
    if info is None or not text(info, "OrderId"):
        return None
    items = tuple(
        OrderItem(
            line_id=text(item, "LineId"),
            code=join_code(text(item, "ItemId"), text(item, "SubCode")),
            quantity=max(int_or_none(text(item, "Quantity")) or 0, 0),
        )
        for item in children(info, "Item")
    )
    return OrderDetail(
        order_id=text(info, "OrderId"),
        ordered_at=parse_order_time(text(info, "OrderTime")),
        status=int_or_none(text(info, "OrderStatus")),
        items=items,
    )
