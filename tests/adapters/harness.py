"""One adapter wired to its simulator through the production wiring, in channel-neutral words.

The contract suite (test_contract.py) speaks only this class. Nothing here is per
channel: the adapter is built by ``bootstrap.build_adapters`` from the settings table
the simulator accepts, exactly as ``run`` builds it, and the shop-world controls are
the simulator's :class:`~bot.sandbox.simulators.SimulatedChannel` methods. Adding a
channel therefore adds nothing here.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime

import httpx

from adapters.base import MallAdapter, pending_pushes, push_outcomes
from bot.bootstrap import World, build_adapters
from bot.core.domain import PushResult, PushStatus, StockPush
from bot.sandbox.clock import VirtualClock
from bot.sandbox.simulators import FaultKind, SimulatedChannel, make_simulator
from bot.sandbox.wiring import sandbox_settings


class Harness:
    """A channel's adapter over its simulator, as the contract suite sees them."""

    def __init__(
        self,
        mall: str,
        clock: VirtualClock,
        *,
        sim: SimulatedChannel | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.mall = mall
        self.clock = clock
        self.started: datetime = clock.now()
        """Virtual time when the harness was made: a fetch window from here sees every order."""
        self.sim = sim if sim is not None else make_simulator(mall, clock)
        self.max_batch = self.sim.max_write_batch
        settings = sandbox_settings(malls={mall: self.sim.config()})
        world = World(
            transports={mall: self.sim.transport},
            clock=clock,
            stop=stop or threading.Event(),
        )
        self.adapter: MallAdapter = build_adapters(settings, world)[mall]
        self.client = httpx.Client(
            base_url=settings.mall(mall).base_url, transport=self.sim.transport
        )
        """Another client on the same simulator, for tests that build an adapter by hand."""

    def code(self, n: int) -> str:
        return self.sim.sample_code(n)

    def add_listing(self, code: str, qty: int) -> str:
        return self.sim.add_listing(code, qty)

    def set_stock(self, code: str, qty: int) -> None:
        self.sim.set_stock(code, qty)

    def stock(self, code: str) -> int | None:
        return self.sim.pending_stock(code)

    def place_order(self, code: str, units: int) -> str:
        self.clock.advance(1)
        order = self.sim.place_order([(code, units)])
        assert order is not None, f"the simulated shop refused an order for {code}"
        return order

    def cancel(self, order: str) -> None:
        self.clock.advance(1)
        self.sim.cancel_order(order)

    def expire_credentials(self) -> None:
        self.sim.expire_credentials()

    def fail_next(self, kind: FaultKind, times: int = 1) -> None:
        self.sim.fail_next(kind, times)

    def write_batch_sizes(self) -> list[int]:
        return self.sim.write_batch_sizes()

    def bad_push(self, code: str) -> StockPush:
        return StockPush(mall=self.mall, code=code, quantity=self.sim.refused_quantity())

    def settle(
        self, pushes: Sequence[StockPush], results: Sequence[PushResult], *, cycles: int = 40
    ) -> list[PushResult]:
        """``results`` with every PENDING one replaced by its outcome, learnt cycle by cycle.

        Checks the late-outcome contract on the way (adapters.base.LateOutcomes): only
        pushes answered PENDING are reported, each once, with a final status; nothing is
        left pending. A channel that answers nothing PENDING is asked nothing.
        """
        final = list(results)
        waiting = {
            p.code: i
            for i, r in enumerate(results)
            if r.status is PushStatus.PENDING
            for p in (pushes[i],)
        }
        assert pending_pushes(self.adapter) >= len(waiting)
        for _ in range(cycles):
            if not waiting:
                break
            self.clock.advance(15)
            for push, result in push_outcomes(self.adapter):
                assert result.status is not PushStatus.PENDING
                assert push.code in waiting, f"{push.code} reported twice or never pending"
                i = waiting.pop(push.code)
                assert push == pushes[i]
                final[i] = result
        assert waiting == {}, f"never settled: {sorted(waiting)[:5]}"
        assert pending_pushes(self.adapter) == 0
        assert push_outcomes(self.adapter) == []
        return final


def make_harness(mall: str, clock: VirtualClock) -> Harness:
    """The harness of ``mall`` on ``clock``."""
    return Harness(mall, clock)
