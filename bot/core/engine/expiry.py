"""The ledger's expiry book: every kept line's (seen_at, key), oldest first, cheap to step on.

The ledger keeps its lines for the cancellation window: 120,000 an hour at 100,000
products, a few hundred new a step. Lines leave it oldest first, so the book is kept
sorted. Rebuilding one sorted sequence each step (new entries merged in, expired ones
cut off) copies the whole day; so the book is a shared base — two flat tuples no one
changes, of which a step's book uses the entries from ``start`` — and a small sorted
top of the entries added since, the step's own. Expiring moves ``start`` (no copy); new
entries are merged into the top; a top grown past an eighth of the base (at least
:data:`FOLD_MIN` entries), or a base mostly expired, is folded into a new base (one
copy). An older book is never changed, so stepping again from an older state finds the
book it left.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import datetime
from itertools import chain

from bot.core.engine.layered import FOLD_MIN

Expiry = tuple[tuple[datetime, ...], tuple[str, ...]]
"""A sorted run of entries as two flat tuples: (times, keys)."""


@dataclass(frozen=True, slots=True)
class ExpiryBook:
    """Entries (seen_at, key) sorted by time (equal times by key): a base and a top.

    Two flat tuples each rather than a (seen_at, key) pair per line: a pair is a 72-byte
    object of its own.
    """

    base_times: tuple[datetime, ...] = ()
    base_keys: tuple[str, ...] = ()
    start: int = 0
    """The base's entries before ``start`` have left the book."""
    top_times: tuple[datetime, ...] = ()
    top_keys: tuple[str, ...] = ()

    @classmethod
    def of(cls, entries: list[tuple[datetime, str]]) -> ExpiryBook:
        """The book of ``entries``, sorted."""
        entries.sort()
        return cls(tuple(t for t, _ in entries), tuple(k for _, k in entries))

    def __len__(self) -> int:
        return len(self.base_times) - self.start + len(self.top_times)

    @property
    def top_size(self) -> int:
        return len(self.top_times)

    def flat(self) -> Expiry:
        """All entries in order, as two tuples (built when asked)."""
        top = list(zip(self.top_times, self.top_keys, strict=True))
        base = (self.base_times[self.start :], self.base_keys[self.start :])
        return merged(base, top) if top else base

    def expired(self, horizon: datetime) -> tuple[list[tuple[datetime, str]], ExpiryBook]:
        """The entries older than ``horizon``, and the book without them."""
        cut = bisect_left(self.base_times, horizon, self.start)
        top_cut = bisect_left(self.top_times, horizon)
        if cut == self.start and not top_cut:
            return [], self
        gone = list(
            chain(
                zip(
                    self.base_times[self.start : cut], self.base_keys[self.start : cut], strict=True
                ),
                zip(self.top_times[:top_cut], self.top_keys[:top_cut], strict=True),
            )
        )
        book = ExpiryBook(
            self.base_times,
            self.base_keys,
            cut,
            self.top_times[top_cut:],
            self.top_keys[top_cut:],
        )
        return gone, book

    def added(self, new: list[tuple[datetime, str]], fold_min: int = FOLD_MIN) -> ExpiryBook:
        """The book with the sorted entries ``new`` put in their place."""
        if not new:
            return self
        top_times, top_keys = merged((self.top_times, self.top_keys), new)
        kept = len(self.base_times) - self.start
        if len(top_times) <= max(fold_min, kept >> 3) and self.start <= max(fold_min, kept):
            return ExpiryBook(self.base_times, self.base_keys, self.start, top_times, top_keys)
        base = (self.base_times[self.start :], self.base_keys[self.start :])
        times, keys = merged(base, list(zip(top_times, top_keys, strict=True)))
        return ExpiryBook(times, keys)


def merged(old: Expiry, new: list[tuple[datetime, str]]) -> Expiry:
    """A sorted book and a few sorted (seen_at, key) entries as one, placed by bisection.

    An entry goes after every entry of an earlier time, and among those of its own time
    after every smaller or equal key: where ``bisect_right`` on (time, key) pairs puts it.
    """
    times, keys = old
    out_times: list[datetime] = []
    out_keys: list[str] = []
    at = 0
    for when, key in new:
        first = bisect_left(times, when, at)
        to = bisect_right(keys, key, first, bisect_right(times, when, first))
        out_times.extend(times[at:to])
        out_keys.extend(keys[at:to])
        out_times.append(when)
        out_keys.append(key)
        at = to
    out_times.extend(times[at:])
    out_keys.extend(keys[at:])
    return tuple(out_times), tuple(out_keys)
