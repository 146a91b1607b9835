"""The virtual clock, which only moves when told to or slept on.

Tests, the demo and the benchmarks run hours of shop traffic in seconds on it.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


def slept(seconds: float) -> timedelta:
    """How far a sleep of ``seconds`` (> 0) moves a virtual clock: never less than 1 µs.

    timedelta keeps whole microseconds and rounds to the nearest, so a sleep under half
    a microsecond would not move the clock at all, and a caller that sleeps until
    something is due asks again forever: a token bucket short of a token by a few 1e-9
    waits ~1e-7 s at Amazon's 0.0167 requests a second (the four-mall 50k benchmark hung
    there, spinning in ``TokenBucket.acquire``). A real sleep always lets time pass.
    """
    return timedelta(microseconds=max(round(seconds * 1_000_000), 1))


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
        self._move(timedelta(seconds=seconds))

    def _move(self, step: timedelta) -> None:
        with self._lock:
            self._now += step

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
            self._move(slept(seconds))
        return True
