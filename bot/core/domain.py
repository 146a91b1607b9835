"""Shared vocabulary of zaiko-bot: products, listings, order lines, pushes, plans.

Everything here is plain, immutable data. The engine, the sheet layer, the adapters and
the worker all speak these types, so nothing here may import I/O libraries or read the
clock (ARCHITECTURE.md §2).

Most types are frozen pydantic models. The few the bot holds one of per product, per
listing or per 入出庫 row — ``Product``, ``ListingTarget``, ``StockPush``, ``PushResult``,
``MallLogRow``, ``Movement`` — are frozen, slotted dataclasses instead, as 100k of them must fit a 512 MB worker
(issue 10, item 5): a pydantic instance carries a ``__dict__``, a fields-set record and
validated copies of its containers (a ListingTarget ~1 KB; slotted, ~90 bytes). They
keep the same fields, defaults, value equality and checks; a broken invariant raises
``ValueError`` (pydantic's ``ValidationError`` is one too). Change them with
:func:`dataclasses.replace`.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, PlainValidator


class Frozen(BaseModel):
    """Immutable value object."""

    model_config = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------- products


class DisplayRule(Frozen):
    """表示在庫設定: how on-hand stock becomes the number a mall shows (§4.4).

    ``blank`` → stock; ``+N`` → stock + N; ``-N`` → max(stock − N, 0); ``N`` → min(stock, N).
    """

    kind: Literal["stock", "plus", "minus", "cap"] = "stock"
    n: int = Field(default=0, ge=0)

    @staticmethod
    def of(kind: Literal["stock", "plus", "minus", "cap"], n: int = 0) -> DisplayRule:
        """The rule as one shared object (a bad ``n`` raises ValidationError).

        A rule is immutable, and 100k rows typing ``-1`` need one instance, not 100k
        (a pydantic instance is ~0.5 KB).
        """
        return _shared_rule(kind, n)

    @classmethod
    def parse(cls, text: str) -> DisplayRule:
        """Parse a (NFKC-normalised) cell; raises ValueError with a Japanese message."""
        s = text.strip().replace(" ", "")
        if not s:
            return cls.of("stock")
        m = re.fullmatch(r"([+-]?)(\d+)", s)
        if not m:
            raise ValueError(
                f"表示在庫設定『{text}』は 空欄 / +数 / -数 / 数 のどれかで入力してください"
            )
        sign, digits = m.groups()
        kind: Literal["plus", "minus", "cap"] = (
            "plus" if sign == "+" else "minus" if sign == "-" else "cap"
        )
        return cls.of(kind, int(digits))

    def display(self, stock: int) -> int:
        """The number to show for ``stock`` on-hand units; never negative."""
        if self.kind == "plus":
            shown = stock + self.n
        elif self.kind == "minus":
            shown = stock - self.n
        elif self.kind == "cap":
            shown = min(stock, self.n)
        else:
            shown = stock
        return max(shown, 0)

    @property
    def oversells_on_purpose(self) -> bool:
        """``+N`` sells beyond stock deliberately (取り寄せ, §4.4)."""
        return self.kind == "plus" and self.n > 0

    def __str__(self) -> str:
        return {"stock": "", "plus": f"+{self.n}", "minus": f"-{self.n}", "cap": f"{self.n}"}[
            self.kind
        ]


@lru_cache(maxsize=1024)
def _shared_rule(kind: Literal["stock", "plus", "minus", "cap"], n: int) -> DisplayRule:
    return DisplayRule(kind=kind, n=n)


NO_CODES: Mapping[str, tuple[str, ...]] = MappingProxyType({})
"""The codes of a product listed nowhere (one shared, read-only empty mapping)."""


def _no_codes() -> Mapping[str, tuple[str, ...]]:
    return NO_CODES  # a factory only because dataclasses refuse an unhashable default


@dataclass(frozen=True, slots=True)
class Product:
    """One valid row of 商品マスタ, keyed by 商品コード (``sku``).

    One per product, kept for the process's life: a slotted dataclass (module
    docstring). ``codes`` is kept as given, not copied: whoever builds a Product hands
    over a mapping nobody changes afterwards (the sheet parser builds a fresh dict per
    row), and every reader sees it as a read-only ``Mapping``.
    """

    sku: str
    name: str = ""
    stock: int = 0
    """在庫数 as read from the sheet (for a set row: whatever the sheet holds)."""
    rule: DisplayRule | None = None
    """None: fall back to the mall's default rule from 設定."""
    low_stock: int | None = None
    alloc_threshold: int | None = None
    sync: bool = True
    backorder: bool = False
    codes: Mapping[str, tuple[str, ...]] = field(default_factory=_no_codes)
    """mall name → canonical mall codes of this product (several = copy listings)."""
    row: int = 0
    """1-based sheet row, only for messages; rows are never keyed by number."""


class SetComponent(Frozen):
    """One セット構成 row: ``set_sku`` contains ``qty`` × ``component_sku``."""

    set_sku: str
    component_sku: str
    qty: int = Field(ge=1)
    row: int = 0


@dataclass(frozen=True, slots=True)
class Movement:
    """One 入出庫 row (receipt, return, shop sale, damage), or one entry of their ledger.

    On the tab: a row not yet marked 済, or a 済 row carrying the identity the bot gave
    it (``done``, ``ident``). In ``Snapshot.movement_ledger``: one applied row as the
    bot recorded it in ``_state`` (``key`` is then the identity, ``at`` when applied).
    A busy shop's tab and ledger hold tens of thousands a day, read every cycle: a
    slotted dataclass (module docstring).
    """

    key: str
    """Stable identity of the row (content fingerprint + occurrence) used to mark it."""
    sku: str
    qty: int
    kind: str = ""
    memo: str = ""
    at: str = ""
    row: int = 0
    done: bool = False
    """The 反映 cell says 済 (with the identity ``ident``)."""
    ident: str = ""
    """The identity the bot wrote in 反映 when it applied the row (``M20261123-0007``)."""
    fingerprint: str = ""
    """Digest of the row's cells (日時 商品コード 数量 区分 メモ), 反映 excluded."""


class MallSettings(Frozen):
    """Per-mall switches from the 設定 tab."""

    fetch_orders: bool = True
    push_stock: bool = True
    default_rule: DisplayRule = DisplayRule()


class ShopSettings(Frozen):
    """What staff change day to day in the 設定 tab."""

    sync_enabled: bool = True
    interval_seconds: int = 15
    restock_on_cancel: bool = True
    default_low_stock: int | None = None
    allocation: Literal["auto", "off"] | int = "auto"
    malls: Mapping[str, MallSettings] = Field(default_factory=dict)

    def mall(self, name: str) -> MallSettings:
        """Settings of one mall (defaults when the tab does not mention it)."""
        return self.malls.get(name, MallSettings())


class RowProblem(Frozen):
    """A cell or row the bot cannot understand; shown in 状態, エラーログ and Slack once."""

    tab: str
    row: int
    message: str
    """Plain Japanese, naming the cell, e.g. 「C12: 在庫数『abc』は数字ではありません」."""
    sku: str = ""
    column: str = ""

    @property
    def key(self) -> str:
        """Identity for once-only alerting."""
        return f"row:{self.tab}:{self.sku or self.row}:{self.message}"


class ProductMap(dict[str, Product]):
    """``Snapshot.products`` as a parse hands it out, saying what changed since earlier maps.

    ``since`` pairs an earlier map of the same parser (held weakly: a map nobody keeps
    is not kept alive for this) with the skus whose product may differ between the
    two. Any other sku is in both or in neither, as the very same ``Product``, and the
    skus both hold are in the same order. So a step whose memo saw that earlier map
    looks at those few skus instead of comparing 100,000 rows (``engine.memo``).
    Never changed once in a snapshot.
    """

    __slots__ = ("__weakref__", "since")

    def __init__(
        self,
        products: Mapping[str, Product] | None = None,
        since: tuple[tuple[weakref.ref[ProductMap], frozenset[str]], ...] = (),
    ) -> None:
        super().__init__(products or {})
        self.since = since


def _own_products(value: object) -> dict[str, Product]:
    """``Snapshot.products`` as the snapshot's own dict, its Products not looked into.

    Pydantic would check each of 100k values again on every snapshot (~10 ms); the
    parser and mypy already guarantee them, so only the mapping is copied (~1.5 ms).
    A parser's ``ProductMap`` is handed over, not copied: it is made for this snapshot.
    """
    if type(value) is ProductMap:
        return value
    if not isinstance(value, Mapping):
        raise ValueError(f"products must be a mapping of sku to Product, not {type(value)}")
    return dict(value)


def _own_movements(value: object) -> tuple[Movement, ...]:
    """``Snapshot.movements``/``movement_ledger`` as a tuple, the rows not looked into.

    As for products: the parser and mypy guarantee them, and a busy day's rows would
    otherwise be walked twice a cycle to build a copy of the same tuple.
    """
    if isinstance(value, tuple):
        return value
    if isinstance(value, list):
        return tuple(value)
    raise ValueError(f"movements must be a tuple of Movement, not {type(value)}")


class Snapshot(Frozen):
    """Everything one cycle read from the sheet, parsed and validated."""

    products: Annotated[Mapping[str, Product], PlainValidator(_own_products)] = Field(
        default_factory=dict
    )
    """Valid rows only."""
    invalid_skus: frozenset[str] = frozenset()
    """Rows with a problem: their stock is never changed, they are never pushed."""
    sets: tuple[SetComponent, ...] = ()
    movements: Annotated[tuple[Movement, ...], PlainValidator(_own_movements)] = ()
    movement_ledger: Annotated[tuple[Movement, ...], PlainValidator(_own_movements)] = ()
    """入出庫 rows the bot has applied, by identity, as ``_state`` keeps them."""
    settings: ShopSettings = ShopSettings()
    problems: tuple[RowProblem, ...] = ()
    resend: frozenset[tuple[str, str]] = frozenset()
    """(mall, code) pairs ticked 再送 in 出品状況."""
    broken_tabs: frozenset[str] = frozenset()
    """Tabs whose required headers are missing: they stop syncing."""
    held_codes: Mapping[str, Mapping[str, str]] = Field(default_factory=dict)
    """mall → code → sku of rows with a problem: their orders wait (保留), they are
    not 未割当."""
    mall_labels: Mapping[str, str] = Field(default_factory=dict)
    """mall key → the name staff use (each channel's declared label)."""


# --------------------------------------------------------------------------- orders


class OrderLine(Frozen):
    """The current state of one order line as a mall reports it (§4.2).

    ``units`` is what the customer still takes: 0 once cancelled, less after a partial
    cancel. Reports are reconciled against the ledger, never counted.
    """

    mall: str
    order_id: str
    line_id: str
    code: str
    """Canonical mall code (see each adapter's ``canonical_code``)."""
    units: int = Field(ge=0)
    ordered_at: datetime | None = None
    status: str = ""
    """The mall's own status word, for the log."""
    mall_restocks: bool = False
    """The mall put cancelled units back on its own listing (as the channel reports it)."""

    @property
    def key(self) -> str:
        """Ledger key: one per (mall, order, line).

        Built once per line object and kept in its ``__dict__`` under ``_key`` (not a
        field: ``==``, ``hash``, ``model_dump`` and iteration see only fields). An
        adapter hands the same line objects on cycle after cycle (at 100k products
        ~2,450 of a cycle's ~2,950, counted on the bench's inline world), and every
        cycle keys each of them (``holds.latest``, the worker's checks): the f-string
        was 3–4 % of the engine step (py-spy on bench scale 100k, c1b0885); keyed
        again, a line costs ~40 % less (timeit of ``holds.latest``'s dict of 3,000).
        (Not ``functools.cached_property``: it would keep the key as ``key``, which
        iterating the model then yields, and its first call takes a lock.)
        """
        kept: str | None = self.__dict__.get("_key")
        if kept is None:
            kept = self.__dict__["_key"] = f"{self.mall}:{self.order_id}:{self.line_id}"
        return kept

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy; its key is built afresh (``update`` may change the fields it is made of)."""
        copied = super().model_copy(update=update, deep=deep)
        copied.__dict__.pop("_key", None)
        return copied


# --------------------------------------------------------------------------- pushes


ListingKey = tuple[str, str]
"""(mall, canonical mall code) of one listing."""


class PushReason(StrEnum):
    """Why a listing shows its number (出品状況 理由)."""

    RULE = "rule"
    ALLOCATION = "allocation"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class StockPush:
    """One absolute (or compare-and-set) quantity for one mall listing."""

    mall: str
    code: str
    quantity: int
    """Never negative."""
    compare_to: int | None = None
    backorder: bool | None = None
    reason: PushReason = PushReason.RULE
    sku: str = ""
    key: ListingKey = field(default=("", ""), kw_only=True, repr=False, compare=False)
    """(mall, code). Pass the listing's own :attr:`ListingTarget.key` so the maps the
    results go into share that tuple; left out (or another pair), it is built here."""

    def __post_init__(self) -> None:
        _not_negative("StockPush", self.quantity)
        if self.key != (self.mall, self.code):
            object.__setattr__(self, "key", (self.mall, self.code))


class PushStatus(StrEnum):
    """Outcome of one pushed listing."""

    APPLIED = "applied"
    ACCEPTED = "accepted"
    """Queued by the mall, not yet live (Amazon)."""
    PENDING = "pending"
    """Sent, outcome not known yet (an Amazon feed in processing): the bot treats the
    number as sent and learns later, through the adapter's ``push_outcomes``, whether the
    mall took it (``adapters.base.push_outcomes``)."""
    REJECTED = "rejected"
    UNKNOWN_CODE = "unknown_code"
    SKIPPED = "skipped"
    """Not the shop's to push: the channel keeps that listing's stock itself (FBA)."""


@dataclass(frozen=True, slots=True)
class PushResult:
    """What a mall said about one StockPush."""

    code: str
    status: PushStatus
    quantity: int | None = None
    message: str = ""


@dataclass(frozen=True, slots=True)
class ListingTarget:
    """What one mall listing should show this cycle (出品状況 row)."""

    mall: str
    code: str
    sku: str
    quantity: int
    """Never negative."""
    reason: PushReason = PushReason.RULE
    backorder: bool = False
    why: str = ""
    """For a stopped listing: what stops it, in staff's words (出品状況 理由)."""
    key: ListingKey = field(init=False, repr=False, compare=False)
    """(mall, code), built once: every map of listings (出品状況's book, the pushes'
    results, the engine's listing knowledge) is keyed by this one tuple rather than
    one of its own — 100,000 listings are kept for the process's life."""

    def __post_init__(self) -> None:
        _not_negative("ListingTarget", self.quantity)
        object.__setattr__(self, "key", (self.mall, self.code))


def _not_negative(kind: str, quantity: int) -> None:
    """The ``quantity ≥ 0`` check pydantic's ``Field(ge=0)`` made (ValueError alike)."""
    if quantity < 0:
        raise ValueError(f"{kind}.quantity must be 0 or more, not {quantity}")


class CheckResult(Frozen):
    """接続テスト outcome for one mall."""

    mall: str
    ok: bool
    message: str
    """Japanese, secrets redacted."""
    credential_expires_at: datetime | None = None


# --------------------------------------------------------------------------- logs


class SaleKind(StrEnum):
    """販売ログ 種別."""

    SALE = "販売"
    CANCEL = "キャンセル"
    CHANGE = "数量変更"
    UNASSIGNED = "未割当"
    HELD = "保留"
    """The product row has a problem: applied once the row is fixed."""


class SaleLogRow(Frozen):
    """One 販売ログ row; the ledger (§4.2) is rebuilt from キー and 反映数."""

    at: datetime
    mall: str
    order_id: str
    line_id: str
    kind: SaleKind
    code: str
    sku: str
    qty: int
    """Signed stock change of this row (−2 for a sale of 2, +1 for a cancel)."""
    before: int | None
    after: int | None
    key: str
    applied: int
    """Units of the line applied after this row (the line's 反映数)."""


class OpLogRow(Frozen):
    """One 操作ログ row: a stocktake, a 入出庫 row, a set recompute, ..."""

    at: datetime
    kind: str
    sku: str
    field: str
    before: str
    after: str
    memo: str = ""


class ErrorLogRow(Frozen):
    """One エラーログ row."""

    at: datetime
    where: str
    message: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class MallLogRow:
    """One モール更新ログ row.

    A slotted dataclass (module docstring): a cold start makes one per listing before
    the bulk channels' rows are summed up, 100k at once at 100k products.
    """

    at: datetime
    mall: str
    code: str
    sku: str
    quantity: int | None
    """None on a bulk push's summary row (its 詳細 gives the counts)."""
    result: str
    detail: str = ""


# --------------------------------------------------------------------------- alerts


class AlertKind(StrEnum):
    """What an alert is about; alerts.py chooses wording and urgency from it."""

    LOW_STOCK = "low_stock"
    OUT_OF_STOCK = "out_of_stock"
    OVERSELL = "oversell"
    BACKORDER = "backorder"
    UNASSIGNED = "unassigned"
    ROW_PROBLEM = "row_problem"
    MALL_DOWN = "mall_down"
    MALL_RECOVERED = "mall_recovered"
    AUTH_FAILED = "auth_failed"
    CREDENTIAL_EXPIRING = "credential_expiring"
    SHEET_ERROR = "sheet_error"
    SHEET_RECOVERED = "sheet_recovered"
    DRIFT = "drift"
    PUSH_REJECTED = "push_rejected"
    RESOLVED = "resolved"
    """A problem staff were told about is over (an oversell, a refused push)."""
    SUMMARY = "summary"


class Alert(Frozen):
    """One Slack-worthy condition. ``key`` identifies it for once-only delivery."""

    kind: AlertKind
    key: str
    title: str
    """Japanese headline."""
    text: str = ""
    """Japanese detail (plain text; alerts.py escapes it for mrkdwn)."""
    urgent: bool = False
    sku: str = ""
    mall: str = ""
    name: str = ""
    """商品名 of ``sku`` when the sender knows it (Slack names the product)."""
    code: str = ""
    """The mall code the alert is about (drift, a refused push): leads to the product."""
    tab: str = ""
    """Tab key of the row the alert is about (default 商品マスタ when ``row`` is set)."""
    row: int = 0
    """1-based row in ``tab`` (Slack links to it); 0 when there is none."""
