"""SP-API plumbing shared by the Amazon adapter's parts: LWA tokens, pacing, one call.

Nothing here knows about stock or orders. :class:`SpApi` sends one SP-API call with the
cached LWA access token (``x-amz-access-token``; no SigV4 since 2023-10-02,
https://developer-docs.amazon.com/sp-api/changelog/sp-api-will-no-longer-require-aws-iam-or-aws-signature-version-4),
paced per operation and read by :func:`classify`; :class:`LwaTokens` exchanges the
refresh token for a one-hour access token and keeps it until shortly before it expires.
"""

from __future__ import annotations

import gzip
import random
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from adapters.base import (
    AuthError,
    MallError,
    MallRejected,
    RateLimited,
    Stopped,
    TokenBucket,
    TransientError,
    backoff_delay,
    json_or_none,
    parse_retry_after,
    redact,
    request_with_retry,
)
from bot.infra.clock import Clock

# Where staff fix each credential (Slack / エラーログ text).
_AUTH_HINT = (
    "Seller Central の「アプリとサービス → アプリの開発」で LWA 認証情報とリフレッシュトークンを確認し、"
    "環境変数 ZAIKO_AMAZON_* を直してからボットを再起動してください"
)


class NotFound(MallRejected):
    """HTTP 404: the resource (for getListingsItem: the SKU) does not exist."""


class Pace(TokenBucket):
    """A :class:`TokenBucket` that can also be asked whether a token is there now.

    searchOrders refills one token per ~180 s: the adapter starts a search only when a
    token (beyond a small reserve for further pages and retries) is there now, and
    otherwise answers from memory instead of stalling the cycle.
    """

    def ready(self, reserve: float = 0.0) -> bool:
        """True when ``1 + reserve`` tokens are there now; takes nothing, never waits."""
        with self._lock:
            self._refill(self._clock.monotonic())
            return self._tokens >= 1.0 + reserve - 1e-9


def iso(when: datetime) -> str:
    """``2026-11-23T00:00:00Z``: ISO 8601 in UTC, as the SP-API query parameters take it."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: object) -> datetime | None:
    """An ISO 8601 timestamp (``Z`` or an offset) as an aware datetime, else None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def error_text(body: Any) -> tuple[str, str]:
    """(code, "message details") of the first entries of an SP-API ``{"errors":[...]}`` body."""
    if not isinstance(body, dict) or not isinstance(body.get("errors"), list):
        return "", ""
    codes: list[str] = []
    texts: list[str] = []
    for error in body["errors"][:3]:
        if isinstance(error, dict):
            codes.append(str(error.get("code") or ""))
            parts = (str(error.get("message") or ""), str(error.get("details") or ""))
            texts.append(" ".join(p for p in parts if p))
    return ",".join(c for c in codes if c), " / ".join(t for t in texts if t)


def classify(response: httpx.Response, secrets: Sequence[str], now: datetime) -> MallError | None:
    """Read an SP-API response: 2xx success, else the error it means for the caller.

    Bodies are ``{"errors":[{code, message, details?}]}`` on every error status
    ([SPM] ``ErrorList``). A 429 carries only ``x-amzn-RequestId`` (docs/api/amazon.md
    §5), so the wait comes from ``Retry-After`` if Amazon ever sends one, else backoff.
    """
    status = response.status_code
    if status < 400:
        return None
    code, text = error_text(json_or_none(response))
    detail = redact(" ".join(p for p in (code, text) if p), secrets)
    suffix = f"（HTTP {status}{' ' + detail if detail else ''}）"
    if status in (401, 403):
        return AuthError(f"Amazon: 認証エラー{suffix}。{_AUTH_HINT}")
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now)
        return RateLimited(f"Amazon: リクエスト数の上限を超えました{suffix}", retry_after)
    if status == 409 or status >= 500:
        return TransientError(f"Amazon: 一時的なエラー{suffix}")
    if status == 404:
        return NotFound(f"Amazon: 見つかりません{suffix}", code=code)
    return MallRejected(f"Amazon: リクエストが拒否されました{suffix}", code=code)


@dataclass
class _Token:
    value: str
    expires_at: float
    """Monotonic seconds when the adapter stops using it (a minute before Amazon does)."""


class LwaTokens:
    """Login with Amazon: the refresh-token exchange and the access-token cache.

    ``POST https://api.amazon.com/auth/o2/token`` with a form body
    (grant_type=refresh_token, refresh_token, client_id, client_secret) returns an
    access token that lives 3600 s
    (https://developer-docs.amazon.com/sp-api/docs/connecting-to-the-selling-partner-api).
    The token is reused until a minute before ``expires_in`` runs out, so a cycle costs
    no token call. ``invalid_grant`` (refresh token revoked) and ``invalid_client``
    (client id/secret wrong, or the secret not rotated within 180 days) are AuthError.
    """

    EARLY_RENEW_S = 60.0
    MAX_TRIES = 3

    def __init__(
        self,
        client: httpx.Client,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        clock: Clock,
        stop: threading.Event | None,
        rng: random.Random,
    ) -> None:
        self._client = client
        self._url = token_url
        self._form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": client_id,
            "client_secret": client_secret,
        }
        self._clock = clock
        self._stop = stop
        self._rng = rng
        self._token: _Token | None = None
        self._lock = threading.Lock()
        self.exchanges = 0
        """Token calls made (tests check the cache holds)."""

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every credential value and the current access token, for :func:`redact`."""
        values = [self._form["refresh_token"], self._form["client_secret"]]
        values.append(self._form["client_id"])
        if self._token is not None:
            values.append(self._token.value)
        return tuple(v for v in values if v)

    def get(self) -> tuple[str, bool]:
        """(access token, fresh): ``fresh`` is True when it was just exchanged."""
        with self._lock:
            now = self._clock.monotonic()
            if self._token is not None and now < self._token.expires_at:
                return self._token.value, False
            self._token = self._exchange()
            return self._token.value, True

    def invalidate(self) -> None:
        """Forget the cached token (Amazon refused it): the next call exchanges again."""
        with self._lock:
            self._token = None

    def _exchange(self) -> _Token:
        last: MallError | None = None
        for attempt in range(self.MAX_TRIES):
            if attempt:
                delay = backoff_delay(attempt - 1, self._rng, base=1.0, cap=10.0)
                if not self._clock.sleep(delay, self._stop):
                    raise Stopped("停止要求のため認証を中断しました")
            try:
                response = self._client.post(self._url, data=self._form)
            except httpx.HTTPError as err:
                last = TransientError(
                    redact(
                        f"Amazon: 認証サーバーに接続できません（{type(err).__name__}）",
                        self.secrets,
                    )
                )
                continue
            self.exchanges += 1
            error = self._read_error(response)
            if error is None:
                return self._token_from(response)
            if isinstance(error, AuthError):
                raise error
            last = error
        assert last is not None
        raise last

    def _read_error(self, response: httpx.Response) -> MallError | None:
        status = response.status_code
        if status < 400:
            return None
        body = json_or_none(response)
        code = str(body.get("error") or "") if isinstance(body, dict) else ""
        detail = str(body.get("error_description") or "") if isinstance(body, dict) else ""
        text = redact(" ".join(p for p in (code, detail) if p), self.secrets)
        suffix = f"（HTTP {status}{' ' + text if text else ''}）"
        if status == 429:
            return RateLimited(f"Amazon: 認証サーバーの上限を超えました{suffix}")
        if status >= 500:
            return TransientError(f"Amazon: 認証サーバーの一時的なエラー{suffix}")
        return AuthError(f"Amazon: LWA 認証に失敗しました{suffix}。{_AUTH_HINT}")

    def _token_from(self, response: httpx.Response) -> _Token:
        body = json_or_none(response)
        value = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(value, str) or not value:
            raise TransientError("Amazon: 認証サーバーの応答を読み取れませんでした")
        expires_in = body.get("expires_in") if isinstance(body, dict) else None
        lifetime = float(expires_in) if isinstance(expires_in, int | float) else 3600.0
        expires_at = self._clock.monotonic() + max(lifetime - self.EARLY_RENEW_S, 1.0)
        return _Token(value=value, expires_at=expires_at)


class SpApi:
    """One SP-API call: access token, the operation's pace, retries, error reading."""

    def __init__(
        self,
        client: httpx.Client,
        tokens: LwaTokens,
        *,
        clock: Clock,
        stop: threading.Event | None,
        rng: random.Random,
        extra_secrets: Sequence[str] = (),
        max_tries: int = 5,
        max_total_wait: float = 60.0,
    ) -> None:
        self.client = client
        self.tokens = tokens
        self.clock = clock
        self.stop = stop
        self._rng = rng
        self._extra = tuple(s for s in extra_secrets if s)
        self._max_tries = max_tries
        self._max_total_wait = max_total_wait

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never reach a message."""
        return (*self.tokens.secrets, *self._extra)

    def call(
        self,
        method: str,
        path: str,
        bucket: TokenBucket | None,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        """Send one call; a refused cached token is exchanged once and the call repeated."""
        for _ in range(2):
            token, fresh = self.tokens.get()
            try:
                return request_with_retry(
                    self.client,
                    method,
                    path,
                    classify=lambda r: classify(r, self.secrets, self.clock.now()),
                    clock=self.clock,
                    stop=self.stop,
                    bucket=bucket,
                    rng=self._rng,
                    secrets=self.secrets,
                    max_tries=self._max_tries,
                    max_total_wait=self._max_total_wait,
                    params=params,
                    json=json,
                    headers={"x-amz-access-token": token},
                    label="Amazon",
                )
            except AuthError:
                if fresh:
                    raise
                self.tokens.invalidate()  # expired or revoked early: one fresh exchange
        raise AssertionError("unreachable: the second pass always has a fresh token")

    def json(self, response: httpx.Response) -> dict[str, Any]:
        """The JSON object of a 2xx answer (anything else is a proxy or outage page)."""
        body = json_or_none(response)
        if not isinstance(body, dict):
            raise TransientError(
                f"Amazon: 応答を読み取れませんでした（HTTP {response.status_code}）"
            )
        return body

    def document(
        self, method: str, url: str, *, content: bytes = b"", content_type: str = ""
    ) -> httpx.Response:
        """A presigned S3 URL (feed upload, report or result download): no SP-API token.

        The presigned signature covers the Content-Type given to createFeedDocument, so
        the upload must send exactly that header (docs/api/amazon.md §3).
        """
        headers = {"Content-Type": content_type} if content_type else None
        try:
            response = self.client.request(method, url, content=content or None, headers=headers)
        except httpx.HTTPError as err:
            raise TransientError(
                f"Amazon: 文書の送受信に失敗しました（{type(err).__name__}）"
            ) from None
        if response.status_code >= 400:
            # S3 answers XML (AccessDenied, SignatureDoesNotMatch, expired URL): never echo
            # the presigned URL, whose query string is a bearer credential.
            raise TransientError(
                f"Amazon: 文書の送受信に失敗しました（HTTP {response.status_code}）"
            )
        return response


def document_text(response: httpx.Response, compression: object, fallback: str) -> str:
    """A downloaded report or result document as text.

    ``compressionAlgorithm: GZIP`` ([SPM] ReportDocument) is undone first. The charset
    comes from the download's Content-Type; JP flat-file reports have been seen in
    Shift_JIS/Cp932 and in UTF-8 (amzn/selling-partner-api-models#2293, #545), so
    without a charset UTF-8 is tried before ``fallback``.
    """
    raw = response.content
    if compression == "GZIP" or raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise TransientError("Amazon: 圧縮された文書を展開できませんでした") from err
    charset = response.charset_encoding
    for encoding in [e for e in (charset, "utf-8", fallback) if e]:
        try:
            return raw.decode(encoding).lstrip("\ufeff")
        except (LookupError, UnicodeDecodeError):
            continue
    return raw.decode(fallback, errors="replace")
