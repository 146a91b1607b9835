"""GridCache's 在庫数 column kept in step at C speed (bot/infra/sheet/hot.py, issue 10)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.infra.sheet.hot import (
    GridCache,
    _differences,
    _reuse_rows,
    column_values,
    rows_of_columns,
)
from bot.infra.sheet.layout import load_template
from bot.infra.sheet.values import identical

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


def _twin(value: Any) -> Any:
    """An equal cell of the same type that is another object (as a new read decodes it)."""
    if isinstance(value, bool):
        return value  # True and False are one object each, as decoded
    if isinstance(value, int):
        return int(str(value))
    if isinstance(value, float):
        return float(repr(value))
    if isinstance(value, str):
        return "".join(list(value)) if len(value) > 1 else value
    return value


def _retyped(value: Any) -> Any:
    """An equal cell of another type (1 == True == 1.0 in Python, not on a sheet)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return bool(value) if value in (0, 1) else float(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


column_cells = st.one_of(
    st.integers(-3, 3),
    st.integers(250, 10**6),  # past CPython's shared small ints: a new object each read
    st.booleans(),
    st.sampled_from(["", "x", "在庫", 1.0, 2.5]),
)
edits = st.lists(
    st.tuples(st.integers(0, 299), st.sampled_from(("twin", "value", "type")), column_cells),
    max_size=40,
)


@given(st.lists(column_cells, max_size=300), edits, st.integers(-3, 3))
def test_differences_of_long_columns_read_again_are_the_cells_that_differ(
    before: list[Any], changes: list[tuple[int, str, Any]], grow: int
) -> None:
    """A column read again: most cells the same object, some equal objects, a few changed."""
    after = list(before)
    for i, how, cell in changes:
        if i >= len(after):
            continue
        if how == "twin":
            after[i] = _twin(after[i])
        elif how == "value":
            after[i] = cell
        else:
            after[i] = _retyped(after[i])
    after = after[: len(after) + grow] if grow < 0 else after + [""] * grow + ["x"] * (grow > 1)
    assert _differences(before, after) == reference(before, after)


def test_a_column_of_small_counts_compares_only_the_changed_cells_one_by_one(
    monkeypatch: Any,
) -> None:
    from bot.infra.sheet import hot

    before = [i % 200 for i in range(10_000)]
    after = [_twin(v) for v in before]
    for i in (5, 700, 9_999):
        after[i] += 1
    compared: list[int] = []
    same_cell = hot._same_cell
    monkeypatch.setattr(hot, "_same_cell", lambda a, b: compared.append(1) or same_cell(a, b))

    assert _differences(before, after) == [5, 700, 9_999]
    assert len(compared) == 3


def reference_rows_of_columns(columns: list[list[Any]]) -> list[list[Any]]:
    """Transposed cell by cell, blank-padded, each row without its trailing blanks."""
    height = max((len(c) for c in columns), default=0)
    grid = []
    for r in range(height):
        row = [c[r] if r < len(c) else "" for c in columns]
        while row and row[-1] == "":
            row.pop()
        grid.append(row)
    return grid


@given(st.lists(st.lists(column_cells, max_size=6), max_size=5))
def test_columns_turn_into_the_rows_a_rows_major_read_gives(columns: list[list[Any]]) -> None:
    assert rows_of_columns(columns) == reference_rows_of_columns(columns)


rows = st.lists(st.lists(column_cells, max_size=5), max_size=8)


@given(rows, st.lists(st.tuples(st.integers(0, 7), st.sampled_from(("twin", "edit", "type")))))
def test_a_row_read_again_keeps_its_old_list_exactly_when_it_is_identical(
    old: list[list[Any]], changes: list[tuple[int, str]]
) -> None:
    new = [[_twin(c) for c in row] for row in old]
    for i, how in changes:
        if i >= len(new) or not new[i]:
            continue
        if how == "edit":
            new[i] = [*new[i], "x"]
        elif how == "type":  # equal in Python, another cell on a sheet
            new[i][0] = _retyped(new[i][0])
    got = _reuse_rows(old, new)
    assert len(got) == len(new)
    for i, row in enumerate(got):
        expected = old[i] if i < len(old) and identical(old[i], new[i]) else new[i]
        assert row is expected
