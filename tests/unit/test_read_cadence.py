"""How 商品マスタ is read again: a sweep of windows within a budget of cells (issue 10).

``GridCache`` (bot/infra/sheet/hot.py) is told every cell the gateway reads; each cycle
earns ``CELLS_PER_PRODUCT`` per product and pays what it read. Every cycle reads the two
hot columns and a window of whole rows as big as the budget leaves, the next window
starting where this one ended, so every row is read again within ``MAX_SWEEP_CYCLES``
cycles and no cycle reads the whole tab. These tests drive it cycle by cycle as the
gateway does (``start_cycle``, ``full_due``, then ``keep_full`` or ``window``/``merge``/
``take_window``, then ``count``) with cycles of known cost.
"""

from __future__ import annotations

from itertools import pairwise, zip_longest
from math import ceil
from typing import Any

from bot.infra.sheet.hot import (
    CELLS_PER_PRODUCT,
    MAX_SWEEP_CYCLES,
    MIN_SWEEP_CYCLES,
    GridCache,
    Window,
    column_values,
    grid_cells,
)
from bot.infra.sheet.layout import load_template
from tests.unit.grid_steps import merge, take_window

TEMPLATE = load_template()
HEAD = [c.header for c in TEMPLATE.tab("products").columns]


def products(n: int) -> list[list[Any]]:
    return [list(HEAD), *([f"P{i:05d}", "商品", i % 7] for i in range(n))]


def as_columns(rows: list[list[Any]]) -> list[list[Any]]:
    """Rows as a COLUMNS-major read gives them (each column's trailing blanks dropped)."""
    out = []
    for column in zip_longest(*rows, fillvalue=""):
        cells = list(column)
        while cells and cells[-1] == "":
            cells.pop()
        out.append(cells)
    return out


def read_window(grid: list[list[Any]], window: Window) -> list[list[Any]]:
    """What the sheet gives for a window of ``grid`` (COLUMNS-major)."""
    end = len(grid) if window.last is None else window.last + 1
    return as_columns([row[:3] for row in grid[window.first : end]])


def one_cycle(cache: GridCache, grid: list[list[Any]], other: int) -> tuple[Window | None, int]:
    """A cycle as the gateway runs it: its window (None: a whole read) and cells read."""
    cache.start_cycle()
    if cache.full_due():
        cache.keep_full({"products": grid}, TEMPLATE, ["rakuten"])
        cost = grid_cells([grid]) + other
        cache.count(cost)
        return None, cost
    window = cache.window()
    assert window is not None
    assert merge(cache, grid[0], column_values(grid, 0), column_values(grid, 2)) is not None
    take_window(cache, window, read_window(grid, window))
    cost = other + cache.window_cells
    cache.count(cost)
    return window, cost


def test_a_sheet_never_read_whole_is_read_whole_first() -> None:
    cache = GridCache()
    cache.start_cycle()
    assert cache.full_due()


def test_a_small_sheet_is_read_whole_every_cycle() -> None:
    cache = GridCache()
    grid = products(100)  # 300 cells
    runs = [one_cycle(cache, grid, other=250) for _ in range(10)]
    assert all(window is None for window, _ in runs)


def test_every_row_is_read_again_within_a_sweep_and_the_budget_holds_throughout() -> None:
    n = 1_000
    budget = CELLS_PER_PRODUCT * n
    cache = GridCache()
    grid = products(n)
    # The hot columns, the small tabs, the commit's re-read and answer: 2.3 a product.
    runs = [one_cycle(cache, grid, other=2_300) for _ in range(400)]

    assert runs[0][0] is None and all(w is not None for w, _ in runs[1:])
    last_read = dict.fromkeys(range(1, n + 1), 0)
    for t, (window, _) in enumerate(runs[1:], start=1):
        assert window is not None
        end = n if window.last is None else window.last
        for row in range(window.first, end + 1):
            assert t - last_read[row] <= MAX_SWEEP_CYCLES
            last_read[row] = t
    spent = 0
    for t, (_, cost) in enumerate(runs):
        spent += cost
        # Never more than the first (unavoidable) whole read beyond the budget.
        assert spent <= budget * (t + 1) + grid_cells([grid]) + 2_300
    assert spent / len(runs) <= budget
    # No whole read again: no window is more than a quarter of the tab.
    assert max(cost - 2_300 for _, cost in runs[1:]) <= grid_cells([grid]) / MIN_SWEEP_CYCLES


def test_windows_follow_each_other_and_wrap_at_the_end_of_the_tab() -> None:
    cache = GridCache()
    grid = products(1_000)
    windows = [one_cycle(cache, grid, other=2_300)[0] for _ in range(60)][1:]
    for a, b in pairwise(windows):
        assert a is not None and b is not None
        assert b.first == (1 if a.last is None else a.last + 1)
    assert sum(1 for w in windows if w is not None and w.closes) >= 3


def test_a_cycle_that_spends_the_budget_alone_still_sweeps_in_max_sweep_cycles() -> None:
    n = 1_000
    cache = GridCache()
    grid = products(n)
    runs = [one_cycle(cache, grid, other=2_990) for _ in range(100)]
    sizes = {(w.last or n) - w.first + 1 for w, _ in runs[1:] if w is not None and not w.closes}
    assert sizes == {ceil(n / MAX_SWEEP_CYCLES)}


def test_a_row_that_reads_the_same_keeps_its_list_and_a_changed_one_is_taken() -> None:
    cache = GridCache()
    grid = products(1_000)
    one_cycle(cache, grid, other=2_300)
    before = list(cache.grids["products"])
    edited = [list(row) for row in grid]
    edited[5][1] = "名前を変えた"
    for _ in range(MAX_SWEEP_CYCLES):
        one_cycle(cache, edited, other=2_300)
    after = cache.grids["products"]
    assert after[5] == edited[5] and after[5] is not before[5]
    assert all(after[i] is before[i] for i in range(1, len(grid)) if i != 5)


def test_the_window_that_ends_a_sweep_ends_the_tab_where_the_sheet_does() -> None:
    cache = GridCache()
    grid = products(1_000)
    one_cycle(cache, grid, other=2_300)
    # A note typed two rows below the last product (no 商品コード: the hot columns see
    # nothing), then cleared again.
    noted = [*grid, [], ["", "メモ"]]
    seen = []
    for _ in range(MAX_SWEEP_CYCLES):
        one_cycle(cache, noted, other=2_300)
        seen.append(len(cache.grids["products"]))
    assert cache.grids["products"][-1] == ["", "メモ"] and len(cache.grids["products"]) == 1_003
    for _ in range(MAX_SWEEP_CYCLES):
        one_cycle(cache, grid, other=2_300)
    assert len(cache.grids["products"]) == 1_001


def test_forget_reads_whole_at_once() -> None:
    cache = GridCache()
    grid = products(1_000)
    for _ in range(3):
        one_cycle(cache, grid, other=2_300)
    cache.start_cycle()
    assert not cache.full_due()
    cache.forget()
    assert cache.full_due()


def test_a_window_reads_whole_rows_and_the_last_one_to_the_end_of_the_tab() -> None:
    assert Window(1, 100).a1("'商品マスタ'", 15) == "'商品マスタ'!A2:O101"
    assert Window(6_251, None).a1("'商品マスタ'", 15) == "'商品マスタ'!A6252:O"
    assert Window(6_251, None).closes and not Window(1, 100).closes
