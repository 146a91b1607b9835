"""The sheet read's fast paths at 100k, each against the plain computation it replaces.

* ``hot._reuse_rows`` compares a window's rows with the cache's chunk by chunk (values,
  then the types of the value-equal rows at once); the plain pick is
  :func:`values.identical` per row.
* ``hot.rows_of_columns`` trims only the rows that end blank; ``hot.grid_cells`` counts
  at C speed.
* ``hot._window_rows`` lays a window read COLUMNS-major over the cache's rows column by
  column, making only the rows that differ; the plain way is ``rows_of_columns`` then
  ``_reuse_rows``.
* ``GridCache.merge_window`` is ``merge`` then ``take_window`` with the grid copied once.
* ``parse_products._restocked`` updates the memo's row in place and skips the checks
  across rows (its 商品コード and codes are the same objects).
* 入出庫's scan: ``Layers.get``/``Counts.get`` without a KeyError for a missing key;
  a date serial rendered once (``cells._serial_to_text``).
* ``parse_tabs._same_grid`` compares セット構成 with the memo's at C speed.
* ``hot._differences`` finds the 在庫数 cells that are other objects by ``bytes.find``.
* ``headers.header_map`` gives the map found before for a header row read as before.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from itertools import zip_longest
from typing import Any
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

import bot.infra.sheet.cells as cells
import bot.infra.sheet.headers as headers
import bot.infra.sheet.hot as hot
import bot.infra.sheet.parse_products as parse_products
import bot.infra.sheet.parse_tabs as parse_tabs
from bot.infra.sheet.hot import GridCache, Window, column_values
from bot.infra.sheet.layers import Counts, Layers
from bot.infra.sheet.parse_products import ProductsMemo
from bot.infra.sheet.tabs import PRODUCTS
from bot.infra.sheet.values import identical
from tests.unit.grid_steps import merge, take_window
from tests.unit.test_layout import HEAD, parse
from tests.unit.test_products_memo import _row
from tests.unit.test_read_cadence import TEMPLATE, as_columns
from tests.unit.test_read_passes import _retype

# --------------------------------------------------------------------------- rows read again

_cells = st.lists(st.sampled_from([0, 1, 1.0, True, False, 0.0, "", "1", "x", None]), max_size=4)


def _plain_reuse(old: list[list[Any]], new: list[list[Any]]) -> list[list[Any]]:
    """The oracle: each row of ``new`` identical to ``old``'s at its place is ``old``'s."""
    return [o if identical(o, n) else n for o, n in zip(old, new, strict=False)] + new[len(old) :]


def _picks(cells: st.SearchStrategy[list[Any]]) -> st.SearchStrategy[list[Any]]:
    """Rows read again: an old row copied or retyped (by its index), or new cells."""
    return st.lists(
        st.one_of(
            st.tuples(st.sampled_from(["copy", "retyped", "one retyped"]), st.integers(0, 13)),
            cells,
        ),
        max_size=14,
    )


@given(st.lists(_cells, max_size=12), _picks(_cells), st.integers(1, 5))
def test_rows_read_again_keep_the_old_lists_as_identical_picks_them(
    old: list[list[Any]], picks: list[Any], chunk: int
) -> None:
    """Chunks of any size (a row retyped anywhere in a chunk of equal rows among them)."""
    new: list[list[Any]] = []
    for pick in picks:
        if isinstance(pick, list):
            new.append(pick)
            continue
        how, i = pick
        row = list(old[i]) if i < len(old) else []
        if how == "retyped":
            row = [_retype(c) for c in row]
        elif how == "one retyped" and row:
            row[-1] = _retype(row[-1])
        new.append(row)
    with mock.patch.object(hot, "_REUSE_CHUNK", chunk):
        got = hot._reuse_rows(old, new)
    plain = _plain_reuse(old, new)
    assert len(got) == len(plain) == len(new)
    assert all(g is p for g, p in zip(got, plain, strict=True))


def test_a_window_read_as_before_is_compared_without_a_row_by_row_pass() -> None:
    """The usual window (every row as cached, fresh objects) never calls ``identical``."""
    old = [[f"P{i:05d}", "商品", i % 300, False, "", 2.5, "OK"] for i in range(300)]
    new = [[f"P{i:05d}", "商品", i % 300, False, "", 2.5, "OK"] for i in range(300)]
    new[7] = [*new[7][:2], 8, *new[7][3:]]  # one row changed in value
    with mock.patch.object(hot, "identical", side_effect=identical) as spy:
        got = hot._reuse_rows(old, new)
    assert spy.call_count == 0
    assert got[7] is new[7] and all(
        g is o for i, (g, o) in enumerate(zip(got, old, strict=True)) if i != 7
    )


# --------------------------------------------------------------------------- columns to rows


def _plain_rows_of_columns(columns: list[list[Any]]) -> list[list[Any]]:
    """The oracle: every row trimmed of its trailing blanks one by one."""
    grid = [list(row) for row in zip_longest(*columns, fillvalue="")]
    for row in grid:
        while row and row[-1] == "":
            row.pop()
    return grid


@given(st.lists(st.lists(st.sampled_from(["", "x", 0, 1.0, False, None]), max_size=5), max_size=4))
def test_columns_become_the_rows_the_plain_trim_gives(columns: list[list[Any]]) -> None:
    got = hot.rows_of_columns(columns)
    want = _plain_rows_of_columns(columns)
    assert got == want
    assert all(map(identical, got, want))  # (types too: 0 == False == "" is not)
    assert hot.grid_cells([got, columns]) == sum(map(len, got)) + sum(map(len, columns))


# --------------------------------------------------------------------------- window by columns


def _plain_window(old: list[list[Any]], columns: list[list[Any]], pad: bool) -> list[list[Any]]:
    """The oracle: the window's rows made, padded with blank rows, then compared as rows."""
    rows = hot.rows_of_columns(columns)
    if pad:
        rows += [[] for _ in range(len(old) - len(rows))]
    return _plain_reuse(old, rows)


_window_cells = st.lists(
    st.sampled_from([0, 1, 1.0, True, False, 0.0, "", "1", "x", None, float("nan")]), max_size=4
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(_window_cells, max_size=12),
    _picks(_window_cells),
    st.booleans(),
    st.booleans(),
    st.integers(1, 5),
)
def test_a_window_by_columns_keeps_the_rows_the_row_compare_keeps(
    old: list[list[Any]], picks: list[Any], trim: bool, pad: bool, chunk: int
) -> None:
    """Any rows read (fewer, more, retyped, NaN, blank) over cached rows trimmed or not."""
    if trim:
        old = [hot.trimmed(row) for row in old]
    new: list[list[Any]] = []
    for pick in picks:
        if isinstance(pick, list):
            new.append(hot.trimmed("" if c is None else c for c in pick))
            continue
        how, i = pick
        row = hot.trimmed(old[i]) if i < len(old) else []
        if how == "retyped":
            row = [_retype(c) for c in row]
        elif how == "one retyped" and row:
            row[-1] = _retype(row[-1])
        new.append(row)
    columns = as_columns(new)
    with mock.patch.object(hot, "_REUSE_CHUNK", chunk):
        got = hot._window_rows(old, columns, pad)
    want = _plain_window(old, columns, pad)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g is w if any(w is o for o in old) else (g == w and identical(g, w))


def test_the_usual_window_makes_only_its_changed_rows() -> None:
    """Rows read as cached (fresh objects) are neither made nor compared row by row."""
    old = [[f"P{i:05d}", "商品", i % 300, False, "", 2.5, "OK"] for i in range(300)]
    new = [[f"P{i:05d}", "商品", i % 300, False, "", 2.5, "OK"] for i in range(300)]
    new[7] = [*new[7][:2], 8, *new[7][3:]]  # one row changed in value
    new[9][2] = 9.0  # one in type only: equal in Python
    new[11] = [*new[11][:3], 0, *new[11][4:]]  # False → 0: equal in Python
    with (
        mock.patch.object(hot, "_row_at", side_effect=hot._row_at) as made,
        mock.patch.object(hot, "_reuse_rows", side_effect=hot._reuse_rows) as rows,
    ):
        got = hot._window_rows(old, as_columns(new), True)
    assert sorted(c.args[1] for c in made.call_args_list) == [7, 9, 11]
    assert rows.call_count == 0
    assert all(identical(got[i], new[i]) for i in (7, 9, 11))
    assert all(g is o for i, (g, o) in enumerate(zip(got, old, strict=True)) if i not in (7, 9, 11))


# --------------------------------------------------------------------------- merge and window

SKU, STOCK, NAME = HEAD.index("商品コード"), HEAD.index("在庫数"), HEAD.index("商品名")
_count = st.sampled_from([0, 1, 2, 1.0, True, "", "x"])


def _line(sku: str, stock: Any, name: Any = "商品") -> list[Any]:
    line: list[Any] = [""] * (max(SKU, STOCK, NAME) + 1)
    line[SKU], line[NAME], line[STOCK] = sku, name, stock
    while line and line[-1] == "":
        line.pop()
    return line


@settings(max_examples=200, deadline=None)
@given(
    st.integers(2, 9),
    st.lists(
        st.tuples(
            st.lists(st.tuples(st.integers(0, 9), _count), max_size=3),  # 在庫数 typed
            st.lists(st.tuples(st.integers(0, 9), _count), max_size=2),  # 商品名 edited
            st.integers(0, 9),
            st.booleans(),
            st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9)), max_size=2),  # committed
        ),
        max_size=6,
    ),
)
def test_a_window_laid_with_the_merge_is_what_merge_then_take_window_give(
    n: int, cycles: list[Any]
) -> None:
    """Row for row the same objects, the same rows logged; a grid handed out never changes.

    Between cycles the bot commits 在庫数: ``one`` lays the next merge into the grid its
    patch made (:attr:`GridCache.owned`), ``both`` copies it as the plain way does.
    """
    cells: list[list[Any]] = [[i % 3, "商品"] for i in range(n)]  # (在庫数, 商品名) of each
    sheet = [list(HEAD), *(_line(f"P{i}", *cells[i]) for i in range(n))]
    one, both = GridCache(), GridCache()
    for cache in (one, both):
        cache.keep_full({PRODUCTS: [list(r) for r in sheet]}, TEMPLATE, ["rakuten"])
        cache.parsed(cache.grids[PRODUCTS])
    assert one.grids[PRODUCTS] == both.grids[PRODUCTS]
    handed = [(g, list(g)) for g in (one.grids[PRODUCTS], both.grids[PRODUCTS])]
    for stocks, names, start, closes, committed in cycles:
        written = {(i + 1, STOCK): value for i, value in committed if i < n}
        for (row, _), value in written.items():
            cells[row - 1][0] = value
            sheet[row] = _line(f"P{row - 1}", *cells[row - 1])
        for cache in (one, both):
            cache.patch(written)
        both.owned = None
        for i, value in stocks:
            if i < n:
                cells[i][0] = value
                sheet[i + 1] = _line(f"P{i}", *cells[i])
        for i, value in names:
            if i < n:
                cells[i][1] = value or "商品"
                sheet[i + 1] = _line(f"P{i}", *cells[i])
        first = 1 + start % n
        window = Window(first, None if closes else min(first + 1, n))
        end = len(sheet) if window.last is None else window.last + 1
        columns = as_columns([list(r) for r in sheet[first:end]])
        before = [list(one.grids[PRODUCTS]), list(both.grids[PRODUCTS])]
        skus, counts = column_values(sheet, SKU), column_values(sheet, STOCK)
        got = one.merge_window(sheet[0], skus, list(counts), window, columns)
        assert merge(both, sheet[0], skus, list(counts)) is not None
        want = take_window(both, window, columns)
        assert got is one.grids[PRODUCTS] and got == want
        assert all(map(identical, got, want))
        same_one = [a is b for a, b in zip(before[0], got, strict=True)]
        assert same_one == [a is b for a, b in zip(before[1], want, strict=True)]
        assert one.log.rows == both.log.rows and one.stocks == both.stocks
        for grid, rows in handed:
            assert len(grid) == len(rows) and all(map(identical, grid, rows))
        handed += [(g, list(g)) for g in (got, want)]


def test_a_merge_that_made_a_new_grid_has_the_window_laid_into_it() -> None:
    """The usual cycle at 100k (a 在庫数 changed): one copy of the grid, not two."""
    sheet = [list(HEAD), *(_line(f"P{i}", i) for i in range(6))]
    cache = GridCache()
    cache.keep_full({PRODUCTS: [list(r) for r in sheet]}, TEMPLATE, ["rakuten"])
    last = cache.grids[PRODUCTS]
    sheet[2] = _line("P1", 9)
    made: list[Any] = []
    real = cache._merged

    def merged(*args: Any) -> Any:
        made.append(real(*args))
        return made[-1]

    window = Window(3, 4)
    columns = as_columns([list(r) for r in sheet[3:5]])
    with mock.patch.object(cache, "_merged", side_effect=merged):
        got = cache.merge_window(
            sheet[0], column_values(sheet, SKU), column_values(sheet, STOCK), window, columns
        )
    assert made[0] is not None and made[0][1] is True  # a new list: nobody else's
    assert got is made[0][0] and got is not last
    assert got[2][STOCK] == 9 and last[2][STOCK] == 1  # the grid handed out before is as it was


def test_the_merge_after_a_commit_lays_into_the_grid_the_commit_made() -> None:
    """The usual cycle at 100k: the commit's patch copied the grid; the merge copies none."""
    sheet = [list(HEAD), *(_line(f"P{i}", i) for i in range(6))]
    cache = GridCache()
    cache.keep_full({PRODUCTS: [list(r) for r in sheet]}, TEMPLATE, ["rakuten"])
    handed = cache.grids[PRODUCTS]
    cache.patch({(1, STOCK): 5})
    patched = cache.grids[PRODUCTS]
    assert patched is not handed and cache.owned is patched
    sheet[1], sheet[2] = _line("P0", 5), _line("P1", 9)
    window = Window(3, 4)
    columns = as_columns([list(r) for r in sheet[3:5]])
    got = cache.merge_window(
        sheet[0], column_values(sheet, SKU), column_values(sheet, STOCK), window, columns
    )
    assert got is patched and cache.owned is None  # handed out: the next change copies it
    assert got[2][STOCK] == 9 and handed[1][STOCK] == 0 and handed[2][STOCK] == 1


# --------------------------------------------------------------------------- a row restocked


def test_a_row_restocked_keeps_its_memo_entry_and_no_check_across_rows_runs() -> None:
    memo = ProductsMemo()
    grid = [list(HEAD), _row("A", 5, "a:1", False, "OK"), _row("B", 2, "b:1", False, "OK")]
    parse({"products": grid}, memo=memo)
    kept = memo.rows[1]
    assert kept is not None and kept.draft is not None
    codes = kept.draft.codes
    now = [grid[0], _row("A", 3, "a:1", False, "OK"), grid[2]]
    with mock.patch.object(
        parse_products,
        "_check_duplicate_skus",
        side_effect=parse_products._check_duplicate_skus,
    ) as across:
        read = parse({"products": now}, memo=memo)
    assert (memo.restocked, memo.reparsed, across.call_count) == (1, 0, 0)
    assert memo.rows[1] is kept and kept.row is now[1]
    assert kept.draft is not None and kept.draft.codes is codes
    assert read.snapshot.products["A"].stock == 3
    fresh = parse({"products": now})
    assert read.snapshot.products == fresh.snapshot.products


# --------------------------------------------------------------------------- 入出庫's scan


_maps = st.lists(
    st.dictionaries(st.sampled_from("abcdef"), st.integers(0, 3), max_size=4), max_size=4
)


@given(_maps, st.sampled_from("abcdefg"), st.sampled_from([None, 0, -1]))
def test_a_lookup_in_layers_gets_what_mappings_get_gets(
    layers: list[dict[str, int]], key: str, default: int | None
) -> None:
    """``get`` of Layers and Counts against the ABC's (``self[key]``, KeyError caught)."""
    plain = Layers(tuple(layers))
    counts = Counts(tuple(layers))
    assert plain.get(key, default) == Mapping.get(plain, key, default)
    assert counts.get(key, default) == Mapping.get(counts, key, default)
    assert plain.get(key) == Mapping.get(plain, key)


def test_a_scan_of_new_rows_looks_their_counts_up_without_a_key_error() -> None:
    counts = Counts(({"a": 1}, {"a": 2, "b": 1}))
    with mock.patch.object(Counts, "__getitem__", side_effect=AssertionError) as item:
        assert (counts.get("a", 0), counts.get("new", 0)) == (3, 0)
    assert item.call_count == 0


@given(st.floats(1, 2958465.99, allow_nan=False))
def test_a_serial_rendered_again_is_what_rendering_it_gives(serial: float) -> None:
    assert cells._serial_to_text(serial) == cells._serial_to_text.__wrapped__(serial)
    assert cells._serial_to_text(serial) == cells._serial_to_text.__wrapped__(serial)


def test_rows_typed_in_one_go_render_their_serial_once() -> None:
    cells._serial_to_text.cache_clear()
    texts = {cells.at_text(46000.5) for _ in range(200)}
    assert texts == {"2025-12-09 12:00:00"}
    assert cells._serial_to_text.cache_info().misses == 1


# --------------------------------------------------------------------------- セット構成 again

_set_rows = st.lists(st.lists(st.sampled_from(["S", "A", 1, 1.0, True, 2, ""]), max_size=3))


@given(_set_rows, st.lists(st.tuples(st.integers(0, 5), st.sampled_from(["retype", "drop"]))))
def test_sets_read_again_are_the_same_grid_as_identical_rows_say(
    rows: list[list[Any]], edits: list[tuple[int, str]]
) -> None:
    again = [list(r) for r in rows]
    for i, how in edits:
        if i < len(again) and again[i]:
            if how == "retype":
                again[i][0] = _retype(again[i][0])
            else:
                again[i].pop()
    plain = len(rows) == len(again) and all(map(identical, rows, again))
    assert parse_tabs._same_grid(rows, again) == plain


def test_sets_read_as_before_are_compared_without_a_call_per_row() -> None:
    rows = [["S", f"A{i}", 2] for i in range(50)]
    with mock.patch.object(parse_tabs, "identical", side_effect=identical) as spy:
        assert parse_tabs._same_grid(rows, [list(r) for r in rows])  # read again
        assert spy.call_count == 1
        assert parse_tabs._same_grid(rows, list(rows))  # the cache's rows: not looked into
        assert spy.call_count == 1


def test_the_sets_memo_keeps_the_rows_it_parsed_not_copies() -> None:
    memo = ProductsMemo()
    sets = [["セット商品コード", "構成商品コード", "数量"], ["S", "A", 2]]
    values = {"products": [HEAD, _row("S", 0, "s:1", False), _row("A", 5, "a:1", False)]}
    parse({**values, "sets": sets}, memo=memo)
    assert memo.sets.grid is not None and all(map(operator.is_, memo.sets.grid, sets))
    with mock.patch.object(parse_tabs, "_parse_sets", side_effect=AssertionError):
        read = parse({**values, "sets": list(sets)}, memo=memo)
    assert [c.component_sku for c in read.snapshot.sets] == ["A"]


# --------------------------------------------------------------------------- the 在庫数 column

_stock_cells = st.sampled_from([0, 1, 1.0, True, False, 300, 300.0, "", "x", 2])


def _plain_differences(before: list[Any], after: list[Any]) -> list[int]:
    """The oracle: every index compared by value and type, then the longer one's tail."""
    out = [
        i
        for i, (a, b) in enumerate(zip(before, after, strict=False))
        if a != b or type(a) is not type(b)
    ]
    longer = before if len(before) > len(after) else after
    return out + [i for i in range(min(len(before), len(after)), len(longer)) if longer[i] != ""]


@given(
    st.lists(_stock_cells, max_size=40),
    st.lists(st.tuples(st.integers(0, 45), _stock_cells), max_size=12),
    st.integers(-3, 3),
    st.booleans(),
)
def test_the_stock_column_differs_where_the_plain_comparison_says(
    before: list[Any], edits: list[tuple[int, Any]], grow: int, fresh: bool
) -> None:
    """Cells as other objects of equal value too (a decode makes new ints above 256)."""
    after = [int(str(c)) if fresh and type(c) is int else c for c in before]
    for i, value in edits:
        if i < len(after):
            after[i] = value
    after = after[: len(after) + grow] if grow < 0 else after + [""] * grow
    assert hot._differences(before, after) == _plain_differences(before, after)


def test_a_few_counts_changed_are_found_without_an_index_per_cell() -> None:
    before = list(range(3, 203)) * 5
    after = list(before)
    after[7], after[900] = 1, 2
    with mock.patch.object(hot, "count", side_effect=AssertionError):
        assert hot._differences(before, after) == [7, 900]
    assert hot._flagged(bytes([0, 1, 0, 0, 1])) == [1, 4]


# --------------------------------------------------------------------------- header rows

_header_cells = st.lists(
    st.sampled_from([*HEAD[:6], "在庫数 ", "メモ", "", 1, 1.0, True, None]), max_size=8
)


@given(st.lists(_header_cells, min_size=1, max_size=4), st.sampled_from([None, ["rakuten"], []]))
def test_a_header_row_mapped_again_maps_as_found_afresh(
    rows: list[list[Any]], malls: list[str] | None
) -> None:
    tab = TEMPLATE.tab(PRODUCTS)
    for row in [*rows, *rows]:
        got = headers.header_map(tab, row, malls=malls)
        assert got == headers._header_map(tab, row, malls)


def test_a_header_row_read_as_before_is_not_mapped_again() -> None:
    tab = TEMPLATE.tab(PRODUCTS)
    first = headers.header_map(tab, list(HEAD), malls=["rakuten"])
    with mock.patch.object(headers, "_header_map", side_effect=AssertionError):
        again = headers.header_map(tab, list(HEAD), malls=["rakuten"])
    assert again is first
    assert headers.header_map(tab, list(HEAD), malls=["yahoo"]) is not first  # other malls
