"""カラーミーショップ codes as staff type them: ``商品ID`` or ``商品ID:オプション値``.

The API names a product by its numeric 商品ID and a variant (one combination of at
most two options) only by its option values: a stock update sends
``variants[]{option1_value, option2_value, stocks}`` and an order line carries
``product_id``, ``option1_value`` and ``option2_value``; neither has a variant id
(https://github.com/ryhrm-gz/colormeshop-js/blob/b0aa5e1/src/generated/types.gen.ts,
generated from the official https://api.shop-pro.jp/v1/swagger.json). So a variant's
code is ``商品ID:オプション1の値`` or ``商品ID:オプション1の値:オプション2の値``.

Sheet cells reach the bot after NFKC, and option values are free text on カラーミー
(``Ｍ`` and ``M`` are different values there), so codes compare in a *folded* form (NFKC,
parts trimmed); the adapter maps a folded code back to the raw values of the product
it read before sending anything.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_PRODUCT_ID_RE = re.compile(r"\d{1,18}")
_EXAMPLE = "例 123456789 または 123456789:レッド:M"


def fold(text: str) -> str:
    """The form two option values are compared in: NFKC, surrounding spaces removed."""
    return unicodedata.normalize("NFKC", text).strip()


@dataclass(frozen=True)
class ColorMeCode:
    """A parsed code: the product and, for a variant, its folded option values."""

    product_id: int
    options: str = ""
    """``オプション1の値`` or ``オプション1の値:オプション2の値`` (folded); '' for the product."""

    @property
    def text(self) -> str:
        """The canonical code."""
        return f"{self.product_id}:{self.options}" if self.options else str(self.product_id)


def parse_code(code: str) -> ColorMeCode | None:
    """The code's parts, or None when カラーミー could never hold it (see :func:`code_problem`)."""
    head, sep, rest = fold(code).partition(":")
    head = head.strip()
    if not _PRODUCT_ID_RE.fullmatch(head):
        return None
    options = ":".join(part.strip() for part in rest.split(":")) if sep else ""
    if sep and (not options or any(not part for part in options.split(":"))):
        return None
    return ColorMeCode(int(head), options)


def canonical_code(code: str) -> str:
    """``商品ID[:値1[:値2]]`` folded, leading zeros of the id dropped; other text trimmed.

    A code already in canonical form comes back as the same object (no duplicate string
    per listing).
    """
    parsed = parse_code(code)
    folded = parsed.text if parsed is not None else fold(code)
    return code if folded == code else folded


def variant_key(option1: object, option2: object) -> str:
    """The folded option part of a variant's code, from the raw values the API returns."""
    first = fold(str(option1)) if option1 not in (None, "") else ""
    second = fold(str(option2)) if option2 not in (None, "") else ""
    return f"{first}:{second}" if second else first


def line_code(product_id: int, option1: object, option2: object) -> str:
    """The canonical code of an order line's product and option values."""
    options = variant_key(option1, option2)
    return f"{product_id}:{options}" if options else str(product_id)


def code_problem(code: str) -> str | None:
    """Why ``code`` can never be a カラーミー listing, in the words staff read; None if it may be."""
    text = fold(code)
    head, sep, rest = text.partition(":")
    if not head.strip():
        return f"「:」の前に商品IDを書いてください（{_EXAMPLE}）"
    if not _PRODUCT_ID_RE.fullmatch(head.strip()):
        return (
            f"商品ID『{head.strip()}』は数字で書いてください。商品IDは管理画面の商品URL"
            f"（…/product/123456789 など）の数字です（{_EXAMPLE}）"
        )
    if sep:
        parts = [part.strip() for part in rest.split(":")]
        if any(not part for part in parts):
            return f"「:」のあとのオプションの値が空です（{_EXAMPLE}）"
    return None
