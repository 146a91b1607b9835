"""Slack delivery: a queue and one thread, so a slow or dead Slack never delays a sync.

:class:`SlackAlerts` puts each batch on an in-process queue and returns at once, and a
daemon thread posts the queue in order (ARCHITECTURE.md §7). Each post runs under the
shared retry policy (:mod:`bot.infra.retry`): when Slack is down or rate-limits us the
head message stays queued and is retried with a bounded backoff that waits on a stop
event, so shutdown is never held hostage by a retry. Slack's answers are translated
into the Slack family of the error tree (:mod:`bot.core.errors`) and its health follows
the rules every source follows (:class:`bot.core.health.Health`): unavailable is logged
once and back once; a refused token or channel parks Slack until the worker restarts,
with everything going to the console sink instead. A queue that grows past its cap
folds its oldest messages into one 「未送信のアラートがN件あります」 summary after
writing their details to the console.

Only this package talks to Slack (§2). Log lines are English and never contain the bot
token (STYLE.md 11).
"""

from __future__ import annotations

import collections
import logging
import re
import threading
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from http.client import HTTPException
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

from bot.core import words
from bot.core.domain import Alert, AlertKind
from bot.core.errors import AuthError, RateLimited, Rejected, Stopped, TransientError, ZaikoError
from bot.core.health import Change, Health, State
from bot.infra.alerts.blocks import build_blocks, group_alerts, queue_summary_blocks
from bot.infra.alerts.links import SheetLinks
from bot.infra.alerts.sinks import AlertSink, ConsoleAlerts
from bot.infra.clock import Clock, RealClock
from bot.infra.retry import Backoff, RetryPolicy

log = logging.getLogger("bot.infra.alerts")
"""The package's logger: the sink's lines keep one name wherever they are written."""

# --------------------------------------------------------------------------- errors


class SlackError(ZaikoError):
    """Slack did not take a message (never leaves this package)."""


class SlackRefused(SlackError, AuthError):
    """Bad token or channel: a person must fix it; the console takes over until restart."""


class SlackRateLimited(SlackError, RateLimited):
    """HTTP 429: wait at least Slack's Retry-After."""


class SlackUnavailable(SlackError, TransientError):
    """5xx, Slack's own transient error codes, lost connections: retry with backoff."""


class SlackRejected(SlackError, Rejected):
    """Slack refused this payload: resend it as plain text, then print it."""


# --------------------------------------------------------------------------- Slack

FATAL_ERRORS: frozenset[str] = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "team_access_not_granted",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "restricted_action",
    }
)
"""Slack answers that retrying cannot fix: a person must fix the token or the channel."""

TRANSIENT_ERRORS: frozenset[str] = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
"""Slack answers worth retrying even when they come with HTTP 200."""

_TOKEN_PATTERN = re.compile(r"xox[a-z]-[A-Za-z0-9-]+")
_ERROR_CODE = re.compile(r"[a-z0-9_]{1,60}")

SDK_LOGGER = "bot.infra.alerts.sdk"
"""The logger handed to the production WebClient (see _QuietRetries)."""


class _QuietRetries(logging.Filter):
    """Drop the SDK's per-attempt error lines while Slack is down.

    The SDK logs an ERROR on every failed attempt; SlackAlerts already says once that
    Slack went away and once that it came back (STYLE.md 9), so an outage of hours
    would otherwise fill the log drain with one line per retry.
    """

    PREFIXES = ("Failed to send a request to Slack API server", "Failed to decode Slack API")

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep everything except the repeated per-attempt failures."""
        return not str(record.msg).startswith(self.PREFIXES)


def _sdk_logger() -> logging.Logger:
    """The WebClient's logger, with the filter installed once (no import-time setup)."""
    logger = logging.getLogger(SDK_LOGGER)
    if not any(isinstance(f, _QuietRetries) for f in logger.filters):
        logger.addFilter(_QuietRetries())
    return logger


@dataclass
class _Message:
    """One queued Slack message and what is needed if it cannot be posted."""

    text: str
    blocks: list[dict[str, Any]] | None
    alerts: list[Alert]
    """Kept for the console fallback; empty for a queue summary (details already printed)."""
    counts: collections.Counter[str] = field(default_factory=collections.Counter)
    """Label → number of alerts, so a queue summary can say what it stands for."""
    urgent: bool = False
    summary: bool = False

    @property
    def size(self) -> int:
        """How many alerts this message stands for."""
        return sum(self.counts.values())


def _summary_message(counts: collections.Counter[str], urgent: bool) -> _Message:
    """The 「未送信のアラートがN件あります」 message standing for merged queue entries."""
    text, blocks = queue_summary_blocks(counts, urgent)
    return _Message(
        text=text,
        blocks=blocks,
        alerts=[],
        counts=collections.Counter(counts),
        urgent=urgent,
        summary=True,
    )


class SlackAlerts:
    """Posts each batch as one Block Kit message from a background thread.

    ``send()`` only appends to a queue, so a slow or dead Slack never delays a sync.
    The thread posts in order, at most one post per ``min_interval`` seconds (Slack's
    ~1 message/s per channel), and keeps a failed message at the head of the queue
    until Slack takes it. Every wait goes through ``clock.sleep`` on an internal stop
    event, so ``close()`` interrupts a backoff at once.

    The client is injected (STYLE.md 4); :meth:`from_token` builds the production one.
    Use a real clock: on a virtual clock waits return at once and a down Slack would
    be polled in a tight loop.
    """

    THREAD_NAME = "zaiko-slack-alerts"

    def __init__(
        self,
        client: WebClient,
        channel: str,
        *,
        fallback: AlertSink | None = None,
        clock: Clock | None = None,
        min_interval: float = 1.0,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        max_wait: float = 300.0,
        max_queue: int = 1_000,
        links: SheetLinks | None = None,
    ) -> None:
        if max_queue < 2:
            raise ValueError("max_queue must be at least 2 (one summary plus one message)")
        self._client = client
        self._channel = channel
        self.links = links
        """Where messages link to (the spreadsheet, the product's row); bootstrap sets it."""
        self._fallback: AlertSink = fallback if fallback is not None else ConsoleAlerts()
        self._clock: Clock = clock if clock is not None else RealClock()
        self._min_interval = min_interval
        self._policy = RetryPolicy(
            Backoff(base=backoff_base, cap=backoff_max),
            max_tries=None,
            max_seconds=None,
            max_wait=max_wait,
        )
        """Until delivered or stopped: exponential, no jitter (one client per channel)."""
        self._max_queue = max_queue

        self._cond = threading.Condition()
        self._queue: collections.deque[_Message] = collections.deque()
        self._current: _Message | None = None
        """The message being posted or retried; it leaves the queue only when delivered."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._health = Health()
        """Slack's health: DOWN while posts fail, PARKED (console) once it refused us."""
        self._overflowing = False
        self._last_post: float | None = None

    @classmethod
    def from_token(
        cls,
        token: str,
        channel: str,
        *,
        base_url: str | None = None,
        timeout: float = 10,
        links: SheetLinks | None = None,
    ) -> SlackAlerts:
        """Build the production sink: a WebClient with a timeout and small SDK retries.

        The SDK's rate-limit handler sleeps ``Retry-After`` inside the call, so it is
        allowed one retry only; anything longer is our own queue's job, which waits on
        the stop event. The connection handler reconnects once after a dropped
        keep-alive, with a short fixed pause because our backoff does the rest.
        """
        kwargs: dict[str, Any] = {}
        if base_url is not None:
            kwargs["base_url"] = base_url
        client = WebClient(
            token=token,
            # The SDK annotates timeout as int but hands it to urllib, which takes floats.
            timeout=timeout,  # type: ignore[arg-type]
            logger=_sdk_logger(),
            retry_handlers=[
                ConnectionErrorRetryHandler(
                    max_retry_count=1,
                    interval_calculator=FixedValueRetryIntervalCalculator(0.25),
                ),
                RateLimitErrorRetryHandler(max_retry_count=1),
            ],
            **kwargs,
        )
        return cls(client, channel, links=links)

    # ------------------------------------------------------------------ public API

    def send(self, alerts: Sequence[Alert]) -> None:
        """Queue the batch as one message and return at once; never raises."""
        try:
            if not alerts:
                return
            with self._cond:
                direct = self._closed or self._parked
            if direct:
                self._safe_fallback(alerts)
                return
            if self.links is not None:
                # In the caller's thread: the sheet as last read names the products.
                alerts = [self.links.complete(alert) for alert in alerts]
            text, blocks = build_blocks(alerts, self.links)
            groups = group_alerts(alerts)
            message = _Message(
                text=text,
                blocks=blocks,
                alerts=list(alerts),
                counts=collections.Counter({g.label: len(g.alerts) for g in groups}),
                urgent=any(g.urgent for g in groups),
            )
            merged: list[Alert] = []
            with self._cond:
                if self._closed or self._parked:
                    merged = list(alerts)
                else:
                    self._queue.append(message)
                    merged = self._fold_overflow()
                    self._ensure_thread()
                    self._cond.notify_all()
            if merged:
                # Details of messages folded into the summary (or a batch that lost a
                # race with close()) still reach a person through the console.
                self._safe_fallback(merged)
        except Exception:
            log.exception("Could not queue alerts for Slack; writing them to the console")
            self._safe_fallback(alerts)

    def flush(self, timeout: float) -> bool:
        """Wait until the queue is empty (delivered, or handed to the fallback)."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self._current is None and not self._queue, timeout=max(timeout, 0.0)
            )

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what Slack takes within ``timeout``, stop the thread, print the rest.

        Safe to call twice. Messages still queued at the end go to the fallback sink so
        a shutdown during a Slack outage loses nothing. If a post is still in flight
        when the time is up (a stalled socket, bounded by the client timeout), its
        message is printed too and may also reach Slack: a duplicate beats a loss.
        """
        with self._cond:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        start = self._clock.monotonic()
        if thread is not None:
            self.flush(timeout)
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if thread is not None:
            remaining = timeout - (self._clock.monotonic() - start)
            thread.join(max(remaining, 0.1))
            if thread.is_alive():
                log.warning("Slack delivery thread still busy after %.1f s; leaving it", timeout)
        with self._cond:
            leftovers = ([self._current] if self._current is not None else []) + list(self._queue)
            self._current = None
            self._queue.clear()
            self._cond.notify_all()
        if leftovers:
            log.warning(
                "%d Slack message(s) undelivered at shutdown; writing them to the console",
                len(leftovers),
            )
            self._to_fallback(leftovers)

    @property
    def pending(self) -> int:
        """Messages waiting for Slack (including one being retried)."""
        with self._cond:
            return len(self._queue) + (self._current is not None)

    @property
    def thread(self) -> threading.Thread | None:
        """The delivery thread, once the first batch started it."""
        return self._thread

    # ------------------------------------------------------------------ internals

    def _ensure_thread(self) -> None:
        """Start the delivery thread on first use (no thread for a sink never used)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self.THREAD_NAME, daemon=True)
            self._thread.start()

    def _fold_overflow(self) -> list[Alert]:
        """Past ``max_queue``, merge the oldest queued messages into one summary.

        Called with the lock held. Returns the alerts whose details must go to the
        console because Slack will only see their count.
        """
        spilled: list[Alert] = []
        while len(self._queue) + (self._current is not None) > self._max_queue:
            if len(self._queue) < 2:
                break
            first = self._queue.popleft()
            second = self._queue.popleft()
            spilled += first.alerts + second.alerts
            counts = first.counts + second.counts
            self._queue.appendleft(_summary_message(counts, first.urgent or second.urgent))
            if not self._overflowing:
                self._overflowing = True
                log.warning(
                    "Slack queue is over %d messages; folding the oldest into a summary "
                    "and writing their details to the console",
                    self._max_queue,
                )
        return spilled

    @property
    def _parked(self) -> bool:
        """Slack refused the token or channel: everything goes to the console."""
        return self._health.state is State.PARKED

    def _run(self) -> None:
        """Delivery loop: post the head message until Slack takes it, then the next."""
        while (message := self._next()) is not None:
            try:
                self._deliver(message)
            except Stopped:
                return
            except SlackRefused as err:
                self._park(err)
                with self._cond:
                    rest = [message, *self._queue]
                    self._queue.clear()
                    self._current = None
                    self._cond.notify_all()
                self._to_fallback(rest)
                return

    def _next(self) -> _Message | None:
        """The head message (the one being retried, if any); None when stopping."""
        with self._cond:
            while self._current is None and not self._queue and not self._stop.is_set():
                self._cond.wait()
            if self._stop.is_set():
                return None
            if self._current is None:
                self._current = self._queue.popleft()
            return self._current

    def _deliver(self, message: _Message) -> None:
        """Post one message under the retry policy; a refused payload goes plain, then out.

        Raises Stopped when the stop event cut a wait, SlackRefused when Slack refused
        the bot itself.
        """
        try:
            self._policy.run(
                lambda: self._post(message),
                clock=self._clock,
                stop=self._stop,
                on_retry=self._mark_down,
            )
        except SlackRejected:
            if message.blocks is not None:
                # Slack refused the blocks themselves: the plain text still informs.
                log.warning("Retrying the rejected Slack message as plain text")
                message.blocks = None
                return  # still the head message: the loop posts it again
            log.warning("Writing the rejected Slack message to the console instead")
            self._to_fallback([message])
        else:
            if self._health.succeeded(self._clock.now()) is Change.RECOVERED:
                log.info("Slack reachable again; delivering queued alerts")
        self._done(message)

    def _done(self, message: _Message) -> None:
        """Take the delivered (or printed) head message off the queue."""
        with self._cond:
            if self._current is message:
                self._current = None
            if not self._queue:
                self._overflowing = False
            self._cond.notify_all()

    def _wait_spacing(self) -> bool:
        """Keep ``min_interval`` between posts; False if the stop event cut the wait."""
        if self._last_post is None:
            return True
        wait = self._last_post + self._min_interval - self._clock.monotonic()
        return wait <= 0 or self._clock.sleep(wait, self._stop)

    def _post(self, message: _Message) -> None:
        """One chat.postMessage, after the spacing; Slack's answer as a SlackError."""
        if not self._wait_spacing():
            raise Stopped("stop requested while spacing Slack posts")
        self._last_post = self._clock.monotonic()
        try:
            self._client.chat_postMessage(
                channel=self._channel,
                text=message.text,
                blocks=message.blocks,
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as err:
            raise self._classify_api_error(err) from None
        except SlackRequestError as err:
            # Our request cannot be made at all (e.g. a malformed base_url): fatal.
            raise SlackRefused(f"{type(err).__name__}, {self._redact(str(err))}") from None
        except (OSError, HTTPException) as err:
            raise SlackUnavailable(self._redact(f"{type(err).__name__}: {err}")) from None
        except Exception as err:
            # A bug or an SDK surprise: keep the message and retry, log the traceback once
            # (formatted and redacted by us, since exc_info would print it verbatim).
            if self._health.state is State.OK:
                log.error(
                    "Unexpected error posting to Slack; will retry:\n%s",
                    self._redact("".join(traceback.format_exception(err))),
                )
            raise SlackUnavailable(f"unexpected {type(err).__name__}") from None

    def _classify_api_error(self, err: SlackApiError) -> SlackError:
        """Sort a Slack error answer into the Slack family of the error tree."""
        response = err.response
        status = int(getattr(response, "status_code", 0) or 0)
        try:
            code = str(response.get("error", "") or "")
        except Exception:
            code = ""
        # Error codes are short snake_case words; anything else is a body the SDK could
        # not parse (a proxy's HTML page, say), which has no place in a log line.
        code = code if _ERROR_CODE.fullmatch(code) else ("non-JSON response" if code else "")
        if code in FATAL_ERRORS:
            return SlackRefused(f"{code}, HTTP {status}")
        why = f"HTTP {status} {code}".strip()
        if status == 429:
            return SlackRateLimited(why, self._retry_after(response))
        if status >= 500 or code in TRANSIENT_ERRORS:
            return SlackUnavailable(why)
        log.warning("Slack rejected a message (HTTP %d, %s)", status, code or "no error code")
        return SlackRejected(why)

    @staticmethod
    def _retry_after(response: Any) -> float | None:
        """Slack's Retry-After in seconds, if the 429 carried one."""
        headers = getattr(response, "headers", None) or {}
        for name, value in dict(headers).items():
            if str(name).lower() == "retry-after":
                raw = value[0] if isinstance(value, list) and value else value
                try:
                    return max(float(raw), 0.0)
                except (TypeError, ValueError):
                    return None
        return None

    def _mark_down(self, error: ZaikoError, tries: int, delay: float) -> None:
        """Before each backoff: log once when Slack starts failing (recovery: _deliver)."""
        if self._health.failed(error, self._clock.now()) is Change.BROKE:
            log.warning("Slack unavailable (%s); keeping alerts queued and retrying", error)

    def _park(self, error: SlackRefused) -> None:
        """Slack refused the bot: log it once; send() now goes to the fallback."""
        with self._cond:
            change = self._health.failed(error, self._clock.now())
        if change is Change.PARKED:
            log.error(
                "Slack refused the bot (%s); check ZAIKO_SLACK_BOT_TOKEN and that the "
                "bot is in channel %s. Alerts go to the console until the worker restarts.",
                error,
                self._channel,
            )

    def _to_fallback(self, messages: Iterable[_Message]) -> None:
        """Hand undeliverable messages to the fallback sink (console by default)."""
        for message in messages:
            if message.alerts:
                self._safe_fallback(message.alerts)
            elif message.summary:
                self._safe_fallback(
                    [
                        Alert(
                            kind=AlertKind.SUMMARY,
                            key="queue-summary",
                            title=words.say("alerts.queue_summary", n=message.size),
                            text="、".join(
                                words.say("alerts.label_count", label=k, n=n)
                                for k, n in message.counts.items()
                            ),
                            urgent=message.urgent,
                        )
                    ]
                )

    def _safe_fallback(self, alerts: Sequence[Alert]) -> None:
        """The fallback is injected and might be anything: its failure must not escape."""
        try:
            self._fallback.send(alerts)
        except Exception:
            log.exception("Fallback alert sink failed; %d alert(s) lost", len(alerts))

    def _redact(self, text: str) -> str:
        """Remove the bot token (and anything shaped like a Slack token) from log text."""
        token = getattr(self._client, "token", None)
        if isinstance(token, str) and token:
            text = text.replace(token, "***")
        return _TOKEN_PATTERN.sub("xox?-***", text)
