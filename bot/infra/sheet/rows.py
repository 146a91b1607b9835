"""Log rows as {column key: value} for the log tabs, and the 販売ログ ledger read back.

モール cells hold the channel's label, which staff read; reading turns it back
into the key through the template's channel words.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import fields
from datetime import datetime
from operator import attrgetter, itemgetter
from typing import Any

from bot.core.domain import (
    ErrorLogRow,
    MallLogRow,
    OpLogRow,
    Product,
    PushReason,
    PushResult,
    SaleKind,
    SaleLogRow,
)
from bot.core.engine import LedgerEntry
from bot.core.words import say
from bot.infra.clock import format_jst
from bot.infra.sheet.cells import cell_at, cell_text
from bot.infra.sheet.headers import HeaderMap
from bot.infra.sheet.parsing import SheetRead
from bot.infra.sheet.spec import Template
from bot.infra.sheet.tabs import PRODUCTS
from bot.infra.sheet.values import int_of, text_of, value_at, when_of

Label = Callable[[str], str]
"""Mall key → the label staff read (``Template.mall_label``)."""

_RESULT_WORDS = {
    "applied": "engine.push_applied",
    "accepted": "engine.push_accepted",
    "pending": "engine.push_pending",
    "rejected": "engine.push_error",
    "unknown_code": "engine.push_unknown_code",
    "skipped": "engine.push_skipped",
}
"""出品状況 結果 in the same words as モール更新ログ's (one wording for one outcome)."""


_PRODUCT_MEANING = attrgetter(*(f.name for f in fields(Product) if f.name != "row"))
"""A Product's fields but its row, as one tuple compared by value."""


def meaning(read: SheetRead) -> tuple[Any, ...]:
    """What the engine would see, ignoring where rows sit (sorting is not a conflict)."""
    snap = read.snapshot
    return (
        {sku: _PRODUCT_MEANING(p) for sku, p in snap.products.items()},
        snap.invalid_skus,
        tuple(sorted((m.key, m.done, m.ident) for m in snap.movements)),
    )


_REASON_WORDS = {
    PushReason.RULE: "sheet.reason_rule",
    PushReason.ALLOCATION: "sheet.reason_allocation",
    PushReason.STOPPED: "sheet.reason_stopped",
}
"""出品状況 理由 in staff's words (the engine's PushReason stays English in code)."""


def reason_text(reason: PushReason, why: str = "") -> str:
    """出品状況 理由: 表示ルール, 残数配分, or 停止中（what stops it）."""
    return say(_REASON_WORDS[reason], why=why or say("sheet.reason_stopped_unknown"))


def directory(read: SheetRead) -> Mapping[str, Product]:
    """Every 商品マスタ row by 商品コード, with its name and row — rows with a problem too.

    Slack names and links the product an alert is about; a row whose cell staff must fix
    is exactly the one the snapshot leaves out of ``products``. Only those rows are
    built here: the valid products are the snapshot's own objects, and when every row
    is one, the snapshot's own mapping (not a copy of 100,000 entries).
    """
    products = read.snapshot.products
    header = read.headers.get(PRODUCTS)
    if header is None:
        return products
    grid = read.raw.get(PRODUCTS) or []
    name_col = header.col("name")
    first = {sku: rows[0] for sku, rows in read.duplicate_rows.items()}
    first.update((sku, read.product_rows[sku]) for sku in _single_without_product(read))
    others: dict[str, Product] = {}
    for sku, row in sorted(first.items(), key=itemgetter(1)):  # the few not in products
        if sku in products:
            continue
        name = cell_text(cell_at(grid[row], name_col)) if row < len(grid) else ""
        others[sku] = Product(sku=sku, name=name, row=row + 1)
    return {**products, **others} if others else products


def _single_without_product(read: SheetRead) -> Collection[str]:
    """The 商品コード on one row that are not products (rows with a problem).

    A valid product's 商品コード is on one row (one on several rows is a problem), so
    the products are among ``product_rows`` and those without one number
    ``len(product_rows) - len(products)``. The few 商品コード the snapshot holds invalid
    make them up when they are that many: no pass over the catalogue; otherwise (a
    read not built so) the plain difference.
    """
    products, on_one_row = read.snapshot.products, read.product_rows
    found = [s for s in read.snapshot.invalid_skus if s in on_one_row and s not in products]
    if len(found) == len(on_one_row) - len(products):
        return found
    return on_one_row.keys() - products


def result_label(result: PushResult) -> str:
    """出品状況 結果: what the mall said, in staff's words."""
    label = say(_RESULT_WORDS[str(result.status)])
    return label + (f": {result.message}" if result.message else "")


Stamp = Callable[[datetime], str]
"""A time as staff read it in a log row (:func:`~bot.infra.clock.format_jst`)."""


class Stamps(dict[datetime, str]):
    """:func:`~bot.infra.clock.format_jst` of each time, worked out once.

    A commit's log rows share a few times (the cycle's, an order's): at 100k a
    thousand 販売ログ and 操作ログ rows a cycle each converted and formatted its own.
    """

    def __missing__(self, when: datetime) -> str:
        text = self[when] = format_jst(when)
        return text


class Labels(dict[str, str]):
    """A mall key → its label (:meth:`Template.mall_label`), each looked up once."""

    def __init__(self, label: Label) -> None:
        super().__init__()
        self.label = label

    def __missing__(self, mall: str) -> str:
        text = self[mall] = self.label(mall)
        return text


def sale_row(r: SaleLogRow, label: Label, stamp: Stamp = format_jst) -> dict[str, Any]:
    """One 販売ログ row."""
    return {
        "at": stamp(r.at),
        "mall": label(r.mall),
        "order_id": r.order_id,
        "line_id": r.line_id,
        "kind": str(r.kind),
        "code": r.code,
        "sku": r.sku,
        "qty": r.qty,
        "before": r.before,
        "after": r.after,
        "key": r.key,
        "applied": r.applied,
    }


def op_row(r: OpLogRow, stamp: Stamp = format_jst) -> dict[str, Any]:
    """One 操作ログ row."""
    return {
        "at": stamp(r.at),
        "kind": r.kind,
        "sku": r.sku,
        "field": r.field,
        "before": r.before,
        "after": r.after,
        "memo": r.memo,
    }


def log_rows(
    sales: Sequence[SaleLogRow], ops: Sequence[OpLogRow], label: Label
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A commit's 販売ログ and 操作ログ rows (each time and mall label worked out once)."""
    stamp, labels = Stamps().__getitem__, Labels(label).__getitem__
    return [sale_row(r, labels, stamp) for r in sales], [op_row(r, stamp) for r in ops]


def error_row(r: ErrorLogRow) -> dict[str, Any]:
    """One エラーログ row."""
    return {"at": format_jst(r.at), "where": r.where, "message": r.message, "detail": r.detail}


def mall_row(r: MallLogRow, label: Label) -> dict[str, Any]:
    """One モール更新ログ row."""
    return {
        "at": format_jst(r.at),
        "mall": label(r.mall),
        "code": r.code,
        "sku": r.sku,
        "quantity": r.quantity,
        "result": r.result,
        "detail": r.detail,
    }


def parse_ledger(rows: list[list[Any]], header: HeaderMap, tpl: Template) -> list[LedgerEntry]:
    """販売ログ as the ledger a restart rebuilds the engine state from."""
    kinds = {k.value: k for k in SaleKind}
    entries: list[LedgerEntry] = []
    for row in rows[1:]:
        key = text_of(value_at(row, header.col("key")))
        kind = kinds.get(text_of(value_at(row, header.col("kind"))))
        if not key or kind is None:
            continue
        entries.append(
            LedgerEntry(
                key=key,
                mall=tpl.mall_key(text_of(value_at(row, header.col("mall"))))
                or text_of(value_at(row, header.col("mall"))),
                order_id=text_of(value_at(row, header.col("order_id"))),
                line_id=text_of(value_at(row, header.col("line_id"))),
                code=text_of(value_at(row, header.col("code"))),
                sku=text_of(value_at(row, header.col("sku"))),
                kind=kind,
                qty=int_of(value_at(row, header.col("qty"))),
                applied=int_of(value_at(row, header.col("applied"))),
                at=when_of(value_at(row, header.col("at"))),
            )
        )
    return entries
