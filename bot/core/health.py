"""The health rules every source follows (Home Assistant's DataUpdateCoordinator).

One :class:`Health` per source — each mall, the sheet, Slack — with the same rules:
a break is announced once and a recovery once; credentials refused park the source
(left alone, probed again every ``park_retry``) until they work; a stop is nobody's
failure. What to do is read off the error tree (:mod:`bot.core.errors`), not the
source. Pure: ``now`` is an argument and the answer is a :class:`Change` for the caller
to word (alerts and エラーログ in :mod:`bot.shell.health`, log lines in Slack's sink).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.core.errors import AuthError, Stopped, ZaikoError


class State(StrEnum):
    """Where a source stands."""

    OK = "ok"
    DOWN = "down"
    PARKED = "parked"
    """Credentials refused: the source is left alone until they work."""


class Change(StrEnum):
    """A change worth saying, once."""

    BROKE = "broke"
    PARKED = "parked"
    RECOVERED = "recovered"


@dataclass
class Health:
    """The state of one source and when to probe it again while parked."""

    park_retry: timedelta = timedelta(minutes=10)
    state: State = State.OK
    since: datetime | None = None
    retry_at: datetime | None = None
    message: str = ""

    def failed(self, error: ZaikoError, now: datetime) -> Change | None:
        """Record a failure; the change to announce, or None when already said."""
        if isinstance(error, Stopped):
            return None  # SIGTERM cut a wait short: the source is fine, we are leaving
        self.message = str(error)
        if isinstance(error, AuthError):
            self.retry_at = now + self.park_retry
            if self.state is State.PARKED:
                return None
            self.state, self.since = State.PARKED, now
            return Change.PARKED
        if self.state is not State.OK:
            return None  # already down (or parked: a refused key outranks a timeout)
        self.state, self.since = State.DOWN, now
        return Change.BROKE

    def succeeded(self, now: datetime) -> Change | None:
        """Record a success; RECOVERED when the source was down or parked."""
        was = self.state
        self.state, self.since, self.retry_at, self.message = State.OK, now, None, ""
        return Change.RECOVERED if was is not State.OK else None

    def credentials_changed(self, now: datetime) -> None:
        """New credentials arrived while parked: try them at the next chance."""
        if self.state is State.PARKED:
            self.retry_at = now

    def probe_due(self, now: datetime) -> bool:
        """Parked and its re-check time has come (the next one is booked at once)."""
        if self.state is not State.PARKED or self.retry_at is None or now < self.retry_at:
            return False
        self.retry_at = now + self.park_retry
        return True


__all__ = ["Change", "Health", "State"]
