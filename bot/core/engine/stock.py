"""Stock the sheet holds: stocktakes of 在庫数 (§3) and 入出庫 rows, each applied once."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import compress
from operator import attrgetter, ne

from bot.core import words
from bot.core.domain import Movement, Product, RowProblem, Snapshot
from bot.core.engine import settled
from bot.core.engine.contract import (
    MOVEMENT_DONE_PREFIX,
    TAB_MOVEMENTS,
    TAB_PRODUCTS,
    TAB_TITLES,
    jst,
)
from bot.core.engine.layered import lookup
from bot.core.engine.sets import SetBook, set_stock
from bot.core.engine.settled import SettledCheck, Split, split
from bot.core.engine.state import EngineState
from bot.core.engine.work import Work, fmt_int, stock_op


def take_stock(
    work: Work,
    state: EngineState,
    snapshot: Snapshot,
    book: SetBook,
    *,
    products_broken: bool,
    only: Sequence[str] | None = None,
    gone: Iterable[str] = (),
) -> None:
    """Base stock: the sheet is the truth on start-up; afterwards, a stocktake.

    After the first commit, a difference between what we read and what we last wrote
    is a stocktake (§3). ``only`` (in sheet order) limits the comparison to the rows
    that can differ (the rest read what the bot last wrote); ``gone`` are then the skus
    that left 商品マスタ since, the only ones ``work.stock`` may still hold without a row.
    """
    products = snapshot.products
    skus: Iterable[str] = products
    if only is not None:
        skus = only if state.fresh else _read_otherwise(only, products, state.stock)
    for sku in skus:
        product = products[sku]
        known = state.stock.get(sku)
        if sku in book.expanded:
            if not state.fresh and known is not None and product.stock != known:
                _ignore_set_stock(work, sku, product, known)
        elif state.fresh or known is None:
            work.stock[sku] = product.stock
        elif product.stock != known:
            work.stock[sku] = product.stock
            work.touched.add(sku)
            work.ops.append(
                stock_op(
                    work.now,
                    words.say("engine.op_stocktake"),
                    sku,
                    known,
                    product.stock,
                    words.say("engine.op_stocktake_memo"),
                )
            )
    # Rows that vanished from the sheet are forgotten (their ledger lines stay); not
    # while 商品マスタ cannot be read, or an oversell the bot wrote would later look
    # like a negative typed by staff.
    if not products_broken:
        for sku in list(work.stock) if only is None else gone:
            if sku in work.stock and sku not in products and sku not in snapshot.invalid_skus:
                del work.stock[sku]


_STOCK = attrgetter("stock")


def _read_otherwise(
    skus: Sequence[str], products: Mapping[str, Product], known: Mapping[str, int]
) -> list[str]:
    """The rows of ``skus`` whose 在庫数 is not the on-hand the bot knows (in order).

    Any other row reads what the bot knows: no stocktake, nothing to do. Told apart in
    C (layered.lookup; a sku the bot does not know is None, never a 在庫数): most rows
    to compare are those the bot wrote the step before, read back as written (~770 of
    ~1,050 a cycle at 100k, ``python -m bench scale``'s steps replayed).
    """
    read = map(_STOCK, map(products.__getitem__, skus))
    return list(compress(skus, map(ne, read, lookup(known, skus))))


def _ignore_set_stock(work: Work, sku: str, product: Product, known: int) -> None:
    """Staff typed a set's 在庫数: it is computed, so the edit is noted and logged, not taken."""
    message = words.say(
        "engine.set_stock_ignored", row=product.row, stock=product.stock, at=jst(work.now)[5:16]
    )
    work.notes[sku] = (message, work.now)
    work.problems.append(RowProblem(tab=TAB_PRODUCTS, row=product.row, sku=sku, message=message))
    work.ops.append(
        stock_op(
            work.now,
            words.say("engine.op_set_stock_ignored"),
            sku,
            fmt_int(known),
            product.stock,
            words.say("engine.op_set_stock_ignored_memo"),
        )
    )


def apply_movements(
    work: Work,
    snapshot: Snapshot,
    usable: Mapping[str, Product],
    book: SetBook,
    prior: SettledCheck | None = None,
    split_prior: Split | None = None,
) -> SettledCheck:
    """入出庫 rows: each applied once, marked ``済 <time> #<identity>`` in the same commit.

    The identity in 反映 and its ledger entry (``Snapshot.movement_ledger``) tell rows
    apart where content alone cannot:

    - a 済 row whose mark staff cleared still matches its ledger entry by content while
      its identity is on no row: it gets its mark back and is not applied again;
    - a 済 row staff copied carries an identity already on another row: the row that
      still matches the ledger is the original, every other one is a new movement,
      applied with an identity of its own;
    - a 済 row edited afterwards (商品コード or 数量 unlike the ledger's) changes no
      stock: staff are told once, plainly, to put it back and write the difference as
      a new row;
    - sorting moves identities with their rows, so nothing changes.

    A 済 mark without identity (written before identities existed) is left as it is.
    ``prior``: the last step's check of the 済 rows (:mod:`settled`); the one made now is
    returned for the next. ``split_prior``: the last step's :class:`Split` (the one made
    now is left in ``work.split``).
    """
    movements = snapshot.movements
    work.split = parts = split(movements, split_prior)
    done = parts.done()
    prefix = identity_prefix(work)
    checked = settled.check(prefix, snapshot.movement_ledger, done, prior)
    ids = _Identities(work, prefix, checked.ledger, checked.cleared(), checked.seq)
    if checked.unique:
        for mv, entry in checked.edited:
            _edited_after_done(work, mv, entry)
        rows = parts.open_rows()
    else:  # 済 rows share an identity: staff copied one
        rows = _copies_sorted_out(work, movements, done, ids)
    for mv in rows:
        if not mv.done and ids.restore(mv):
            continue
        apply_movement(work, mv, usable, snapshot.invalid_skus, book, ids)
    return checked


def identity_prefix(work: Work) -> str:
    """Today's identities start so: ``M20261123-``."""
    return f"M{jst(work.now)[:10].replace('-', '')}-"


class _Identities:
    """Identities of applied 入出庫 rows: the ledger, cleared marks, the next free one."""

    def __init__(
        self,
        work: Work,
        prefix: str,
        ledger: Mapping[str, Movement],
        cleared: dict[str, Movement],
        seq: int,
    ) -> None:
        self.work = work
        self.prefix = prefix
        self.ledger = ledger
        self.cleared = cleared
        """Fingerprint → a ledger entry whose identity no row carries (a cleared mark)."""
        self.seq = seq

    def restore(self, mv: Movement) -> bool:
        """Give a cleared row its 済 mark back; False when no ledger entry matches it."""
        entry = self.cleared.pop(mv.fingerprint, None)
        if entry is None:
            return False
        self.work.marks[mv.key] = f"{MOVEMENT_DONE_PREFIX} {entry.at} #{entry.key}"
        return True

    def new(self) -> str:
        self.seq += 1
        return f"{self.prefix}{self.seq:04d}"


_KEY = attrgetter("key")
_IDENT = attrgetter("ident")


def _copies_sorted_out(
    work: Work, movements: Sequence[Movement], done: Sequence[Movement], ids: _Identities
) -> list[Movement]:
    """:func:`_originals_checked` when 済 rows share an identity (staff copied one)."""
    by_ident: dict[str, list[Movement]] = {}
    for mv in done:
        by_ident.setdefault(mv.ident, []).append(mv)
    copies: set[str] = set()
    for ident, rows in by_ident.items():
        entry = ids.ledger.get(ident)
        original = next(
            (m for m in rows if entry is not None and m.fingerprint == entry.fingerprint),
            rows[0],
        )
        # A copy whose 数量 cannot be read is no movement yet (qty 0): nothing to apply.
        copies.update(m.key for m in rows if m is not original and m.qty)
        if entry is not None and (original.sku, original.qty) != (entry.sku, entry.qty):
            _edited_after_done(work, original, entry)
    return [mv for mv in movements if not mv.done or mv.key in copies]


def _edited_after_done(work: Work, mv: Movement, entry: Movement) -> None:
    """A 済 row whose 商品コード or 数量 changed: no stock moves, staff are told once."""
    text = words.say(
        "engine.movement_edited", ident=entry.key, sku=entry.sku, qty=f"{entry.qty:+d}"
    )
    work.problems.append(
        RowProblem(
            tab=TAB_MOVEMENTS,
            row=mv.row,
            sku=mv.sku,
            message=words.say(
                "engine.movement_row_problem", tab=TAB_TITLES[TAB_MOVEMENTS], row=mv.row, text=text
            ),
        )
    )


def apply_movement(
    work: Work,
    mv: Movement,
    usable: Mapping[str, Product],
    invalid: frozenset[str],
    book: SetBook,
    ids: _Identities | None = None,
) -> None:
    """One 入出庫 row: added to on-hand (a set's to its components) and marked 済."""
    if mv.sku in invalid or mv.sku in book.invalid:
        return  # the product row has a problem: wait until it is fixed
    if mv.sku not in usable:
        message = words.say("engine.movement_sku_missing", sku=mv.sku)
        work.problems.append(
            RowProblem(
                tab=TAB_MOVEMENTS,
                row=mv.row,
                sku=mv.sku,
                message=words.say(
                    "engine.movement_row_problem",
                    tab=TAB_TITLES[TAB_MOVEMENTS],
                    row=mv.row,
                    text=message,
                ),
            )
        )
        work.marks[mv.key] = words.say("engine.movement_error", message=message)
        return
    kind = words.say("engine.op_movement", kind=mv.kind or words.say("engine.op_movement_other"))
    ident = (ids or _Identities(work, identity_prefix(work), {}, {}, 0)).new()
    leaves = book.expanded.get(mv.sku, ((mv.sku, 1),))
    for sku, qty in leaves:
        before = work.stock.get(sku, usable[sku].stock)
        after = before + mv.qty * qty
        work.stock[sku] = after
        work.touched.add(sku)
        memo = mv.memo or ""
        if mv.sku != sku:
            memo += " " + words.say("engine.op_movement_set_memo", set_sku=mv.sku, qty=mv.qty)
        work.ops.append(stock_op(work.now, kind, sku, before, after, memo))
        if mv.qty < 0:
            work.moved_out[sku] = (mv.kind or words.say("engine.op_movement_other"), mv.row, mv.qty)
    work.marks[mv.key] = f"{MOVEMENT_DONE_PREFIX} {jst(work.now)} #{ident}"


def stock_writes(
    work: Work,
    products: Mapping[str, Product],
    usable: Mapping[str, Product],
    book: SetBook,
    *,
    only: tuple[Sequence[str], Sequence[str]] | None = None,
) -> tuple[dict[str, int], set[str]]:
    """Sets follow their components; the 在庫数 cells that differ from what was read.

    ``only``: the sets (in ``book.expanded`` order) and the single products (in sheet
    order) whose stock or row can have changed since the last step; the others hold
    what they held. Also returns the sets whose stock moved.
    """
    writes: dict[str, int] = {}
    moved: set[str] = set()
    for set_sku in book.expanded if only is None else only[0]:
        value = set_stock(book.expanded[set_sku], work.stock)
        if work.stock.get(set_sku) != value:
            moved.add(set_sku)
        work.stock[set_sku] = value
        if products[set_sku].stock != value:
            writes[set_sku] = value
            work.touched.add(set_sku)
    for sku in usable if only is None else only[1]:
        product = usable[sku]
        if sku in book.expanded:
            continue
        value = work.stock.get(sku, product.stock)
        if value != product.stock:
            writes[sku] = value
            work.touched.add(sku)
    return writes, moved
