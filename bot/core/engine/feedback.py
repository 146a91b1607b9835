"""What the malls answered: push results (§4.5) and listings changed by hand on a mall."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from bot.core.domain import Alert, AlertKind, MallLogRow, PushResult, PushStatus, StockPush
from bot.core.engine.state import EngineState, ListingState


def after_push(
    state: EngineState,
    pushes: Sequence[StockPush],
    results: Sequence[PushResult],
    now: datetime,
    *,
    labels: Mapping[str, str] | None = None,
) -> tuple[EngineState, list[MallLogRow], list[Alert]]:
    """Fold one mall's push results into the state; log rows and alerts for the record step."""
    labels = labels or {}
    listings = dict(state.listings)
    logs: list[MallLogRow] = []
    alerts: list[Alert] = []
    conditions = set(state.conditions)
    for push, result in zip(pushes, results, strict=True):
        key = (push.mall, push.code)
        prior = listings.get(key, ListingState())
        cond = f"push:{push.mall}:{push.code}"
        if result.status in (PushStatus.APPLIED, PushStatus.ACCEPTED):
            listings[key] = ListingState(
                pushed=push.quantity,
                expected=push.quantity,
                backorder=push.backorder if push.backorder is not None else prior.backorder,
                failed=None,
                at=now,
            )
            conditions.discard(cond)
            label = "反映済" if result.status is PushStatus.APPLIED else "受付済（反映待ち）"
        else:
            listings[key] = replace(prior, failed=push.quantity, at=now)
            label = "コードなし" if result.status is PushStatus.UNKNOWN_CODE else "エラー"
            if cond not in conditions:
                conditions.add(cond)
                detail = (
                    f"{labels.get(push.mall, push.mall)} に商品コード『{push.code}』がありません。商品マスタのコードを確認してください。"
                    if result.status is PushStatus.UNKNOWN_CODE
                    else result.message
                )
                alerts.append(
                    Alert(
                        kind=AlertKind.PUSH_REJECTED,
                        key=cond,
                        mall=push.mall,
                        sku=push.sku,
                        title=f"{labels.get(push.mall, push.mall)} の『{push.code}』に在庫 {push.quantity} を反映できませんでした",
                        text=detail,
                    )
                )
        logs.append(
            MallLogRow(
                at=now,
                mall=push.mall,
                code=push.code,
                sku=push.sku,
                quantity=push.quantity,
                result=label,
                detail=result.message,
            )
        )
    return replace(state, listings=listings, conditions=frozenset(conditions)), logs, alerts


# --------------------------------------------------------------------------- drift


def detect_drift(
    state: EngineState,
    readings: Mapping[tuple[str, str], int],
    now: datetime,
    *,
    skip: frozenset[tuple[str, str]] = frozenset(),
    labels: Mapping[str, str] | None = None,
) -> tuple[EngineState, list[MallLogRow], list[Alert]]:
    """Compare what malls show with what the bot expects them to show.

    A surplus (``current > expected``) means someone changed the number by hand on the
    mall — the edit らくらく在庫 cannot see. The listing is forgotten so the next step
    pushes the right number over it, and the team hears of it once. A shortfall is
    usually sales whose orders have not arrived yet; it is left to the order fetch
    (read-back compensation, §4.5, builds on this). ``skip`` holds listings a mall
    restocked itself after a cancel seen this cycle, which is not a hand edit.
    """
    labels = labels or {}
    listings = dict(state.listings)
    conditions = set(state.conditions)
    logs: list[MallLogRow] = []
    alerts: list[Alert] = []
    for key, current in readings.items():
        listing = listings.get(key)
        if listing is None or listing.expected is None or key in skip:
            continue
        mall, code = key
        cond = f"drift:{mall}:{code}"
        if current > listing.expected:
            listings[key] = replace(listing, expected=None, failed=None)
            logs.append(
                MallLogRow(
                    at=now,
                    mall=mall,
                    code=code,
                    sku="",
                    quantity=current,
                    result="モール側で変更",
                    detail=f"想定 {listing.expected} → モール {current}（上書きします）",
                )
            )
            if cond not in conditions:
                conditions.add(cond)
                alerts.append(
                    Alert(
                        kind=AlertKind.DRIFT,
                        key=cond,
                        mall=mall,
                        title=f"{labels.get(mall, mall)} の『{code}』の在庫がモール側で {listing.expected} → {current} に変更されていました",
                        text="在庫数はスプレッドシートで管理しています。シートの数に戻しました。"
                        "入荷などで増やす場合は入出庫タブに記入してください。",
                    )
                )
        else:
            conditions.discard(cond)
    return replace(state, listings=listings, conditions=frozenset(conditions)), logs, alerts
