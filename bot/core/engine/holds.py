"""Read-back shortfalls held as provisional sales (§4.5, the shortfall half).

A read-back that finds a mall showing fewer units than the bot expects (``detect_drift``)
holds the missing units on the listing (``ListingState.short``). Until they are
explained they count as sold: every listing of the product (and of sets using it) is
offered that much less, so the units the mall took are not sold again elsewhere. On-hand
stock (在庫数) never changes for a hold; only order lines change it (§4.1).

- Order lines that arrive for the listing replace the hold: it shrinks by the units the
  mall took for them, while the ledger applies those units to on-hand (never both).
- A line first seen already cancelled cannot say how many units it held (its units are
  0): the hold on its listing is released whole and the listing pushed to its target.
  When the mall did not restock it (``mall_restocks`` False) the units stay off the
  mall; the push puts them back up instead of waiting for an order that will not come.
- A hold nobody explains within ``SHORTFALL_TIMEOUT`` is drift: released, logged in
  操作ログ, alerted once, and the listing pushed back to its target.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import compress, repeat
from operator import attrgetter, is_not

from bot.core import words
from bot.core.domain import Alert, AlertKind, ListingTarget, OpLogRow, OrderLine, Product
from bot.core.engine.layered import Overlay, lookup, with_changes
from bot.core.engine.sets import SetBook, set_stock
from bot.core.engine.state import EngineState, LineState, ListingState
from bot.core.engine.work import fmt_int

Listings = Mapping[tuple[str, str], ListingState]


@dataclass(frozen=True, slots=True)
class Released:
    """A hold that timed out: drift, set back to the listing's target."""

    mall: str
    code: str
    units: int
    shown: int | None
    """What the mall showed at the last read-back."""


def follow_lines(
    listings: Listings,
    prior_lines: Mapping[str, LineState],
    latest: Mapping[str, OrderLine],
    cancels_seen: Mapping[str, datetime],
    now: datetime,
    *,
    fresh: bool,
    horizon: datetime,
) -> tuple[Listings, dict[str, datetime], set[tuple[str, str]]]:
    """What this cycle's order lines change in each listing's hold and sales count.

    ``latest``: this cycle's lines by key, the latest report of each (:func:`latest`).
    Compares each line's reported units with what the ledger last saw (``prior_lines``,
    the state before this cycle), so a line reported again changes nothing. At start-up
    (``fresh``) a line first seen cancelled is only remembered: the adapter re-reports
    every cancel of its window after a restart, and every listing is pushed anyway.
    Also returns the listings whose state changed (``listings`` itself when none did).
    """
    changes: dict[tuple[str, str], ListingState] = {}
    seen = {key: at for key, at in cancels_seen.items() if at >= horizon}
    # What a listing state becomes for a line's change: listings pushed the same number
    # share one state (``after_push``), so most of a cycle's ~500 sales at 100k follow
    # one already followed — a dict hit, not a ``replace`` (~3.5 µs, timeit). Keyed by
    # the state's identity; the entry holds the state, so no other takes its id.
    followed: dict[tuple[int, int, bool], tuple[ListingState, ListingState]] = {}
    keys = list(latest)  # the ledger's lines looked up in bulk (layered.lookup)
    reported = zip(keys, latest.values(), lookup(prior_lines, keys), strict=True)
    for key, line, prior in sorted(r for r in reported if _news(r[2], r[1])):
        where = (line.mall, line.code)
        listing = changes[where] if where in changes else listings.get(where)
        if prior is None and line.units == 0:
            if key in seen:
                continue
            seen[key] = now
            if listing is not None and not fresh:
                # The mall took units for it and may not have given them back: whatever
                # the hold was waiting for, the target is pushed over it now.
                changes[where] = replace(listing, short=0, short_since=None, expected=None)
        elif listing is not None:
            delta = line.units - (prior.reported if prior else 0)
            known = (id(listing), delta, line.mall_restocks)
            hit = followed.get(known)
            if hit is None:
                hit = followed[known] = (listing, _follow(listing, line, delta))
            if hit[1] is not listing:
                changes[where] = hit[1]
    if not changes:
        return listings, seen, set()
    return with_changes(listings, changes), seen, set(changes)


def latest(lines: Iterable[OrderLine]) -> dict[str, OrderLine]:
    """Order lines by key, the latest report of each line (its key built once a step)."""
    return {line.key: line for line in lines}


def _news(prior: LineState | None, line: OrderLine) -> bool:
    """The report says something the ledger did not know.

    A line reported again as it was changes nothing.
    """
    return prior is None or line.units != prior.reported


def _follow(listing: ListingState, line: OrderLine, delta: int) -> ListingState:
    """One line's change of units as the mall's own number saw it."""
    if delta > 0:  # the mall took ``delta`` units when the customer ordered
        explained = min(listing.short, delta)
        short = listing.short - explained
        return replace(
            listing,
            short=short,
            short_since=listing.short_since if short else None,
            sold=listing.sold + delta - explained,
        )
    if delta < 0 and line.mall_restocks:  # the mall gave the units back itself
        return replace(listing, sold=max(listing.sold + delta, 0))
    if delta < 0:  # not given back on the mall: they return to on-hand, push them up
        return replace(listing, expected=None)
    return listing


def time_out(
    listings: Listings,
    now: datetime,
    timeout: timedelta,
    orders_from: frozenset[str] | None,
    keys: Iterable[tuple[str, str]] | None = None,
) -> tuple[Listings, list[Released]]:
    """Release holds older than ``timeout``: no order explained them, so they are drift.

    Only malls whose orders were fetched this cycle (``orders_from``; None: all) time
    out: while a mall's order API is down its sales cannot arrive, so the wait goes on.
    The listing's ``expected`` is forgotten, so it is pushed back to its target.
    ``keys``: every listing that may hold units (default: all of them).
    """
    out: dict[tuple[str, str], ListingState] = {}
    released: list[Released] = []
    for key in sorted(listings if keys is None else keys):
        listing = listings.get(key)
        if listing is None or listing.short <= 0 or listing.short_since is None:
            continue
        if now - listing.short_since < timeout:
            continue
        if orders_from is not None and key[0] not in orders_from:
            continue
        released.append(Released(key[0], key[1], listing.short, listing.expected))
        out[key] = replace(
            listing,
            short=0,
            short_since=None,
            drifted=listing.drifted + listing.short,
            expected=None,
        )
    return (with_changes(listings, out) if out else listings), released


def available(
    listings: Listings,
    codes: Mapping[tuple[str, str], str],
    book: SetBook,
    usable: Mapping[str, Product],
    stock: Mapping[str, int],
    *,
    holding: Iterable[tuple[str, str]] | None = None,
    parents: Mapping[str, tuple[str, ...]] | None = None,
) -> tuple[Mapping[str, int], set[str]]:
    """Stock offered to listings: on-hand less the holds (a set's through its parts).

    Also returns the skus offered less than on-hand. ``holding``: every listing that
    may hold units (default: all); ``parents``: leaf → the sets it bounds (default:
    every set is recomputed).
    """
    keys = listings if holding is None else holding
    held = [
        (codes[key], listings[key].short) for key in keys if listings[key].short and key in codes
    ]
    if not held:
        return stock, set()
    out = Overlay(stock)  # a layer on on-hand (100,000 skus), not a copy of it
    lowered: set[str] = set()
    for sku, units in held:
        for leaf, qty in book.expanded.get(sku, ((sku, 1),)):
            out[leaf] = out.get(leaf, usable[leaf].stock) - units * qty
            lowered.add(leaf)
    sets: Iterable[str] = (
        book.expanded if parents is None else {s for leaf in lowered for s in parents.get(leaf, ())}
    )
    for set_sku in sets:
        out[set_sku] = value = set_stock(book.expanded[set_sku], out)
        if value != stock.get(set_sku):
            lowered.add(set_sku)
    return out, lowered


def report(
    released: Iterable[Released],
    targets: Sequence[ListingTarget],
    usable: Mapping[str, Product],
    codes: Mapping[tuple[str, str], str],
    labels: Mapping[str, str],
    raised: frozenset[str],
    now: datetime,
    timeout: timedelta,
) -> tuple[list[OpLogRow], list[Alert], set[str]]:
    """操作ログ rows, alerts (once per listing until it clears) and conditions of drift."""
    timed_out = list(released)
    target_of = {(t.mall, t.code): t.quantity for t in targets} if timed_out else {}
    ops: list[OpLogRow] = []
    alerts: list[Alert] = []
    conditions: set[str] = set()
    minutes = int(timeout.total_seconds() // 60)
    for r in timed_out:
        sku = codes.get((r.mall, r.code), "")
        product = usable.get(sku)
        name = words.say("engine.product_name", sku=sku, name=product.name) if product else sku
        label = labels.get(r.mall, r.mall)
        target = target_of.get((r.mall, r.code))
        ops.append(
            OpLogRow(
                at=now,
                kind=words.say("engine.op_shortfall"),
                sku=sku,
                field=words.say("engine.op_field_listing", mall=label, code=r.code),
                before=fmt_int(r.shown),
                after=fmt_int(target),
                memo=words.say("engine.shortfall_memo", units=r.units, minutes=minutes),
            )
        )
        cond = f"short:{r.mall}:{r.code}"
        conditions.add(cond)
        if cond in raised:
            continue
        alerts.append(
            Alert(
                kind=AlertKind.DRIFT,
                key=cond,
                mall=r.mall,
                sku=sku,
                title=words.say(
                    "engine.shortfall_title",
                    mall=label,
                    code=r.code,
                    name=name or r.code,
                    units=r.units,
                ),
                text=words.say(
                    "engine.shortfall_text",
                    minutes=minutes,
                    shown=fmt_int(r.shown),
                    target=fmt_int(target),
                ),
            )
        )
    return ops, alerts, conditions


def stuck_units(state: EngineState, now: datetime, timeout: timedelta) -> int:
    """Units malls show below their target for longer than ``timeout``.

    Holds past the time-out that could not be released (the mall's orders are not being
    fetched) and released ones whose set-back push has not landed yet. Zero when the
    shortfall half works: every hold is explained or set back within the time-out.
    Only the listings that can hold or drift are looked at (:func:`_flagged`).
    """
    listings = state.listings
    keys = _flagged(state)
    values: Iterable[ListingState] = listings.values()
    if keys is not None:  # looked up in bulk (layered.lookup): no listing is None
        values = [ls for ls in lookup(listings, list(keys)) if ls is not None]
    drifted: int = sum(map(_DRIFTED, values))
    return drifted + sum(
        ls.short
        for ls in compress(values, map(is_not, map(_SINCE, values), repeat(None)))
        if ls.short_since is not None and now - ls.short_since > timeout
    )


def holds_to_keep(state: EngineState) -> dict[tuple[str, str], tuple[int, datetime]]:
    """The provisional holds to keep across a restart (units, since), per listing."""
    listings, keys = state.listings, _flagged(state)
    items: Iterable[tuple[tuple[str, str], ListingState]] = listings.items()
    values: Iterable[ListingState] = listings.values()
    if keys is not None:  # looked up in bulk, as in stuck_units
        found = list(keys)
        items = [
            (k, ls) for k, ls in zip(found, lookup(listings, found), strict=True) if ls is not None
        ]
        values = [ls for _, ls in items]
    since = map(_SINCE, values)
    held = [
        (key, (ls.short, ls.short_since))
        for key, ls in compress(items, map(is_not, since, repeat(None)))
        if ls.short > 0 and ls.short_since is not None
    ]
    return dict(sorted(held))


def _flagged(state: EngineState) -> frozenset[tuple[str, str]] | None:
    """The listings that may hold or drift, from the memo; None: every listing may.

    The step that made the memo knew which of its listings held (``shorts``) or drifted
    (``drifting``); the feedback since then names the listings it changed (``edited``).
    """
    memo = state.memo
    if memo is None or memo.listings is not state.listings:
        return None
    return memo.shorts | memo.drifting | memo.edited


def drifting(
    listings: Mapping[tuple[str, str], ListingState],
    keys: Iterable[tuple[str, str]] | None = None,
) -> frozenset[tuple[str, str]]:
    """The listings among ``keys`` (None: all) with released drift not set back yet."""
    if keys is None:
        return frozenset(compress(listings.keys(), map(_DRIFTED, listings.values())))
    keys = list(keys)  # looked up in C (layered.lookup): ~20,000 a busy step
    return frozenset(
        compress(keys, map(getattr, lookup(listings, keys), repeat("drifted"), repeat(0)))
    )


_DRIFTED = attrgetter("drifted")
_SINCE = attrgetter("short_since")


def restore_holds(
    state: EngineState, kept: Mapping[tuple[str, str], tuple[int, datetime]]
) -> EngineState:
    """The state rebuilt at start-up with the holds the last commit kept (``holds_to_keep``).

    A start-up step: the state it returns has no memo, so the next step is worked out
    in full (a memo names what changed since its step; holds put back from ``_state``
    change what listings offer and which sku a released hold is logged under).
    """
    listings = dict(state.listings)
    for key, (units, since) in kept.items():
        if units > 0:
            listing = listings.get(key, ListingState())
            listings[key] = replace(listing, short=units, short_since=since)
    return replace(state, listings=listings, memo=None)
