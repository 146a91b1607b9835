"""Measuring taps in the bot's transports (the benchmark's process only).

Nothing here changes production code. In the default mode the bot talks HTTP to the
sandbox process, and the taps sit where ``bot.bootstrap.World`` lets a caller put its
own transport: :class:`SheetsTap` is a ``requests`` ``HTTPAdapter`` mounted on the bot's
authorised Sheets session, :class:`MallTap` wraps an ``httpx.HTTPTransport`` under each
channel's client. Both forward to the real HTTP transport, add the
``X-Zaiko-Sandbox-Clock`` header (the bench's virtual time, which the sandbox's
``--clock follow`` moves to), and count what crosses them; the wall time from handing a
call on to having its whole answer (plus the tap's own bookkeeping) is the time the bot
waited on the sandbox, which the benchmark subtracts from the cycle's wall time.

:func:`timed_engine_step` wraps ``bot.core.engine.step`` where the worker looks it up,
and restores it afterwards. The in-process meters of ``--inline`` are in
:mod:`bench.inline`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
from requests.adapters import HTTPAdapter
from requests.models import PreparedRequest, Response

from bot.core import engine
from bot.sandbox.server.clock import CLOCK_HEADER

API_PATH = "/v4/spreadsheets/"


@dataclass
class SheetTally:
    """What the Sheets API saw since the last ``take``."""

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

    def add(self, op: str, method: str, sent: int, content: bytes, cells: int) -> None:
        """Count one call: its operation, request body size and answer."""
        self.requests += 1
        is_read = method.upper() == "GET"
        self.reads += is_read
        self.writes += not is_read
        self.cells_read += cells
        self.bytes_read += len(content)
        self.bytes_sent += sent
        self.largest_response = max(self.largest_response, len(content))
        if sent > self.largest_request:
            self.largest_request, self.largest_request_op = sent, op
        self.ops[op] = self.ops.get(op, 0) + 1


class SheetCounter:
    """A running tally since the last :meth:`take`, and the run's total."""

    def __init__(self) -> None:
        self.tally = SheetTally()
        self.total = SheetTally()

    def add(self, op: str, method: str, sent: int, content: bytes) -> None:
        """Count one Sheets call (its answer's cells parsed from the JSON)."""
        cells = count_cells(json.loads(content)) if content else 0
        for tally in (self.tally, self.total):
            tally.add(op, method, sent, content, cells)

    def take(self) -> SheetTally:
        """The tally since the last take; starts a new one."""
        tally, self.tally = self.tally, SheetTally()
        return tally


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


def body_size(body: str | bytes | None) -> int:
    """Bytes of a request body (a str is sent UTF-8)."""
    if not body:
        return 0
    return len(body.encode("utf-8") if isinstance(body, str) else body)


def sheets_op(method: str, url: str) -> str:
    """The Sheets API method a URL calls (``values.batchGet``, ``spreadsheets.batchUpdate``…)."""
    path = urlsplit(url).path
    at = path.find(API_PATH)
    if at < 0:
        return "?"
    rest = path[at + len(API_PATH) :]
    if "/" not in rest:
        if rest.endswith(":batchUpdate"):
            return "spreadsheets.batchUpdate"
        return "spreadsheets.get" if ":" not in rest else "spreadsheets." + rest.split(":")[-1]
    sub = rest.partition("/")[2]
    if sub.startswith("values:"):
        return "values." + sub[len("values:") :]
    if sub.startswith("values/"):
        _, sep, verb = unquote(sub[len("values/") :]).rpartition(":")
        if sep and verb in ("append", "clear") and method.upper() == "POST":
            return f"values.{verb}"
        return {"GET": "values.get", "PUT": "values.update"}.get(method.upper(), "values.?")
    return "?"


Now = Callable[[], datetime]


class SheetsTap(HTTPAdapter):
    """The bot's Sheets (and Google token) calls, forwarded over real HTTP and tallied.

    Mounted on the sandbox's URL in the bot's ``AuthorizedSession``: calls under
    ``/sheets/`` are Sheets API calls (counted in :attr:`counter`); anything else (the
    token endpoint) only adds to :attr:`other_calls` and the wait.
    """

    def __init__(self, now: Now) -> None:
        super().__init__()
        self.now = now
        self.counter = SheetCounter()
        self.other_calls = 0
        self.wait_seconds = 0.0
        """Wall seconds from handing a call on to having its whole answer, plus counting."""

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
            request.headers[CLOCK_HEADER] = self.now().isoformat()
            response = super().send(request, stream, timeout, verify, cert, proxies)
            content = response.content or b""  # read here: the download is a wait too
            url, method = request.url or "", request.method or "GET"
            if API_PATH in url:
                self.counter.add(sheets_op(method, url), method, body_size(request.body), content)
            else:
                self.other_calls += 1
            return response
        finally:
            self.wait_seconds += time.perf_counter() - started


@dataclass
class MallWrite:
    """One stock-write-shaped request a channel was sent (for the probes and the push)."""

    at: datetime
    path: str
    body: bytes


class MallTap(httpx.BaseTransport):
    """A channel's calls over a real ``httpx.HTTPTransport``: counted, timed, on the bench's time.

    ``latency`` virtual seconds pass before each call (what the in-process simulators'
    ``latency`` did); the clock header carries the time after it. Writes (POST/PUT/PATCH
    that are not order calls, and GraphQL mutations) are kept, stamped with the virtual
    time their answer came back at, until :meth:`take_writes`.
    """

    def __init__(
        self,
        inner: httpx.BaseTransport,
        now: Now,
        advance: Callable[[float], None],
        latency: float = 0.0,
    ) -> None:
        self.inner = inner
        self.now = now
        self.advance = advance
        self.latency = latency
        self.calls = 0
        self.wait_seconds = 0.0
        self.writes: list[MallWrite] = []
        self.keep_bodies = True
        """False: writes are kept without their bodies (a cold push's would weigh megabytes)."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.latency > 0:
            self.advance(self.latency)
        at = self.now()
        request.headers[CLOCK_HEADER] = at.isoformat()
        started = time.perf_counter()
        try:
            self.calls += 1
            response = self.inner.handle_request(request)
            response.read()
            body = request.read()
            if is_stock_write(request.method, request.url.path, body):
                kept = body if self.keep_bodies else b""
                self.writes.append(MallWrite(self.now(), request.url.path, kept))
            return response
        finally:
            self.wait_seconds += time.perf_counter() - started

    def take_writes(self) -> list[MallWrite]:
        """The writes since the last take."""
        writes, self.writes = self.writes, []
        return writes

    def close(self) -> None:
        self.inner.close()


def is_stock_write(method: str, path: str, body: bytes) -> bool:
    """A request that writes (not an order call; a GraphQL POST only when a mutation)."""
    if method.upper() not in ("POST", "PUT", "PATCH") or "order" in path.lower():
        return False
    if path.endswith("graphql.json") or path.endswith("/graphql"):
        return b"mutation" in body
    return True


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
