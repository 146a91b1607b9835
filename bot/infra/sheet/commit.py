"""What a commit writes where: the plan's cells located by row key, and read-back ranges.

Cells are located by 商品コード (商品マスタ) or fingerprint (入出庫) in the re-read made
just before the commit; each carries the key it is meant for, so the commit's answer
can be checked row by row (:mod:`bot.infra.sheet.repair`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import compress
from operator import eq, is_, itemgetter, ne
from typing import Any, cast

from bot.core.engine import Plan
from bot.core.words import say
from bot.infra.clock import format_jst
from bot.infra.sheet.cells import cell_data, cell_text, column_letter
from bot.infra.sheet.encoded import AnyRequest, column_json, one_cell, update_rows
from bot.infra.sheet.hot import row_runs
from bot.infra.sheet.parse_tabs import MovementsPrefix
from bot.infra.sheet.parsing import RowStatuses, SheetRead
from bot.infra.sheet.state import chunk_base, chunks
from bot.infra.sheet.tabs import MOVEMENTS, PRODUCTS, CellAt, Placed, Request
from bot.infra.sheet.values import spans, update_cells, vertical_runs

READ_BACK_COLUMNS = {PRODUCTS: ("sku", "stock", "status", "updated_at")}
"""Columns a commit asks back, per tab: 商品コード and the columns the bot writes; 入出庫
(not listed) gives back all its template columns, its fingerprint and 反映."""
GRID_FIELDS = (
    "sheets(properties/sheetId,data(startRow,startColumn,rowData/values/userEnteredValue))"
)
"""The cells of a Spreadsheet's grid data, and nothing else (values as entered)."""
READ_BACK_FIELDS = f"spreadsheetId,replies,updatedSpreadsheet({GRID_FIELDS})"
"""The only part of a commit's answer that is read: without this mask a 10,000-row
商品マスタ would come back with every cell's formats (tens of MB)."""


@dataclass(frozen=True, slots=True)
class StatusesShown:
    """What a landed commit left in 商品マスタ's 状態 cells, for the next commit.

    Every row of a 商品コード of ``product_rows``/``duplicate_rows`` shows the text
    ``statuses`` gives it, as far as the list ``token`` (:class:`RowStatuses`) reads
    them and for the rows the commit wrote, as the next parse reads them (it looks at
    every row the commit wrote).
    """

    statuses: Mapping[str, str]
    token: int
    product_rows: Mapping[str, int]
    duplicate_rows: Mapping[str, tuple[int, ...]]


def statuses_shown(plan: Plan, read: SheetRead) -> StatusesShown | None:
    """What the commit of ``plan`` on ``read`` leaves shown, once it landed whole."""
    rows = read.row_statuses
    if not isinstance(rows, RowStatuses):
        return None
    return StatusesShown(plan.statuses, rows.token, read.product_rows, read.duplicate_rows)


def _named(plan: Plan, read: SheetRead, shown: StatusesShown | None) -> frozenset[str] | None:
    """The 商品コード whose 状態 cells can differ from the plan's (None: any can).

    Those whose 状態 the plan changed since the last landed commit, and those whose rows
    the parses since then read again; any other shows what that commit left, which is
    the plan's text.
    """
    if shown is None:
        return None
    changed, rows = plan.changed_statuses, read.row_statuses
    if (
        changed is None
        or changed.since is not shown.statuses
        or read.product_rows is not shown.product_rows
        or read.duplicate_rows is not shown.duplicate_rows
        or not isinstance(rows, RowStatuses)
    ):
        return None
    if rows.token == shown.token:
        return changed.keys
    for token, skus in rows.since:
        if token == shown.token:
            return changed.keys | skus
    return None


def placed_cells(plan: Plan, read: SheetRead, shown: StatusesShown | None = None) -> Placed:
    """Where the plan's 在庫数/状態/最終更新 and 反映 cells go, and for which row key.

    ``shown``: what the last landed commit left in the 状態 cells; then only the 状態
    of the 商品コード that can differ from it are compared (:func:`_named`).
    """
    placed: Placed = {}
    products = read.headers.get(PRODUCTS)
    if products is None:  # 商品マスタ is missing: nothing to place there
        return _movement_marks(plan, read)
    stock_col = products.col("stock")
    status_col = products.col("status")
    updated_col = products.col("updated_at")
    for sku, value in plan.stock.items():
        row = read.product_rows.get(sku)
        if row is not None and stock_col is not None:
            placed[(PRODUCTS, row, stock_col)] = (sku, value)
    # One text for every touched row: the grid cache keeps what the bot wrote, and a
    # string per row would stay there per row (100,000 at 100k products, at cold start).
    updated = format_jst(plan.now)
    for sku in plan.touched:
        row = read.product_rows.get(sku)
        if row is not None and updated_col is not None:
            placed[(PRODUCTS, row, updated_col)] = (sku, updated)
    if status_col is not None:
        named = _named(plan, read, shown)
        if named is None:
            placed.update(_statuses(plan.statuses, read, status_col))
        else:
            every = plan.statuses
            placed.update(_statuses({s: every[s] for s in named if s in every}, read, status_col))
    placed.update(_movement_marks(plan, read))
    return placed


def _statuses(statuses: Mapping[str, str], read: SheetRead, status_col: int) -> Placed:
    """状態 cells that do not read as the plan's text (every product, or those named).

    Compared as read back (NFKC: 「（」 reads as 「(」), or it is rewritten each cycle.
    A 100,000-product shop has a handful of distinct texts: each is read once, and
    when every product has one row (no 商品コード on two rows) the 100,000 cells are
    compared in C (``map`` over the plan's texts and the sheet's). Their rows come from
    :func:`_rows_in_order` when it can tell them: 100,000 lookups by 商品コード took
    most of the time.
    """
    shown = _Shown()
    rows = _rows_in_order(statuses, read.product_rows)
    if rows is None:
        found = list(map(read.product_rows.get, statuses))
        if None in found:
            return _statuses_row_by_row(statuses, read, status_col, shown)
        rows = cast(list[int], found)
    wanted = map(shown.__getitem__, statuses.values())
    have = map(read.row_statuses.__getitem__, rows)
    return {
        (PRODUCTS, row, status_col): (sku, statuses[sku])
        for sku, row in compress(zip(statuses, rows, strict=True), map(ne, have, wanted))
    }


class _Shown(dict[str, str]):
    """A 状態 text → the text a read shows for it (``cell_text``), each worked out once."""

    def __missing__(self, text: str) -> str:
        shown = self[text] = cell_text(text)
        return shown


def _rows_in_order(
    statuses: Mapping[str, str], product_rows: Mapping[str, int]
) -> Collection[int] | None:
    """The grid row of each of ``statuses``' 商品コード in its order, without a lookup each.

    The plan lists 状態 for the sheet's 商品コード in the order the read found them
    (:attr:`SheetRead.product_rows`, each on one row): then the rows are that map's
    values as they stand. None when the two do not list the same 商品コード (the same
    objects, compared in C) in the same order (a 商品コード on two rows, an invalid
    one): look each up.
    """
    if len(statuses) != len(product_rows) or not all(map(is_, statuses, product_rows)):
        return None
    return product_rows.values()


def _statuses_row_by_row(
    statuses: Mapping[str, str], read: SheetRead, status_col: int, shown: _Shown
) -> Placed:
    """:func:`_statuses` when some 商品コード sits on several rows (each row gets its text)."""
    placed: Placed = {}
    single, several = read.product_rows, read.duplicate_rows
    on_sheet = read.row_statuses  # by grid row, as long as the grid these rows are in
    for sku, status in statuses.items():
        want = shown[status]
        first = single.get(sku)
        for row in (first,) if first is not None else several.get(sku, ()):
            if on_sheet[row] != want:
                placed[(PRODUCTS, row, status_col)] = (sku, status)
    return placed


def _movement_marks(plan: Plan, read: SheetRead) -> Placed:
    """入出庫 反映 cells: 済 for applied rows, the reason for rows that cannot be."""
    placed: Placed = {}
    header = read.headers.get(MOVEMENTS)  # none while the tab is missing
    mark_col = header.col("applied") if header is not None else None
    if mark_col is None:
        return placed
    wanted = {
        key: say("sheet.movement_error", message=p.message)
        for key, p in read.movement_problems.items()
    }
    wanted.update(plan.movement_marks)
    for key, text in wanted.items():
        row = read.movement_rows.get(key)
        if row is not None and read.movement_mark_at(row) != cell_text(text):
            placed[(MOVEMENTS, row, mark_col)] = (key, text)
    return placed


def cell_requests(sheet_ids: Mapping[str, int], cells: Mapping[CellAt, Any]) -> list[Request]:
    """The requests writing ``cells`` (updateCells in vertical runs, 商品マスタ first).

    Grouped by tab and column in one pass; at 100k a commit's cells are a thousand rows
    apart, so most runs are one cell, whose request is built as it is.
    """
    reqs: list[Request] = []
    for sheet_id, col, start, run in _runs(sheet_ids, cells.items()):
        if len(run) == 1:
            reqs.append(_one_cell(sheet_id, start, col, run[0]))
        else:
            reqs.append(update_cells(sheet_id, start, col, [[v] for v in run]))
    return reqs


def encoded_cell_requests(sheet_ids: Mapping[str, int], placed: Placed) -> list[AnyRequest]:
    """:func:`cell_requests` of ``placed``'s values, each one-cell request as JSON text.

    The commit's 1,831 one-cell updateCells at 100k (:mod:`bot.infra.sheet.encoded`);
    a run of several cells (rare there) stays a plain request. A column with no two
    cells on adjacent rows (the usual one) is written a column at a time
    (:func:`update_rows` of :func:`column_json`): the texts of 1,850 cells took 1.13 ms
    a cell at a time, 0.67 ms so (``time.thread_time``, best of 15, a loaded machine).
    """
    reqs: list[AnyRequest] = []
    cells = zip(placed, map(itemgetter(1), placed.values()), strict=True)
    for sheet_id, col, items in _columns(sheet_ids, cells):
        rows = list(map(itemgetter(0), items))
        if not any(map(eq, rows[1:], map((1).__add__, rows))):  # every run one cell
            values = list(map(itemgetter(1), items))
            reqs.extend(update_rows(sheet_id, col, rows, column_json(values)))
            continue
        for start, run in vertical_runs(items):
            if len(run) == 1:
                reqs.append(one_cell(sheet_id, start, col, run[0]))
            else:
                reqs.append(update_cells(sheet_id, start, col, [[v] for v in run]))
    return reqs


def _runs(
    sheet_ids: Mapping[str, int], cells: Iterable[tuple[CellAt, Any]]
) -> Iterator[tuple[int, int, int, list[Any]]]:
    """(sheet id, column, first row, values) of ``cells``' vertical runs, 商品マスタ first."""
    for sheet_id, col, items in _columns(sheet_ids, cells):
        for start, run in vertical_runs(items):
            yield sheet_id, col, start, run


def _columns(
    sheet_ids: Mapping[str, int], cells: Iterable[tuple[CellAt, Any]]
) -> Iterator[tuple[int, int, list[tuple[int, Any]]]]:
    """(sheet id, column, (row, value) sorted by row) of ``cells``' columns, 商品マスタ first."""
    by_tab: dict[str, dict[int, list[tuple[int, Any]]]] = {PRODUCTS: {}, MOVEMENTS: {}}
    for (tab, row, col), value in cells:
        columns = by_tab.get(tab)
        if columns is not None:
            columns.setdefault(col, []).append((row, value))
    for tab, columns in by_tab.items():
        sheet_id = sheet_ids[tab] if columns else 0
        for col, items in sorted(columns.items()):
            items.sort()
            yield sheet_id, col, items


def _one_cell(sheet_id: int, row: int, col: int, value: Any) -> Request:
    """:func:`update_cells` of one cell, as it builds it."""
    return {
        "updateCells": {
            "start": {"sheetId": sheet_id, "rowIndex": row, "columnIndex": col},
            "rows": [{"values": [cell_data(value)]}],
            "fields": "userEnteredValue",
        }
    }


def state_rows(read: SheetRead, state_values: Mapping[str, str], commit_id: str) -> dict[str, str]:
    """_state after a commit: the worker's values (split into chunks), the commit marker."""
    state = {k: v for k, v in read.state.items() if chunk_base(k) not in state_values}
    for state_key, text in state_values.items():
        state.update(chunks(state_key, text))
    state["last_commit"] = commit_id
    state.setdefault("last_record", "")  # a fixed row for record()'s own marker
    return state


def read_back_columns(read: SheetRead, tabs: Iterable[str]) -> dict[str, list[int]]:
    """Columns locating the cells written to ``tabs``: keys and bot-written columns."""
    out: dict[str, list[int]] = {}
    for tab in (PRODUCTS, MOVEMENTS):
        if tab not in tabs:
            continue
        header = read.headers[tab]
        keys = READ_BACK_COLUMNS.get(tab) or [c.key for c in header.tab.columns]
        out[tab] = sorted({c for k in keys if (c := header.col(k)) is not None})
    return out


def column_ranges(
    whole: Callable[[str], str],
    columns: Mapping[str, Sequence[int]],
    rows: Mapping[str, Iterable[int]] | None = None,
    keys: Mapping[str, int] | None = None,
) -> list[str]:
    """A1 ranges of ``columns``, adjacent columns merged (``'商品マスタ'!O:P``).

    A tab in ``rows`` is asked only on its header row and those grid rows
    (``'商品マスタ'!O1:P1``, ``'商品マスタ'!O120:P122``): a commit checks the rows it
    wrote, not the whole columns of a 100,000-row tab. A tab in ``keys`` as well is
    asked those rows' key column only (``'商品マスタ'!A120:A122``), its header row
    still in every column: see :func:`row_key_columns`.
    """
    ranges: list[str] = []
    for tab, cols in columns.items():
        title = whole(tab)
        runs = None if rows is None or tab not in rows else row_runs(r for r in rows[tab] if r > 0)
        key = None if keys is None or runs is None else keys.get(tab)
        for first, last in spans(cols):
            a, b = column_letter(first), column_letter(last)
            if runs is None:
                ranges.append(f"{title}!{a}:{b}")
                continue
            ranges.append(f"{title}!{a}1:{b}1")
            if key is None:
                ranges.extend([f"{title}!{a}{top + 1}:{b}{bottom + 1}" for top, bottom in runs])
        if key is not None and runs:
            k = column_letter(key)
            ranges.extend([f"{title}!{k}{top + 1}:{k}{bottom + 1}" for top, bottom in runs])
    return ranges


def row_key_columns(read: SheetRead) -> dict[str, int]:
    """The column a commit's answer needs on 商品マスタ's written rows: 商品コード.

    Checking a commit (:class:`bot.infra.sheet.repair.RowRepair`) compares each written
    row's key with the one it was meant for; the values only matter once a row is
    found moved, and then the repair reads the columns whole before it writes. So
    the answer carries the header row in every read-back column (columns moved are
    still told) and the written rows in the key column only: at 100k products a
    third of the answer, and of the ranges asked.
    """
    header = read.headers.get(PRODUCTS)
    col = header.col("sku") if header is not None else None
    return {} if col is None else {PRODUCTS: col}


COSMETIC_IN_COMMIT = 5_000
"""A commit carries at most this many 状態/最終更新 cells; more (a cold start of a big
catalogue) follow in their own requests, so the atomic commit stays small."""


def cosmetic_apart(placed: Placed, read: SheetRead) -> tuple[Placed, Placed]:
    """The commit's cells, and the 状態/最終更新 cells that wait for after it."""
    header = read.headers.get(PRODUCTS)
    if header is None or len(placed) <= COSMETIC_IN_COMMIT:  # (those apart are of placed)
        return placed, {}
    own = {c for k in ("status", "updated_at") if (c := header.col(k)) is not None}
    later = {cell: v for cell, v in placed.items() if cell[0] == PRODUCTS and cell[2] in own}
    if len(later) <= COSMETIC_IN_COMMIT:
        return placed, {}
    return {cell: v for cell, v in placed.items() if cell not in later}, later


def narrow_movements(prefix: MovementsPrefix | None, placed: Placed) -> dict[str, range]:
    """入出庫's rows a commit's answer carries: from the settled top's last row down.

    A mark is checked by its row's fingerprint, which counts identical rows above it;
    the settled top's counts are known (``prefix``), so the answer need not carry the
    top (an hour of a busy shop's 入出庫 is tens of thousands of rows). {} when the
    whole tab must come back: no settled top yet, or the commit writes into it.
    """
    rows = [r for (tab, r, _) in placed if tab == MOVEMENTS]
    if prefix is None or prefix.rows <= 2 or not rows or prefix.covers(rows):
        return {}
    return {MOVEMENTS: range(prefix.rows - 1, max(rows) + 1)}
