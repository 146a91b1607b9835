"""状態 cells the commit rewrites: only those that do not read as the plan's text."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.infra.clock import JST
from bot.infra.sheet.cells import cell_text
from bot.infra.sheet.commit import _statuses, _statuses_row_by_row, placed_cells
from bot.infra.sheet.tabs import PRODUCTS

TEXTS = ["OK", "在庫切れ", "（連動停止）", "(連動停止)", ""]


def read_of(
    on_sheet: list[str], single: dict[str, int], several: dict[str, tuple[int, ...]]
) -> Any:
    return SimpleNamespace(product_rows=single, duplicate_rows=several, row_statuses=on_sheet)


@given(st.lists(st.sampled_from(TEXTS), min_size=2, max_size=10), st.data())
def test_the_fast_comparison_places_what_the_row_by_row_one_places(
    on_sheet: list[str], data: st.DataObject
) -> None:
    rows = list(range(1, len(on_sheet)))
    skus = [f"S{r}" for r in rows]
    statuses = {s: data.draw(st.sampled_from(TEXTS)) for s in skus}
    single = dict(zip(skus, rows, strict=True))
    if data.draw(st.booleans()):  # one 商品コード on two rows: the row-by-row path
        twice = skus[0]
        del single[twice]
        several = {twice: (rows[0], rows[-1])}
    else:
        several = {}
    read = read_of(on_sheet, single, several)
    expected = _statuses_row_by_row(statuses, read, 9, {t: cell_text(t) for t in TEXTS})
    assert _statuses(statuses, read, 9) == expected


def test_a_text_that_reads_back_the_same_is_not_rewritten() -> None:
    read = read_of(["", "(連動停止)", "OK"], {"A": 1, "B": 2}, {})
    placed = _statuses({"A": "（連動停止）", "B": "在庫切れ"}, read, 9)
    assert placed == {(PRODUCTS, 2, 9): ("B", "在庫切れ")}


def test_every_touched_row_gets_one_shared_updated_at_text() -> None:
    # The grid cache keeps what the bot wrote: one 最終更新 string per commit, not one per
    # row (100,000 rows touched at a cold start with 100k products).
    columns = {"stock": 2, "status": 9, "updated_at": 10}
    header = SimpleNamespace(col=columns.get)
    read = SimpleNamespace(
        headers={PRODUCTS: header},
        product_rows={"A": 1, "B": 2, "C": 3},
        duplicate_rows={},
        row_statuses=["", "OK", "OK", "OK"],
    )
    now = datetime(2026, 11, 23, 9, 0, 15, tzinfo=JST)
    plan = SimpleNamespace(stock={}, touched={"A", "B", "C"}, now=now, statuses={})
    placed = placed_cells(plan, read)  # type: ignore[arg-type]
    texts = [placed[(PRODUCTS, row, 10)][1] for row in (1, 2, 3)]
    assert texts == ["2026-11-23 09:00:15"] * 3
    assert texts[0] is texts[1] is texts[2]
