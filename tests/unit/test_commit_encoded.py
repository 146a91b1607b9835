"""The commit's requests written as JSON text are the plain requests, byte for byte.

(And the commit's other fast forms of this change: cells kept apart, cells counted.)

:mod:`bot.infra.sheet.encoded` writes the commit's one-cell updateCells and its log
appendCells as text (issue 10 item 3); each property holds that text, and the body that
carries it, to ``to_json`` of the plain request built as before (``cell_data``,
:func:`cell_requests`, :meth:`LogTabs.layout` with :func:`append_cells`). The pin that a
usual commit sends them is in tests/sheet/test_commit_fast.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import PydanticSerializationError, to_json

from bot.core.domain import Snapshot
from bot.infra.sheet import commit
from bot.infra.sheet.cells import cell_data
from bot.infra.sheet.commit import cell_requests, encoded_cell_requests
from bot.infra.sheet.encoded import Encoded, body_bytes, cell_json, plain_body
from bot.infra.sheet.headers import header_map
from bot.infra.sheet.hot import grid_cells
from bot.infra.sheet.logs import LogTabs, append_cells
from bot.infra.sheet.parsing import SheetRead
from bot.infra.sheet.spec import load_template
from bot.infra.sheet.tabs import MOVEMENTS, OPS_LOG, PRODUCTS, SALES_LOG, SETS, Placed


class Kind(StrEnum):
    SALE = "販売"


values = (
    st.text()
    | st.sampled_from(["", "済", "楽天", 'a"b\\c', "\x00\x1f\x7f\u2028", "=SUM(A1)"])
    | st.integers()
    | st.integers(-(2**80), 2**80)
    | st.floats(allow_nan=False)
    | st.booleans()
    | st.none()
    | st.just(Kind.SALE)
    | st.datetimes(timezones=st.just(UTC))
)


@settings(deadline=None)  # (no test asserts a timing)
@given(values)
def test_a_cell_as_text_is_the_encoded_cell_data(value: Any) -> None:
    assert cell_json(value) == to_json(cell_data(value)).decode()


@settings(deadline=None)  # (no test asserts a timing)
@given(
    st.dictionaries(
        st.tuples(
            st.sampled_from([PRODUCTS, MOVEMENTS, SETS]), st.integers(1, 12), st.integers(0, 3)
        ),
        values,
        max_size=20,
    )
)
def test_cell_requests_as_text_are_the_plain_requests_on_the_wire(cells: dict[Any, Any]) -> None:
    ids = {PRODUCTS: 7, MOVEMENTS: 1_234_567_890, SETS: 11}
    placed = {cell: ("key", value) for cell, value in cells.items()}
    got, want = encoded_cell_requests(ids, placed), cell_requests(ids, cells)
    assert [r.value() if isinstance(r, Encoded) else r for r in got] == want
    extra = {"includeSpreadsheetInResponse": True, "responseRanges": ["'商品マスタ'!A1:A1"]}
    assert body_bytes({"requests": got, **extra}) == to_json({"requests": want, **extra})
    assert plain_body({"requests": got, **extra}) == {"requests": want, **extra}


@settings(deadline=None)  # (no test asserts a timing)
@given(
    st.lists(
        st.fixed_dictionaries(
            {"at": values, "kind": values, "sku": values, "qty": values},
            optional={"memo": values, "nope": values},
        ),
        max_size=6,
    ),
    st.permutations(range(7)),
    st.integers(0, 7),
)
def test_log_rows_appended_as_text_are_the_plain_append(
    rows: list[dict[str, Any]], order: list[int], keep: int
) -> None:
    """Any header order, template columns missing from it (put back) or not."""
    tab = load_template().tab(OPS_LOG)
    titles = [c.header for c in tab.columns]
    header = header_map(tab, [titles[i] for i in order[:keep] if i < len(titles)])
    logs = LogTabs(headers={OPS_LOG: header})

    got = logs.append(tab, 3, rows, None, lambda: 5)

    head, row_data = LogTabs.layout(tab, 3, rows, header, lambda: 5)
    want = [*head, append_cells(3, row_data)] if rows else []
    assert [r.value() if isinstance(r, Encoded) else r for r in got] == want
    assert body_bytes({"requests": got}) == to_json({"requests": want})


def test_a_log_append_is_one_text_after_its_plain_requests() -> None:
    """The appendCells is the text; a trim and header put-back stay plain requests."""
    tab = load_template().tab(SALES_LOG)
    header = header_map(tab, [c.header for c in tab.columns][1:])  # 日時 deleted by staff
    logs = LogTabs(retention={SALES_LOG: (10, None)}, rows={SALES_LOG: 40}, headers={})
    logs.headers[SALES_LOG] = header
    rows = [{"at": "2026-11-23 09:00:00", "sku": "A", "qty": -1}] * 3

    got = logs.append(tab, 5, rows, None, lambda: 12)

    assert [type(r) for r in got] == [dict, dict, Encoded]
    assert "deleteDimension" in got[0] and "updateCells" in got[1]
    assert got[2].value()["appendCells"]["rows"][0]["values"][-1] == cell_data(
        "2026-11-23 09:00:00"
    )


def test_a_body_that_cannot_be_utf8_is_refused_as_the_plain_body_was() -> None:
    lone = "\ud800"
    plain = {"requests": cell_requests({PRODUCTS: 1}, {(PRODUCTS, 2, 3): lone})}
    with pytest.raises(PydanticSerializationError):
        to_json(plain)
    with pytest.raises(PydanticSerializationError):
        body_bytes(
            {"requests": encoded_cell_requests({PRODUCTS: 1}, {(PRODUCTS, 2, 3): ("A", lone)})}
        )


def test_a_body_without_text_requests_is_encoded_whole() -> None:
    body = {"requests": [{"deleteDimension": {"range": {"sheetId": 1}}}], "x": datetime(2026, 1, 1)}
    assert body_bytes(body) == to_json(body)


def plain_cosmetic_apart(placed: Placed, read: SheetRead, limit: int) -> tuple[Placed, Placed]:
    """cosmetic_apart as it was: the 状態/最終更新 cells gathered before their count is known."""
    header = read.headers.get(PRODUCTS)
    if header is None:
        return placed, {}
    own = {c for k in ("status", "updated_at") if (c := header.col(k)) is not None}
    later = {cell: v for cell, v in placed.items() if cell[0] == PRODUCTS and cell[2] in own}
    if len(later) <= limit:
        return placed, {}
    return {cell: v for cell, v in placed.items() if cell not in later}, later


@settings(deadline=None)  # (no test asserts a timing)
@given(
    st.dictionaries(
        st.tuples(st.sampled_from([PRODUCTS, MOVEMENTS]), st.integers(1, 9), st.integers(0, 12)),
        st.tuples(st.sampled_from(["A", "B", None]), values),
        max_size=30,
    ),
    st.integers(0, 12),
    st.booleans(),
)
def test_commit_cells_kept_apart_are_those_kept_apart_plainly(
    placed: Placed, limit: int, header: bool
) -> None:
    tab = load_template().tab(PRODUCTS)
    headers = {PRODUCTS: header_map(tab, [c.header for c in tab.columns])} if header else {}
    read = SheetRead(Snapshot(), headers=headers)
    kept = commit.COSMETIC_IN_COMMIT
    commit.COSMETIC_IN_COMMIT = limit
    try:
        got = commit.cosmetic_apart(placed, read)
    finally:
        commit.COSMETIC_IN_COMMIT = kept
    assert got == plain_cosmetic_apart(placed, read, limit)


def test_a_usual_commit_keeps_no_cells_apart_without_looking_at_them() -> None:
    """Fewer cells than the limit: the commit's own dict back, no pass over its cells."""
    tab = load_template().tab(PRODUCTS)
    read = SheetRead(
        Snapshot(), headers={PRODUCTS: header_map(tab, [c.header for c in tab.columns])}
    )
    placed: Placed = {(PRODUCTS, r, 3): ("A", r) for r in range(1, 1000)}
    now, later = commit.cosmetic_apart(placed, read)
    assert now is placed and later == {}


@settings(deadline=None)  # (no test asserts a timing)
@given(st.lists(st.lists(st.lists(values, max_size=4), max_size=4), max_size=4))
def test_grid_cells_counted_in_c_are_counted_plainly(grids: list[list[list[Any]]]) -> None:
    assert grid_cells(grids) == sum(len(line) for grid in grids for line in grid)
