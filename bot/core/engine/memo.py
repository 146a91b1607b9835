"""What one step carries to the next so that a cycle costs what changed, not the catalogue.

``step`` is a pure function of (state, snapshot, lines, now). At 100,000 products most
of a cycle's decisions are the previous cycle's again: a product whose row, on-hand,
listings and alert conditions did not change has the same listing targets, no push,
the same 状態 and no new alert. So the plan's ``next_state`` carries a ``Memo``: the
inputs the step saw (by reference) and what it derived from them. The next step
compares its inputs with those — by identity first (the sheet layer hands an unchanged
row back as the same ``Product``), by value where identity says nothing — and redoes
the work only for the products that differ.

Identity is an optimisation, never a meaning: an input that is not the very object the
memo saw is compared by value or taken as changed, so a sheet parsed afresh, a state
rebuilt at start-up or a memo-less state give exactly the plan a from-scratch step
gives (``tests/unit/test_engine_incremental.py`` holds this). A memo is never mutated
once made; a step builds new containers from it (C-level copies, or a layer of its own
on a shared base for the day-long ledger lines: layered.py), so two steps from the same
state (a commit retried on a changed sheet) are independent.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, replace
from itertools import compress
from operator import is_not
from typing import TYPE_CHECKING, Any, TypeVar

from bot.core.domain import Product, ProductMap, SetComponent, ShopSettings
from bot.core.engine.layered import lookup

if TYPE_CHECKING:
    from bot.core.engine.conditions import ConditionBook
    from bot.core.engine.listings import TargetBook
    from bot.core.engine.orders import Catalog, LineBook
    from bot.core.engine.sets import SetBook
    from bot.core.engine.settled import SettledCheck, Split
    from bot.core.engine.state import ListingState

K = TypeVar("K", bound=Hashable)


def changed_keys(old: Mapping[K, Any], new: Mapping[K, Any]) -> tuple[list[K], bool]:
    """Keys whose value is not the same object in both mappings (added and removed too).

    Also whether both hold the same keys in the same order. Then (the usual case: a dict
    copied and some values replaced) the comparison runs in C over the two value
    sequences. The keys are compared as lists: their comparison takes a key that is
    the same object as equal without calling anything (twice as fast as ``is_not``).
    """
    if len(old) == len(new) and list(old) == list(new):
        return list(compress(new.keys(), map(is_not, old.values(), new.values()))), True
    missing = object()
    out = [k for k, v in new.items() if old.get(k, missing) is not v]
    out.extend(k for k in old.keys() - new.keys())
    return out, False


def changed_products(
    old: Mapping[str, Product], new: Mapping[str, Product]
) -> tuple[list[str], bool]:
    """``changed_keys(old, new)`` for two snapshots' products, from what ``new`` says.

    A parse's ``ProductMap`` names the skus that may have changed since the maps it
    handed out before; when ``old`` is one of them, only those skus are compared (a
    step then costs the rows staff edited, not a pass over 100,000 rows, which at that
    size is ~10 ms of cache misses). Otherwise every row is compared. The keys come
    out sorted (``changed_keys`` gives them in ``new``'s order; no caller relies on it).
    """
    if isinstance(new, ProductMap):
        for ref, keys in new.since:
            if ref() is old:
                # Compared in C: the sweep's window names thousands of rows a cycle.
                # No product is None, so None is "missing" (in neither: not changed).
                named = list(keys)
                out = sorted(compress(named, map(is_not, map(old.get, named), map(new.get, named))))
                return out, all((k in old) is (k in new) for k in out)
    return changed_keys(old, new)


def positions(keys: Iterable[str]) -> dict[str, int]:
    """Key → its place in ``keys`` (to put a few keys back in the sheet's order)."""
    return {k: i for i, k in enumerate(keys)}


@dataclass(frozen=True, slots=True)
class Frame:
    """The sheet-wide facts of one step: what every product's decisions rest on."""

    products: Mapping[str, Product]
    """``Snapshot.products`` as the step saw it (compared by identity, row by row)."""
    position: Mapping[str, int]
    """sku → its place in ``products`` (the sheet's row order)."""
    invalid: frozenset[str]
    sets: tuple[SetComponent, ...]
    book: SetBook
    parents: Mapping[str, tuple[str, ...]]
    """Leaf sku → the sets whose stock it bounds."""
    set_rank: Mapping[str, int]
    """Set sku → its place in ``book.expanded``."""
    settings: ShopSettings
    labels: Mapping[str, str]
    broken: frozenset[str]


@dataclass(frozen=True, slots=True)
class Memo:
    """What a step derived, handed to the next step inside ``EngineState``."""

    frame: Frame
    stock: Mapping[str, int]
    """``next_state.stock``: the next step's state holds this very mapping, or not."""
    writes: frozenset[str]
    """Skus whose 在庫数 the plan wrote (their row differs from on-hand until it lands)."""
    catalog: Catalog
    """The code index (taken again while no usable product's codes change)."""
    lines: LineBook
    shorts: frozenset[tuple[str, str]]
    """Listings of ``targets.listings`` holding a shortfall (``ListingState.short``)."""
    drifting: frozenset[tuple[str, str]]
    """Listings of ``targets.listings`` with released drift not set back (``drifted``)."""
    offered: frozenset[str]
    """Skus whose stock offered to listings was less than on-hand (holds)."""
    targets: TargetBook
    conditions: ConditionBook
    raised: frozenset[str]
    """``next_state.conditions``."""
    listings: Mapping[tuple[str, str], ListingState]
    """The listing knowledge of the state that carries this memo, as far as the memo
    knows: ``targets.listings`` at first, then what ``after_push`` and ``detect_drift``
    made of it (they say which listings they changed, see ``edited``)."""
    edited: frozenset[tuple[str, str]] = frozenset()
    """Listings whose knowledge may differ between ``targets.listings`` and ``listings``."""
    settled: SettledCheck | None = None
    """What 入出庫's 済 rows and the ledger said (``settled.check`` goes on from it)."""
    split: Split | None = None
    """入出庫's rows split into 済 and not (``settled.split`` goes on from it)."""


def edited(
    memo: Memo | None,
    before: Mapping[tuple[str, str], ListingState],
    after: Mapping[tuple[str, str], ListingState],
    keys: Iterable[tuple[str, str]],
) -> Memo | None:
    """The memo of a state whose listings went from ``before`` to ``after`` in ``keys``.

    So the next step needs not compare every listing to find the ones that changed.
    Of ``keys``, only those whose listing is not the same object in both are recorded:
    a read-back that found a listing as expected leaves it as it was, and the next step
    looks again only at the listings that changed. When ``before`` is not the listing
    knowledge the memo knows of, the memo is left as it is (the next step then compares
    the listings).
    """
    if memo is None or memo.listings is not before:
        return memo
    keys = list(keys)  # looked up in C (no listing is None: None is "missing")
    changed = compress(keys, map(is_not, lookup(after, keys), lookup(before, keys)))
    return replace(memo, listings=after, edited=memo.edited.union(changed))
