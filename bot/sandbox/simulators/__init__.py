"""Channel simulators: each speaks its channel's real wire format (docs/api/<key>.md).

Every simulator also offers the same small set of shop-world controls
(:class:`SimulatedChannel`), so the contract suite, the demo and the benchmarks drive
any channel in channel-neutral words. A channel's simulator lives in the module named
by its key (``bot.sandbox.simulators.rakuten``) and exports ``Simulator``;
:func:`simulator_class` fails loudly, naming the module, when one is missing, and a
test checks every registered channel has one.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any, ClassVar, Literal, Protocol

import httpx

from bot.infra.clock import Clock

FaultKind = Literal["429", "503", "timeout"]


class SimulatedChannel(Protocol):
    """The shop-world controls every channel simulator offers besides its wire format."""

    key: ClassVar[str]
    max_write_batch: ClassVar[int]
    """The channel's published limit of listings per stock write."""

    @property
    def transport(self) -> httpx.BaseTransport:
        """The httpx transport the adapter's client is given instead of the network."""
        ...

    def config(self) -> dict[str, Any]:
        """The ``[malls.<key>]`` table (credentials included) the simulator accepts."""
        ...

    def sample_code(self, n: int) -> str:
        """A valid listing code for listing number ``n`` (not listed until added)."""
        ...

    def add_listing(self, code: str, qty: int) -> str:
        """List ``code`` with ``qty`` in stock; returns its canonical code."""
        ...

    def set_stock(self, code: str, quantity: int) -> None:
        """A hand edit of the listing's stock on the channel's own screen."""
        ...

    def pending_stock(self, code: str) -> int | None:
        """What the channel will show once pushes are live; None for an unknown code."""
        ...

    def place_order(self, lines: Sequence[tuple[str, int]]) -> str | None:
        """A customer buys; the order id, or None when the channel refuses the order."""
        ...

    def cancel_order(self, order_number: str) -> None:
        """The order is cancelled on the channel."""
        ...

    def expire_credentials(self) -> None:
        """The configured credentials stop working."""
        ...

    def fail_next(self, kind: FaultKind, times: int = 1) -> None:
        """The next ``times`` requests fail with ``kind``."""
        ...

    def write_batch_sizes(self) -> list[int]:
        """Listings per stock-write request received, in order."""
        ...

    def refused_quantity(self) -> int:
        """A quantity the channel refuses for one item alone (for the contract suite)."""
        ...


def simulator_class(key: str) -> type[SimulatedChannel]:
    """The ``Simulator`` of channel ``key``; an error naming the missing module otherwise."""
    module_name = f"{__name__}.{key}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name != module_name:
            raise
        raise LookupError(f"channel {key!r} has no simulator: add {module_name}") from err
    simulator: type[SimulatedChannel] = module.Simulator
    return simulator


def make_simulator(key: str, clock: Clock, **options: Any) -> SimulatedChannel:
    """A simulator of channel ``key`` on ``clock``."""
    return simulator_class(key)(clock=clock, **options)  # type: ignore[call-arg]
