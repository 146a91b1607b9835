"""BASE on the wire: codes, error bodies, the hourly and daily call budget, one request.

Sources (``docs/api/other-channels.md`` §4; the official docs repository, commit 2760123):
[B-readme]  https://github.com/baseinc/api-docs/blob/2760123/README.md
[B-stock]   https://github.com/baseinc/api-docs/blob/2760123/base_api_v1_items_edit_stock.md
[B-items]   https://github.com/baseinc/api-docs/blob/2760123/base_api_v1_items.md
[B-detail]  https://github.com/baseinc/api-docs/blob/2760123/base_api_v1_items_detail.md
[B-orders]  https://github.com/baseinc/api-docs/blob/2760123/base_api_v1_orders.md
[B-order]   https://github.com/baseinc/api-docs/blob/2760123/base_api_v1_orders_detail.md
[B-current] https://docs.thebase.in/api/orders (the docs' current home)

Every error is HTTP 400 with ``{"error", "error_description"}`` [B-readme], so what an
answer means is read from its ``error`` code, not its status: the hourly and daily
limits (``hour_api_limit`` / ``day_api_limit``) are 400s too, and an invalid access
token is a 400 ``invalid_request`` whose description names the access token. Both are
read the same way when they come as 429 or 401 instead (UNCONFIRMED for today's API).
"""

from __future__ import annotations

import json
import random
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, ClassVar
from urllib.parse import urlencode

import httpx

from adapters.base import (
    AuthError,
    MallError,
    MallRejected,
    RateLimited,
    Stopped,
    TokenBucket,
    TransientError,
    parse_retry_after,
    redact,
    request_with_retry,
)
from bot.infra.clock import JST, Clock, to_jst

# item_id and variation_id are integers in every body [B-stock][B-order].
_CODE_RE = re.compile(r"(\d{1,19})(?::(\d{1,19}))?")

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
"""What httpx sends with a ``data=`` form; BASE's writes and token calls take forms."""

REAUTH_HINT = "python -m bot auth base を実行して BASE のアプリ連携を再認可してください"

# The error codes whose meaning the adapter acts on. [B-readme][B-stock][B-detail][B-order]
LIMIT_CODES: frozenset[str] = frozenset({"hour_api_limit", "day_api_limit"})
UNKNOWN_CODE_ERRORS: frozenset[str] = frozenset({"bad_item_id", "bad_variation_id", "no_item"})
AUTH_ERRORS: frozenset[str] = frozenset(
    {"invalid_scope", "access_denied", "unauthorized_client", "invalid_client", "invalid_grant"}
)
# "アクセストークンが無効です。" is how an expired or unknown access token is refused. [B-readme]
TOKEN_WORD = "アクセストークン"


def parse_code(code: str) -> tuple[str, str | None] | None:
    """``(item_id, variation_id | None)`` of a canonical code; None when malformed."""
    match = _CODE_RE.fullmatch(code)
    if match is None:
        return None
    return match.group(1), match.group(2)


def canonical_code(code: str) -> str:
    """The sheet's code as orders and pushes use it: spaces dropped around the parts.

    A code already in canonical form comes back as the same object (no duplicate string
    per listing).
    """
    trimmed = ":".join(part.strip() for part in code.strip().split(":"))
    return code if trimmed == code else trimmed


def code_problem(code: str) -> str | None:
    """Why a typed code can never be a BASE code (Japanese, for the row's 状態)."""
    if parse_code(canonical_code(code)) is None:
        return (
            f"BASEコード『{code}』は商品ID（半角数字）か「商品ID:バリエーションID」の形式で"
            "入力してください"
        )
    return None


def line_code(item_id: object, variation_id: object) -> str:
    """The code of an order line or listing: ``item_id`` or ``item_id:variation_id``."""
    if variation_id in (None, "", 0, "0"):
        return str(item_id)
    return f"{item_id}:{variation_id}"


def ordered_param(when: datetime) -> str:
    """``yyyy-mm-dd hh:mm:ss`` in JST for start_ordered / end_ordered [B-orders]."""
    return to_jst(when).strftime("%Y-%m-%d %H:%M:%S")


def json_body(response: httpx.Response) -> dict[str, Any]:
    """The response's JSON object ({} when it is not one)."""
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return {}
    return body if isinstance(body, dict) else {}


# --------------------------------------------------------------------------- errors


class TokenRejected(AuthError):
    """The API refused the access token: refresh it once and try again."""


class LimitReached(RateLimited):
    """BASE's hourly or daily call limit (``hour_api_limit`` / ``day_api_limit``)."""

    def __init__(self, message: str, retry_after: float | None, *, daily: bool) -> None:
        super().__init__(message, retry_after)
        self.daily = daily


def error_code(response: httpx.Response) -> tuple[str, str]:
    """``(error, error_description)`` of a BASE error body ('' when absent)."""
    body = json_body(response)
    return str(body.get("error") or ""), str(body.get("error_description") or "")


def classify(
    response: httpx.Response, *, now: datetime, secrets: Sequence[str]
) -> MallError | None:
    """What one API answer means: None for a success, else the error to raise."""
    status = response.status_code
    code, description = error_code(response)
    if status < 400 and not code:
        return None
    detail = redact(f"（HTTP {status} {code} {description}".rstrip() + "）", secrets)
    if code in LIMIT_CODES:
        daily = code == "day_api_limit"
        return LimitReached(
            f"BASE: {'1日' if daily else '1時間'}のAPI利用上限に達しました{detail}",
            seconds_until_reset(now, daily=daily),
            daily=daily,
        )
    if status == 429:
        return RateLimited(
            f"BASE: リクエストが多すぎます{detail}",
            parse_retry_after(response.headers.get("Retry-After"), now),
        )
    if status == 401 or (code == "invalid_request" and TOKEN_WORD in description):
        return TokenRejected(f"BASE: アクセストークンが拒否されました{detail}。{REAUTH_HINT}")
    if code in AUTH_ERRORS or status == 403:
        return AuthError(f"BASE: 認証エラー{detail}。{REAUTH_HINT}")
    if status >= 500 or status == 409 or code == "server_error" or status < 400:
        # A 2xx carrying an error code is BASE failing inside (one client saw db_error).
        return TransientError(f"BASE: 一時的なエラー{detail}")
    return MallRejected(f"BASE が拒否しました{detail}", code=code)


def seconds_until_reset(now: datetime, *, daily: bool) -> float:
    """Seconds until BASE resets its counter: the next :00, or the next JST midnight.

    "00分になると利用回数がリセットされます" [B-readme]; the day is taken as JST's (UNCONFIRMED).
    """
    local = to_jst(now)
    if daily:
        reset = datetime.combine(local.date() + timedelta(days=1), time(), JST)
    else:
        reset = local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return max((reset - local).total_seconds(), 1.0)


# --------------------------------------------------------------------------- budget


class Budget:
    """Counts calls per clock hour and per JST day against BASE's per-user limits.

    BASE allows 5,000 calls an hour and 100,000 a day per user, counted in fixed
    windows reset at :00 [B-readme]. The adapter refuses itself the call that would go
    over (RateLimited until the reset) rather than letting BASE refuse it, and stops
    calling altogether when BASE says a limit is reached anyway (another tool may share
    the user's quota). ``spare`` lets optional work (the cancel-window rescan, read-backs)
    give way before the budget of the pushes and new orders runs out. Counts live in
    the process: after a restart they start from zero, which only under-counts.
    """

    def __init__(self, hourly: int, daily: int, clock: Clock) -> None:
        self.hourly = hourly
        self.daily = daily
        self._clock = clock
        self._hour: tuple[date, int] | None = None
        self._day: date | None = None
        self.hour_count = 0
        self.day_count = 0
        self.total = 0
        self._blocked_until: datetime | None = None
        self._lock = threading.Lock()

    def _roll(self, now: datetime) -> None:
        local = to_jst(now)
        hour = (local.date(), local.hour)
        if self._hour != hour:
            self._hour, self.hour_count = hour, 0
        if self._day != local.date():
            self._day, self.day_count = local.date(), 0

    def take(self) -> None:
        """Count one call, or raise LimitReached when it would go over a limit."""
        now = self._clock.now()
        with self._lock:
            self._roll(now)
            if self._blocked_until is not None and now < self._blocked_until:
                wait = (self._blocked_until - now).total_seconds()
                raise LimitReached(
                    "BASE: API利用上限のため、リセットまで呼び出しを控えています", wait, daily=False
                )
            for count, limit, daily in (
                (self.day_count, self.daily, True),
                (self.hour_count, self.hourly, False),
            ):
                if count >= limit:
                    raise LimitReached(
                        f"BASE: {'1日' if daily else '1時間'}のAPI呼び出し上限（{limit:,}回）に"
                        "達したため、リセットまで呼び出しを控えます",
                        seconds_until_reset(now, daily=daily),
                        daily=daily,
                    )
            self.hour_count += 1
            self.day_count += 1
            self.total += 1

    def block(self, error: LimitReached) -> None:
        """BASE said a limit is reached: no call until it resets."""
        now = self._clock.now()
        with self._lock:
            self._blocked_until = now + timedelta(seconds=error.retry_after or 60.0)

    def spare(self, fraction: float) -> bool:
        """Whether less than ``fraction`` of this hour's and this day's calls are used."""
        with self._lock:
            self._roll(self._clock.now())
            return (
                self.hour_count < self.hourly * fraction and self.day_count < self.daily * fraction
            )


# --------------------------------------------------------------------------- one request


@dataclass
class Wire:
    """One BASE user's connection: the client, pacing, counting and the retry policy.

    BASE's writes and its token endpoint take form bodies, and each attempt needs the
    current bearer token and a request from the hourly and daily budget: sent through
    :func:`~adapters.base.request_with_retry` with the form as its raw body and the
    headers and budget taken per attempt (``prepare``).
    """

    client: httpx.Client
    clock: Clock
    stop: threading.Event | None
    budget: Budget
    bucket: TokenBucket
    rng: random.Random
    secrets: Callable[[], Sequence[str]]
    max_tries: int = 5
    max_total_wait: float = 60.0

    BASE_DELAY: ClassVar[float] = 1.0
    MAX_DELAY: ClassVar[float] = 30.0

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Callable[[], Mapping[str, str]],
        params: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
        classify_as: Callable[[httpx.Response], MallError | None] | None = None,
    ) -> httpx.Response:
        """Send one request, retrying 429, 5xx and lost connections; others raise at once."""
        if self.stop is not None and self.stop.is_set():
            # Before ``headers``: it may refresh the token, a call of its own.
            raise Stopped("停止要求のため通信を中断しました")
        judge = classify_as or (lambda r: classify(r, now=self.clock.now(), secrets=self.secrets()))

        def prepare() -> Mapping[str, str]:
            prepared = dict(headers())  # may refresh the token: a call of its own
            if form is not None:
                prepared["Content-Type"] = FORM_CONTENT_TYPE
            self.budget.take()
            return prepared

        def judged(response: httpx.Response) -> MallError | None:
            error = judge(response)
            if isinstance(error, LimitReached):
                self.budget.block(error)
            return error

        return request_with_retry(
            self.client,
            method,
            url,
            classify=judged,
            clock=self.clock,
            stop=self.stop,
            bucket=self.bucket,
            rng=self.rng,
            secrets=self.secrets,
            max_tries=self.max_tries,
            max_total_wait=self.max_total_wait,
            base_delay=self.BASE_DELAY,
            max_delay=self.MAX_DELAY,
            params=params,
            content=None if form is None else urlencode(form).encode(),
            prepare=prepare,
            label="BASE",
        )
