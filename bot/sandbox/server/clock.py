"""The sandbox process's clocks: the wall clock, or a virtual one that follows its caller.

Both count :meth:`monotonic` seconds from one fixed epoch, not from when the process
started: simulators keep monotonic instants in their state (rate-limit windows, when a
pushed number goes live), and those instants must still mean the same after the state
file is loaded by a new process, or by one started with the other clock.

``--clock follow`` is for programs (the benchmark) that run the bot on a virtual clock:
each request may carry :data:`CLOCK_HEADER` with the caller's time, and the sandbox
moves forward to it before handling the request (never back), so the simulators' rate
limits and timestamps follow the caller's virtual time. Between headers it stands still,
except that a simulated latency (``sleep``) moves it on, as the demo's VirtualClock does.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from bot.sandbox.clock import slept

EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
"""Where :meth:`monotonic` counts from (any fixed instant before the shop's first day)."""
CLOCK_HEADER = "X-Zaiko-Sandbox-Clock"
"""Request header carrying the caller's time (ISO 8601 with an offset) in follow mode."""


class WallClock:
    """Real time (the default): what ``python -m bot run`` lives on."""

    mode = "real"

    def now(self) -> datetime:
        """Current UTC time."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """Seconds since :data:`EPOCH` on the wall clock (comparable across restarts)."""
        return time.time() - EPOCH.timestamp()

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        """Really wait (a simulated latency), cut short by ``stop``."""
        if seconds <= 0:
            return not (stop is not None and stop.is_set())
        event = stop if stop is not None else threading.Event()
        return not event.wait(seconds)


class FollowClock:
    """Virtual time that only moves forward: to a caller's header, or by a simulated sleep."""

    mode = "follow"

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the follow clock needs a timezone-aware start")
        self._lock = threading.Lock()
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        """Current virtual time."""
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        """Virtual seconds since :data:`EPOCH`."""
        with self._lock:
            return (self._now - EPOCH).total_seconds()

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        """Advance instead of waiting (a set stop event still cuts the wait)."""
        if stop is not None and stop.is_set():
            return False
        if seconds > 0:
            with self._lock:
                self._now += slept(seconds)
        return True

    def follow(self, when: datetime) -> bool:
        """Move forward to ``when``; an earlier time is ignored. True if the clock moved."""
        with self._lock:
            if when <= self._now:
                return False
            self._now = when.astimezone(UTC)
            return True


SandboxClock = WallClock | FollowClock


def parse_clock(text: str) -> datetime:
    """An ISO 8601 time with an offset (``Z`` included); ValueError otherwise."""
    when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if when.tzinfo is None:
        raise ValueError(f"{CLOCK_HEADER} needs a time zone offset: {text!r}")
    return when


def make_clock(mode: str, start: datetime | None = None) -> SandboxClock:
    """The clock for ``--clock`` (``real`` or ``follow``); follow starts at ``start`` or now."""
    if mode == "real":
        return WallClock()
    if mode == "follow":
        return FollowClock(start or datetime.now(UTC))
    raise ValueError(f"unknown clock {mode!r}")
