"""状態 cells compared without a lookup per 商品コード (issue 10 item 3).

The commit compares every product's 状態 each cycle. The plan lists them for the
read's 商品コード in the read's order, so the rows are the read's map's values as they
stand (:func:`bot.infra.sheet.commit._rows_in_order`); any other listing falls back to
a lookup each. The property test holds both to the plain row-by-row comparison; the
cycle test pins that the usual cycle takes the fast path.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core import engine
from bot.infra.sheet.cells import cell_text
from bot.infra.sheet.commit import _rows_in_order, _statuses
from bot.infra.sheet.gateway import state_values
from bot.infra.sheet.tabs import PRODUCTS, Placed
from tests.sheet.conftest import Book, product_row

TEXTS = ["OK", "在庫切れ", "要確認（コードなし）", "要確認(コードなし)", ""]


def plain(statuses: dict[str, str], read: Any, col: int) -> Placed:
    """Every row of every 商品コード, compared one by one as read back."""
    placed: Placed = {}
    for sku, text in statuses.items():
        for row in read.rows_of(sku):
            if read.row_statuses[row] != cell_text(text):
                placed[(PRODUCTS, row, col)] = (sku, text)
    return placed


class Read(SimpleNamespace):
    def rows_of(self, sku: str) -> tuple[int, ...]:
        row = self.product_rows.get(sku)
        return (row,) if row is not None else self.duplicate_rows.get(sku, ())


@settings(deadline=None)  # (no test asserts a timing)
@given(
    st.lists(st.sampled_from(TEXTS), min_size=1, max_size=30),  # the sheet's 状態 by row
    st.lists(st.sampled_from(TEXTS), min_size=1, max_size=30),  # the plan's
    st.booleans(),  # the plan lists them in the read's order
    st.sets(st.integers(0, 29), max_size=3),  # 商品コード on a second row too
    st.sets(st.integers(0, 29), max_size=3),  # 商品コード the read does not have
)
def test_statuses_are_the_plain_comparison(
    sheet: list[str], plan: list[str], in_order: bool, twice: set[int], unknown: set[int]
) -> None:
    n = min(len(sheet), len(plan))
    skus = [f"S{i:02d}" for i in range(n)]
    rows = {sku: i + 1 for i, sku in enumerate(skus) if i not in twice and i not in unknown}
    dups = {skus[i]: (i + 1, n + 1 + i) for i in twice if i < n and i not in unknown}
    on_sheet = ["", *sheet[:n], *sheet[:n]]
    order = skus if in_order else list(reversed(skus))
    statuses = {sku: plan[skus.index(sku)] for sku in order}
    read = Read(product_rows=rows, duplicate_rows=dups, row_statuses=on_sheet)

    assert _statuses(statuses, read, 5) == plain(statuses, read, 5)  # type: ignore[arg-type]


def test_the_usual_cycle_finds_the_rows_without_a_lookup_each(book: Book) -> None:
    book.add_products([product_row(f"FAST{i:03d}", stock=i % 4) for i in range(40)])
    gw = book.gateway()
    gw.load_startup()
    state = engine.EngineState()
    for cycle in range(3):
        read = gw.read(state.stock)
        plan = engine.step(state, read.snapshot, [], book.clock.now())
        # The fast path: the plan's 商品コード are the read's, in its order.
        assert _rows_in_order(plan.statuses, read.product_rows) is not None, cycle
        values = state_values({}, plan.next_state.conditions, plan.next_state.stock)
        result = gw.commit(plan, read, values, bot_stock=state.stock, commit_id=f"c{cycle}")
        assert not result.conflict
        state = engine.committed(plan)
        book.set_cell("FAST007", "在庫数", 0)  # a staff edit: the engine redoes that row
        book.clock.advance(15)
