"""The mall adapter contract, its error tree and shared httpx plumbing.

Errors are the mall family of the one tree drawn in :mod:`bot.core.errors`: each is a
:class:`MallError` and sits on the branch that says what the caller should do
(:class:`AuthError` is a ``bot.core.errors.AuthError``, and so on). :class:`Stopped` is
the one ``bot.core.errors.Stopped``, shared with the sheet and Slack.

The plumbing is a handful of plain functions and two small classes rather than a base
class, so each mall module composes only what its API needs (STYLE.md "things to
avoid"): :class:`TokenBucket` paces one endpoint family, :func:`request_with_retry`
sends one request with the mall's ``classify`` hook deciding what a response means,
:func:`redact` and :func:`describe_settings` keep secrets inside the process.
"""

from __future__ import annotations

import base64
import email.utils
import random
import re
import threading
import urllib.parse
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import filterfalse
from typing import Annotated, Any, ClassVar, Protocol, Self, TypeVar, runtime_checkable

import httpx
import pydantic_core
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
)
from pydantic_core import core_schema

from bot.core import errors
from bot.core.domain import CheckResult, OrderLine, PushResult, PushStatus, StockPush
from bot.infra.clock import Clock
from bot.infra.retry import Backoff, RetryPolicy

_T = TypeVar("_T")

# --------------------------------------------------------------------------- errors


class MallError(errors.ZaikoError):
    """Base of every error an adapter raises; the worker never sees httpx errors."""


class AuthError(MallError, errors.AuthError):
    """Expired or wrong credentials: alert and stop that mall until fixed."""


class RateLimited(MallError, errors.RateLimited):
    """The mall asked us to slow down (``retry_after`` seconds, if it said)."""


class TransientError(MallError, errors.TransientError):
    """Timeouts, conflicts and 5xx: retry with backoff."""


class MallRejected(MallError, errors.Rejected):
    """The mall refused this request's content (400-class); do not retry it.

    ``items`` maps the index of an element *within the rejected request* to the
    mall's reason, when the mall said which elements were bad. Callers use it to mark
    those items alone and resend the rest, so one bad item never sinks its batch.
    ``code`` is the mall's own error code (e.g. ``IE0003``) for the log.
    """

    def __init__(
        self, message: str, *, code: str = "", items: Mapping[int, str] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.items: dict[int, str] = dict(items or {})


Stopped = errors.Stopped
"""The stop event cut a wait short (SIGTERM): the one class the sheet and Slack raise too."""


# --------------------------------------------------------------------------- declaration


def _check_url(value: str) -> str:
    value = value.strip()
    if value and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
        raise ValueError(f"URL は https:// で始めてください（{value!r}）")
    return value.rstrip("/")


Url = Annotated[str, AfterValidator(_check_url)]
"""An http(s) URL without trailing slash ('' where the URL is derived)."""


class MallClient(httpx.Client):
    """httpx's client, whose answers reference counting alone frees.

    httpx binds each response's stream to the response itself (``BoundSyncStream``
    holds ``response``): a reference cycle, so an answer and its body outlive the call
    until the cyclic collector runs. A large shop's worker runs that collector itself,
    a few times an hour (:mod:`bot.shell.heap`); meanwhile every getOrder or bulk-get
    answer would stay in memory. Once a sent request's body is read (every send that
    is not streamed), the stream is nothing but that body: it is replaced by a plain
    stream of the same bytes, which does not point back at the response.
    """

    def send(
        self, request: httpx.Request, *, stream: bool = False, **kwargs: Any
    ) -> httpx.Response:
        response = super().send(request, stream=stream, **kwargs)
        if not stream:
            response.stream = httpx.ByteStream(response.content)
        return response


class ChannelConfig(BaseModel):
    """``[malls.<key>]`` in zaiko.toml plus the channel's secrets from the environment.

    Each channel subclasses this as its ``Config``. Secrets are ``SecretStr | None``
    fields: they are refused in the config file and read from ``ZAIKO_<KEY>_<FIELD>``
    (``ZAIKO_<KEY>_<FIELD>``). ``required`` names what ``run`` needs, with the
    words staff know the credential by.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    required: ClassVar[Mapping[str, str]] = {}
    """Field → staff's name for it, for every credential ``run`` cannot do without."""

    enabled: bool = False
    base_url: Url = ""
    timeout: float = Field(default=10.0, gt=0, le=300)
    """Seconds per HTTP call (connect and read)."""

    @field_validator("*", mode="before")
    @classmethod
    def _blank_secret_is_unset(cls, value: Any, info: ValidationInfo) -> Any:
        """An empty or blank secret means "not set"; surrounding whitespace is a paste slip."""
        if info.field_name not in cls.secret_fields():
            return value
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(raw, str):
            return raw.strip() or None
        return raw

    def http_client(self, transport: httpx.BaseTransport | None = None) -> httpx.Client:
        """The client ``run`` talks to the channel with: ``base_url``, ``timeout`` seconds.

        ``transport``: the sandbox's or a test's (None: the network).
        """
        return MallClient(
            base_url=self.base_url, timeout=httpx.Timeout(self.timeout), transport=transport
        )

    @classmethod
    def secret_fields(cls) -> tuple[str, ...]:
        """The fields that hold secrets (never in the config file, masked everywhere)."""
        return tuple(
            name
            for name, info in cls.model_fields.items()
            if info.annotation is SecretStr or SecretStr in getattr(info.annotation, "__args__", ())
        )

    def secret(self, name: str) -> str:
        """A secret's value, '' when unset (only adapters' constructors call this)."""
        value = getattr(self, name)
        return value.get_secret_value() if isinstance(value, SecretStr) else ""

    def missing(self) -> list[str]:
        """Fields of ``required`` that are not set."""
        return [name for name in self.required if getattr(self, name) in (None, "")]


class TokenStore(Protocol):
    """Where a channel keeps the tokens it rotates (§8), encrypted by the store.

    The worker persists them in ``_state`` (ciphertext only, ``ZAIKO_SECRET_KEY``), so the
    newest refresh token survives a restart on a platform with no disk. Keys are the
    channel's own (``refresh_token``); the store scopes them by channel.
    """

    def load(self, name: str) -> str | None:
        """The newest value saved under ``name``, or None."""
        ...

    def save(self, name: str, value: str) -> None:
        """Keep ``value`` (it reaches ``_state`` with the next commit)."""
        ...


class MemoryTokens:
    """A TokenStore that lives as long as the process (``check``, tests)."""

    def __init__(self, initial: Mapping[str, str] | None = None) -> None:
        self._values: dict[str, str] = dict(initial or {})

    def load(self, name: str) -> str | None:
        """The value saved under ``name``."""
        return self._values.get(name)

    def save(self, name: str, value: str) -> None:
        """Replace the value under ``name``."""
        self._values[name] = value


@dataclass(frozen=True)
class BuildContext:
    """What the composition root hands every channel besides its config and client."""

    clock: Clock
    stop: threading.Event
    cancel_window_days: int = 60
    """How long after a sale a cancel is still applied (settings' ``sync``)."""
    tokens: TokenStore = field(default_factory=MemoryTokens)
    """This channel's rotating tokens (only channels declaring ``rotating_tokens`` use it)."""


class Authorization(Protocol):
    """The one-time human login of a channel whose tokens rotate (``python -m bot auth``).

    The owner opens :meth:`url` in a browser, logs in and consents; the channel sends the
    browser to its registered redirect URI with ``code`` and ``state``; the owner pastes
    that URL (or the code) back and :meth:`exchange` trades it for tokens, kept in the
    channel's TokenStore (encrypted in ``_state``).
    """

    def url(self, config: Any, state: str) -> str:
        """The authorization page for this shop's application."""
        ...

    def exchange(
        self, config: Any, client: httpx.Client, code: str, tokens: TokenStore, now: datetime
    ) -> datetime | None:
        """Trade ``code`` for tokens and keep them; when the login must be repeated."""
        ...


@dataclass(frozen=True)
class Channel:
    """How a channel declares itself (apprise's plugins: one module, its own facts).

    Everything outside the channel's module reads these instead of per-channel code:
    settings (its ``[malls.<key>]`` table and environment names), ``check``, the
    composition root, the worker's alerts, the sheet's code column and 設定 rows.
    """

    key: str
    """Registry key, config table and environment prefix (lower-case ASCII)."""
    label: str
    """Staff's short name (sheet headers ``<label>コード``, 設定 rows, Slack)."""
    name: str
    """Full name for settings messages and ``check`` (the mall's own name)."""
    aliases: tuple[str, ...]
    """Other spellings staff may write for it (モール cells, 設定 item names)."""
    code_note: str
    """The 商品マスタ code column's note: what a code looks like on this channel."""
    auth_hint: str
    """What staff do when the channel refuses the credentials (Slack, エラーログ)."""
    expiry_note: str = ""
    """What ``check`` can say about credential expiry, e.g. licenseKey's 90 days."""
    rotating_tokens: bool = False
    """Keeps the newest tokens encrypted in ``_state`` (§8): needs ``ZAIKO_SECRET_KEY``."""
    code_width: int = 180
    """Pixel width of its 商品マスタ code column."""
    authorization: Authorization | None = None
    """How ``python -m bot auth <key>`` logs in, for channels whose tokens rotate."""
    code_problem: Callable[[str], str | None] | None = None
    """Why a code (as typed, one of a cell's codes) can never be this channel's code, in
    Japanese for the row's 状態; None when it may be. The sheet reports such a code as a
    row problem when it is read, instead of a push failing later."""

    @property
    def code_header(self) -> str:
        """The 商品マスタ column staff type this channel's codes in."""
        return f"{self.label}コード"


# --------------------------------------------------------------------------- protocol


@runtime_checkable
class MallAdapter(Protocol):
    """What every mall module implements (ARCHITECTURE.md §5)."""

    name: ClassVar[str]
    channel: ClassVar[Channel]
    Config: ClassVar[type[ChannelConfig]]

    @classmethod
    def from_config(cls, config: Any, client: httpx.Client, context: BuildContext) -> Self:
        """Build the adapter from its ``Config`` and an httpx client on its base URL."""
        ...

    def check(self) -> CheckResult:
        """接続テスト: auth plus one cheap read call."""
        ...

    def fetch_order_lines(self, since: datetime, until: datetime) -> list[OrderLine]:
        """Current state of every order line changed in [since, until]."""
        ...

    def read_stock(self, codes: Sequence[str]) -> dict[str, int]:
        """Quantities the mall shows now; unknown codes are left out."""
        ...

    def push_stock(self, pushes: Sequence[StockPush]) -> list[PushResult]:
        """Push absolute quantities; one result per push, in order."""
        ...

    @staticmethod
    def canonical_code(code: str) -> str:
        """The form of a sheet code that order lines and pushes use."""
        ...


@runtime_checkable
class LateOutcomes(Protocol):
    """A channel whose push may answer PENDING: sent, the outcome learnt in a later cycle.

    Amazon's JSON_LISTINGS_FEED takes Amazon a minute or more to process; waiting for it
    inside ``push_stock`` held the whole cycle (every mall's orders and pushes). Such a
    channel answers PENDING at once and implements these two; any other channel needs
    neither (:func:`pending_pushes` and :func:`push_outcomes` answer "nothing pending"
    for it). The contract (tests/adapters/test_contract.py): ``push_outcomes`` reports
    each PENDING push exactly once, with a final status (never PENDING), unless a newer
    push of the same code was sent meanwhile — then only the newest push is reported,
    and the older one never is (the newest target wins).
    """

    def pending_pushes(self) -> int:
        """Pushes answered PENDING whose outcome is not reported yet (no call)."""
        ...

    def push_outcomes(self) -> list[tuple[StockPush, PushResult]]:
        """The outcomes learnt since the last call (may call the mall, never waits)."""
        ...


def pending_pushes(adapter: object) -> int:
    """Pushes ``adapter`` answered PENDING and has not settled; 0 for most channels."""
    return adapter.pending_pushes() if isinstance(adapter, LateOutcomes) else 0


def push_outcomes(adapter: object) -> list[tuple[StockPush, PushResult]]:
    """Outcomes of earlier PENDING pushes ``adapter`` learnt now; [] for most channels."""
    return adapter.push_outcomes() if isinstance(adapter, LateOutcomes) else []


Classify = Callable[[httpx.Response], MallError | None]
"""A mall's reading of a response: None when it is a success, else the error it means."""


# --------------------------------------------------------------------------- pushes


def rejected(push: StockPush, message: str) -> PushResult:
    """A push the channel is not sent (or refused), with the reason staff read."""
    return PushResult(
        code=push.code, status=PushStatus.REJECTED, quantity=push.quantity, message=message
    )


def chunks(items: Sequence[_T], size: int) -> Iterator[list[_T]]:
    """``items`` in lists of at most ``size`` (a channel's batch limit)."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def screen_pushes(
    pushes: Sequence[StockPush],
    results: list[PushResult | None],
    *,
    canonical: Callable[[str], str],
    problem: Callable[[StockPush, str], str | None],
    code_word: str,
) -> dict[str, int]:
    """Refuse, without a call, what the channel would refuse anyway.

    ``problem(push, canonical_code)`` names why one push cannot be sent (a malformed
    code, a quantity over the channel's maximum) or returns None. A code twice in one
    batch: the later push wins and the earlier one gets a result saying so. Returns
    canonical code → index of its push to send.
    """
    last: dict[str, int] = {}
    for i, push in enumerate(pushes):
        code = canonical(push.code)
        reason = problem(push, code)
        if reason is not None:
            results[i] = rejected(push, reason)
            continue
        if code in last:
            results[last[code]] = rejected(
                pushes[last[code]],
                f"同じ{code_word}への後続の更新があるため、この値は送信しませんでした",
            )
        last[code] = i
    return last


# --------------------------------------------------------------------------- secrets


def _secret_forms(secret: str) -> list[str]:
    """Every spelling of ``secret`` that can end up in text we did not write.

    Besides the value itself: its URL-encoded form (query strings), and its base64
    forms, since auth headers such as ``ESA base64(secret:key)`` carry secrets
    encoded. Padding is stripped so both padded and unpadded base64 are caught.
    """
    raw = secret.encode()
    forms = {
        secret,
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    }
    return sorted((f for f in forms if f), key=len, reverse=True)


def json_or_none(response: httpx.Response) -> Any:
    """The body as JSON, or None when it is empty or not JSON.

    Decoded by pydantic-core: the same values as the ``json`` module, faster on a page
    of order models (a busy cycle decodes hundreds of them). Only keys go through its
    string cache: the values (order numbers, codes, times) are mostly distinct, and
    caching them too made a page of 100 楽天 orders 1.1 ms instead of 0.9 ms.
    """
    if not response.content:
        return None
    try:
        return pydantic_core.from_json(response.content, cache_strings="keys")
    except ValueError:
        return None


class JsonShape:
    """The fields of a JSON answer an adapter reads, decoded without the rest.

    A 楽天 getOrder page is ~0.2–0.7 MB of which the bot reads a tenth (no buyer, no
    prices, no names); :func:`json_or_none` builds a Python object for every value of it.
    pydantic-core's validator skips the values the shape does not name without making
    them Python objects, and keeps the named ones exactly as :func:`json_or_none` would
    (any JSON value, as is). An answer that does not fit the shape (not JSON, not an
    object, a named list that is not a list of objects) is decoded by :func:`json_or_none`
    instead, so every caller's checks and messages see what they saw before.
    """

    def __init__(self, **fields: core_schema.CoreSchema) -> None:
        self._validator = pydantic_core.SchemaValidator(json_object(**fields))

    def decode(self, response: httpx.Response) -> Any:
        """The body with only the shape's fields, or what :func:`json_or_none` makes of it."""
        try:
            return self._validator.validate_json(response.content)
        except pydantic_core.ValidationError:
            return json_or_none(response)


def json_body(value: Any) -> bytes:
    """The bytes httpx's ``json=`` sends for ``value``, made by pydantic-core.

    For bodies of strings, integers, booleans, nulls, lists and objects (what the bulk
    requests hold: 1,000 codes in a 楽天 bulk-get), ~5 times faster than httpx's
    ``json.dumps``. Floats may be written in another (equal) form, so not for them.
    The caller sends it as ``content=`` with its own Content-Type.
    """
    return pydantic_core.to_json(value)


JSON_VALUE: core_schema.CoreSchema = core_schema.any_schema()
"""A field kept as whatever JSON value it holds (the caller checks it)."""


def json_object(**fields: core_schema.CoreSchema) -> core_schema.CoreSchema:
    """A JSON object; only these fields kept, each optional; others skipped unread."""
    return core_schema.typed_dict_schema(
        {name: core_schema.typed_dict_field(kind, required=False) for name, kind in fields.items()},
        extra_behavior="ignore",
    )


def json_objects(**fields: core_schema.CoreSchema) -> core_schema.CoreSchema:
    """A list of :func:`json_object` of these fields, or null."""
    return core_schema.nullable_schema(core_schema.list_schema(json_object(**fields)))


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret value (and its encoded forms) replaced by ``***``.

    Applied to any text that leaves an adapter (exception messages, check messages),
    because error text is often built from URLs, headers or response bodies that can
    echo credentials back. Secrets shorter than 4 characters are ignored: redacting
    them would shred ordinary text and they protect nothing.
    """
    for secret in secrets:
        if len(secret) < 4:
            continue
        for form in _secret_forms(secret):
            text = text.replace(form, "***")
    return text


def mask_secret(value: str) -> str:
    """A masked form that still tells which credential is configured.

    Only the last 4 characters show, and only for long values: after a key rotation
    (some keys live only 90 days) staff can see whether the new key is the one in use.
    """
    if not value:
        return "(未設定)"
    if len(value) < 12:
        return "****"
    return "****" + value[-4:]


def describe_settings(
    settings: Mapping[str, object], secret_fields: Iterable[str]
) -> dict[str, str]:
    """Adapter settings as text for logs and ``check``, secret fields masked.

    Adapters declare ``secret_fields: ClassVar[tuple[str, ...]]`` and implement
    ``describe()`` with this, so masking is decided by a declaration, not by each call
    site remembering to do it.
    """
    secret = set(secret_fields)
    return {
        key: mask_secret(str(value)) if key in secret else str(value)
        for key, value in settings.items()
    }


# --------------------------------------------------------------------------- known codes


class KnownCodes:
    """The codes a stock read found on the mall lately, for a mall that takes pushes blind.

    楽天's bulk-upsert and Yahoo's setStock answer success for a code the mall does not
    have, so a push goes only to a code a read found within ``ttl`` seconds; the others
    are read first (one bulk read) and, still not found, answered UNKNOWN_CODE unsent.
    """

    def __init__(self, clock: Clock, ttl: float) -> None:
        self._clock = clock
        self._ttl = ttl
        self._seen: dict[str, float] = {}
        """Code → monotonic time a read last found it."""

    def __contains__(self, code: object) -> bool:
        return code in self._seen

    def saw(self, asked: Iterable[str], found: Collection[str]) -> None:
        """A read of ``asked`` found ``found`` (the strings asked, kept for the process's life)."""
        now = self._clock.monotonic()
        # In C but for the codes not found (a read-back reads 2,500 codes a cycle at
        # 100,000 listings, nearly all of them found).
        self._seen.update(dict.fromkeys(found, now))
        for code in filterfalse(found.__contains__, asked):
            self._seen.pop(code, None)

    def sort_out(
        self, last_index: Mapping[str, int], read: Callable[[list[str]], object]
    ) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
        """(push index, code) to send, in order, and those the mall does not have.

        Codes not found within ``ttl`` are read first with ``read`` (which calls
        :meth:`saw`).
        """
        now, ttl, seen = self._clock.monotonic(), self._ttl, self._seen
        unsure = [c for c in last_index if now - seen.get(c, _NEVER) > ttl]
        if unsure:
            read(unsure)  # (it may change what ``seen`` holds)
        send = sorted([(i, code) for code, i in last_index.items() if code in seen])
        unknown = [(i, code) for code, i in last_index.items() if code not in seen]
        return send, unknown


_NEVER = float("-inf")
"""When a code never seen was seen (a thousand codes a push at 100k: no float a code)."""


# --------------------------------------------------------------------------- pacing


class TokenBucket:
    """Client-side pacing for one endpoint family (e.g. writes at 1 req/s).

    Staying under the published rate is cheaper than being told off with a 429 and
    keeps a simulator that enforces limits quiet. Waits go through ``clock.sleep``
    with the stop event, so SIGTERM is never stuck behind a rate-limit pause. A burst
    of 1 spaces calls evenly, which also satisfies a mall that counts calls in a
    sliding window rather than a bucket.
    """

    def __init__(self, rate_per_s: float, burst: float, clock: Clock) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("rate_per_s must be > 0 and burst >= 1")
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._clock = clock
        self._tokens = burst
        self._last = clock.monotonic()
        self._lock = threading.Lock()

    def _refill(self, now: float) -> None:
        elapsed = max(now - self._last, 0.0)
        self._tokens = min(self.burst, self._tokens + elapsed * self.rate_per_s)
        self._last = now

    def ready(self) -> bool:
        """Whether a token is there now (nothing taken)."""
        with self._lock:
            self._refill(self._clock.monotonic())
            return self._tokens >= 1.0 - 1e-9

    def acquire(self, stop: threading.Event | None = None) -> None:
        """Take one token, waiting for it if needed; raises :class:`Stopped` on stop."""
        while True:
            with self._lock:
                self._refill(self._clock.monotonic())
                # A tiny tolerance: float steps of a virtual clock must not cost an
                # extra near-zero sleep per call.
                if self._tokens >= 1.0 - 1e-9:
                    self._tokens = max(self._tokens - 1.0, 0.0)
                    return
                wait = (1.0 - self._tokens) / self.rate_per_s
            if not self._clock.sleep(wait, stop):
                raise Stopped("停止要求のため待機を中断しました")


# --------------------------------------------------------------------------- retry


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max((when - now).total_seconds(), 0.0)


def default_classify(response: httpx.Response, *, now: datetime | None = None) -> MallError | None:
    """The HTTP-status reading most malls share; mall hooks refine it with body codes.

    2xx/3xx is success; 401/403 mean credentials; 429 is a rate limit (with its
    Retry-After); 409 and 5xx are worth retrying; any other 4xx is the mall refusing
    the content, which repeating cannot fix.
    """
    status = response.status_code
    if status < 400:
        return None
    if status in (401, 403):
        return AuthError(f"認証エラー（HTTP {status}）")
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now) if now else None
        return RateLimited("リクエスト数の上限を超えました（HTTP 429）", retry_after)
    if status == 409 or status >= 500:
        return TransientError(f"一時的なエラー（HTTP {status}）")
    return MallRejected(f"リクエストが拒否されました（HTTP {status}）")


def backoff_delay(attempt: int, rng: random.Random, *, base: float, cap: float) -> float:
    """Jittered exponential backoff for retry number ``attempt`` (0-based).

    "Equal jitter" (:meth:`bot.infra.retry.Backoff.equal_jitter`): half the exponential
    step is fixed, half random, so parallel workers spread out but nobody retries almost
    at once. ``rng`` is injected so tests are deterministic.
    """
    return Backoff.equal_jitter(base, cap).delay(attempt, rng)


def request_with_retry(
    client: httpx.Client,
    method: str,
    url: str | httpx.URL,
    *,
    classify: Classify,
    clock: Clock,
    stop: threading.Event | None,
    bucket: TokenBucket | None,
    rng: random.Random,
    secrets: Sequence[str] | Callable[[], Sequence[str]] = (),
    max_tries: int = 5,
    max_total_wait: float = 60.0,
    base_delay: float = 1.0,
    max_delay: float = 30.0,
    params: Mapping[str, str] | None = None,
    json: Any = None,
    content: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    prepare: Callable[[], Mapping[str, str]] | None = None,
    label: str = "",
) -> httpx.Response:
    """Send one request, retrying what the mall says is worth retrying.

    ``classify`` turns a response into None (success) or a :class:`MallError`.
    :class:`RateLimited` and :class:`TransientError` (and httpx timeouts/transport
    errors) are retried by the shared :class:`~bot.infra.retry.RetryPolicy` with equal
    jitter, at least as long as a Retry-After asks, up to ``max_tries`` attempts and
    ``max_total_wait`` seconds of backoff in total; then the last error is raised.
    :class:`AuthError` and :class:`MallRejected` (400/401-class) are raised at once:
    repeating them cannot help and may lock an account. Every attempt first takes a
    token from ``bucket``. Error text is passed through :func:`redact` with ``secrets``
    (a callable when they change while the adapter runs, e.g. a refreshed token).

    The body is ``json``, ``params`` or raw ``content`` (Yahoo's form and XML bodies).
    ``prepare``, when given, is called before every attempt (before its pacing wait)
    for that attempt's headers, laid over ``headers``: a signature holding the current
    time, a bearer token refreshed meanwhile. It may refuse the attempt by raising.
    ``label``: the channel's name as staff read it, before a lost connection's message
    (the channel's own messages carry it too).
    """

    def attempt() -> httpx.Response:
        sent = {**(headers or {}), **(prepare() if prepare is not None else {})}
        if bucket is not None:
            bucket.acquire(stop)
        elif stop is not None and stop.is_set():
            raise Stopped("停止要求のため通信を中断しました")
        try:
            response = client.request(
                method, url, params=params, json=json, content=content, headers=sent or None
            )
        except httpx.HTTPError as err:
            # Raised outside this block, so a leaky httpx text is not kept as context.
            lost = _transport_error(err, secrets() if callable(secrets) else secrets, label)
        else:
            error = classify(response)
            if error is None:
                return response
            raise error
        raise lost

    policy = RetryPolicy(
        backoff=Backoff.equal_jitter(base_delay, max_delay),
        max_tries=max_tries,
        max_seconds=max_total_wait,
    )
    return policy.run(attempt, clock=clock, stop=stop, rng=rng)


def _transport_error(err: httpx.HTTPError, secrets: Sequence[str], label: str = "") -> MallError:
    """An httpx error as a MallError: timeouts and lost connections are transient.

    The httpx error is chained for the traceback unless its own text would leak a
    secret.
    """
    prefix = f"{label}: " if label else ""
    message = redact(f"{prefix}通信エラー（{type(err).__name__}: {err}）", secrets)
    error = TransientError(message) if isinstance(err, httpx.TransportError) else MallError(message)
    error.__cause__ = err if redact(str(err), secrets) == str(err) else None
    error.__suppress_context__ = True
    return error
