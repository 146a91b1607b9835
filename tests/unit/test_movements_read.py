"""How 入出庫 is read: below its settled top, the top checked on its key columns (issue 10).

``bot/infra/sheet/movements_read.py`` builds the ranges a read takes 入出庫 by and turns
their answers back into the tab a whole read gives, or tells that the top changed.
These tests hold each piece to what a whole read of the tab shows, with the values as
the API gives them.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.infra.sheet import movements_read
from bot.infra.sheet.layout import SheetRead, load_template, parse_sheet
from bot.infra.sheet.movements_read import MovementsRead, column_of, top_unchanged
from bot.infra.sheet.parse_tabs import MovementsPrefix
from bot.infra.sheet.values import same_row, value_at

PRODUCTS_HEAD = [c.header for c in load_template().tab("products").columns]
HEAD = ["日時", "商品コード", "数量", "区分", "メモ", "反映"]
TITLE = "'入出庫'"


def mark(n: int) -> str:
    return f"済 2026-11-23 10:00:{n:02d} #M20261123-{n:04d}"


def parse(grid: list[list[Any]]) -> SheetRead:
    return parse_sheet({"products": [PRODUCTS_HEAD], "movements": grid}, malls=("rakuten",))


def settled_tab() -> list[list[Any]]:
    """Four applied rows (one of them after a blank row), then a pending one."""
    return [
        list(HEAD),
        ["d", "A", 1, "入荷", "", mark(1)],
        ["d", "B", 2, "入荷", "", mark(2)],
        [],
        ["d", "C", 3, "入荷", "メモ", mark(3)],
        ["d", "D", 4, "入荷", "", mark(4)],
        ["d", "E", 5],
    ]


def prefix_of(grid: list[list[Any]]) -> MovementsPrefix:
    prefix = parse(grid).movements_prefix
    assert prefix is not None
    return prefix


def column(grid: list[list[Any]], col: int, last: int) -> list[list[Any]]:
    """Column ``col`` of sheet rows 2..``last`` as a ROWS-major read gives it."""
    out = [[row[col]] if col < len(row) and row[col] not in ("", None) else [] for row in grid]
    out = out[1:last]
    while out and not out[-1]:
        out.pop()
    return out


def answers(read: MovementsRead, grid: list[list[Any]]) -> list[list[Any]]:
    """What the emulated API answers to ``read.ranges()`` on ``grid``.

    The tail and the header row as ROWS-major grids, the key columns as lists (what
    ``column_of`` makes of a ROWS-major or COLUMNS-major answer).
    """
    prefix = read.prefix
    assert prefix is not None
    got: list[list[Any]] = [grid[prefix.tail_row - 1 :], [grid[0]]]
    last = prefix.rows - 1
    return got + [column_of(column(grid, c, last), True) for c in prefix.key_columns]


# --------------------------------------------------------------------------- ranges


def test_a_read_takes_the_tab_from_the_boundary_row_and_checks_the_top_when_asked() -> None:
    prefix = prefix_of(settled_tab())
    assert prefix.rows == 6 and prefix.key_columns == (1, 2, 5)

    assert MovementsRead(prefix, TITLE).ranges() == [f"{TITLE}!A6:F"]
    assert MovementsRead(prefix, TITLE, check=True).ranges() == [
        f"{TITLE}!A6:F",
        f"{TITLE}!1:1",
        f"{TITLE}!B2:B5",  # 商品コード, 数量 and 反映 of the rows above the boundary
        f"{TITLE}!C2:C5",
        f"{TITLE}!F2:F5",
    ]
    assert MovementsRead(None, TITLE, check=True).ranges() == [TITLE]


def test_a_top_of_one_row_is_checked_by_the_boundary_row_alone() -> None:
    prefix = prefix_of([list(HEAD), ["d", "A", 1, "", "", mark(1)], ["d", "B", 2]])
    assert MovementsRead(prefix, TITLE, check=True).ranges() == [
        f"{TITLE}!A2:F",
        f"{TITLE}!1:1",
    ]


def test_the_answers_join_into_the_tab_a_whole_read_gives() -> None:
    grid = settled_tab()
    grid.append(["d", "F", 6])
    read = MovementsRead(prefix_of(settled_tab()), TITLE, check=True)

    got = answers(read, grid)

    assert read.grid(got) == grid
    assert not read.stale(got[1:])


@pytest.mark.parametrize(
    ("row", "col", "value"),
    [
        (1, 5, ""),  # a 済 mark cleared: the bot puts it back
        (3, 1, "Z"),  # a row typed into the blank row of the top
        (2, 2, 20),  # a 済 row's 数量 edited: staff are told
        (1, 1, "B"),  # a 済 row's 商品コード edited
    ],
)
def test_a_change_to_the_top_that_the_boundary_row_cannot_show_is_found(
    row: int, col: int, value: Any
) -> None:
    read = MovementsRead(prefix_of(settled_tab()), TITLE, check=True)
    grid = settled_tab()
    grid[row] = [*grid[row], *[""] * (6 - len(grid[row]))]
    grid[row][col] = value

    got = answers(read, grid)

    assert read.grid(got) is not None  # the boundary row is as it was
    assert read.stale(got[1:])  # the next read takes the tab whole
    assert not MovementsRead(read.prefix, TITLE).stale([])  # only a check tells


def test_memo_date_or_kind_edits_in_the_top_change_nothing_the_bot_does() -> None:
    read = MovementsRead(prefix_of(settled_tab()), TITLE, check=True)
    grid = settled_tab()
    grid[4] = ["2026-12-01", "C", 3, "返品", "直したメモ", mark(3)]

    assert not read.stale(answers(read, grid)[1:])


def test_a_header_renamed_is_found_by_the_check() -> None:
    read = MovementsRead(prefix_of(settled_tab()), TITLE, check=True)
    grid = settled_tab()
    grid[0] = ["日付", *HEAD[1:]]
    assert read.stale(answers(read, grid)[1:])
    assert not top_unchanged(None, [[grid[0]]])


def test_numbers_read_as_9_or_9_0_and_blank_cells_as_none_or_empty_are_the_same() -> None:
    prefix = prefix_of(settled_tab())
    got: list[list[Any]] = [[HEAD], ["A", "B", "", "C"], [1.0, 2, None, 3]]
    got.append([mark(1), mark(2), "", mark(3)])
    assert top_unchanged(prefix, got)


# --------------------------------------------------------------------------- join


def test_a_settled_row_a_sort_took_below_a_boundary_row_that_kept_its_place_is_refused() -> None:
    # 日時-sorted: A 09:00, B 12:00, C 11:00 applied, D 10:00 typed later. Sorting by
    # 日時 gives A D C B: C (the boundary row) stays third, D goes up, B comes down.
    grid = [
        list(HEAD),
        ["09:00", "A", 1, "", "", mark(1)],
        ["12:00", "B", 2, "", "", mark(2)],
        ["11:00", "C", 3, "", "", mark(3)],
        ["10:00", "D", 4],
    ]
    prefix = prefix_of(grid)
    assert prefix.tail_row == 4
    after = [grid[0], grid[1], grid[4], grid[3], grid[2]]

    # Joined to the top as it was, B would be there twice and applied again, D lost.
    assert prefix.join(after[prefix.tail_row - 1 :]) is None
    # A copy staff made of a 済 row is refused too (the tab is then read whole once).
    assert prefix.join([grid[3], grid[4], grid[1]]) is None
    # Rows the bot marked since, with identities of their own, join as before.
    assert prefix.join([grid[3], ["10:00", "D", 4, "", "", mark(9)]]) == [
        *grid[:4],
        ["10:00", "D", 4, "", "", mark(9)],
    ]


# --------------------------------------------------------------------------- the check, fast


def plain_top_unchanged(prefix: MovementsPrefix, got: list[list[Any]]) -> bool:
    """The check cell by cell as text (``got``'s columns ROWS-major): what the fast one must say."""
    header = got[0][0] if got and got[0] else []
    if not same_row(header, prefix.cells[0]):
        return False
    top = prefix.cells[1 : prefix.rows - 1]
    for col, rows in zip(prefix.key_columns, got[1:], strict=False):
        now = [row[0] if row else "" for row in rows]
        if not same_row(now, [value_at(row, col) for row in top]):
            return False
    return len(got) - 1 == (len(prefix.key_columns) if top else 0)


cell_values = st.sampled_from(["", None, "A", "B", 1, 1.0, "1", 2, True, mark(1), mark(2), " "])
settled_rows = st.one_of(
    st.just([]),
    st.tuples(st.sampled_from(["A", "B", 1]), st.sampled_from([1, 2, 1.0, "", "x"])).map(
        lambda t: ["d", t[0], t[1], "", "", mark(1)]
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(settled_rows, max_size=12),
    edits=st.lists(st.tuples(st.integers(0, 14), st.integers(0, 6), cell_values), max_size=4),
    columns_major=st.booleans(),
)
def test_the_check_says_what_comparing_the_top_cell_by_cell_says(
    rows: list[list[Any]],
    edits: list[tuple[int, int, Any]],
    columns_major: bool,
) -> None:
    grid = [list(HEAD), *(list(r) for r in rows), ["d", "E", 5]]
    prefix = parse(grid).movements_prefix
    assert prefix is not None
    read = MovementsRead(prefix, TITLE, check=True)
    for row, col, value in edits:  # staff typing anywhere, the header row too
        if row < len(grid) - 1:
            grid[row] = [*grid[row], *[""] * (col + 1 - len(grid[row]))]
            grid[row][col] = value
    last = prefix.rows - 1
    by_rows = [column(grid, c, last) for c in prefix.key_columns] if last >= 2 else []
    if columns_major:  # the hot read's answer: one list, trailing blanks dropped
        got = [column_of(columns_of(r), False) for r in by_rows]
    else:
        got = [column_of(r, True) for r in by_rows]

    assert top_unchanged(prefix, [[grid[0]], *got]) == plain_top_unchanged(
        prefix, [[grid[0]], *by_rows]
    )
    assert read.stale([[grid[0]], *got]) != plain_top_unchanged(prefix, [[grid[0]], *by_rows])


def columns_of(rows: list[list[Any]]) -> list[list[Any]]:
    """A ROWS-major one-column answer as the COLUMNS-major one."""
    return [[r[0] if r else "" for r in rows]] if rows else []


def test_the_usual_check_compares_the_top_at_c_speed(monkeypatch: pytest.MonkeyPatch) -> None:
    # An unchanged top is compared as lists, not cell by cell as text (a day-long tab).
    grid = [list(HEAD), *(["d", f"S{n}", n, "", "", mark(n % 60)] for n in range(1, 300))]
    grid.append(["d", "E", 5])
    prefix = prefix_of(grid)
    read = MovementsRead(prefix, TITLE, check=True)
    got = answers(read, grid)
    calls: list[int] = []
    real = movements_read.same_row
    monkeypatch.setattr(movements_read, "same_row", lambda a, b: calls.append(1) or real(a, b))

    assert not read.stale(got[1:])
    assert len(calls) == 1  # the header row only
