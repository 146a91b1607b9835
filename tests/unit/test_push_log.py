"""モール更新ログ rows of one cycle's pushes: per listing, or one summary row per bulk channel."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core import words
from bot.core.domain import MallLogRow, PushResult, PushStatus, StockPush
from bot.shell.push_log import BULK_PUSH_ROWS, push_log_rows

AT = datetime(2026, 11, 23, tzinfo=UTC)
LABELS = {"rakuten": "楽天", "yahoo": "Yahoo!ショッピング"}


def batch(
    mall: str, n: int, failed: frozenset[int] = frozenset()
) -> tuple[list[tuple[StockPush, PushResult]], list[MallLogRow]]:
    results, rows = [], []
    for i in range(n):
        status = PushStatus.REJECTED if i in failed else PushStatus.APPLIED
        push = StockPush(mall=mall, code=f"{mall}-{i}", quantity=i, sku=f"S{i}")
        results.append((push, PushResult(code=push.code, status=status)))
        rows.append(
            MallLogRow(at=AT, mall=mall, code=push.code, sku=push.sku, quantity=i, result=str(i))
        )
    return results, rows


def test_up_to_the_threshold_every_push_keeps_its_row() -> None:
    results, rows = batch("rakuten", BULK_PUSH_ROWS, failed=frozenset({3}))
    assert push_log_rows(results, rows, AT, LABELS) == rows


def test_past_the_threshold_one_summary_row_then_each_failure() -> None:
    results, rows = batch("rakuten", BULK_PUSH_ROWS + 1, failed=frozenset({0, 150}))

    summary, *failed = push_log_rows(results, rows, AT, LABELS)

    assert summary.result == words.say("shell.push_bulk_result")
    assert (summary.mall, summary.code, summary.sku, summary.quantity) == ("rakuten", "", "", None)
    assert summary.detail.startswith(
        "楽天 に 201件の在庫をまとめて送りました（成功 199件・失敗 2件）"
    )
    assert failed == [rows[0], rows[150]]


def test_each_channel_is_counted_on_its_own() -> None:
    bulk_results, bulk_rows = batch("rakuten", 300)
    few_results, few_rows = batch("yahoo", 5, failed=frozenset({1}))

    out = push_log_rows([*few_results, *bulk_results], [*few_rows, *bulk_rows], AT, LABELS)

    assert out[:5] == few_rows  # yahoo's five keep their rows
    (summary,) = out[5:]
    assert "300件" in summary.detail and "失敗 0件" in summary.detail
