"""Which listings a cycle's read-back reads: the listings cut into stable slices (issue 10).

A big shop's read-back is spread over the cycles of ``drift_check`` instead of one burst:
each cycle reads one slice, each listing once per round. A listing's slice comes from a
stable hash of mall and code, so a restart (or a new listing) moves no other listing.
The slices are worked out once and again only when the set of listings changes, not
every cycle for 100,000 listings.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from operator import is_not
from typing import Any

Key = tuple[str, str]
"""(mall, code)."""


def drift_slice(mall: str, code: str, slices: int) -> int:
    """Which of ``slices`` read-backs reads this listing (stable across restarts)."""
    return zlib.crc32(f"{mall}:{code}".encode()) % slices


@dataclass
class DriftSlices:
    """The listings by slice, kept while the listings and the slice count stay."""

    count: int = 0
    keys: frozenset[Key] = frozenset()
    order: list[Key] = field(default_factory=list)
    """The listings' keys as last seen, in their order."""
    parts: list[list[Key]] = field(default_factory=list)

    def part(self, listings: Mapping[Key, Any], index: int, count: int) -> list[Key]:
        """Slice ``index`` of ``count`` of ``listings`` (in the listings' order)."""
        if count != self.count or not self._same_keys(listings):
            self.count, self.keys, self.order = count, frozenset(listings), list(listings)
            self.parts = [[] for _ in range(count)]
            for key in listings:  # the listings' own key tuples, not copies
                self.parts[drift_slice(*key, count)].append(key)
        return self.parts[index]

    def _same_keys(self, listings: Mapping[Key, Any]) -> bool:
        """Whether ``listings`` has the keys last seen.

        The engine's listing maps carry their key objects on, in order, from one state to
        the next: compared place by place by identity (C speed, no hashing of 100,000
        tuples), and as sets only when that differs.
        """
        if len(listings) == len(self.order) and not any(map(is_not, self.order, listings)):
            return True
        return listings.keys() == self.keys
