"""Amazon feeds that never hold a cycle: sent now, their outcome learnt in a later one.

A JSON_LISTINGS_FEED takes Amazon a minute or more to process (IN_QUEUE, IN_PROGRESS,
DONE: https://developer-docs.amazon.com/sp-api/docs/feeds-api-v2021-06-30-reference),
and only 5 may be created per 5 minutes. Waiting inside ``push_stock`` for a slot, the
processing and a confirming report held every cycle of a shop pushing more than 50
Amazon listings a cycle for two to three minutes, and every other mall with it.

:class:`FeedBook` keeps what the adapter answered PENDING:

- **queued**: the newest push of a SKU not sent yet (no feed slot now, or the SKU is in
  a feed still processing). A newer push of a queued SKU replaces it (newest wins).
- **in flight**: the SKU's newest push is in a feed Amazon has not finished. A push of
  such a SKU waits in the queue until that feed is done: sending it at once could be
  overwritten by the older feed, which Amazon may process later.

Once a cycle (``AmazonAdapter.push_outcomes``) each feed in flight is looked at once
(one getFeed); a finished one's processing report says, per message, accepted or
refused with Amazon's words. Only a SKU's newest push is reported: an older one
superseded by a queued push is dropped, and the queued push goes out in the next feed.
Nothing here survives a restart: the worker pushes every listing again at start-up, so
a listing whose feed was in flight when the worker died is sent again, never taken as
landed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from adapters.amazon.bulk import Bulk, FeedOutcome
from adapters.base import rejected
from bot.core.domain import PushResult, PushStatus, StockPush
from bot.infra.clock import Clock

QUEUED_MESSAGE = "Amazon へのフィード送信の順番待ちです（フィードは 5 分に 5 件まで）"
FEED_ACCEPTED_MESSAGE = "Amazon がフィードで受け付けました（feedId {feed_id}）"


def in_feed_message(feed_id: str) -> str:
    """The PENDING result's words for a listing in a feed Amazon is processing."""
    return f"Amazon がフィードを処理中です（feedId {feed_id}）"


@dataclass
class _Flight:
    """One feed Amazon is processing: its messages and when it was sent."""

    messages: dict[int, tuple[str, StockPush]]
    sent_at: float


@dataclass
class FeedBook:
    """The adapter's PENDING pushes: queued for a feed, or in a feed in flight."""

    bulk: Bulk
    clock: Clock
    message: Callable[[str, StockPush], Mapping[str, Any]]
    """(sku, push) → the feed message without its messageId (the adapter's PATCH body)."""
    redact: Callable[[str], str]
    max_messages: int = 25_000
    give_up_s: float = 1800.0
    """Ours: a feed not finished after this long is taken as lost and its listings are
    sent again (Amazon does not say how long processing may take)."""
    _queued: dict[str, StockPush] = field(default_factory=dict)
    _flights: dict[str, _Flight] = field(default_factory=dict)
    _newest: dict[str, tuple[str, int]] = field(default_factory=dict)
    """SKU → (feedId, messageId) of its newest push sent and not yet reported."""

    def __len__(self) -> int:
        return len(self._queued) + len(self._newest)

    def holds(self, sku: str) -> bool:
        """Whether ``sku`` has a push queued or in flight (its next push must queue)."""
        return sku in self._queued or sku in self._newest

    def queue(self, sku: str, push: StockPush) -> None:
        """Send ``push`` with the next feed (replacing an older queued push of ``sku``)."""
        self._queued[sku] = push

    def pending_result(self, sku: str, push: StockPush) -> PushResult:
        """The PENDING answer for a push just queued (or just sent in a feed)."""
        queued = sku in self._queued
        message = QUEUED_MESSAGE if queued else in_feed_message(self._newest[sku][0])
        return PushResult(
            code=push.code, status=PushStatus.PENDING, quantity=push.quantity, message=message
        )

    def flush(self) -> None:
        """Send queued pushes whose SKU has no feed in flight, while a feed slot is free."""
        while True:
            ready = [sku for sku in self._queued if sku not in self._newest]
            if not ready or not self.bulk.take_feed_slot(full=len(ready) >= self.max_messages):
                return
            chunk = ready[: self.max_messages]
            messages = {n: (sku, self._queued[sku]) for n, sku in enumerate(chunk, start=1)}
            feed_id = self.bulk.send_feed(
                [{"messageId": n, **self.message(sku, push)} for n, (sku, push) in messages.items()]
            )
            self._flights[feed_id] = _Flight(messages, self.clock.monotonic())
            for n, (sku, _push) in messages.items():
                del self._queued[sku]
                self._newest[sku] = (feed_id, n)

    def outcomes(self) -> list[tuple[str, StockPush, PushResult]]:
        """One look at every feed in flight; (sku, push, result) of each newest push done."""
        found: list[tuple[str, StockPush, PushResult]] = []
        now = self.clock.monotonic()
        for feed_id, flight in list(self._flights.items()):
            outcome = self.bulk.feed_outcome(feed_id)
            if outcome is None and now - flight.sent_at < self.give_up_s:
                continue
            del self._flights[feed_id]
            for n, (sku, push) in flight.messages.items():
                if self._newest.get(sku) != (feed_id, n):
                    continue
                del self._newest[sku]
                if sku in self._queued:
                    continue  # superseded: the newer push goes with the next feed
                if outcome is None:
                    self._queued[sku] = push  # lost: send it again, never take it as landed
                    continue
                found.append((sku, push, self._result(push, outcome, n)))
        return found

    def _result(self, push: StockPush, outcome: FeedOutcome, message_id: int) -> PushResult:
        if outcome.status != "DONE":
            reason = " / ".join(outcome.feed_errors[:3]) or outcome.status
            return rejected(
                push,
                self.redact(
                    f"Amazon のフィード処理が失敗しました（feedId {outcome.feed_id}: {reason}）"
                ),
            )
        errors = outcome.errors.get(message_id)
        if errors:
            return rejected(
                push, self.redact(f"Amazon が更新を拒否しました（{' / '.join(errors[:3])}）")
            )
        return PushResult(
            code=push.code,
            status=PushStatus.ACCEPTED,
            quantity=push.quantity,
            message=FEED_ACCEPTED_MESSAGE.format(feed_id=outcome.feed_id),
        )
