"""What OAuth2 channels share: where the newest refresh token and its expiry are kept.

Channels whose refresh tokens rotate (Yahoo, BASE) keep them through the TokenStore the
composition root hands them (encrypted in ``_state`` by the worker), under the same two
names, so ``check`` and the adapters read them the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol, TypeVar

from adapters.base import AuthError, TokenStore

G = TypeVar("G", bound="RefreshGrant")

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


class GrantRejected(AuthError):
    """The token endpoint refused a refresh token or an authorization code."""


def refresh_candidates(store: TokenStore, configured: str) -> list[str]:
    """Refresh tokens to try, newest first: the one kept in the store, then the configured."""
    stored = store.load(REFRESH_TOKEN_KEY) or ""
    return [t for t in dict.fromkeys([stored, configured]) if t]


def first_granted(candidates: list[str], grant: Callable[[str], G], missing: str) -> tuple[G, str]:
    """The first refresh token the endpoint accepts, with what it granted.

    A stale stored token is refused while the configured one may be newer, so each is
    tried in turn; :class:`GrantRejected` of the last is raised when none works, and
    :class:`AuthError` (``missing``) when there is none at all.
    """
    if not candidates:
        raise AuthError(missing)
    refused: GrantRejected | None = None
    for candidate in candidates:
        try:
            return grant(candidate), candidate
        except GrantRejected as err:
            refused = err
    assert refused is not None
    raise refused


def keep_refresh_token(store: TokenStore, tokens: RefreshGrant, used: str) -> None:
    """After a refresh: keep a rotated token, or the configured one that worked."""
    if tokens.refresh_token is not None and tokens.refresh_token != used:
        save_tokens(store, tokens)  # rotated: keep the newest
    elif store.load(REFRESH_TOKEN_KEY) != used:
        # The configured token works where the stored one did not (or none was
        # stored): keep it, its issue date (and so its expiry) unknown.
        store.save(REFRESH_TOKEN_KEY, used)
        store.save(REFRESH_EXPIRES_KEY, "")
