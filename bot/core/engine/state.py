"""The engine's state between cycles and the plan of one cycle (§4.0, §4.2, §4.5)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from bot.core.domain import (
    Alert,
    ErrorLogRow,
    ListingTarget,
    OpLogRow,
    RowProblem,
    SaleKind,
    SaleLogRow,
    StockPush,
)

if TYPE_CHECKING:
    from bot.core.engine.memo import Memo


@dataclass(frozen=True, slots=True)
class LineState:
    """What the ledger knows of one order line (§4.2).

    The ledger keeps its lines for the cancel window: 120,000 an hour at 100k products.
    So a line holds its key (the very string ``EngineState.lines`` is keyed by) and where
    the order id ends in it, not order and line ids of its own: those are slices of the
    key, cut when asked (:attr:`order_id`, :attr:`line_id`; a rare read). Build one with
    :meth:`of`.
    """

    mall: str
    key: str
    """The line's ledger key, ``OrderLine.key``: ``<mall>:<order id>:<line id>``."""
    cut: int
    """The order id's length (an id may hold ``:`` itself, so the key is not split)."""
    code: str
    sku: str | None
    """The product the applied units were taken from (kept even if remapped later)."""
    applied: int
    """Units of the line already applied to stock (販売ログ 反映数)."""
    reported: int
    """Units the mall last reported."""
    pending: SaleKind | None = None
    """UNASSIGNED or HELD while the line waits for its product to become usable."""
    seen_at: datetime | None = None

    @classmethod
    def of(
        cls,
        *,
        mall: str,
        order_id: str,
        line_id: str,
        code: str,
        sku: str | None,
        applied: int,
        reported: int,
        pending: SaleKind | None = None,
        seen_at: datetime | None = None,
        key: str | None = None,
    ) -> LineState:
        """The line's state; ``key`` is its ledger key when the caller holds that string.

        A ``key`` that is not ``<mall>:<order_id>:<line_id>`` is not taken: the key is
        built then (the ids always read back as given).
        """
        built = f"{mall}:{order_id}:{line_id}"
        return cls(
            mall=mall,
            key=key if key == built else built,
            cut=len(order_id),
            code=code,
            sku=sku,
            applied=applied,
            reported=reported,
            pending=pending,
            seen_at=seen_at,
        )

    @property
    def order_id(self) -> str:
        """The order's id, cut from :attr:`key`."""
        start = len(self.mall) + 1
        return self.key[start : start + self.cut]

    @property
    def line_id(self) -> str:
        """The line's id within its order, cut from :attr:`key`."""
        return self.key[len(self.mall) + self.cut + 2 :]


@dataclass(frozen=True, slots=True)
class ListingState:
    """What the bot believes one mall listing shows (§4.5)."""

    pushed: int | None = None
    expected: int | None = None
    backorder: bool | None = None
    failed: int | None = None
    """Last target the mall refused; not re-sent until the target changes or 再送."""
    at: datetime | None = None
    short: int = 0
    """Provisional sales (§4.5): units a read-back found missing that no order explains
    yet. They lower the product's stock offered on every listing until their order
    lines arrive (and replace them) or the shortfall time-out passes (then: drift)."""
    short_since: datetime | None = None
    """When the read-back first found ``short`` missing (the time-out counts from here)."""
    sold: int = 0
    """Units the mall took for order lines seen since its last push or read-back (net of
    cancels it restocked): a read-back shortfall up to this is explained, not held."""
    drifted: int = 0
    """Units released at the time-out whose set-back push has not landed yet."""


@dataclass(frozen=True, slots=True)
class EngineState:
    """Everything that must survive between cycles; rebuilt from the sheet at start-up."""

    stock: Mapping[str, int] = field(default_factory=dict)
    """在庫数 per sku as the sheet holds it after the bot's last commit."""
    lines: Mapping[str, LineState] = field(default_factory=dict)
    listings: Mapping[tuple[str, str], ListingState] = field(default_factory=dict)
    conditions: frozenset[str] = frozenset()
    """Alert conditions currently raised (each alerts once, re-armed when it clears)."""
    notes: Mapping[str, tuple[str, datetime]] = field(default_factory=dict)
    """状態 notes that outlive their cycle (an ignored edit of a set row), with their time."""
    fresh: bool = True
    """No commit since start-up: the sheet is the truth and every listing is pushed."""
    cancels_seen: Mapping[str, datetime] = field(default_factory=dict)
    """Order lines first seen already cancelled (they have no ledger row), by key, with
    when: their effect on a shortfall hold is taken once (§4.5)."""
    memo: Memo | None = field(default=None, compare=False, repr=False)
    """What the step that made this state derived, so the next step redoes only what
    changed (memo.py). Not part of the state's meaning: equal states may differ in it,
    and a state without one (start-up) is decided in full."""


@dataclass(frozen=True, slots=True)
class ChangedTargets:
    """Which listings' targets one step changed, so a reader need not compare them all.

    ``keys`` holds the key of every target of ``since`` with no equal target in the
    step's targets, and of every target of the step's with no equal one in ``since``.
    Any other target is the very object ``since`` holds (an unchanged target lives on).
    """

    since: Sequence[ListingTarget]
    """The targets the change is counted from (the prior step's ``Plan.targets``)."""
    keys: frozenset[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class ChangedStatuses:
    """Which products' 状態 one step changed, so a reader need not compare them all.

    ``keys`` holds every sku whose 状態 in the step's ``Plan.statuses`` is not the one
    ``since`` gives it (added and dropped skus too); any other sku has the same text in
    both.
    """

    since: Mapping[str, str]
    """The 状態 the change is counted from (the prior step's ``Plan.statuses``)."""
    keys: frozenset[str]


@dataclass(frozen=True, slots=True)
class Plan:
    """What one cycle should do; the worker carries it out."""

    now: datetime
    next_state: EngineState
    stock: Mapping[str, int]
    """在庫数 cells to write (only values that differ from what was read)."""
    statuses: Mapping[str, str]
    """状態 text for every product row with a 商品コード (valid or not)."""
    touched: frozenset[str]
    """Rows whose 最終更新 becomes ``now``."""
    movement_marks: Mapping[str, str]
    """入出庫 row key → 反映 cell text."""
    sales_log: tuple[SaleLogRow, ...]
    ops_log: tuple[OpLogRow, ...]
    error_log: tuple[ErrorLogRow, ...]
    targets: Sequence[ListingTarget]
    """Every listing's target, sorted by sku (``TargetBook.flat``: a list never changed)."""
    pushes: tuple[StockPush, ...]
    alerts: tuple[Alert, ...]
    problems: tuple[RowProblem, ...]
    held: bool = False
    """A tab the engine needs is broken: no order, movement or push was processed, so
    the worker must not advance its order cursors."""
    changed_targets: ChangedTargets | None = field(default=None, compare=False, repr=False)
    """Which of ``targets`` differ from the prior step's (None: not known, compare them).
    Not part of the plan's meaning: a step without a memo decides the same plan and
    does not know it."""
    changed_statuses: ChangedStatuses | None = field(default=None, compare=False, repr=False)
    """Which of ``statuses`` differ from the prior step's (None: not known, compare them
    all). Not part of the plan's meaning, as ``changed_targets``."""


def committed(plan: Plan) -> EngineState:
    """The state once the plan's sheet changes are known to be written.

    From then on the sheet holds what the bot wrote, so a difference is a staff edit.
    """
    return replace(plan.next_state, fresh=False)


def replace_conditions(state: EngineState, conditions: frozenset[str]) -> EngineState:
    """The same state with another set of raised alert conditions."""
    return replace(state, conditions=conditions)


def replace_stock(state: EngineState, stock: Mapping[str, int]) -> EngineState:
    """The same state believing the sheet holds ``stock`` (start-up: oversold rows)."""
    return replace(state, stock=dict(stock))


def replace_listings(
    state: EngineState,
    listings: Mapping[tuple[str, str], ListingState],
    *,
    fresh: bool | None = None,
) -> EngineState:
    """The same state with other listing knowledge (``push --all`` forgets it all)."""
    return replace(state, listings=listings, fresh=state.fresh if fresh is None else fresh)
