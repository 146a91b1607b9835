"""出品状況's book looks only at the targets it was not handed last time (issue 10 item 3).

The engine hands the same object for a listing whose target did not change. The book
finds the ones to look at by place (a C walk of 100,000 identities, then a bisection
per pushed listing) instead of hashing every target's identity: the same targets, in
the same order, as the plain walk by identity.
"""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.core.domain import ListingTarget
from bot.core.engine import ChangedTargets
from bot.infra.sheet.listing_book import _Handed


def _catalogue(n: int) -> list[ListingTarget]:
    """``n`` skus, some with two listings, sorted by sku as the engine hands them."""
    out = []
    for i in range(n):
        sku = f"S{i:03d}"
        out.append(ListingTarget(mall="rakuten", code=f"r{i}", sku=sku, quantity=i % 5))
        if i % 3 == 0:
            out.append(ListingTarget(mall="yahoo", code=f"y{i}", sku=sku, quantity=i % 5))
    return out


steps = st.lists(
    st.tuples(
        st.lists(st.integers(0, 40), max_size=6),  # places whose target is replaced
        st.lists(st.integers(0, 40), max_size=4),  # places pushed this call
        st.booleans(),  # one listing more (counted unalike)
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 25), steps, st.booleans())
def test_the_targets_looked_at_are_those_of_the_walk_by_identity(
    n: int, calls: list[tuple[list[int], list[int], bool]], shuffled: bool
) -> None:
    handed = _Handed()
    targets = _catalogue(n)
    if shuffled:  # not sorted by sku: the book must still find them (by identity)
        targets.reverse()
    for call, (replaced, pushed_at, grow) in enumerate(calls):
        targets = list(targets)
        for i in replaced:
            if i < len(targets):
                targets[i] = replace(targets[i], quantity=targets[i].quantity + 1)
        if grow:
            new = ListingTarget(mall="rakuten", code=f"new{call}", sku=f"Z{call}", quantity=1)
            targets.append(new)
        pushed = [targets[i].key for i in pushed_at if i < len(targets)]
        plain = copy.copy(handed)
        plain.by_key = dict(handed.by_key)
        expected = plain._by_identity(targets, (*pushed, *handed.again))

        looked = handed.to_look_at(targets, pushed)

        assert [id(t) for t in looked] == [id(t) for t in expected]
        handed.took(targets, looked, set(pushed))
        assert all(handed.by_key[t.key] is t for t in targets)


def test_a_usual_cycle_finds_its_targets_by_place() -> None:
    """Sorted by sku, counted alike, pushes on replaced targets: no walk by identity."""
    handed = _Handed()
    targets = _catalogue(30)
    handed.took(targets, targets, set())
    changed = list(targets)
    changed[4] = replace(changed[4], quantity=9)
    changed[7] = replace(changed[7], quantity=9)
    pushed = [changed[4].key, changed[7].key, changed[10].key]

    def walk(*_: object) -> list[ListingTarget]:
        raise AssertionError("walked every target by identity")

    handed._by_identity = walk  # type: ignore[method-assign]
    looked = handed.to_look_at(changed, pushed)

    assert looked == [changed[4], changed[7], changed[10]]


def test_a_usual_cycle_searches_for_no_place(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pushed listings whose target changed, and last time's pushed ones where they were."""
    handed = _Handed()
    targets = _catalogue(30)
    handed.took(targets, targets, set())
    first = list(targets)
    first[4] = replace(first[4], quantity=9)
    pushed = [first[4].key]
    handed.took(first, handed.to_look_at(first, pushed), set(pushed))
    second = list(first)
    second[12] = replace(second[12], quantity=9)

    def search(*_: object) -> int | None:
        raise AssertionError("searched for a listing's place")

    monkeypatch.setattr("bot.infra.sheet.listing_book._place", search)
    looked = handed.to_look_at(second, [second[12].key])

    assert looked == [second[4], second[12]]  # last time's push looked at again, found in place


def _changed(since: tuple[ListingTarget, ...], now: list[ListingTarget]) -> ChangedTargets:
    """The engine's account of a step (state.py): keys of targets with no equal one."""
    keys = frozenset(t.key for t in set(since).symmetric_difference(now))
    return ChangedTargets(since=since, keys=keys)


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 25), steps, st.booleans(), st.lists(st.booleans(), max_size=6))
@example(5, [([0], [], False), ([1], [], False), ([2], [], False)], False, [False, True])
def test_the_targets_named_changed_are_those_of_the_walk_by_identity(
    n: int,
    calls: list[tuple[list[int], list[int], bool]],
    shuffled: bool,
    stale: list[bool],
) -> None:
    """Given the engine's ChangedTargets, the book looks at what the plain walk finds.

    ``stale``: steps with no record, after which the account counts from targets the
    book was never handed: it must not trust it.
    """
    handed = _Handed()
    recorded = False  # whether the book was handed the targets the account counts from
    targets = tuple(_catalogue(n))
    if shuffled:
        targets = targets[::-1]
    for call, (replaced, pushed_at, grow) in enumerate(calls):
        before = targets
        now = list(targets)
        for i in replaced:
            if i < len(now):
                now[i] = replace(now[i], quantity=now[i].quantity + 1)
        if grow:
            now.append(ListingTarget(mall="rakuten", code=f"new{call}", sku=f"Z{call}", quantity=1))
        targets = tuple(now)
        changed = _changed(before, now)
        if call < len(stale) and stale[call]:
            recorded = False  # no record this step: the next account counts from unseen targets
            continue
        pushed = [targets[i].key for i in pushed_at if i < len(targets)]
        plain = copy.copy(handed)
        plain.by_key = dict(handed.by_key)
        expected = plain._by_identity(targets, (*pushed, *handed.again))

        looked = handed.to_look_at(targets, pushed, changed if call else None)

        assert [id(t) for t in looked] == [id(t) for t in expected]
        # Sorted by sku, no new listing, the last step recorded: named, never walked.
        if not shuffled and not grow and recorded:
            assert handed.exact
        recorded = True
        handed.took(targets, looked, set(pushed))
        assert handed.by_key == {t.key: t for t in targets}
        assert all(handed.by_key[t.key] is t for t in targets)


class _NoWalk(tuple[ListingTarget, ...]):
    """Targets that refuse to be walked (indexing and bisection still work)."""

    def __iter__(self):  # type: ignore[no-untyped-def]
        raise AssertionError("walked every target")


def test_a_usual_cycle_named_by_the_engine_walks_no_target() -> None:
    """Changed targets named by the engine: found by bisection, none walked."""
    handed = _Handed()
    first = tuple(_catalogue(30))
    handed.took(first, first, set())
    now = list(first)
    now[4] = replace(now[4], quantity=9)
    now[7] = replace(now[7], quantity=9)
    second = _NoWalk(now)
    changed = _changed(first, now)
    pushed = [now[4].key, now[10].key]

    looked = handed.to_look_at(second, pushed, changed)

    assert looked == [now[4], now[7], now[10]]
    assert handed.exact
    handed.took(second, looked, set(pushed))
    assert handed.by_key[now[4].key] is now[4] and handed.by_key[now[7].key] is now[7]
