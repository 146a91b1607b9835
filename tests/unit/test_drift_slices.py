"""The read-back of a big shop is spread over the cycles (issue 10)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.shell.drift_slices import DriftSlices, drift_slice
from bot.shell.worker import DRIFT_CHECK


def test_every_listing_is_read_once_per_round_and_slices_are_even() -> None:
    listings = [("rakuten", f"item{i}:v1") for i in range(20_000)] + [
        ("yahoo", f"Y{i}") for i in range(5_000)
    ]
    slices = round(DRIFT_CHECK / timedelta(seconds=15))
    assert slices == 40
    per_slice = Counter(drift_slice(m, c, slices) for m, c in listings)
    assert set(per_slice) == set(range(slices))  # each listing in exactly one slice
    assert sum(per_slice.values()) == len(listings)
    mean = len(listings) / slices
    assert max(per_slice.values()) < 1.2 * mean  # no burst: about 625 a cycle
    assert min(per_slice.values()) > 0.8 * mean


def test_the_slices_are_cut_again_only_when_the_listings_change() -> None:
    listings = {("rakuten", f"item{i}:v1"): i for i in range(3_000)}
    cut = DriftSlices()
    parts = [cut.part(listings, i, 4) for i in range(4)]
    assert sorted(k for p in parts for k in p) == sorted(listings)
    assert all(drift_slice(m, c, 4) == i for i, p in enumerate(parts) for m, c in p)
    assert cut.part(dict(listings), 2, 4) is parts[2]  # same listings: the same slice

    listings[("yahoo", "new")] = 1
    grown = [cut.part(listings, i, 4) for i in range(4)]
    assert sum(len(p) for p in grown) == 3_001
    assert [k for p in grown for k in p if k not in parts[drift_slice(*k, 4)]] == [("yahoo", "new")]
    assert sum(len(p) for p in (cut.part(listings, i, 5) for i in range(5))) == 3_001


class _NoKeysView(dict[tuple[str, str], int]):
    """A listing map whose keys may not be compared as a set (the slow path)."""

    def keys(self):  # type: ignore[override]
        raise AssertionError("compared as sets")


def test_the_engines_next_map_with_the_same_key_objects_is_not_compared_as_a_set() -> None:
    listings = {("rakuten", f"item{i}:v1"): i for i in range(1_000)}
    cut = DriftSlices()
    first = cut.part(listings, 1, 4)
    # The engine's next state: a new map, the same key objects in the same order.
    assert cut.part(_NoKeysView({k: v + 1 for k, v in listings.items()}), 1, 4) is first


@given(
    st.lists(
        st.lists(st.integers(0, 12), max_size=10, unique=True).map(
            lambda ns: [("rakuten", f"c{n}") for n in ns]
        ),
        min_size=1,
        max_size=6,
    ),
    st.integers(1, 4),
    st.data(),
)
def test_a_slice_is_what_a_walk_of_the_listings_gives(
    steps: list[list[tuple[str, str]]], count: int, data: st.DataObject
) -> None:
    cut = DriftSlices()
    kept: dict[tuple[str, str], tuple[str, str]] = {}  # one key object per listing, carried on
    for keys in steps:
        fresh = data.draw(st.booleans())  # a map built with new, equal key objects
        objects = [(m, "".join(c)) if fresh else kept.setdefault((m, c), (m, c)) for m, c in keys]
        listings = dict.fromkeys(objects, 0)
        index = data.draw(st.integers(0, count - 1))
        expected = [k for k in listings if drift_slice(*k, count) == index]
        assert sorted(cut.part(listings, index, count)) == sorted(expected)
