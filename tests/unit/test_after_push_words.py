"""after_push words each モール更新ログ 結果 once per status, not once per push."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from bot.core.domain import PushResult, PushStatus, StockPush
from bot.core.engine import feedback
from bot.core.engine.state import EngineState

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def test_each_push_is_logged_with_its_statuses_word_made_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    statuses = [PushStatus.APPLIED, PushStatus.REJECTED, PushStatus.APPLIED, PushStatus.SKIPPED]
    statuses += [PushStatus.UNKNOWN_CODE, PushStatus.ACCEPTED, PushStatus.APPLIED]
    pushes = [StockPush(mall="rakuten", code=f"a:{i}", quantity=i) for i in range(len(statuses))]
    results = [
        PushResult(code=p.code, status=s, message="m")
        for p, s in zip(pushes, statuses, strict=True)
    ]
    plain = feedback._result_label
    worded: Counter[PushStatus] = Counter()

    def counted(status: PushStatus) -> str:
        worded[status] += 1
        return plain(status)

    monkeypatch.setattr(feedback, "_result_label", counted)
    _, logs, _ = feedback.after_push(EngineState(), pushes, results, NOW)
    assert [row.result for row in logs] == [plain(s) for s in statuses]
    assert worded == Counter(set(statuses))  # once each
