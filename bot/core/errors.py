"""The one error tree: every failure is translated at its boundary into a ZaikoError.

The worker never sees ``httpx.*``, ``gspread.exceptions.*`` or ``slack_sdk.errors.*``
(STYLE.md 5). The first five branches name what the caller should do; each source adds
a family base, so a caller may also catch "anything from this source". A source's
error sits on the branch of what to do *and* under its family (shown in brackets)::

    ZaikoError
    ├── AuthError ............ credentials refused: park the source, alert once
    ├── RateLimited .......... back off ``retry_after`` seconds, then retry
    ├── TransientError ....... retry with backoff; when the tries run out, report, go on
    ├── Rejected ............. this item or request was refused: do not retry it
    ├── Stopped .............. the stop event cut a wait short: end quietly (one for
    │                          malls, the sheet and Slack; adapters.base.Stopped and
    │                          gateway.SheetStopped are this class)
    ├── MallError ............ raised by a mall adapter (adapters.base)
    │   ├── AuthError          [AuthError]       licence expired, key wrong
    │   ├── RateLimited        [RateLimited]     429 with the mall's Retry-After
    │   ├── TransientError     [TransientError]  timeouts, 409, 5xx
    │   └── MallRejected       [Rejected]        400-class; ``items`` names bad elements
    ├── SheetError ........... the sheet failed after bounded retries: report, next cycle
    │   ├── SheetRateLimited   [RateLimited]     429 from Google (gateway)
    │   ├── SheetUnavailable   [TransientError]  408/5xx, lost connections on a read
    │   ├── CommitOutcomeUnknown                 a write's answer was lost: check
    │   │                                        ``_state`` before resending
    │   └── SheetLayoutError                     a tab is missing: run ``init-sheet``
    └── SlackError ........... Slack did not take a message (bot.infra.alerts)
        ├── SlackRefused       [AuthError]       bad token or channel: console until restart
        ├── SlackRateLimited   [RateLimited]     429 with Slack's Retry-After
        ├── SlackUnavailable   [TransientError]  5xx, lost connections, Slack's own errors
        └── SlackRejected      [Rejected]        the payload was refused: resend as text

:mod:`bot.infra.retry` retries exactly the RateLimited and TransientError branches;
:mod:`bot.shell.health` parks a source on AuthError and ignores Stopped. Pure: no I/O.
"""

from __future__ import annotations


class ZaikoError(Exception):
    """Base of every error translated at a boundary (malls, the sheet, Slack)."""


class AuthError(ZaikoError):
    """Credentials refused (expired or wrong): park the source and alert once."""


class RateLimited(ZaikoError):
    """The service asked us to slow down, for ``retry_after`` seconds if it said."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TransientError(ZaikoError):
    """Timeouts, conflicts, 5xx, lost connections: retry with backoff."""


class Rejected(ZaikoError):
    """The service refused this item or request: repeating it cannot help."""


class Stopped(ZaikoError):
    """The stop event (SIGTERM) cut a wait short: abandon the call, end quietly."""


__all__ = ["AuthError", "RateLimited", "Rejected", "Stopped", "TransientError", "ZaikoError"]
