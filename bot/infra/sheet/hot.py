"""Reading what changes, when it can change (issue 10; ARCHITECTURE.md §3).

Orders and staff counts change one column of 商品マスタ, 在庫数; where each product
sits is its 商品コード column. So a cycle reads those two columns of 商品マスタ
(plus the small tabs, and 入出庫 below its settled top: :mod:`bot.infra.sheet.movements_read`)
and lays them over 商品マスタ as last read. The other columns (codes, 連動停止,
表示在庫設定, …) are read by a **sweep**: each cycle also reads a window of whole rows
(:meth:`GridCache.window`), the next cycle the rows after it, so every row is read
again within :data:`MAX_SWEEP_CYCLES` cycles; the cycle whose window reaches the end of
the tab also reads セット構成 whole and checks 入出庫's settled top. The window is as
big as the read budget allows: each cycle earns :data:`CELLS_PER_PRODUCT` cells per
product, pays every cell the gateway read (:meth:`GridCache.count`: the hot ranges and
the window, the commit's re-read and answer, the record's reads), and the window takes
what is left (never fewer rows than finish a sweep in :data:`MAX_SWEEP_CYCLES`). So the
cells read stay within the budget on average at any point of a run, and no cycle reads
the whole tab at once: a whole read of 100k rows held a second copy of the tab for a
moment and cost one cycle a second of parsing every few minutes.

The tabs are read whole only when there is no base to lay a read over: the first read,
a small sheet (:data:`SMALL_SHEET_CELLS`, every cycle: cheaper than any bookkeeping),
and at once when the header row or the 商品コード column differs (a row added, deleted
or sorted, a column moved), or a commit's outcome is unknown: a product is never matched
to a row by a guess.

Staff edits to 在庫数 are therefore seen by the next cycle at any catalogue size;
edits to the other columns within a sweep: 16 cycles (4 minutes at the 15 s default) at
100k products, about as many at 1,000, where the tabs read every cycle weigh more per
product.

The cache also takes in what the bot itself writes (the commit's 在庫数/状態/最終更新),
so its next comparison sees only what others changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain, compress, count, repeat, zip_longest
from math import ceil
from operator import and_, eq, is_, is_not, itemgetter, ne, not_, or_
from typing import Any, NamedTuple

from bot.infra.sheet.cells import column_letter
from bot.infra.sheet.headers import header_map
from bot.infra.sheet.known_span import KnownSpan, KnownTexts
from bot.infra.sheet.parsing import SheetRead
from bot.infra.sheet.spec import Template
from bot.infra.sheet.tabs import MOVEMENTS, PRODUCTS, SETS
from bot.infra.sheet.values import identical, same, same_row, value_at

CELLS_PER_PRODUCT = 3.0
"""The read budget: cells read per product per cycle, averaged (issue 10)."""
SMALL_SHEET_CELLS = 2_000
"""A whole read this small (about 200 products) is made every cycle: cheaper than
any bookkeeping, and every edit is seen by the next cycle."""
MAX_SWEEP_CYCLES = 16
"""A sweep of 商品マスタ's rows takes at most this many cycles (4 minutes at 15 s)."""
MIN_SWEEP_CYCLES = 4
"""…and at least this many: however much credit the budget saved, no cycle reads more
than a quarter of the tab (a big window is what the sweep is there to avoid)."""


HOT_SKUS = 1
"""Where the 商品コード column is among the hot read's ranges (after the header row)."""


def value_cells(value_ranges: Iterable[Mapping[str, Any]]) -> int:
    """Cells in ValueRanges' ``values`` (either major dimension)."""
    return sum(len(line) for vr in value_ranges for line in vr.get("values") or ())


def grid_cells(grids: Iterable[Sequence[Sequence[Any]]]) -> int:
    """Cells in value grids (counted at C speed: a window at 100k is 6,250 rows)."""
    return sum(map(len, chain.from_iterable(grids)))


def answer_cells(reply: Mapping[str, Any] | None) -> int:
    """Cells of grid data in a batchUpdate's answer (or a spreadsheets.get shaped like one)."""
    sheets = ((reply or {}).get("updatedSpreadsheet") or {}).get("sheets") or ()
    return sum(
        len(row.get("values") or ())
        for sheet in sheets
        for block in sheet.get("data") or ()
        for row in block.get("rowData") or ()
    )


Grid = list[list[Any]]


def column_values(grid: Sequence[Sequence[Any]], col: int) -> list[Any]:
    """Column ``col`` below the header as a COLUMNS-major read gives it.

    Blank cells read as "" and trailing blanks are dropped, like the API's answer.
    """
    out = [row[col] if col < len(row) and row[col] is not None else "" for row in grid[1:]]
    while out and out[-1] == "":
        out.pop()
    return out


def rows_of_columns(columns: Sequence[Sequence[Any]]) -> Grid:
    """A COLUMNS-major ValueRange's values as the ROWS-major grid the API would give."""
    grid: Grid = list(map(list, zip_longest(*columns, fillvalue="")))
    # Every row is as long as there are columns (≥ 1): only those ending blank are trimmed,
    # found at C speed instead of a Python step per row.
    for row in compress(grid, map(eq, map(itemgetter(-1), grid), repeat(""))):
        row.pop()
        while row and row[-1] == "":
            row.pop()
    return grid


def trimmed(row: Sequence[Any]) -> list[Any]:
    """A row without its trailing blank cells (how a read returns it)."""
    out = list(row)
    while out and (out[-1] is None or out[-1] == ""):
        out.pop()
    return out


def row_runs(rows: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted grid rows as inclusive runs: {3, 4, 5, 9} → [(3, 5), (9, 9)]."""
    runs: list[tuple[int, int]] = []
    for row in sorted(set(rows)):
        if runs and runs[-1][1] == row - 1:
            runs[-1] = (runs[-1][0], row)
        else:
            runs.append((row, row))
    return runs


def rows_of_runs(
    runs: Sequence[tuple[int, int]], grids: Iterable[Sequence[Sequence[Any]]]
) -> dict[int, Sequence[Any]]:
    """Grid row → cells, from one answer grid per run of rows (:func:`row_runs`).

    A grid holds its run's rows as read, fewer when the run ends in blank rows: those
    read as ``[]``. A commit's re-read at 100k is a thousand runs of mostly one row,
    each taken without building a padded list for it.
    """
    out: dict[int, Sequence[Any]] = {}
    blank: list[Any] = []
    for (a, b), grid in zip(runs, grids, strict=False):
        if a == b:
            out[a] = grid[0] if grid else blank
        else:
            out.update(zip(range(a, b + 1), chain(grid, repeat(blank)), strict=False))
    return out


@dataclass
class RowLog:
    """商品マスタ's rows given another list since ``base`` (the grid last parsed)."""

    base: Grid | None = None
    """None: not counting (rows anywhere may be new)."""
    rows: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class RowChanges:
    """The rows where ``now`` may hold other lists than ``since``; all others are the same."""

    since: Sequence[Any]
    now: Sequence[Any]
    rows: frozenset[int]


class Rewritten(NamedTuple):
    """One 商品マスタ row the bot wrote to: its cells before and after, and where.

    A tuple (old, new, columns), as :meth:`ProductsMemo.adopt` takes it: a commit at
    100k rewrites a thousand rows a cycle.
    """

    old: Sequence[Any]
    new: list[Any]
    columns: frozenset[int]


@dataclass(frozen=True)
class Window:
    """The rows of 商品マスタ one cycle reads whole (grid rows: 1 is sheet row 2)."""

    first: int
    last: int | None
    """The last grid row, inclusive; None: to the end of the tab (the sweep's end)."""

    @property
    def closes(self) -> bool:
        """Whether this window ends the sweep (セット構成 and 入出庫's top come with it)."""
        return self.last is None

    def a1(self, quoted_title: str, width: int) -> str:
        """The window as an A1 range ``width`` columns wide."""
        end = column_letter(max(width, 1) - 1)
        bottom = "" if self.last is None else str(self.last + 1)
        return f"{quoted_title}!A{self.first + 1}:{end}{bottom}"


@dataclass
class GridCache:
    """商品マスタ and セット構成 as last read, kept up to date between reads."""

    grids: dict[str, Grid] = field(default_factory=dict)
    since_full: int | None = None
    """Cycles since the last whole read; None: never read whole (or forgotten)."""
    budget: float = 0.0
    """Cells a cycle may read on average: CELLS_PER_PRODUCT per 商品マスタ row."""
    credit: float = 0.0
    """The budget of the cycles so far less the cells they read (see :meth:`window`)."""
    spent: int = 0
    """Cells read since this cycle's read began (:meth:`count`)."""
    other: int = 0
    """Cells the last cycle read besides its window (the hot ranges, the commit's…)."""
    window_cells: int = 0
    """Cells of the window the current cycle read."""
    whole_cost: int = 0
    """Cells the last cycle that read the tabs whole read in all."""
    small: bool = True
    """The last whole read of 商品マスタ and セット構成 was within SMALL_SHEET_CELLS."""
    sweep: int = 1
    """The grid row the next window starts at."""
    width: int = 1
    """Columns a window reads (商品マスタ's header row)."""
    row_cells: float = 1.0
    """Cells a row of 商品マスタ reads as, on average (what a window's rows cost)."""
    sku_col: int | None = None
    stock_col: int | None = None
    skus: list[Any] = field(default_factory=list)
    stocks: list[Any] = field(default_factory=list)
    log: RowLog = field(default_factory=lambda: RowLog())
    """The rows of 商品マスタ given another list since the grid last parsed."""
    sku_span: KnownSpan = field(default_factory=lambda: KnownSpan(HOT_SKUS))
    """The hot read's 商品コード column as last answered, byte for byte: an answer with the
    same bytes there is not decoded again (:mod:`bot.infra.sheet.known_span`)."""
    state_texts: KnownTexts = field(default_factory=lambda: KnownTexts())
    """_state's long texts (the ledger rows) as last answered: not decoded again."""
    owned: Grid | None = None
    """商品マスタ's grid when the cache made it and handed it to nobody since (the one
    :meth:`patch` made): the next merge lays its cells into it instead of a copy."""

    def count(self, cells: int) -> None:
        """Cells the gateway just read (any tab, any request): what the budget spends."""
        self.spent += cells

    def start_cycle(self) -> None:
        """A cycle's read begins: the cells of the cycle before are set against the budget.

        The credit is kept within one whole read's cost either way: a cold start's
        reads are not paid back for long, an idle hour does not buy a burst of reads.
        """
        if self.since_full == 0:
            self.whole_cost = self.spent
        else:
            self.other = self.spent - self.window_cells
        self.window_cells = 0
        cap = max(self.whole_cost, self.budget)
        self.credit = min(cap, max(-cap, self.credit + self.budget - self.spent))
        self.spent = 0

    def full_due(self) -> bool:
        """Whether this cycle reads the tabs whole: never read yet (or forgotten), or small."""
        return self.since_full is None or self.small

    def window(self) -> Window | None:
        """The rows of the sweep a cycle reads; None when there is no base to sweep over.

        As many rows as the budget leaves after what the last cycle read besides its
        window (and the credit saved), never fewer than finish a sweep in
        :data:`MAX_SWEEP_CYCLES` cycles nor more than in :data:`MIN_SWEEP_CYCLES`.
        """
        grid = self.grids.get(PRODUCTS)
        if grid is None or len(grid) < 2:
            return None
        rows = len(grid) - 1
        left = self.budget + self.credit - self.other
        fewest = ceil(rows / MAX_SWEEP_CYCLES)
        take = min(
            max(fewest, int(left / self.row_cells)), max(fewest, ceil(rows / MIN_SWEEP_CYCLES))
        )
        first = self.sweep if self.sweep <= rows else 1
        last = first + take - 1
        return Window(first, None if last >= rows else last)

    def forget(self) -> None:
        """Read whole next time (a tab went or came, a commit's outcome is unknown)."""
        self.since_full = None

    def keep_full(self, values: Mapping[str, Grid], tpl: Template, malls: Sequence[str]) -> None:
        """Take a whole read of the staff tabs as the new base.

        A row that reads as before keeps its old list: the new one (and its strings) is
        freed at once instead of living beside the parse memo's, and the memo knows the
        row unchanged by identity.
        """
        self.grids = {
            k: _reuse_rows(self.grids.get(k), values[k]) for k in (PRODUCTS, SETS) if k in values
        }
        self.log.base = None  # rows anywhere may be new
        self.owned = None
        grid = self.grids.get(PRODUCTS)
        self.since_full = 0
        self.sweep = 1
        self.small = grid_cells(self.grids.values()) <= SMALL_SHEET_CELLS
        self.budget = CELLS_PER_PRODUCT * max(len(grid or ()) - 1, 1)
        self.sku_col = self.stock_col = None
        self.sku_span.forget()  # known against the column this read replaces
        if not grid:
            return
        self.width = len(trimmed(grid[0]))
        self.row_cells = max(1.0, grid_cells([grid[1:]]) / max(len(grid) - 1, 1))
        hm = header_map(tpl.tab(PRODUCTS), grid[0], malls=malls)
        self.sku_col, self.stock_col = hm.col("sku"), hm.col("stock")
        if self.sku_col is None or self.stock_col is None or not hm.ok:
            self.forget()  # a broken header: every cycle reads it whole until fixed
            return
        self.skus = column_values(grid, self.sku_col)
        self.stocks = column_values(grid, self.stock_col)

    def hot_ranges(self, quoted_title: str) -> list[str] | None:
        """商品マスタ's header row, 商品コード and 在庫数 columns; None: read it whole.

        The 商品コード column is range :data:`HOT_SKUS` of the answer.
        """
        if self.sku_col is None or self.stock_col is None:
            return None
        sku, stock = column_letter(self.sku_col), column_letter(self.stock_col)
        return [
            f"{quoted_title}!1:1",
            f"{quoted_title}!{sku}2:{sku}",
            f"{quoted_title}!{stock}2:{stock}",
        ]

    def _merged(
        self, header: Sequence[Any], skus: list[Any], stocks: list[Any]
    ) -> tuple[Grid, bool] | None:
        """商品マスタ with this cycle's 在庫数 laid over it; None when rows or columns moved.

        ``header`` is row 1 as read now; ``skus``/``stocks`` the two columns below it
        (COLUMNS-major, trailing blanks dropped). ``skus`` is :attr:`skus` itself when
        the answer's 商品コード bytes were as last time (:attr:`sku_span`): nothing to
        compare. Otherwise, equal in value, the cache's own column stands for the
        span's from now on (the decoded one is freed, not kept beside it). Also whether
        the grid it gives is nobody else's (new or :attr:`owned`).
        """
        grid = self.grids.get(PRODUCTS)
        mine, self.owned = grid is not None and grid is self.owned, None  # handed out now
        if grid is None or self.stock_col is None:
            return None
        if trimmed(header) != trimmed(grid[0]):
            return None
        if skus is not self.skus:
            if skus != self.skus:
                return None
            self.sku_span.holds([self.skus])
        if len(stocks) > len(grid) - 1:
            return None  # a count typed below the last row: read whole
        changed = _differences(self.stocks, stocks)
        if changed:
            grid = grid if mine else list(grid)
            for i in changed:
                value = stocks[i] if i < len(stocks) else ""
                grid[i + 1] = _with(grid[i + 1], self.stock_col, value)
            self._products(grid, [i + 1 for i in changed])
            self.stocks = stocks
        assert self.since_full is not None
        self.since_full += 1
        return grid, mine or bool(changed)

    def merge_window(
        self,
        header: Sequence[Any],
        skus: list[Any],
        stocks: list[Any],
        window: Window,
        columns: Sequence[Sequence[Any]],
    ) -> Grid | None:
        """The read's 在庫数 and then its window laid over 商品マスタ; None: rows moved.

        :meth:`_merged`, then :meth:`_window_into`, the grid copied once.

        The grid :meth:`_merged` makes (a new list when a 在庫数 changed: every cycle at
        100k) is nobody else's yet, so the window is laid into it: at 100k a copy of the
        grid and the freeing of the other each touch 100,000 rows. So is the grid the
        last commit's :meth:`patch` made (:attr:`owned`): the usual cycle copies none.
        """
        got = self._merged(header, skus, stocks)
        if got is None:
            return None
        grid, copied = got
        return self._window_into(grid if copied else list(grid), window, columns)

    def _window_into(self, grid: Grid, window: Window, columns: Sequence[Sequence[Any]]) -> Grid:
        """Lay a window's rows (read with the hot ranges, COLUMNS-major) into ``grid``.

        ``grid`` is 商品マスタ as last laid and the caller's own. A row that reads as
        before keeps its old list (the parse memo knows it by identity); the window that
        ends the sweep ends the tab where the read ends.
        """
        end = len(grid) if window.last is None else min(window.last + 1, len(grid))
        old = grid[window.first : end]
        rows = _window_rows(old, columns, not window.closes)  # (blank rows read as nothing)
        self.window_cells = grid_cells([rows])
        grid[window.first : end] = rows
        self.sweep = 1 if window.closes else end
        if len(rows) != len(old):
            self.log.base = None  # the tab ends elsewhere now
        self._products(grid, compress(count(window.first), map(is_not, old, rows)))
        return grid

    def _products(self, grid: Grid, rows: Iterable[int]) -> None:
        """``grid`` is 商品マスタ now: the last one with ``rows`` given other lists."""
        if self.log.base is not None:
            self.log.rows.update(rows)
        self.grids[PRODUCTS] = grid
        self.owned = None  # (the caller hands it out, or says it is its own)

    def rows_changed(self, since: Sequence[Any] | None) -> RowChanges | None:
        """The rows of 商品マスタ that may be other lists than in ``since`` (None: unknown).

        Known when ``since`` is the grid :meth:`parsed` was last told of: every change
        to the grid since went through :meth:`_products` with the rows it replaced.
        """
        grid, base = self.grids.get(PRODUCTS), self.log.base
        self.owned = None  # handed out in the answer
        counted = base is not None and since is base
        if base is None or grid is None or not counted:
            return None
        return RowChanges(base, grid, frozenset(self.log.rows))

    def parsed(self, grid: Sequence[Any] | None) -> None:
        """The parse memo now holds ``grid``: count the rows changed from it from now on."""
        now = self.grids.get(PRODUCTS)
        self.log.base = now if grid is not None and grid is now else None
        self.log.rows = set()

    def take_sets(self, grid: Grid) -> Grid:
        """セット構成 read whole with the window that ends a sweep (unchanged rows kept)."""
        self.grids[SETS] = _reuse_rows(self.grids.get(SETS), grid)
        return self.grids[SETS]

    def patch(self, cells: Mapping[tuple[int, int], Any]) -> dict[int, Rewritten]:
        """Take in cells the bot wrote to 商品マスタ ((grid row, column) → value).

        Returns each rewritten row: its old and new cells and the columns written.
        """
        grid = self.grids.get(PRODUCTS)
        if grid is None or not cells:
            return {}
        grid = list(grid)
        by_row: dict[int, list[tuple[int, Any]]] = {}
        for (row, col), value in cells.items():
            by_row.setdefault(row, []).append((col, value))
        changes: dict[int, Rewritten] = {}
        for row, writes in by_row.items():
            if row >= len(grid):
                self.forget()
                return {}
            line = list(grid[row])  # rows are shared: never changed in place
            for col, value in writes:
                _put(line, col, value)
            changes[row] = Rewritten(grid[row], line, frozenset(map(itemgetter(0), writes)))
            grid[row] = line
        self._products(grid, changes)
        self.owned = grid  # a copy only this cache holds, until handed out
        if self.stock_col is not None:
            self._restock({r: c.new for r, c in changes.items() if self.stock_col in c.columns})
        return changes

    def _restock(self, rows: Mapping[int, Sequence[Any]]) -> None:
        """Rewritten rows' 在庫数 into :attr:`stocks` (as a COLUMNS-major read gives it).

        In place: the list is the cache's own (:meth:`merge_window` and :meth:`keep_full` hand
        it a list nobody else holds), and a copy of 100,000 references a commit at
        100k cost more than the thousand cells it writes.
        """
        if not rows or self.stock_col is None:
            return
        stocks = self.stocks
        col = self.stock_col
        for row, cells in rows.items():
            value = cells[col] if col < len(cells) and cells[col] is not None else ""
            if row - 1 >= len(stocks):
                stocks.extend([""] * (row - len(stocks)))
            stocks[row - 1] = value
        while stocks and stocks[-1] == "":
            stocks.pop()
        self.stocks = stocks

    def replace_rows(self, rows: Mapping[int, Sequence[Any]]) -> None:
        """Rows of 商品マスタ re-read just now (grid row → cells)."""
        grid = self.grids.get(PRODUCTS)
        if grid is None or not rows:
            return
        grid = list(grid)
        taken = {row: trimmed(cells) for row, cells in rows.items() if row < len(grid)}
        for row, cells in taken.items():
            grid[row] = cells
        self._products(grid, taken)
        self._restock(taken)


def _differences(before: Sequence[Any], after: Sequence[Any]) -> list[int]:
    """Indexes where two columns differ in value or type (a longer or shorter one too).

    Compared at C speed: a cycle at 100k compares the whole 在庫数 column and only a few
    hundred cells differ. Most equal cells are the very same object (small ints, the
    decoder's shared strings), so only the others are compared one by one; when they
    are many (large counts), every cell is compared by ``map`` instead.
    """
    if identical(before, after):
        return []
    others = bytes(map(is_not, before, after))  # a flag per cell: another object
    if others.count(1) <= len(after) // _FEW_OTHERS:
        out = [i for i in _flagged(others) if not _same_cell(before[i], after[i])]
    else:
        values = map(ne, before, after)
        types = map(is_not, map(type, before), map(type, after))
        out = list(compress(count(), map(or_, values, types)))
    longer = before if len(before) > len(after) else after
    return out + [i for i in range(min(len(before), len(after)), len(longer)) if longer[i] != ""]


_FEW_OTHERS = 8
"""Up to one cell in this many not the same object is compared one by one."""


def _flagged(flags: bytes) -> list[int]:
    """The indexes of the non-zero bytes of ``flags`` (a few among 100,000).

    Found by ``bytes.find`` (memchr): ``compress(count(), …)`` made an int object for
    every index it passed, 100,000 a cycle at 100k (the 在庫数 column with ~1,000
    cells changed: 2.6 ms found so, 2.0 ms so with the flags made).
    """
    out: list[int] = []
    find = flags.find
    at = find(1)
    while at >= 0:
        out.append(at)
        at = find(1, at + 1)
    return out


def _same_cell(a: Any, b: Any) -> bool:
    """Two cells of the same value and type (``1 == True == 1.0`` in Python)."""
    return a == b and type(a) is type(b)


def _reuse_rows(old: Grid | None, new: Grid) -> Grid:
    """``new`` with each row identical to the same row of ``old`` taken from ``old``.

    Rows are compared at C speed, :data:`_REUSE_CHUNK` rows at a time: by value
    (``map(eq)``), then the types of all the rows equal in value at once (value-equal
    rows are of equal length, so their cells line up); only when those differ somewhere
    in a chunk is each of its rows compared by :func:`identical`. The result starts as
    ``old``'s rows and takes ``new``'s where they differ: the Python loop runs over the
    chunks and the rows that changed, not over every row.
    """
    if not old:
        return new
    out = old[: len(new)]
    for start in range(0, len(out), _REUSE_CHUNK):
        stop = start + _REUSE_CHUNK
        for i in _changed(old[start:stop], new[start:stop], start):
            out[i] = new[i]
    return out + new[len(old) :] if len(new) > len(old) else out


_REUSE_CHUNK = 64
"""Rows :func:`_reuse_rows` (and :func:`_window_rows`) compares at a time. The type pass reads the cells the value
pass just read: over a whole window (6,250 rows, ~94,000 cells at 100k) they had left
the CPU's caches and the pass cost 9–15 ms a cycle, most of ``_reuse_rows``; chunk by
chunk they are still there (a window of rows read long ago against a fresh decode, in
a process holding a 100k catalogue: 11.0 ms whole, 6.6 ms by 64 rows, 7.6 ms by 512)."""


def _changed(
    old: Sequence[Sequence[Any]], new: Sequence[Sequence[Any]], first: int
) -> Iterable[int]:
    """Indexes (counted from ``first``) of the rows of ``new`` not identical to ``old``'s.

    Compared as far as both go.
    """
    equal = list(map(eq, old, new))
    if any(equal) and list(map(type, chain.from_iterable(compress(old, equal)))) != list(
        map(type, chain.from_iterable(compress(new, equal)))
    ):
        equal = [s and identical(o, n) for s, o, n in zip(equal, old, new, strict=False)]
    return compress(count(first), map(not_, equal))


def _window_rows(old: Grid, columns: Sequence[Sequence[Any]], pad: bool) -> Grid:
    """``_reuse_rows(old, rows)`` of a window read COLUMNS-major, its rows made only where new.

    ``rows`` is :func:`rows_of_columns` of ``columns``, followed by blank rows up to
    ``len(old)`` when ``pad``. The columns are compared with ``old``'s as they came,
    :data:`_REUSE_CHUNK` rows at a time (:func:`_rows_differing`): the window's 6,250
    rows at 100k are not made as lists only to be dropped for ``old``'s, and each column
    is compared in one ``==``. Rows of ``old`` not trimmed as a read gives them (a blank
    last cell) are compared as rows (their padding would hide the difference).
    (A window of 6,250 rows of 商品マスタ's 16 columns against rows allocated apart in
    memory, a fresh decode as the hot read gives it: 8.2 ms made and compared as rows,
    4.8 ms so; py-spy at 100k: ``_window_into`` 44 % of the read before (cycles 20–55),
    25 % so (cycles 12–27).)
    """
    height = max(map(len, columns), default=0)
    if pad:
        height = max(height, len(old))
    compared = old[: min(height, len(old))]
    lasts = list(map(itemgetter(-1), filter(None, compared)))
    if "" in lasts or None in lasts:
        rows = rows_of_columns(columns)
        return _reuse_rows(old, rows + [[] for _ in range(len(old) - len(rows))] if pad else rows)
    out = list(compared)
    for start in range(0, len(out), _REUSE_CHUNK):
        stop = start + _REUSE_CHUNK
        part = [column[start:stop] for column in columns]
        for i in _rows_differing(compared[start:stop], part):
            out[start + i] = _row_at(columns, start + i)
    return out + [_row_at(columns, i) for i in range(len(out), height)]


def _rows_differing(rows: Sequence[Sequence[Any]], columns: Sequence[Sequence[Any]]) -> set[int]:
    """Indexes of ``rows`` (trimmed) not identical to the rows ``columns`` make.

    A column equal in value is of the same types when its cells are all text (a str
    equals only a str among the values a read gives or the bot writes: ``"".join``
    checks that at C speed); otherwise the types are compared, as :func:`identical`
    does, and a column that differs is looked at cell by cell (at C speed too).
    """
    was = list(zip_longest(*rows, fillvalue=""))
    blank = ("",) * len(rows)
    out: set[int] = set()
    for c in range(max(len(columns), len(was))):
        new = columns[c] if c < len(columns) else ()
        now = (*new, *blank[len(new) :])
        before = was[c] if c < len(was) else blank
        if before == now and (_texts(before) or list(map(type, before)) == list(map(type, now))):
            continue
        other = map(or_, map(ne, before, now), map(is_not, map(type, before), map(type, now)))
        out.update(_flagged(bytes(map(and_, map(is_not, before, now), other))))
    return out


def _texts(cells: Sequence[Any]) -> bool:
    """Whether every cell is a str."""
    try:
        "".join(cells)
    except TypeError:
        return False
    return True


def _row_at(columns: Sequence[Sequence[Any]], i: int) -> list[Any]:
    """Row ``i`` of :func:`rows_of_columns` (``columns``), made alone."""
    row = [column[i] if i < len(column) else "" for column in columns]
    while row and row[-1] == "":
        row.pop()
    return row


def _with(row: Sequence[Any], col: int, value: Any) -> list[Any]:
    """A copy of ``row`` with cell ``col`` set (rows are shared: never changed in place)."""
    line = list(row)
    _put(line, col, value)
    return line


def _put(line: list[Any], col: int, value: Any) -> None:
    """Set cell ``col`` of a row the caller owns, trailing blanks trimmed as a read has them."""
    if len(line) <= col:
        line.extend([""] * (col + 1 - len(line)))
    line[col] = "" if value is None else value
    while line and (line[-1] is None or line[-1] == ""):
        line.pop()


def same_rows(a: Sequence[Sequence[Any]], b: Sequence[Sequence[Any]]) -> bool:
    """Whether each row of ``a`` reads as the row of ``b`` at its place (:func:`same_row`).

    ``a`` and ``b`` are as long. A re-read usually gives back the cells it gave before:
    all the rows are compared at once at C speed, by value and then the type of every
    cell (value-equal rows are as long, so their cells line up: :func:`identical` of
    each pair), the types taken as the rows are walked (no flattened copies: a
    thousand rows a commit at 100k). Only when that fails is each pair compared as
    :func:`same_row` does.
    """
    if a == b and all(
        map(is_, map(type, chain.from_iterable(a)), map(type, chain.from_iterable(b)))
    ):
        return True
    return all(map(same_row, a, b))


@dataclass
class Reread:
    """A commit's re-read compared with the read it was planned on."""

    previous: SheetRead
    header: Sequence[Any]
    rows: Mapping[int, Sequence[Any]]
    """Grid row → 商品マスタ cells as re-read."""
    movements: Grid | None
    """入出庫 as re-read (None: not re-read)."""
    products: bool = True
    """Whether 商品マスタ was re-read (not while its tab is missing)."""

    def unchanged(self) -> bool:
        """Nothing the commit writes over differs from the read it was planned on."""
        grid = self.previous.raw.get(PRODUCTS) or [[]]
        if self.products and not same_row(self.header, grid[0] if grid else []):
            return False
        height, rows = len(grid), self.rows
        if rows and max(rows) < height:
            was: list[Sequence[Any]] = list(map(grid.__getitem__, rows))
        else:
            was = [grid[row] if row < height else [] for row in rows]
        if not same_rows(list(rows.values()), was):
            return False
        if self.movements is None:
            return True
        before, after = self.previous.raw.get(MOVEMENTS) or [], self.movements
        if len(before) != len(after):
            return False
        # The settled top comes back as the very rows of the last read (a day of a busy
        # shop's 入出庫 is tens of thousands): only the others are compared as text.
        others = list(compress(count(), map(is_not, before, after)))
        return same_rows(
            list(map(after.__getitem__, others)), list(map(before.__getitem__, others))
        )

    def moved(self) -> bool:
        """Whether the header or a re-read row's 商品コード changed (rows were moved)."""
        if not self.products:
            return False
        grid = self.previous.raw.get(PRODUCTS) or [[]]
        if not same_row(self.header, grid[0] if grid else []):
            return True
        header = self.previous.headers.get(PRODUCTS)
        col = header.col("sku") if header is not None else None
        if col is None:
            return True
        return any(
            not same(value_at(cells, col), value_at(grid[row] if row < len(grid) else [], col))
            for row, cells in self.rows.items()
        )
