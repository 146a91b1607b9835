"""Listing targets (display rules, §4.4) and the minimal pushes that reach them (§4.6)."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter

from bot.core import words
from bot.core.domain import (
    DisplayRule,
    ListingTarget,
    Product,
    PushReason,
    Snapshot,
    StockPush,
)
from bot.core.engine.contract import TAB_TITLES
from bot.core.engine.state import ChangedTargets, EngineState, ListingState

_UNKNOWN = ListingState()
"""A listing the bot knows nothing of yet (never pushed)."""

_OTHER_TABS = {"settings": "設定"}
"""Titles of tabs the engine only meets as broken (staff words; the template's titles)."""


@dataclass(frozen=True, slots=True)
class TargetBook:
    """Every listing's target of one step, in the plan's order (by sku)."""

    listings: Mapping[tuple[str, str], ListingState]
    """The listing knowledge the targets were decided on (``next_state.listings``)."""
    order: tuple[str, ...]
    """Usable skus, sorted: the order of ``flat``."""
    flat: list[ListingTarget]
    """Sorted by sku, as ``order``: a sku's targets are found by bisection (:func:`_span`),
    not kept in a map of their own (100,000 entries for a 100,000-product shop). A list
    no one changes once it is handed out (:func:`_laid_out` says why not a tuple)."""
    pushed: frozenset[str]
    """Skus with a push in that step."""
    resend: frozenset[tuple[str, str]]
    changed: ChangedTargets | None = None
    """The listings whose target differs from ``prior``'s (None: decided without one)."""
    marks: tuple[str, ...] | None = field(default=None, compare=False, repr=False)
    """The sku of every ``MARK_STRIDE``-th target of ``flat`` (None: not worked out), so
    :func:`_span` bisects a few thousand strings before a stride of ``flat``. Handed on
    while no sku's targets move in ``flat``."""


def targets(
    state: EngineState,
    snapshot: Snapshot,
    usable: Mapping[str, Product],
    stock: Mapping[str, int],
    *,
    prior: TargetBook | None = None,
    dirty: Iterable[str] = (),
    recheck: Iterable[str] = (),
    skus_changed: bool = False,
) -> tuple[TargetBook, list[StockPush]]:
    """What every listing should show, and the pushes of those the mall may not show yet.

    With ``prior`` (the last step's book, decided on the same settings and tabs) only
    the ``dirty`` skus are decided again, and the pushes of the ``recheck`` ones (whose
    listing knowledge changed) are looked at again on their prior targets: any other
    keeps its targets and has no push, as its row, stock offered and listings are those
    ``prior`` was decided on. ``skus_changed``: the usable skus are not those of ``prior``.
    """
    if prior is None:
        return _afresh(state, snapshot, usable, stock)
    decide = _Decide(state, snapshot)
    order = tuple(sorted(usable)) if skus_changed else prior.order
    redo = frozenset(s for s in dirty if s in usable)
    again = sorted(redo.union(s for s in recheck if s in usable))
    old = prior.flat
    marks = prior.marks if prior.marks is not None else _marks(old)
    fresh: dict[str, tuple[ListingTarget, ...]] = {}
    places: dict[str, tuple[int, int]] = {}  # where each fresh sku's targets are in old
    changed: set[tuple[str, str]] = set()
    pushes: list[StockPush] = []
    pushed: set[str] = set()
    for sku in again:
        product = usable[sku]
        at, count = _span(old, sku, marks)
        before = tuple(old[at : at + count])
        if sku in redo:
            found, wanted = decide.product(sku, product, stock.get(sku, product.stock))
            found = _kept(before, found)
            if found is not before:
                fresh[sku] = found
                places[sku] = at, count
                changed.update(_differing(before, found))
        else:
            wanted = decide.pushes(product, before)
        if wanted:
            pushes.extend(wanted)
            pushed.add(sku)
    flat, dropped = _laid_out(order, fresh, places, old, skus_changed)
    # Every sku's targets where they were (``_laid_out`` put the fresh ones in place).
    kept = not skus_changed and all(places[s][1] == len(found) for s, found in fresh.items())
    book = TargetBook(
        listings=state.listings,
        order=order,
        flat=flat,
        pushed=frozenset(pushed),
        resend=snapshot.resend,
        changed=ChangedTargets(since=old, keys=frozenset(changed.union(dropped))),
        marks=marks if kept else None,
    )
    return book, pushes


def _afresh(
    state: EngineState, snapshot: Snapshot, usable: Mapping[str, Product], stock: Mapping[str, int]
) -> tuple[TargetBook, list[StockPush]]:
    """Every product's targets and pushes decided (no prior book to start from)."""
    decide = _Decide(state, snapshot)
    order = tuple(sorted(usable))
    flat: list[ListingTarget] = []
    pushes: list[StockPush] = []
    pushed: set[str] = set()
    for sku in order:
        product = usable[sku]
        found, wanted = decide.product(sku, product, stock.get(sku, product.stock))
        flat.extend(found)
        if wanted:
            pushes.extend(wanted)
            pushed.add(sku)
    book = TargetBook(
        listings=state.listings,
        order=order,
        flat=flat,
        pushed=frozenset(pushed),
        resend=snapshot.resend,
    )
    return book, pushes


MARK_STRIDE = 32
"""Targets of ``TargetBook.flat`` per mark (``TargetBook.marks``)."""


def _marks(flat: Sequence[ListingTarget]) -> tuple[str, ...]:
    """The sku of every ``MARK_STRIDE``-th target of ``flat`` (``TargetBook.marks``)."""
    return tuple(map(_sku_of, flat[::MARK_STRIDE]))


def _span(
    flat: Sequence[ListingTarget], sku: str, marks: Sequence[str] | None = None
) -> tuple[int, int]:
    """(first index, count) of ``sku``'s targets in ``flat`` (sorted by sku).

    ``marks`` (:func:`_marks` of ``flat``) narrow the bisection of ``flat`` to one stride:
    at 150,000 targets its ~17 probes each touched a target object far from the last
    (a cache miss each; ``_span`` was ~8 % of the step's time at 100k), the marks are
    a few thousand strings bisected near each other, then five probes of ``flat``.
    """
    lo, hi = 0, len(flat)
    if marks:
        # marks[i - 1] < sku <= marks[i]: the first target of sku is past the one of
        # mark i - 1 and at or before the one of mark i.
        i = bisect_left(marks, sku)
        lo, hi = ((i - 1) * MARK_STRIDE + 1 if i else 0), min(i * MARK_STRIDE, hi)
    at = bisect_left(flat, sku, lo, hi, key=_sku_of)
    end = at
    while end < len(flat) and flat[end].sku == sku:
        end += 1
    return at, end - at


_sku_of = attrgetter("sku")


def _kept(
    before: tuple[ListingTarget, ...], found: tuple[ListingTarget, ...]
) -> tuple[ListingTarget, ...]:
    """``found`` with each target equal to the last step's replaced by that object.

    ``before`` itself when all are equal: an unchanged target lives on, and readers
    (the memo, 出品状況's book) tell a changed one by identity.
    """
    if before == found:
        return before
    if len(before) == 1 == len(found):
        return found  # the usual product, one listing: its one target differs
    by_value = {t: t for t in before}
    return tuple(by_value.get(t, t) for t in found)


def _differing(
    before: tuple[ListingTarget, ...], found: tuple[ListingTarget, ...]
) -> Sequence[tuple[str, str]]:
    """Keys of the targets of ``before`` with no equal one in ``found``, and the reverse.

    ``found`` comes from :func:`_kept`: a target equal to one of ``before`` is that
    object. So for the usual product, one listing, a target that is not the same
    object differs, and none is hashed (a ``ListingTarget``'s hash costs ~5 µs of a
    product's ~6 decided again).
    """
    if len(before) == 1 == len(found):
        old, new = before[0], found[0]
        return () if old is new else (old.key, new.key)
    return [t.key for t in set(before).symmetric_difference(found)]


def _laid_out(
    order: tuple[str, ...],
    fresh: Mapping[str, tuple[ListingTarget, ...]],
    places: Mapping[str, tuple[int, int]],
    old: list[ListingTarget],
    skus_changed: bool,
) -> tuple[list[ListingTarget], list[tuple[str, str]]]:
    """All targets in ``order``: the prior ones with the fresh ones put in their place.

    ``places``: where each fresh sku's targets are in ``old`` (:func:`_span`). Also
    returns the keys of the prior targets of skus no longer in ``order``.

    A new list: ``old`` lives on as the step's ``ChangedTargets.since``. It stays a
    list: making it a tuple took a second pass over all 150,000 targets and freed the
    list (both touch every target's refcount, each a cache miss), 2.6 % of the step
    against 1.3 % for the copy itself (py-spy on bench scale 100k, c1b0885).
    """
    if not skus_changed:
        if not fresh:
            return old, []
        flat = list(old)
        for sku, found in fresh.items():
            at, count = places[sku]
            if count != len(found):
                break  # a code added or removed: lay everything out again
            flat[at : at + count] = found
        else:
            return flat, []
    # Both ``old`` and ``order`` are sorted by sku: one pass takes each sku's old targets.
    out: list[ListingTarget] = []
    dropped: list[tuple[str, str]] = []
    i = 0
    for sku in order:
        while i < len(old) and old[i].sku < sku:
            dropped.append(old[i].key)  # a sku no longer usable
            i += 1
        end = i
        while end < len(old) and old[end].sku == sku:
            end += 1
        out.extend(fresh[sku] if sku in fresh else old[i:end])
        i = end
    dropped.extend(t.key for t in old[i:])
    return out, dropped


class _Decide:
    """One step's listing decisions, product by product (the mall-wide parts once)."""

    def __init__(self, state: EngineState, snapshot: Snapshot) -> None:
        self.state = state
        self.snapshot = snapshot
        self.malls: dict[str, tuple[DisplayRule, str]] = {}

    def _mall(self, mall: str) -> tuple[DisplayRule, str]:
        """The mall's default rule, and what stops all its listings ("" for nothing)."""
        found = self.malls.get(mall)
        if found is None:
            settings = self.snapshot.settings.mall(mall)
            found = self.malls[mall] = (settings.default_rule, _stopped_why(self.snapshot, mall))
        return found

    def product(
        self, sku: str, product: Product, on_hand: int
    ) -> tuple[tuple[ListingTarget, ...], list[StockPush]]:
        """The targets of one product's listings (malls sorted) and the pushes they need."""
        found: list[ListingTarget] = []
        for mall in sorted(product.codes):
            default_rule, why = self._mall(mall)
            rule = product.rule if product.rule is not None else default_rule
            quantity = rule.display(on_hand)
            backorder = product.backorder and on_hand <= 0
            # 連動停止, 在庫連動 OFF, the mall's 在庫更新 OFF or a broken tab: the
            # listing keeps whatever it shows; 出品状況 says why (§3, reason stopped).
            if not why and not product.sync:
                why = words.say("engine.stopped_product")
            stopped = bool(why)
            for code in product.codes[mall]:
                target = ListingTarget(
                    mall=mall,
                    code=code,
                    sku=sku,
                    quantity=0 if backorder else quantity,
                    reason=PushReason.STOPPED if stopped else PushReason.RULE,
                    backorder=backorder,
                    why=why,
                )
                found.append(target)
        return tuple(found), self.pushes(product, found)

    def pushes(self, product: Product, found: Iterable[ListingTarget]) -> list[StockPush]:
        """The pushes a product's listings need to reach ``found`` (none while stopped)."""
        pushes: list[StockPush] = []
        for target in found:
            if target.reason is PushReason.STOPPED:
                continue
            push = _push(self.state, self.snapshot, product, target)
            if push is not None:
                pushes.append(push)
        return pushes


def _stopped_why(snapshot: Snapshot, mall: str) -> str:
    """What keeps every listing of ``mall`` from being pushed ("" when nothing does).

    A product's own 連動停止 comes after these (``_Decide.product``).
    """
    settings = snapshot.settings
    if snapshot.broken_tabs:
        titles = sorted(TAB_TITLES.get(t) or _OTHER_TABS.get(t, t) for t in snapshot.broken_tabs)
        return words.say("engine.stopped_tab", tabs="』『".join(titles))
    if not settings.sync_enabled:
        return words.say("engine.stopped_shop")
    if not settings.mall(mall).push_stock:
        label = snapshot.mall_labels.get(mall, mall)
        return words.say("engine.stopped_mall", mall=label)
    return ""


def _push(
    state: EngineState, snapshot: Snapshot, product: Product, target: ListingTarget
) -> StockPush | None:
    """The push a listing needs: on start-up, on 再送, or when its target changed.

    A target the mall refused is not re-sent until it changes (or 再送).
    """
    key = target.key
    listing = state.listings.get(key, _UNKNOWN)
    changed = (
        listing.expected != target.quantity
        or (listing.backorder is not None and listing.backorder != target.backorder)
    ) and listing.failed != target.quantity
    if not (state.fresh or key in snapshot.resend or changed):
        return None
    return StockPush(
        mall=target.mall,
        code=target.code,
        quantity=target.quantity,
        backorder=target.backorder if (product.backorder or listing.backorder) else None,
        reason=target.reason,
        sku=target.sku,
        key=key,
    )
