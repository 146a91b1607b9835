"""The read path without passes over every row: each shortcut against the plain pass.

* ``GridCache`` logs the rows it gives another list (:meth:`GridCache.rows_changed`):
  the parse compares only those with the grid it parsed last, instead of every row.
* ``rows.directory`` finds the rows without a product among the few invalid 商品コード,
  not by a difference over every 商品コード.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields, replace
from operator import itemgetter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.domain import Product
from bot.infra.sheet.cells import cell_at, cell_text
from bot.infra.sheet.hot import GridCache, RowChanges, Window, _reuse_rows, column_values
from bot.infra.sheet.parse_products import (
    ProductsMemo,
    _reads_as,
    _rows_to_look_at,
    _runs_besides,
    _same_cells_besides,
    _with_stock,
)
from bot.infra.sheet.parsing import SheetRead
from bot.infra.sheet.rows import directory
from bot.infra.sheet.tabs import PRODUCTS
from bot.infra.sheet.values import identical
from tests.unit.grid_steps import merge, take_window
from tests.unit.test_layout import HEAD, SET_HEAD, parse
from tests.unit.test_products_memo import _row, bot_stocks, grids, set_rows
from tests.unit.test_read_cadence import TEMPLATE, as_columns

SKU, STOCK, NAME = HEAD.index("商品コード"), HEAD.index("在庫数"), HEAD.index("商品名")


def plain_directory(read: SheetRead) -> Mapping[str, Product]:
    """rows.directory as it was: a difference over every 商品コード on one row."""
    products = read.snapshot.products
    header = read.headers.get(PRODUCTS)
    if header is None:
        return products
    grid = read.raw.get(PRODUCTS) or []
    first = {sku: rows[0] for sku, rows in read.duplicate_rows.items()}
    first.update((sku, read.product_rows[sku]) for sku in read.product_rows.keys() - products)
    others = {
        sku: Product(sku=sku, name=cell_text(cell_at(grid[row], header.col("name"))), row=row + 1)
        for sku, row in sorted(first.items(), key=itemgetter(1))
        if sku not in products
    }
    return {**products, **others} if others else products


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(grids, bot_stocks, set_rows), min_size=1, max_size=4))
def test_the_directory_is_the_plain_one(steps: list[Any]) -> None:
    memo = ProductsMemo()
    for rows, bot_stock, sets in steps:
        values = {
            "products": [HEAD, *(_row(*r) for r in rows)],
            "sets": [SET_HEAD, *(list(r) for r in sets)],
        }
        for read in (parse(values, bot_stock=bot_stock), parse(values, memo=memo)):
            assert list(directory(read).items()) == list(plain_directory(read).items())


def test_a_read_not_built_by_the_parse_gets_the_plain_difference() -> None:
    read = parse({"products": [HEAD, _row("A", 5, "a:1", False), _row("B", 1, "b:1", False)]})
    read.product_rows = {**read.product_rows, "Z": 1}  # a row the snapshot does not know
    assert list(directory(read)) == ["A", "B", "Z"]
    assert list(directory(read).items()) == list(plain_directory(read).items())


# --------------------------------------------------------------------------- the row log

_cell = st.sampled_from([0, 1, 2, 7, "", "x", 1.0, True])
_op = st.one_of(
    st.tuples(st.just("stock"), st.lists(st.tuples(st.integers(0, 7), _cell), max_size=4)),
    st.tuples(st.just("window"), st.lists(st.tuples(st.integers(0, 7), _cell), max_size=3)),
    st.tuples(
        st.just("patch"),
        st.lists(st.tuples(st.integers(1, 9), st.sampled_from([STOCK, NAME]), _cell), max_size=3),
    ),
    st.tuples(st.just("reread"), st.lists(st.tuples(st.integers(1, 9), _cell), max_size=2)),
    st.tuples(st.just("whole"), st.lists(st.tuples(st.integers(0, 7), _cell), max_size=2)),
    st.tuples(st.just("parse"), st.just([])),
    st.tuples(st.just("grow"), st.just([])),
)


def _sheet(n: int) -> list[list[Any]]:
    return [list(HEAD), *(_line(f"P{i}", i % 5) for i in range(n))]


def _line(sku: str, stock: Any) -> list[Any]:
    line: list[Any] = [""] * (max(SKU, STOCK, NAME) + 1)
    line[SKU], line[NAME], line[STOCK] = sku, "商品", stock
    while line and line[-1] == "":
        line.pop()
    return line


def _edit(sheet: list[list[Any]], edits: list[tuple[int, Any]]) -> None:
    for i, value in edits:
        if i + 1 < len(sheet):
            sheet[i + 1] = _line(sheet[i + 1][SKU], value)


@settings(max_examples=300, deadline=None)
@given(st.integers(2, 9), st.lists(_op, max_size=12))
def test_the_rows_logged_hold_every_row_given_another_list(n: int, ops: list[Any]) -> None:
    """Against the plain pass: each row not the same list as in the grid parsed last."""
    sheet = _sheet(n)
    cache = GridCache()
    cache.keep_full({PRODUCTS: [list(r) for r in sheet]}, TEMPLATE, ["rakuten"])
    base = cache.grids[PRODUCTS]
    cache.parsed(base)
    for kind, edits in ops:
        if kind == "stock":
            _edit(sheet, edits)
            merge(cache, sheet[0], column_values(sheet, SKU), column_values(sheet, STOCK))
        elif kind == "window":
            _edit(sheet, edits)
            first = 1 + edits[0][0] % (len(sheet) - 1) if edits else 1
            window = Window(first, None if len(edits) % 2 else min(first + 2, len(sheet) - 1))
            end = len(sheet) if window.last is None else window.last + 1
            take_window(cache, window, as_columns([list(r) for r in sheet[first:end]]))
        elif kind == "patch":
            cache.patch({(r, c): v for r, c, v in edits if r < len(sheet)})
        elif kind == "reread":
            cache.replace_rows({r: _line(f"P{r}", v) for r, v in edits if r < len(sheet)})
        elif kind == "whole":
            _edit(sheet, edits)
            cache.keep_full({PRODUCTS: [list(r) for r in sheet]}, TEMPLATE, ["rakuten"])
        elif kind == "grow":  # a row typed below the last, no 商品コード yet: the
            sheet.append(_line("", 0)[: NAME + 1])  # closing window reads one more row
            take_window(cache, Window(len(sheet) - 2, None), as_columns(sheet[len(sheet) - 2 :]))
        else:
            base = cache.grids[PRODUCTS]
            cache.parsed(base)
        now = cache.grids[PRODUCTS]
        changes = cache.rows_changed(base)
        if changes is None:
            continue
        assert (changes.since, changes.now) == (base, now)
        assert len(now) == len(base)
        assert {i for i, (a, b) in enumerate(zip(base, now, strict=True)) if a is not b} <= set(
            changes.rows
        )


def test_a_whole_read_or_another_grid_is_not_known_to_the_log() -> None:
    cache = GridCache()
    cache.keep_full({PRODUCTS: _sheet(4)}, TEMPLATE, ["rakuten"])
    grid = cache.grids[PRODUCTS]
    assert cache.rows_changed(grid) is None  # not told of a parse yet
    cache.parsed(grid)
    assert cache.rows_changed(grid) is not None
    assert cache.rows_changed(list(grid)) is None  # an equal grid, not the one parsed
    cache.parsed(list(grid))  # a grid that is not the cache's
    assert cache.rows_changed(grid) is None
    cache.parsed(grid)
    cache.keep_full({PRODUCTS: _sheet(4)}, TEMPLATE, ["rakuten"])
    assert cache.rows_changed(grid) is None


def test_the_parse_looks_only_at_the_rows_logged_for_that_very_grid() -> None:
    memo = ProductsMemo()
    last = [list(HEAD), _line("A", 1), _line("B", 2), _line("C", 3)]
    parse({"products": last}, memo=memo)
    now = [last[0], _line("A", 1), last[2], _line("C", 4)]
    memo.changes = RowChanges(last, now, frozenset({3}))
    assert _rows_to_look_at(memo, now, set()) == [3]  # row 1 is not looked at: not logged
    assert memo.changes is None  # used once
    assert _rows_to_look_at(memo, now, set()) == [1, 3]  # without: every row compared
    memo.changes = RowChanges(last, list(now), frozenset({3}))
    assert _rows_to_look_at(memo, now, set()) == [1, 3]  # logged for another grid
    memo.changes = RowChanges(list(last), now, frozenset({3}))
    assert _rows_to_look_at(memo, now, set()) == [1, 3]  # against another grid


# --------------------------------------------------------------------------- rows read again

_row_cells = st.lists(st.sampled_from([0, 1, 1.0, True, "", "1", "x", None]), max_size=4)


def _retype(cell: Any) -> Any:
    """A number of another type: equal in Python (``1 == 1.0 == True``), not on a sheet."""
    if isinstance(cell, bool):
        return int(cell)
    if isinstance(cell, int):
        return float(cell)
    if isinstance(cell, float) and cell in (0.0, 1.0):
        return bool(cell)
    return cell


def _retyped(row: list[Any]) -> list[Any]:
    return [_retype(c) for c in row]


@given(
    st.lists(_row_cells, max_size=8),
    st.lists(
        st.one_of(st.tuples(st.sampled_from(["copy", "retyped"]), st.integers(0, 9)), _row_cells),
        max_size=10,
    ),
)
def test_rows_read_again_keep_the_old_lists_as_the_plain_pick_does(
    old: list[list[Any]], picks: list[Any]
) -> None:
    """Old rows where identical: a copy of an old row (here or elsewhere), retyped or not."""
    new: list[list[Any]] = []
    for pick in picks:
        if isinstance(pick, list):
            new.append(pick)
        else:
            how, i = pick
            row = list(old[i]) if i < len(old) else []
            new.append(_retyped(row) if how == "retyped" else row)
    plain = [o if identical(o, n) else n for o, n in zip(old, new, strict=False)]
    plain += new[len(old) :]
    got = _reuse_rows(old, new)
    assert len(got) == len(plain) == len(new)
    assert all(g is p for g, p in zip(got, plain, strict=True))


# --------------------------------------------------------------------------- a row restocked

_products = st.builds(
    Product,
    sku=st.text(min_size=1, max_size=4),
    name=st.text(max_size=4),
    stock=st.integers(-3, 50),
    low_stock=st.none() | st.integers(0, 5),
    alloc_threshold=st.none() | st.integers(0, 5),
    sync=st.booleans(),
    backorder=st.booleans(),
    codes=st.dictionaries(st.sampled_from(["rakuten", "yahoo"]), st.tuples(st.text(max_size=3))),
    row=st.integers(1, 9),
)


@given(_products, st.integers(-3, 99))
def test_a_product_with_a_new_count_is_what_replace_gives(product: Product, stock: int) -> None:
    got = _with_stock(product, stock)
    want = replace(product, stock=stock)
    assert got == want and type(got.stock) is type(want.stock)
    assert all(getattr(got, f.name) is getattr(want, f.name) for f in fields(Product))


@given(
    st.lists(_cell, min_size=1, max_size=8),
    st.lists(st.tuples(st.integers(0, 9), st.sampled_from(["same", "retyped", "new"])), max_size=4),
    st.frozensets(st.integers(0, 9), max_size=3),
    st.integers(-1, 1),
)
def test_cells_that_are_the_same_objects_read_as_before_as_the_runs_do(
    old: list[Any], edits: list[tuple[int, str]], skipped: frozenset[int], grow: int
) -> None:
    """The shortcut for a restocked row never says alike where the plain runs say not."""
    row = list(old)
    for i, how in edits:
        if i < len(row):
            row[i] = row[i] if how == "same" else _retype(row[i]) if how == "retyped" else "new"
    if grow > 0:
        row.append("")
    elif grow < 0:
        row.pop()
    runs = _runs_besides(set(skipped))
    plain = all(_reads_as(row[run], old[run]) for run in runs)
    if _same_cells_besides(row, old, skipped):
        assert plain
    kept = [a is b for i, (a, b) in enumerate(zip(row, old, strict=False)) if i not in skipped]
    if len(row) == len(old) and all(kept):
        assert _same_cells_besides(row, old, skipped)  # the usual row takes the shortcut
