"""What OAuth2 channels share: where the newest refresh token and its expiry are kept.

Channels whose refresh tokens rotate (Yahoo, BASE) keep them through the TokenStore the
composition root hands them (encrypted in ``_state`` by the worker), under the same two
names, so ``check`` and the adapters read them the same way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from adapters.base import TokenStore

REFRESH_TOKEN_KEY = "refresh_token"
"""TokenStore key of the newest refresh token."""
REFRESH_EXPIRES_KEY = "refresh_token_expires_at"
"""TokenStore key of its expiry (ISO 8601, '' when unknown)."""


class RefreshGrant(Protocol):
    """A token answer that may carry a new refresh token."""

    @property
    def refresh_token(self) -> str | None:
        """The new refresh token, None when the answer carried none."""
        ...

    @property
    def refresh_expires_at(self) -> datetime | None:
        """When it expires, if known."""
        ...


def save_tokens(store: TokenStore, tokens: RefreshGrant) -> None:
    """Keep the refresh token and its expiry where the adapter looks for them."""
    if tokens.refresh_token is None:
        return
    store.save(REFRESH_TOKEN_KEY, tokens.refresh_token)
    expires = tokens.refresh_expires_at
    store.save(REFRESH_EXPIRES_KEY, expires.isoformat() if expires is not None else "")


def stored_refresh_expiry(store: TokenStore) -> datetime | None:
    """When the stored refresh token expires, if known."""
    raw = store.load(REFRESH_EXPIRES_KEY) or ""
    try:
        return datetime.fromisoformat(raw) if raw else None
    except ValueError:
        return None
