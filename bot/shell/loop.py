"""The schedule-driven runner: cycles until SIGTERM, within Heroku's 30 seconds.

schedule 1.2.2 runs jobs in the calling thread, does not reschedule a job that raised,
and computes the next run after the job returns (slack-and-scheduling.md §2). So every
job is wrapped in a catch-all (one exception never stops the loop, and ticks can never
overlap), and every wait — between cycles, inside a retry, in a rate-limit pause — is
on the one stop event that SIGTERM sets.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import FrameType
from typing import Any

import schedule

from bot.core.errors import Stopped
from bot.infra.clock import JST, Clock

log = logging.getLogger(__name__)


def local_time_of_jst(hhmm: str, today: datetime) -> str:
    """``HH:MM`` in JST as the machine's local ``HH:MM`` (schedule uses local time).

    Heroku dynos run in UTC, so a summary asked for at 09:00 JST is scheduled at 00:00.
    """
    hour, minute = (int(part) for part in hhmm.split(":"))
    base = today.astimezone(JST)
    when = base.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return when.astimezone().strftime("%H:%M")


def guarded(name: str, job: Callable[[], Any], stop: threading.Event) -> Callable[[], None]:
    """A job that logs its exception with the traceback and lets the loop go on."""

    def run() -> None:
        if stop.is_set():
            return
        try:
            job()
        except Stopped:
            log.info("%s interrupted by shutdown", name)
        except Exception:
            log.exception("%s failed; the loop goes on", name)

    return run


def install_signal_handlers(stop: threading.Event) -> None:
    """SIGTERM (Heroku, systemd) and SIGINT set ``stop``: every wait ends at once."""

    def handler(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: finishing the current step, then stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


@dataclass
class Runner:
    """Runs the cycle every ``interval`` seconds and the daily jobs on the wall clock."""

    cycle: Callable[[], Any]
    interval: Callable[[], float]
    """Read each tick so a change of 連動間隔 in the 設定 tab takes effect."""
    clock: Clock
    stop: threading.Event
    daily: Callable[[], Any] | None = None
    daily_at: str = "09:00"
    min_interval: float = 1.0
    """Shortest gap between cycles in seconds, whatever ``interval`` says."""

    def install_signal_handlers(self) -> None:
        """SIGTERM (Heroku, systemd) and SIGINT set the stop event."""
        install_signal_handlers(self.stop)

    def run(self, max_cycles: int | None = None) -> int:
        """Loop until stopped (or ``max_cycles`` ran); returns the number of cycles."""
        scheduler = schedule.Scheduler()
        count = 0

        def tick() -> None:
            nonlocal count
            count += 1
            self.cycle()

        # The first cycle runs at once; the schedule starts when it ends, so a slow
        # start-up (every listing pushed) is not followed by a cycle straight away,
        # and the interval already comes from the 設定 tab it read.
        guarded("cycle", tick, self.stop)()
        current = self._interval()
        job = _every(scheduler, current).do(guarded("cycle", tick, self.stop))
        if self.daily is not None and self.daily_at:  # "" turns the summary off
            at = local_time_of_jst(self.daily_at, self.clock.now())
            scheduler.every().day.at(at).do(guarded("daily", self.daily, self.stop))
        while not self.stop.is_set():
            if max_cycles is not None and count >= max_cycles:
                break
            wanted = self._interval()
            if wanted != current:
                scheduler.cancel_job(job)
                job = _every(scheduler, wanted).do(guarded("cycle", tick, self.stop))
                current = wanted
            scheduler.run_pending()
            idle = scheduler.idle_seconds
            wait = 1.0 if idle is None else max(0.0, min(idle, 1.0))
            self.clock.sleep(wait, self.stop)
        log.info("stopped after %d cycles", count)
        return count

    def _interval(self) -> float:
        return max(self.min_interval, float(self.interval()))


def _every(scheduler: schedule.Scheduler, seconds: float) -> schedule.Job:
    """A job every ``seconds``, fractions included.

    schedule annotates the interval as int but only ever turns it into
    ``timedelta(seconds=...)``, which takes fractions too.
    """
    job: schedule.Job = scheduler.every(seconds).seconds  # type: ignore[arg-type]
    return job
