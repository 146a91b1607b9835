"""``--inline``: the Sheets emulator and the simulators in the benchmark's own process.

For debugging the harness and the bot without a second process: the doubles are the
in-process ones (the emulator behind a ``requests`` adapter, each simulator's httpx
transport), as the benchmark ran before the sandbox process existed. Its peak RSS and
cycle wall time include the doubles; the bot's own time is the cycle's wall time minus
the time spent inside them (and inside the meters).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import requests
from requests.adapters import BaseAdapter
from requests.models import PreparedRequest, Response

from bench.scale import LATENCY, PUSH_LAG, Harness, ScaleOptions
from bench.taps import MallTap, SheetCounter, body_size, sheets_op
from bot.bootstrap import App, World, build
from bot.sandbox.alerts import MemoryAlerts
from bot.sandbox.sheets import SHEETS_PREFIX, DenyAllAdapter, SheetsEmulator
from bot.sandbox.simulators import make_simulator
from bot.sandbox.wiring import sandbox_settings


class SheetsMeter(BaseAdapter):
    """A requests adapter in front of the in-process emulator that tallies every call."""

    def __init__(self, emu: SheetsEmulator, counter: SheetCounter) -> None:
        super().__init__()
        self.emu = emu
        self.counter = counter
        self.far_seconds = 0.0
        """Wall seconds spent in the emulator and in this meter (not the bot's)."""

    def session(self) -> requests.Session:
        """A session with this meter on the Sheets host and every other host refused."""
        session = requests.Session()
        deny = DenyAllAdapter()
        session.mount("https://", deny)
        session.mount("http://", deny)
        session.mount(SHEETS_PREFIX, self)
        return session

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> Response:
        started = time.perf_counter()
        try:
            response = self.emu.send(request, stream, timeout, verify, cert, proxies)
            method = request.method or "GET"
            op = sheets_op(method, request.url or "")
            self.counter.add(op, method, body_size(request.body), response.content or b"")
            return response
        finally:
            self.far_seconds += time.perf_counter() - started

    def close(self) -> None:
        """The emulator outlives any one session."""


class InlineHarness(Harness):
    """The doubles in this process; the bot built on them with ``sandbox_settings``."""

    mode = "inline"

    def __init__(self, opts: ScaleOptions) -> None:
        super().__init__(opts)
        self.emu = SheetsEmulator()
        self.sid = self.emu.create_spreadsheet("zaiko-bot scale", sheets=("Sheet1",))
        self.sims: dict[str, Any] = {}
        for key in opts.channels:
            kwargs: dict[str, Any] = {"latency": LATENCY}
            if key == "rakuten":
                kwargs["push_lag"] = PUSH_LAG
            self.sims[key] = make_simulator(key, self.clock, **kwargs)
        self.meter = SheetsMeter(self.emu, self.sheets)
        self.refused_orders = 0
        # The simulators sleep their own latency on the shared clock: the taps add none.
        self.taps = {
            key: MallTap(sim.transport, self.clock.now, self.clock.advance)
            for key, sim in self.sims.items()
        }
        settings = sandbox_settings(
            sheet_id=self.sid, malls={k: s.config() for k, s in self.sims.items()}
        )
        world = World(
            transports=self.taps,
            sheets_session=self.meter.session(),
            clock=self.clock,
            alerts=MemoryAlerts(),
            parallel=False,
        )
        self.app = build(settings, world)
        self.app.init_sheet()
        self.sheets.take()
        self.sheets.total = type(self.sheets.total)()  # init-sheet is not the bot's run

    def sample_code(self, key: str, n: int) -> str:
        return str(self.sims[key].sample_code(n))

    def list_on(self, key: str, listings: list[tuple[str, int]]) -> list[str]:
        return [str(self.sims[key].add_listing(code, qty)) for code, qty in listings]

    def type_cells(self, tab: str, a1: str, rows: list[list[Any]]) -> None:
        self.emu.set_values(self.sid, tab, a1, rows)

    def tab_values(self, tab: str) -> list[list[Any]]:
        return list(self.emu.get_values(self.sid, tab))

    def place_orders(self, key: str, codes: list[str]) -> None:
        for code in codes:
            if self.sims[key].place_order([(code, 1)]) is None:
                self.refused_orders += 1

    def build_app(self) -> App:
        return self.app

    def wait_seconds(self) -> float:
        return self.meter.far_seconds + sum(t.wait_seconds for t in self.taps.values())

    def finish(self) -> dict[str, Any]:
        return {
            "peak_rss_includes_emulator": True,
            "sandbox_peak_rss_mb": None,
            "refused_orders": self.refused_orders,
        }
