"""What the adapter expects Shopify to show per SKU, so compare-and-set can catch sales.

Shopify lowers ``available`` itself when it sells. The engine pushes absolute targets
computed from the sales it has seen (ARCHITECTURE §4.5); a sale that happened after the
bot's order fetch is not in the target, and an absolute set would give its units back.
``inventorySetQuantities`` can refuse to overwrite a number that is not the one we
expected (compare-and-set, §1.4). The ledger keeps that expectation per SKU:

- ``shown``: what Shopify shows once every sale the adapter has reported is counted —
  the last number set or read, less the units of order lines reported since. A cancel
  Shopify restocked itself makes it unknown (the next push reads it again), as the
  worker forgets its own expectation for such cancels.
- ``unseen``: units Shopify took that no reported line explains yet (found by a
  compare mismatch or a read). When their order lines arrive they are consumed first,
  so the same sale never lowers ``shown`` twice.
- ``owed``: the part of ``unseen`` the engine has not yet been shown by a read-back.
  Pushes set the target less ``owed``: the sale stays sold until the engine's own
  shortfall hold (§4.5) takes over at its next read, or its order line arrives.

Both expire after the engine's shortfall time-out: a shortfall no order explains by then
is drift, and the engine pushes the full number again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from bot.core.domain import OrderLine
from bot.core.engine.contract import SHORTFALL_TIMEOUT
from bot.infra.clock import Clock


@dataclass
class _Book:
    shown: int | None
    unseen: int = 0
    owed: int = 0
    since: float = 0.0


class Ledger:
    """Per SKU: the number Shopify should show and the sales it made that the bot has not."""

    HOLD_S: ClassVar[float] = SHORTFALL_TIMEOUT.total_seconds()

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._books: dict[str, _Book] = {}
        self._reported: dict[str, tuple[str, int]] = {}

    def _book(self, sku: str) -> _Book | None:
        book = self._books.get(sku)
        if book is not None and book.unseen and self._clock.monotonic() - book.since > self.HOLD_S:
            book.unseen = book.owed = 0
        return book

    def expected(self, sku: str) -> int | None:
        """What Shopify should show for ``sku`` (None: unknown, read it first)."""
        book = self._book(sku)
        return None if book is None else book.shown

    def owed(self, sku: str) -> int:
        """Units to hold back from a push: sales Shopify made that only the adapter knows."""
        book = self._book(sku)
        return 0 if book is None else book.owed

    def unseen(self, sku: str) -> int:
        """Units Shopify sold that no reported order line explains yet."""
        book = self._book(sku)
        return 0 if book is None else book.unseen

    def applied(self, sku: str, quantity: int) -> None:
        """A set landed: Shopify shows ``quantity``."""
        book = self._book(sku) or self._books.setdefault(sku, _Book(shown=None))
        book.shown = quantity

    def mismatch(self, sku: str, expected: int, current: int) -> None:
        """Compare-and-set refused ``expected``: Shopify shows ``current``."""
        self._learn(sku, expected, current, owe=True)

    def read_back(self, sku: str, current: int, *, hand_over: bool = True) -> None:
        """A read showed ``current``; ``hand_over``: the engine sees it too from now on."""
        book = self._book(sku)
        expected = book.shown if book is not None else None
        self._learn(sku, current if expected is None else expected, current, owe=False)
        if hand_over:
            self._books[sku].owed = 0

    def _learn(self, sku: str, expected: int, current: int, *, owe: bool) -> None:
        book = self._book(sku) or self._books.setdefault(sku, _Book(shown=None))
        missing = expected - current
        if missing > 0:
            if not book.unseen:
                book.since = self._clock.monotonic()
            book.unseen += missing
            if owe:
                book.owed += missing
        elif missing < 0:
            # A rise first gives back units Shopify was thought to have sold (§4.5 surplus).
            book.unseen -= min(book.unseen, -missing)
        book.owed = min(book.owed, book.unseen)
        book.shown = current

    def note_lines(self, lines: Sequence[OrderLine]) -> None:
        """Fold reported order lines in: a new sale lowers ``shown`` unless already unseen."""
        for line in lines:
            prior = self._reported.get(line.key)
            self._reported[line.key] = (line.code, line.units)
            before = prior[1] if prior is not None else 0
            book = self._book(line.code)
            if book is None or line.units == before:
                continue
            if line.units < before:
                if line.mall_restocks:
                    book.shown = None  # Shopify raised it itself: read it again
                continue
            sold = line.units - before
            explained = min(book.unseen, sold)
            book.unseen -= explained
            book.owed = min(book.owed, book.unseen)
            if book.shown is not None:
                book.shown -= sold - explained
