"""The clock protocol and the real clock; nothing else in zaiko-bot reads time.

Every wait goes through :meth:`Clock.sleep` with the worker's stop event, so SIGTERM
interrupts a retry backoff or a rate-limit pause at once (ARCHITECTURE.md §1). The
sandbox's :class:`bot.sandbox.clock.VirtualClock` lets tests, the demo and the
benchmarks run hours of shop traffic in seconds.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Protocol

JST = timezone(timedelta(hours=9), "JST")


class Clock(Protocol):
    """Source of time for everything with a side effect."""

    def now(self) -> datetime:
        """Current time, timezone-aware (UTC)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for rate limits and timeouts)."""
        ...

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        """Wait ``seconds``; return False if ``stop`` was set (the wait was cut short)."""
        ...


class RealClock:
    """Wall-clock time; waits on the stop event so SIGTERM cuts them short."""

    def now(self) -> datetime:
        """Current UTC time."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """time.monotonic()."""
        return time.monotonic()

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        """Wait on ``stop`` (or a private event) for ``seconds``."""
        if seconds <= 0:
            return not (stop is not None and stop.is_set())
        event = stop if stop is not None else threading.Event()
        return not event.wait(seconds)


def to_jst(when: datetime) -> datetime:
    """The same instant in Japan Standard Time."""
    return when.astimezone(JST)


def format_jst(when: datetime) -> str:
    """Staff-facing timestamp: ``2026-11-23 14:05:09`` in JST (§9)."""
    return to_jst(when).strftime("%Y-%m-%d %H:%M:%S")
