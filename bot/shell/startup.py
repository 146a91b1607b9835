"""Starting up without crash-looping, and one plain line when a command cannot start.

A worker that exits because Google was down at the moment it started is restarted by
its platform (Heroku: at once, then with growing pauses), opens the sheet again, fails
again, and tells nobody why. So ``run`` never ends on a failure to start: it opens the
sheet with a backoff that waits on the stop event (SIGTERM still ends it at once),
announces the failure once through the sheet's :class:`~bot.shell.health.SheetHealth`,
and hands that same health to the worker, so the first cycle that commits announces
the recovery once. Malls need nothing here: each has its own health inside the cycle.

The one-shot commands (``once``, ``push``, ``check``, ``init-sheet``, ``auth``) cannot
wait: they print :func:`explain`'s one Japanese line (what to fix, no traceback) and
exit non-zero.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.core import words
from bot.core.errors import Stopped, ZaikoError
from bot.infra.retry import Backoff
from bot.infra.sheet.access import SheetAccessDenied, SheetKeyInvalid, SheetNotFound
from bot.infra.sheet.client import SheetError, SheetUnavailable
from bot.shell.health import SheetHealth
from bot.shell.loop import Runner

if TYPE_CHECKING:
    from collections.abc import Callable

    from bot.bootstrap import App
    from bot.shell.worker import Worker

log = logging.getLogger(__name__)

START_BACKOFF = Backoff(base=5.0, cap=300.0, jitter=0.125)
"""5, 10, 20 … seconds, then every 5 minutes: a sheet shared or a key fixed by hand is
picked up within minutes, and a long outage costs Google a dozen calls an hour."""

NAMED = (SheetKeyInvalid, SheetAccessDenied, SheetNotFound)
"""Errors whose text already says what to fix."""


def explain(err: BaseException) -> str:
    """One Japanese line for a failure that stops a command (no traceback)."""
    if isinstance(err, NAMED):
        return str(err)
    if isinstance(err, SheetUnavailable):
        return words.say("sheet.unreachable", error=err)
    if isinstance(err, SheetError):
        return words.say("shell.sheet_failed", error=err)
    return words.say("shell.start_failed", error=err)


def open_worker(
    app: App,
    *,
    backoff: Backoff = START_BACKOFF,
    say: Callable[[str], None] | None = None,
) -> Worker | None:
    """The app's worker, its sheet opened, retrying until it opens or the stop event.

    Returns None when stopped first. A failure is alerted once (and said once through
    ``say``); the worker inherits the health, so its first commit announces recovery.
    """
    clock, stop = app.world.clock, app.world.stop
    health = SheetHealth()
    tries = 0
    while not stop.is_set():
        try:
            worker = app.worker  # opens the sheet: one metadata read
        except Stopped:
            return None
        except SheetError as err:
            alerts = health.failed(err, clock.now())
            if alerts:
                if say is not None:
                    say(explain(err))
                app.alerts.send(alerts)
            delay = backoff.delay(tries)
            tries += 1
            log.warning("sheet not opened (%s); trying again in %.0f s", err, delay)
            if not clock.sleep(delay, stop):
                return None
            continue
        worker.sheet_health = health
        return worker
    return None


def serve(
    app: App,
    *,
    say: Callable[[str], None] | None = None,
    backoff: Backoff = START_BACKOFF,
) -> int:
    """``run``: open the sheet (patiently), then cycle until SIGTERM. Always returns 0."""
    worker = open_worker(app, say=say, backoff=backoff)
    if worker is None:
        return 0
    runner = Runner(
        cycle=worker.cycle,
        interval=lambda: worker.settings.interval_seconds,
        clock=worker.clock,
        stop=app.world.stop,
        daily=worker.daily,
        daily_at=app.settings.alerts.daily_summary_at,
    )
    try:
        worker.check_credentials()
    except ZaikoError as err:  # the cycle's own health reports what persists
        log.warning("credential check at start failed: %s", err)
    runner.run()
    return 0


__all__ = ["START_BACKOFF", "explain", "open_worker", "serve"]
