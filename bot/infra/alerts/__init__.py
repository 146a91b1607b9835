"""Alert sinks: Slack (Block Kit, Japanese), the console, and the sink protocol.

The worker hands each cycle's alerts to an :class:`AlertSink` in one ``send()`` call.
Which conditions deserve an alert, and that each is said only once, is decided
upstream (engine and health, ARCHITECTURE.md §1 step 7). The package has three parts:

- :mod:`~bot.infra.alerts.blocks` words a batch for staff (Block Kit, console lines);
- :mod:`~bot.infra.alerts.sinks` is the protocol and the console sink;
- :mod:`~bot.infra.alerts.slack` delivers to Slack from its own thread and queue, so
  Slack being down never delays a sync, and nothing is silently lost.

Only this package talks to Slack (§2).
"""

from __future__ import annotations

from bot.infra.alerts.blocks import (
    EMOJI,
    FALLBACK_TEXT_LIMIT,
    HEADER_LIMIT,
    ITEM_LIMIT,
    KIND_ORDER,
    LABELS,
    MAX_BLOCKS,
    SECTION_LIMIT,
    URGENT_KINDS,
    URGENT_PREFIX,
    AlertGroup,
    build_blocks,
    escape_mrkdwn,
    format_console,
    group_alerts,
    is_urgent,
)
from bot.infra.alerts.links import SheetLinks
from bot.infra.alerts.sinks import AlertSink, ConsoleAlerts
from bot.infra.alerts.slack import (
    FATAL_ERRORS,
    SDK_LOGGER,
    TRANSIENT_ERRORS,
    SlackAlerts,
    SlackError,
    SlackRateLimited,
    SlackRefused,
    SlackRejected,
    SlackUnavailable,
)

__all__ = [
    "EMOJI",
    "FALLBACK_TEXT_LIMIT",
    "FATAL_ERRORS",
    "HEADER_LIMIT",
    "ITEM_LIMIT",
    "KIND_ORDER",
    "LABELS",
    "MAX_BLOCKS",
    "SDK_LOGGER",
    "SECTION_LIMIT",
    "TRANSIENT_ERRORS",
    "URGENT_KINDS",
    "URGENT_PREFIX",
    "AlertGroup",
    "AlertSink",
    "ConsoleAlerts",
    "SheetLinks",
    "SlackAlerts",
    "SlackError",
    "SlackRateLimited",
    "SlackRefused",
    "SlackRejected",
    "SlackUnavailable",
    "build_blocks",
    "escape_mrkdwn",
    "format_console",
    "group_alerts",
    "is_urgent",
]
