"""Scratch space of one ``step`` and the row builders its phases share."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.core import words
from bot.core.domain import OpLogRow, RowProblem, SaleLogRow
from bot.core.engine.layered import Overlay
from bot.core.engine.settled import SettledCheck, Split
from bot.core.engine.state import LineState


def stock_op(
    at: datetime, kind: str, sku: str, before: int | str, after: int, memo: str
) -> OpLogRow:
    """One 操作ログ row about 在庫数."""
    return OpLogRow(
        at=at,
        kind=kind,
        sku=sku,
        field=words.say("engine.op_field_stock"),
        before=str(before),
        after=str(after),
        memo=memo,
    )


def fmt_int(value: int | None) -> str:
    """An optional number as a cell shows it (blank for none)."""
    return "" if value is None else str(value)


@dataclass(slots=True)
class Work:
    """Mutable scratch space for one step; never escapes it."""

    now: datetime
    stock: Overlay[str, int] | dict[str, int]
    """On-hand: the state's with this step's changes on a layer of their own (a dict
    when every product is decided)."""
    lines: Overlay[str, LineState]
    """The ledger's lines: the state's, with this step's changes on a layer of their own."""
    sales: list[SaleLogRow] = field(default_factory=list)
    ops: list[OpLogRow] = field(default_factory=list)
    touched: set[str] = field(default_factory=set)
    marks: dict[str, str] = field(default_factory=dict)
    problems: list[RowProblem] = field(default_factory=list)
    notes: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    settled: SettledCheck | None = None
    """What the 済 rows of 入出庫 and the ledger said (for the next step's memo)."""
    split: Split | None = None
    """入出庫 rows split into 済 and not (for the next step's memo)."""
    moved_out: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    """sku → (区分, row, 数量) of a 入出庫 row that took units off it this step: an
    oversell it causes is a shop-floor matter, not a customer's order."""
