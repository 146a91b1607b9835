"""BASE's OAuth 2.0: the one-time login of ``auth base`` and the adapter's token session.

- :class:`TheBaseAuthorization` is what ``python -m bot auth base`` runs: the consent
  page (:func:`authorization_url`), then the code from the redirect traded for tokens
  (:func:`exchange_code`), kept in the channel's TokenStore (encrypted in ``_state``).
- :class:`TokenSession` gives the adapter a valid access token: refreshed before its
  hour is up, and once more when the API refuses it; every refresh token BASE hands
  back is kept as the newest, so a rotated one survives a restart.

Sources (``docs/api/other-channels.md`` §4, the official docs at commit 2760123):
[B-authorize] https://github.com/baseinc/api-docs/blob/2760123/base_api_v1_oauth_authorize.md
[B-token]     https://github.com/baseinc/api-docs/blob/2760123/base_api_v1_oauth_access_token.md
[B-refresh]   https://github.com/baseinc/api-docs/blob/2760123/base_api_v1_oauth_refresh_token.md
[B-readme]    https://github.com/baseinc/api-docs/blob/2760123/README.md
"""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from adapters.base import (
    AuthError,
    MallError,
    RateLimited,
    TokenStore,
    TransientError,
    parse_retry_after,
    redact,
)
from adapters.oauth import (
    REFRESH_TOKEN_KEY,
    GrantRejected,
    first_granted,
    keep_refresh_token,
    refresh_candidates,
    save_tokens,
    stored_refresh_expiry,
)
from adapters.thebase.wire import LIMIT_CODES, REAUTH_HINT, Wire, error_code, json_body

AUTHORIZE_PATH = "/1/oauth/authorize"  # [B-authorize]
TOKEN_PATH = "/1/oauth/token"  # [B-token][B-refresh]
# Space-separated scopes [B-authorize]; read_users is always granted [B-readme]. Stock
# writes need write_items, reads read_items, orders read_orders.
SCOPE = "read_users read_items write_items read_orders"
# "アクセストークン…有効期限は1時間", "リフレッシュトークン…有効期限は30日" [B-token][B-refresh]
ACCESS_TOKEN_LIFETIME = timedelta(hours=1)
REFRESH_TOKEN_LIFETIME = timedelta(days=30)

ACCESS_TOKEN_KEY = "access_token"
"""TokenStore key of the current access token and its expiry (``<expiry ISO> <token>``)."""

# The token endpoint's descriptions that mean the code or refresh token is dead: only a
# new login fixes that. [B-token][B-refresh]
DEAD_GRANT_WORDS: tuple[str, ...] = ("リフレッシュトークン", "認可コード")


@dataclass(frozen=True)
class TokenSet:
    """What the token endpoint handed out (the tokens never show in ``repr``)."""

    access_token: str = field(repr=False)
    access_expires_at: datetime
    refresh_token: str | None = field(default=None, repr=False)
    refresh_expires_at: datetime | None = None


def authorization_url(
    base_url: str, client_id: str, redirect_uri: str, *, state: str, scope: str = SCOPE
) -> str:
    """The page the shop owner opens to let the bot in (``response_type=code``). [B-authorize]"""
    query = urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": scope,
            "state": state,
        },
        quote_via=urllib.parse.quote,
    )
    return f"{base_url.rstrip('/')}{AUTHORIZE_PATH}?{query}"


def token_error(
    response: httpx.Response, secrets: Sequence[str], now: datetime
) -> MallError | None:
    """Read a token endpoint answer: None for tokens, else the error it means. [B-refresh]

    Every refusal is a 400: ``invalid_request`` with a description naming the refresh
    token or the code means the grant is dead; ``unauthorized_client`` and a missing
    client secret are about the application's credentials; ``server_error`` ("DB error")
    and 5xx are worth retrying.
    """
    status = response.status_code
    code, description = error_code(response)
    if status == 200 and not code and isinstance(json_body(response).get("access_token"), str):
        return None
    detail = redact(f"（HTTP {status} {code} {description}".rstrip() + "）", secrets)
    if code in LIMIT_CODES or status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now)
        return RateLimited(f"BASE: トークン発行の呼び出しが多すぎます{detail}", retry_after)
    if status >= 500 or status == 200 or code == "server_error":
        return TransientError(f"BASE: トークン発行で一時的なエラー{detail}")
    if code == "invalid_grant" or any(word in description for word in DEAD_GRANT_WORDS):
        return GrantRejected(
            f"BASE: リフレッシュトークンが無効か期限切れです{detail}。{REAUTH_HINT}"
        )
    if code in ("unauthorized_client", "invalid_client") or "client_" in description:
        return AuthError(
            f"BASE: client_id または client_secret が正しくないか、アプリが停止中です{detail}。"
            "ZAIKO_BASE_CLIENT_ID と ZAIKO_BASE_CLIENT_SECRET を確認してください"
        )
    return AuthError(f"BASE: トークンを発行できませんでした{detail}。{REAUTH_HINT}")


def parse_token_response(response: httpx.Response, now: datetime) -> TokenSet:
    """Tokens and expiries from a 200 answer (``expires_in`` defaults to 1 h). [B-refresh]"""
    body = json_body(response)
    try:
        expires_in = float(body.get("expires_in") or ACCESS_TOKEN_LIFETIME.total_seconds())
    except (TypeError, ValueError):
        expires_in = ACCESS_TOKEN_LIFETIME.total_seconds()
    refresh = body.get("refresh_token")
    refresh_token = refresh if isinstance(refresh, str) and refresh else None
    return TokenSet(
        access_token=str(body["access_token"]),
        access_expires_at=now + timedelta(seconds=expires_in),
        refresh_token=refresh_token,
        refresh_expires_at=now + REFRESH_TOKEN_LIFETIME if refresh_token else None,
    )


def exchange_code(
    client: httpx.Client,
    *,
    base_url: str,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    code: str,
    now: datetime,
) -> TokenSet:
    """Trade the authorization code for tokens (one attempt: a person is waiting). [B-token]"""
    secrets = [s for s in (client_id, client_secret, code) if s]
    form = {
        "grant_type": "authorization_code",
        "client_id": client_id,
        "client_secret": client_secret,
        "code": code,
        "redirect_uri": redirect_uri,
    }
    try:
        response = client.post(f"{base_url.rstrip('/')}{TOKEN_PATH}", data=form)
    except httpx.HTTPError as err:
        raise TransientError(
            redact(f"BASE: 通信エラー（{type(err).__name__}: {err}）", secrets)
        ) from None
    error = token_error(response, secrets, now)
    if error is not None:
        raise error
    tokens = parse_token_response(response, now)
    if tokens.refresh_token is None:
        raise AuthError("BASE: 認可コードの交換でリフレッシュトークンが返されませんでした")
    return tokens


class TokenSession:
    """The adapter's access token: fresh before each call, refreshed once when refused.

    The refresh token comes from the TokenStore (the newest BASE handed out, or the one
    ``auth base`` saved) and falls back to the configured ``ZAIKO_BASE_REFRESH_TOKEN``.
    Whether a refresh hands back a *new* refresh token and kills the old one is
    UNCONFIRMED ([B-refresh] shows one in the answer): a different one is saved as the
    newest, with 30 days from now; the same one keeps the expiry already known, so
    ``check`` never promises more time than BASE gives.
    """

    REFRESH_MARGIN: timedelta = timedelta(minutes=5)
    """Refresh this long before the access token expires (clock skew, slow calls)."""

    def __init__(
        self,
        wire: Wire,
        *,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        configured_refresh_token: str,
        tokens: TokenStore,
    ) -> None:
        self._wire = wire
        self._client_id = client_id
        self._client_secret = client_secret
        self._redirect_uri = redirect_uri
        self._configured = configured_refresh_token
        self._tokens = tokens
        self._access: str | None = None
        self._access_expires: datetime | None = None
        self._refused: str | None = None
        """The last access token the API refused (never taken from the store again)."""
        self._lock = threading.Lock()
        self.refreshes = 0

    def secrets(self) -> list[str]:
        """Every credential this session holds, for :func:`redact`."""
        values = [
            self._client_id,
            self._client_secret,
            self._configured,
            self._tokens.load(REFRESH_TOKEN_KEY) or "",
            (self._tokens.load(ACCESS_TOKEN_KEY) or "").partition(" ")[2],
            self._access or "",
            self._refused or "",
        ]
        return [v for v in values if v]

    def headers(self) -> dict[str, str]:
        """``Authorization: Bearer`` with a valid access token. [B-readme]"""
        return {"Authorization": f"Bearer {self.bearer()}"}

    def bearer(self) -> str:
        """A valid access token, refreshing it when missing or about to expire."""
        with self._lock:
            now = self._wire.clock.now()
            if self._access is None:
                self._access, self._access_expires = self._stored_access()
            expires = self._access_expires
            if self._access is None or expires is None or now >= expires - self.REFRESH_MARGIN:
                self._refresh()
            assert self._access is not None
            return self._access

    def invalidate(self) -> None:
        """Forget the access token (the API refused it): the next call refreshes."""
        with self._lock:
            self._refused = self._access
            self._access = None
            self._access_expires = None

    def _stored_access(self) -> tuple[str | None, datetime | None]:
        """The access token another process of this shop (or this one before a restart) got.

        Keeping it means ``check`` or ``push`` run beside the worker use it instead of a
        refresh of their own, which, if BASE retires the old refresh token on each
        refresh (UNCONFIRMED), would leave the worker holding a dead one.
        """
        raw = self._tokens.load(ACCESS_TOKEN_KEY) or ""
        when, _sep, token = raw.partition(" ")
        if not token or token == self._refused:
            return None, None
        try:
            return token, datetime.fromisoformat(when)
        except ValueError:
            return None, None

    def refresh_expires_at(self) -> datetime | None:
        """When the refresh token in use expires, if known."""
        return stored_refresh_expiry(self._tokens)

    def _refresh(self) -> None:
        if not self._redirect_uri:
            raise AuthError(
                "BASE: zaiko.toml の [malls.base] redirect_uri に、アプリに登録したコールバックURLを"
                "設定してください（トークンの更新にも必要です）"
            )
        tokens, used = first_granted(
            refresh_candidates(self._tokens, self._configured),
            self._grant,
            f"BASE: リフレッシュトークンがありません。{REAUTH_HINT}"
            "（または ZAIKO_BASE_REFRESH_TOKEN を設定してください）",
        )
        self._adopt(tokens, used)

    def _grant(self, refresh_token: str) -> TokenSet:
        secrets = [*self.secrets(), refresh_token]
        now = self._wire.clock.now()
        form = {
            "grant_type": "refresh_token",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "refresh_token": refresh_token,
            "redirect_uri": self._redirect_uri,  # 必須 on refresh too [B-refresh]
        }
        response = self._wire.send(
            "POST",
            TOKEN_PATH,
            headers=dict,
            form=form,
            classify_as=lambda r: token_error(r, secrets, self._wire.clock.now()),
        )
        self.refreshes += 1
        return parse_token_response(response, now)

    def _adopt(self, tokens: TokenSet, used: str) -> None:
        self._access = tokens.access_token
        self._access_expires = tokens.access_expires_at
        self._tokens.save(
            ACCESS_TOKEN_KEY, f"{tokens.access_expires_at.isoformat()} {tokens.access_token}"
        )
        keep_refresh_token(self._tokens, tokens, used)


class TheBaseAuthorization:
    """``python -m bot auth base``: BASE's authorization-code flow. [B-authorize][B-token]

    The owner logs in to BASE and allows the application; the refresh token that comes
    back (30 days) is kept, encrypted in ``_state``, where the adapter looks for it.
    """

    def url(self, config: Any, state: str) -> str:
        """The consent page; ``redirect_uri`` must be the application's registered one."""
        if not config.redirect_uri:
            raise AuthError(
                "BASE: zaiko.toml の [malls.base] redirect_uri に、BASE Developers でアプリに"
                "登録したコールバックURLを設定してください"
            )
        return authorization_url(
            config.base_url, config.secret("client_id"), config.redirect_uri, state=state
        )

    def exchange(
        self, config: Any, client: httpx.Client, code: str, tokens: TokenStore, now: datetime
    ) -> datetime | None:
        """Trade the code for tokens and keep the refresh token; when it expires."""
        got = exchange_code(
            client,
            base_url=config.base_url,
            client_id=config.secret("client_id"),
            client_secret=config.secret("client_secret"),
            redirect_uri=config.redirect_uri,
            code=code,
            now=now,
        )
        save_tokens(tokens, got)
        return got.refresh_expires_at
