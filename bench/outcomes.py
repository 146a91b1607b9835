"""When the malls' answers to the cold push are known, not only when it was sent.

A channel may answer a push PENDING (Amazon's feeds: ``adapters.base.LateOutcomes``)
and report the outcome in a later cycle. The cold start's full push to such a channel
has then been *sent* when its last write left, but is only *done* when the worker has
learnt the outcome of every listing it sent: each listing's own outcome, or that of a
newer push of the listing that replaced it meanwhile. :class:`OutcomeWatch` wraps the
worker's adapters (instance attributes: the code is the bot's own) to note both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from adapters.base import LateOutcomes, MallAdapter
from bot.core.domain import PushResult, PushStatus, StockPush


class OutcomeWatch:
    """The cold push's PENDING listings per channel, and when the last one was settled."""

    def __init__(self, adapters: dict[str, MallAdapter], now: Callable[[], float]) -> None:
        self._now = now
        self.waiting: dict[str, set[str]] = {}
        self.known_at: dict[str, float] = {}
        self.cold = True
        for key, adapter in adapters.items():
            if isinstance(adapter, LateOutcomes):
                self._wrap(key, adapter)

    def _wrap(self, key: str, adapter: Any) -> None:
        push, outcomes = adapter.push_stock, adapter.push_outcomes

        def push_stock(pushes: Sequence[StockPush]) -> list[PushResult]:
            results: list[PushResult] = push(pushes)
            if self.cold:
                codes = {r.code for r in results if r.status is PushStatus.PENDING}
                if codes:
                    self.waiting.setdefault(key, set()).update(codes)
            return results

        def push_outcomes() -> list[tuple[StockPush, PushResult]]:
            found: list[tuple[StockPush, PushResult]] = outcomes()
            waiting = self.waiting.get(key)
            if waiting:
                waiting.difference_update(p.code for p, _r in found)
                if not waiting:
                    self.known_at[key] = self._now()
            return found

        adapter.push_stock = push_stock
        adapter.push_outcomes = push_outcomes

    def unsettled(self) -> dict[str, int]:
        """Listings of the cold push whose outcome is not known yet, per channel."""
        return {key: len(codes) for key, codes in self.waiting.items() if codes}
