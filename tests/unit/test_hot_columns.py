"""GridCache's 在庫数 column kept in step at C speed (bot/infra/sheet/hot.py, issue 10)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.infra.sheet.hot import GridCache, _differences, column_values
from bot.infra.sheet.layout import load_template

TEMPLATE = load_template()
HEAD = [c.header for c in TEMPLATE.tab("products").columns]
STOCK = HEAD.index("在庫数")

cells = st.one_of(st.integers(-3, 3), st.booleans(), st.sampled_from(["", "x", 1.0, 2.5]))


def reference(before: list[Any], after: list[Any]) -> list[int]:
    """Cell by cell, a missing cell reading as blank; value and type both count."""
    n = max(len(before), len(after))
    out = []
    for i in range(n):
        a = before[i] if i < len(before) else ""
        b = after[i] if i < len(after) else ""
        if a != b or type(a) is not type(b):
            out.append(i)
    return out


@given(st.lists(cells, max_size=12), st.lists(cells, max_size=12))
def test_differences_are_the_cells_that_differ_in_value_or_type(a: list[Any], b: list[Any]) -> None:
    assert _differences(a, b) == reference(a, b)


@given(
    st.lists(st.one_of(st.integers(0, 9), st.just("")), min_size=1, max_size=8),
    st.lists(
        st.tuples(st.integers(1, 10), st.one_of(st.integers(0, 9), st.just(""), st.none())),
        max_size=6,
    ),
)
def test_the_bots_own_writes_keep_the_stock_column_as_a_read_gives_it(
    stocks: list[Any], writes: list[tuple[int, Any]]
) -> None:
    grid = [list(HEAD)] + [[f"P{i}", "商品", s] for i, s in enumerate(stocks)]
    cache = GridCache()
    cache.keep_full({"products": grid}, TEMPLATE, ["rakuten"])
    cache.patch({(row, STOCK): value for row, value in writes if row < len(grid)})
    assert cache.stocks == column_values(cache.grids["products"], STOCK)
    cache.replace_rows({1: ["P0", "商品", 7], 3: ["P2", "商品"]})
    assert cache.stocks == column_values(cache.grids["products"], STOCK)
