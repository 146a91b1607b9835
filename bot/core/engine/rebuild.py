"""The state rebuilt at start-up from 販売ログ (the ledger), 出品状況 and ``_state`` (§4.0)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.core.domain import SaleKind
from bot.core.engine.state import EngineState, LineState, ListingState


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One 販売ログ row as the worker reads it back at start-up."""

    key: str
    mall: str
    order_id: str
    line_id: str
    code: str
    sku: str
    kind: SaleKind
    qty: int
    applied: int
    at: datetime | None = None


def rebuild(
    ledger: Iterable[LedgerEntry],
    listings: Mapping[tuple[str, str], int] | None = None,
    conditions: Iterable[str] = (),
    window_start: datetime | None = None,
) -> EngineState:
    """Rebuild the state from 販売ログ (the ledger), 出品状況 and ``_state`` (§4.0).

    The last row of each line key decides: its 反映数 is the line's applied units. A
    line whose last row is 未割当 / 保留 is still waiting: its wanted units are
    ``applied − 数量`` (数量 holds the stock change it will cause).
    """
    lines: dict[str, LineState] = {}
    for entry in ledger:
        if window_start is not None and entry.at is not None and entry.at < window_start:
            continue  # outside the cancellation window: the engine would forget it anyway
        key = entry.key
        prior = lines.get(key)
        if entry.kind in (SaleKind.UNASSIGNED, SaleKind.HELD):
            lines[key] = LineState.of(
                mall=entry.mall,
                order_id=entry.order_id,
                line_id=entry.line_id,
                key=key,
                code=entry.code,
                sku=prior.sku if prior else None,
                applied=entry.applied,
                reported=entry.applied - entry.qty,
                pending=entry.kind,
                seen_at=entry.at,
            )
            continue
        # A set line has one row per component, so a row's 商品コード does not name the
        # product the line was applied to; the line resolves by its code when it changes.
        lines[key] = LineState.of(
            mall=entry.mall,
            order_id=entry.order_id,
            line_id=entry.line_id,
            key=key,
            code=entry.code,
            sku=None,
            applied=entry.applied,
            reported=entry.applied,
            pending=None,
            seen_at=prior.seen_at if prior else entry.at,
        )
    listing_states = {
        key: ListingState(pushed=qty, expected=qty) for key, qty in (listings or {}).items()
    }
    return EngineState(
        stock={}, lines=lines, listings=listing_states, conditions=frozenset(conditions), fresh=True
    )
