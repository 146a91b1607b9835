"""The gspread client the gateway talks through: the sheet's errors and one retry policy.

Google is reached only through :class:`RetryingHTTPClient` (gspread's HTTP client
with bounded, jittered retries on the shared policy, waiting on the stop event) and
every failure becomes one of the sheet's branches of the error tree below.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, TypeVar

import gspread
import requests
from gspread.exceptions import APIError
from gspread.http_client import HTTPClient
from gspread.urls import SPREADSHEET_VALUES_BATCH_URL
from pydantic_core import from_json

from bot.core.errors import RateLimited, Stopped, TransientError, ZaikoError
from bot.infra.clock import Clock, RealClock
from bot.infra.retry import Backoff, RetryPolicy
from bot.infra.sheet.encoded import body_bytes
from bot.infra.sheet.known_span import KnownSpan, KnownTexts, decode_keeping

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

SHEETS_ORIGIN = "https://sheets.googleapis.com"
"""Where gspread sends every Sheets call (its ``gspread.urls`` constants)."""
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
"""Statuses worth retrying; google-sheets.md §1 (never 400/403/404)."""

# --------------------------------------------------------------------------- errors


class SheetError(ZaikoError):
    """The sheet could not be read or written (after bounded retries)."""


SheetStopped = Stopped
"""The stop event was set while waiting to retry: the one Stopped of bot.core.errors."""


class SheetRateLimited(SheetError, RateLimited):
    """Google answered 429 (per-minute quota); retried, then reported."""


class SheetUnavailable(SheetError, TransientError):
    """408/5xx or a lost connection on a read; retried, then reported."""


class CommitOutcomeUnknown(SheetError):
    """A write was sent but its answer was lost (timeout); it may have been applied."""


class SheetLayoutError(SheetError):
    """A tab the bot needs is missing; ``init-sheet`` creates it."""


T = TypeVar("T")


def resend_unless_landed(
    lost: CommitOutcomeUnknown, landed: Callable[[], bool], resend: Callable[[], T], what: str
) -> tuple[bool, T | None]:
    """A batchUpdate whose answer was lost (timeout, reset connection): it may have landed.

    The batch also wrote a marker in _state; ``landed`` reads _state and says whether
    the marker is there. If so nothing is sent again; if not, ``resend`` sends it.
    Returns (whether it was sent again, its answer). Raises :class:`CommitOutcomeUnknown`
    when _state cannot be read (the caller must re-read the sheet before trusting what
    it believes it holds).
    """
    try:
        applied = landed()
    except SheetStopped:
        raise
    except SheetError as err:
        raise CommitOutcomeUnknown(
            f"{lost}; _state could not be read to check whether it was applied: {err}"
        ) from err
    if applied:
        log.warning("%s was applied although its answer was lost", what)
        return False, None
    log.warning("%s was not applied; sending it again", what)
    return True, resend()


# --------------------------------------------------------------------------- http


class RetryingHTTPClient(HTTPClient):
    """gspread HTTP client on the shared retry policy, waiting on a stop event.

    gspread 6.2.1's BackOffHTTPClient retries forever with a sticky counter
    (google-sheets.md §5); this one makes at most ``max_tries`` attempts within
    ``max_seconds`` of backoff (:mod:`bot.infra.retry`) and never retries a write whose
    answer was lost: that is reported as :class:`CommitOutcomeUnknown` so the caller
    can check before resending.
    """

    clock: Clock = RealClock()
    stop: threading.Event | None = None
    rng: random.Random = random.Random()
    max_tries: int = 5
    max_seconds: float = 90.0
    base_url: str = SHEETS_ORIGIN
    """Sent here instead of :data:`SHEETS_ORIGIN` (setting ``google_sheets_base_url``)."""
    BACKOFF = Backoff(base=2.0, cap=32.0, jitter=0.125)
    """2, 4, 8, 16 s … each with up to 1/8 more at random."""

    def configure(
        self,
        *,
        clock: Clock,
        stop: threading.Event | None,
        rng: random.Random | None = None,
        max_tries: int = 5,
        max_seconds: float = 90.0,
        base_url: str = SHEETS_ORIGIN,
    ) -> None:
        """Inject the clock, stop event, limits and host (gspread builds the instance)."""
        self.clock = clock
        self.stop = stop
        self.rng = rng or random.Random()
        self.max_tries = max_tries
        self.max_seconds = max_seconds
        self.base_url = base_url.rstrip("/") or SHEETS_ORIGIN

    def request(
        self,
        method: str,
        endpoint: str,
        params: Any = None,
        data: Any = None,
        json: Mapping[str, Any] | None = None,
        files: Any = None,
        headers: MutableMapping[str, str] | None = None,
    ) -> requests.Response:
        """Send one API call, retrying 408/429/5xx and lost connections within limits."""
        endpoint = self._rebased(endpoint)
        tries = 0

        def attempt() -> requests.Response:
            nonlocal tries
            tries += 1
            return self._attempt(method, endpoint, params, data, json, files, headers)

        def on_retry(error: ZaikoError, tries: int, delay: float) -> None:
            log.warning("sheets %s on %s; retry %d in %.1fs", error, _path(endpoint), tries, delay)

        policy = RetryPolicy(self.BACKOFF, max_tries=self.max_tries, max_seconds=self.max_seconds)
        try:
            return policy.run(
                attempt, clock=self.clock, stop=self.stop, rng=self.rng, on_retry=on_retry
            )
        except (SheetRateLimited, SheetUnavailable) as last:
            raise SheetUnavailable(
                f"Google Sheets: {last} after {tries} tries ({_path(endpoint)})"
            ) from last

    def values_batch_get(
        self,
        id: str,
        ranges: list[str],
        params: Any = None,
        keep: KnownSpan | None = None,
        texts: KnownTexts | None = None,
    ) -> Any:
        """``values:batchGet``, its answer decoded by :func:`decoded` (gspread's, faster).

        Every cycle's snapshot read is one of these: at 100k products megabytes of
        cells a cycle, which the stdlib decoder behind ``Response.json`` took 5 % of
        the bot's cycle to read. ``keep``: a valueRange whose values are not decoded
        again when their bytes are as last answered (:mod:`bot.infra.sheet.known_span`);
        ``texts``: long texts not decoded again when their bytes are as last answered.
        """
        params = {**(params or {}), "ranges": ranges}
        response = self.request("get", SPREADSHEET_VALUES_BATCH_URL % id, params=params)
        if keep is None:
            return decoded(response)
        return decode_keeping(response.content, keep, lambda _: decoded(response), texts)

    def _rebased(self, endpoint: str) -> str:
        """The URL on the configured host (gspread builds them from its constants)."""
        if self.base_url != SHEETS_ORIGIN and endpoint.startswith(SHEETS_ORIGIN + "/"):
            return self.base_url + endpoint[len(SHEETS_ORIGIN) :]
        return endpoint

    def _attempt(
        self,
        method: str,
        endpoint: str,
        params: Any,
        data: Any,
        json: Mapping[str, Any] | None,
        files: Any,
        headers: MutableMapping[str, str] | None,
    ) -> requests.Response:
        """One call, its failure translated to the error tree."""
        if json is not None and data is None:
            # The body encoded by pydantic-core (Rust) instead of ``requests``' json.dumps:
            # a 100k shop's commit and record bodies are megabytes a minute, and the
            # stdlib encoder took 40 % longer than the rest of building them. UTF-8 as is
            # (json.dumps escaped every 日本語 character to six bytes). A commit's bulk
            # comes already written as JSON text (bot.infra.sheet.encoded), the same bytes.
            data, json = body_bytes(json), None
            headers = {**(headers or {}), "Content-Type": "application/json"}
        try:
            return super().request(method, endpoint, params, data, json, files, headers)
        except APIError as err:
            status = err.response.status_code
            if status == 429:
                raise SheetRateLimited(f"HTTP {status}", _retry_after(err.response)) from err
            if status in RETRY_STATUSES:
                raise SheetUnavailable(f"HTTP {status}") from err
            raise SheetError(api_message(err)) from err
        except (requests.Timeout, requests.ConnectionError) as err:
            if method.upper() != "GET":
                raise CommitOutcomeUnknown(
                    f"no answer to {method} {_path(endpoint)}: {type(err).__name__}"
                ) from err
            raise SheetUnavailable(type(err).__name__) from err


def decoded(response: requests.Response) -> Any:
    """A JSON answer's body, the same values as ``response.json()`` gives, faster.

    Decoded by pydantic-core (Rust). Only keys go through its string cache: at 100k
    products the hot read's 2 MB answer holds 100,000 distinct 商品コード, which only
    churn the cache — 25 ms with every string cached (no faster than the stdlib
    decoder), 14 ms with keys only. A body it refuses but the ``json`` module may take
    (a lone surrogate escape, another UTF) is left to ``response.json()``, so the
    answer and its errors are the same.
    """
    try:
        return from_json(response.content, cache_strings="keys")
    except ValueError:
        return response.json()


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _path(endpoint: str) -> str:
    return endpoint.split("/spreadsheets/", 1)[-1].split("?", 1)[0]


def api_message(err: APIError) -> str:
    return f"Google Sheets {err.response.status_code}: {err.error.get('message', '')}"


def make_client(
    auth: Any = None,
    *,
    session: requests.Session | None = None,
    clock: Clock,
    stop: threading.Event | None,
    rng: random.Random | None = None,
    timeout: tuple[float, float] = (5.0, 30.0),
    max_tries: int = 5,
    max_seconds: float = 90.0,
    base_url: str = SHEETS_ORIGIN,
) -> gspread.Client:
    """A gspread client with our retry and explicit timeouts (its default is none)."""
    client = gspread.Client(auth=auth, session=session, http_client=RetryingHTTPClient)
    http = client.http_client
    assert isinstance(http, RetryingHTTPClient)
    http.configure(
        clock=clock,
        stop=stop,
        rng=rng,
        max_tries=max_tries,
        max_seconds=max_seconds,
        base_url=base_url,
    )
    client.set_timeout(timeout)
    return client
