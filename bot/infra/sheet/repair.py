"""Checking a commit against its answer, and putting cells back on rows staff moved.

Sheets v4 has no compare-and-set (google-sheets.md §2) and updateCells addresses rows
by position, taken from the re-read just before the commit. The commit's answer carries
the key columns as it left them; :class:`RowRepair` compares each written cell's row
with the key it was meant for and works out the cells that put it right. The gateway
sends them (:meth:`bot.infra.sheet.gateway.SheetGateway._repair_misplaced`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import repeat
from operator import methodcaller
from typing import Any, cast

from bot.infra.sheet.cells import cell_text, is_formula
from bot.infra.sheet.client import CommitOutcomeUnknown, SheetError
from bot.infra.sheet.headers import header_map
from bot.infra.sheet.parse_tabs import MovementsPrefix
from bot.infra.sheet.parsing import SheetRead
from bot.infra.sheet.spec import base_template
from bot.infra.sheet.tabs import MOVEMENTS, PRODUCTS, CellAt, Placed
from bot.infra.sheet.values import entered, grid_at, same, same_row, value_at, without

log = logging.getLogger(__name__)


@dataclass
class Answer:
    """A tab as a commit's answer shows it: rows by grid row, only those it holds.

    A commit's answer carries the rows it wrote, scattered over 100,000; a dense grid
    would be 100,000 lists each cycle for a few hundred rows.
    """

    rows: dict[int, list[Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, grid: Sequence[Sequence[Any]]) -> Answer:
        """A whole grid (the re-read) as an answer."""
        return cls({i: list(row) for i, row in enumerate(grid)})

    def at(self, row: int, col: int) -> Any:
        line = self.rows.get(row)
        return None if line is None else value_at(line, col)

    def height(self) -> int:
        return max(self.rows, default=-1) + 1

    def dense(self) -> list[list[Any]]:
        return [self.rows.get(i, []) for i in range(self.height())]

    def put(self, row: int, col: int, value: Any) -> None:
        line = self.rows.setdefault(row, [])
        if len(line) <= col:
            line.extend([None] * (col + 1 - len(line)))
        line[col] = value


Grids = dict[str, Answer]
"""Tab key → its rows (header first), as a commit's answer gives them."""
Parse = Callable[[Mapping[str, list[list[Any]]], MovementsPrefix | None], SheetRead]
"""The gateway's parser (its malls and code canonicalisers), given 入出庫's settled top."""


@dataclass
class RowRepair:
    """The cells one commit meant to write, and the fixes when rows moved under them."""

    read: SheetRead
    """The re-read the commit was built from."""
    read_back: Mapping[str, Sequence[int]]
    """Tab key → the columns the commit's answer carries."""
    sheet_ids: Mapping[str, int]
    parse: Parse
    placed: Placed
    """The commit's cells: where → (row key, value)."""
    prefix: MovementsPrefix | None = None
    """入出庫's settled top as the re-read saw it, when the answer holds 入出庫 from its
    last row down only (:func:`bot.infra.sheet.commit.narrow_movements`)."""
    wanted: dict[tuple[str, str, int], Any] = field(default_factory=dict)
    """(tab, row key, column) → the value that belongs on that key's row."""
    wrong: list[CellAt] = field(default_factory=list)
    """Cells of the last check that landed on a row holding another key."""
    keys: dict[str, dict[int, str]] = field(default_factory=dict)
    """Tab → grid row → key, as the last checked answer shows them."""
    _before: dict[str, dict[str, list[int]]] | None = None

    _placed_wanted: bool = False
    """Whether :attr:`wanted` holds :attr:`placed` yet (only a repair needs it: a commit
    whose rows stayed put, the usual cycle, never builds it)."""

    def fixes(self, reply: Mapping[str, Any], placed: Placed) -> dict[CellAt, Any]:
        """The cells that put ``placed`` right after ``reply``; {} when nothing moved."""
        grids = self._checked(reply, placed)
        if grids is None or not self.wrong:
            return {}
        self.keys = self._row_keys(grids)  # every row: where the keys went
        return self._fixes(grids)

    def misplaced(self, reply: Mapping[str, Any], placed: Placed) -> bool:
        """Whether a cell of ``placed`` landed on a row holding another key.

        Needs only the keys of the written rows in ``reply`` (a commit's answer carries
        no more: :func:`bot.infra.sheet.commit.row_key_columns`).
        """
        return self._checked(reply, placed) is not None and bool(self.wrong)

    def _checked(self, reply: Mapping[str, Any], placed: Placed) -> Grids | None:
        """``reply`` as grids, :attr:`wrong` set from it; None when headers differ."""
        self.wrong = []
        grids = self._grids_after(reply)
        if grids is None:
            log.error("commit not verified: its answer shows other headers (columns moved?)")
            return None
        written = {row for tab, row, _ in placed if tab == PRODUCTS}
        keys = self._row_keys(grids, written, placed)
        self.wrong = [
            cell for cell, (key, _) in placed.items() if keys[cell[0]].get(cell[1]) != key
        ]
        return grids

    def placed_after(self, fixes: Mapping[CellAt, Any]) -> Placed:
        """What a repair wrote, keyed like a commit's cells (for checking its answer)."""
        return {cell: (self.keys[cell[0]].get(cell[1]), v) for cell, v in fixes.items()}

    def _fixes(self, grids: Grids) -> dict[CellAt, Any]:
        """Every intended value on the row now holding its key; a stray write undone."""
        if not self._placed_wanted:
            self._placed_wanted = True
            for (tab, _, col), (key, value) in self.placed.items():
                if key is not None:
                    self.wanted[(tab, key, col)] = value
        rows_of = _rows_by_key(self.keys)
        if self._before is None:
            raw = {tab: Answer.of(grid) for tab, grid in self.read.raw.items()}
            self._before = _rows_by_key(self._row_keys(raw))
        fixes: dict[CellAt, Any] = {}
        for tab, row, col in self.wrong:
            key = self.keys[tab].get(row)
            if key is None:  # a blank row staff inserted: nothing of ours belongs there
                fixes[(tab, row, col)] = None
            else:
                rows = self._before[tab].get(key, [])
                was = _value_before(self.read.raw.get(tab) or [], rows, col)
                self.wanted.setdefault((tab, key, col), was)
        for (tab, key, col), value in self.wanted.items():
            for row in rows_of[tab].get(key, []):
                if not same(grids[tab].at(row, col), value):
                    fixes[(tab, row, col)] = value
        return fixes

    def _grids_after(self, reply: Mapping[str, Any]) -> Grids | None:
        """The read-back columns as value grids under the re-read's header rows.

        None when a header cell differs from the re-read (staff moved columns: the
        rows cannot be checked).
        """
        tab_of = {self.sheet_ids[tab]: tab for tab in self.read_back}
        grids: Grids = {tab: Answer() for tab in self.read_back}
        for sheet in reply.get("updatedSpreadsheet", {}).get("sheets", []):
            tab = tab_of.get(sheet.get("properties", {}).get("sheetId", 0))
            if tab is not None:
                _fill(grids[tab], sheet.get("data", []))
        for tab, grid in grids.items():
            header = self.read.raw[tab][0] if self.read.raw.get(tab) else []
            if any(
                cell_text(grid.at(0, c)) != cell_text(value_at(header, c))
                for c in self.read_back[tab]
            ):
                return None
            grid.rows[0] = list(header)
        return grids

    def _row_keys(
        self,
        grids: Mapping[str, Answer],
        product_rows: Collection[int] | None = None,
        placed: Placed | None = None,
    ) -> dict[str, dict[int, str]]:
        """Grid row → the key the commit locates it by: 商品コード, or 入出庫's fingerprint.

        The 商品コード is read as the parser reads it; the fingerprint comes from layout's
        own parser, so a row is recognised exactly as the re-read recognised it. 反映 is
        blanked first: the parser passes over rows marked
        済, and the mark is no part of the fingerprint. ``product_rows`` limits
        商品マスタ to those rows (checking a commit needs only the rows it wrote, and a
        10,000-row parse is not free); 入出庫 is always whole, as a fingerprint counts
        the identical rows above it. With ``placed`` (checking a commit) 入出庫's keys
        may be given for ``placed``'s rows only (:meth:`_kept_keys`).
        """
        keys: dict[str, dict[int, str]] = {PRODUCTS: {}, MOVEMENTS: {}}
        if PRODUCTS in grids:
            keys[PRODUCTS] = self._product_keys(grids[PRODUCTS], product_rows)
        if MOVEMENTS in grids:
            written_only = product_rows is not None
            keys[MOVEMENTS] = self._movement_keys(grids[MOVEMENTS], written_only, placed)
        return keys

    def _movement_keys(
        self, grid: Answer, written_only: bool = False, placed: Placed | None = None
    ) -> dict[int, str]:
        """入出庫 grid row → fingerprint, 反映 blanked (see :meth:`_row_keys`).

        An answer holding 入出庫 from the settled top's last row down is parsed on
        from that top (its fingerprint counts kept): when that row is not as the
        re-read saw it, rows moved above it and nothing can be told ({}: every mark
        counts as misplaced, and the caller reads the tab whole). ``written_only``
        (checking a commit: its marks are all below the top) leaves the top's own rows
        out, which a busy day counts in tens of thousands.
        """
        header = grid.rows.get(0, [])
        mark = header_map(base_template().tab(MOVEMENTS), header).col("applied")
        prefix, edge = self.prefix, self.prefix.rows - 1 if self.prefix else 0
        if prefix is not None and edge > 1 and not any(0 < r < edge for r in grid.rows):
            if not same_row(grid.rows.get(edge, []), prefix.cells[-1]):
                return {}
            tail = [without(grid.rows.get(i, []), mark) for i in range(edge + 1, grid.height())]
            kept = None if placed is None else self._kept_keys(tail, edge + 1, mark, placed)
            if kept is not None:
                return kept
            if written_only:  # its fingerprint counts, none of its rows
                prefix = replace(prefix, movement_rows={}, marks={}, done=())
            parsed = self.parse({MOVEMENTS: after_top(prefix, tail)}, prefix)
        else:
            rows = grid.dense()
            parsed = self.parse({MOVEMENTS: [header, *(without(r, mark) for r in rows[1:])]}, None)
        return {row: key for key, row in parsed.movement_rows.items()}

    def _kept_keys(
        self, tail: Sequence[Sequence[Any]], start: int, mark: int | None, placed: Placed
    ) -> dict[int, str] | None:
        """``placed``'s 入出庫 rows in ``tail`` → their keys, when the parse is known.

        ``tail`` (the answer's rows from ``start`` on, 反映 blanked) read as the re-read's
        rows there, 反映 aside: a fingerprint and its count are made of those texts
        only (and of the settled top's counts, which the re-read's parse shares), so a
        parse of ``tail`` gives each row the key the re-read's parse gave it, and each
        placed cell whose key the re-read found on its row is on its row. None when a
        row reads otherwise or a cell's key was elsewhere: parse then. At 100k the
        parse of a commit's ~200 rows below the top cost most of its check.
        """
        grid = self.read.raw.get(MOVEMENTS) or []
        for i, line in enumerate(tail, start):
            if not same_row(line, without(grid[i] if i < len(grid) else [], mark)):
                return None
        found, end = self.read.movement_rows, start + len(tail)
        keys: dict[int, str] = {}
        for (tab, row, _), (key, _) in placed.items():
            if tab != MOVEMENTS or not start <= row < end:
                continue
            if key is None or found.get(key) != row:
                return None
            keys[row] = key
        return keys

    def _product_keys(self, grid: Answer, only: Collection[int] | None) -> dict[int, str]:
        """Grid row → 商品コード, read as the parser reads it.

        A 商品コード is the cell's text; blank and formula cells locate nothing.
        """
        header = self.read.headers.get(PRODUCTS)
        col = header.col("sku") if header is not None else None
        if col is None:
            return {}
        lines = grid.rows
        rows = sorted(r for r in (lines if only is None else only) if r in lines and r)
        keys: dict[int, str] = {}
        for row in rows:  # (a commit's thousand rows at 100k: each row found once)
            raw = value_at(lines[row], col)
            text = cell_text(raw)  # "" exactly when the cell is blank (an answer's values)
            if text and not is_formula(raw):
                keys[row] = text
        return keys


def after_top(prefix: MovementsPrefix, tail: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """入出庫 as a parse given ``prefix`` reads it: the settled top, then ``tail``.

    Such a parse takes the top's result as it is and looks at the top's first and last
    rows only (:meth:`MovementsPrefix.fits`): the rows between stand as blank rows, not
    copied (a busy day's top is tens of thousands of rows; a copy of each reference
    cost a commit's check more than parsing the rows below it).
    """
    cells = prefix.cells
    if len(cells) < 2:
        return cast(list[list[Any]], [*cells, *tail])
    between = repeat((), len(cells) - 2)
    return cast(list[list[Any]], [cells[0], *between, cells[-1], *tail])


def _fill(grid: Answer, data: Sequence[Mapping[str, Any]]) -> None:
    """Put the GridData of an answer into ``grid`` (formatted blank cells skipped).

    A row at a time, as :meth:`Answer.put` would put each cell: a commit's answer
    holds a thousand written rows at 100k, and 入出庫's tail rows whole. A row not
    there yet is its cells as read (None where blank), taken in C: on the answer of a
    steady 100k commit (1,042 blocks of 商品マスタ, 196 rows of 入出庫) 1.4 ms became
    1.1 ms (best of 40) against a comprehension of the non-blank cells of each row.
    """
    rows = grid.rows
    for block in data:
        r0, c0 = block.get("startRow", 0), block.get("startColumn", 0)
        for i, row_data in enumerate(block.get("rowData", [])):
            got = list(map(entered, map(_USER_ENTERED, row_data.get("values", []))))
            while got and got[-1] is None:  # (formatted blank rows run to the grid's end)
                got.pop()
            if not got:
                continue
            line = rows.get(r0 + i)
            if line is None:
                rows[r0 + i] = [*repeat(None, c0), *got] if c0 else got
                continue
            if len(line) < c0 + len(got):
                line.extend([None] * (c0 + len(got) - len(line)))
            for col, value in enumerate(got, c0):
                if value is not None:
                    line[col] = value


_USER_ENTERED = methodcaller("get", "userEnteredValue")


def _rows_by_key(keys: Mapping[str, Mapping[int, str]]) -> dict[str, dict[str, list[int]]]:
    """Tab → row key → its grid rows (several for a duplicated 商品コード)."""
    out: dict[str, dict[str, list[int]]] = {}
    for tab, by_row in keys.items():
        rows = out.setdefault(tab, {})
        for row, key in by_row.items():
            rows.setdefault(key, []).append(row)
    return out


def _value_before(grid: Sequence[Sequence[Any]], rows: Sequence[int], col: int) -> Any:
    """What the re-read saw in ``col`` of a key's ``rows``; None if unknown.

    Several rows (a duplicated 商品コード) count only if they agree; a key the re-read
    did not have (a row staff just added) has nothing to go back to.
    """
    seen = [grid_at(grid, row, col) for row in rows]
    if not seen or any(not same(v, seen[0]) for v in seen):
        return None
    return seen[0]


MAX_REPAIRS = 3
"""Repair batchUpdates after one commit before giving up (staff kept moving rows)."""


def repair_misplaced(
    repair: RowRepair,
    reply: Mapping[str, Any],
    placed: Placed,
    *,
    where: Callable[[str, int, int], str],
    columns_now: Callable[[], Mapping[str, Any]],
    send: Callable[[Mapping[CellAt, Any]], tuple[int, Mapping[str, Any] | None]],
) -> int:
    """Put the commit's cells back on their rows if staff moved rows as it was sent.

    Sheets v4 has no compare-and-set (google-sheets.md §2) and updateCells addresses
    rows by position, taken from the re-read just before the commit. A sort, insert
    or delete in that moment lands 在庫数/状態/最終更新 on another product, or a 反映
    mark on another 入出庫 row: one movement shows 済 but was never applied, the
    right one stays unmarked and is applied again next cycle.

    The commit's answer holds the key columns as it left them (same atomic call, no
    extra request). If a written row no longer holds the 商品コード / fingerprint it
    was meant for, one more batchUpdate writes every intended value on the row that
    now holds its key, and gives each row written by mistake back what the re-read
    saw in it (blank for a row the re-read did not have, so a number meant for
    another product never passes for a stocktake). The repair's own answer is
    checked the same way. Never raises: the commit itself has landed.
    Returns the requests sent (0 when nothing moved).
    """
    sent = 0
    fixes: Mapping[CellAt, Any] = {}
    if repair.misplaced(reply, placed):  # the answer holds the written rows' keys only:
        try:  # read where the keys went, and what the rows hold
            reply = columns_now()
        except SheetError as err:
            log.error("could not read where rows moved during the commit: %s", err)
            return 1
        sent += 1
        fixes = repair.fixes(reply, placed)
    for _ in range(MAX_REPAIRS):
        if not fixes:
            return sent
        log.warning(
            "rows moved while the commit was sent (%s); putting %d cells back on their rows",
            ", ".join(where(t, r, c) for t, r, c in repair.wrong[:10]),
            len(fixes),
        )
        try:
            n, answer = send(fixes)
        except CommitOutcomeUnknown:
            sent += 1
            continue  # same fixes again: they are absolute values, safe to resend
        except SheetError as err:
            log.error("could not repair rows moved during the commit: %s", err)
            return sent + 1
        sent += n
        assert answer is not None  # without a marker, a send answers or raises
        placed = repair.placed_after(fixes)
        fixes = repair.fixes(answer, placed)
    log.error("rows kept moving during %d repairs of the commit; check 商品マスタ/入出庫", sent)
    return sent
