"""Everything the sandbox process serves, behind one lock: the sheet, the channels, the key.

:class:`SandboxWorld` routes each HTTP call by its first path segment
(:mod:`~bot.sandbox.server.routes`): Google's token endpoint, the Sheets API (after the
Bearer check), a channel's host, or the control API
(:mod:`~bot.sandbox.server.control`). It follows the caller's clock header first (in
follow mode), keeps a bounded log and cumulative counters of what it served, and marks
itself dirty for the state keeper. One re-entrant lock covers all of it: the doubles
were written for one caller at a time, and the sandbox is a test bench, not a server
that needs to scale.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from bot.sandbox.server.bridge import Call, HostMap, Reply, split_prefix, to_emulator, to_transport
from bot.sandbox.server.clock import CLOCK_HEADER, FollowClock, SandboxClock, parse_clock
from bot.sandbox.server.control import control
from bot.sandbox.server.routes import CONTROL_PREFIX, TOKEN_PATH, Route, all_routes
from bot.sandbox.server.sheets_auth import ServiceAccount, TokenDesk
from bot.sandbox.sheets import SheetsEmulator
from bot.sandbox.simulators import SimulatedChannel

log = logging.getLogger(__name__)

LOG_SIZE = 20_000
"""Entries kept in the request log (oldest dropped first)."""
DOUBLES_LOG_KEEP = 2_000
"""Requests each double keeps in its own log; the sandbox's counters keep the totals."""


@dataclass
class Tally:
    """Cumulative figures for one target (``sheets``, ``google``, a channel key)."""

    requests: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    largest_request: int = 0
    refused: int = 0
    """Answers with a status of 400 or more, and lost answers."""

    def add(self, call: Call, reply: Reply) -> None:
        """Count one served call."""
        self.requests += 1
        self.bytes_in += len(call.body)
        self.bytes_out += len(reply.body)
        self.largest_request = max(self.largest_request, len(call.body))
        if reply.drop or reply.status >= 400:
            self.refused += 1


class SandboxWorld:
    """The emulator, the simulators, the service account and the clock of one sandbox."""

    def __init__(
        self,
        *,
        clock: SandboxClock,
        emulator: SheetsEmulator,
        sheet_id: str,
        sims: dict[str, SimulatedChannel],
        account: ServiceAccount,
        secret_key: str,
        interval: int,
        tokens: dict[str, tuple[float, str]] | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.emulator = emulator
        self.sheet_id = sheet_id
        self.sims = sims
        self.account = account
        self.desk = TokenDesk(account, dict(tokens or {}))
        self.secret_key = secret_key
        self.interval = interval
        self.routes: dict[str, Route] = all_routes(sims)
        self.hosts = HostMap()
        self.base_url = ""
        self.dirty = False
        self.seq = 0
        self.log: deque[dict[str, Any]] = deque(maxlen=LOG_SIZE)
        self.tallies: dict[str, Tally] = {}
        self.save_now: Callable[[], dict[str, Any]] | None = None
        """Set by the server: write the state file now (``POST /_sandbox/save``)."""

    def reset_tallies(self) -> dict[str, dict[str, int]]:
        """The counters so far, then zero."""
        before = {target: asdict(tally) for target, tally in self.tallies.items()}
        self.tallies = {target: Tally() for target in self.tallies}
        return before

    # -- persistence ----------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """What the state file keeps (see :mod:`~bot.sandbox.server.state`)."""
        return {
            "clock_now": self.clock.now(),
            "emulator": self.emulator,
            "sheet_id": self.sheet_id,
            "sims": self.sims,
            "account": self.account,
            "tokens": self.desk.tokens,
            "secret_key": self.secret_key,
            "interval": self.interval,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], clock: SandboxClock) -> SandboxWorld:
        """The world a state file describes, on ``clock``."""
        if isinstance(clock, FollowClock):
            clock.follow(state["clock_now"])
        return cls(
            clock=clock,
            emulator=state["emulator"],
            sheet_id=state["sheet_id"],
            sims=state["sims"],
            account=state["account"],
            secret_key=state["secret_key"],
            interval=state["interval"],
            tokens=state["tokens"],
        )

    def bind(self, base_url: str) -> None:
        """The URL the sandbox listens on: links to real hosts in replies point here."""
        self.base_url = base_url.rstrip("/")
        channels = {r.prefix: r.origin for r in self.routes.values() if r.kind == "channel"}
        self.hosts = HostMap.of(self.base_url, channels)

    # -- serving --------------------------------------------------------------------

    def handle(self, call: Call) -> Reply:
        """Answer one HTTP call (any prefix); never raises."""
        with self.lock:
            refused = self._follow(call)
            if refused is not None:
                return refused
            prefix, rest = split_prefix(call.path)
            route = self.routes.get(prefix)
            if prefix != CONTROL_PREFIX and route is None:
                return Reply.json(404, {"error": f"the sandbox serves no {call.path!r}"})
            try:
                if route is None:
                    return control(self, replace(call, path=rest))
                reply = self._serve(route, replace(call, path=rest))
            except Exception as err:  # a double's bug must not take the sandbox down
                log.exception("sandbox: %s %s failed", call.method, call.path)
                return Reply.json(500, {"error": f"sandbox: {type(err).__name__}: {err}"})
            self._record(route, call, reply)
            self.dirty = True
            return reply

    def _follow(self, call: Call) -> Reply | None:
        """Move the follow clock to the caller's time; a 400 if the header is unreadable."""
        text = call.header(CLOCK_HEADER)
        if text is None or not isinstance(self.clock, FollowClock):
            return None
        try:
            self.clock.follow(parse_clock(text))
        except ValueError as err:
            return Reply.json(400, {"error": f"{CLOCK_HEADER}: {err}"})
        return None

    def _serve(self, route: Route, call: Call) -> Reply:
        if route.kind == "token":
            if call.method != "POST" or call.path != TOKEN_PATH:
                return Reply.json(404, {"error": "not_found"})
            status, payload = self.desk.grant(call.body)
            return Reply.json(status, payload)
        if route.kind == "sheets":
            refusal = self.desk.refusal(call.header("Authorization"))
            if refusal is not None:
                return Reply.json(*refusal)
            return to_emulator(self.emulator, call, route.origin)
        reply = to_transport(self.sims[route.channel].transport, call, route.origin)
        return self.hosts.rewrite(reply)

    def _record(self, route: Route, call: Call, reply: Reply) -> None:
        target = route.channel or route.prefix
        self.tallies.setdefault(target, Tally()).add(call, reply)
        self.seq += 1
        entry: dict[str, Any] = {
            "seq": self.seq,
            "at": self.clock.now().isoformat(),
            "target": target,
            "method": call.method,
            "path": call.path,
            "status": 0 if reply.drop else reply.status,
            "bytes_in": len(call.body),
            "bytes_out": len(reply.body),
        }
        if route.kind == "sheets" and self.emulator.requests:
            entry["op"] = self.emulator.requests[-1].op
        self.log.append(entry)
        self._trim_logs()

    def _trim_logs(self) -> None:
        """The doubles log every request forever; a long-running sandbox keeps the tail."""
        for double in (self.emulator, *self.sims.values()):
            requests = getattr(double, "requests", None)
            if isinstance(requests, list) and len(requests) > 2 * DOUBLES_LOG_KEEP:
                del requests[:-DOUBLES_LOG_KEEP]
