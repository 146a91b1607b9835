"""The push step's call to one mall: outcomes of earlier PENDING pushes, then the batch.

A channel may answer a push PENDING (Amazon's feeds: sent, processed by Amazon over a
minute or more) instead of holding the cycle until it knows (``adapters.base.
LateOutcomes``). Each cycle the worker asks such a channel, before sending the cycle's
batch, what it has learnt of those pushes, and folds a late refusal in exactly as a
refusal at push time (``engine.after_outcome``). Channels that never answer PENDING
are asked nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from adapters.base import MallAdapter, MallError, pending_pushes, push_outcomes
from bot.core import engine
from bot.core.domain import Alert, ErrorLogRow, MallLogRow, PushResult, StockPush

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sent:
    """One mall's answer in the push step."""

    learnt: list[tuple[StockPush, PushResult]]
    """Outcomes of pushes it answered PENDING in earlier cycles."""
    results: list[PushResult]
    """One per push of this cycle's batch, in order."""


class _Run(Protocol):
    at: datetime
    alerts: list[Alert]


@dataclass(frozen=True)
class Pushed:
    """Push results of one cycle, and the rows they add to the log tabs."""

    results: list[tuple[StockPush, PushResult]] = field(default_factory=list)
    mall_logs: list[MallLogRow] = field(default_factory=list)
    errors: list[ErrorLogRow] = field(default_factory=list)
    late: list[tuple[StockPush, PushResult]] = field(default_factory=list)
    """Outcomes of earlier PENDING pushes learnt this cycle (for 出品状況)."""
    late_logs: list[MallLogRow] = field(default_factory=list)
    """Their モール更新ログ rows (refusals only)."""

    def learn(
        self,
        state: engine.EngineState,
        found: Sequence[tuple[StockPush, PushResult]],
        run: _Run,
        labels: Mapping[str, str],
    ) -> engine.EngineState:
        """Fold late outcomes in: a late refusal is one at push time (engine.after_outcome)."""
        if not found:
            return state
        pushes, results = [p for p, _r in found], [r for _p, r in found]
        state, logs, alerts = engine.after_outcome(state, pushes, results, run.at, labels=labels)
        self.late.extend(found)
        self.late_logs.extend(logs)
        run.alerts.extend(alerts)
        return state


def waiting(adapter: MallAdapter) -> bool:
    """Whether ``adapter`` holds pushes whose outcome it has not reported (no call)."""
    return pending_pushes(adapter) > 0


def send(adapter: MallAdapter, batch: Sequence[StockPush]) -> Sent:
    """Ask for late outcomes, then push ``batch`` (when there is one).

    A failure to learn outcomes does not stop the batch: the channel keeps what it has
    not reported and is asked again next cycle.
    """
    try:
        learnt = push_outcomes(adapter) if waiting(adapter) else []
    except MallError as err:
        log.warning("%s: outcomes of pending pushes not learnt this cycle: %s", adapter.name, err)
        learnt = []
    return Sent(learnt, adapter.push_stock(batch) if batch else [])
