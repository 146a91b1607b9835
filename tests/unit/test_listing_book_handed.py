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
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.domain import ListingTarget
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
