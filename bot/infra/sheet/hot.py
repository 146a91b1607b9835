"""Reading what changes, when it can change (issue 10; ARCHITECTURE.md §3).

Orders and staff counts change one column of 商品マスタ, 在庫数; where each product
sits is its 商品コード column. So a cycle reads those two columns of 商品マスタ
(plus the small tabs, and 入出庫 below its settled top: :mod:`bot.infra.sheet.movements_read`)
and lays them over 商品マスタ as it was last read whole. The whole of 商品マスタ and
セット構成 is read again on a cadence that keeps the cells read per cycle within
:data:`CELLS_PER_PRODUCT` per product on average (:meth:`GridCache.full_due`; every
cycle for a small sheet), and at once when the header row or the 商品コード column
differs (a row added, deleted or sorted, a column moved): a product is never matched
to a row by a guess.

The cadence counts every cell the gateway reads (:meth:`GridCache.count`): the hot
and whole reads of every tab, the commit's re-read and answer, the record's reads. Each
cycle earns the budget and pays what it read; a whole read comes once the savings
cover it (as the last one cost), so however big the other tabs grow or however much a
cycle re-reads, the cells read stay within the budget on average, at any point of a
run (whole reads at most :data:`MAX_FULL_READ_EVERY` cycles apart: beyond that the
budget gives way to seeing edits).

Staff edits to 在庫数 are therefore seen by the next cycle at any catalogue size;
edits to the other columns (codes, 連動停止, 表示在庫設定, …) within that cadence:
for rows of ~11 cells, 12–13 cycles at 10,000 products and 16 at 1,000, where the
tabs read every cycle weigh more per product (3–4 minutes at the 15 s default).

The cache also takes in what the bot itself writes (the commit's 在庫数/状態/最終更新),
so its next comparison sees only what others changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.infra.sheet.cells import column_letter
from bot.infra.sheet.headers import header_map
from bot.infra.sheet.parsing import SheetRead
from bot.infra.sheet.spec import Template
from bot.infra.sheet.tabs import MOVEMENTS, PRODUCTS, SETS
from bot.infra.sheet.values import identical, same, value_at

CELLS_PER_PRODUCT = 3.0
"""The read budget: cells read per product per cycle, averaged (issue 10)."""
SMALL_SHEET_CELLS = 2_000
"""A whole read this small (about 200 products) is made every cycle: cheaper than
any bookkeeping, and every edit is seen by the next cycle."""
MAX_FULL_READ_EVERY = 16
"""At most this many cycles between whole reads (4 minutes at 15 s)."""


def value_cells(value_ranges: Iterable[Mapping[str, Any]]) -> int:
    """Cells in ValueRanges' ``values`` (either major dimension)."""
    return sum(len(line) for vr in value_ranges for line in vr.get("values") or ())


def grid_cells(grids: Iterable[Sequence[Sequence[Any]]]) -> int:
    """Cells in value grids."""
    return sum(len(line) for grid in grids for line in grid)


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
    height = max((len(c) for c in columns), default=0)
    grid: Grid = []
    for i in range(height):
        row = [c[i] if i < len(c) else "" for c in columns]
        while row and row[-1] == "":
            row.pop()
        grid.append(row)
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


@dataclass(frozen=True)
class Rewritten:
    """One 商品マスタ row the bot wrote to: its cells before and after, and where."""

    old: Sequence[Any]
    new: list[Any]
    columns: frozenset[int]


@dataclass
class GridCache:
    """商品マスタ and セット構成 as last read whole, kept up to date between reads."""

    grids: dict[str, Grid] = field(default_factory=dict)
    since_full: int | None = None
    """Cycles since the last whole read; None: never read whole (or forgotten)."""
    budget: float = 0.0
    """Cells a cycle may read on average: CELLS_PER_PRODUCT per 商品マスタ row."""
    credit: float = 0.0
    """The budget of the cycles so far less the cells they read (see :meth:`full_due`)."""
    spent: int = 0
    """Cells read since this cycle's read began (:meth:`count`)."""
    whole_cost: int = 0
    """Cells the last cycle that read the tabs whole read in all."""
    small: bool = True
    """The last whole read of 商品マスタ and セット構成 was within SMALL_SHEET_CELLS."""
    sku_col: int | None = None
    stock_col: int | None = None
    skus: list[Any] = field(default_factory=list)
    stocks: list[Any] = field(default_factory=list)

    def count(self, cells: int) -> None:
        """Cells the gateway just read (any tab, any request): what the cadence spends."""
        self.spent += cells

    def start_cycle(self) -> None:
        """A cycle's read begins: the cells of the cycle before are set against the budget.

        The credit is kept within one whole cycle's cost either way: a cold start's
        reads are not paid back for long, an idle hour does not buy a run of whole reads.
        """
        if self.since_full == 0:
            self.whole_cost = self.spent
        cap = max(self.whole_cost, self.budget)
        self.credit = min(cap, max(-cap, self.credit + self.budget - self.spent))
        self.spent = 0

    def full_due(self) -> bool:
        """Whether this cycle reads the tabs whole.

        Never read whole yet (or forgotten), a small sheet, :data:`MAX_FULL_READ_EVERY`
        cycles since the last whole read, or the credit the cycles since then saved
        covers a whole cycle (as the last one cost) beyond its own budget: the cells
        read stay within the budget on average at every cycle, not only over a run.
        """
        if self.since_full is None or self.small:
            return True
        if self.since_full + 1 >= MAX_FULL_READ_EVERY:
            return True
        return self.credit >= self.whole_cost - self.budget

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
        grid = self.grids.get(PRODUCTS)
        self.since_full = 0
        self.small = grid_cells(self.grids.values()) <= SMALL_SHEET_CELLS
        self.budget = CELLS_PER_PRODUCT * max(len(grid or ()) - 1, 1)
        self.sku_col = self.stock_col = None
        if not grid:
            return
        hm = header_map(tpl.tab(PRODUCTS), grid[0], malls=malls)
        self.sku_col, self.stock_col = hm.col("sku"), hm.col("stock")
        if self.sku_col is None or self.stock_col is None or not hm.ok:
            self.forget()  # a broken header: every cycle reads it whole until fixed
            return
        self.skus = column_values(grid, self.sku_col)
        self.stocks = column_values(grid, self.stock_col)

    def hot_ranges(self, quoted_title: str) -> list[str] | None:
        """商品マスタ's header row, 商品コード and 在庫数 columns; None: read it whole."""
        if self.sku_col is None or self.stock_col is None:
            return None
        sku, stock = column_letter(self.sku_col), column_letter(self.stock_col)
        return [
            f"{quoted_title}!1:1",
            f"{quoted_title}!{sku}2:{sku}",
            f"{quoted_title}!{stock}2:{stock}",
        ]

    def lay_over(
        self, got: Sequence[Mapping[str, Any]], keys: Sequence[str], *, keep_sets: bool
    ) -> dict[str, Grid] | None:
        """A hot read as the tabs' ROWS-major grids; None: read 商品マスタ whole.

        ``got`` holds the ranges of :meth:`hot_ranges`, then ``keys`` whole, all
        COLUMNS-major.
        """
        header, skus, stocks = (vr.get("values", []) for vr in got[:3])
        merged = self.merge(
            rows_of_columns(header)[0] if header else [],
            list(skus[0]) if skus else [],
            list(stocks[0]) if stocks else [],
        )
        if merged is None:
            return None
        out = {PRODUCTS: merged}
        for key, value_range in zip(keys, got[3:], strict=True):
            out[key] = rows_of_columns(value_range.get("values", []))
        if keep_sets and SETS in self.grids:
            out[SETS] = self.grids[SETS]
        return out

    def merge(self, header: Sequence[Any], skus: list[Any], stocks: list[Any]) -> Grid | None:
        """商品マスタ with this cycle's 在庫数 laid over it; None when rows or columns moved.

        ``header`` is row 1 as read now; ``skus``/``stocks`` the two columns below it
        (COLUMNS-major, trailing blanks dropped).
        """
        grid = self.grids.get(PRODUCTS)
        if grid is None or self.stock_col is None:
            return None
        if trimmed(header) != trimmed(grid[0]) or skus != self.skus:
            return None
        if len(stocks) > len(grid) - 1:
            return None  # a count typed below the last row: read whole
        changed = _differences(self.stocks, stocks)
        if changed:
            grid = list(grid)
            for i in changed:
                value = stocks[i] if i < len(stocks) else ""
                grid[i + 1] = _with(grid[i + 1], self.stock_col, value)
            self.grids[PRODUCTS] = grid
            self.stocks = stocks
        assert self.since_full is not None
        self.since_full += 1
        return grid

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
            line = grid[row]
            for col, value in writes:
                line = _with(line, col, value)
            changes[row] = Rewritten(grid[row], line, frozenset(c for c, _ in writes))
            grid[row] = line
        self.grids[PRODUCTS] = grid
        if self.stock_col is not None and any(
            self.stock_col in c.columns for c in changes.values()
        ):
            self.stocks = column_values(grid, self.stock_col)
        return changes

    def replace_rows(self, rows: Mapping[int, Sequence[Any]]) -> None:
        """Rows of 商品マスタ re-read just now (grid row → cells)."""
        grid = self.grids.get(PRODUCTS)
        if grid is None or not rows:
            return
        grid = list(grid)
        for row, cells in rows.items():
            if row < len(grid):
                grid[row] = trimmed(cells)
        self.grids[PRODUCTS] = grid
        if self.stock_col is not None:
            self.stocks = column_values(grid, self.stock_col)


def _differences(before: Sequence[Any], after: Sequence[Any]) -> list[int]:
    """Indexes where two columns differ (a longer or shorter column included)."""
    if identical(before, after):
        return []
    n = max(len(before), len(after))
    return [
        i
        for i in range(n)
        if not _same_cell(before[i] if i < len(before) else "", after[i] if i < len(after) else "")
    ]


def _reuse_rows(old: Grid | None, new: Grid) -> Grid:
    """``new`` with each row identical to the same row of ``old`` taken from ``old``."""
    if not old:
        return new
    return [o if identical(o, n) else n for o, n in zip(old, new, strict=False)] + new[len(old) :]


def _same_cell(a: Any, b: Any) -> bool:
    return a == b and type(a) is type(b)  # 1 == True in Python; not on a sheet


def _with(row: Sequence[Any], col: int, value: Any) -> list[Any]:
    """A copy of ``row`` with cell ``col`` set (rows are shared: never changed in place)."""
    line = list(row)
    if len(line) <= col:
        line.extend([""] * (col + 1 - len(line)))
    line[col] = "" if value is None else value
    return trimmed(line)


def _same_row(a: Sequence[Any], b: Sequence[Any]) -> bool:
    """Two rows that read the same (9 and 9.0, None and "", trailing blanks)."""
    ta, tb = trimmed(a), trimmed(b)
    return len(ta) == len(tb) and all(same(x, y) for x, y in zip(ta, tb, strict=True))


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
        if self.products and not _same_row(self.header, grid[0] if grid else []):
            return False
        for row, cells in self.rows.items():
            if not _same_row(cells, grid[row] if row < len(grid) else []):
                return False
        if self.movements is None:
            return True
        before = self.previous.raw.get(MOVEMENTS) or []
        return len(before) == len(self.movements) and all(
            _same_row(a, b) for a, b in zip(before, self.movements, strict=False)
        )

    def moved(self) -> bool:
        """Whether the header or a re-read row's 商品コード changed (rows were moved)."""
        if not self.products:
            return False
        grid = self.previous.raw.get(PRODUCTS) or [[]]
        if not _same_row(self.header, grid[0] if grid else []):
            return True
        header = self.previous.headers.get(PRODUCTS)
        col = header.col("sku") if header is not None else None
        if col is None:
            return True
        return any(
            not same(value_at(cells, col), value_at(grid[row] if row < len(grid) else [], col))
            for row, cells in self.rows.items()
        )
