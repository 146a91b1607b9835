"""Real and virtual clocks; nothing else in zaiko-bot reads time.

Every wait goes through :meth:`Clock.sleep` with the worker's stop event, so SIGTERM
interrupts a retry backoff or a rate-limit pause at once (ARCHITECTURE.md §1). The
virtual clock lets tests, the demo and the benchmarks run hours of shop traffic in
seconds: sleeping on it simply advances it.
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


class VirtualClock:
    """A clock that only moves when told to (or when something sleeps on it).

    Thread-safe: parallel mall calls may sleep on it concurrently; each sleep advances
    the shared time, which is the simple model the demo needs. The benchmarks drive
    overlap explicitly.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._now = start or datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
        if self._now.tzinfo is None:
            raise ValueError("VirtualClock needs a timezone-aware start")
        self._epoch = self._now

    def now(self) -> datetime:
        """Current virtual time."""
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        """Virtual seconds since the clock was made."""
        with self._lock:
            return (self._now - self._epoch).total_seconds()

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        if seconds < 0:
            raise ValueError("time does not go back")
        with self._lock:
            self._now += timedelta(seconds=seconds)

    def set(self, when: datetime) -> None:
        """Jump forward to ``when``."""
        with self._lock:
            if when < self._now:
                raise ValueError("time does not go back")
            self._now = when

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        """Advance instead of waiting (a set stop event still cuts the wait)."""
        if stop is not None and stop.is_set():
            return False
        if seconds > 0:
            self.advance(seconds)
        return True


def to_jst(when: datetime) -> datetime:
    """The same instant in Japan Standard Time."""
    return when.astimezone(JST)


def format_jst(when: datetime) -> str:
    """Staff-facing timestamp: ``2026-11-23 14:05:09`` in JST (§9)."""
    return to_jst(when).strftime("%Y-%m-%d %H:%M:%S")
