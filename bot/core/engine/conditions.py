"""Alert conditions and 状態 texts: each condition alerts once, re-armed when it clears."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence

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
from bot.core.engine.state import EngineState
from bot.core.engine.work import Work


def conditions(
    state: EngineState,
    snapshot: Snapshot,
    usable: Mapping[str, Product],
    work: Work,
    problems: Sequence[RowProblem],
    book: SetBook,
    statuses: dict[str, str],
) -> tuple[frozenset[str], list[Alert], list[ErrorLogRow]]:
    """Conditions raised now (plus kept ones), the alerts new among them, エラーログ rows.

    Fills ``statuses`` with the 状態 text of every product row.
    """
    current: dict[str, Alert] = {}
    for sku, product in usable.items():
        _stock_condition(snapshot, sku, product, work, current, statuses)
        if sku in work.notes:
            statuses.setdefault(sku, work.notes[sku][0])
        statuses.setdefault(
            sku,
            words.say("engine.status_set")
            if sku in book.expanded
            else words.say("engine.status_ok"),
        )
    _unassigned(work, snapshot.mall_labels, current)
    _row_problems(snapshot, work, problems, current, statuses)
    for sku in snapshot.invalid_skus:
        statuses.setdefault(sku, words.say("engine.status_invalid"))
    alerts = [alert for key, alert in current.items() if key not in state.conditions]
    alerts.extend(_resolved(state, snapshot, usable, work, current))
    unique = {k: p for k, p in problem_alerts(problems).items() if k not in state.conditions}
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
    return frozenset(current) | _kept(state, snapshot), alerts, errors


def _resolved(
    state: EngineState,
    snapshot: Snapshot,
    usable: Mapping[str, Product],
    work: Work,
    current: Mapping[str, Alert],
) -> list[Alert]:
    """An oversell that was announced and is over now is announced too (once)."""
    alerts: list[Alert] = []
    for key in sorted(state.conditions):
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
    snapshot: Snapshot,
    sku: str,
    product: Product,
    work: Work,
    current: dict[str, Alert],
    statuses: dict[str, str],
) -> None:
    """Backorder, oversell, out of stock or low stock of one product (at most one)."""
    on_hand = work.stock.get(sku, product.stock)
    default_low = snapshot.settings.default_low_stock
    low = product.low_stock if product.low_stock is not None else default_low
    name = _named(sku, product)
    on_purpose = product.backorder or (
        product.rule.oversells_on_purpose if product.rule is not None else False
    )
    if on_hand < 0 and on_purpose:
        current[f"backorder:{sku}"] = Alert(
            kind=AlertKind.BACKORDER,
            key=f"backorder:{sku}",
            sku=sku,
            name=product.name,
            row=product.row,
            title=words.say("engine.backorder_title", name=name, units=-on_hand),
            text=words.say("engine.backorder_text"),
        )
        statuses.setdefault(sku, words.say("engine.status_backorder", units=-on_hand))
    elif on_hand < 0:
        current[f"oversell:{sku}"] = _oversell(
            name, sku, product, -on_hand, work.moved_out.get(sku)
        )
        # 状態 stays the same every cycle, whatever caused it: the Slack alert (sent
        # in the cycle it happens) says whether a customer is owed anything.
        statuses.setdefault(sku, words.say("engine.status_oversell", units=-on_hand))
    elif on_hand == 0 and not on_purpose:
        current[f"out_of_stock:{sku}"] = Alert(
            kind=AlertKind.OUT_OF_STOCK,
            key=f"out_of_stock:{sku}",
            sku=sku,
            name=product.name,
            row=product.row,
            title=words.say("engine.out_of_stock_title", name=name),
            text=words.say("engine.out_of_stock_text"),
        )
    elif low is not None and on_hand <= low:
        current[f"low_stock:{sku}"] = Alert(
            kind=AlertKind.LOW_STOCK,
            key=f"low_stock:{sku}",
            sku=sku,
            name=product.name,
            row=product.row,
            title=words.say("engine.low_stock_title", name=name, on_hand=on_hand, low=low),
            text=words.say("engine.low_stock_text"),
        )


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


def _unassigned(work: Work, labels: Mapping[str, str], current: dict[str, Alert]) -> None:
    """Order lines whose code matches no product (one alert per mall code)."""
    for ls in work.lines.values():
        # A held line's row already has its own ROW_PROBLEM alert: one message is enough.
        if ls.pending is not SaleKind.UNASSIGNED:
            continue
        key = f"unassigned:{ls.mall}:{ls.code}"
        current[key] = Alert(
            kind=AlertKind.UNASSIGNED,
            key=key,
            mall=ls.mall,
            title=words.say(
                "engine.unassigned_title", mall=labels.get(ls.mall, ls.mall), code=ls.code
            ),
            text=words.say("engine.unassigned_text"),
        )


def _row_problems(
    snapshot: Snapshot,
    work: Work,
    problems: Sequence[RowProblem],
    current: dict[str, Alert],
    statuses: dict[str, str],
) -> None:
    """One alert per row problem; a product row's problems become its 状態."""
    by_sku: dict[str, list[str]] = defaultdict(list)
    for key, problem in problem_alerts(problems).items():
        product = snapshot.products.get(problem.sku) if problem.tab == TAB_PRODUCTS else None
        current[key] = Alert(
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


def _kept(state: EngineState, snapshot: Snapshot) -> frozenset[str]:
    """Raised conditions step does not own, and stock conditions of rows invalid now.

    Conditions of rows that are invalid this cycle are kept, so fixing a typo does not
    re-announce a low stock that was already announced.
    """
    kept: set[str] = set()
    for key in state.conditions:
        family, _, sku = key.partition(":")
        if family not in STEP_CONDITIONS or (
            family in STOCK_CONDITIONS and sku in snapshot.invalid_skus
        ):
            kept.add(key)
    return frozenset(kept)


def _problem_text(problem: RowProblem) -> str:
    """Alert text naming the tab (layout messages on 商品マスタ start with the cell only)."""
    title = TAB_TITLES[TAB_PRODUCTS]
    if problem.tab == TAB_PRODUCTS and not problem.message.startswith(title):
        return words.say("engine.problem_in_tab", tab=title, message=problem.message)
    return problem.message
