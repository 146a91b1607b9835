"""Amazon's read-back of many listings: answered from reports, never waited for (issue 10)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.amazon import AmazonAdapter
from adapters.amazon.readback import ReportReads
from bot.core.domain import PushStatus, StockPush
from bot.sandbox.clock import VirtualClock
from bot.sandbox.simulators.amazon import AmazonSimulator
from tests.adapters.test_amazon import START, _adapter, _ops

MANY = AmazonAdapter.READ_ITEMS_MAX + 10


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START)


@pytest.fixture
def sim(clock: VirtualClock) -> AmazonSimulator:
    return AmazonSimulator(clock=clock)


def _listed(sim: AmazonSimulator, n: int = MANY) -> list[str]:
    return [sim.add_listing(f"R-{i:03d}", 10 + i) for i in range(n)]


def _cycle(adapter: AmazonAdapter, clock: VirtualClock, codes: list[str]) -> dict[str, int]:
    """One 15 s cycle's read-back; the clock must not move inside it."""
    clock.advance(15)
    before = clock.now()
    got = adapter.read_stock(codes)
    assert clock.now() == before, "the read-back waited"
    return got


def _until_done(adapter: AmazonAdapter, clock: VirtualClock, codes: list[str]) -> dict[str, int]:
    """Four cycles (a report takes the simulator 45 s): the last one's answer."""
    for _ in range(4):
        got = _cycle(adapter, clock, codes)
    return got


def test_each_cycle_looks_at_the_report_once_and_none_waits(
    sim: AmazonSimulator, clock: VirtualClock
) -> None:
    adapter = _adapter(sim, clock)
    codes = _listed(sim)
    answers = [_cycle(adapter, clock, codes) for _ in range(6)]  # 90 s; a report takes 45 s
    assert answers[0] == {}
    assert answers[-1] == {c: 10 + i for i, c in enumerate(codes)}
    assert len(_ops(sim, "createReport")) == 1
    # one look per cycle until it was done, then no more until the next one is due
    looks = len(_ops(sim, "getReport"))
    assert 2 <= looks <= 5
    assert sim.refusals() == []


def test_a_new_report_is_asked_for_when_one_is_due(
    sim: AmazonSimulator, clock: VirtualClock
) -> None:
    adapter = _adapter(sim, clock)
    codes = _listed(sim)
    _until_done(adapter, clock, codes)
    sim.set_stock(codes[0], 99)  # a hand edit in Seller Central
    assert _cycle(adapter, clock, codes)[codes[0]] == 10  # the last report's number
    clock.advance(ReportReads.every_s)
    got = _until_done(adapter, clock, codes)
    assert got[codes[0]] == 99
    assert len(_ops(sim, "createReport")) == 2


def test_a_listing_pushed_since_the_report_was_asked_for_is_left_out(
    sim: AmazonSimulator, clock: VirtualClock
) -> None:
    adapter = _adapter(sim, clock)
    codes = _listed(sim)
    _until_done(adapter, clock, codes)
    [result] = adapter.push_stock([StockPush(mall="amazon", code=codes[1], quantity=3)])
    assert result.status in (PushStatus.APPLIED, PushStatus.ACCEPTED)
    got = _cycle(adapter, clock, codes)
    assert codes[1] not in got  # the report still says 11: that is no hand edit
    assert got[codes[2]] == 12
    # a report asked for within settle_s of the push is not trusted for it either
    clock.advance(ReportReads.every_s)
    for _ in range(4):
        assert codes[1] not in _cycle(adapter, clock, codes)
    clock.advance(ReportReads.settle_s)
    got = _until_done(adapter, clock, codes)
    assert got[codes[1]] == 3


def test_a_listing_sold_since_the_report_was_asked_for_is_left_out(
    sim: AmazonSimulator, clock: VirtualClock
) -> None:
    adapter = _adapter(sim, clock)
    codes = _listed(sim)
    _until_done(adapter, clock, codes)
    assert sim.place_order([(codes[3], 1)]) is not None
    clock.advance(120)  # orders are searched at least 2 minutes back
    lines = adapter.fetch_order_lines(START, clock.now() - timedelta(seconds=1))
    assert [ln.code for ln in lines] == [codes[3]]
    got = _cycle(adapter, clock, codes)
    assert codes[3] not in got  # the report's 13 is from before the sale
    assert got[codes[4]] == 14


def test_old_readings_are_not_answered_when_reports_stop_coming(
    sim: AmazonSimulator, clock: VirtualClock
) -> None:
    adapter = _adapter(sim, clock)
    codes = _listed(sim)
    _until_done(adapter, clock, codes)
    clock.advance(ReportReads.max_age_s + 1)
    sim.report_seconds = 10 * ReportReads.max_age_s  # the next report is very slow
    assert _cycle(adapter, clock, codes) == {}


def test_a_push_waits_for_the_report_in_flight_instead_of_asking_again(
    sim: AmazonSimulator, clock: VirtualClock
) -> None:
    adapter = _adapter(sim, clock)
    codes = _listed(sim)
    _cycle(adapter, clock, codes)  # asks for a report
    results = adapter.push_stock([StockPush(mall="amazon", code=c, quantity=2) for c in codes])
    assert {r.status for r in results} == {PushStatus.PENDING}
    # the existence check took the report in flight (asked within REPORT_REUSE_S); the
    # feed's outcome comes from its processing report, not from a report waited for
    asked = len(_ops(sim, "createReport"))
    assert asked == 1


def test_touches_are_forgotten_once_they_can_no_longer_matter(clock: VirtualClock) -> None:
    class _Bulk:
        def ask_listings(self) -> str:
            return "r"

        def report_state(self, report_id: str) -> dict[str, str]:
            return {"processingStatus": "DONE"}

        def is_final(self, state: dict[str, str]) -> bool:
            return True

        def listings_of(self, state: dict[str, str]) -> dict[str, object]:
            return {}

    reads = ReportReads(_Bulk(), clock)  # type: ignore[arg-type]
    reads.touch(f"S-{i}" for i in range(1000))
    assert not reads.usable("S-1", clock.monotonic())
    clock.advance(reads.max_age_s + reads.settle_s + 1)
    reads.touch(["late"])
    reads.step()  # asks
    assert reads.step() is not None  # done: the old touches are dropped
    assert set(reads._touched) == {"late"}
    assert reads.usable("S-1", clock.monotonic())
    assert not reads.usable("S-1", clock.monotonic() - reads.max_age_s - 1)
