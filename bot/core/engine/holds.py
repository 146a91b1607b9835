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

from bot.core import words
from bot.core.domain import Alert, AlertKind, ListingTarget, OpLogRow, OrderLine, Product
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
    lines: Sequence[OrderLine],
    cancels_seen: Mapping[str, datetime],
    now: datetime,
    *,
    fresh: bool,
    horizon: datetime,
) -> tuple[dict[tuple[str, str], ListingState], dict[str, datetime]]:
    """What this cycle's order lines change in each listing's hold and sales count.

    Compares each line's reported units with what the ledger last saw (``prior_lines``,
    the state before this cycle), so a line reported again changes nothing. At start-up
    (``fresh``) a line first seen cancelled is only remembered: the adapter re-reports
    every cancel of its window after a restart, and every listing is pushed anyway.
    """
    out = dict(listings)
    seen = {key: at for key, at in cancels_seen.items() if at >= horizon}
    latest = {line.key: line for line in lines}
    for key in sorted(latest):
        line = latest[key]
        where = (line.mall, line.code)
        listing = out.get(where)
        prior = prior_lines.get(key)
        if prior is None and line.units == 0:
            if key in seen:
                continue
            seen[key] = now
            if listing is not None and not fresh:
                # The mall took units for it and may not have given them back: whatever
                # the hold was waiting for, the target is pushed over it now.
                out[where] = replace(listing, short=0, short_since=None, expected=None)
        elif listing is not None:
            out[where] = _follow(listing, line, line.units - (prior.reported if prior else 0))
    return out, seen


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
) -> tuple[dict[tuple[str, str], ListingState], list[Released]]:
    """Release holds older than ``timeout``: no order explained them, so they are drift.

    Only malls whose orders were fetched this cycle (``orders_from``; None: all) time
    out: while a mall's order API is down its sales cannot arrive, so the wait goes on.
    The listing's ``expected`` is forgotten, so it is pushed back to its target.
    """
    out = dict(listings)
    released: list[Released] = []
    for key in sorted(listings):
        listing = listings[key]
        if listing.short <= 0 or listing.short_since is None:
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
    return out, released


def available(
    listings: Listings,
    codes: Mapping[tuple[str, str], str],
    book: SetBook,
    usable: Mapping[str, Product],
    stock: Mapping[str, int],
) -> Mapping[str, int]:
    """Stock offered to listings: on-hand less the holds (a set's through its parts)."""
    held = [(codes[key], ls.short) for key, ls in listings.items() if ls.short and key in codes]
    if not held:
        return stock
    out = dict(stock)
    for sku, units in held:
        for leaf, qty in book.expanded.get(sku, ((sku, 1),)):
            out[leaf] = out.get(leaf, usable[leaf].stock) - units * qty
    for set_sku, leaves in book.expanded.items():
        out[set_sku] = set_stock(leaves, out)
    return out


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
    target_of = {(t.mall, t.code): t.quantity for t in targets}
    ops: list[OpLogRow] = []
    alerts: list[Alert] = []
    conditions: set[str] = set()
    minutes = int(timeout.total_seconds() // 60)
    for r in released:
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
    """
    return sum(
        (ls.short if ls.short_since is not None and now - ls.short_since > timeout else 0)
        + ls.drifted
        for ls in state.listings.values()
    )


def holds_to_keep(state: EngineState) -> dict[tuple[str, str], tuple[int, datetime]]:
    """The provisional holds to keep across a restart (units, since), per listing."""
    return {
        key: (ls.short, ls.short_since)
        for key, ls in sorted(state.listings.items())
        if ls.short > 0 and ls.short_since is not None
    }


def restore_holds(
    state: EngineState, kept: Mapping[tuple[str, str], tuple[int, datetime]]
) -> EngineState:
    """The state rebuilt at start-up with the holds the last commit kept (``holds_to_keep``)."""
    listings = dict(state.listings)
    for key, (units, since) in kept.items():
        if units > 0:
            listing = listings.get(key, ListingState())
            listings[key] = replace(listing, short=units, short_since=since)
    return replace(state, listings=listings)
