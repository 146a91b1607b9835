"""モール更新ログ rows of one cycle's pushes: one row per listing, or one summary row.

A cold start pushes every listing (100,000 at the top of the range): one row each would
fill モール更新ログ past its retention (50,000 rows) in one cycle and push out the
history staff look for. A channel sent more than :data:`BULK_PUSH_ROWS` listings in one
cycle gets ONE summary row instead (sent / succeeded / failed); each listing's number
and result are in 出品状況 anyway. Failures keep a row each, so staff see which listing
failed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from bot.core import words
from bot.core.domain import MallLogRow, PushResult, PushStatus, StockPush

BULK_PUSH_ROWS = 200
"""Pushes to one channel in one cycle above which モール更新ログ gets a summary row.

At the default 15 s interval a channel then adds at most 200 rows a cycle on success,
so the template's 50,000-row retention keeps at least 250 cycles (about an hour) of
history however busy the shop is, while an ordinary cycle's pushes (a few orders and
edits) are still logged one by one."""

FAILED = frozenset({PushStatus.REJECTED, PushStatus.UNKNOWN_CODE})
"""Outcomes logged one row each even in a bulk push."""


def push_log_rows(
    results: Sequence[tuple[StockPush, PushResult]],
    rows: Sequence[MallLogRow],
    at: datetime,
    labels: Mapping[str, str],
) -> list[MallLogRow]:
    """``rows`` (one per result, in order), with each bulk channel's summarised."""
    count: dict[str, int] = {}
    for push, _ in results:
        count[push.mall] = count.get(push.mall, 0) + 1
    bulk = {mall for mall, n in count.items() if n > BULK_PUSH_ROWS}
    if not bulk or len(rows) != len(results):
        return list(rows)
    out: list[MallLogRow] = []
    failed: dict[str, list[MallLogRow]] = {mall: [] for mall in bulk}
    for (push, result), row in zip(results, rows, strict=True):
        if push.mall not in bulk:
            out.append(row)
        elif result.status in FAILED:
            failed[push.mall].append(row)
    for mall in sorted(bulk):
        sent, bad = count[mall], len(failed[mall])
        out.append(
            MallLogRow(
                at=at,
                mall=mall,
                code="",
                sku="",
                quantity=None,
                result=words.say("shell.push_bulk_result"),
                detail=words.say(
                    "shell.push_bulk_detail",
                    label=labels.get(mall, mall),
                    sent=sent,
                    ok=sent - bad,
                    failed=bad,
                ),
            )
        )
        out.extend(failed[mall])
    return out
