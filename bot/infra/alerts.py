"""Alert sinks: Slack (Block Kit, Japanese), the console, and an in-memory recorder.

The worker hands each cycle's alerts to an :class:`AlertSink` in one ``send()`` call.
Which conditions deserve an alert, and that each is said only once, is decided
upstream (engine and worker, ARCHITECTURE.md §1 step 7); this module only words them
for staff, groups them into one message per batch and delivers them.

Slack delivery must never delay a sync (§7): :class:`SlackAlerts` puts each batch on an
in-process queue and returns at once, and a daemon thread posts the queue in order.
When Slack is down or rate-limits us the head message stays queued and is retried with
a bounded backoff that waits on a stop event, so shutdown is never held hostage by a
retry. Nothing is silently lost: a fatal Slack error (bad token, wrong channel) sends
everything to the console sink instead, and a queue that grows past its cap folds its
oldest messages into one 「未送信のアラートがN件あります」 summary after writing their
details to the console.

Only this module talks to Slack (§2). Slack text is Japanese (STYLE.md 13); log lines
are English and never contain the bot token (STYLE.md 11).
"""

from __future__ import annotations

import collections
import enum
import logging
import re
import sys
import threading
import traceback
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.client import HTTPException
from typing import Any, Protocol, TextIO

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

from bot.core import words
from bot.core.domain import Alert, AlertKind
from bot.infra.clock import Clock, RealClock

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- wording

LABELS: Mapping[AlertKind, str] = {
    AlertKind.LOW_STOCK: "在庫下限",
    AlertKind.OUT_OF_STOCK: "在庫切れ",
    AlertKind.OVERSELL: "売り越し",
    AlertKind.BACKORDER: "取り寄せ",
    AlertKind.UNASSIGNED: "未割当の注文",
    AlertKind.ROW_PROBLEM: "シートの入力エラー",
    AlertKind.MALL_DOWN: "モール接続エラー",
    AlertKind.MALL_RECOVERED: "モール接続回復",
    AlertKind.AUTH_FAILED: "認証エラー",
    AlertKind.CREDENTIAL_EXPIRING: "認証キーの期限切れ間近",
    AlertKind.SHEET_ERROR: "シートエラー",
    AlertKind.DRIFT: "モール側の在庫変更",
    AlertKind.PUSH_REJECTED: "在庫反映エラー",
    AlertKind.SUMMARY: "日次サマリー",
}
"""Staff-facing name of each alert kind (the Alert's title carries the specifics)."""

EMOJI: Mapping[AlertKind, str] = {
    AlertKind.LOW_STOCK: ":warning:",
    AlertKind.OUT_OF_STOCK: ":no_entry:",
    AlertKind.OVERSELL: ":x:",
    AlertKind.BACKORDER: ":package:",
    AlertKind.UNASSIGNED: ":grey_question:",
    AlertKind.ROW_PROBLEM: ":pencil2:",
    AlertKind.MALL_DOWN: ":red_circle:",
    AlertKind.MALL_RECOVERED: ":large_green_circle:",
    AlertKind.AUTH_FAILED: ":closed_lock_with_key:",
    AlertKind.CREDENTIAL_EXPIRING: ":hourglass_flowing_sand:",
    AlertKind.SHEET_ERROR: ":bookmark_tabs:",
    AlertKind.DRIFT: ":mag:",
    AlertKind.PUSH_REJECTED: ":leftwards_arrow_with_hook:",
    AlertKind.SUMMARY: ":bar_chart:",
}

URGENT_KINDS: frozenset[AlertKind] = frozenset({AlertKind.OVERSELL, AlertKind.AUTH_FAILED})
"""Kinds that are always urgent: units the shop owes, or a mall that stopped syncing."""

URGENT_PREFIX = ":rotating_light:"

KIND_ORDER: tuple[AlertKind, ...] = (
    AlertKind.OVERSELL,
    AlertKind.AUTH_FAILED,
    AlertKind.OUT_OF_STOCK,
    AlertKind.MALL_DOWN,
    AlertKind.SHEET_ERROR,
    AlertKind.PUSH_REJECTED,
    AlertKind.DRIFT,
    AlertKind.LOW_STOCK,
    AlertKind.BACKORDER,
    AlertKind.UNASSIGNED,
    AlertKind.ROW_PROBLEM,
    AlertKind.CREDENTIAL_EXPIRING,
    AlertKind.MALL_RECOVERED,
    AlertKind.SUMMARY,
)
"""Order of sections within one message: what needs action soonest comes first."""

# Slack limits. Sections may hold 3,000 characters, but msg_blocks_too_long has been
# seen below the documented totals (slackapi/bolt-js#2509), so we stay well under.
MAX_BLOCKS = 50
SECTION_LIMIT = 2_500
HEADER_LIMIT = 150
FALLBACK_TEXT_LIMIT = 3_000
ITEM_LIMIT = 300
"""One line per alert when a section lists several of one kind."""


def is_urgent(alert: Alert) -> bool:
    """Urgent alerts get the siren and go first: by kind, or flagged by the engine."""
    return alert.urgent or alert.kind in URGENT_KINDS


def escape_mrkdwn(text: str) -> str:
    """Escape ``&``, ``<``, ``>`` so outside text cannot become ``<!channel>`` or a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip_escaped(text: str, limit: int, tail: str = "…") -> str:
    """Escape ``text`` and cut it to ``limit`` characters without splitting an entity."""
    escaped = escape_mrkdwn(text)
    if len(escaped) <= limit:
        return escaped
    budget = limit - len(tail)
    out: list[str] = []
    used = 0
    for ch in text:
        piece = escape_mrkdwn(ch)
        if used + len(piece) > budget:
            break
        out.append(piece)
        used += len(piece)
    return "".join(out) + tail


def _clip_plain(text: str, limit: int) -> str:
    """Cut plain text (no mrkdwn, e.g. a header) to ``limit`` characters."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _one_line(text: str) -> str:
    """Collapse a multi-line detail so a list of several alerts stays compact."""
    return " / ".join(part.strip() for part in text.splitlines() if part.strip())


@dataclass(frozen=True)
class AlertGroup:
    """Alerts of one kind and urgency within one batch, in the order they were sent."""

    kind: AlertKind
    urgent: bool
    alerts: tuple[Alert, ...]

    @property
    def label(self) -> str:
        """Japanese name of the kind."""
        return LABELS[self.kind]


def group_alerts(alerts: Iterable[Alert]) -> list[AlertGroup]:
    """Drop exact duplicate keys within the batch, group by kind, urgent groups first.

    Deduplication stops here on purpose: whether a condition is new is decided upstream,
    so two batches with the same key are two messages.
    """
    seen: set[str] = set()
    buckets: dict[tuple[bool, AlertKind], list[Alert]] = {}
    for alert in alerts:
        if alert.key in seen:
            continue
        seen.add(alert.key)
        buckets.setdefault((is_urgent(alert), alert.kind), []).append(alert)
    order = {kind: i for i, kind in enumerate(KIND_ORDER)}
    keys = sorted(buckets, key=lambda k: (not k[0], order.get(k[1], len(order))))
    return [AlertGroup(kind=k[1], urgent=k[0], alerts=tuple(buckets[k])) for k in keys]


def _headline(groups: Sequence[AlertGroup]) -> str:
    """What a phone notification and the header show: the kinds and their counts."""
    total = sum(len(g.alerts) for g in groups)
    if total == 1:
        only = groups[0].alerts[0]
        text = f"{groups[0].label}: {_one_line(only.title)}"
    else:
        text = "・".join(f"{g.label} {len(g.alerts)}件" for g in groups)
    if any(g.urgent for g in groups):
        text = f"{URGENT_PREFIX} {text}"
    return text


def _section_text(group: AlertGroup) -> str:
    """Slack mrkdwn for one group: a single alert in full, several as a compact list."""
    prefix = f"{URGENT_PREFIX} " if group.urgent else ""
    first = f"{prefix}{EMOJI[group.kind]} *{escape_mrkdwn(group.label)}*"
    if len(group.alerts) == 1:
        alert = group.alerts[0]
        head = f"{first}: {_clip_escaped(alert.title, SECTION_LIMIT - len(first) - 2)}"
        room = SECTION_LIMIT - len(head) - 1
        if not alert.text.strip() or room < 20:
            return head
        return head + "\n" + _clip_escaped(alert.text.strip(), room)

    lines = [f"{first}（{len(group.alerts)}件）"]
    used = len(lines[0])
    for i, alert in enumerate(group.alerts):
        item = alert.title + (f" — {_one_line(alert.text)}" if alert.text.strip() else "")
        line = "• " + _clip_escaped(item, ITEM_LIMIT)
        rest = len(group.alerts) - i - 1
        # Keep room for the 「…ほかN件」 line unless this is the last item.
        reserve = len(f"\n…ほか{rest}件") if rest else 0
        if used + 1 + len(line) + reserve > SECTION_LIMIT:
            lines.append(f"…ほか{len(group.alerts) - i}件")
            break
        lines.append(line)
        used += 1 + len(line)
    return "\n".join(lines)


def _fallback_text(headline: str, groups: Sequence[AlertGroup]) -> str:
    """Top-level ``text``: the notification, and what clients without blocks show."""
    alerts = [(g, a) for g in groups for a in g.alerts]
    lines = [escape_mrkdwn(headline)]
    used = len(lines[0])
    for i, (group, alert) in enumerate(alerts):
        line = "• " + _clip_escaped(f"{group.label}: {alert.title}", ITEM_LIMIT)
        rest = len(alerts) - i - 1
        reserve = len(f"\n…ほか{rest}件") if rest else 0
        if used + 1 + len(line) + reserve > FALLBACK_TEXT_LIMIT:
            lines.append(f"…ほか{len(alerts) - i}件")
            break
        lines.append(line)
        used += 1 + len(line)
    return "\n".join(lines)


def build_blocks(alerts: Sequence[Alert]) -> tuple[str, list[dict[str, Any]]]:
    """Turn one batch into (fallback text, Block Kit blocks) for ONE Slack message.

    A header names the kinds and counts; then one section per kind (urgent kinds
    first), each within Slack's limits. Pure, so it is tested without Slack.
    Raises ValueError for an empty batch (there is nothing to say).
    """
    groups = group_alerts(alerts)
    if not groups:
        raise ValueError("build_blocks needs at least one alert")
    headline = _headline(groups)
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": _clip_plain(headline, HEADER_LIMIT),
                "emoji": True,
            },
        }
    ]
    room = MAX_BLOCKS - len(blocks)
    shown = groups if len(groups) <= room else groups[: room - 1]
    for group in shown:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _section_text(group)}})
    if len(shown) < len(groups):
        rest = sum(len(g.alerts) for g in groups[len(shown) :])
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"…ほか{rest}件"}})
    return _fallback_text(headline, groups), blocks


def format_console(alerts: Sequence[Alert]) -> str:
    """Plain Japanese lines for a terminal or a log drain (no Slack markup)."""
    lines: list[str] = []
    for group in group_alerts(alerts):
        mark = "【至急】" if group.urgent else ""
        for alert in group.alerts:
            lines.append(f"{mark}【{group.label}】{alert.title}")
            lines.extend(f"    {part}" for part in alert.text.splitlines() if part.strip())
    return "\n".join(lines) + ("\n" if lines else "")


# --------------------------------------------------------------------------- sinks


class AlertSink(Protocol):
    """Where the worker sends each cycle's alerts."""

    def send(self, alerts: Sequence[Alert]) -> None:
        """Hand over one batch; never blocks on the network and never raises."""
        ...

    def flush(self, timeout: float) -> bool:
        """Wait until everything sent so far is delivered; False on timeout."""
        ...

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what can be delivered within ``timeout`` and release resources."""
        ...


class ConsoleAlerts:
    """Prints alerts as Japanese lines; the sink when no Slack token is configured.

    On Heroku stdout is the log drain, so this is also where alerts go when Slack
    refuses the bot: nothing is lost, only less visible.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def send(self, alerts: Sequence[Alert]) -> None:
        """Write the batch at once (a console write is local and quick)."""
        try:
            text = format_console(alerts)
            if not text:
                return
            # Resolve stdout late so a redirected/captured stdout is honoured.
            stream = self._stream if self._stream is not None else sys.stdout
            with self._lock:
                stream.write(text)
                stream.flush()
        except Exception:
            log.exception("Could not write alerts to the console")

    def flush(self, timeout: float) -> bool:
        """Nothing is ever pending."""
        return True

    def close(self, timeout: float = 5.0) -> None:
        """The stream belongs to the caller; nothing to release."""


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
    n = sum(counts.values())
    title = words.say("alerts.queue_summary", n=n)
    detail = "、".join(f"{label} {k}件" for label, k in counts.most_common())
    body = (
        "Slack に送れない間にたまった通知です。"
        f"内訳: {escape_mrkdwn(detail)}。詳細はワーカーのログに出力しています。"
    )
    head = f"{URGENT_PREFIX} {title}" if urgent else f":warning: {title}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": head, "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _clip_plain(body, SECTION_LIMIT)}},
    ]
    return _Message(
        text=f"{title}\n{escape_mrkdwn(detail)}"[:FALLBACK_TEXT_LIMIT],
        blocks=blocks,
        alerts=[],
        counts=collections.Counter(counts),
        urgent=urgent,
        summary=True,
    )


class _Outcome(enum.Enum):
    """How one post attempt ended; see SlackAlerts._post."""

    DELIVERED = "delivered"
    RETRY = "retry"
    FATAL = "fatal"
    REJECTED = "rejected"


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
    ) -> None:
        if max_queue < 2:
            raise ValueError("max_queue must be at least 2 (one summary plus one message)")
        self._client = client
        self._channel = channel
        self._fallback: AlertSink = fallback if fallback is not None else ConsoleAlerts()
        self._clock: Clock = clock if clock is not None else RealClock()
        self._min_interval = min_interval
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._max_wait = max_wait
        self._max_queue = max_queue

        self._cond = threading.Condition()
        self._queue: collections.deque[_Message] = collections.deque()
        self._current: _Message | None = None
        """The message being posted or retried; it leaves the queue only when delivered."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._fatal: str | None = None
        self._down = False
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
        return cls(client, channel)

    # ------------------------------------------------------------------ public API

    def send(self, alerts: Sequence[Alert]) -> None:
        """Queue the batch as one message and return at once; never raises."""
        try:
            if not alerts:
                return
            with self._cond:
                direct = self._closed or self._fatal is not None
            if direct:
                self._safe_fallback(alerts)
                return
            text, blocks = build_blocks(alerts)
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
                if self._closed or self._fatal is not None:
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

    def _run(self) -> None:
        """Delivery loop: post the head message until Slack takes it, then the next."""
        attempt = 0
        while True:
            with self._cond:
                while self._current is None and not self._queue and not self._stop.is_set():
                    self._cond.wait()
                if self._stop.is_set():
                    return
                if self._current is None:
                    self._current = self._queue.popleft()
                message = self._current
            if not self._wait_spacing():
                return
            outcome, delay = self._post(message)
            if outcome is _Outcome.DELIVERED:
                attempt = 0
                if self._down:
                    self._down = False
                    log.info("Slack reachable again; delivering queued alerts")
                self._done(message)
            elif outcome is _Outcome.REJECTED:
                if message.blocks is not None:
                    # Slack refused the blocks themselves: the plain text still informs.
                    log.warning("Retrying the rejected Slack message as plain text")
                    message.blocks = None
                    continue
                log.warning("Writing the rejected Slack message to the console instead")
                self._to_fallback([message])
                self._done(message)
            elif outcome is _Outcome.FATAL:
                with self._cond:
                    rest = [message, *self._queue]
                    self._queue.clear()
                    self._current = None
                    self._cond.notify_all()
                self._to_fallback(rest)
                return
            else:
                attempt += 1
                wait = delay if delay is not None else self._backoff(attempt)
                if not self._clock.sleep(min(wait, self._max_wait), self._stop):
                    return

    def _done(self, message: _Message) -> None:
        """Take the delivered (or printed) head message off the queue."""
        with self._cond:
            if self._current is message:
                self._current = None
            if not self._queue:
                self._overflowing = False
            self._cond.notify_all()

    def _backoff(self, attempt: int) -> float:
        """Exponential and bounded; no jitter, as there is one client per channel."""
        return float(min(self._backoff_base * 2 ** (attempt - 1), self._backoff_max))

    def _wait_spacing(self) -> bool:
        """Keep ``min_interval`` between posts; False if the stop event cut the wait."""
        if self._last_post is None:
            return True
        wait = self._last_post + self._min_interval - self._clock.monotonic()
        return wait <= 0 or self._clock.sleep(wait, self._stop)

    def _post(self, message: _Message) -> tuple[_Outcome, float | None]:
        """One chat.postMessage; classify the result into what the loop should do.

        Returns the outcome and, for a retry, Slack's Retry-After if it sent one.
        """
        self._last_post = self._clock.monotonic()
        try:
            if message.blocks is not None:
                self._client.chat_postMessage(
                    channel=self._channel,
                    text=message.text,
                    blocks=message.blocks,
                    unfurl_links=False,
                    unfurl_media=False,
                )
            else:
                self._client.chat_postMessage(
                    channel=self._channel,
                    text=message.text,
                    unfurl_links=False,
                    unfurl_media=False,
                )
        except SlackApiError as err:
            return self._classify_api_error(err)
        except SlackRequestError as err:
            # Our request cannot be made at all (e.g. a malformed base_url): fatal.
            self._fatal_once(type(err).__name__, self._redact(str(err)))
            return _Outcome.FATAL, None
        except (OSError, HTTPException) as err:
            self._mark_down(self._redact(f"{type(err).__name__}: {err}"))
            return _Outcome.RETRY, None
        except Exception as err:
            # A bug or an SDK surprise: keep the message and retry, log the traceback once
            # (formatted and redacted by us, since exc_info would print it verbatim).
            if not self._down:
                log.error(
                    "Unexpected error posting to Slack; will retry:\n%s",
                    self._redact("".join(traceback.format_exception(err))),
                )
            self._mark_down(f"unexpected {type(err).__name__}")
            return _Outcome.RETRY, None
        return _Outcome.DELIVERED, None

    def _classify_api_error(self, err: SlackApiError) -> tuple[_Outcome, float | None]:
        """Sort a Slack error answer into retry / fatal / rejected-payload."""
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
            self._fatal_once(code, f"HTTP {status}")
            return _Outcome.FATAL, None
        if status == 429 or status >= 500 or code in TRANSIENT_ERRORS:
            self._mark_down(f"HTTP {status} {code}".strip())
            return _Outcome.RETRY, self._retry_after(response) if status == 429 else None
        log.warning("Slack rejected a message (HTTP %d, %s)", status, code or "no error code")
        return _Outcome.REJECTED, None

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

    def _mark_down(self, why: str) -> None:
        """Log once when Slack starts failing; the recovery is logged once in _run."""
        if not self._down:
            self._down = True
            log.warning("Slack unavailable (%s); keeping alerts queued and retrying", why)

    def _fatal_once(self, code: str, detail: str) -> None:
        """Remember a fatal error, log it once, and route everything to the fallback."""
        with self._cond:
            first = self._fatal is None
            self._fatal = code
        if first:
            log.error(
                "Slack refused the bot (%s, %s); check ZAIKO_SLACK_BOT_TOKEN and that the "
                "bot is in channel %s. Alerts go to the console until the worker restarts.",
                code,
                detail,
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
                            text="、".join(f"{k} {n}件" for k, n in message.counts.items()),
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
