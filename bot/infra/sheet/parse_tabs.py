"""セット構成, 入出庫, 設定, 出品状況 and _state → domain values (problems go to the context)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from operator import is_
from typing import Any

from bot.core.domain import (
    DisplayRule,
    MallSettings,
    Movement,
    RowProblem,
    SetComponent,
    ShopSettings,
)
from bot.infra.sheet.cells import (
    DASHES,
    at_text,
    cell_at,
    cell_text,
    header_key,
    is_blank,
    is_formula,
    nfkc,
)
from bot.infra.sheet.headers import HeaderMap
from bot.infra.sheet.layers import Counts, Grown, K, Layers, OnLayers, V
from bot.infra.sheet.movement_ledger import ident_of
from bot.infra.sheet.parsing import ParseContext
from bot.infra.sheet.reader import Bad, Guess
from bot.infra.sheet.spec import SettingItemSpec, TabSpec
from bot.infra.sheet.values import identical

# --------------------------------------------------------------------------- セット構成


@dataclass(frozen=True)
class _SetColumns:
    set_sku: int
    comp: int
    qty: int
    headers: tuple[str, str, str]


@dataclass
class SetsMemo:
    """セット構成 as last parsed: a cycle whose セット構成 reads the same parses nothing.

    The tab changes only when staff edit it; between whole reads a cycle hands the same
    rows again. What a parse reports (problems, invalid sets) is kept with its result
    and reported again, so a memo hit reads exactly as a parse would.
    """

    grid: list[Sequence[Any]] | None = None
    """The rows last parsed (header first), the very row lists: a row is never changed in
    place once read (the grid cache and the products memo rely on it too), so a grid
    whose rows are these same objects reads as it did."""
    result: tuple[list[SetComponent], set[str]] = ([], set())
    problems: list[RowProblem] = field(default_factory=list)
    invalid: set[str] = field(default_factory=set)


def parse_sets(
    ctx: ParseContext, memo: SetsMemo | None = None
) -> tuple[list[SetComponent], set[str]]:
    """Valid set components, and every セット商品コード named (valid or not)."""
    got = ctx.rows_of("sets")
    if got is None:
        return [], set()
    grid = got[2]
    if memo is not None and memo.grid is not None and _same_grid(memo.grid, grid):
        ctx.problems.extend(memo.problems)
        ctx.invalid |= memo.invalid
        return list(memo.result[0]), set(memo.result[1])
    before, invalid = len(ctx.problems), set(ctx.invalid)
    result = _parse_sets(ctx, *got)
    if memo is not None:
        memo.grid, memo.result = list(grid), (list(result[0]), set(result[1]))
        memo.problems, memo.invalid = ctx.problems[before:], ctx.invalid - invalid
    return result


def _same_grid(a: Sequence[Sequence[Any]], b: Sequence[Sequence[Any]]) -> bool:
    """Whether each row of ``a`` is :func:`identical` to ``b``'s at its place.

    At C speed: the usual grid is the grid cache's, the very rows as last parsed (セット構成
    is read again only with the window that ends a sweep, and an unchanged row keeps its
    list); else the rows by value, then the types of all their cells at once (value-equal
    rows are as long, so their cells line up). At 100k tens of thousands of rows are
    compared every cycle: a call of ``identical`` per row cost ~2 ms.
    """
    if len(a) != len(b):
        return False
    if all(map(is_, a, b)):
        return True
    return a == b and identical([*chain.from_iterable(a)], [*chain.from_iterable(b)])


def _parse_sets(
    ctx: ParseContext, tab: TabSpec, hm: HeaderMap, grid: Sequence[Sequence[Any]]
) -> tuple[list[SetComponent], set[str]]:
    c_set, c_comp, c_qty = hm.col("set_sku"), hm.col("component_sku"), hm.col("qty")
    assert c_set is not None and c_comp is not None and c_qty is not None
    h_set, h_comp, h_qty = (tab.column(k).header for k in ("set_sku", "component_sku", "qty"))
    cols = _SetColumns(c_set, c_comp, c_qty, (h_set, h_comp, h_qty))
    good: list[SetComponent] = []
    set_skus: set[str] = set()
    bad_sets: set[str] = set()
    seen: dict[tuple[str, str], list[int]] = defaultdict(list)
    for gi in range(1, len(grid)):
        raws = [cell_at(grid[gi], c) for c in (c_set, c_comp, c_qty)]
        if all(is_blank(v) for v in raws):
            continue
        set_sku = _set_sku(ctx, tab, cols, gi, raws[0])
        if set_sku is None:
            continue
        set_skus.add(set_sku)
        try:
            comp, qty = _component(ctx, tab, cols, gi, set_sku, raws)
        except Bad as bad:
            ctx.problems.append(ctx.problem(tab, gi, bad.message, set_sku, "qty"))
            bad_sets.add(set_sku)
            continue
        seen[(set_sku, comp)].append(gi)
        good.append(SetComponent(set_sku=set_sku, component_sku=comp, qty=qty, row=gi + 1))
    bad_sets |= _duplicate_components(ctx, tab, c_comp, seen)
    ctx.invalid |= bad_sets
    return [c for c in good if c.set_sku not in bad_sets], set_skus


def _set_sku(ctx: ParseContext, tab: TabSpec, cols: _SetColumns, gi: int, raw: Any) -> str | None:
    """The row's セット商品コード; None (problem recorded) when unusable."""
    cell = ctx.cell_name(tab, gi, cols.set_sku)
    try:
        set_sku = ctx.r.key_cell(raw, cell, cols.headers[0])
    except Bad as bad:
        ctx.problems.append(ctx.problem(tab, gi, bad.message, column="set_sku"))
        return None
    if not set_sku:
        message = ctx.r.msg("blank_key", cell=cell, header=cols.headers[0])
        ctx.problems.append(ctx.problem(tab, gi, message, column="set_sku"))
        return None
    return set_sku


def _component(
    ctx: ParseContext, tab: TabSpec, cols: _SetColumns, gi: int, set_sku: str, raws: list[Any]
) -> tuple[str, int]:
    """(構成商品コード, 数量) of one row; raises Bad."""
    r = ctx.r
    h_comp, h_qty = cols.headers[1], cols.headers[2]
    comp_cell = ctx.cell_name(tab, gi, cols.comp)
    comp = r.key_cell(raws[1], comp_cell, h_comp)
    if not comp:
        raise Bad(r.msg("blank_value", cell=comp_cell, header=h_comp))
    if comp == set_sku:
        raise Bad(r.msg("set_self", cell=comp_cell, header=h_comp, value=comp))
    qty_cell = ctx.cell_name(tab, gi, cols.qty)
    qty = r.int_cell(raws[2], qty_cell, h_qty)
    if qty is None:
        raise Bad(r.msg("blank_value", cell=qty_cell, header=h_qty))
    if qty < 1:
        raise Bad(r.msg("qty_min_one", cell=qty_cell, header=h_qty, value=qty))
    return comp, qty


def _duplicate_components(
    ctx: ParseContext, tab: TabSpec, c_comp: int, seen: dict[tuple[str, str], list[int]]
) -> set[str]:
    """Sets naming one component on several rows (a problem on each row)."""
    bad: set[str] = set()
    for (set_sku, comp), rows in seen.items():
        if len(rows) < 2:
            continue
        message = ctx.r.msg(
            "set_duplicate", cells=ctx.cells_name(tab, rows, c_comp), set_sku=set_sku, value=comp
        )
        for gi in rows:
            ctx.problems.append(ctx.problem(tab, gi, message, set_sku, "component_sku"))
        bad.add(set_sku)
    return bad


# --------------------------------------------------------------------------- 入出庫

_MOVEMENT_KEYS = ("at", "sku", "qty", "kind", "memo")
"""The cells a movement's fingerprint is made of (反映 is not one of them)."""


@dataclass(frozen=True)
class MovementsPrefix:
    """The settled top of 入出庫 as one parse saw it, so the next need not parse it again.

    Settled rows are blank or marked 済 (with the bot's identity or, from before
    identities, without): parsing them gives no problem and nothing to apply, only
    keys, marks and the done movements the engine checks copies and edits against.
    ``rows`` grid rows (the header and the settled rows below it, ending on a 済 row)
    are covered; 入出庫 then continues at grid row ``rows``.

    A parse given a prefix (:func:`parse_movements`) takes all this as it is and parses
    only the rows after it: the same result as a parse of the whole tab while those rows
    are unchanged. That is the caller's to know (:meth:`join` checks a partial read's
    boundary row and that no row of the top turns up below it; the gateway checks the
    top's key columns on a cadence, :mod:`bot.infra.sheet.movements_read`). The done
    movements are the same objects each time, so the engine can skip them by identity.
    """

    rows: int
    cells: tuple[Sequence[Any], ...]
    """The covered grid rows as read (header first)."""
    occurrences: Mapping[str, int]
    """Fingerprint → rows holding it among the covered ones (the next row's ``-n``).

    This and the other maps of a day-long top are :class:`~bot.infra.sheet.layers.Layers`
    as a parse makes them: the next top shares them and stacks its new rows' on."""
    movement_rows: Mapping[str, int]
    """What parsing them put in ``SheetRead.movement_rows`` (key → grid row)."""
    marks: Mapping[int, str]
    """What parsing them put in ``SheetRead.mark_by_row`` (grid row → 反映 text)."""
    done: tuple[Movement, ...]
    """The 済 rows with identity as movements, in sheet order."""
    key_columns: tuple[int, int, int]
    """(商品コード, 数量, 反映) columns: what a check of the covered rows compares."""
    idents: Mapping[str, None]
    """The identities in the covered rows' 反映 cells (the keys)."""
    key_cells: tuple[Grown[Any], ...] = ()
    """Each of :attr:`key_columns` from grid row 1 to the row above the boundary, as a
    COLUMNS-major read gives it but for trailing blanks ("" for a blank cell): what the
    check of the top compares with (:func:`bot.infra.sheet.movements_read.top_unchanged`).
    Grown with the top, shared between reads."""

    @property
    def tail_row(self) -> int:
        """1-based sheet row to read 入出庫 from for :meth:`join`: the last covered row."""
        return self.rows

    def join(self, tail: Sequence[Sequence[Any]]) -> list[Sequence[Any]] | None:
        """入出庫 as a whole-tab read would give it, from the rows read from :attr:`tail_row` on.

        None when ``tail`` does not start with the last covered row as it was (rows
        inserted or deleted above it, or it changed), or when a row below it carries an
        identity of the covered rows: read the whole tab then. That row is a copy staff
        made, or a row a sort took from the top while the boundary row kept its place;
        joined to the top as it was, the latter would be there twice and be applied again.
        """
        if not tail or list(tail[0]) != list(self.cells[-1]):
            return None
        mark = self.key_columns[2]
        for row in tail[1:]:
            if mark < len(row) and row[mark] and ident_of(cell_text(row[mark])) in self.idents:
                return None
        return [*self.cells, *tail[1:]]

    def fits(self, grid: Sequence[Sequence[Any]]) -> bool:
        """Whether ``grid`` starts with the covered rows (header and boundary checked)."""
        return (
            len(grid) >= self.rows
            and list(grid[0]) == list(self.cells[0])
            and list(grid[self.rows - 1]) == list(self.cells[-1])
        )

    def covers(self, grid_rows: Iterable[int]) -> bool:
        """Whether a write to one of ``grid_rows`` lands in the covered rows (stale after)."""
        return any(0 < row < self.rows for row in grid_rows)


def parse_movements(ctx: ParseContext, prefix: MovementsPrefix | None = None) -> list[Movement]:
    """入出庫 rows the engine decides on; keys, marks and problems go to ``ctx.out``.

    Pending rows (no 済) that can be applied, and 済 rows carrying the identity the bot
    wrote (``済 … #M20261123-0007``), so the engine can tell a copy or an edit of an
    applied row (see ``stock.apply_movements``). A 済 mark without identity, written
    before identities existed, is left alone as before.

    With ``prefix`` (from an earlier parse, its rows unchanged since) only the rows
    after it are parsed; it is ignored when the grid does not start with its rows.
    The settled top of this parse goes to ``ctx.out.movements_prefix`` for the next.
    """
    got = ctx.rows_of("movements")
    if got is None:
        return []
    tab, hm, grid = got
    scan = _MovementScan(ctx, tab, hm, grid)
    if prefix is not None and prefix.fits(grid):
        scan.resume(prefix)
    scan.run()
    return scan.out


class _MovementScan:
    """One pass over 入出庫 rows (from the top, or after a :class:`MovementsPrefix`)."""

    def __init__(self, ctx: ParseContext, tab: TabSpec, hm: HeaderMap, grid: list[list[Any]]):
        self.ctx, self.tab, self.hm, self.grid = ctx, tab, hm, grid
        self.done_word = nfkc(ctx.tpl.words.movement_done_prefix)
        self.cols = [(k, hm.col(k)) for k in _MOVEMENT_KEYS]
        self.c_mark = hm.col("applied")
        assert self.c_mark is not None
        self.start = 1
        self.base: Mapping[str, int] = {}
        self.counts: dict[str, int] = defaultdict(int)
        self.out: list[Movement] = []
        self.reused: MovementsPrefix | None = None
        self.settled_to = 1  # rows [1, settled_to) are settled, ending on a 済 row
        self.idents: list[str] = []  # of the 済 rows scanned (all settled until a pending one)
        self.texts: dict[str, str] = {}  # each text scanned, the first object read with it

    def resume(self, prefix: MovementsPrefix) -> None:
        """Take the covered rows' result as it is; the scan starts after them."""
        self.start = self.settled_to = prefix.rows
        self.base = prefix.occurrences
        # The top's maps are shared, not copied: this parse's entries go on top of them
        self.ctx.out.movement_rows = OnLayers(Layers.of(prefix.movement_rows))
        self.ctx.out.mark_by_row = OnLayers(Layers.of(prefix.marks))
        self.out = list(prefix.done)
        self.reused = prefix

    def run(self) -> None:
        settled = True
        for gi in range(self.start, len(self.grid)):
            row = self.grid[gi]
            raws = {k: cell_at(row, c) for k, c in self.cols}
            if all(is_blank(v) for v in raws.values()):
                continue
            mark = cell_text(cell_at(row, self.c_mark))
            done = mark.startswith(self.done_word)
            if settled and not done:
                settled = False
                self.ctx.out.movements_prefix = self.prefix()
            if done and settled:
                self.settled_to = gi + 1
            self.row(gi, raws, mark, done)
        if settled:
            self.ctx.out.movements_prefix = self.prefix()

    def row(self, gi: int, raws: dict[str, Any], mark: str, done: bool) -> None:
        """One non-blank row."""
        ctx = self.ctx
        texts = {k: self.share(cell_text(v)) for k, v in raws.items()}
        digest = _fingerprint(texts)
        key = f"{digest}-{self.base.get(digest, 0) + self.counts[digest]}"
        self.counts[digest] += 1
        if done:
            ident = ident_of(mark)
            if ident:
                ctx.out.movement_rows[key] = gi
                ctx.out.mark_by_row[gi] = mark
                applied = _applied_qty(ctx, raws)
                at = self.share(at_text(raws["at"]))
                self.out.append(_movement(gi, key, digest, texts, at, applied, ident))
                self.idents.append(ident)
            return
        ctx.out.movement_rows[key] = gi
        if mark:
            ctx.out.movement_marks[key] = mark
            ctx.out.mark_by_row[gi] = mark
        try:
            qty = _movement_qty(ctx, self.tab, self.hm, gi, raws)
        except Bad as bad:
            problem = ctx.problem(self.tab, gi, bad.message, texts["sku"], "qty")
            ctx.problems.append(problem)
            ctx.out.movement_problems[key] = problem
            return
        self.out.append(_movement(gi, key, digest, texts, self.share(at_text(raws["at"])), qty))

    def share(self, text: str) -> str:
        """``text`` as the first object this scan read it as (see :meth:`compact`)."""
        return self.texts.setdefault(text, text)

    def compact(self, row: Sequence[Any]) -> list[Any]:
        """A settled row as kept in the top: its cells, each text the scan's shared object.

        The top is kept for the process's life, ~200 rows a cycle at 100,000 products,
        and staff type the same 区分, メモ and 日時 down many rows (the bot's identity
        marks differ): the scan's movements take one string per distinct text
        (:meth:`share`), and so do the rows kept, instead of each its own as decoded.
        The cells read exactly as before (equal values, a list as a read gives it).
        """
        texts = self.texts
        return [texts.get(c, c) if type(c) is str else c for c in row]

    def prefix(self) -> MovementsPrefix:
        """The settled rows seen so far (called before any pending row is taken in)."""
        rows = self.settled_to
        if self.reused is not None and rows == self.reused.rows:
            return self.reused  # nothing settled after it: the same object
        sku, qty = self.hm.col("sku"), self.hm.col("qty")
        assert sku is not None and qty is not None and self.c_mark is not None
        reused = self.reused
        kept = reused.cells if reused is not None else ()
        cells = (*kept, *map(self.compact, self.grid[len(kept) : rows]))
        key_columns = (sku, qty, self.c_mark)
        if reused is not None and reused.key_cells and reused.key_columns == key_columns:
            start, columns = max(1, reused.rows - 1), reused.key_cells
        else:
            start, columns = 1, tuple(Grown[Any]() for _ in key_columns)
        added = cells[start : rows - 1]  # (the top's rows: their texts shared)
        return MovementsPrefix(
            rows=rows,
            cells=cells,
            occurrences=Counts.of(self.base).stacked(self.counts),
            movement_rows=_stacked(self.ctx.out.movement_rows),
            marks=_stacked(self.ctx.out.mark_by_row),
            done=tuple(self.out),
            key_columns=key_columns,
            idents=Layers.of(reused.idents if reused else {}).stacked(dict.fromkeys(self.idents)),
            key_cells=tuple(
                column.grown(_api_cell(row, c) for row in added)
                for column, c in zip(columns, key_columns, strict=True)
            ),
        )


def _api_cell(row: Sequence[Any], col: int) -> Any:
    """Cell ``col`` of ``row`` as a read gives it inside a column ("" for a blank)."""
    value = row[col] if col < len(row) else ""
    return "" if value is None else value


def _stacked(entries: Mapping[K, V]) -> Layers[K, V]:
    """A scan's map as layers: its own entries stacked on the shared ones it started from."""
    if isinstance(entries, OnLayers):
        return entries.base.stacked(entries.own)
    empty: Layers[K, V] = Layers()
    return empty.stacked(entries)


def _movement(
    gi: int,
    key: str,
    digest: str,
    texts: dict[str, str],
    at: str,
    qty: int,
    ident: str = "",
) -> Movement:
    """A row's Movement, built once (a 済 row's with its identity)."""
    return Movement(
        key=key,
        sku=texts["sku"],
        qty=qty,
        kind=texts["kind"],
        memo=texts["memo"],
        at=at,
        row=gi + 1,
        done=bool(ident),
        ident=ident,
        fingerprint=digest,
    )


def _fingerprint(texts: dict[str, str]) -> str:
    """Digest of a row's cells, 反映 excluded: the same row reads the same anywhere."""
    return hashlib.sha1("\x1f".join(texts[k] for k in _MOVEMENT_KEYS).encode()).hexdigest()[:16]


def _applied_qty(ctx: ParseContext, raws: dict[str, Any]) -> int:
    """数量 of a 済 row as it reads now (0 when it cannot be read: no movement)."""
    try:
        return ctx.r.int_cell(raws["qty"], "", "") or 0
    except Bad:
        return 0


def _movement_qty(
    ctx: ParseContext, tab: TabSpec, hm: HeaderMap, gi: int, raws: dict[str, Any]
) -> int:
    """The row's 数量 once its 商品コード is usable; raises Bad.

    Cells are named (A1) only for a message: most rows hold a plain whole number.
    """
    r = ctx.r
    c_sku, c_qty = hm.col("sku"), hm.col("qty")
    assert c_sku is not None and c_qty is not None
    raw_sku = raws["sku"]
    if is_formula(raw_sku) or not cell_text(raw_sku):
        sku_cell, sku_header = ctx.cell_name(tab, gi, c_sku), tab.column("sku").header
        word = "formula_text" if is_formula(raw_sku) else "blank_key"
        raise Bad(r.msg(word, cell=sku_cell, header=sku_header))
    raw = raws["qty"]
    if type(raw) is int and raw:  # what Reader.int_cell reads it as
        return raw
    qty_cell, qty_header = ctx.cell_name(tab, gi, c_qty), tab.column("qty").header
    qty = r.int_cell(raw, qty_cell, qty_header)
    if not qty:
        raise Bad(r.msg("qty_nonzero", cell=qty_cell, header=qty_header))
    return qty


# --------------------------------------------------------------------------- 設定


def parse_settings(ctx: ParseContext) -> ShopSettings:
    """設定 as ShopSettings; an unknown item or unreadable value is a problem (default used)."""
    got = ctx.rows_of("settings")
    if got is None:
        return ShopSettings()
    tab, hm, grid = got
    lookup = ctx.tpl.setting_lookup
    c_item = hm.col("item")
    assert c_item is not None
    shop: dict[str, Any] = {}
    per_mall: dict[str, dict[str, Any]] = defaultdict(dict)
    seen: dict[tuple[str | None, str], list[int]] = defaultdict(list)
    for gi in range(1, len(grid)):
        label = cell_text(cell_at(grid[gi], c_item))
        if not label:
            continue
        found = lookup.get(header_key(label))
        if found is None:
            cell = ctx.cell_name(tab, gi, c_item)
            message = ctx.r.msg("setting_unknown", cell=cell, value=label)
            ctx.problems.append(ctx.problem(tab, gi, message, column="item"))
            continue
        mall, item = found
        seen[(mall, item.key)].append(gi)
        if len(seen[(mall, item.key)]) > 1:
            continue
        value = _setting_cell(ctx, tab, hm, (gi, grid[gi]), label, item)
        if value is not None:
            (shop if mall is None else per_mall[mall])[item.key] = value
    for rows in seen.values():
        if len(rows) > 1:
            label = cell_text(cell_at(grid[rows[0]], c_item))
            cells = ctx.cells_name(tab, rows, c_item)
            message = ctx.r.msg("setting_duplicate", cells=cells, item=label)
            ctx.problems.append(ctx.problem(tab, rows[1], message, column="item"))
    shop["malls"] = {m: MallSettings(**v) for m, v in per_mall.items()}
    return ShopSettings(**shop)


def _setting_cell(
    ctx: ParseContext,
    tab: TabSpec,
    hm: HeaderMap,
    at: tuple[int, Sequence[Any]],
    label: str,
    item: SettingItemSpec,
) -> Any:
    """One 設定 row's value; None when blank or not understood (a problem is recorded)."""
    gi, row = at
    c_value = hm.col("value")
    assert c_value is not None
    raw = cell_at(row, c_value)
    try:
        return _setting_value(ctx, item, raw, ctx.cell_name(tab, gi, c_value), label)
    except Guess as guess:  # a number in a 表示在庫設定 row: used as the message says
        ctx.problems.append(ctx.problem(tab, gi, guess.message, column="value"))
        return guess.value
    except Bad:
        expected = ctx.tpl.settings.expected[item.kind].format(min=item.min, max=item.max)
        message = ctx.r.msg(
            "setting_bad",
            cell=ctx.cell_name(tab, gi, c_value),
            item=label,
            value=cell_text(raw),
            expected=expected,
            default=item.default if item.default != "" else ctx.tpl.words.blank,
        )
        ctx.problems.append(ctx.problem(tab, gi, message, column="value"))
        return None


def _setting_value(
    ctx: ParseContext, item: SettingItemSpec, raw: Any, cell: str, label: str
) -> Any:
    """The typed value of a 設定 cell; None = blank (use the default); Bad if not understood.

    Raises :class:`Guess` for a number in a 表示在庫設定 row (see ``Reader.rule_cell``).
    """
    r = ctx.r
    if item.kind == "link":
        return None  # for staff to open (使い方ガイド); whatever is there is fine
    if is_formula(raw):
        raise Bad("formula")
    if item.kind == "bool":
        try:
            return r.bool_word(raw)
        except ValueError:
            raise Bad("bool") from None
    if item.kind == "rule":
        return _setting_rule(ctx, raw, cell, label)
    if item.kind == "allocation":
        word = header_key(cell_text(raw))
        if not word:
            return None
        if word in {header_key(w) for w in ctx.tpl.words.allocation_auto}:
            return "auto"
        if word in {header_key(w) for w in ctx.tpl.words.allocation_off}:
            return "off"
    value = r.int_cell(raw, "", "")
    if value is None:
        return None
    low = item.min if item.min is not None else 0
    if value < low or (item.max is not None and value > item.max):
        raise Bad("range")
    return value


def _setting_rule(ctx: ParseContext, raw: Any, cell: str, label: str) -> DisplayRule | None:
    """A mall's default 表示在庫設定; a number is read as in 商品マスタ (raises Guess)."""
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return ctx.r.rule_cell(raw, cell, label)
    try:
        return DisplayRule.parse(cell_text(raw).translate(DASHES))
    except ValueError:
        raise Bad("rule") from None


# --------------------------------------------------------------------------- 出品状況, _state


def parse_listings(ctx: ParseContext) -> set[tuple[str, str]]:
    """Listings ticked 再送; every listing's row and 理由 go to ``ctx.out``."""
    got = ctx.rows_of("listings")
    if got is None:
        return set()
    _tab, hm, grid = got
    resend: set[tuple[str, str]] = set()
    for gi in range(1, len(grid)):
        row = grid[gi]
        mall = ctx.tpl.mall_key(cell_text(cell_at(row, hm.col("mall"))))
        code = cell_text(cell_at(row, hm.col("code")))
        if mall is None or not code:
            continue
        if (mall, code) not in ctx.out.listing_rows:
            ctx.out.listing_rows[(mall, code)] = gi
            ctx.out.listing_reasons[(mall, code)] = cell_text(cell_at(row, hm.col("reason")))
        try:
            ticked = ctx.r.bool_word(cell_at(row, hm.col("resend")))
        except ValueError:
            ticked = None
        if ticked:
            resend.add((mall, code))
    return resend


def parse_state(ctx: ParseContext) -> None:
    """_state キー → 値 (the first row of a key wins) into ``ctx.out``."""
    got = ctx.rows_of("state")
    if got is None:
        return
    _tab, hm, grid = got
    for gi in range(1, len(grid)):
        row: Sequence[Any] = grid[gi]
        key = cell_text(cell_at(row, hm.col("key")))
        if not key or key in ctx.out.state:
            continue
        raw = cell_at(row, hm.col("value"))
        ctx.out.state[key] = "" if raw is None else str(raw)
        ctx.out.state_rows[key] = gi
