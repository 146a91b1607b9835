"""The sheet write path's fast forms give what the plain ones gave (issue 10 item 3).

Each fast form here replaces a plain computation the commit or the record ran on every
cell or row of a cycle; each property test holds it to that plain form, kept here as
the reference.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import to_json

from bot.core.domain import OpLogRow, SaleKind, SaleLogRow, Snapshot
from bot.infra.clock import JST, format_jst
from bot.infra.sheet.cells import cell_data, cell_text, column_letter, is_blank
from bot.infra.sheet.commit import column_ranges
from bot.infra.sheet.headers import HeaderMap, header_map
from bot.infra.sheet.hot import GridCache, Reread, row_runs
from bot.infra.sheet.listing_writes import _sizes
from bot.infra.sheet.logs import LogTabs
from bot.infra.sheet.parsing import SheetRead
from bot.infra.sheet.repair import Answer, _fill
from bot.infra.sheet.rows import log_rows, op_row, sale_row
from bot.infra.sheet.spec import load_template
from bot.infra.sheet.tabs import MOVEMENTS, OPS_LOG, PRODUCTS
from bot.infra.sheet.values import date_of, dates_of, entered, same_row, spans


class Kind(StrEnum):
    SALE = "sale"


def plain_cell_data(value: Any) -> dict[str, Any]:
    """cell_data before its fast path for str and int."""
    if value is None or value == "":
        return {}
    if isinstance(value, bool):
        return {"userEnteredValue": {"boolValue": value}}
    if isinstance(value, int | float):
        return {"userEnteredValue": {"numberValue": value}}
    if isinstance(value, datetime):
        return {"userEnteredValue": {"stringValue": format_jst(value)}}
    return {"userEnteredValue": {"stringValue": str(value)}}


times = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)).map(
    lambda d: d.replace(tzinfo=JST)
)
values = (
    st.none()
    | st.text(max_size=8)
    | st.integers()
    | st.floats(allow_nan=False)
    | st.booleans()
    | times
    | st.just(Kind.SALE)
    | st.just("")
)


@settings(deadline=None)  # (no test asserts a timing)
@given(st.lists(values, max_size=20))
def test_cell_data_is_the_plain_cell_data(cells: list[Any]) -> None:
    for value in cells:
        got, want = cell_data(value), plain_cell_data(value)
        assert got == want and to_json(got) == to_json(want)  # (True is not 1 on the wire)


def plain_column_ranges(
    whole: Any,
    columns: dict[str, list[int]],
    rows: dict[str, set[int]] | None,
    keys: dict[str, int] | None = None,
) -> list[str]:
    """column_ranges before its title and row runs were worked out once per tab.

    With ``keys``: a tab's rows in its key column only, after its header ranges.
    """
    ranges: list[str] = []
    for tab, cols in columns.items():
        key = (keys or {}).get(tab)
        for first, last in spans(cols):
            a, b = column_letter(first), column_letter(last)
            if rows is None or tab not in rows:
                ranges.append(f"{whole(tab)}!{a}:{b}")
                continue
            runs = [(0, 0)] if key is not None else [(0, 0), *row_runs(rows[tab] - {0})]
            for top, bottom in runs:
                ranges.append(f"{whole(tab)}!{a}{top + 1}:{b}{bottom + 1}")
        if key is not None and rows is not None and tab in rows:
            k = column_letter(key)
            for top, bottom in row_runs(rows[tab] - {0}):
                ranges.append(f"{whole(tab)}!{k}{top + 1}:{k}{bottom + 1}")
    return ranges


@settings(deadline=None)  # (no test asserts a timing)
@given(
    st.dictionaries(
        st.sampled_from(["products", "movements"]),
        st.lists(st.integers(0, 30), min_size=1, max_size=6, unique=True).map(sorted),
        min_size=1,
    ),
    st.none()
    | st.dictionaries(
        st.sampled_from(["products", "movements"]), st.sets(st.integers(0, 60), max_size=20)
    ),
)
def test_column_ranges_are_the_plain_ranges(
    columns: dict[str, list[int]], rows: dict[str, set[int]] | None
) -> None:
    def whole(tab: str) -> str:
        return f"'{tab}'"

    assert column_ranges(whole, columns, rows) == plain_column_ranges(whole, columns, rows)
    keys = {"products": 0}  # a commit's answer: 商品マスタ's written rows by 商品コード only
    got = column_ranges(whole, columns, rows, keys)
    assert got == plain_column_ranges(whole, columns, rows, keys)


scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=6)
json_items = (
    scalars
    | st.lists(scalars, max_size=3)
    | st.dictionaries(st.text(max_size=4), scalars | st.lists(scalars, max_size=3), max_size=3)
)


@settings(deadline=None)  # (no test asserts a timing)
@given(st.lists(json_items, max_size=6), st.lists(st.text(max_size=10), max_size=3))
def test_sizes_measured_as_one_list_are_the_items_sizes_plus_two_each(
    reqs: list[Any], ranges: list[str]
) -> None:
    plain = sum(len(to_json(r)) + 2 for r in reqs) + sum(len(to_json(r)) + 2 for r in ranges)
    assert _sizes(reqs, ranges) == plain


stamps = st.sampled_from(
    [
        "2026-11-23 14:05:09",
        "2026/11/23 14:05",
        "",
        None,
        1,
        True,
        46000.5,
        datetime(2026, 11, 23, 9, tzinfo=JST),
        "not a time",
    ]
)


@settings(deadline=None)  # (no test asserts a timing)
@given(st.lists(stamps, max_size=12))
def test_log_dates_parsed_once_each_are_the_plain_dates(ats: list[Any]) -> None:
    assert dates_of(ats) == [date_of(at) for at in ats]
    got = dates_of([1, True])
    assert got[0] == datetime(1899, 12, 30, tzinfo=JST) + timedelta(days=1)
    assert got[1] == date_of(True)


def plain_unchanged(check: Reread) -> bool:
    """Reread.unchanged before 入出庫's shared rows were passed over by identity."""
    grid = check.previous.raw.get(PRODUCTS) or [[]]
    if check.products and not same_row(check.header, grid[0] if grid else []):
        return False
    for row, cells in check.rows.items():
        if not same_row(cells, grid[row] if row < len(grid) else []):
            return False
    if check.movements is None:
        return True
    before = check.previous.raw.get(MOVEMENTS) or []
    return len(before) == len(check.movements) and all(
        same_row(a, b) for a, b in zip(before, check.movements, strict=False)
    )


cell_values = st.sampled_from(["", None, "a", "済", 1, 1.0, True, "1"])


@settings(deadline=None)  # (no test asserts a timing)
@given(
    st.lists(st.lists(cell_values, max_size=4), min_size=1, max_size=8),
    st.lists(
        st.tuples(st.integers(0, 8), st.lists(cell_values, max_size=4)), max_size=4
    ),  # rows read again as new lists (their cells as given)
    st.integers(-1, 1),  # rows fewer, as many, more
)
def test_reread_unchanged_is_the_plain_comparison(
    rows: list[list[Any]], fresh: list[tuple[int, list[Any]]], grow: int
) -> None:
    before = [list(r) for r in rows]
    after = list(before)  # the settled top: the very rows of the last read
    for at, cells in fresh:
        if at < len(after):
            after[at] = cells
    if grow < 0:
        after.pop()
    elif grow > 0:
        after.append(["x"])
    previous = SheetRead(Snapshot(), raw={PRODUCTS: [["商品コード"]], MOVEMENTS: before})
    check = Reread(previous, ["商品コード"], {}, after)
    assert check.unchanged() == plain_unchanged(check)


def plain_layout(header: HeaderMap, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """LogTabs.layout's RowData before its C-level maps (every template column present)."""
    out = []
    for row in rows:
        line: list[Any] = [None] * header.width
        for col_key, value in row.items():
            col = header.columns.get(col_key)
            if col is not None:
                line[col] = value
        out.append({"values": [cell_data(v) for v in line]})
    return out


@settings(deadline=None)  # (no test asserts a timing)
@given(
    st.lists(
        st.dictionaries(st.sampled_from(["at", "kind", "sku", "qty", "nope", "memo"]), values),
        max_size=6,
    ),
    st.permutations(range(7)),
)
def test_log_rows_are_laid_out_as_plainly(rows: list[dict[str, Any]], order: list[int]) -> None:
    tab = load_template().tab(OPS_LOG)
    titles = [c.header for c in tab.columns]
    header = header_map(tab, [titles[i] for i in order if i < len(titles)])
    assert not [c for c in tab.columns if c.key not in header.columns]  # nothing to put back
    reqs, got = LogTabs.layout(tab, 1, rows, header, lambda: 26)
    assert reqs == [] and got == plain_layout(header, rows)


def plain_with(row: list[Any], col: int, value: Any) -> list[Any]:
    """hot._with before GridCache.patch set a row's cells on one copy."""
    line = list(row)
    if len(line) <= col:
        line.extend([""] * (col + 1 - len(line)))
    line[col] = "" if value is None else value
    while line and (line[-1] is None or line[-1] == ""):
        line.pop()
    return line


@settings(deadline=None)  # (no test asserts a timing)
@given(
    st.lists(st.lists(cell_values, max_size=5), min_size=2, max_size=5),
    st.lists(st.tuples(st.integers(1, 4), st.integers(0, 6), cell_values), max_size=8),
)
def test_patched_rows_are_those_of_one_write_at_a_time(
    rows: list[list[Any]], writes: list[tuple[int, int, Any]]
) -> None:
    cache = GridCache()
    cache.grids[PRODUCTS] = [list(r) for r in rows]
    cells = {(r, c): v for r, c, v in writes if r < len(rows)}
    want = [list(r) for r in rows]
    for (r, c), v in cells.items():
        want[r] = plain_with(want[r], c, v)

    changes = cache.patch(cells)

    got = cache.grids[PRODUCTS]
    assert [(row, [type(v) for v in row]) for row in got] == [
        (row, [type(v) for v in row]) for row in want
    ]
    assert {r: c.new for r, c in changes.items()} == {r: want[r] for r, _ in cells}


def plain_cell_text(value: Any) -> str:
    """cell_text before its fast path for str."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return unicodedata.normalize("NFKC", str(value)).strip()


cell_texts = st.text(alphabet=st.sampled_from(" \u3000\t\nａＡ１ｶﾞ①㍻Ⅻ-−abc商品\u00a0"), max_size=8)


@settings(deadline=None)
@given(st.lists(values | cell_texts, max_size=20))
def test_cell_text_is_the_plain_cell_text(cells: list[Any]) -> None:
    for value in cells:
        assert cell_text(value) == plain_cell_text(value)


@settings(deadline=None)
@given(st.lists(st.none() | cell_texts | st.integers() | st.floats() | st.booleans(), max_size=20))
def test_an_answer_cell_is_blank_exactly_when_its_text_is_empty(cells: list[Any]) -> None:
    """A commit's check reads a row's 商品コード once: "" where is_blank said blank."""
    for value in cells:
        assert (cell_text(value) == "") == is_blank(value)


def plain_fill(grid: Answer, data: list[dict[str, Any]]) -> None:
    """_fill before it put a row at a time: each cell by Answer.put."""
    for block in data:
        r0, c0 = block.get("startRow", 0), block.get("startColumn", 0)
        for i, row_data in enumerate(block.get("rowData", [])):
            for j, cell in enumerate(row_data.get("values", [])):
                value = entered(cell.get("userEnteredValue"))
                if value is not None:
                    grid.put(r0 + i, c0 + j, value)


entered_cells = st.one_of(
    st.just({}),
    st.just({"userEnteredFormat": {}}),
    st.builds(lambda v: {"userEnteredValue": {"stringValue": v}}, st.text(max_size=3)),
    st.builds(lambda v: {"userEnteredValue": {"numberValue": v}}, st.integers(-5, 5)),
    st.builds(lambda v: {"userEnteredValue": {"boolValue": v}}, st.booleans()),
)
grid_blocks = st.lists(
    st.fixed_dictionaries(
        {
            "startRow": st.integers(0, 6),
            "startColumn": st.integers(0, 6),
            "rowData": st.lists(
                st.one_of(
                    st.just({}),
                    st.fixed_dictionaries({"values": st.lists(entered_cells, max_size=5)}),
                ),
                max_size=4,
            ),
        }
    ),
    max_size=4,
)


@settings(deadline=None)
@given(grid_blocks, st.dictionaries(st.integers(0, 8), st.lists(st.integers(), max_size=3)))
def test_an_answer_filled_a_row_at_a_time_is_filled_cell_by_cell(
    data: list[dict[str, Any]], before: dict[int, list[Any]]
) -> None:
    got, want = (
        Answer({r: list(v) for r, v in before.items()}),
        Answer({r: list(v) for r, v in before.items()}),
    )
    _fill(got, data)
    plain_fill(want, data)
    assert got.rows == want.rows
    assert {r: list(map(type, v)) for r, v in got.rows.items()} == {
        r: list(map(type, v)) for r, v in want.rows.items()
    }


instants = st.sampled_from(
    [
        datetime(2026, 11, 27, 10, 0, 0, tzinfo=JST),
        datetime(2026, 11, 27, 1, 0, 0, tzinfo=UTC),  # the same instant as above
        datetime(2026, 11, 27, 10, 0, 15, tzinfo=JST),
        datetime(2026, 11, 26, 23, 59, 59, 999_999, tzinfo=JST),
    ]
)
sale_rows = st.builds(
    SaleLogRow,
    at=instants,
    mall=st.sampled_from(["rakuten", "yahoo", "unknown"]),
    order_id=st.just("o1"),
    line_id=st.just("1"),
    kind=st.sampled_from(list(SaleKind)),
    code=st.just("c"),
    sku=st.just("S"),
    qty=st.integers(1, 3),
    before=st.none() | st.integers(0, 9),
    after=st.none() | st.integers(0, 9),
    key=st.just("k"),
    applied=st.integers(0, 3),
)
op_rows = st.builds(
    OpLogRow,
    at=instants,
    kind=st.just("入荷"),
    sku=st.just("S"),
    field=st.just("在庫数"),
    before=st.just("1"),
    after=st.just("2"),
)


@settings(deadline=None)
@given(st.lists(sale_rows, max_size=8), st.lists(op_rows, max_size=8))
def test_a_commits_log_rows_are_the_rows_one_by_one(
    sales: list[SaleLogRow], ops: list[OpLogRow]
) -> None:
    label = load_template().mall_label
    assert log_rows(sales, ops, label) == (
        [sale_row(r, label) for r in sales],
        [op_row(r) for r in ops],
    )
