"""Yahoo! ID連携 (YConnect v2) tokens and the public-key signature of the order APIs.

Two halves:

- Module-level functions for the one-time human login that ``python -m bot auth yahoo``
  runs: :func:`authorization_url` (the page the owner opens), :func:`exchange_code`
  (the code from the redirect → tokens) and :func:`save_tokens` (into the channel's
  TokenStore, which the worker keeps encrypted in ``_state``).
- :class:`YConnectSession`, which the adapter uses on every call: it refreshes the
  access token before it expires (1 h) and once more when the API calls it
  ``invalid_token``, and keeps whatever refresh token Yahoo hands back.

Sources (``docs/api/yahoo.md`` §1):
[YC-token] https://developer.yahoo.co.jp/yconnect/v2/authorization_code/token.html
[YC-faq]   https://developer.yahoo.co.jp/yconnect/faq.html
[Y-help]   https://developer.yahoo.co.jp/webapi/shopping/help
[Y-faq]    https://developer.yahoo.co.jp/webapi/shopping/faq.html
"""

from __future__ import annotations

import base64
import json
import random
import secrets as secrets_module
import threading
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from adapters.base import (
    AuthError,
    MallError,
    RateLimited,
    TokenBucket,
    TokenStore,
    TransientError,
    parse_retry_after,
    redact,
    request_with_retry,
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
from adapters.yahoo.wire import REAUTH_HINT
from bot.infra.clock import Clock

AUTH_BASE_URL = "https://auth.login.yahoo.co.jp"  # [Y-help] [YC-token]
AUTHORIZATION_PATH = "/yconnect/v2/authorization"  # [Y-help]
TOKEN_PATH = "/yconnect/v2/token"  # [YC-token]
# The scope Yahoo's own help page uses for the store APIs; bail=1 returns to the
# redirect URI when the owner declines instead of stranding them on Yahoo. [Y-help]
SCOPE = "openid profile"

# Access token 3600 s; refresh token 4 weeks. [YC-faq]
ACCESS_TOKEN_LIFETIME = timedelta(seconds=3600)
REFRESH_TOKEN_LIFETIME = timedelta(weeks=4)
# Without public-key authentication the order APIs cut the refresh token to 12 h. [Y-help]
# https://qiita.com/suin/items/6a67c999cfdd613ba497 https://news.sokuhan.jp/ux/20240806
REFRESH_TOKEN_LIFETIME_UNSIGNED = timedelta(hours=12)
# A store's public key is valid for one year.
# https://manual.next-engine.net/main/stock/stk_settei-unyou/zaiko_yahoo/10681/
PUBLIC_KEY_LIFETIME = timedelta(days=365)


# --------------------------------------------------------------------------- tokens


@dataclass(frozen=True)
class TokenSet:
    """What the token endpoint handed out (the tokens never show in ``repr``)."""

    access_token: str = field(repr=False)
    access_expires_at: datetime
    refresh_token: str | None = field(default=None, repr=False)
    """None when a refresh grant returned no new refresh token (UNCONFIRMED, §1)."""
    refresh_expires_at: datetime | None = None


def basic_auth(client_id: str, client_secret: str) -> str:
    """``Basic base64(client_id:client_secret)``: server-side client authentication. [YC-token]"""
    token = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
    return f"Basic {token}"


def authorization_url(
    client_id: str,
    redirect_uri: str,
    *,
    state: str | None = None,
    nonce: str | None = None,
    auth_base_url: str = AUTH_BASE_URL,
) -> str:
    """The page the store owner opens to authorize the bot (``response_type=code``). [Y-help]

    ``redirect_uri`` must be one of the application's registered callback URLs. The
    ``state`` (random when not given) comes back with the code; the caller compares it.
    """
    query = urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": SCOPE,
            "bail": "1",
            "state": state if state is not None else secrets_module.token_urlsafe(16),
            "nonce": nonce if nonce is not None else secrets_module.token_urlsafe(16),
        }
    )
    return f"{auth_base_url.rstrip('/')}{AUTHORIZATION_PATH}?{query}"


def exchange_code(
    client: httpx.Client,
    *,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    now: datetime,
    auth_base_url: str = AUTH_BASE_URL,
    refresh_lifetime: timedelta = REFRESH_TOKEN_LIFETIME,
) -> TokenSet:
    """Trade the authorization code for tokens (one attempt: a person is waiting). [YC-token]

    Raises :class:`AuthError` with a Japanese message when Yahoo refuses the code
    (expired, used twice, other redirect URI) or the client credentials.
    """
    secrets = (client_id, client_secret, code, f"{client_id}:{client_secret}")
    body = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    try:
        response = client.post(
            f"{auth_base_url.rstrip('/')}{TOKEN_PATH}",
            content=urllib.parse.urlencode(body).encode(),
            headers={
                "Authorization": basic_auth(client_id, client_secret),
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
    except httpx.HTTPError as err:
        raise TransientError(
            redact(f"Yahoo: 通信エラー（{type(err).__name__}: {err}）", secrets)
        ) from None
    error = token_error(response, secrets, now)
    if error is not None:
        raise error
    tokens = parse_token_response(response, now, refresh_lifetime)
    if tokens.refresh_token is None:
        raise AuthError("Yahoo: 認可コードの交換でリフレッシュトークンが返されませんでした")
    return tokens


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return {}
    return body if isinstance(body, dict) else {}


def token_error(
    response: httpx.Response, secrets: Sequence[str], now: datetime
) -> MallError | None:
    """Read a token endpoint answer: None for tokens, else the error it means. [YC-token]

    ``invalid_grant`` means the refresh token (or code) is dead: only the owner can fix
    that by authorizing again [Y-faq]. 429 and 5xx are worth retrying; every other
    refusal is about our credentials, so it is an :class:`AuthError`.
    """
    status = response.status_code
    body = _json(response)
    if status == 200 and isinstance(body.get("access_token"), str):
        return None
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now)
        return RateLimited(
            f"Yahoo: トークン発行の呼び出しが多すぎます（HTTP {status}）", retry_after
        )
    if status >= 500 or status == 200:
        return TransientError(f"Yahoo: トークン発行で一時的なエラー（HTTP {status}）")
    code = str(body.get("error") or "")
    description = redact(str(body.get("error_description") or ""), secrets)
    detail = f"（HTTP {status} {code} {description}".rstrip() + "）"
    if code == "invalid_grant":
        return GrantRejected(
            f"Yahoo: リフレッシュトークンが無効か期限切れです{detail}。{REAUTH_HINT}"
        )
    if code in ("invalid_client", "unauthorized_client") or status == 401:
        return AuthError(
            f"Yahoo: Client ID またはシークレットが正しくありません{detail}。"
            "ZAIKO_YAHOO_CLIENT_ID と ZAIKO_YAHOO_CLIENT_SECRET を確認してください"
        )
    return AuthError(f"Yahoo: トークンを発行できませんでした{detail}。{REAUTH_HINT}")


def parse_token_response(
    response: httpx.Response, now: datetime, refresh_lifetime: timedelta
) -> TokenSet:
    """Tokens and expiries from a 200 JSON answer (``expires_in`` defaults to 1 h)."""
    body = _json(response)
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
        refresh_expires_at=now + refresh_lifetime if refresh_token else None,
    )


# --------------------------------------------------------------------------- signature


def load_public_key(pem: str) -> rsa.RSAPublicKey:
    """The store's RSA public key from its PEM text (as copied from 暗号鍵管理).

    Environment variables often lose line breaks, so backslash-n escapes and a bare base64
    body without the BEGIN/END lines are accepted too. Raises ValueError (Japanese).
    """
    text = pem.strip().replace("\\n", "\n")
    if "-----BEGIN" not in text:
        body = "".join(text.split())
        lines = [body[i : i + 64] for i in range(0, len(body), 64)]
        text = "\n".join(["-----BEGIN PUBLIC KEY-----", *lines, "-----END PUBLIC KEY-----"])
    try:
        key = serialization.load_pem_public_key(text.encode())
    except (ValueError, TypeError):
        raise ValueError(
            "公開鍵（ZAIKO_YAHOO_PUBLIC_KEY）を読み取れません。ストアクリエイターPro の "
            "暗号鍵管理でコピーした公開鍵をそのまま設定してください"
        ) from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("公開鍵（ZAIKO_YAHOO_PUBLIC_KEY）が RSA の鍵ではありません")
    return key


def sws_signature(key: rsa.RSAPublicKey, seller_id: str, now: datetime) -> str:
    """``X-sws-signature``: base64 of RSA-PKCS#1 v1.5 encryption of ``seller_id:unixtime``.

    https://hocchi.com/yahoo_shopping_api_public_key and public clients (§1).
    """
    plain = f"{seller_id}:{int(now.timestamp())}".encode()
    return base64.b64encode(key.encrypt(plain, padding.PKCS1v15())).decode()


# --------------------------------------------------------------------------- session


class YConnectSession:
    """The adapter's access token: fresh before every call, refreshed once on ``invalid_token``.

    The refresh token comes from the TokenStore (the newest one Yahoo handed out, or
    the one ``auth yahoo`` saved) and falls back to the configured
    ``ZAIKO_YAHOO_REFRESH_TOKEN``. A refresh token that works is saved to the store, so
    a rotated one (UNCONFIRMED whether Yahoo rotates, §1) survives a restart once the
    worker persists the store.
    """

    REFRESH_MARGIN: timedelta = timedelta(minutes=5)
    """Refresh this long before the access token expires (clock skew, slow calls)."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        client_id: str,
        client_secret: str,
        configured_refresh_token: str,
        tokens: TokenStore,
        clock: Clock,
        stop: threading.Event | None,
        rng: random.Random,
        auth_base_url: str = AUTH_BASE_URL,
        refresh_lifetime: timedelta = REFRESH_TOKEN_LIFETIME,
        max_tries: int = 5,
        max_total_wait: float = 60.0,
    ) -> None:
        self._client = client
        self._client_id = client_id
        self._client_secret = client_secret
        self._configured = configured_refresh_token
        self._tokens = tokens
        self._clock = clock
        self._stop = stop
        self._rng = rng
        self._url = f"{auth_base_url.rstrip('/')}{TOKEN_PATH}"
        self.refresh_lifetime = refresh_lifetime
        self._max_tries = max_tries
        self._max_total_wait = max_total_wait
        self._bucket = TokenBucket(1.0, 1, clock)
        self._access: str | None = None
        self._access_expires: datetime | None = None
        self._lock = threading.Lock()

    def secrets(self) -> list[str]:
        """Every credential this session holds, for :func:`redact`."""
        values = [
            self._client_id,
            self._client_secret,
            f"{self._client_id}:{self._client_secret}",
            self._configured,
            self._tokens.load(REFRESH_TOKEN_KEY) or "",
            self._access or "",
        ]
        return [v for v in values if v]

    def bearer(self) -> str:
        """A valid access token, refreshing it when it is missing or about to expire."""
        with self._lock:
            expires = self._access_expires
            if (
                self._access is None
                or expires is None
                or self._clock.now() >= expires - self.REFRESH_MARGIN
            ):
                self._refresh()
            assert self._access is not None
            return self._access

    def invalidate(self) -> None:
        """Forget the access token (the API called it invalid): the next call refreshes."""
        with self._lock:
            self._access = None
            self._access_expires = None

    def refresh_expires_at(self) -> datetime | None:
        """When the refresh token in use expires, if known (``auth yahoo`` or a rotation)."""
        return stored_refresh_expiry(self._tokens)

    def _candidates(self) -> list[str]:
        return refresh_candidates(self._tokens, self._configured)

    def _refresh(self) -> None:
        tokens, used = first_granted(
            self._candidates(),
            self._grant,
            "Yahoo: リフレッシュトークンがありません。"
            f"{REAUTH_HINT}（または ZAIKO_YAHOO_REFRESH_TOKEN を設定してください）",
        )
        self._adopt(tokens, used)

    def _grant(self, refresh_token: str) -> TokenSet:
        secrets = [*self.secrets(), refresh_token]
        now = self._clock.now()
        body = urllib.parse.urlencode(
            {"grant_type": "refresh_token", "refresh_token": refresh_token}
        ).encode()
        response = request_with_retry(
            self._client,
            "POST",
            self._url,
            content=body,
            prepare=lambda: {
                "Authorization": basic_auth(self._client_id, self._client_secret),
                "Content-Type": "application/x-www-form-urlencoded",
            },
            classify=lambda r: token_error(r, secrets, self._clock.now()),
            clock=self._clock,
            stop=self._stop,
            bucket=self._bucket,
            rng=self._rng,
            secrets=lambda: secrets,
            max_tries=self._max_tries,
            max_total_wait=self._max_total_wait,
            label="Yahoo",
        )
        return parse_token_response(response, now, self.refresh_lifetime)

    def _adopt(self, tokens: TokenSet, used: str) -> None:
        self._access = tokens.access_token
        self._access_expires = tokens.access_expires_at
        keep_refresh_token(self._tokens, tokens, used)


class YahooAuthorization:
    """``python -m bot auth yahoo``: YConnect v2's authorization-code flow. [Y-help] [YC-token]

    The owner logs in with the store's Yahoo! ビジネスID; the refresh token that comes
    back lives 4 weeks and is kept (encrypted in ``_state``) where the adapter looks
    for it, so the bot needs no restart.
    """

    def url(self, config: Any, state: str) -> str:
        """The consent page; ``redirect_uri`` must be registered for the application."""
        if not config.redirect_uri:
            raise AuthError(
                "Yahoo: zaiko.toml の [malls.yahoo] redirect_uri に、アプリケーションに登録した"
                "コールバック URL を設定してください"
            )
        return authorization_url(
            config.secret("client_id"),
            config.redirect_uri,
            state=state,
            auth_base_url=config.auth_base_url,
        )

    def exchange(
        self, config: Any, client: httpx.Client, code: str, tokens: TokenStore, now: datetime
    ) -> datetime | None:
        """Trade the code for tokens, keep the refresh token; when it expires."""
        got = exchange_code(
            client,
            client_id=config.secret("client_id"),
            client_secret=config.secret("client_secret"),
            code=code,
            redirect_uri=config.redirect_uri,
            now=now,
            auth_base_url=config.auth_base_url,
        )
        save_tokens(tokens, got)
        return got.refresh_expires_at
