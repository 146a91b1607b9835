"""Channel adapters and the explicit registry of them.

A channel is added by one line here (plus its module, its simulator and tests): the
module declares everything else about itself (``Adapter.channel``, ``Adapter.Config``,
``Adapter.from_config``). Nothing is discovered by file or class name, so a misnamed
module cannot be skipped silently. Everything that needs the channels reads
:data:`ADAPTERS` when it runs, never at import, so a test may register one more.
"""

from __future__ import annotations

from adapters.amazon import AmazonAdapter
from adapters.base import Channel, MallAdapter
from adapters.colorme import ColorMeAdapter
from adapters.rakuten import RakutenAdapter
from adapters.shopify import ShopifyAdapter
from adapters.thebase import TheBaseAdapter
from adapters.yahoo import YahooAdapter

ADAPTERS: dict[str, type[MallAdapter]] = {
    RakutenAdapter.channel.key: RakutenAdapter,
    YahooAdapter.channel.key: YahooAdapter,
    AmazonAdapter.channel.key: AmazonAdapter,
    ShopifyAdapter.channel.key: ShopifyAdapter,
    ColorMeAdapter.channel.key: ColorMeAdapter,
    TheBaseAdapter.channel.key: TheBaseAdapter,
}


def channel(key: str) -> Channel:
    """The declaration of a registered channel (KeyError for an unknown key)."""
    return ADAPTERS[key].channel


def channels(keys: list[str] | None = None) -> list[Channel]:
    """Declarations of the given (default: every registered) channel, in registry order."""
    wanted = list(ADAPTERS) if keys is None else keys
    return [ADAPTERS[key].channel for key in ADAPTERS if key in wanted]


__all__ = ["ADAPTERS", "channel", "channels"]
