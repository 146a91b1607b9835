"""The read-back of a big shop is spread over the cycles (issue 10)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from bot.shell.worker import DRIFT_CHECK, drift_slice


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
