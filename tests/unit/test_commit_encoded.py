"""The commit's fast forms give what their plain forms gave (issue 10 item 3, part two).

:mod:`bot.infra.sheet.encoded` writes the commit's one-cell updateCells and its log
appendCells as text; each property holds that text, and the body that carries it, to
``to_json`` of the plain request built as before (``cell_data``, :func:`cell_requests`,
:meth:`LogTabs.layout` with :func:`append_cells`). The others hold the cells kept apart,
the cells counted, the check's 入出庫 keys taken from the re-read and the ledger's
entry text to their plain forms. The pins that a usual commit takes them are in
tests/sheet/test_commit_fast.py (and here, for the kept-apart cells and the keys).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic_core import PydanticSerializationError, to_json

from bot.core.domain import Movement, Snapshot
from bot.infra.sheet import commit
from bot.infra.sheet.cells import cell_data
from bot.infra.sheet.commit import cell_requests, encoded_cell_requests
from bot.infra.sheet.encoded import (
    Encoded,
    body_bytes,
    cell_json,
    column_json,
    row_json,
)
from bot.infra.sheet.headers import header_map
from bot.infra.sheet.hot import grid_cells
from bot.infra.sheet.logs import LogTabs, _lines, _row_texts, append_cells
from bot.infra.sheet.movement_ledger import _entry_text
from bot.infra.sheet.parse_tabs import MovementsPrefix
from bot.infra.sheet.parsing import SheetRead
from bot.infra.sheet.repair import Answer, RowRepair
from bot.infra.sheet.spec import load_template
from bot.infra.sheet.tabs import MOVEMENTS, OPS_LOG, PRODUCTS, SALES_LOG, SETS, Placed
from tests.unit.test_movements_prefix import HEAD, contents, parse, tabs


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


@settings(deadline=None)  # (no test asserts a timing)
@given(
    st.lists(st.text(max_size=3), max_size=12)
    | st.lists(st.sampled_from(["", "済", 'a"b', "\u2028"]), max_size=12)
    | st.lists(st.integers(-3, 3) | st.integers(), max_size=12)
    | st.lists(values, max_size=12)
)
def test_a_column_as_text_is_each_cell_as_text(column: list[Any]) -> None:
    """Text, numbers (repeated or not) and anything else: the cells' own texts."""
    assert list(column_json(column)) == list(map(cell_json, column))


@settings(deadline=None)  # (no test asserts a timing)
@given(
    st.lists(st.sampled_from(["at", "kind", "sku", "qty", "memo"]), unique=True),
    st.dictionaries(st.sampled_from(["at", "kind", "sku", "qty", "x"]), st.integers(0, 6)),
    st.integers(0, 7),
    st.data(),
)
def test_log_rows_made_a_column_at_a_time_are_the_rows_made_one_by_one(
    keys: list[str], columns: dict[str, int], width: int, data: st.DataObject
) -> None:
    """Rows of one set of keys (or not), columns shared, unknown or past the width."""
    row = st.fixed_dictionaries({k: values | st.sampled_from(["楽天", 1]) for k in keys})
    rows = data.draw(st.lists(row | st.dictionaries(st.sampled_from(keys or ["at"]), values)))
    assume(all(c < width for c in columns.values()))

    assert list(_row_texts(rows, columns, width)) == list(
        map(row_json, _lines(rows, columns, width))
    )


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
    assert body_bytes([1, "a"]) == to_json([1, "a"])  # type: ignore[arg-type]  # (any JSON)


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


@settings(max_examples=300, deadline=None)  # (no test asserts a timing)
@given(grid=tabs(), data=st.data())
def test_movement_keys_kept_from_the_reread_are_those_a_parse_gives(
    grid: list[list[Any]], data: st.DataObject
) -> None:
    """A commit's check of its 反映 cells: rows as re-read, or edited, moved, blanked."""
    read = parse(grid)
    prefix = read.movements_prefix
    assume(prefix is not None and prefix.rows > 2)
    assert prefix is not None
    edge, mark = prefix.rows - 1, HEAD.index("反映")
    below = sorted(r for r in read.movement_rows.values() if r > edge)
    marked = data.draw(st.lists(st.sampled_from(below), unique=True) if below else st.just([]))
    placed: Placed = {}
    for key, row in read.movement_rows.items():
        if row in marked:
            placed[(MOVEMENTS, row, mark)] = (key, "済 new")
    if data.draw(st.booleans(), label="a cell placed by another key"):
        stray = data.draw(st.integers(edge + 1, len(grid) + 1), label="stray row")
        placed[(MOVEMENTS, stray, mark)] = (data.draw(st.sampled_from(["x-0", None])), "済")
    # The answer: the header, the top's last row, the rows below (as _fill gives them).
    rows = {0: list(HEAD), edge: list(grid[edge])}
    tail = [[None if c == "" else c for c in r] for r in grid[edge + 1 :]]
    for _ in range(data.draw(st.integers(0, 2), label="edits")):
        if tail:
            i = data.draw(st.integers(0, len(tail) - 1), label="row edited")
            tail[i] = list(data.draw(contents, label="its cells"))
    if len(tail) > 1 and data.draw(st.booleans(), label="two rows swapped"):
        tail[0], tail[-1] = tail[-1], tail[0]
    for i, line in enumerate(tail, edge + 1):
        if i in marked:
            line.extend([None] * (mark + 1 - len(line)))
            line[mark] = "済 new"
        rows[i] = line
    repair = RowRepair(read, {MOVEMENTS: list(range(6))}, {MOVEMENTS: 9}, parse_with, {}, prefix)

    got = repair._movement_keys(Answer(rows), True, placed)
    want = repair._movement_keys(Answer(rows), True)

    assert {r: got.get(r) for _, r, _ in placed} == {r: want.get(r) for _, r, _ in placed}


def parse_with(values: Mapping[str, list[list[Any]]], prefix: MovementsPrefix | None) -> SheetRead:
    """The gateway's parser as RowRepair is given it (a 入出庫 grid, its settled top)."""
    return parse(values[MOVEMENTS], prefix)


def test_a_usual_commit_check_takes_its_movement_keys_from_the_reread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The rows below the top as re-read: no parse of them, the placed keys as found."""
    grid = [list(HEAD), ["2026-11-23", "A", 1, "入荷", "", "済 x #M1"]]
    grid += [["2026-11-23", "A", 1, "入荷", "", "済 x #M2"], ["2026-11-23", "B", 2]]
    grid += [["2026-11-23", "A", 1], ["2026-11-23", "B", 2]]
    read = parse(grid)
    prefix = read.movements_prefix
    assert prefix is not None and prefix.rows == 3
    placed: Placed = {(MOVEMENTS, row, 5): (key, "済") for key, row in read.movement_rows.items()}
    parses: list[Any] = []
    repair = RowRepair(read, {}, {}, lambda *a: parses.append(a) or parse_with(*a), placed, prefix)
    rows = {0: list(HEAD), 2: list(grid[2]), **{i: [*grid[i], None, None, "済"] for i in (3, 4, 5)}}

    keys = repair._movement_keys(Answer(rows), True, placed)

    assert keys == {row: key for (_, row, _), (key, _) in placed.items() if row > 2}
    assert len(keys) == 3 and parses == []


def plain_entry_text(m: Movement) -> str:
    """movement_ledger._entry_text as it was: ``json.dumps`` of each part."""
    entry = [m.sku, m.qty, m.fingerprint, m.at]
    value = json.dumps(entry, ensure_ascii=False, separators=(",", ":"))
    return f"{json.dumps(m.key, ensure_ascii=False)}:{value}"


@settings(deadline=None)  # (no test asserts a timing)
@given(st.text(), st.text(), st.integers(), st.text(), st.text())
def test_a_ledger_entry_is_written_as_json_dumps_wrote_it(
    key: str, sku: str, qty: int, fingerprint: str, at: str
) -> None:
    m = Movement(key=key, sku=sku, qty=qty, fingerprint=fingerprint, at=at)
    assert _entry_text(m) == plain_entry_text(m)


def plain_body(body: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` with each :class:`Encoded` request as the plain request it encodes."""
    out = dict(body)
    reqs = out.get("requests")
    if isinstance(reqs, list):
        out["requests"] = [r.value() if isinstance(r, Encoded) else r for r in reqs]
    return out
