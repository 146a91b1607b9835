"""The listings report as a read-back that never holds a cycle (issue 10, four malls).

Amazon makes a GET_MERCHANT_LISTINGS_ALL_DATA report in a minute or more
(https://developer-docs.amazon.com/sp-api/docs/reports-api-v2021-06-30-reference:
IN_QUEUE, IN_PROGRESS, then DONE). Waiting for one inside ``read_stock`` held every
cycle of a shop with more than 50 Amazon listings for that long, and with it every
other mall's orders and pushes. So the drift read-back asks for a report every
:attr:`ReportReads.every_s`, looks at the one in flight once per cycle (one getReport,
2 per second allowed) and answers from the newest one that is done.

A report shows a listing as it was when the report was made, and Amazon's ACCEPTED
is queued, not live (docs/api/amazon.md §2). A listing the bot pushed, or saw sell,
since shortly before the report was asked for may show an older number there; comparing
it would look like a hand edit (a surplus) or a sale not yet seen (a shortfall). Such
a listing is left out of the answer until a report asked for at least
:attr:`ReportReads.settle_s` after that change; the read-back's contract already lets
a channel leave out what it cannot say now.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from adapters.amazon.bulk import Bulk, ListingRow
from bot.infra.clock import Clock


@dataclass(frozen=True)
class Finished:
    """A report that is done: its rows and when it was asked for (monotonic seconds)."""

    rows: dict[str, ListingRow]
    asked_at: float


@dataclass
class ReportReads:
    """Asks for listings reports on a cadence and answers which readings may be used."""

    bulk: Bulk
    clock: Clock
    every_s: float = 300.0
    """Ours: a report at most this often (createReport allows one a minute [SPM])."""
    settle_s: float = 900.0
    """Ours: how long after a push or sale a report may still show the older number.
    Amazon does not say how long an ACCEPTED submission takes to go live."""
    max_age_s: float = 1800.0
    """Ours: readings older than this are not answered (a report that keeps failing
    must not make the read-back compare half-hour-old numbers)."""
    _in_flight: tuple[str, float] | None = None
    _last_asked: float | None = None
    _touched: dict[str, float] = field(default_factory=dict)

    def touch(self, skus: Iterable[str]) -> None:
        """These listings were pushed or sold now: older reports may not show it."""
        now = self.clock.monotonic()
        for sku in skus:
            self._touched[sku] = now

    def step(self) -> Finished | None:
        """Ask for a report when one is due, else look at the one in flight once.

        The report that is done now, or None. A report Amazon could not make raises
        TransientError (the read-back fails this cycle and the next one asks again).
        """
        now = self.clock.monotonic()
        if self._in_flight is None:
            if self._last_asked is None or now - self._last_asked >= self.every_s:
                self._ask(now)
            return None
        report_id, asked_at = self._in_flight
        state = self.bulk.report_state(report_id)
        if not self.bulk.is_final(state):
            return None
        self._in_flight = None
        return self._finished(self.bulk.listings_of(state), asked_at)

    def wait(self, *, newer_than: float) -> Finished:
        """A report asked for at ``newer_than`` or later, waited for (the push path).

        The report in flight is reused when it is recent enough, so a push and the
        read-back do not ask Amazon for two reports at once.
        """
        flight = self._in_flight
        if flight is None or flight[1] < newer_than:
            flight = self._ask(self.clock.monotonic())
        self._in_flight = None
        return self._finished(self.bulk.listings(flight[0]), flight[1])

    def usable(self, sku: str, seen_at: float) -> bool:
        """Whether a reading taken at ``seen_at`` may be compared now."""
        if self.clock.monotonic() - seen_at > self.max_age_s:
            return False
        touched = self._touched.get(sku)
        return touched is None or seen_at - touched >= self.settle_s

    def _ask(self, now: float) -> tuple[str, float]:
        self._in_flight = (self.bulk.ask_listings(), now)
        self._last_asked = now
        return self._in_flight

    def _finished(self, rows: dict[str, ListingRow], asked_at: float) -> Finished:
        """Forget the touches that can no longer matter (memory bounded by the shop).

        A touch at ``t`` rules out readings taken before ``t + settle_s``; readings
        older than ``max_age_s`` are never used, so once ``t + settle_s`` is that old
        the touch says nothing more.
        """
        horizon = self.clock.monotonic() - self.max_age_s - self.settle_s
        self._touched = {s: t for s, t in self._touched.items() if t > horizon}
        return Finished(rows, asked_at)
