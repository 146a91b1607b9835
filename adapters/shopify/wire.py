"""One Admin GraphQL call: endpoint, token header, error reading and cost-based pacing.

Every fact cites docs/api/shopify.md (§ numbers) and the public page beside it.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx

from adapters.base import (
    AuthError,
    MallError,
    MallRejected,
    RateLimited,
    Stopped,
    TransientError,
    parse_retry_after,
    redact,
    request_with_retry,
)
from bot.infra.clock import Clock

THROTTLED = "THROTTLED"


@dataclass(frozen=True)
class Throttle:
    """``extensions.cost.throttleStatus`` of the last answer (§1.7)."""

    maximum: float
    available: float
    restore_rate: float
    at: float
    """Monotonic time the answer arrived."""


class CostPacer:
    """Client-side pacing on Shopify's calculated-cost leaky bucket (§1.7).

    Shopify tells the bucket's size, what is left and the restore rate in every answer
    (https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits); the plan decides
    them (100/200/1,000/2,000 points/s), so nothing is hard-coded beyond a cautious first
    guess. Before a query whose cost would not fit, the pacer waits until the bucket has
    restored enough: being told off with THROTTLED costs a round trip and a back-off.
    """

    # Until the first answer: the smallest documented plan (Standard, 100 points/s) and
    # the bucket most recent answers show (2,000) [S8][S10][S15].
    FIRST_GUESS: ClassVar[tuple[float, float]] = (2000.0, 100.0)

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.last: Throttle | None = None

    def note(self, extensions: object) -> None:
        """Remember the throttle status an answer carried (if it did)."""
        status = _dig(extensions, "cost", "throttleStatus")
        if not isinstance(status, dict):
            return
        try:
            throttle = Throttle(
                maximum=float(status["maximumAvailable"]),
                available=float(status["currentlyAvailable"]),
                restore_rate=float(status["restoreRate"]),
                at=self._clock.monotonic(),
            )
        except (KeyError, TypeError, ValueError):
            return
        if throttle.restore_rate > 0:
            with self._lock:
                self.last = throttle

    def available_now(self) -> float:
        """Points the bucket holds now, by the last answer plus what has restored since."""
        last = self.last
        if last is None:
            return self.FIRST_GUESS[0]
        elapsed = max(self._clock.monotonic() - last.at, 0.0)
        return min(last.maximum, last.available + elapsed * last.restore_rate)

    def wait_for(self, cost: float) -> float:
        """Seconds until ``cost`` points are available (0 when they are now)."""
        last = self.last
        rate = last.restore_rate if last else self.FIRST_GUESS[1]
        maximum = last.maximum if last else self.FIRST_GUESS[0]
        # One point of slack: Shopify reports whole points, the bucket refills by fractions.
        need = min(cost + 1.0, maximum) - self.available_now()
        return max(need / rate, 0.0)

    def acquire(self, cost: float, stop: threading.Event | None) -> None:
        """Wait (on the stop event) until ``cost`` points fit in the bucket."""
        wait = self.wait_for(cost)
        if wait > 0 and not self._clock.sleep(wait, stop):
            raise Stopped("停止要求のため待機を中断しました")


class AdminApi:
    """``POST https://{shop}.myshopify.com/admin/api/{version}/graphql.json`` (§1.1).

    ``call`` returns the ``data`` object of a successful answer; everything else becomes
    the error tree of :mod:`adapters.base`, with secrets redacted.
    """

    # §1.1 [S1] https://shopify.dev/docs/api/admin-graphql
    PATH: ClassVar[str] = "/admin/api/{version}/graphql.json"
    TOKEN_HEADER: ClassVar[str] = "X-Shopify-Access-Token"
    # Top-level error codes (§1.7 [S10]); https://shopify.dev/docs/api/usage/response-codes
    AUTH_CODES: ClassVar[frozenset[str]] = frozenset({"ACCESS_DENIED", "SHOP_INACTIVE"})
    RETRY_CODES: ClassVar[frozenset[str]] = frozenset({"INTERNAL_SERVER_ERROR"})

    def __init__(
        self,
        client: httpx.Client,
        *,
        shop_url: str,
        version: str,
        token: str,
        clock: Clock,
        stop: threading.Event | None,
        rng: random.Random,
        max_tries: int = 5,
        max_total_wait: float = 60.0,
    ) -> None:
        self._client = client
        self.url = shop_url + self.PATH.format(version=version)
        self.version = version
        self._token = token
        self._clock = clock
        self._stop = stop
        self._rng = rng
        self._max_tries = max_tries
        self._max_total_wait = max_total_wait
        self.pacer = CostPacer(clock)
        self.calls = 0

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in text leaving the adapter."""
        return (self._token,)

    def redact(self, text: str) -> str:
        """``text`` without the access token."""
        return redact(text, self.secrets)

    def call(self, query: str, variables: Mapping[str, Any], *, cost: float) -> dict[str, Any]:
        """One GraphQL request (retried as its answer says); its ``data``.

        ``cost`` is the query's expected cost: the pacer waits until it fits, so a
        THROTTLED answer is the exception, not the rhythm.
        """
        self.pacer.acquire(cost, self._stop)
        self.calls += 1
        response = request_with_retry(
            self._client,
            "POST",
            self.url,
            classify=self._classify,
            clock=self._clock,
            stop=self._stop,
            bucket=None,
            rng=self._rng,
            secrets=self.secrets,
            max_tries=self._max_tries,
            max_total_wait=self._max_total_wait,
            json={"query": query, "variables": dict(variables)},
            headers={self.TOKEN_HEADER: self._token, "Content-Type": "application/json"},
            label="Shopify",
        )
        body = _json(response)
        data = body.get("data")
        if not isinstance(data, dict):
            raise MallError(self.redact("Shopify の応答に data がありません"))
        return data

    def _classify(self, response: httpx.Response) -> MallError | None:
        """HTTP status first (401/403/404/429/5xx), then ``errors`` inside a 200 (§1.7)."""
        status = response.status_code
        body = _json(response) if status in (200, 429) else {}
        self.pacer.note(body.get("extensions"))
        if status == 429:
            after = parse_retry_after(response.headers.get("Retry-After"), self._clock.now())
            return RateLimited(
                "Shopify: リクエスト数の上限を超えました（HTTP 429）",
                after if after is not None else self._throttle_wait(body),
            )
        if status in (401, 403):
            # 401: a wrong or revoked token; 403: a scope the app was not granted [S17].
            word = "アクセストークンが無効です" if status == 401 else "権限（スコープ）が足りません"
            return AuthError(f"Shopify: {word}（HTTP {status}）")
        if status == 404:
            # A wrong shop domain or an API version Shopify no longer serves [S17]:
            # retrying cannot help and the settings must change, like bad credentials.
            return AuthError(
                f"Shopify: ショップまたは API バージョン {self.version} が見つかりません（HTTP 404）"
            )
        if status >= 500 or status == 409:
            return TransientError(f"Shopify: 一時的なエラー（HTTP {status}）")
        if status >= 400:
            return MallRejected(f"Shopify: リクエストが拒否されました（HTTP {status}）")
        return self._body_error(body)

    def _body_error(self, body: Mapping[str, Any]) -> MallError | None:
        errors = body.get("errors")
        if not errors:
            return None
        items = errors if isinstance(errors, list) else [errors]
        codes = {str(_dig(e, "extensions", "code") or "") for e in items}
        text = self.redact(
            " / ".join(str(e.get("message") if isinstance(e, dict) else e) for e in items[:3])
        )
        if THROTTLED in codes:
            return RateLimited("Shopify: コスト上限により制限されました", self._throttle_wait(body))
        if codes & self.AUTH_CODES:
            return AuthError(f"Shopify: 認証エラー（{text}）")
        if codes & self.RETRY_CODES:
            return TransientError(f"Shopify: 一時的なエラー（{text}）")
        return MallRejected(
            f"Shopify がクエリを拒否しました（{text}）", code=",".join(sorted(codes))
        )

    def _throttle_wait(self, body: Mapping[str, Any]) -> float | None:
        """(requested − currentlyAvailable) / restoreRate, as §1.7 advises."""
        cost = _dig(body.get("extensions"), "cost")
        requested = cost.get("requestedQueryCost") if isinstance(cost, dict) else None
        if not isinstance(requested, int | float):
            return None
        return self.pacer.wait_for(float(requested))


def user_errors(payload: object) -> list[dict[str, Any]]:
    """``userErrors`` of a mutation payload (business errors come inside a 200, §1.7)."""
    errors = payload.get("userErrors") if isinstance(payload, dict) else None
    return [e for e in errors or [] if isinstance(e, dict)]


def field_index(error: Mapping[str, Any], list_name: str) -> int | None:
    """The list index a userError's ``field`` path names (``["input","quantities","2",…]``)."""
    path: Sequence[object] = error.get("field") or []
    for before, value in zip(path, list(path)[1:], strict=False):
        if before == list_name and str(value).isdigit():
            return int(str(value))
    return None


def _dig(value: object, *keys: str) -> object:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return body if isinstance(body, dict) else {}
