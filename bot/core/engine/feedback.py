"""What the malls answered: push results (§4.5) and listings changed by hand on a mall."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from itertools import compress, repeat
from operator import ne, or_

from bot.core import words
from bot.core.domain import Alert, AlertKind, MallLogRow, PushResult, PushStatus, StockPush
from bot.core.engine.layered import Overlay, lookup, with_changes
from bot.core.engine.memo import edited
from bot.core.engine.state import EngineState, ListingState

SENT = frozenset({PushStatus.APPLIED, PushStatus.ACCEPTED, PushStatus.PENDING, PushStatus.SKIPPED})
"""Outcomes after which the listing is taken to show the pushed number (or its own, FBA)."""


class _Fold:
    """Push outcomes folded into a copy of the state: listings, conditions, log rows, alerts.

    A refusal at push time (:func:`after_push`) and one learnt later
    (:func:`after_outcome`) raise the same condition, alert and モール更新ログ row.
    """

    def __init__(self, state: EngineState, now: datetime, labels: Mapping[str, str] | None):
        self.state, self.now, self.labels = state, now, labels or {}
        self.listings = Overlay(state.listings)
        self.conditions = set(state.conditions)
        self.logs: list[MallLogRow] = []
        self.alerts: list[Alert] = []
        # モール更新ログ 結果 by status, worded once per call (a busy cycle logs ~1,000).
        self.result_words: dict[PushStatus, str] = {}

    def resolve(self, push: StockPush) -> None:
        """The mall took the number: a refusal raised for this listing is over."""
        cond = _condition(push)
        if cond in self.conditions:
            self.conditions.discard(cond)
            self.alerts.append(_push_resolved(push, self.labels.get(push.mall, push.mall)))

    def refuse(self, push: StockPush, result: PushResult) -> None:
        """The mall refused: the condition and its alert, once."""
        cond = _condition(push)
        if cond not in self.conditions:
            self.conditions.add(cond)
            label = self.labels.get(push.mall, push.mall)
            self.alerts.append(_rejected(push, result, cond, label))

    def log(self, push: StockPush, result: PushResult) -> None:
        """The push's モール更新ログ row."""
        said = self.result_words
        self.logs.append(
            MallLogRow(
                at=self.now,
                mall=push.mall,
                code=push.code,
                sku=push.sku,
                quantity=push.quantity,
                result=said.get(result.status)
                or said.setdefault(result.status, _result_label(result.status)),
                detail=result.message,
            )
        )

    def done(
        self, pushes: Sequence[StockPush]
    ) -> tuple[EngineState, list[MallLogRow], list[Alert]]:
        """The state with what was folded in; its log rows and alerts."""
        state = self.state
        listings = self.listings.freeze()
        memo = edited(state.memo, state.listings, listings, (p.key for p in pushes))
        out = replace(state, listings=listings, conditions=frozenset(self.conditions), memo=memo)
        return out, self.logs, self.alerts


def _condition(push: StockPush) -> str:
    return f"push:{push.mall}:{push.code}"


def after_push(
    state: EngineState,
    pushes: Sequence[StockPush],
    results: Sequence[PushResult],
    now: datetime,
    *,
    labels: Mapping[str, str] | None = None,
) -> tuple[EngineState, list[MallLogRow], list[Alert]]:
    """Fold one mall's push results into the state; log rows and alerts for the record step."""
    fold = _Fold(state, now, labels)
    listings = fold.listings
    # One object per distinct outcome: a cold start pushes 100,000 listings at one
    # time and most end in one of a few states (the same number, now), kept once each.
    # A listing sent its number is told by what it keeps of its prior state (the hold)
    # and the number: found by that small tuple, not by hashing the whole state, and
    # built only when new (``replace`` and a state's hash cost ~4 µs of a push's ~8).
    outcomes: dict[ListingState, ListingState] = {}
    sent: dict[tuple[int, bool | None, int, datetime | None], ListingState] = {}
    for push, result, known in zip(pushes, results, _priors(state, pushes), strict=True):
        key = push.key
        prior = known if known is not _LATER else listings.get(key)
        if prior is None:  # not built as get()'s default: most pushed listings are known
            prior = ListingState()
        if result.status in SENT:
            # The push overwrote whatever the mall showed: sales seen so far and a
            # set-back of drift are settled; a hold stays until its lines arrive.
            backorder = push.backorder if push.backorder is not None else prior.backorder
            told = (push.quantity, backorder, prior.short, prior.short_since)
            done = sent.get(told)
            if done is None:
                done = sent[told] = replace(
                    prior,
                    pushed=push.quantity,
                    expected=push.quantity,
                    backorder=backorder,
                    failed=None,
                    at=now,
                    sold=0,
                    drifted=0,
                )
            listings[key] = done
            # PENDING: a refusal is not resolved until the mall says it took the number.
            if result.status is not PushStatus.PENDING:
                fold.resolve(push)
        else:
            refused = replace(prior, failed=push.quantity, at=now)
            listings[key] = outcomes.setdefault(refused, refused)
            fold.refuse(push, result)
        fold.log(push, result)
    return fold.done(pushes)


_LATER = ListingState()
"""A prior looked up as the fold goes (a listing pushed twice in one batch)."""


def _priors(state: EngineState, pushes: Sequence[StockPush]) -> Iterable[ListingState | None]:
    """Each push's listing as the state knows it, looked up in bulk (layered.lookup).

    A listing pushed more than once in the batch must see its earlier result: then
    every prior is looked up as the fold goes instead (``_LATER``).
    """
    keys = [p.key for p in pushes]
    if len(set(keys)) != len(keys):
        return repeat(_LATER, len(keys))
    return lookup(state.listings, keys)


def after_outcome(
    state: EngineState,
    pushes: Sequence[StockPush],
    results: Sequence[PushResult],
    now: datetime,
    *,
    labels: Mapping[str, str] | None = None,
) -> tuple[EngineState, list[MallLogRow], list[Alert]]:
    """Fold what a mall said later about pushes it was sent as PENDING.

    ``pushes`` are the very pushes answered PENDING (the channel reports only the newest
    push of a listing). Taken: nothing changes but a refusal raised earlier, which is
    resolved (its モール更新ログ row was written when the push was sent). Refused: as a
    refusal at push time (the row, the alert once, the number not sent again until the
    target changes or 再送), except that the bot no longer knows what the listing
    shows: ``expected`` is forgotten, so the read-back does not take the mall's older
    number for a hand edit.
    """
    fold = _Fold(state, now, labels)
    for push, result in zip(pushes, results, strict=True):
        if result.status in SENT:
            fold.resolve(push)
            continue
        prior = fold.listings.get(push.key) or ListingState()
        fold.listings[push.key] = replace(prior, failed=push.quantity, expected=None, at=now)
        fold.refuse(push, result)
        fold.log(push, result)
    return fold.done(pushes)


def _result_label(status: PushStatus) -> str:
    """モール更新ログ 結果 of one push."""
    if status is PushStatus.APPLIED:
        return words.say("engine.push_applied")
    if status is PushStatus.ACCEPTED:
        return words.say("engine.push_accepted")
    if status is PushStatus.PENDING:
        return words.say("engine.push_pending")
    if status is PushStatus.UNKNOWN_CODE:
        return words.say("engine.push_unknown_code")
    if status is PushStatus.SKIPPED:
        return words.say("engine.push_skipped")
    return words.say("engine.push_error")


def _rejected(push: StockPush, result: PushResult, cond: str, mall_label: str) -> Alert:
    """The alert of a push the mall refused (once, until a push there succeeds)."""
    detail = (
        words.say("engine.push_unknown_code_text", mall=mall_label, code=push.code)
        if result.status is PushStatus.UNKNOWN_CODE
        else result.message
    )
    return Alert(
        kind=AlertKind.PUSH_REJECTED,
        key=cond,
        mall=push.mall,
        sku=push.sku,
        code=push.code,
        title=words.say(
            "engine.push_rejected_title", mall=mall_label, code=push.code, quantity=push.quantity
        ),
        text=detail,
    )


def _push_resolved(push: StockPush, mall_label: str) -> Alert:
    """A listing the mall refused took its number at last: said once, like the refusal."""
    return Alert(
        kind=AlertKind.RESOLVED,
        key=f"resolved:push:{push.mall}:{push.code}",
        mall=push.mall,
        sku=push.sku,
        code=push.code,
        title=words.say(
            "engine.push_resolved_title", mall=mall_label, code=push.code, quantity=push.quantity
        ),
    )


def detect_drift(
    state: EngineState,
    readings: Mapping[tuple[str, str], int],
    now: datetime,
    *,
    skip: frozenset[tuple[str, str]] = frozenset(),
    labels: Mapping[str, str] | None = None,
    shortfalls: bool = True,
) -> tuple[EngineState, list[MallLogRow], list[Alert]]:
    """Compare what malls show with what the bot expects them to show (§4.5).

    A surplus (``current > expected``) means someone changed the number by hand on the
    mall — the edit らくらく在庫 cannot see. The listing is forgotten so the next step
    pushes the right number over it, and the team hears of it once. A rise that gives
    back units a hold was waiting for only shrinks the hold.

    A shortfall beyond the units of order lines seen since the last push or read-back
    (``sold``) is held as provisional sales (``ListingState.short``): its orders have
    not arrived yet, or it is a hand edit or a cancel the mall did not restock. ``step``
    lets arriving lines replace it and times it out (holds.py). Either way the listing
    is pushed to its target again, so a shortfall the seen lines explain (a capped
    listing that sold) is set back at once. ``shortfalls=False`` (start-up, when 出品状況 may
    lag behind the malls) looks for surpluses only. ``skip`` holds listings a mall
    restocked itself after a cancel seen this cycle, which is not a hand edit.
    """
    labels = labels or {}
    known = state.listings
    changes: dict[tuple[str, str], ListingState] = {}
    conditions = set(state.conditions)
    # Most listings read back show what they should: their condition keys are built
    # only while a condition of that family is raised at all.
    drifts = any(c.startswith("drift:") for c in conditions)
    shorts = any(c.startswith("short:") for c in conditions)
    logs: list[MallLogRow] = []
    alerts: list[Alert] = []
    # A read-back covers the whole catalogue every few minutes and most listings read as
    # expected: one object per distinct outcome, like after_push, so the states a cold
    # push left shared stay shared (100,000 copies of a few states otherwise).
    outcomes: dict[ListingState, ListingState] = {}
    for (key, current), listing in _read(readings, known, quiet=not (drifts or shorts)):
        if listing is None or listing.expected is None or key in skip:
            continue
        mall, code = key
        if current <= listing.expected:
            if drifts:
                conditions.discard(f"drift:{mall}:{code}")
            if shortfalls and (found := _shortfall(listing, current, now)) is not listing:
                changes[key] = listing = outcomes.setdefault(found, found)
            if shorts and not listing.short:
                conditions.discard(f"short:{mall}:{code}")
            continue
        cond = f"drift:{mall}:{code}"
        listing = _given_back(listing, current)
        if current <= (expected := listing.expected or 0):
            changes[key] = listing
            continue
        changes[key] = replace(listing, expected=None, failed=None)
        logs.append(
            MallLogRow(
                at=now,
                mall=mall,
                code=code,
                sku="",
                quantity=current,
                result=words.say("engine.drift_result"),
                detail=words.say("engine.drift_detail", expected=expected, current=current),
            )
        )
        if cond not in conditions:
            conditions.add(cond)
            alerts.append(_drift_alert(cond, mall, labels.get(mall, mall), code, expected, current))
    listings = with_changes(known, changes) if changes else known
    memo = edited(state.memo, known, listings, changes)
    out = replace(state, listings=listings, conditions=frozenset(conditions), memo=memo)
    return out, logs, alerts


def _read(
    readings: Mapping[tuple[str, str], int],
    known: Mapping[tuple[str, str], ListingState],
    *,
    quiet: bool,
) -> Iterable[tuple[tuple[tuple[str, str], int], ListingState | None]]:
    """Each reading with its listing (looked up in bulk: a read-back slice is ~4,000).

    ``quiet`` (no drift or shortfall condition raised): the readings that show what the
    listing expects, with no sales seen since, are left out — :func:`detect_drift`
    changes nothing for them. They are most of a slice, and are told apart in C (the
    loop over a 2,500-listing slice at 100k cost ~2.8 ms, ``python -m bench scale``'s
    read-backs replayed).
    """
    found = list(lookup(known, readings))
    pairs = zip(readings.items(), found, strict=True)
    if not quiet:
        return pairs
    expected = map(getattr, found, repeat("expected"), repeat(None))
    sold = map(getattr, found, repeat("sold"), repeat(0))
    return compress(pairs, map(or_, map(ne, readings.values(), expected), sold))


def _shortfall(listing: ListingState, current: int, now: datetime) -> ListingState:
    """A read-back at or below ``expected``: hold what the seen lines do not explain.

    A listing found lower is pushed again (``expected`` forgotten): to its target, which
    the hold lowers by the units it waits for, so 出品状況 and the mall agree again.
    """
    gap = (listing.expected or 0) - current
    if gap <= 0:
        # The usual read-back: the listing shows what it should and is kept as it is.
        return replace(listing, sold=0) if listing.sold else listing
    short = listing.short + max(gap - listing.sold, 0)
    return replace(
        listing,
        expected=None,
        sold=0,
        short=short,
        short_since=(listing.short_since or now) if short else None,
    )


def _given_back(listing: ListingState, current: int) -> ListingState:
    """A rise on the mall first gives back units a hold was waiting for."""
    back = min(listing.short, current - (listing.expected or 0))
    if back <= 0:
        return listing
    short = listing.short - back
    return replace(
        listing,
        expected=(listing.expected or 0) + back,
        short=short,
        short_since=listing.short_since if short else None,
    )


def _drift_alert(
    cond: str, mall: str, mall_label: str, code: str, expected: int, current: int
) -> Alert:
    """The alert of a listing someone raised by hand on the mall (once, until it clears)."""
    return Alert(
        kind=AlertKind.DRIFT,
        key=cond,
        mall=mall,
        code=code,
        title=words.say(
            "engine.drift_title", mall=mall_label, code=code, expected=expected, current=current
        ),
        text=words.say("engine.drift_text"),
    )
