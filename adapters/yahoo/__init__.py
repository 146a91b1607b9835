"""Yahoo!ショッピング: the adapter, its settings, and the one-time login for ``auth yahoo``.

- :mod:`adapters.yahoo.adapter` — :class:`YahooAdapter`, :class:`YahooConfig`, ``YAHOO``
- :mod:`adapters.yahoo.auth` — YConnect v2 tokens, the order APIs' public-key signature
- :mod:`adapters.yahoo.wire` — XML bodies, codes, what an answer means

The CLI's ``auth yahoo`` needs only :func:`authorization_url`, :func:`exchange_code`
and :func:`save_tokens` (into the channel's TokenStore).
"""

from __future__ import annotations

from adapters.oauth import save_tokens
from adapters.yahoo.adapter import YAHOO, YahooAdapter, YahooConfig
from adapters.yahoo.auth import TokenSet, authorization_url, exchange_code

__all__ = [
    "YAHOO",
    "TokenSet",
    "YahooAdapter",
    "YahooConfig",
    "authorization_url",
    "exchange_code",
    "save_tokens",
]
