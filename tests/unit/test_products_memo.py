"""ProductsMemo: a parse that reuses last cycle's rows reads exactly what a fresh parse reads.

Issue 10 item 3: a cycle re-parses only the 商品マスタ rows whose cells changed. The
memo must never change the meaning of a read — whatever staff type, whatever the bot
last wrote to 在庫数 (a negative number is read against it).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.infra.sheet.parse_products import ProductsMemo
from bot.infra.sheet.rows import directory
from tests.unit.test_layout import HEAD, SET_HEAD, parse, prow

SKUS = ("A", "B", "C", "D")
STOCKS = (3, -2, "-2", "+5", "", "abc", 7.0, True, 1)
CODES = ("a:1", "b:1", "c:1", "a:1", "", "bad code")


def _row(
    sku: str, stock: Any, code: str, stop: Any, status: str = "", updated_at: str = ""
) -> list[Any]:
    return prow(
        sku=sku,
        name=f"商品{sku}",
        stock=stock,
        code_rakuten=code,
        stop_sync=stop,
        status=status,
        updated_at=updated_at,
    )


cells = st.tuples(
    st.sampled_from(SKUS),
    st.sampled_from(STOCKS),
    st.sampled_from(CODES),
    st.sampled_from((True, False, 1, 0, 1.0)),  # 1 == True in Python, not on a sheet
    st.sampled_from(("", "OK", "在庫切れ")),  # 状態, as the bot or staff left it
)
grids = st.lists(cells, min_size=0, max_size=6)
set_rows = st.lists(
    st.tuples(
        st.sampled_from(("C", "D", "")),
        st.sampled_from(("A", "B", "C")),
        st.sampled_from((1, 2, 0, "x")),
    ),
    max_size=4,
)
bot_stocks = st.dictionaries(st.sampled_from(SKUS), st.sampled_from((-2, 3)), max_size=4)


def _meaning(read: Any) -> tuple[Any, ...]:
    snap = read.snapshot
    return (
        snap.products,
        snap.sets,
        snap.invalid_skus,
        [(p.row, p.message, p.sku, p.column) for p in snap.problems],
        read.duplicate_rows,
        read.product_rows,
        list(read.row_statuses),
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(grids, bot_stocks, set_rows), min_size=1, max_size=6), st.booleans())
def test_a_parse_through_the_memo_reads_what_a_fresh_parse_reads(
    steps: list[tuple[list[tuple[str, Any, str, Any, str]], dict[str, int], list[Any]]],
    keep_rows: bool,
) -> None:
    memo = ProductsMemo()
    last: list[list[Any]] = []
    for rows, bot_stock, sets in steps:
        grid = [_row(*r) for r in rows]
        if keep_rows:  # unchanged rows keep their list, as the grid cache keeps them
            grid = [old if old == new else new for old, new in zip(last, grid, strict=False)]
            grid += [_row(*r) for r in rows[len(grid) :]]
        last = grid
        values = {"products": [HEAD, *grid], "sets": [SET_HEAD, *(list(r) for r in sets)]}
        fresh = parse(values, bot_stock=bot_stock)
        through = parse(values, bot_stock=bot_stock, memo=memo)
        assert _meaning(through) == _meaning(fresh)


def test_a_change_of_the_bots_own_stock_reparses_only_rows_with_a_negative_count() -> None:
    grid = [_row("A", 5, "a:1", False), _row("B", -2, "b:1", False), _row("C", 7, "c:1", False)]
    values = {"products": [HEAD, *grid]}
    memo = ProductsMemo()
    first = parse(values, bot_stock={}, memo=memo)
    assert memo.reparsed == 3
    assert "B" in first.snapshot.invalid_skus  # a negative the bot never wrote: a typo

    again = parse(values, bot_stock={"A": 5, "C": 7}, memo=memo)  # after the cold push
    assert memo.reparsed == 0
    assert again.snapshot.products["A"] is first.snapshot.products["A"]

    oversold = parse(values, bot_stock={"A": 5, "B": -2, "C": 7}, memo=memo)
    assert memo.reparsed == 1  # B's negative is now the bot's own oversell
    assert oversold.snapshot.products["B"].stock == -2


def test_a_cell_that_changed_type_but_not_value_is_read_again() -> None:
    """``1 == True`` in Python; on the sheet a count of 1 and a ticked box are not alike."""
    memo = ProductsMemo()
    counted = parse({"products": [HEAD, _row("A", 1, "a:1", False)]}, memo=memo)
    assert counted.snapshot.products["A"].stock == 1

    ticked = parse({"products": [HEAD, _row("A", True, "a:1", False)]}, memo=memo)

    assert "A" not in ticked.snapshot.products
    assert [p.column for p in ticked.snapshot.problems] == ["stock"]


def test_a_row_the_bot_rewrote_in_its_own_columns_keeps_its_parse_and_shows_the_new_status() -> (
    None
):
    status_col = HEAD.index("状態")
    grid = [_row("A", 5, "a:1", False, "OK"), _row("B", 2, "b:1", False, "OK")]
    memo = ProductsMemo()
    first = parse({"products": [HEAD, *grid]}, memo=memo)
    assert (first.status_at(1), first.status_at(2)) == ("OK", "OK")

    rewritten = list(grid[1])
    rewritten[status_col] = "在庫わずか"  # what the commit wrote to B's 状態
    memo.adopt(
        {2: (grid[1], rewritten, frozenset({status_col}))}, frozenset({status_col}), status_col
    )
    values = {"products": [HEAD, grid[0], rewritten]}
    again = parse(values, memo=memo)

    assert memo.reparsed == 0
    assert (again.status_at(1), again.status_at(2)) == ("OK", "在庫わずか")
    assert again.row_statuses == parse(values).row_statuses
    assert again.snapshot.products["B"] is first.snapshot.products["B"]


def test_a_read_keeps_the_status_it_was_parsed_with_after_the_next_parse() -> None:
    """The memo hands its 状態 map to the read; the next parse must change a copy."""
    memo = ProductsMemo()
    first = parse({"products": [HEAD, _row("A", 5, "a:1", False, "OK")]}, memo=memo)
    second = parse({"products": [HEAD, _row("A", 5, "a:1", False, "在庫切れ")]}, memo=memo)
    third = parse({"products": [HEAD, _row("A", 5, "a:1", False, "")]}, memo=memo)
    assert [r.status_at(1) for r in (first, second, third)] == ["OK", "在庫切れ", ""]


def test_a_product_code_on_one_row_has_no_list_of_rows_of_its_own() -> None:
    grid = [_row("A", 5, "a:1", False), _row("B", 2, "b:1", False), _row("A", 1, "c:1", False)]
    read = parse({"products": [HEAD, *grid]}, memo=ProductsMemo())
    assert read.product_rows == {"B": 2} and read.duplicate_rows == {"A": (1, 3)}
    assert read.rows_of("B") == (2,) and read.rows_of("A") == (1, 3) and read.rows_of("Z") == ()
    assert list(read.first_rows()) == [("B", 2), ("A", 1)]


def test_the_directory_is_the_snapshots_own_products_when_every_row_is_valid() -> None:
    grid = [_row("A", 5, "a:1", False), _row("B", 2, "b:1", False)]
    read = parse({"products": [HEAD, *grid]}, memo=ProductsMemo())
    assert directory(read) is read.snapshot.products  # no copy of the catalogue

    broken = parse({"products": [HEAD, *grid, _row("C", "abc", "c:1", False)]})
    found = directory(broken)
    assert list(found) == ["A", "B", "C"]
    assert (found["C"].name, found["C"].row) == ("商品C", 4)
    assert found["A"] is broken.snapshot.products["A"]


def test_the_directory_names_a_code_on_two_rows_by_its_first() -> None:
    grid = [_row("B", 2, "b:1", False), _row("A", 5, "a:1", False), _row("A", 1, "c:1", False)]
    read = parse({"products": [HEAD, *grid, _row("C", "abc", "c:2", False)]})
    found = directory(read)
    assert "A" not in read.snapshot.products and "C" not in read.snapshot.products
    assert [(s, p.row) for s, p in found.items() if s not in read.snapshot.products] == [
        ("A", 3),
        ("C", 5),
    ]


NOW = "2026-11-23 09:00:00"
"""What the bot writes to 最終更新."""

EDITS = st.sampled_from(("keep", "keep", "stock", "order", "other"))
"""What staff or the bot did to a row between two reads: mostly nothing, often its 在庫数
(a count typed), or its 在庫数, 状態 and 最終更新 (the bot's commit after an order)."""


@settings(max_examples=300, deadline=None)
@given(
    grids,
    st.lists(
        st.tuples(
            st.lists(st.tuples(EDITS, st.sampled_from(STOCKS), cells), max_size=6),
            bot_stocks,
            set_rows,
        ),
        min_size=1,
        max_size=5,
    ),
)
def test_a_row_whose_count_alone_changed_reads_as_a_fresh_parse_reads_it(
    start: list[tuple[str, Any, str, Any, str]],
    steps: list[tuple[list[tuple[str, Any, Any]], dict[str, int], list[Any]]],
) -> None:
    """The memo's short way for a row whose 在庫数 alone changed gives a fresh parse's read."""
    memo = ProductsMemo()
    rows: list[tuple[Any, ...]] = list(start)
    grid = [_row(*r) for r in rows]
    parse({"products": [HEAD, *grid]}, memo=memo)
    for edits, bot_stock, sets in steps:
        for i, (edit, stock, other) in enumerate(edits[: len(rows)]):
            sku, _, code, stop, status, *_ = rows[i]
            if edit == "stock":
                rows[i] = (sku, stock, code, stop, status)
            elif edit == "order":
                rows[i] = (sku, stock, code, stop, other[4], NOW)
            elif edit == "other":
                rows[i] = other
            if edit != "keep":
                grid[i] = _row(*rows[i])
        values = {"products": [HEAD, *grid], "sets": [SET_HEAD, *(list(r) for r in sets)]}
        fresh = parse(values, bot_stock=bot_stock)
        through = parse(values, bot_stock=bot_stock, memo=memo)
        assert _meaning(through) == _meaning(fresh)


def test_a_count_typed_or_an_order_reads_only_the_count_again() -> None:
    grid = [_row("A", 5, "a:1", False, "OK"), _row("B", 2, "b:1", True, "OK")]
    grid += [_row("C", 4, "c:1", False, "OK")]
    memo = ProductsMemo()
    first = parse({"products": [HEAD, *grid]}, memo=memo)
    counted = [grid[0], _row("B", 9, "b:1", True, "OK")]
    counted += [_row("C", 0, "c:1", False, "在庫切れ", NOW)]  # an order

    again = parse({"products": [HEAD, *counted]}, memo=memo)

    assert (memo.restocked, memo.reparsed) == (2, 0)
    assert _meaning(again) == _meaning(parse({"products": [HEAD, *counted]}))
    assert again.status_at(3) == "在庫切れ"
    assert again.snapshot.products["A"] is first.snapshot.products["A"]
    assert (
        again.snapshot.products["B"] == parse({"products": [HEAD, *counted]}).snapshot.products["B"]
    )
    assert again.snapshot.products["B"].stock == 9


def test_a_set_rows_new_count_is_read_alone_too() -> None:
    sets = {"sets": [SET_HEAD, ["S", "A", 2]]}
    memo = ProductsMemo()
    parse(
        {"products": [HEAD, _row("A", 5, "a:1", False), _row("S", 2, "s:1", False)], **sets},
        memo=memo,
    )
    values = {"products": [HEAD, _row("A", 5, "a:1", False), _row("S", 0, "s:1", False)], **sets}

    again = parse(values, memo=memo)

    assert (memo.restocked, memo.reparsed) == (1, 0)
    assert _meaning(again) == _meaning(parse(values))
    grid = values["products"]
    parse({"products": [*grid[:2], list(grid[2])], **sets}, memo=memo)  # the same cells
    assert (memo.restocked, memo.reparsed) == (0, 0)  # it is known a set since


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (_row("B", 2, "b:1", False), _row("B", "-2", "b:1", False)),  # not a plain count
        (_row("B", 2, "b:1", False), _row("B", True, "b:1", False)),  # a ticked box
        (_row("B", 2, "b:1", False), _row("B", 3, "b:2", False)),  # a code changed too
        (_row("B", 2, "b:1", True), _row("B", 3, "b:1", 1)),  # a ticked box became 1
        (prow(sku="B", stock=2, low_stock="x"), prow(sku="B", stock=3, low_stock="x")),  # bad
        (_row("B", 2, "b:1", False), _row("B", 3, "b:2", False, "", NOW)),  # and 最終更新
        (_row("B", 2, "b:1", False), [*_row("B", 3, "b:1", False)[:10], "y"]),  # a code typed
        (prow(sku="B", stock=2, rule=5), prow(sku="B", stock=3, rule=5)),  # a note (a guess)
    ],
)
def test_a_row_with_more_than_a_new_count_is_read_cell_by_cell(
    before: list[Any], after: list[Any]
) -> None:
    memo = ProductsMemo()
    parse({"products": [HEAD, _row("A", 5, "a:1", False), before]}, memo=memo)
    values = {"products": [HEAD, _row("A", 5, "a:1", False), after]}

    again = parse(values, memo=memo)

    assert (memo.restocked, memo.reparsed) == (0, 1)
    assert _meaning(again) == _meaning(parse(values))
