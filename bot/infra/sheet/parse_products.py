"""商品マスタ → products: one draft per row, then the checks across rows.

A row whose cells cannot all be understood, whose 商品コード is duplicated, or whose
mall code another product also claims is left out of the products (its 商品コード goes
to ``invalid``; its codes are held so their orders wait instead of going unassigned).
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from itertools import compress, count
from operator import attrgetter, is_not
from typing import Any

from bot.core.domain import Product, ProductMap, RowProblem
from bot.infra.sheet.cells import a1, cell_at, cell_text, is_blank
from bot.infra.sheet.headers import HeaderMap
from bot.infra.sheet.hot import RowChanges
from bot.infra.sheet.parse_tabs import SetsMemo
from bot.infra.sheet.parsing import ParseContext, RowStatuses
from bot.infra.sheet.reader import Bad, Guess
from bot.infra.sheet.spec import ColumnSpec, TabSpec
from bot.infra.sheet.values import identical


@dataclass(slots=True)
class _Draft:
    grid_row: int
    sku: str
    problems: tuple[RowProblem, ...] = ()
    """The row's own problems (a cell it cannot read); never those across rows.

    A tuple: most rows have none and share the one empty tuple (a list is an object
    per row, and 100,000 rows are kept)."""
    codes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    product: Product | None = None
    """The row's product, built as the row is read when it has no problem of its own
    (its cell values are not kept then); None for a row with a problem."""


@dataclass(slots=True)
class _Row:
    """One row's parse as the memo keeps it: everything the row alone decides."""

    row: Sequence[Any]
    is_set: bool
    bot_stock: int | None
    """The bot's own last 在庫数 for the row's 商品コード, when its parse depended on it
    (a negative 在庫数 is an oversell the bot wrote, or a typing error); else None."""
    asked: bool
    """Whether the parse read a negative 在庫数 against ``bot_stock``."""
    status: str
    draft: _Draft | None
    notes: tuple[RowProblem, ...]
    """Problems the row reports without leaving the products (blank key, a guess);
    mostly none: the one empty tuple, not a list per row."""


@dataclass
class ProductsMemo:
    """商品マスタ's rows as last parsed, so the next parse re-reads only changed rows.

    A row is parsed again when its cells differ (or it is another list at another
    grid row), when it became or stopped being a set, or when the bot's own last
    在庫数 for it changed (a negative number is read against it). The checks across
    rows (duplicate 商品コード, a code on two products) are made again only when a
    re-parsed row's 商品コード or codes changed. Products of unchanged rows are the
    same objects as last time, so the engine can tell what changed by identity.
    """

    header: tuple[Any, ...] = ()
    malls: tuple[str, ...] = ()
    rows: list[_Row | None] = field(default_factory=list)
    across: dict[int, list[RowProblem]] = field(default_factory=dict)
    """Grid row → problems the checks across rows found on it."""
    product_rows: dict[str, int] = field(default_factory=dict)
    """商品コード → grid row, for every 商品コード on one row."""
    duplicate_rows: dict[str, tuple[int, ...]] = field(default_factory=dict)
    """商品コード → its grid rows, for every 商品コード on several rows (a list per
    商品コード for the rest would be 100,000 lists saying what ``product_rows`` says)."""
    reparsed: int = 0
    """Rows parsed cell by cell in the last parse (the rest came from the memo)."""
    restocked: int = 0
    """Rows of the last parse whose 在庫数 alone changed, to a count (:func:`_restocked`)."""
    sets: SetsMemo = field(default_factory=SetsMemo)
    """セット構成 as last parsed (it decides which rows are sets)."""
    # What the last parse gave, kept so the next one patches only the rows it looks at:
    grid: Sequence[Sequence[Any]] | None = None
    """The rows last parsed: a row that is the same object again is not looked at."""
    set_skus: frozenset[str] = frozenset()
    asked: set[int] = field(default_factory=set)
    """Grid rows whose parse read a negative 在庫数 against the bot's own."""
    changes: RowChanges | None = None
    """The rows where the grid to parse next may differ from :attr:`grid` (the grid
    cache's log, :meth:`GridCache.rows_changed`): only they are compared. Used once."""
    row_statuses: RowStatuses = field(default_factory=RowStatuses)
    """状態 text by grid row ("" when blank): a list, not a dict of 100,000 int keys.
    The read the parse gives holds this very list: the next parse changes a copy."""
    status_skus: set[str] | None = field(default_factory=set)
    """商品コード of the rows whose 状態 was set since the last list handed out (None:
    every row's)."""
    statuses_handed: tuple[tuple[int, frozenset[str]], ...] = ()
    """The tokens of the last lists handed out, newest first, with the 商品コード whose
    状態 may differ since each (:class:`RowStatuses`)."""
    notes: dict[int, tuple[RowProblem, ...]] = field(default_factory=dict)
    bad: dict[int, _Draft] = field(default_factory=dict)
    """Grid row → its draft, for rows with a problem of their own or across rows."""
    valid: dict[str, Product] = field(default_factory=dict)
    """The products, in row order."""
    touched: set[str] | None = field(default_factory=set)
    """Skus set or dropped in ``valid`` since the last map handed out (None: rebuilt)."""
    handed: tuple[tuple[weakref.ref[ProductMap], frozenset[str]], ...] = ()
    """The last maps handed out, newest first, with the skus changed since each."""
    handed_invalid: frozenset[str] = frozenset()
    """The skus the newest map handed out left out (its rows' problems and sets')."""

    def hand_out(self, products: ProductMap, invalid: frozenset[str]) -> None:
        """Say in ``products`` what changed since the maps handed out before.

        ``products`` is this parse's, ``invalid`` left out; ``ProductMap.since`` gets
        the changes, and the memo remembers the map for the next parse.

        A sku can differ from an earlier map only if the parse set or dropped it since
        (``touched``) or it was left out of either map; ``valid`` keeps its order
        between rebuilds (a row's product is replaced in place, or dropped).
        """
        touched = self.touched
        if touched is None:
            products.since = ()
        else:
            moved = frozenset((*touched, *invalid, *self.handed_invalid))
            products.since = tuple((ref, keys | moved) for ref, keys in self.handed)
        self.handed = ((weakref.ref(products), frozenset()), *products.since[: _HANDED - 1])
        self.handed_invalid, self.touched = invalid, set()

    def hand_out_statuses(self) -> RowStatuses:
        """The 状態 list to hand out, saying what changed since the lists handed before.

        A row's 状態 is set only where the parse looked at it (``status_skus``), so a
        商品コード of any other row reads as in every list handed out since.
        """
        statuses, skus = self.row_statuses, self.status_skus
        if skus is None:
            statuses.since = ()
        else:
            statuses.since = tuple((token, keys | skus) for token, keys in self.statuses_handed)
        self.statuses_handed = ((statuses.token, frozenset()), *statuses.since[: _HANDED - 1])
        self.status_skus = set()
        return statuses

    def adopt(
        self,
        rows: Mapping[int, tuple[Sequence[Any], Sequence[Any], frozenset[int]]],
        bot_columns: frozenset[int],
        status_col: int | None,
    ) -> None:
        """Rows the bot rewrote only in its own columns (状態, 最終更新) keep their parse.

        ``rows``: grid row → (cells before, cells after, columns written).
        """
        for gi, (old, new, columns) in rows.items():
            kept = self.rows[gi] if gi < len(self.rows) else None
            if kept is None or kept.row is not old or not columns <= bot_columns:
                continue
            kept.row = new
            if status_col is not None and status_col in columns:
                kept.status = cell_text(cell_at(new, status_col))

    def reset(self, header: Sequence[Any], malls: Sequence[str]) -> None:
        """Start over when the header row or the enabled malls changed."""
        if tuple(header) != self.header or tuple(malls) != self.malls:
            self.header, self.malls = tuple(header), tuple(malls)
            self.rows, self.across = [], {}
            self.product_rows, self.duplicate_rows = {}, {}
            self.grid = None


@dataclass(frozen=True)
class _Columns:
    """商品マスタ as this read found it."""

    tab: TabSpec
    hm: HeaderMap
    sku: int
    data: list[int]
    """Columns staff fill (a row with any of them needs a 商品コード)."""
    malls: list[ColumnSpec]
    """Code columns of the enabled malls."""
    besides_stock: tuple[slice, ...] | None
    """The runs of columns other than 在庫数 and the bot's own (状態, 最終更新): what a
    row must read as before for :func:`_restocked` (None: no 在庫数 column)."""
    stock_and_own: frozenset[int] = frozenset()
    """The columns those runs leave out."""
    stock: int | None = None
    status: int | None = None

    @classmethod
    def of(cls, tab: TabSpec, hm: HeaderMap, malls: Sequence[str]) -> _Columns:
        sku = hm.col("sku")
        assert sku is not None  # required
        data = [
            idx
            for c in tab.columns
            if c.owner != "bot" and c.key != "sku" and (idx := hm.col(c.key)) is not None
        ]
        codes = [c for c in tab.columns if c.mall is not None and c.mall in malls]
        stock = hm.col("stock")
        own = {i for c in tab.columns if c.owner == "bot" and (i := hm.col(c.key)) is not None}
        besides = None if stock is None else _runs_besides({stock, *own})
        skipped = frozenset(own if stock is None else {stock, *own})
        return cls(tab, hm, sku, data, codes, besides, skipped, stock, hm.col("status"))


def _runs_besides(skipped: set[int]) -> tuple[slice, ...]:
    """Slices of a row covering every column but ``skipped``: {2, 8} → [:2], [3:8], [9:]."""
    runs: list[slice] = []
    start = 0
    for col in sorted(skipped):
        if col > start:
            runs.append(slice(start, col))
        start = col + 1
    return (*runs, slice(start, None))


_HANDED = 3
"""How many earlier maps a map says its changes since (a step may skip a read or two)."""

CodeCheck = Callable[[str], str | None]
"""A channel's ``code_problem``: why a code can never be its code (Japanese), or None."""


def parse_products(
    ctx: ParseContext,
    set_skus: set[str],
    code_checks: Mapping[str, CodeCheck] | None = None,
    memo: ProductsMemo | None = None,
) -> dict[str, Product]:
    """The valid products of 商品マスタ by 商品コード; problems go to ``ctx``.

    ``code_checks`` holds each channel's declared code check: a code it refuses makes
    the row a problem now (状態, エラーログ), not a push failure later. ``memo`` keeps
    rows between parses (the gateway's, across cycles); without it every row is read.
    """
    got = ctx.rows_of("products")
    if got is None:
        return {}
    tab, hm, grid = got
    memo = memo if memo is not None else ProductsMemo()
    memo.reset(grid[0] if grid else [], ctx.malls)
    cols = _Columns.of(tab, hm, ctx.malls)
    readers = {
        mall: _code_reader(ctx.canonical.get(mall), (code_checks or {}).get(mall))
        for mall in ctx.malls
    }
    looked, keys_moved = _drafts(ctx, cols, grid, set_skus, readers, memo)
    if keys_moved:
        drafts = [r.draft for r in memo.rows if r is not None and r.draft is not None]
        memo.across = {}
        memo.product_rows, memo.duplicate_rows = _check_duplicate_skus(
            ctx, cols, drafts, memo.across
        )
        _check_shared_codes(ctx, cols, drafts, memo.across)
    if looked is None or keys_moved or not _patch(memo, looked):
        _rebuild(memo)
    memo.grid, memo.set_skus = grid, frozenset(set_skus)
    return _emit(ctx, memo)


def _drafts(
    ctx: ParseContext,
    cols: _Columns,
    grid: Sequence[Sequence[Any]],
    set_skus: set[str],
    readers: Mapping[str, Callable[[str], str] | None],
    memo: ProductsMemo,
) -> tuple[list[int] | None, bool]:
    """Parse again the rows that changed; the rows looked at (None: every row).

    Only rows that are not the same list as in the last parse (or whose negative
    在庫数 was read against the bot's own) are looked at: a 100,000-row sheet with a
    hundred edits costs a hundred rows. Returns them and whether any row's 商品コード
    or codes changed (the checks across rows must then run again).
    """
    rows = _rows_to_look_at(memo, grid, set_skus)
    keys_moved = len(grid) != len(memo.rows)
    if keys_moved:
        memo.rows = (memo.rows + [None] * len(grid))[: len(grid)]
    memo.reparsed = memo.restocked = 0
    statuses = RowStatuses(memo.row_statuses)  # a copy: the last read holds the last list
    del statuses[len(grid) :]
    statuses.extend([""] * (len(grid) - len(statuses)))
    memo.row_statuses = statuses
    if rows is None:
        memo.status_skus = None
    bot_stock = ctx.bot_stock
    for gi in range(1, len(grid)) if rows is None else rows:
        row = grid[gi]
        kept = memo.rows[gi]
        sku_hint = kept.draft.sku if kept is not None and kept.draft is not None else None
        if (
            kept is None
            or not identical(kept.row, row)
            or (kept.asked and kept.bot_stock != bot_stock.get(sku_hint or ""))
            or kept.is_set != (sku_hint in set_skus)
        ):
            if kept is not None and _restocked(cols, kept, row, gi, set_skus):
                memo.restocked += 1  # its 商品コード and codes as they were
            else:
                old, kept = kept, _parse_row(ctx, cols, row, gi, set_skus, readers)
                memo.reparsed += 1
                memo.rows[gi] = kept
                if not _same_key(kept.draft, old.draft if old is not None else None):
                    keys_moved = True
        _remember(memo, gi, kept)
    return rows, keys_moved


def _rows_to_look_at(
    memo: ProductsMemo, grid: Sequence[Sequence[Any]], set_skus: set[str]
) -> list[int] | None:
    """Grid rows that may have changed since the last parse; None: every row.

    The rows the grid cache logged as given other lists when it knows them
    (:attr:`ProductsMemo.changes`, for this very grid against the last), else every
    row compared by identity.
    """
    last, changes = memo.grid, memo.changes
    memo.changes = None
    if last is None or len(last) != len(grid) or len(memo.rows) != len(grid):
        return None
    if set_skus != memo.set_skus:
        return None
    if changes is not None and changes.since is last and changes.now is grid:
        moved: Iterable[int] = (gi for gi in changes.rows if gi < len(grid))
    else:
        moved = _every_row_compared(last, grid)
    return sorted({*moved, *memo.asked} - {0})


def _every_row_compared(last: Sequence[Any], grid: Sequence[Any]) -> Iterable[int]:
    """The grid rows that are not the same list as in ``last`` (C speed, every row)."""
    return compress(range(len(grid)), map(is_not, last, grid))


def _remember(memo: ProductsMemo, gi: int, kept: _Row) -> None:
    """The row's own outputs (状態 text, notes, whether it asked) into the memo."""
    memo.row_statuses[gi] = kept.status
    if memo.status_skus is not None and kept.draft is not None:
        memo.status_skus.add(kept.draft.sku)
    if kept.notes:
        memo.notes[gi] = kept.notes
    else:
        memo.notes.pop(gi, None)
    if kept.asked:
        memo.asked.add(gi)
    else:
        memo.asked.discard(gi)


def _same_key(a: _Draft | None, b: _Draft | None) -> bool:
    """Whether two drafts hold the same 商品コード and codes (both None: no row's)."""
    if a is None or b is None:
        return a is b
    return a.sku == b.sku and a.codes == b.codes


def _parse_row(
    ctx: ParseContext,
    cols: _Columns,
    row: Sequence[Any],
    gi: int,
    set_skus: set[str],
    readers: Mapping[str, Callable[[str], str] | None],
) -> _Row:
    """One row read cell by cell, with what it reported on its own."""
    before = len(ctx.problems)
    draft = _draft(ctx, cols, row, gi, set_skus, readers)
    notes = tuple(ctx.problems[before:])  # () is one shared object
    del ctx.problems[before:]
    sku = draft.sku if draft is not None else ""
    asked = sku in ctx.asked_bot_stock
    return _Row(
        row=row,
        is_set=draft is not None and draft.sku in set_skus,
        bot_stock=ctx.bot_stock.get(sku) if asked else None,
        asked=asked,
        status=cell_text(cell_at(row, cols.status)),
        draft=draft,
        notes=notes,
    )


def _restocked(cols: _Columns, kept: _Row, row: Sequence[Any], gi: int, set_skus: set[str]) -> bool:
    """Take ``row`` into ``kept`` when only its 在庫数 changed, to a count ≥ 0; False: parse it.

    That is most rows a cycle parses again: an order (the bot wrote 在庫数, 状態 and
    最終更新) or a count typed. The cells the parse reads besides 在庫数 and 状態 read
    as before, so the product is the last one with the new 在庫数, exactly what
    :func:`_parse_row` would build, without reading the name, rule and codes again (the
    codes' checks are most of a row's parse). Only a row last read without a problem
    or a note is taken so. A count ≥ 0 reads as itself in a set row too
    (:func:`_set_stock`) and asks for no bot stock. ``kept`` is the memo's own (nothing
    else holds it) and is updated in place: its 商品コード and codes stay, so the checks
    across rows need not run again.
    """
    d = kept.draft
    if kept.notes or cols.besides_stock is None or d is None or d.product is None:
        return False  # (a draft with a problem of its own has no product)
    stock = cell_at(row, cols.stock)
    if _plain("stock", stock) is _PARSE:
        return False
    old = kept.row
    if not _same_cells_besides(row, old, cols.stock_and_own) and not all(
        _reads_as(row[run], old[run]) for run in cols.besides_stock
    ):
        return False
    kept.row, kept.is_set, kept.bot_stock, kept.asked = row, d.sku in set_skus, None, False
    kept.status = cell_text(cell_at(row, cols.status))
    kept.draft = _Draft(gi, d.sku, codes=d.codes, product=_with_stock(d.product, stock))
    return True


def _same_cells_besides(row: Sequence[Any], old: Sequence[Any], skipped: frozenset[int]) -> bool:
    """Whether every cell outside ``skipped`` is the very object it was (so reads alike).

    The usual restocked row: the grid cache copies a row to set its 在庫数 or the bot's
    cells, so the rest are the same objects — one pass at C speed instead of a slice
    and a type list per run (:func:`_reads_as` then decides the others).
    """
    return len(row) == len(old) and skipped.issuperset(compress(count(), map(is_not, row, old)))


_PRODUCT_FIELDS = tuple(f.name for f in fields(Product))
_product_values = attrgetter(*_PRODUCT_FIELDS)
_STOCK_AT = _PRODUCT_FIELDS.index("stock")


def _with_stock(product: Product, stock: int) -> Product:
    """``replace(product, stock=stock)``: every field an argument, in order.

    Without ``replace``'s walk over the fields on every call (a third of the time: a
    cycle restocks a thousand rows at 100k).
    """
    values = list(_product_values(product))
    values[_STOCK_AT] = stock
    return Product(*values)


def _reads_as(a: Sequence[Any], b: Sequence[Any]) -> bool:
    """Two runs of a row's cells that every reader reads alike.

    The same cells, each of the same type, but for blanks at the end of one: a read row
    ends at its last filled cell (最終更新 written after blank code columns lengthens
    it), and past the end reads as blank (``cells.is_blank``, ``cell_text``).
    """
    if identical(a, b):
        return True
    short, long = (a, b) if len(a) < len(b) else (b, a)
    n = len(short)
    return n < len(long) and identical(short, long[:n]) and all(c == "" for c in long[n:])


def _code_reader(
    canon: Callable[[str], str] | None, check: CodeCheck | None
) -> Callable[[str], str] | None:
    """The channel's check, then its canonical form; ValueError carries the reason."""
    if check is None:
        return canon

    def read(code: str) -> str:
        reason = check(code)
        if reason is not None:
            raise ValueError(reason)
        return canon(code) if canon is not None else code

    return read


def _draft(
    ctx: ParseContext,
    cols: _Columns,
    row: Sequence[Any],
    gi: int,
    set_skus: set[str],
    readers: Mapping[str, Callable[[str], str] | None],
) -> _Draft | None:
    """One row read cell by cell; None for a row without 商品コード."""
    tab, r = cols.tab, ctx.r
    raw_sku = cell_at(row, cols.sku)
    header = tab.column("sku").header
    if is_blank(raw_sku):
        if any(not is_blank(cell_at(row, idx)) for idx in cols.data):
            message = r.msg("blank_key", cell=a1(gi, cols.sku), header=header)
            ctx.problems.append(ctx.problem(tab, gi, message, column="sku"))
        return None
    try:
        sku = r.key_cell(raw_sku, a1(gi, cols.sku), header)
    except Bad as bad:
        ctx.problems.append(ctx.problem(tab, gi, bad.message, column="sku"))
        return None
    draft = _Draft(gi, sku)
    values: dict[str, Any] = {}
    _product_cells(ctx, cols, row, draft, values, is_set=sku in set_skus)
    _code_cells(ctx, cols, row, draft, readers)
    if not draft.problems:  # built now, so the cells read need not be kept
        draft.product = _product(draft, values)
    return draft


def _product_cells(
    ctx: ParseContext,
    cols: _Columns,
    row: Sequence[Any],
    d: _Draft,
    values: dict[str, Any],
    *,
    is_set: bool,
) -> None:
    """The row's product cells into ``values``; what it cannot be goes to the problems."""
    r, hm, sku = ctx.r, cols.hm, d.sku
    name_col = hm.col("name")
    if name_col is not None:
        values["name"] = cell_text(cell_at(row, name_col))
    if is_set:
        _set_stock(ctx, cols, row, d, values)
    else:
        _cell(ctx, cols, row, d, values, "stock", lambda raw, c, hd: _stock(ctx, raw, c, hd, sku))
    _cell(ctx, cols, row, d, values, "rule", r.rule_cell)
    _cell(ctx, cols, row, d, values, "low_stock", r.non_negative)
    _cell(ctx, cols, row, d, values, "alloc_threshold", r.non_negative)
    _cell(ctx, cols, row, d, values, "stop_sync", r.bool_cell)
    _older_sync_column(hm, values)
    _cell(ctx, cols, row, d, values, "backorder", r.bool_cell)


def _set_stock(
    ctx: ParseContext, cols: _Columns, row: Sequence[Any], d: _Draft, values: dict[str, Any]
) -> None:
    """The bot computes a set row's 在庫数; whatever is there is not a stocktake."""
    idx = cols.hm.col("stock")
    if idx is None:
        return
    try:
        cell = a1(d.grid_row, idx)
        values["stock"] = ctx.r.int_cell(cell_at(row, idx), cell, "") or 0
    except Bad:
        values["stock"] = 0


def _cell(
    ctx: ParseContext,
    cols: _Columns,
    row: Sequence[Any],
    d: _Draft,
    values: dict[str, Any],
    key: str,
    read: Callable[[Any, str, str], Any],
) -> None:
    """One cell of the row into ``values``; what it cannot be goes to the problems."""
    idx = cols.hm.col(key)
    if idx is None:
        return
    raw = cell_at(row, idx)
    plain = _plain(key, raw)
    if plain is not _PARSE:
        if plain is not None:
            values[key] = plain
        return
    tab, gi = cols.tab, d.grid_row
    try:
        value = read(raw, a1(gi, idx), tab.column(key).header)
    except Guess as guess:  # the row syncs on the reading the message names
        ctx.problems.append(ctx.problem(tab, gi, guess.message, d.sku, key))
        value = guess.value
    except Bad as bad:
        d.problems += (ctx.problem(tab, gi, bad.message, d.sku, key),)
        return
    if value is not None:
        values[key] = value


_PARSE = object()
"""``_plain``'s answer for a cell the Reader must read."""


def _plain(key: str, raw: Any) -> Any:
    """The cells most rows hold, read without the Reader.

    Blank optional cells (None), checkboxes and whole numbers ≥ 0 as they are;
    ``_PARSE`` for anything else (the Reader reads it and names the cell).
    """
    if key != "stock" and (raw is None or raw == ""):
        return None
    if raw is True or raw is False:
        return raw if key in _CHECKBOXES else _PARSE
    if type(raw) is int and raw >= 0 and key in _COUNTS:
        return raw
    return _PARSE


_CHECKBOXES = frozenset({"stop_sync", "backorder"})
"""Columns read by ``Reader.bool_cell`` (a checkbox reads as True/False)."""
_COUNTS = frozenset({"stock", "low_stock", "alloc_threshold"})
"""Columns whose whole numbers ≥ 0 are taken as they are (``int_cell``/``non_negative``)."""


def _older_sync_column(hm: HeaderMap, values: dict[str, Any]) -> None:
    """A sheet init-sheet has not migrated yet has 連動 (checked = sync): read inverted."""
    if "stop_sync" in hm.inverted and "stop_sync" in values:
        values["stop_sync"] = not values["stop_sync"]


def _stock(ctx: ParseContext, raw: Any, cell: str, header: str, sku: str) -> int:
    r = ctx.r
    if isinstance(raw, str) and cell_text(raw).startswith("+"):
        raise Bad(r.msg("stock_plus_sign", cell=cell, header=header, value=cell_text(raw)))
    value = r.int_cell(raw, cell, header)
    if value is None:
        raise Bad(r.msg("blank_value", cell=cell, header=header))
    if value < 0:
        ctx.asked_bot_stock.add(sku)
    if value < 0 and ctx.bot_stock.get(sku) != value:
        raise Bad(r.msg("negative", cell=cell, header=header, value=value))
    return value


def _code_cells(
    ctx: ParseContext,
    cols: _Columns,
    row: Sequence[Any],
    d: _Draft,
    readers: Mapping[str, Callable[[str], str] | None],
) -> None:
    """The enabled malls' codes of one row (canonical form, duplicates in a cell dropped)."""
    for col in cols.malls:
        idx = cols.hm.col(col.key)
        if idx is None:
            continue
        assert col.mall is not None
        try:
            codes = ctx.r.codes_cell(
                cell_at(row, idx), a1(d.grid_row, idx), col.header, readers.get(col.mall)
            )
        except Bad as bad:
            d.problems += (ctx.problem(cols.tab, d.grid_row, bad.message, d.sku, col.key),)
            continue
        if codes:
            d.codes[col.mall] = codes


def _check_duplicate_skus(
    ctx: ParseContext,
    cols: _Columns,
    drafts: Sequence[_Draft],
    across: dict[int, list[RowProblem]],
) -> tuple[dict[str, int], dict[str, tuple[int, ...]]]:
    """The row of each 商品コード on one row, and the rows of each on several.

    A 商品コード on several rows is a problem on each.
    """
    by_sku: dict[str, list[_Draft]] = defaultdict(list)
    for d in drafts:
        by_sku[d.sku].append(d)
    single: dict[str, int] = {}
    several: dict[str, tuple[int, ...]] = {}
    for sku, group in by_sku.items():
        if len(group) == 1:
            single[sku] = group[0].grid_row
            continue
        several[sku] = tuple(d.grid_row for d in group)
        message = ctx.r.msg(
            "duplicate_key",
            cells=", ".join(a1(d.grid_row, cols.sku) for d in group),
            header=cols.tab.column("sku").header,
            value=sku,
        )
        for d in group:
            problem = ctx.problem(cols.tab, d.grid_row, message, sku, "sku")
            across.setdefault(d.grid_row, []).append(problem)
    return single, several


def _check_shared_codes(
    ctx: ParseContext,
    cols: _Columns,
    drafts: Sequence[_Draft],
    across: dict[int, list[RowProblem]],
) -> None:
    """A mall code written on two products is a problem on both (whose stock is it?)."""
    claims: dict[tuple[str, str], list[_Draft]] = defaultdict(list)
    for d in drafts:
        for mall, codes in d.codes.items():
            for code in codes:
                claims[(mall, code)].append(d)
    column_of = {c.mall: c for c in cols.malls}
    for (mall, code), group in claims.items():
        if len({d.sku for d in group}) < 2:
            continue  # the same product twice is the duplicate 商品コード problem
        col = column_of[mall]
        idx = cols.hm.col(col.key)
        assert idx is not None  # the column its codes were read from
        cells = ", ".join(a1(d.grid_row, idx) for d in group)
        skus = ", ".join(dict.fromkeys(d.sku for d in group))
        message = ctx.r.msg("duplicate_code", cells=cells, header=col.header, value=code, skus=skus)
        for d in group:
            problem = ctx.problem(cols.tab, d.grid_row, message, d.sku, col.key)
            across.setdefault(d.grid_row, []).append(problem)


def _rebuild(memo: ProductsMemo) -> None:
    """The products, the rows with problems and the 状態 by grid row, from every row."""
    memo.valid, memo.bad, memo.touched = {}, {}, None
    memo.row_statuses = RowStatuses(r.status if r is not None else "" for r in memo.rows)
    memo.status_skus = None
    memo.notes = {gi: r.notes for gi, r in enumerate(memo.rows) if r is not None and r.notes}
    memo.asked = {gi for gi, r in enumerate(memo.rows) if r is not None and r.asked}
    for r in memo.rows:
        d = r.draft if r is not None else None
        if d is None:
            continue
        if d.problems or memo.across.get(d.grid_row):
            memo.bad[d.grid_row] = d
        else:
            memo.valid[d.sku] = _built(d)


def _patch(memo: ProductsMemo, looked: Sequence[int]) -> bool:
    """Take in the rows looked at, their keys unchanged; False: rebuild instead.

    A product new to the products (a row's problem fixed) asks for a rebuild, so the
    products stay in row order.
    """
    for gi in looked:
        r = memo.rows[gi]
        d = r.draft if r is not None else None
        if d is None:
            continue
        if memo.touched is not None:
            memo.touched.add(d.sku)
        if d.problems or memo.across.get(gi):
            memo.bad[gi] = d
            memo.valid.pop(d.sku, None)  # its 商品コード is on this row alone
        else:
            memo.bad.pop(gi, None)
            if d.sku not in memo.valid:
                return False
            memo.valid[d.sku] = _built(d)
    return True


def _emit(ctx: ParseContext, memo: ProductsMemo) -> dict[str, Product]:
    """The memo's products into this read: positions, 状態, problems, held codes."""
    out = ctx.out
    out.row_statuses = memo.hand_out_statuses()  # the next parse changes a copy
    out.product_rows, out.duplicate_rows = memo.product_rows, memo.duplicate_rows
    for gi in sorted(memo.notes):
        ctx.problems.extend(memo.notes[gi])
    for gi in sorted(memo.bad):
        d = memo.bad[gi]
        ctx.problems.extend([*d.problems, *memo.across.get(gi, ())])
        ctx.invalid.add(d.sku)
        for mall, codes in d.codes.items():
            for code in codes:
                ctx.held_codes.setdefault(mall, {}).setdefault(code, d.sku)
    return ProductMap(memo.valid)  # ``ProductsMemo.hand_out`` says what changed


def _built(d: _Draft) -> Product:
    """The product of a draft without problems of its own (built as it was read)."""
    assert d.product is not None  # a draft without problems has its product
    return d.product


def _product(d: _Draft, values: Mapping[str, Any]) -> Product:
    return Product(
        sku=d.sku,
        name=values.get("name", ""),
        stock=values.get("stock", 0),
        rule=values.get("rule"),
        low_stock=values.get("low_stock"),
        alloc_threshold=values.get("alloc_threshold"),
        sync=not values.get("stop_sync", False),
        backorder=values.get("backorder", False),
        codes=d.codes,  # the draft is never changed once read: one dict for both
        row=d.grid_row + 1,
    )
