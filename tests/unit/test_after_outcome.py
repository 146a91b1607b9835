"""A push answered PENDING and refused later is handled as a refusal at push time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core.domain import AlertKind, PushResult, PushStatus, StockPush
from bot.core.engine import after_outcome, after_push
from bot.core.engine.state import EngineState, ListingState

NOW = datetime(2026, 11, 23, tzinfo=UTC)
LATER = NOW + timedelta(minutes=2)
PUSH = StockPush(mall="amazon", code="AMZ-1", quantity=7, sku="SKU-1")


def _result(status: PushStatus, message: str = "") -> PushResult:
    return PushResult(code=PUSH.code, status=status, quantity=7, message=message)


def _sent() -> EngineState:
    prior = EngineState(listings={PUSH.key: ListingState(pushed=3, expected=3)})
    state, logs, alerts = after_push(prior, [PUSH], [_result(PushStatus.PENDING, "処理中")], NOW)
    assert [row.result for row in logs] == ["送信済（結果待ち）"] and alerts == []
    assert state.listings[PUSH.key].expected == 7  # not pushed again while in flight
    return state


def test_a_late_refusal_logs_alerts_once_and_holds_the_number() -> None:
    refused = _result(PushStatus.REJECTED, "Amazon が更新を拒否しました（90000900 上限）")
    state, logs, alerts = after_outcome(
        _sent(), [PUSH], [refused], LATER, labels={"amazon": "Amazon"}
    )
    listing = state.listings[PUSH.key]
    assert (listing.failed, listing.expected, listing.at) == (7, None, LATER)
    assert [(row.result, row.detail, row.quantity) for row in logs] == [
        ("エラー", refused.message, 7)
    ]
    [alert] = alerts
    assert alert.kind is AlertKind.PUSH_REJECTED and alert.key == "push:amazon:AMZ-1"
    assert alert.text == refused.message
    again, _, more = after_outcome(state, [PUSH], [refused], LATER, labels={"amazon": "Amazon"})
    assert more == []  # said once while the condition stands
    assert again.listings[PUSH.key].failed == 7


def test_a_late_acceptance_changes_nothing_but_resolves_an_earlier_refusal() -> None:
    state = _sent()
    state = EngineState(listings=state.listings, conditions=frozenset({"push:amazon:AMZ-1"}))
    taken, logs, alerts = after_outcome(state, [PUSH], [_result(PushStatus.ACCEPTED)], LATER)
    assert taken.listings[PUSH.key] == state.listings[PUSH.key]
    assert logs == []  # its row was written when it was sent
    assert [a.kind for a in alerts] == [AlertKind.RESOLVED]
    assert taken.conditions == frozenset()


def test_pending_does_not_resolve_a_refusal_before_the_mall_says_so() -> None:
    state = EngineState(conditions=frozenset({"push:amazon:AMZ-1"}))
    state, _, alerts = after_push(state, [PUSH], [_result(PushStatus.PENDING)], NOW)
    assert alerts == [] and state.conditions == frozenset({"push:amazon:AMZ-1"})
