"""出品状況 after a push: which cells change and which listings get a new row."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.core.domain import ListingTarget, PushReason, PushResult, StockPush
from bot.infra.clock import format_jst
from bot.infra.sheet.cells import cell_text
from bot.infra.sheet.parsing import SheetRead
from bot.infra.sheet.rows import Label, reason_text, result_label
from bot.infra.sheet.tabs import LISTINGS


def listing_changes(
    read: SheetRead,
    targets: Sequence[ListingTarget],
    pushed: Sequence[tuple[StockPush, PushResult]],
    now: datetime,
    label: Label,
) -> tuple[dict[tuple[int, int], Any], list[dict[str, Any]]]:
    """Cells of existing 出品状況 rows to write ((row, col) → value), and new rows."""
    header = read.headers[LISTINGS]
    result_of = {(p.mall, p.code): (p, r) for p, r in pushed}
    cells: dict[tuple[int, int], Any] = {}
    new_rows: list[dict[str, Any]] = []
    for target in targets:
        key = (target.mall, target.code)
        row = read.listing_rows.get(key)
        entry = result_of.get(key)
        if entry is None and row is not None:
            # Not pushed: the row already says what the mall shows; only a change of
            # reason (連動停止 ticked or cleared, a switch in 設定) is written.
            col = header.col("reason")
            reason = reason_text(target.reason, target.why)
            # Compared as read (NFKC: 「（」 comes back as 「(」), so it is not rewritten.
            if col is not None and read.listing_reasons.get(key) != cell_text(reason):
                cells[(row, col)] = reason
            continue
        values = _listing_values(target, entry, now, label)
        if row is None:
            new_rows.append(values)
            continue
        for col_key, value in values.items():
            col = header.col(col_key)
            if col is not None:
                cells[(row, col)] = value
    return cells, new_rows


def _listing_values(
    target: ListingTarget,
    entry: tuple[StockPush, PushResult] | None,
    now: datetime,
    label: Label,
) -> dict[str, Any]:
    """One listing's 出品状況 values: the push and its result, or what is shown now."""
    values: dict[str, Any] = {"mall": label(target.mall), "code": target.code, "sku": target.sku}
    if entry is not None:
        push, result = entry
        values.update(
            quantity=push.quantity,
            reason=reason_text(push.reason),
            at=format_jst(now),
            result=result_label(result),
            resend=False,
        )
    else:
        shown = None if target.reason is PushReason.STOPPED else target.quantity
        values.update(quantity=shown, reason=reason_text(target.reason, target.why), resend=False)
    return values
