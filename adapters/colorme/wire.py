"""カラーミーショップ API v1 wire helpers: what an answer means, products as read (no state).

Sources, cited beside each fact below:

- [CM-readme] the official SDK's README (GMO Pepabo), generated from the API's own
  description: OAuth, token lifetime, the error envelope.
  https://github.com/pepabo/colormeshop-ruby/blob/e280973/README.md
- [CM-spec] the OpenAPI types generated from https://api.shop-pro.jp/v1/swagger.json:
  https://github.com/ryhrm-gz/colormeshop-js/blob/b0aa5e1/src/generated/types.gen.ts
- [CM-limit] APIの呼び出し制限 https://shop-pro.jp/?mode=api_call_limit (quoted at
  https://naeco.jp/colorme-shop-api-practice): 120 requests a minute per access token.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import httpx

from adapters.base import (
    AuthError,
    MallError,
    MallRejected,
    RateLimited,
    TransientError,
    json_or_none,
    redact,
)
from adapters.base import parse_retry_after as _retry_after
from adapters.colorme.codes import variant_key
from bot.infra.clock import to_jst

_T = TypeVar("_T")

# {"errors": [{"code": 404100, "message": "レコードが見つかりませんでした。", "status": 404}]}
# is the one documented error (its envelope is the API's only error shape). [CM-readme]
RECORD_NOT_FOUND = 404100
# The date search parameters are plain strings in the spec [CM-spec]; public clients send
# "2024-01-01" and "2024-01-31 23:59:59". Whether a time of day is honoured, and in which
# zone, is UNCONFIRMED: the adapter sends JST wall time and never relies on precision
# (a date-only reading only widens the window; repeated lines are harmless, §4.2).
DATETIME_PARAM_FORMAT = "%Y-%m-%d %H:%M:%S"

REAUTH_HINT = (
    "アクセストークンが取り消されたか、必要な権限（read_products・write_products・read_sales）が"
    "ない可能性があります"
)


class RecordNotFound(MallRejected):
    """404 with the documented 404100 body: the product or sale does not exist."""


class RouteNotFound(MallRejected):
    """404 without the API's error envelope: the path itself is unknown (``.json`` or not)."""


def error_details(body: Any) -> tuple[str, str]:
    """(code, message) of the first element of ``{"errors": [...]}``; '' when absent."""
    if not isinstance(body, dict) or not isinstance(body.get("errors"), list):
        return "", ""
    for item in body["errors"]:
        if isinstance(item, dict):
            return str(item.get("code") or ""), str(item.get("message") or "")
    return "", ""


def classify(
    response: httpx.Response, *, now: datetime, secrets: Sequence[str]
) -> MallError | None:
    """Read an answer: HTTP status first, then the ``errors`` envelope [CM-readme]."""
    status = response.status_code
    if status < 400:
        return None
    body = json_or_none(response)
    code, message = error_details(body)
    detail = redact(" ".join(p for p in (code, message) if p), secrets)
    suffix = f"（HTTP {status}{' ' + detail if detail else ''}）"
    if status in (401, 403):
        # A revoked token and a token without the needed scope both end here: either
        # way only the owner can fix it (authorize the app again). [CM-readme]
        return AuthError(f"カラーミー: 認証エラー{suffix}。{REAUTH_HINT}")
    if status == 429:
        # 120 requests/min is a guideline that is not enforced today but may be [CM-limit];
        # a 429 is read as the usual "slow down", with its Retry-After when given.
        retry_after = _retry_after(response.headers.get("Retry-After"), now)
        return RateLimited(f"カラーミー: リクエスト数の上限を超えました{suffix}", retry_after)
    if status == 409 or status >= 500:
        return TransientError(f"カラーミー: 一時的なエラー{suffix}")
    if status == 404:
        if code == str(RECORD_NOT_FOUND):
            return RecordNotFound(f"カラーミー: 見つかりません{suffix}", code=code)
        return RouteNotFound(f"カラーミー: APIのURLが見つかりません{suffix}", code=code)
    return MallRejected(f"カラーミー: リクエストが拒否されました{suffix}", code=code)


def format_param(when: datetime) -> str:
    """A date search parameter: JST wall time, whole seconds."""
    return to_jst(when).strftime(DATETIME_PARAM_FORMAT)


def int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


@dataclass(frozen=True)
class Variant:
    """One option combination as the product read showed it."""

    option1: str | None
    option2: str | None
    stocks: int | None

    @property
    def key(self) -> str:
        return variant_key(self.option1, self.option2)

    def body(self) -> dict[str, Any]:
        """The identifying part of a ``variants[]`` element: the raw values, as read."""
        out: dict[str, Any] = {"option1_value": self.option1 or ""}
        if self.option2 not in (None, ""):
            out["option2_value"] = self.option2
        return out


@dataclass(frozen=True)
class Product:
    """What a stock read needs of one product [CM-spec] (``stocks``, ``variants``)."""

    product_id: int
    stock_managed: bool
    stocks: int | None
    variants: dict[str, Variant] = field(default_factory=dict)
    """Folded option key → variant."""

    @property
    def per_option(self) -> bool:
        """Stock is kept per variant: "商品オプションごとに在庫管理している場合" [CM-spec].

        The API has no flag for it; a variant with a number in ``stocks`` is read as
        the sign (a product managed as a whole shows ``null`` per variant). Which
        number the product's own ``stocks`` then holds (the sum, or null) is
        UNCONFIRMED and never read.
        """
        return any(v.stocks is not None for v in self.variants.values())


def parse_product(item: Any) -> Product | None:
    """A ``product`` object of a read or a PUT answer; None when it names no product."""
    if not isinstance(item, dict):
        return None
    product_id = int_or_none(item.get("id"))
    if product_id is None:
        return None
    variants: dict[str, Variant] = {}
    for raw in item.get("variants") or []:
        if not isinstance(raw, dict):
            continue
        variant = Variant(
            option1=_text_or_none(raw.get("option1_value")),
            option2=_text_or_none(raw.get("option2_value")),
            stocks=int_or_none(raw.get("stocks")),
        )
        if variant.key:
            variants.setdefault(variant.key, variant)
    return Product(
        product_id=product_id,
        stock_managed=item.get("stock_managed") is not False,
        stocks=int_or_none(item.get("stocks")),
        variants=variants,
    )


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)
