"""入出庫 parsed after a settled prefix gives what a parse of the whole tab gives (issue 10).

The gateway reads the whole 入出庫 tab on a cadence and, in between, only the rows
after its settled top; ``parse_movements`` then takes the top's result from a
``MovementsPrefix`` of an earlier parse. These tests hold that shortcut to the full
parse, field by field, over random tabs.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.infra.sheet.layers import Layers, OnLayers
from bot.infra.sheet.layout import SheetRead, load_template, parse_sheet
from bot.infra.sheet.parse_tabs import MovementsPrefix

PRODUCTS_HEAD = [c.header for c in load_template().tab("products").columns]
HEAD = ["日時", "商品コード", "数量", "区分", "メモ", "反映"]
IDENT_MARK = "済 2026-11-23 10:00:0{n} #M20261123-000{n}"


def parse(grid: list[list[Any]], prefix: MovementsPrefix | None = None) -> SheetRead:
    values = {"products": [PRODUCTS_HEAD], "movements": grid}
    return parse_sheet(values, malls=("rakuten",), movements_prefix=prefix)


def outcome(read: SheetRead) -> dict[str, Any]:
    """Everything a 入出庫 parse puts in a read."""
    return {
        "movements": read.snapshot.movements,
        "problems": read.snapshot.problems,
        "rows": read.movement_rows,
        "marks": read.movement_marks,
        "row_problems": read.movement_problems,
        "mark_by_row": read.mark_by_row,
        "prefix": read.movements_prefix,
    }


# Few distinct contents, so identical rows (same fingerprint) are common.
contents = st.tuples(
    st.sampled_from(["", "2026-11-23"]),
    st.sampled_from(["A", "B", "", "=A1"]),
    st.sampled_from([1, -2, 0, "たくさん", "+3", ""]),
    st.sampled_from(["入荷", ""]),
    st.sampled_from(["", "メモ"]),
)
marks = st.one_of(
    st.just(""),
    st.just("済"),
    st.just("エラー: 数量"),
    st.integers(1, 3).map(lambda n: IDENT_MARK.format(n=n)),
)
blank_rows = st.sampled_from([[], ["", "", "", "", "", ""], ["  "]])


@st.composite
def tabs(draw: st.DrawFn) -> list[list[Any]]:
    """A 入出庫 grid, mostly settled at the top like a tab in use."""
    rows: list[list[Any]] = [list(HEAD)]
    for _ in range(draw(st.integers(0, 30))):
        if draw(st.integers(0, 5)) == 0:
            rows.append(list(draw(blank_rows)))
            continue
        cells = list(draw(contents))
        settled = draw(st.booleans()) or len(rows) < draw(st.integers(0, 20))
        mark = draw(marks) if not settled else IDENT_MARK.format(n=draw(st.integers(1, 3)))
        if settled and draw(st.integers(0, 4)) == 0:
            mark = "済"
        row = [*cells, mark]
        while row and row[-1] == "":
            row.pop()
        rows.append(row)
    return rows


@settings(max_examples=300, deadline=None)
@given(grid=tabs(), data=st.data())
def test_a_parse_after_any_settled_prefix_equals_the_whole_parse(
    grid: list[list[Any]], data: st.DataObject
) -> None:
    whole = parse(grid)
    assert whole.movements_prefix is not None
    settled = whole.movements_prefix.rows
    # Any split inside the settled top: the prefix an earlier, shorter tab gave.
    split = data.draw(st.integers(1, settled), label="split")
    earlier = parse(grid[:split]).movements_prefix
    assert earlier is not None and earlier.rows <= split

    again = parse(grid, earlier)

    assert outcome(again) == outcome(whole)
    done = [m for m in again.snapshot.movements if m.done and m.row <= earlier.rows]
    assert len(done) == len(earlier.done)
    assert all(a is b for a, b in zip(done, earlier.done, strict=True))  # the same objects


@settings(max_examples=150, deadline=None)
@given(grid=tabs(), cuts=st.lists(st.integers(1, 40), min_size=1, max_size=6))
def test_a_tab_growing_cycle_by_cycle_parses_as_a_whole_tab_each_time(
    grid: list[list[Any]], cuts: list[int]
) -> None:
    prefix: MovementsPrefix | None = None
    for end in sorted({min(c, len(grid)) for c in cuts} | {len(grid)}):
        shown = grid[:end]
        read = parse(shown, prefix)
        assert outcome(read) == outcome(parse(shown))
        prefix = read.movements_prefix


def test_the_prefix_ends_on_the_last_settled_row_before_the_first_pending_one() -> None:
    grid = [
        HEAD,
        ["d", "A", 1, "", "", IDENT_MARK.format(n=1)],
        [],
        ["d", "A", 1, "", "", "済"],
        [],
        ["d", "B", 2],
        ["d", "A", 1, "", "", IDENT_MARK.format(n=2)],
    ]
    prefix = parse(grid).movements_prefix

    assert prefix is not None
    assert prefix.rows == 4  # header, 済 #M…, blank, 済: the blank after it is not taken
    assert prefix.cells == tuple(grid[:4])
    assert [m.row for m in prefix.done] == [2]
    assert list(prefix.occurrences.values()) == [2]  # the two A rows above read the same
    assert list(prefix.marks) == [1]
    # Only the tail is parsed after it: the pending B row, and the third A row is -2.
    again = parse(grid, prefix)
    assert [(m.sku, m.row, m.key[-2:]) for m in again.snapshot.movements] == [
        ("A", 2, "-0"),
        ("B", 6, "-0"),
        ("A", 7, "-2"),
    ]


def test_a_prefix_nothing_was_added_to_is_handed_on_as_it_is() -> None:
    grid = [HEAD, ["d", "A", 1, "", "", IDENT_MARK.format(n=1)], ["d", "B", 2]]
    prefix = parse(grid).movements_prefix
    assert prefix is not None

    again = parse([*grid, ["d", "C", 3]], prefix)

    assert again.movements_prefix is prefix


def test_a_prefix_is_not_used_on_a_tab_whose_top_differs() -> None:
    grid = [HEAD, ["d", "A", 1, "", "", IDENT_MARK.format(n=1)], ["d", "B", 2]]
    prefix = parse(grid).movements_prefix
    assert prefix is not None
    # A row was inserted above: the boundary row is another one now.
    moved = [HEAD, ["d", "Z", 5], *grid[1:]]
    assert not prefix.fits(moved)
    assert outcome(parse(moved, prefix)) == outcome(parse(moved))
    # A column moved: the header differs.
    swapped = [[r[1], r[0], *r[2:]] if len(r) > 1 else r for r in grid]
    assert not prefix.fits(swapped)
    assert outcome(parse(swapped, prefix)) == outcome(parse(swapped))


def test_join_rebuilds_the_tab_from_a_read_from_the_boundary_row() -> None:
    grid = [
        HEAD,
        ["d", "A", 1, "", "", IDENT_MARK.format(n=1)],
        ["d", "A", 1, "", "", IDENT_MARK.format(n=2)],
        ["d", "B", 2],
    ]
    prefix = parse(grid).movements_prefix
    assert prefix is not None and prefix.tail_row == 3

    tail = grid[prefix.tail_row - 1 :]  # what reading 入出庫!A3:… returns

    assert prefix.join(tail) == grid
    assert prefix.join([["d", "Z", 5], *grid[3:]]) is None  # a row was inserted above
    assert prefix.join([]) is None


def test_covers_says_whether_a_write_makes_the_prefix_stale() -> None:
    grid = [HEAD, ["d", "A", 1, "", "", IDENT_MARK.format(n=1)], ["d", "B", 2]]
    prefix = parse(grid).movements_prefix
    assert prefix is not None and prefix.rows == 2

    assert prefix.covers([1])  # a mark written on the 済 row (a copy given its own)
    assert not prefix.covers([2, 5])  # marks on the pending rows below it


def fresh(value: Any) -> Any:
    """``value``, a text as an object of its own (as each cell of a decoded answer is)."""
    return (value + "#")[:-1] if isinstance(value, str) and len(value) > 1 else value


@settings(max_examples=200, deadline=None)
@given(grid=tabs(), data=st.data())
def test_the_settled_top_keeps_one_object_per_distinct_text_and_reads_the_same(
    grid: list[list[Any]], data: st.DataObject
) -> None:
    decoded = [[fresh(c) for c in row] for row in grid]
    whole = parse(decoded)
    top = whole.movements_prefix
    assert top is not None
    assert list(top.cells) == grid[: top.rows]  # cell for cell, as read
    assert all(type(row) is list for row in top.cells)
    by_text: dict[str, Any] = {}
    done = [m for m in whole.snapshot.movements if m.done and m.row <= top.rows]
    for m in done:  # the rows scanned: their texts, one object each (not their marks)
        for cell in top.cells[m.row - 1][:5]:
            if isinstance(cell, str) and cell == cell.strip():
                assert by_text.setdefault(cell, cell) is cell
    for m in done:
        for text in (m.sku, m.kind, m.memo, m.at):
            assert by_text.get(text, text) is text  # the movements' own texts
    # Carried on: a tab read again after the top parses on, its rows as the top keeps them.
    split = data.draw(st.integers(1, top.rows), label="split")
    earlier = parse([[fresh(c) for c in row] for row in grid[:split]]).movements_prefix
    assert earlier is not None
    again = parse([*earlier.cells, *decoded[earlier.rows :]], earlier)
    assert again.movements_prefix == top
    assert again.movements_prefix is not None
    kept = again.movements_prefix.cells[: earlier.rows]
    assert all(a is b for a, b in zip(kept, earlier.cells, strict=True))


def test_rows_typed_alike_share_their_texts_in_the_top() -> None:
    rows = [[fresh("2026-11-23 10:00:00"), fresh("SKU-1"), 5, fresh("入荷"), fresh("bench")]]
    grid = [list(HEAD)]
    for n in range(1, 4):
        grid.append([*(fresh(c) for c in rows[0]), fresh(IDENT_MARK.format(n=n))])
    read = parse(grid)
    top = read.movements_prefix
    assert top is not None and top.rows == 4
    first, *others = top.cells[1:]
    for row in others:
        assert all(a is b for a, b in zip(row[:5], first[:5], strict=True))
        assert row[5] is not first[5]  # each identity mark its own
    done = [m for m in read.snapshot.movements if m.done]
    assert [m.kind for m in done] == ["入荷"] * 3
    assert all(m.kind is first[3] and m.memo is first[4] and m.sku is first[1] for m in done)
    assert len({id(m.at) for m in done}) == 1


def done_row(n: int) -> list[Any]:
    return ["d", f"S{n}", 1, "", "", f"済 2026-11-23 10:00:00 #M20261123-{n:04d}"]


def test_the_usual_cycle_shares_the_tops_maps_with_its_read_and_the_next_top() -> None:
    # A day-long top (400 rows here) is not copied into each read: the read's maps are
    # its own entries over the top's layers, and the next top stacks its rows on them.
    top = [list(HEAD), *(done_row(n) for n in range(1, 401))]
    prefix = parse([*top, ["d", "X", 1]]).movements_prefix
    assert prefix is not None and prefix.rows == 401
    grid = [*top, *(done_row(n) for n in range(401, 411)), ["d", "X", 1]]

    read = parse(grid, prefix)

    assert isinstance(read.movement_rows, OnLayers) and isinstance(read.mark_by_row, OnLayers)
    assert read.movement_rows.base is prefix.movement_rows
    assert read.mark_by_row.base is prefix.marks
    grown = read.movements_prefix
    assert grown is not None and grown.rows == 411
    for new, old in [
        (grown.movement_rows, prefix.movement_rows),
        (grown.marks, prefix.marks),
        (grown.occurrences, prefix.occurrences),
        (grown.idents, prefix.idents),
    ]:
        assert isinstance(new, Layers) and isinstance(old, Layers)
        assert new.layers[0] is old.layers[0]  # the big layer shared, 10 rows stacked on
    assert all(a.shared is b.shared for a, b in zip(grown.key_cells, prefix.key_cells, strict=True))
    assert outcome(read) == outcome(parse(grid))
