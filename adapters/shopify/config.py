"""``[malls.shopify]`` and the channel's declaration."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from typing import ClassVar

from pydantic import SecretStr, field_validator

from adapters.base import Channel, ChannelConfig, Url

# Newest stable version docs/api/shopify.md lists (§1.1). Shopify releases one each
# quarter and supports each for at least a year (https://shopify.dev/docs/api/usage/versioning).
DEFAULT_API_VERSION = "2026-04"
# https://shopify.dev/docs/api/usage/versioning: stable versions are YYYY-MM.
_VERSION_RE = re.compile(r"20\d\d-(01|04|07|10)")
# A shop's permanent *.myshopify.com handle (letters, digits, hyphens).
_HANDLE_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
MYSHOPIFY = ".myshopify.com"
# The admin's address bar: https://admin.shopify.com/store/<handle>/…
ADMIN_HOST = "admin.shopify.com"


def normalize_shop(value: str) -> str:
    """``example``, ``example.myshopify.com`` or a pasted admin URL → ``example.myshopify.com``.

    The Admin API answers only on the permanent ``*.myshopify.com`` domain (§1.1), not
    on a shop's own domain. ``https://admin.shopify.com/store/example/…`` (the admin's
    address bar) names the same shop.
    """
    text = value.strip().lower()
    if not text:
        return ""
    if "://" in text:
        url = urllib.parse.urlsplit(text)
        if url.hostname == ADMIN_HOST:
            parts = [p for p in url.path.split("/") if p]
            text = parts[1] if len(parts) > 1 and parts[0] == "store" else ""
        else:
            text = url.hostname or ""
    text = text.split("/", 1)[0]
    handle = text.removesuffix(MYSHOPIFY)
    if "." in handle or not _HANDLE_RE.fullmatch(handle):
        raise ValueError(
            f"Shopify のショップは example.myshopify.com の形で入力してください（{value!r}）。"
            "独自ドメインではなく、管理画面の 設定 → ドメイン にある myshopify.com のドメインです"
        )
    return handle + MYSHOPIFY


class ShopifyConfig(ChannelConfig):
    """``[malls.shopify]``: the Admin GraphQL API of one shop.

    The secret ``ZAIKO_SHOPIFY_ACCESS_TOKEN`` is the app's Admin API access token
    (``shpat_…``) with the scopes read_products, read_inventory, write_inventory,
    read_locations and read_orders.
    """

    required: ClassVar[Mapping[str, str]] = {
        "access_token": "Admin API アクセストークン",
    }

    base_url: Url = ""
    """'' = ``https://<shop>`` (set only to route through a proxy)."""
    shop: str = ""
    """``example.myshopify.com`` (``example`` or a pasted admin URL are accepted)."""
    api_version: str = DEFAULT_API_VERSION
    location: str = ""
    """The location the bot owns: its name or id; '' when the shop has only one."""
    restocks_on_cancel: bool = True
    """A cancel that left no refund line items put the units back (UNCONFIRMED)."""
    access_token: SecretStr | None = None

    @field_validator("shop")
    @classmethod
    def _shop(cls, value: str) -> str:
        return normalize_shop(value)

    @field_validator("api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        value = value.strip()
        if not _VERSION_RE.fullmatch(value):
            raise ValueError(
                f"api_version は 2026-04 のような YYYY-MM（01/04/07/10 月）で入力してください（{value!r}）"
            )
        return value

    def shop_url(self) -> str:
        """Where the Admin API is: ``base_url``, else the shop's own myshopify.com host."""
        if self.base_url:
            return self.base_url
        return f"https://{self.shop}" if self.shop else ""


SHOPIFY = Channel(
    key="shopify",
    label="Shopify",
    name="Shopify",
    aliases=("ショッピファイ", "shopify"),
    code_note=(
        "Shopify のバリエーションの SKU（大文字小文字も正確に）。複数あるときはカンマ（,）区切り。"
        "同じ SKU のバリエーションが 2 つ以上あると更新しません。空欄＝Shopifyでは売っていない。"
    ),
    auth_hint=(
        "Shopify 管理画面の 設定 → アプリと販売チャネル → アプリを開発 で、アプリの Admin API "
        "アクセストークン（shpat_…）と権限（read_products・read_inventory・write_inventory・"
        "read_locations・read_orders）を確認し、環境変数 ZAIKO_SHOPIFY_ACCESS_TOKEN と "
        "[malls.shopify] shop を直してからボットを再起動してください。"
    ),
    expiry_note="Admin API アクセストークンに期限はありません（アプリをアンインストールすると無効になります）",
)
