"""Measuring taps that sit in the transports of the benchmark process only.

Nothing here changes production code: :class:`SheetsMeter` is a ``requests`` adapter in
front of the Sheets emulator (the same place the e2e tests put their crash tap), and
:class:`MallMeter` an httpx transport in front of a channel simulator. Both count what
crosses them and the wall time spent on the far side (the emulator or simulator serving
the call, plus the meter's own bookkeeping), so the benchmark can report the bot's own
time as the cycle's wall time minus that. :func:`timed_engine_step` wraps
``bot.core.engine.step`` where the worker looks it up, and restores it afterwards.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import requests
from requests.adapters import BaseAdapter
from requests.models import PreparedRequest, Response

from bot.core import engine
from bot.sandbox.sheets import SHEETS_PREFIX, DenyAllAdapter, SheetsEmulator


@dataclass
class SheetTally:
    """What the Sheets API saw since the last :meth:`SheetsMeter.take`."""

    requests: int = 0
    reads: int = 0
    writes: int = 0
    cells_read: int = 0
    bytes_read: int = 0
    bytes_sent: int = 0
    largest_request: int = 0
    largest_request_op: str = ""
    largest_response: int = 0
    ops: dict[str, int] = field(default_factory=dict)


def count_cells(payload: Any) -> int:
    """Cells a Sheets response carries: ``values`` grids and ``rowData`` cells, anywhere."""
    total = 0
    stack = [payload]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "rowData" and isinstance(value, list):
                    total += sum(len(r.get("values") or []) for r in value if isinstance(r, dict))
                elif key == "values" and isinstance(value, list):
                    if value and all(isinstance(r, list) for r in value):
                        total += sum(len(r) for r in value)
                elif isinstance(value, dict | list):
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, dict | list))
    return total


class SheetsMeter(BaseAdapter):
    """A requests adapter in front of the emulator that tallies every call."""

    def __init__(self, emu: SheetsEmulator) -> None:
        super().__init__()
        self.emu = emu
        self.tally = SheetTally()
        self.total = SheetTally()
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
            seen = len(self.emu.requests)
            response = self.emu.send(request, stream, timeout, verify, cert, proxies)
            op = self.emu.requests[seen].op if len(self.emu.requests) > seen else "?"
            kind = "read" if (request.method or "GET").upper() == "GET" else "write"
            body = request.body or b""
            sent = len(body.encode("utf-8") if isinstance(body, str) else body)
            content = response.content or b""
            cells = count_cells(json.loads(content)) if content else 0
            for tally in (self.tally, self.total):
                tally.requests += 1
                tally.reads += kind == "read"
                tally.writes += kind == "write"
                tally.cells_read += cells
                tally.bytes_read += len(content)
                tally.bytes_sent += sent
                tally.largest_response = max(tally.largest_response, len(content))
                if sent > tally.largest_request:
                    tally.largest_request, tally.largest_request_op = sent, op
                tally.ops[op] = tally.ops.get(op, 0) + 1
            return response
        finally:
            self.far_seconds += time.perf_counter() - started

    def take(self) -> SheetTally:
        """The tally since the last take; starts a new one."""
        tally, self.tally = self.tally, SheetTally()
        return tally

    def close(self) -> None:
        """The emulator outlives any one session."""


class MallMeter(httpx.BaseTransport):
    """An httpx transport in front of a simulator: counts calls and the time they take."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.calls = 0
        self.far_seconds = 0.0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        try:
            self.calls += 1
            response = self.inner.handle_request(request)
            response.read()
            return response
        finally:
            self.far_seconds += time.perf_counter() - started


@dataclass
class EngineTimer:
    """Wall seconds spent in ``engine.step`` since the last :meth:`take`."""

    seconds: float = 0.0
    calls: int = 0

    def take(self) -> float:
        seconds, self.seconds = self.seconds, 0.0
        return seconds


@contextmanager
def timed_engine_step() -> Iterator[EngineTimer]:
    """Patch ``bot.core.engine.step`` (the worker calls ``engine.step``) with a timer."""
    timer = EngineTimer()
    original = engine.step

    def step(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            timer.seconds += time.perf_counter() - started
            timer.calls += 1

    engine.step = step
    try:
        yield timer
    finally:
        engine.step = original
