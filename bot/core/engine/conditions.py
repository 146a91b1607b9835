"""Alert conditions and 状態 texts: each condition alerts once, re-armed when it clears."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime

from bot.core import words
from bot.core.domain import Alert, AlertKind, ErrorLogRow, Product, RowProblem, SaleKind, Snapshot
from bot.core.engine.contract import (
    STEP_CONDITIONS,
    STOCK_CONDITIONS,
    TAB_PRODUCTS,
    TAB_SETS,
    TAB_TITLES,
)
from bot.core.engine.sets import SetBook
from bot.core.engine.state import ChangedStatuses, EngineState
from bot.core.engine.work import Work


@dataclass(frozen=True, slots=True)
class ConditionBook:
    """The per-product part of one step's conditions, and what it was decided on."""

    alerts: Mapping[str, str]
    """Usable sku → key of its stock condition (low, out, oversold, backordered)."""
    status: Mapping[str, str]
    """Usable sku → its 状態 before row problems, in sheet order."""
    notes: Mapping[str, tuple[str, datetime]]
    moved: frozenset[str]
    """Skus a 入出庫 row took units off (their oversell reads differently)."""
    given: frozenset[str]
    """The raised conditions the step was given (``state.conditions``)."""
    kept: frozenset[str]
    invalid: frozenset[str]
    statuses: Mapping[str, str]
    """The step's ``Plan.statuses``: ``status`` itself when nothing overrides it."""
    over: frozenset[str]
    """Skus whose 状態 in ``statuses`` is not ``status``'s: row problems, invalid rows."""


@dataclass(frozen=True, slots=True)
class Redo:
    """What a step redoes from the last step's ``ConditionBook`` (incremental)."""

    prior: ConditionBook
    skus: AbstractSet[str]
    """Skus whose row, on-hand, note, 入出庫 or raised conditions changed since."""
    position: Mapping[str, int]
    """sku → its place in the sheet."""
    reordered: bool
    """The usable skus, or their order, are not those of ``prior``."""
    waiting: Iterable[str]
    """Keys of the order lines waiting as 未割当 or 保留."""


def conditions(
    state: EngineState,
    snapshot: Snapshot,
    usable: Mapping[str, Product],
    work: Work,
    problems: Sequence[RowProblem],
    book: SetBook,
    redo: Redo | None = None,
) -> tuple[frozenset[str], list[Alert], list[ErrorLogRow], ConditionBook, ChangedStatuses | None]:
    """Conditions raised now (plus kept ones), the alerts new among them, エラーログ rows.

    The book's ``statuses`` hold the 状態 text of every product row. With ``redo`` only
    its skus are looked at again: any other product has the condition and 状態 it had,
    and no alert, as that condition was raised then (or it would be among ``redo.skus``).
    Also which 状態 differ from the prior step's (None: not known).
    """
    given = state.conditions
    cond, base, fresh, redone = _per_product(snapshot, usable, work, book, redo)
    stock_alerts = [a for a in fresh if a.key not in given]
    waiting = None if redo is None else redo.waiting
    unassigned = _unassigned(work, snapshot.mall_labels, waiting)
    if waiting is not None and not unassigned.keys() <= given:
        unassigned = _unassigned(work, snapshot.mall_labels)  # new ones: in ledger order
    over: dict[str, str] = {}
    rows = _row_problems(snapshot, work, problems, over)
    for sku in snapshot.invalid_skus:
        if sku not in over and sku not in base:
            over[sku] = words.say("engine.status_invalid")
    # The base itself when nothing overrides it: no copy of 100,000 texts a step.
    statuses = {**base, **over} if over else base
    current = frozenset(cond.values()) | unassigned.keys() | rows.keys()
    alerts = [
        *stock_alerts,
        *(a for k, a in unassigned.items() if k not in given),
        *(a for k, a in rows.items() if k not in given),
    ]
    resolved = None if redo is None else sorted(s for s in redo.skus if s in usable)
    alerts.extend(_resolved(state, usable, work, current, resolved))
    unique = {k: p for k, p in problem_alerts(problems).items() if k not in given}
    errors = [
        ErrorLogRow(
            at=work.now,
            where=TAB_TITLES.get(p.tab, p.tab),
            message=words.say(
                "engine.error_action",
                message=p.message,
                action=words.say("engine.row_problem_text"),
            ),
        )
        for p in unique.values()
    ]
    kept = _kept_now(given, snapshot.invalid_skus, None if redo is None else redo.prior)
    out = ConditionBook(
        alerts=cond,
        status=base,
        notes=work.notes,
        moved=frozenset(work.moved_out),
        given=given,
        kept=kept,
        invalid=snapshot.invalid_skus,
        statuses=statuses,
        over=frozenset(over),
    )
    changed = None if redo is None or redone is None else _changed(redo.prior, out, redone)
    return current | kept, alerts, errors, out, changed


def _changed(prior: ConditionBook, now: ConditionBook, redone: Iterable[str]) -> ChangedStatuses:
    """The skus whose 状態 differ between two steps' books.

    A sku's 状態 is its base text unless a row problem or an invalid row overrides it
    (``over``), and the base differs only for skus decided again (``redone``).
    """
    missing = object()
    before, after = prior.statuses, now.statuses
    keys = {*redone, *prior.over, *now.over}
    return ChangedStatuses(
        since=before,
        keys=frozenset(k for k in keys if before.get(k, missing) != after.get(k, missing)),
    )


def _per_product(
    snapshot: Snapshot,
    usable: Mapping[str, Product],
    work: Work,
    book: SetBook,
    redo: Redo | None,
) -> tuple[Mapping[str, str], Mapping[str, str], list[Alert], list[str] | None]:
    """Stock condition keys and 状態 per usable sku, and the conditions found this step.

    Without ``redo`` every product is looked at; with it, only ``redo.skus`` (in sheet
    order) and the rest is the prior's: the prior's very mappings when none of those
    differs (they are never changed once made). Also the skus whose 状態 differs from
    the prior's (None: without ``redo`` or with the skus reordered).
    """
    found: list[Alert] = []
    if redo is None:
        cond: dict[str, str] = {}
        base: dict[str, str] = {}
        for sku in usable:
            alert, base[sku] = _product_state(snapshot, sku, usable[sku], work, book)
            if alert is not None:
                cond[sku] = alert.key
                found.append(alert)
        return cond, base, found, None
    skus = sorted((s for s in redo.skus if s in usable), key=redo.position.__getitem__)
    keys: dict[str, str | None] = {}
    texts: dict[str, str] = {}
    for sku in skus:
        alert, texts[sku] = _product_state(snapshot, sku, usable[sku], work, book)
        keys[sku] = None if alert is None else alert.key
        if alert is not None:
            found.append(alert)
    prior_cond, prior_base = redo.prior.alerts, redo.prior.status
    missing = object()
    redone = [s for s, text in texts.items() if prior_base.get(s, missing) != text]
    new_cond: Mapping[str, str] = prior_cond
    if any(prior_cond.get(s) != key for s, key in keys.items()):
        new_cond = _patched(prior_cond, keys)
    new_base: Mapping[str, str] = prior_base
    if redone:
        new_base = {**prior_base, **{s: texts[s] for s in redone}}
    if redo.reordered:
        return (
            {sku: key for sku, key in new_cond.items() if sku in usable},
            {sku: new_base[sku] for sku in usable},
            found,
            None,
        )
    return new_cond, new_base, found, redone


def _patched(prior: Mapping[str, str], keys: Mapping[str, str | None]) -> dict[str, str]:
    """``prior`` with each of ``keys`` set to its condition key, or dropped for None."""
    out = dict(prior)
    for sku, key in keys.items():
        if key is None:
            out.pop(sku, None)
        else:
            out[sku] = key
    return out


def _product_state(
    snapshot: Snapshot, sku: str, product: Product, work: Work, book: SetBook
) -> tuple[Alert | None, str]:
    """One product's stock condition (if any) and its 状態 before row problems."""
    alert, status = _stock_condition(snapshot, sku, product, work)
    if status is None and sku in work.notes:
        status = work.notes[sku][0]
    if status is None:
        status = (
            words.say("engine.status_set")
            if sku in book.expanded
            else words.say("engine.status_ok")
        )
    return alert, status


def _resolved(
    state: EngineState,
    usable: Mapping[str, Product],
    work: Work,
    current: frozenset[str],
    skus: Sequence[str] | None,
) -> list[Alert]:
    """An oversell that was announced and is over now is announced too (once).

    ``skus``: the only products whose oversell can have ended (default: any).
    """
    alerts: list[Alert] = []
    keys = (
        sorted(state.conditions)
        if skus is None
        else sorted(k for s in skus if (k := f"oversell:{s}") in state.conditions)
    )
    for key in keys:
        family, _, sku = key.partition(":")
        if family != "oversell" or key in current or sku not in usable:
            continue
        product = usable[sku]
        on_hand = work.stock.get(sku, product.stock)
        alerts.append(
            Alert(
                kind=AlertKind.RESOLVED,
                key=f"resolved:{key}",
                sku=sku,
                name=product.name,
                row=product.row,
                title=words.say(
                    "engine.oversell_resolved_title", name=_named(sku, product), on_hand=on_hand
                ),
            )
        )
    return alerts


def _named(sku: str, product: Product) -> str:
    """「SKU（商品名）」, or the code alone for a row without a name."""
    return words.say("engine.product_name", sku=sku, name=product.name) if product.name else sku


def _stock_condition(
    snapshot: Snapshot, sku: str, product: Product, work: Work
) -> tuple[Alert | None, str | None]:
    """Backorder, oversell, out of stock or low stock of one product (at most one).

    Also the 状態 it gives the row (backorder and oversell only; None for the others).
    """
    on_hand = work.stock.get(sku, product.stock)
    default_low = snapshot.settings.default_low_stock
    low = product.low_stock if product.low_stock is not None else default_low
    on_purpose = product.backorder or (
        product.rule.oversells_on_purpose if product.rule is not None else False
    )
    if on_hand < 0 and on_purpose:
        alert = Alert(
            kind=AlertKind.BACKORDER,
            key=f"backorder:{sku}",
            sku=sku,
            name=product.name,
            row=product.row,
            title=words.say("engine.backorder_title", name=_named(sku, product), units=-on_hand),
            text=words.say("engine.backorder_text"),
        )
        return alert, words.say("engine.status_backorder", units=-on_hand)
    if on_hand < 0:
        alert = _oversell(_named(sku, product), sku, product, -on_hand, work.moved_out.get(sku))
        # 状態 stays the same every cycle, whatever caused it: the Slack alert (sent
        # in the cycle it happens) says whether a customer is owed anything.
        return alert, words.say("engine.status_oversell", units=-on_hand)
    if on_hand == 0 and not on_purpose:
        alert = Alert(
            kind=AlertKind.OUT_OF_STOCK,
            key=f"out_of_stock:{sku}",
            sku=sku,
            name=product.name,
            row=product.row,
            title=words.say("engine.out_of_stock_title", name=_named(sku, product)),
            text=words.say("engine.out_of_stock_text"),
        )
        return alert, None
    if low is not None and on_hand <= low:
        alert = Alert(
            kind=AlertKind.LOW_STOCK,
            key=f"low_stock:{sku}",
            sku=sku,
            name=product.name,
            row=product.row,
            title=words.say(
                "engine.low_stock_title", name=_named(sku, product), on_hand=on_hand, low=low
            ),
            text=words.say("engine.low_stock_text"),
        )
        return alert, None
    return None, None


def _oversell(
    name: str, sku: str, product: Product, units: int, moved: tuple[str, int, int] | None
) -> Alert:
    """Urgent: units the shop owes. A 入出庫 row (a 店頭販売) owes no customer anything."""
    if moved is None:
        title = words.say("engine.oversell_title", name=name, units=units)
        text = words.say("engine.oversell_text")
    else:
        kind, row, qty = moved
        title = words.say("engine.oversell_movement_title", name=name, kind=kind, units=units)
        text = words.say("engine.oversell_movement_text", kind=kind, row=row, qty=qty)
    return Alert(
        kind=AlertKind.OVERSELL,
        key=f"oversell:{sku}",
        sku=sku,
        name=product.name,
        row=product.row,
        urgent=True,
        title=title,
        text=text,
    )


def _unassigned(
    work: Work, labels: Mapping[str, str], waiting: Iterable[str] | None = None
) -> dict[str, Alert]:
    """Order lines whose code matches no product (one alert per mall code).

    ``waiting``: the keys of every waiting line (default: look through all lines, which
    also gives the alerts in ledger order).
    """
    found: dict[str, Alert] = {}
    lines = work.lines.values() if waiting is None else (work.lines[k] for k in waiting)
    for ls in lines:
        # A held line's row already has its own ROW_PROBLEM alert: one message is enough.
        if ls.pending is not SaleKind.UNASSIGNED:
            continue
        key = f"unassigned:{ls.mall}:{ls.code}"
        found[key] = Alert(
            kind=AlertKind.UNASSIGNED,
            key=key,
            mall=ls.mall,
            title=words.say(
                "engine.unassigned_title", mall=labels.get(ls.mall, ls.mall), code=ls.code
            ),
            text=words.say("engine.unassigned_text"),
        )
    return found


def _row_problems(
    snapshot: Snapshot,
    work: Work,
    problems: Sequence[RowProblem],
    statuses: dict[str, str],
) -> dict[str, Alert]:
    """One alert per row problem; a product row's problems become its 状態."""
    found: dict[str, Alert] = {}
    by_sku: dict[str, list[str]] = defaultdict(list)
    for key, problem in problem_alerts(problems).items():
        product = snapshot.products.get(problem.sku) if problem.tab == TAB_PRODUCTS else None
        found[key] = Alert(
            kind=AlertKind.ROW_PROBLEM,
            key=key,
            sku=problem.sku,
            name=product.name if product is not None else "",
            tab=problem.tab,
            row=problem.row,
            title=_problem_text(problem),
            text=words.say("engine.row_problem_text"),
        )
    for problem in problems:
        note = work.notes.get(problem.sku)
        if note is not None and note[0] == problem.message:
            continue  # shown as a note, not as an error of the row
        if (problem.tab == TAB_PRODUCTS and problem.sku) or (
            problem.tab == TAB_SETS and problem.sku in snapshot.products
        ):
            by_sku[problem.sku].append(problem.message)
    for sku, messages in by_sku.items():
        statuses[sku] = words.say(
            "engine.status_error", messages=" / ".join(dict.fromkeys(messages))
        )
    return found


def problem_alerts(problems: Sequence[RowProblem]) -> dict[str, RowProblem]:
    """Alert key → problem: one per row problem, one per message several rows share.

    A message naming several rows (a mall code on two products, a 商品コード on two
    rows) is one problem for staff: one alert and one エラーログ row, while each row
    still shows it in its 状態.
    """
    shared = Counter((p.tab, p.message) for p in problems)
    alerts: dict[str, RowProblem] = {}
    for problem in problems:
        if shared[(problem.tab, problem.message)] > 1:
            alerts.setdefault(f"row:{problem.tab}:{problem.message}", problem)
        else:
            alerts.setdefault(problem.key, problem)
    return alerts


def _kept_now(
    given: frozenset[str], invalid: frozenset[str], prior: ConditionBook | None
) -> frozenset[str]:
    """Raised conditions step does not own, and stock conditions of rows invalid now.

    Conditions of rows that are invalid this cycle are kept, so fixing a typo does not
    re-announce a low stock that was already announced. With ``prior`` (same invalid
    rows) only the conditions raised or cleared since it was made are looked at.
    """
    if prior is None or prior.invalid != invalid:
        return _kept(given, invalid)
    return (prior.kept - (prior.given - given)) | _kept(given - prior.given, invalid)


def _kept(keys: Iterable[str], invalid: frozenset[str]) -> frozenset[str]:
    kept: set[str] = set()
    for key in keys:
        family, _, sku = key.partition(":")
        if family not in STEP_CONDITIONS or (family in STOCK_CONDITIONS and sku in invalid):
            kept.add(key)
    return frozenset(kept)


def _problem_text(problem: RowProblem) -> str:
    """Alert text naming the tab (layout messages on 商品マスタ start with the cell only)."""
    title = TAB_TITLES[TAB_PRODUCTS]
    if problem.tab == TAB_PRODUCTS and not problem.message.startswith(title):
        return words.say("engine.problem_in_tab", tab=title, message=problem.message)
    return problem.message
