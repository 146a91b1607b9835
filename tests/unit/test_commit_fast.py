"""The commit's fast forms give what their plain forms gave (issue 10 item 3).

Each property test holds a fast form of the commit path (re-read check, cache patch,
cell requests) to the plain computation it replaced, kept here as the reference; the
pins that the usual cycle takes each fast form are in tests/sheet/test_commit_fast.py.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import to_json

from bot.core.domain import Snapshot
from bot.infra.sheet.commit import _Shown, _statuses, _statuses_row_by_row, cell_requests
from bot.infra.sheet.hot import GridCache, row_runs, rows_of_runs, same_rows
from bot.infra.sheet.parsing import SheetRead
from bot.infra.sheet.repair import Answer, _fill, after_top
from bot.infra.sheet.tabs import MOVEMENTS, PRODUCTS, SETS
from bot.infra.sheet.values import entered, same, same_row, update_cells, value_at
from tests.unit.test_movements_prefix import outcome, parse, tabs

cell_values = st.sampled_from(["", None, "a", "済", 1, 1.0, True, "1", 0, False])
rows_of_cells = st.lists(st.lists(cell_values, max_size=4), max_size=6)


def plain_same_row(a: list[Any], b: list[Any]) -> bool:
    """same_row as it compares two rows that are not identical: cell by cell as text."""
    return all(same(value_at(a, i), value_at(b, i)) for i in range(max(len(a), len(b))))


@settings(deadline=None)  # (no test asserts a timing)
@given(st.lists(cell_values, max_size=5), st.lists(st.sampled_from(["", None]), max_size=3))
def test_rows_compared_but_for_trailing_blanks_read_as_compared_cell_by_cell(
    row: list[Any], blanks: list[Any]
) -> None:
    for a, b in [(row, row + blanks), (row + blanks, row), (row[:-1], row), (row, [*row, "x"])]:
        assert same_row(a, b) == plain_same_row(a, b)


def plain_fill(data: list[dict[str, Any]]) -> Answer:
    """_fill as it put an answer's cells: each non-blank cell by :meth:`Answer.put`."""
    grid = Answer()
    for block in data:
        r0, c0 = block.get("startRow", 0), block.get("startColumn", 0)
        for i, row_data in enumerate(block.get("rowData", [])):
            for j, cell in enumerate(row_data.get("values", [])):
                if (value := entered(cell.get("userEnteredValue"))) is not None:
                    grid.put(r0 + i, c0 + j, value)
    return grid


entered_values = st.sampled_from(
    [{}, {"stringValue": "A"}, {"stringValue": ""}, {"numberValue": 1}, {"boolValue": False}]
)
grid_blocks = st.lists(
    st.fixed_dictionaries(
        {
            "rowData": st.lists(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "values": st.lists(
                            st.fixed_dictionaries(
                                {}, optional={"userEnteredValue": entered_values}
                            ),
                            max_size=4,
                        )
                    },
                ),
                max_size=3,
            )
        },
        optional={"startRow": st.integers(0, 4), "startColumn": st.integers(0, 3)},
    ),
    max_size=5,
)


@settings(deadline=None)  # (no test asserts a timing)
@given(grid_blocks)
def test_an_answer_filled_a_row_at_a_time_is_its_cells_put_one_by_one(
    data: list[dict[str, Any]],
) -> None:
    got = Answer()
    _fill(got, data)
    assert got.rows == plain_fill(data).rows


def plain_same_rows(a: list[list[Any]], b: list[list[Any]]) -> bool:
    """same_rows as the re-read check compared rows before: one pair at a time."""
    return all(same_row(x, y) for x, y in zip(a, b, strict=True))


@settings(deadline=None)  # (no test asserts a timing)
@given(rows_of_cells, st.lists(st.tuples(st.integers(0, 5), st.integers(0, 4), cell_values)))
def test_rows_compared_at_once_read_as_compared_pair_by_pair(
    rows: list[list[Any]], edits: list[tuple[int, int, Any]]
) -> None:
    before = [list(r) for r in rows]
    after = [list(r) for r in rows]
    for r, c, v in edits:
        if r < len(after):
            line = after[r]
            line.extend([None] * (c + 1 - len(line)))
            line[c] = v
    assert same_rows(after, before) == plain_same_rows(after, before)
    assert same_rows(before, after) == plain_same_rows(before, after)


texts = st.sampled_from(["", "OK", "在庫切れ", "（停止）", "(停止)", " OK"])


@settings(deadline=None)  # (no test asserts a timing)
@given(
    st.lists(st.sampled_from("ABCDEFG"), min_size=1, max_size=12),  # 商品コード by grid row
    st.lists(texts, max_size=12),  # 状態 as the sheet shows them
    st.dictionaries(st.sampled_from("ABCDEFGH"), texts),  # the plan's 状態 of some
)
def test_named_statuses_compared_at_once_are_those_compared_row_by_row(
    codes: list[str], on_sheet: list[str], statuses: dict[str, str]
) -> None:
    rows: dict[str, list[int]] = {}
    for i, code in enumerate(codes, start=1):
        rows.setdefault(code, []).append(i)
    read = SheetRead(
        Snapshot(),
        product_rows={c: r[0] for c, r in rows.items() if len(r) == 1},
        duplicate_rows={c: tuple(r) for c, r in rows.items() if len(r) > 1},
        row_statuses=["", *(on_sheet + [""] * len(codes))[: len(codes)]],  # header first
    )
    got = _statuses(statuses, read, 8)
    want = _statuses_row_by_row(statuses, read, 8, _Shown())
    assert list(got.items()) == list(want.items())
    assert all(tab == PRODUCTS for tab, _, _ in got)


@settings(max_examples=200, deadline=None)  # (no test asserts a timing)
@given(grid=tabs(), data=st.data())
def test_a_parse_after_the_top_without_its_rows_is_the_parse_with_them(
    grid: list[list[Any]], data: st.DataObject
) -> None:
    """What a commit's check parses (the top's fingerprint counts, the rows below)."""
    whole = parse(grid)
    assert whole.movements_prefix is not None
    split = data.draw(st.integers(1, whole.movements_prefix.rows), label="split")
    top = parse(grid[:split]).movements_prefix
    assert top is not None
    tail = [list(r) for r in grid[top.rows :]]
    for prefix in (top, replace(top, movement_rows={}, marks={}, done=())):
        plain = parse([*prefix.cells, *tail], prefix)
        assert outcome(parse(after_top(prefix, tail), prefix)) == outcome(plain)


def plain_restocked(stocks: list[Any], rows: dict[int, list[Any]], col: int) -> list[Any]:
    """GridCache._restock before it changed its own list in place: on a copy."""
    out = list(stocks)
    for row, cells in rows.items():
        value = cells[col] if col < len(cells) and cells[col] is not None else ""
        if row - 1 >= len(out):
            out.extend([""] * (row - len(out)))
        out[row - 1] = value
    while out and out[-1] == "":
        out.pop()
    return out


@settings(deadline=None)  # (no test asserts a timing)
@given(
    st.lists(st.lists(cell_values, max_size=4), min_size=2, max_size=6),
    st.lists(st.tuples(st.integers(1, 5), st.integers(0, 4), cell_values), max_size=8),
)
def test_the_stock_column_patched_in_place_is_the_one_patched_on_a_copy(
    rows: list[list[Any]], writes: list[tuple[int, int, Any]]
) -> None:
    cache = GridCache(stock_col=1)
    cache.grids[PRODUCTS] = [list(r) for r in rows]
    stocks = ["" if v is None else v for r in rows[1:] for v in [r[1] if len(r) > 1 else ""]]
    while stocks and stocks[-1] == "":
        stocks.pop()
    cache.stocks = list(stocks)
    cells = {(r, c): v for r, c, v in writes if r < len(rows)}

    changes = cache.patch(cells)

    restocked = {r: c.new for r, c in changes.items() if 1 in c.columns}
    assert cache.stocks == plain_restocked(stocks, restocked, 1)


def plain_rows_of_runs(
    runs: list[tuple[int, int]], grids: list[list[list[Any]]]
) -> dict[int, list[Any]]:
    """rows_of_runs as the re-read built it before: a padded list per run."""
    return {
        row: cells
        for (a, b), grid in zip(runs, grids, strict=False)
        for row, cells in zip(range(a, b + 1), [*grid, *[[]] * (b - a + 1)], strict=False)
    }


@settings(deadline=None)  # (no test asserts a timing)
@given(st.sets(st.integers(1, 30), max_size=12), st.data())
def test_rows_taken_run_by_run_are_those_of_the_padded_runs(
    rows: set[int], data: st.DataObject
) -> None:
    runs = row_runs(rows)
    grids = [
        data.draw(st.lists(st.lists(cell_values, max_size=3), max_size=b - a + 1)) for a, b in runs
    ]
    assert rows_of_runs(runs, grids) == plain_rows_of_runs(runs, grids)


def plain_cell_requests(sheet_ids: dict[str, int], cells: dict[Any, Any]) -> list[Any]:
    """cell_requests as it was: per tab, each column's sorted cells in runs of rows."""
    reqs = []
    for tab in (PRODUCTS, MOVEMENTS):
        by_col: dict[int, list[tuple[int, Any]]] = {}
        for (t, row, col), value in cells.items():
            if t == tab:
                by_col.setdefault(col, []).append((row, value))
        for col, items in sorted(by_col.items()):
            items.sort()
            start, run = items[0][0], [items[0][1]]
            for row, value in items[1:]:
                if row == start + len(run):
                    run.append(value)
                else:
                    reqs.append(update_cells(sheet_ids[tab], start, col, [[v] for v in run]))
                    start, run = row, [value]
            reqs.append(update_cells(sheet_ids[tab], start, col, [[v] for v in run]))
    return reqs


@settings(deadline=None)  # (no test asserts a timing)
@given(
    st.dictionaries(
        st.tuples(
            st.sampled_from([PRODUCTS, MOVEMENTS, SETS]), st.integers(1, 12), st.integers(0, 3)
        ),
        cell_values | st.integers(-5, 5),
        max_size=20,
    )
)
def test_cell_requests_built_in_one_pass_are_the_plain_requests(cells: dict[Any, Any]) -> None:
    ids = {PRODUCTS: 7, MOVEMENTS: 9, SETS: 11}
    got, want = cell_requests(ids, cells), plain_cell_requests(ids, cells)
    assert got == want and to_json(got) == to_json(want)  # (True is not 1 on the wire)
