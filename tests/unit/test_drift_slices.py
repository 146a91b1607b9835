"""The read-back of a big shop is spread over the cycles (issue 10)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

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
