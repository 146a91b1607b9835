"""Order lines reconciled against the ledger (§4.2): each unit applied exactly once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.core.domain import OrderLine, Product, SaleKind, SaleLogRow, Snapshot
from bot.core.engine.expiry import ExpiryBook
from bot.core.engine.layered import lookup
from bot.core.engine.sets import SetBook
from bot.core.engine.state import EngineState, LineState
from bot.core.engine.work import Work


@dataclass(frozen=True, slots=True)
class Catalog:
    """What an order line is resolved against in one cycle."""

    codes: Mapping[tuple[str, str], str]
    """(mall, code) → sku of a usable product."""
    held_codes: Mapping[tuple[str, str], str]
    """(mall, code) → sku of a product whose row (or set) has a problem."""
    usable: Mapping[str, Product]
    book: SetBook
    restock_on_cancel: bool
    shared: Mapping[tuple[str, str], tuple[str, ...]]
    """(mall, code) → every usable sku listing it, for the codes on more than one row."""


def code_index(products: Mapping[str, Product]) -> dict[tuple[str, str], str]:
    """(mall, code) → sku for every mall code of ``products``."""
    index: dict[tuple[str, str], str] = {}
    for sku, product in products.items():
        for mall, codes in product.codes.items():
            for code in codes:
                index[(mall, code)] = sku
    return index


def catalog(
    snapshot: Snapshot,
    usable: Mapping[str, Product],
    book: SetBook,
    codes: Catalog | None = None,
) -> Catalog:
    """Usable codes, and the codes of rows that wait for a fix (their lines are held).

    ``codes``: the last step's catalog, when no usable product's codes changed since
    (its code index is taken again).
    """
    held_codes = (
        code_index({s: p for s, p in snapshot.products.items() if s in book.invalid})
        if book.invalid
        else {}
    )
    for mall, by_code in snapshot.held_codes.items():
        for code, sku in by_code.items():
            held_codes.setdefault((mall, code), sku)
    index, shared = _indexed(usable) if codes is None else (codes.codes, codes.shared)
    return Catalog(
        codes=index,
        held_codes=held_codes,
        usable=usable,
        book=book,
        restock_on_cancel=snapshot.settings.restock_on_cancel,
        shared=shared,
    )


def _indexed(
    usable: Mapping[str, Product],
) -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], tuple[str, ...]]]:
    """``code_index`` of ``usable``, and the codes more than one of its rows list.

    The second mapping holds every sku listing such a code, in sheet order.
    """
    index: dict[tuple[str, str], str] = {}
    shared: dict[tuple[str, str], list[str]] = {}
    for sku, product in usable.items():
        for mall, codes in product.codes.items():
            for code in codes:
                key = (mall, code)
                first = index.get(key)
                if first is not None:
                    shared.setdefault(key, [first]).append(sku)
                index[key] = sku
    return index, {key: tuple(skus) for key, skus in shared.items()}


@dataclass(frozen=True, slots=True)
class LineBook:
    """The ledger's lines after a step, with what finds the few a next step must visit."""

    lines: Mapping[str, LineState]
    """``next_state.lines`` (the next step's state holds this very mapping, or not)."""
    pending: frozenset[str]
    """Keys of the lines waiting as 未割当 or 保留."""
    book: ExpiryBook
    """The expiry book: every kept line's (seen_at, key), sorted (equal times by key), so
    lines leave the window oldest first. Entries of lines since dropped stay until their
    time and are skipped then."""

    @property
    def times(self) -> tuple[datetime, ...]:
        """Every entry's seen_at, in order (built when asked)."""
        return self.book.flat()[0]

    @property
    def keys(self) -> tuple[str, ...]:
        """The line key of each entry of ``times`` (built when asked)."""
        return self.book.flat()[1]

    @property
    def expiry(self) -> tuple[tuple[datetime, str], ...]:
        """The book as (seen_at, key) pairs, in order (built when asked, never kept)."""
        return tuple(zip(*self.book.flat(), strict=True))


def reconcile(
    work: Work,
    state: EngineState,
    latest: Mapping[str, OrderLine],
    cat: Catalog,
    horizon: datetime,
    prior: LineBook | None = None,
) -> LineBook:
    """Apply the reported lines, and retry the waiting ones, in line-key order.

    ``latest``: the reported lines by key, the latest report of each (``holds.latest``).

    Lines with nothing applied, reported or waiting are dropped from ``work.lines``.
    ``prior`` (the last step's book, when ``state.lines`` is its mapping) finds the
    lines to forget and the waiting ones without visiting every line.
    """
    incremental = prior is not None and state.lines is prior.lines
    if prior is not None and incremental:
        gone, expiry = prior.book.expired(horizon)
        for seen_at, key in gone:
            ls = work.lines.get(key)
            if ls is not None and ls.seen_at == seen_at:
                del work.lines[key]  # older than the cancellation window: forgotten
        waiting = prior.pending
    else:
        for key, ls in state.lines.items():
            if ls.seen_at is not None and ls.seen_at < horizon:
                del work.lines[key]  # older than the cancellation window: forgotten
        expiry = ExpiryBook.of([(v.seen_at, k) for k, v in work.lines.items() if v.seen_at])
        waiting = frozenset(k for k, v in work.lines.items() if v.pending is not None)
    reports = dict(latest)
    keys = list(reports)  # the ledger's lines looked up in bulk (layered.lookup)
    for key, line, known in zip(keys, latest.values(), lookup(work.lines, keys), strict=True):
        if _settled(known, line):
            del reports[key]  # reported again as the ledger has it: nothing to do
    for key in waiting:
        ls = work.lines.get(key)
        if ls is not None and ls.pending is not None and key not in reports:
            reports[key] = OrderLine(
                mall=ls.mall,
                order_id=ls.order_id,
                line_id=ls.line_id,
                code=ls.code,
                units=ls.reported,
                ordered_at=ls.seen_at,
            )
    before = {key: work.lines.get(key) for key in reports}
    for key in sorted(reports):
        apply_line(work, reports[key], cat, key)
    return _book(work, before, waiting, expiry, full=not incremental)


def _book(
    work: Work,
    before: Mapping[str, LineState | None],
    waiting: frozenset[str],
    expiry: ExpiryBook,
    *,
    full: bool,
) -> LineBook:
    """Drop the lines with nothing left to remember; the book of those kept."""
    for key in list(work.lines) if full else before:
        ls = work.lines.get(key)
        if ls is not None and ls.pending is None and ls.applied <= 0 and ls.reported <= 0:
            del work.lines[key]
    new: list[tuple[datetime, str]] = []
    for key, prior in before.items():
        ls = work.lines.get(key)
        if ls is not None and ls.seen_at and (prior is None or prior.seen_at != ls.seen_at):
            new.append((ls.seen_at, key))
    pending = frozenset(
        k for k in (*waiting, *before) if (ls := work.lines.get(k)) and ls.pending is not None
    )
    new.sort()
    return LineBook(work.lines.freeze(), pending, expiry.added(new))


def _settled(prior: LineState | None, line: OrderLine) -> bool:
    """The line is reported as the ledger has it, applied and not waiting."""
    return (
        prior is not None
        and prior.pending is None
        and prior.reported == line.units == prior.applied
    )


def apply_line(work: Work, line: OrderLine, cat: Catalog, key: str | None = None) -> None:
    """Bring on-hand and the ledger in step with the units the mall reports for ``line``.

    ``key`` is ``line.key`` when the caller holds it already: the ledger's mapping and
    the expiry book then share one string (120,000 lines an hour at 100k products).
    """
    key = line.key if key is None else key
    prior = work.lines.get(key)
    applied = prior.applied if prior else 0
    target = line.units
    if prior is None and target == 0:
        return  # a cancel seen before its sale changes nothing
    # Units already taken stay with the product they were taken from, even if staff
    # remapped the code since; a rebuilt set line (sku None) resolves by its code.
    sku = prior.sku if prior and prior.sku and prior.applied > 0 else None
    if sku is None:
        sku = cat.codes.get((line.mall, line.code))
    if target < applied and not cat.restock_on_cancel:
        _close_without_restock(work, key, line, prior, sku, applied)
    elif target == applied:
        _settle(work, key, line, prior, applied)
    elif sku is None or sku not in cat.usable or sku in cat.book.invalid:
        _wait(work, key, line, prior, sku, applied, cat)
    else:
        _take(work, key, line, prior, sku, applied, cat)


def _close_without_restock(
    work: Work, key: str, line: OrderLine, prior: LineState | None, sku: str | None, applied: int
) -> None:
    """キャンセル時在庫戻し OFF: units taken back are not returned to on-hand."""
    target = line.units
    if prior is None or prior.reported != target:
        work.sales.append(_sale(work, line, _closing(target), sku or "", 0, applied))
    work.lines[key] = _line_state(work.now, key, line, prior, sku, applied, target, None)


def _settle(work: Work, key: str, line: OrderLine, prior: LineState | None, applied: int) -> None:
    """Nothing to apply; a waiting line cancelled before it could be applied is closed."""
    target = line.units
    if prior is not None and prior.pending is not None:
        # Close it in the ledger, or a restart would apply it from its 未割当 row.
        work.sales.append(_sale(work, line, _closing(target), prior.sku or "", 0, applied))
    if prior is not None and (prior.reported != target or prior.pending is not None):
        work.lines[key] = _line_state(work.now, key, line, prior, prior.sku, applied, target, None)


def _wait(
    work: Work,
    key: str,
    line: OrderLine,
    prior: LineState | None,
    sku: str | None,
    applied: int,
    cat: Catalog,
) -> None:
    """No usable product for the line: it waits as 保留 (row has a problem) or 未割当."""
    target = line.units
    pending = (
        SaleKind.HELD
        if (sku is not None or (line.mall, line.code) in cat.held_codes)
        else SaleKind.UNASSIGNED
    )
    if prior is None or prior.pending != pending or prior.reported != target:
        held_sku = sku or cat.held_codes.get((line.mall, line.code), "")
        work.sales.append(_sale(work, line, pending, held_sku, applied - target, applied))
    work.lines[key] = _line_state(
        work.now, key, line, prior, prior.sku if prior else None, applied, target, pending
    )


def _take(
    work: Work,
    key: str,
    line: OrderLine,
    prior: LineState | None,
    sku: str,
    applied: int,
    cat: Catalog,
) -> None:
    """Apply the difference to on-hand (a set's to each component) and log it."""
    target = line.units
    delta = target - applied
    if applied == 0 and target > 0:
        kind = SaleKind.SALE
    elif target == 0:
        kind = SaleKind.CANCEL
    else:
        kind = SaleKind.CHANGE
    for leaf, qty in cat.book.expanded.get(sku, ((sku, 1),)):
        before = work.stock.get(leaf, cat.usable[leaf].stock)
        after = before - delta * qty
        work.stock[leaf] = after
        work.touched.add(leaf)
        work.sales.append(_sale(work, line, kind, leaf, -delta * qty, target, before, after))
    code = _listed_code(cat.usable[sku], line)
    work.lines[key] = _line_state(work.now, key, line, prior, sku, target, target, None, code)


def _listed_code(product: Product, line: OrderLine) -> str:
    """The line's code as the product lists it: one string for the catalogue and the ledger.

    The mall's answer gives every line a string of its own; the ledger keeps its lines
    for the cancel window (120,000 an hour at 100k products). A set line's code is the
    set's own.
    """
    for code in product.codes.get(line.mall, ()):
        if code == line.code:
            return code
    return line.code


def _closing(target: int) -> SaleKind:
    return SaleKind.CANCEL if target == 0 else SaleKind.CHANGE


def _sale(
    work: Work,
    line: OrderLine,
    kind: SaleKind,
    sku: str,
    qty: int,
    applied: int,
    before: int | None = None,
    after: int | None = None,
) -> SaleLogRow:
    """One 販売ログ row for ``line``: ``qty`` is the signed stock change it causes."""
    return SaleLogRow(
        at=work.now,
        mall=line.mall,
        order_id=line.order_id,
        line_id=line.line_id,
        kind=kind,
        code=line.code,
        sku=sku,
        qty=qty,
        before=before,
        after=after,
        key=line.key,
        applied=applied,
    )


def _line_state(
    now: datetime,
    key: str,
    line: OrderLine,
    prior: LineState | None,
    sku: str | None,
    applied: int,
    reported: int,
    pending: SaleKind | None,
    code: str | None = None,
) -> LineState:
    """The line's ledger state, holding ``key`` (``line.key``: the ledger's own string).

    ``code`` is ``line.code`` as the catalogue holds it; without it, the string the ledger
    held when it is the same text (one string kept, not one per report).
    """
    if code is None:
        code = prior.code if prior is not None and prior.code == line.code else line.code
    return LineState.of(
        mall=line.mall,
        order_id=line.order_id,
        line_id=line.line_id,
        key=prior.key if prior is not None else key,
        code=code,
        sku=sku,
        applied=applied,
        reported=reported,
        pending=pending,
        seen_at=prior.seen_at if prior and prior.seen_at else (line.ordered_at or now),
    )
