"""One health object per source the worker calls: each mall and the sheet.

The rules are :class:`bot.core.health.Health`'s (Slack's sink follows the same ones):
a break is said once, a recovery once, refused credentials park a mall until a probe
with :meth:`~adapters.base.MallAdapter.check` succeeds. This module adds each source's
words: the alerts staff read in Slack and エラーログ, and one log line per change.
Staff-facing names come from the channel's declaration (``Channel.label``,
``Channel.auth_hint``), the sentences from ``sheets_template/words.json``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import adapters
from adapters.base import Channel
from bot.core import words
from bot.core.domain import Alert, AlertKind
from bot.core.errors import AuthError, ZaikoError
from bot.core.health import Change, Health, State

log = logging.getLogger(__name__)

PARK_RETRY = timedelta(minutes=10)
"""How often a parked mall's credentials are tried again."""
RENEWAL_GRACE = timedelta(minutes=15)
"""After the configured credentials changed, how long their refusals count as "not live
yet": some channels' renewed keys only work 5–10 minutes after they are issued."""
GRACE_RETRY = timedelta(minutes=1)
"""How often a parked mall with new credentials is tried during the grace."""


def mall_label(key: str) -> str:
    """Staff-facing name of a channel (its declared label); the key if unregistered."""
    try:
        return adapters.channel(key).label
    except KeyError:
        return key


class SourceHealth:
    """A source's :class:`Health` and the words for each change (subclasses say them)."""

    name: str
    """The source in log lines (engineers): a channel key or ``sheet``."""
    where: str
    """The source in エラーログ's 発生箇所 (staff): a channel label or ``スプレッドシート``."""

    def __init__(self, park_retry: timedelta = PARK_RETRY) -> None:
        self.health = Health(park_retry=park_retry)

    @property
    def state(self) -> State:
        """OK, DOWN or PARKED."""
        return self.health.state

    @property
    def ok(self) -> bool:
        """The last call worked (or none failed yet)."""
        return self.health.state is State.OK

    def failed(self, error: ZaikoError, now: datetime) -> list[Alert]:
        """Record a failure; the alert to send when the source just broke or was parked."""
        change = self.health.failed(error, now)
        if change is Change.PARKED:
            log.error("%s parked: %s", self.name, error)
            return [self.parked_alert(error)]
        if change is Change.BROKE:
            log.warning("%s down: %s", self.name, error)
            return [self.broke_alert(error)]
        log.debug("%s still failing: %s", self.name, error)
        return []

    def succeeded(self, now: datetime) -> list[Alert]:
        """Record a success; the recovery alert when the source was down or parked."""
        if self.health.succeeded(now) is Change.RECOVERED:
            log.info("%s recovered", self.name)
            return [self.recovered_alert()]
        return []

    def probe_due(self, now: datetime) -> bool:
        """Parked and due for another try of its credentials."""
        return self.health.probe_due(now)

    def credentials_changed(self, now: datetime) -> None:
        """New credentials (a login, a renewed key): a parked source is tried next cycle."""
        self.health.credentials_changed(now)

    def broke_alert(self, error: ZaikoError) -> Alert:
        """What staff read when the source stops answering."""
        raise NotImplementedError

    def parked_alert(self, error: ZaikoError) -> Alert:
        """What staff read when the source refuses the credentials (default: broke)."""
        return self.broke_alert(error)

    def recovered_alert(self) -> Alert:
        """What staff read when the source answers again."""
        raise NotImplementedError


class MallHealth(SourceHealth):
    """One mall, worded with its channel's declaration.

    It also knows which credentials it failed with (``failed_mark``, a fingerprint set
    by :mod:`bot.shell.health_memory`) and which are configured now (``key_mark``): a
    parked mall whose credentials changed is in its renewal grace for
    :data:`RENEWAL_GRACE` from ``renewed_at``, when refusals are retried quietly every
    :data:`GRACE_RETRY`; a new key still refused after it is said once.
    """

    def __init__(self, key: str, channel: Channel, park_retry: timedelta = PARK_RETRY) -> None:
        super().__init__(park_retry)
        self.name = key
        self.where = channel.label
        self.channel = channel
        self.key_mark = ""
        """Fingerprint of the credentials configured now."""
        self.failed_mark = ""
        """Fingerprint of the credentials the parked alert was said for."""
        self.renewed_at: datetime | None = None
        """When the worker first saw new credentials for a parked mall."""
        self.expires: datetime | None = None
        """When the credentials expire, as the channel's check last said."""

    def in_grace(self, now: datetime) -> bool:
        """Parked, with new credentials seen less than RENEWAL_GRACE ago."""
        return (
            self.state is State.PARKED
            and self.failed_mark != self.key_mark
            and self.renewed_at is not None
            and now < self.renewed_at + RENEWAL_GRACE
        )

    def failed(self, error: ZaikoError, now: datetime) -> list[Alert]:
        """As for every source, but quiet in the renewal grace; a new key refused is news."""
        refused = isinstance(error, AuthError)
        if refused and self.in_grace(now):
            self.health.failed(error, now)
            self.health.retry_at = now + GRACE_RETRY
            log.info("%s: new credentials refused within the grace; trying again", self.name)
            return []
        if refused and self.state is State.PARKED and self.failed_mark != self.key_mark:
            self.health.failed(error, now)
            self.failed_mark = self.key_mark
            log.error("%s: the new credentials are refused too: %s", self.name, error)
            return [self.parked_alert(error)]
        alerts = super().failed(error, now)
        if self.state is State.PARKED:
            self.failed_mark = self.key_mark
        return alerts

    def refused(self, message: str, now: datetime) -> list[Alert]:
        """A probe's check said the credentials are refused (a failure, not a call error)."""
        return self.failed(AuthError(message), now)

    def probe_due(self, now: datetime) -> bool:
        """Parked and due; within the renewal grace the next try comes sooner."""
        due = self.health.probe_due(now)
        if due and self.in_grace(now):
            self.health.retry_at = now + GRACE_RETRY
        return due

    def broke_alert(self, error: ZaikoError) -> Alert:
        """「<label> に接続できません（…）」, with the error as the detail."""
        return Alert(
            kind=AlertKind.MALL_DOWN,
            key=f"down:{self.name}",
            mall=self.name,
            title=words.say("shell.mall_down", label=self.where),
            text=str(error),
        )

    def parked_alert(self, error: ZaikoError) -> Alert:
        """Urgent: the mall is parked; the channel's own hint says what to renew."""
        return Alert(
            kind=AlertKind.AUTH_FAILED,
            key=f"auth:{self.name}",
            mall=self.name,
            urgent=True,
            title=words.say("shell.mall_auth_failed", label=self.where),
            text=f"{error}\n{self.channel.auth_hint}",
        )

    def recovered_alert(self) -> Alert:
        """「<label> との接続が回復しました」."""
        return Alert(
            kind=AlertKind.MALL_RECOVERED,
            key=f"up:{self.name}",
            mall=self.name,
            title=words.say("shell.mall_recovered", label=self.where),
        )


class SheetHealth(SourceHealth):
    """The Google Sheet: it is never parked (its key is the service account's)."""

    name = "sheet"

    def __init__(self) -> None:
        super().__init__()
        self.where = words.say("shell.sheet_where")

    def broke_alert(self, error: ZaikoError) -> Alert:
        """スプレッドシートの読み書きに失敗しました（…）."""
        return Alert(
            kind=AlertKind.SHEET_ERROR,
            key="sheet",
            urgent=False,
            title=words.say("shell.sheet_down"),
            text=str(error),
        )

    def recovered_alert(self) -> Alert:
        """スプレッドシートの読み書きが回復しました (the sheet's words, not a mall's)."""
        return Alert(
            kind=AlertKind.SHEET_RECOVERED,
            key="sheet:up",
            title=words.say("shell.sheet_recovered"),
        )


__all__ = [
    "GRACE_RETRY",
    "PARK_RETRY",
    "RENEWAL_GRACE",
    "MallHealth",
    "SheetHealth",
    "SourceHealth",
    "mall_label",
]
