"""Per-mall test harnesses: one adapter wired to its simulator, driven in mall-neutral words.

The contract suite (test_contract.py) speaks only this interface, so adding a mall means
writing one harness class and one line in ``HARNESSES``; a test fails if a registered
adapter has no harness.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, Protocol

import httpx

from adapters.base import MallAdapter
from adapters.rakuten import RakutenAdapter
from bot.core.domain import StockPush
from bot.sandbox.clock import VirtualClock
from bot.sandbox.simulators.rakuten import RakutenSimulator

FaultKind = Literal["429", "503", "timeout"]


class Harness(Protocol):
    """One mall's adapter and simulator, as the contract suite sees them."""

    mall: str
    adapter: MallAdapter
    sim: Any
    clock: VirtualClock
    started: datetime
    """Virtual time when the harness was made: a fetch window from here sees every order."""
    max_batch: int
    """The mall's published limit of listings per stock write."""

    def code(self, n: int) -> str:
        """A valid, canonical mall code for listing number ``n`` (not listed until added)."""
        ...

    def add_listing(self, code: str, qty: int) -> str:
        """List ``code`` on the mall with ``qty`` in stock; return its canonical code."""
        ...

    def set_stock(self, code: str, qty: int) -> None:
        """A hand edit of the listing's stock on the mall's own screen."""
        ...

    def stock(self, code: str) -> int | None:
        """What the mall will show once pushes are live; None for an unknown code."""
        ...

    def place_order(self, code: str, units: int) -> str:
        """A customer buys ``units`` of ``code``; returns the order id."""
        ...

    def cancel(self, order: str) -> None:
        """The order is cancelled on the mall."""
        ...

    def expire_credentials(self) -> None:
        """The adapter's credentials stop working."""
        ...

    def fail_next(self, kind: FaultKind, times: int = 1) -> None:
        """The next ``times`` requests fail with ``kind``."""
        ...

    def write_batch_sizes(self) -> list[int]:
        """Listings per stock-write request the mall received, in order."""
        ...

    def bad_push(self, code: str) -> StockPush:
        """A push for a listed ``code`` that the mall refuses for that item alone."""
        ...


class RakutenHarness:
    """楽天: RakutenAdapter over RakutenSimulator."""

    mall = "rakuten"
    max_batch = RakutenAdapter.UPSERT_BATCH

    def __init__(self, clock: VirtualClock, *, stop: threading.Event | None = None) -> None:
        self.clock = clock
        self.started = clock.now()
        self.sim = RakutenSimulator(clock=clock)
        self.client = httpx.Client(transport=self.sim.transport, base_url=RakutenAdapter.BASE_URL)
        self.adapter: MallAdapter = RakutenAdapter(
            self.client,
            service_secret="SP123456_sim",
            license_key="SL123456_sim",
            clock=clock,
            stop=stop,
            rng=random.Random(7),
            shop_id="123456",
        )

    def code(self, n: int) -> str:
        return f"item-{n:04d}:Var-{n}"

    def add_listing(self, code: str, qty: int) -> str:
        manage_number, variant_id = code.split(":", 1)
        return self.sim.add_item(manage_number, variant_id, qty)

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
        return [
            len(r.json["inventories"])
            for r in self.sim.requests
            if r.method == "POST" and r.path.endswith("/inventories/bulk-upsert")
        ]

    def bad_push(self, code: str) -> StockPush:
        # Over 楽天's 0..99999 range: refused for this item alone.
        return StockPush(mall=self.mall, code=code, quantity=RakutenAdapter.MAX_QUANTITY + 1)


HARNESSES: dict[str, Callable[[VirtualClock], Harness]] = {
    "rakuten": RakutenHarness,
}


def make_harness(mall: str, clock: VirtualClock) -> Harness:
    """The harness of ``mall`` on ``clock``."""
    return HARNESSES[mall](clock)
